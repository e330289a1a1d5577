"""Memory at scale: what training, prediction and evaluation hold beyond the data.

Measured with ``tracemalloc`` (NumPy reports its arrays to it) at a modest N: one epoch of ``train()``
holds at most twice the data beyond it; the engine's buffers are the same at N and 4N (only the
epoch's order grows); the standardisation is fitted a block at a time; prediction and evaluation work
in blocks. ``benchmarks/bench_memory.py`` measures the same at N = 10⁶.
"""

import tracemalloc

import numpy as np
import pytest

import layers.standardize as standardize
from model import Architecture, TwoLayerNet
from model.batches import Shuffler
from model.engine import Engine
from model.inputs import check_Xy
from model.optim import SGD
from model.training import train

MIB = 1 << 20


def peak_beyond(call):
    """``(result, the most bytes allocated during call() beyond what was allocated before it)``."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        result = call()
        return result, tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def table(n, features=20, seed=0):
    """A numeric table: ``X`` (n, features) float64 and binary labels (n,) int64."""
    X = np.random.default_rng(seed).normal(size=(n, features))
    return X, (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64)


@pytest.mark.parametrize("batch_size", [32, None])
def test_one_training_epoch_holds_at_most_twice_the_data(batch_size):
    # standardised once (the one copy of X), then staged a block at a time: the old engine held 5x at batch 32
    X, y = table(100_000)
    net = Architecture(hidden=(16,), hidden_bias=True).build(20, 2, seed=0)
    history, extra = peak_beyond(lambda: train(net, X, y, epochs=1, batch_size=batch_size, seed=0))
    assert history.engine == "engine"
    assert extra <= 2 * (X.nbytes + y.nbytes), f"{extra / (X.nbytes + y.nbytes):.2f}x the data"


@pytest.mark.parametrize("batch_size", [256, 1024, None])  # rows, shuffled columns, the full batch
def test_the_engine_holds_the_same_buffers_at_n_and_4n(batch_size):
    held = []
    for n in (70_000, 280_000):  # both longer than a stage (65,536 samples)
        X, y = table(n, features=4)
        net = TwoLayerNet(input_dim=4, hidden_dim=4, hidden_bias=True, seed=0, standardize=False)
        X, y = check_Xy(net, X, y)
        engine = Engine(net, SGD(net.params, net.grads, lr=0.1))

        def epoch_and_evaluation(engine=engine, X=X, y=y, n=n):
            engine.run_epoch(engine.training_set(X, y, Shuffler(n, batch_size or n, seed=0)))
            return engine.evaluate(X, y)

        result, extra = peak_beyond(epoch_and_evaluation)
        assert np.isfinite(result["loss"])
        order = 0 if batch_size is None else n * np.dtype(np.intp).itemsize  # the epoch's permutation
        held.append(extra - order)
    assert held[1] <= held[0] + MIB / 4, f"{held[0] / MIB:.2f} MiB at N, {held[1] / MIB:.2f} MiB at 4N"


def test_fitting_the_standardisation_holds_a_block_not_a_copy(monkeypatch):
    X, _ = table(20_000)
    monkeypatch.setattr(standardize, "FIT_BYTES", 1 << 16)  # blocks of 409 rows
    layer, extra = peak_beyond(lambda: standardize.Standardize(20).fit(X))
    assert extra < X.nbytes / 20
    np.testing.assert_allclose(layer.mean, X.mean(axis=0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(layer.scale, X.std(axis=0), rtol=1e-12)


def test_prediction_and_evaluation_hold_no_more_at_4n():
    X, y = table(160_000)
    net = Architecture(hidden=(16,), hidden_bias=True).build(20, 2, seed=0)
    train(net, X[:2000], y[:2000], epochs=1, seed=0)
    calls = {"predict": lambda n: net.predict(X[:n]), "predict_proba": lambda n: net.predict_proba(X[:n]),
             "evaluate": lambda n: net.evaluate(X[:n], y[:n])}
    for name, call in calls.items():
        held = []
        for n in (40_000, 160_000):
            result, extra = peak_beyond(lambda call=call, n=n: call(n))
            # beyond the result, and for evaluate the labels converted to the network's dtype (one column)
            kept = result.nbytes if isinstance(result, np.ndarray) else n * np.dtype(net.dtype).itemsize
            held.append(extra - kept)
        assert held[1] <= held[0] + MIB / 4, f"{name}: {held[0] / MIB:.2f} MiB at N, {held[1] / MIB:.2f} at 4N"
        assert held[1] <= 64 * MIB
