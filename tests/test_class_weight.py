"""train.py --class-weight balanced|K=W,...: the weights reach the loss, are saved with the model, follow
scikit-learn's "balanced" rule, and every bad value is one line, exit 2."""

import json

import numpy as np
import pytest

import train
from app.cli import UsageError
from app.train_options import class_weights, parse_class_weight
from model import load

from .conftest import call_main
from .test_multiclass_cli import iris_like_csv


def run(capsys, *argv):
    return call_main(train.main, capsys, *argv)


def test_named_weights_are_said_trained_with_and_saved(tmp_path, capsys):
    csv, model = iris_like_csv(tmp_path / "iris.csv"), tmp_path / "m.npz"
    code, out, err = run(capsys, "--data", csv, "--class-weight", "virginica=3,setosa=0.5", "--epochs", "2",
                         "--save", model)
    assert code == 0, err
    assert "class weights: 'setosa'=0.5, 'versicolor'=1, 'virginica'=3" in out
    assert "with class_weight is not one the engine runs" in out  # the layer objects train it, and say why
    assert load(model).criterion.class_weight == [0.5, 1.0, 3.0]


def test_balanced_is_sklearns_rule_on_the_training_rows(tmp_path, capsys):
    from sklearn.utils.class_weight import compute_class_weight

    rng = np.random.default_rng(0)
    labels = np.array([0] * 30 + [1] * 10 + [2] * 5)
    rows = [f"{a:.3f},{b:.3f},{k}" for (a, b), k in zip(rng.normal(size=(45, 2)) + labels[:, None], labels,
                                                         strict=True)]
    csv, model = tmp_path / "d.csv", tmp_path / "m.npz"
    csv.write_text("a,b,k\n" + "\n".join(rows) + "\n")
    code, _, err = run(capsys, "--data", csv, "--class-weight", "balanced", "--val-fraction", "0", "--epochs", "2",
                       "--quiet", "--save", model)
    assert code == 0, err
    expected = compute_class_weight("balanced", classes=np.arange(3), y=labels)
    np.testing.assert_allclose(load(model).criterion.class_weight, expected, rtol=1e-15)


def test_the_weights_change_the_training(tmp_path, capsys):
    results = []
    for extra in ((), ("--class-weight", "0=5")):
        code, out, err = run(capsys, "--hidden", "8,8", "--epochs", "3", "--json", "--quiet", "--save",
                             tmp_path / "m.npz", *extra)
        assert code == 0, err
        results.append(json.loads(out))
    assert results[0]["train_loss"] != results[1]["train_loss"]
    assert results[1]["engine"] != "engine"


@pytest.mark.parametrize(("value", "words"), [
    ("7=2", ["7", "(0, 1)"]),
    ("1=-2", ["'1'", "'-2'", "> 0"]),
    ("1=nan", ["'nan'"]),
    ("1=inf", ["'inf'"]),
    ("1=0", ["'0'", "> 0"]),
    ("1=x", ["'x'"]),
    ("1:2", ["'1:2'", "LABEL=WEIGHT"]),
    ("=2", ["'=2'"]),
])
def test_bad_class_weights_are_one_line_exit_2(tmp_path, capsys, value, words):
    code, out, err = run(capsys, "--class-weight", value, "--epochs", "1", "--save", tmp_path / "m.npz")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1, err
    assert "--class-weight" in err and all(w in err for w in words), err
    assert not (tmp_path / "m.npz").exists()


def test_a_regression_has_no_classes_to_weigh(tmp_path, capsys):
    csv = tmp_path / "h.csv"
    csv.write_text("a,y\n" + "".join(f"{i},{i * 0.37:.2f}\n" for i in range(30)))
    code, _, err = run(capsys, "--data", csv, "--task", "regression", "--class-weight", "balanced")
    assert code == 2 and "--class-weight" in err and "regression" in err


def test_evaluate_refuses_it_as_a_training_option(tmp_path, capsys):
    code, _, err = run(capsys, "--evaluate", tmp_path / "m.npz", "--class-weight", "balanced")
    assert code == 2 and "--class-weight" in err


def test_labels_compare_as_the_data_writes_them():
    assert class_weights(parse_class_weight("2.0=4, apple=2"), [1, 2, "apple"], np.array([0, 1, 2])) == [1, 4, 2]
    with pytest.raises(UsageError, match="'pear'"):
        class_weights(parse_class_weight("pear=2"), ["apple", 1], np.array([0, 1]))
    with pytest.raises(ValueError, match="class 'b' has no row"):
        class_weights("balanced", ["a", "b"], np.array([0, 0, 0]))


