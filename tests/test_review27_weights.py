"""Review of issue 27 (class and sample weights): weights that pass every check — each finite and > 0 — but whose
sum overflows float64, or which overflow float32 when cast to the training dtype, make the loss's shares
``w / Σw`` all 0 (training silently does nothing, ``train loss 0.0000``) or NaN (reported as a divergence with
"try a lower learning rate"), with numpy's RuntimeWarnings on the way.

Each finding was pinned as ``xfail(strict=True)`` on the reviewed tree; fixed: the weights are rescaled by their
largest (only their ratios count), and all-zero class weights are refused.
"""

import json
import re
import warnings

import numpy as np
import pytest

from .conftest import run_in_process

pytest.importorskip("sklearn")
from model import MLPClassifier, load  # noqa: E402  (scikit-learn is optional)

TABLE = "a,b,fruit\n" + "".join(f"{i % 7},{(3 * i) % 5},{'apple' if i % 2 else 'pear'}\n" for i in range(40))


def _table(tmp_path):
    path = tmp_path / "fruit.csv"
    path.write_text(TABLE)
    return path


def _refused_or_trained(result, name):
    """A run that either refuses the weights in one line naming ``name`` (exit 2), or trains: exit 0 and a
    training loss that is not 0 — in both cases without a numpy warning."""
    assert "Warning" not in result.stderr, result.stderr
    if result.returncode != 0:
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1 and name in result.stderr
        return
    loss = re.search(r"train loss ([0-9.e+-]+)", result.stdout + result.stderr)
    assert loss and float(loss.group(1)) > 0, result.stdout


def test_ordinary_class_weights_train(tmp_path):
    """The baseline: a weight of 3 trains, without a warning."""
    result = run_in_process("train.py", "--data", _table(tmp_path), "--class-weight", "apple=3", "--epochs", 2,
                     "--save", tmp_path / "m.npz", cwd=tmp_path)
    _refused_or_trained(result, "--class-weight")


def test_class_weights_whose_sum_overflows(tmp_path):
    result = run_in_process("train.py", "--data", _table(tmp_path), "--class-weight", "apple=1e308,pear=1e308",
                     "--epochs", 2, "--save", tmp_path / "m.npz", cwd=tmp_path)
    _refused_or_trained(result, "--class-weight")


def test_a_class_weight_beyond_float32(tmp_path):
    result = run_in_process("train.py", "--data", _table(tmp_path), "--class-weight", "apple=1e39",
                            "--dtype", "float32", "--epochs", 2, "--save", tmp_path / "m.npz", cwd=tmp_path)
    _refused_or_trained(result, "--class-weight")


def _xy():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    return X, (X[:, 0] > 0).astype(int)


def _fits_or_names(estimator, name, **fit_params):
    """``estimator.fit`` either refuses with a ValueError naming ``name`` or fits with a finite, nonzero loss — and
    gives no RuntimeWarning either way."""
    X, y = _xy()
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        warnings.simplefilter("ignore", UserWarning)  # ConvergenceWarning: three epochs
        try:
            estimator.fit(X, y, **fit_params)
        except ValueError as exc:
            assert name in str(exc), str(exc)
            return
    assert np.isfinite(estimator.loss_curve_).all() and estimator.loss_curve_[-1] > 0


def test_ordinary_sample_weights_fit():
    """The baseline: uneven weights of ordinary size fit."""
    w = np.where(np.arange(60) % 2, 3.0, 1.0)
    _fits_or_names(MLPClassifier((4,), max_iter=3, random_state=0, dtype="float32"), "sample_weight", sample_weight=w)


def test_sample_weights_beyond_float32():
    w = np.where(np.arange(60) % 2, 1e39, 1.0)
    _fits_or_names(MLPClassifier((4,), max_iter=3, random_state=0, dtype="float32"), "sample_weight", sample_weight=w)


def test_estimator_class_weights_whose_sum_overflows():
    _fits_or_names(MLPClassifier((4,), max_iter=3, random_state=0, class_weight={0: 1e308, 1: 1e308}), "class_weight")


# ------------------------------------------------------------------ class weights stored in a model file


@pytest.fixture
def weighted_model(tmp_path):
    """A model trained with --class-weight apple=3, and its table."""
    data = _table(tmp_path)
    path = tmp_path / "w.npz"
    result = run_in_process("train.py", "--data", data, "--class-weight", "apple=3", "--epochs", 2, "--quiet",
                     "--save", path, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return path, data


def _with_class_weight(path, out, weights):
    members = dict(np.load(path, allow_pickle=False))
    arch = json.loads(str(members["architecture"]))
    arch["loss"]["config"]["class_weight"] = weights
    members["architecture"] = np.array(json.dumps(arch))
    np.savez(out, **members)
    return out


def test_stored_class_weights_are_read(weighted_model):
    path, _ = weighted_model
    assert load(path).criterion.class_weight == [3.0, 1.0]


def test_stored_class_weights_whose_sum_overflows(weighted_model, tmp_path):
    path, data = weighted_model
    damaged = _with_class_weight(path, tmp_path / "d.npz", [1e308, 1e308])
    result = run_in_process("train.py", "--evaluate", damaged, "--data", data, cwd=tmp_path)
    assert "Warning" not in result.stderr, result.stderr
    if result.returncode == 0:
        loss = re.search(r"loss ([0-9.e+-]+)", result.stdout)
        assert loss and float(loss.group(1)) > 0, result.stdout
    else:
        assert len(result.stderr.strip().splitlines()) == 1 and "class_weight" in result.stderr


def test_stored_class_weights_all_zero_are_refused_on_load(weighted_model, tmp_path):
    path, _ = weighted_model
    damaged = _with_class_weight(path, tmp_path / "d.npz", [0.0, 0.0])
    with pytest.raises(ValueError, match="class_weight"):
        load(damaged)
