"""Prediction and evaluation in blocks of rows give what one pass over every row gives.

``model.predict`` works ``rows`` rows at a time to bound its memory; the engine evaluates a stage at a
time. Neither may show in the numbers: a 100-row set in blocks of 30 (three full blocks and one of 10)
must report the loss, accuracy, predictions and probabilities of the same set in one block. A loss
weighted by the wrong block's size, a block dropped or repeated, or a block predicted in training mode
would each change them.
"""

import numpy as np
import pytest

import model.engine.data as staging
from layers import BCELoss, Linear, MSELoss, ReLU, Sigmoid, SigmoidBCELoss, Tanh
from model import Sequential, build_mlp
from model.engine.engine import Engine
from model.inputs import check_Xy
from model.optim import SGD
from model.predict import evaluate, predict, predict_proba

N, ROWS = 100, 30  # blocks of 30, 30, 30 and 10


def data(classes, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(N, 3))
    if classes is None:
        return X, X @ np.array([1.0, -2.0, 0.5]) + rng.normal(0, 0.1, N)
    return X, rng.integers(0, classes, N)


def networks():
    """(name, network, labels): every head kind, a BatchNorm that must run on its running statistics."""
    yield "sigmoid+bce", Sequential([Linear(3, 5, rng=1), ReLU(), Linear(5, 1, rng=2), Sigmoid()], BCELoss()), 2
    yield "fused sigmoid-bce", Sequential([Linear(3, 5, rng=1), Tanh(), Linear(5, 1, rng=2)], SigmoidBCELoss()), 2
    yield "softmax, batchnorm", build_mlp(3, hidden=(6,), classes=4, batchnorm=True, standardize=False, seed=3), 4
    yield "regression", Sequential([Linear(3, 4, rng=1), ReLU(), Linear(4, 1, rng=2)], MSELoss()), None


def with_running_statistics(net, X):
    """``net`` after a few training-mode passes, so a BatchNorm's running statistics are not its initial ones."""
    for start in range(0, N, 20):
        net.forward(X[start:start + 20])
    return net


@pytest.mark.parametrize("net, classes", [pytest.param(net, k, id=name) for name, net, k in networks()])
def test_evaluate_in_blocks_equals_one_pass(net, classes):
    X, y = data(classes)
    net = with_running_statistics(net, X)
    whole, blocked = net.evaluate(X, y), evaluate(net, X, y, rows=ROWS)
    assert blocked["n"] == whole["n"] == N
    assert blocked["loss"] == pytest.approx(whole["loss"], rel=1e-12)
    assert blocked["accuracy"] == whole["accuracy"]
    first_block = evaluate(net, X[:ROWS], y[:ROWS])["loss"]
    last_block = evaluate(net, X[-(N % ROWS):], y[-(N % ROWS):])["loss"]
    assert first_block != pytest.approx(last_block)  # the blocks differ, so a mis-weighted mean would show


@pytest.mark.parametrize("net, classes", [pytest.param(net, k, id=name) for name, net, k in networks()])
def test_predict_and_predict_proba_in_blocks_equal_one_pass(net, classes):
    X, _ = data(classes)
    net = with_running_statistics(net, X)
    np.testing.assert_array_equal(predict(net, X, rows=ROWS), net.predict(X))
    assert predict(net, X, rows=ROWS).shape[0] == N
    if classes is not None:
        np.testing.assert_allclose(predict_proba(net, X, rows=ROWS), net.predict_proba(X), rtol=1e-12)


def test_the_loss_of_blocks_is_the_mean_over_every_row():
    # the loss reported is the per-row mean over all 100 rows: the blocks' means weighted by their sizes
    X, y = data(2)
    net = Sequential([Linear(3, 5, rng=1), ReLU(), Linear(5, 1, rng=2)], SigmoidBCELoss())
    per_row = [evaluate(net, X[i:i + 1], y[i:i + 1])["loss"] for i in range(N)]
    assert evaluate(net, X, y, rows=ROWS)["loss"] == pytest.approx(np.mean(per_row), rel=1e-12)
    assert evaluate(net, X, y, rows=ROWS)["accuracy"] == pytest.approx(
        np.mean(predict(net, X) == y))


@pytest.mark.parametrize("classes", [2, 4])
def test_the_engine_evaluates_in_stages_as_in_one(monkeypatch, classes):
    X, y = data(classes)
    net = build_mlp(3, hidden=(6,), classes=classes, fused=True, standardize=False, seed=4)
    Xc, yc = check_Xy(net, X, y)
    want = Engine(net, SGD(net.params, net.grads, lr=0.1)).evaluate(Xc, yc)
    monkeypatch.setattr(staging, "STAGE_ROWS", ROWS)
    got = Engine(net, SGD(net.params, net.grads, lr=0.1), chunk_rows=7).evaluate(Xc, yc)
    assert got["n"] == want["n"] == N
    assert got["loss"] == pytest.approx(want["loss"], rel=1e-12)
    assert got["accuracy"] == want["accuracy"]
    assert got["loss"] == pytest.approx(net.evaluate(X, y)["loss"], rel=1e-12)
