"""Before a network holding a learner's layers trains, it is checked on one batch: a wrong backward stops there
with the checker's diagnosis naming the layer (``train.py`` exit 1, ``train()`` a ``LayerError``), before any
weight moves; ``--no-layer-check`` / ``check_layers=False`` skips it and the history says so."""

import numpy as np
import pytest

from checking.before_training import check_learners
from data import make_circles
from layers import BCELoss, Linear, ReLU, Sigmoid
from layers.protocol import LayerError
from layers.user_code import load_class
from model import TwoLayerNet, train
from model.sequential import Sequential

from .test_train_use import filled, run, use

#: a slip in one exercise -> (the file, its class)
SLIPS = {
    "the upstream forgotten": ("sigmoid.py", "Sigmoid", ["return self.cache * (1 - self.cache)"]),
    "BCE's sign flipped": ("bce_loss.py", "BCELoss", ["p, y = self.cache",
                                                      "return -upstream * (p - y) / (p * (1 - p)) / p.size"]),
    "BCE's 1/N missing": ("bce_loss.py", "BCELoss", ["p, y = self.cache", "return upstream * (p - y) / (p * (1 - p))"]),
    "ReLU's bare mask": ("relu.py", "ReLU", ["return (self.cache > 0).astype(float)"]),
    "+= into the gradients": ("linear.py", "Linear", ['self.grads["W"] += self.cache.T @ upstream',
                                                      'if "b" in self.params:',
                                                      '    self.grads["b"] += upstream.sum(axis=0)',
                                                      'return upstream @ self.params["W"].T']),
}


@pytest.mark.parametrize("slip", SLIPS)
def test_a_wrong_layer_stops_train_py_before_training_naming_it(tmp_path, capsys, slip):
    name, cls, answer = SLIPS[slip]
    path = filled(tmp_path, name, answer)
    code, out, err = run(capsys, "--use", f"{path}:{cls}", "--save", tmp_path / "m.npz")
    assert code == 1 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert f"your {cls} ({path})" in err and "fails the gradient check" in err and "before training" in err
    assert "epoch" not in out and not (tmp_path / "m.npz").exists()


def test_skipping_the_check_trains_the_wrong_layer_and_says_so(tmp_path, capsys):
    name, cls, answer = SLIPS["the upstream forgotten"]
    path = filled(tmp_path, name, answer)
    code, _, err = run(capsys, "--use", f"{path}:{cls}", "--no-layer-check", "--epochs", "2", "--quiet",
                       "--save", tmp_path / "m.npz")
    assert code == 0, err
    X, y = make_circles(100, seed=0)
    net = TwoLayerNet(seed=0, layer_types={cls: load_class(f"{path}:{cls}")})
    assert "unverified" in train(net, X, y, epochs=1, check_layers=False).layer_check
    with pytest.raises(LayerError, match=r"your Sigmoid .*layer 3"):
        train(net, X, y, epochs=1)


def test_train_checks_a_sequential_holding_a_learners_class_and_leaves_the_network_as_it_was(tmp_path):
    wrong = load_class(f"{filled(tmp_path, *SLIPS['the upstream forgotten'][::2])}:Sigmoid")
    rng = np.random.default_rng(0)
    net = Sequential([Linear(2, 3, rng=rng), ReLU(), Linear(3, 1, rng=rng), wrong()], BCELoss())
    before = {k: v.copy() for k, v in net.params.items()}
    X, y = make_circles(100, seed=0)
    with pytest.raises(ValueError, match=r"your Sigmoid .*layer 3.*upstream"):
        train(net, X, y, epochs=3)
    for key, value in before.items():
        np.testing.assert_array_equal(net.params[key], value)


def test_correct_layers_are_verified_and_the_librarys_alone_are_not_checked(tmp_path, capsys):
    X, y = make_circles(100, seed=0)
    right = TwoLayerNet(seed=0, layer_types={"Sigmoid": load_class(f"{filled(tmp_path, 'sigmoid.py')}:Sigmoid")})
    assert "verified on one batch" in train(right, X, y, epochs=1).layer_check
    assert train(TwoLayerNet(seed=0), X, y, epochs=1).layer_check == ""
    code, _, err = run(capsys, *use(tmp_path), "--epochs", "2", "--quiet", "--save", tmp_path / "m.npz")
    assert code == 0, err


def test_the_report_has_a_row_per_learners_layer_at_its_input_then_the_network(tmp_path):
    mine = load_class(f"{filled(tmp_path, 'sigmoid.py')}:Sigmoid")()
    net = Sequential([Linear(2, 1, rng=np.random.default_rng(0)), mine], BCELoss())
    X, y = make_circles(8, seed=0)
    report = check_learners(net, X, y, [1], y.reshape(-1, 1).astype(float), check="net")
    assert report.passed
    assert [r.check for r in report.rows][:1] == [f"your Sigmoid ({tmp_path / 'sigmoid.py'}), layer 1"]
    assert {r.check for r in report.rows[1:]} == {"net"}
    assert isinstance(net.layers[1], Sigmoid) is False and net.layers[1] is mine


def test_a_batchnorm_that_treats_the_batch_statistics_as_constants_stops_before_training(tmp_path, capsys):
    path = filled(tmp_path, "batchnorm.py", ["x_hat, inv_std = self.cache",
                                             'self.grads["gamma"][...] = (upstream * x_hat).sum(axis=0)',
                                             'self.grads["beta"][...] = upstream.sum(axis=0)',
                                             'return upstream * self.params["gamma"] * inv_std'])
    code, out, err = run(capsys, "--use", f"{path}:BatchNorm", "--batchnorm", "--hidden", "8", "--save",
                         tmp_path / "m.npz")
    assert code == 1 and f"your BatchNorm ({path})" in err and "epoch" not in out