def test_a_class_named_twice_is_refused():
    with pytest.raises(UsageError, match="'2.0' twice"):
        class_weights(parse_class_weight("1=2,2=3,2.0=4"), [1, 2], np.array([0, 1]))


def test_a_loss_without_class_weight_is_refused():
    from types import SimpleNamespace

    from app.train_cli import weigh_classes

    class PlainLoss:
        pass

    experiment = SimpleNamespace(net=SimpleNamespace(criterion=PlainLoss()), data=SimpleNamespace(classes=[0, 1]),
                                 y_train=np.array([0, 1]), library_build=None)
    with pytest.raises(UsageError, match="--class-weight: the loss PlainLoss takes no class_weight"):
        weigh_classes(SimpleNamespace(class_weight="balanced"), experiment)
    assert weigh_classes(SimpleNamespace(class_weight=None), experiment) is None


@pytest.mark.parametrize("extra", [(), ("--hidden", "4,4"), ("--use", "mine.py:ReLU"), ("--use", "mine.py:ReLU",
                                                                                    "--hidden", "4,4")])
def test_every_network_saves_and_loads_its_weights(tmp_path, capsys, extra):
    """The handout's TwoLayerNet (rebuilt from its constructor's arguments) and a network of --use classes (saved
    as the library's twin) keep the loss's class weights in their files too."""
    (tmp_path / "mine.py").write_text("from layers import ReLU as Library\n\n\nclass ReLU(Library):\n    pass\n")
    extra = [str(tmp_path / e) if e == "mine.py:ReLU" else e for e in extra]
    model = tmp_path / "m.npz"
    code, out, err = run(capsys, "--class-weight", "1=3", "--epochs", "1", "--quiet", "--save", model, *extra)
    assert code == 0, err
    assert load(model).criterion.class_weight == [1.0, 3.0]


# ------------------------------------------------------------------ weights of any size: only their ratios matter


def _shares(loss, labels, dtype, sample_weight=None):
    loss.sample_weight = sample_weight
    return loss.shares(np.asarray(labels), dtype, 3)


@pytest.mark.parametrize("scale", [1e-300, 1e308])
def test_the_shares_of_huge_or_tiny_class_weights_are_their_ratios(scale):
    from layers import SoftmaxCrossEntropyLoss

    labels = [0, 1, 2, 2]
    plain = _shares(SoftmaxCrossEntropyLoss(class_weight=[1.0, 2.0, 1.0]), labels, np.float64)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow on the way
        big = _shares(SoftmaxCrossEntropyLoss(class_weight=[scale, 2 * scale if scale < 1 else scale, scale]),
                      labels, np.float64)
    if scale < 1:
        np.testing.assert_allclose(big, plain, rtol=1e-12)
    else:
        np.testing.assert_allclose(big, [0.25] * 4, rtol=1e-12)  # an inf sum would give 0 each
    assert np.isclose(big.sum(), 1.0)


def test_class_and_sample_weights_beyond_float32_give_finite_float32_shares():
    from layers import SoftmaxCrossEntropyLoss

    with np.errstate(over="raise", invalid="raise", divide="raise"):
        shares = _shares(SoftmaxCrossEntropyLoss(class_weight=[1e39, 1.0, 1.0]), [0, 1, 2], np.float32,
                         sample_weight=np.array([1e300, 1e300, 1.0]))
    assert shares.dtype == np.float32 and np.isfinite(shares).all()
    np.testing.assert_allclose(shares, [1.0, 0.0, 0.0], atol=1e-30)


def test_all_zero_class_weights_are_refused():
    from layers import SigmoidBCELoss
    from layers.validation import ParameterError

    with pytest.raises(ParameterError, match="class_weight"):
        SigmoidBCELoss(class_weight=[0.0, 0.0])
    assert SigmoidBCELoss(class_weight=[0.0, 1.0]).class_weight == [0.0, 1.0]  # one class left out: allowed


def test_sample_weights_are_rescaled_by_their_largest():
    from model.training import check_sample_weight

    with np.errstate(over="raise", invalid="raise", divide="raise"):
        w = check_sample_weight([1e308, 5e307, 0.0], 3)
    np.testing.assert_array_equal(w, [1.0, 0.5, 0.0])
