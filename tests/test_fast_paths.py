"""The speed work must not change the numbers: every faster path equals the reference path."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from data import make_moons
from model import TwoLayerNet
from model.optim import SGD
from model.training import EpochData, run_epoch, train

ROOT = Path(__file__).resolve().parents[1]


def _bench_module():
    spec = importlib.util.spec_from_file_location("bench_train", ROOT / "benchmarks" / "bench_train.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sgd_steps(net, X, y, steps, batch=16, lr=0.5):
    opt = SGD(net.params, net.grads, lr=lr)
    for i in range(steps):
        sl = slice((i * batch) % len(y), (i * batch) % len(y) + batch)
        net.loss(X[sl], y[sl])
        net.backward()
        opt.step()
    return net


def test_fused_loss_path_gives_the_same_parameters_after_several_steps():
    X, y = make_moons(256, seed=0)
    a = _sgd_steps(TwoLayerNet(hidden_dim=8, hidden_bias=True, seed=0), X, y, 30)
    b = _sgd_steps(TwoLayerNet(hidden_dim=8, hidden_bias=True, fused=True, seed=0), X, y, 30)
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-12, atol=1e-14)


def test_training_loop_equals_plain_layer_steps_on_standardised_data():
    # train() standardises once and skips the input gradient; the parameters must be exactly those of
    # the plain public path (loss with standardisation inside + backward + SGD) on the same batches.
    X, y = make_moons(96, seed=1)
    fast = TwoLayerNet(hidden_dim=5, hidden_bias=True, seed=2)
    train(fast, X, y, epochs=3, batch_size=32, lr=0.3, seed=7)
    ref = TwoLayerNet(hidden_dim=5, hidden_bias=True, seed=2)
    ref.standardizer.set(fast.standardizer.mean, fast.standardizer.scale)
    opt = SGD(ref.params, ref.grads, lr=0.3)
    rng = np.random.default_rng(7)
    for _ in range(3):
        order = rng.permutation(len(y))
        Xs, ys = X[order], y[order]
        for i in range(0, len(y), 32):
            ref.loss(Xs[i:i + 32], ys[i:i + 32])
            ref.backward()
            opt.step()
    np.testing.assert_allclose(fast.theta, ref.theta, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("batch,hidden", [(32, 4), (16, 20), ("full", 4), ("full", 20)])
def test_the_benchmark_floor_does_the_same_work_as_the_library(batch, hidden):
    # the floor is only a floor if it computes what train() computes: same parameters, same loss
    bench = _bench_module()
    X, y = make_moons(200, seed=0)
    floor = bench.Floor(X, y, batch, hidden, np.float64, chunk_bytes=2000)  # full batch: several chunks
    ours = bench.Project(X, y, batch, hidden, np.float64)
    floor.run(3)
    ours.run(3)
    for name, value in floor.params().items():
        np.testing.assert_allclose(value.reshape(ours.net.params[name].shape), ours.net.params[name],
                                   rtol=1e-12, atol=1e-14)
    assert floor.losses[-1] == pytest.approx(ours.history.train_loss[-1], rel=1e-12)


@pytest.mark.parametrize("batch", [16, None])
def test_no_step_copies_the_data(batch):
    X, y = make_moons(64, seed=0)
    net = TwoLayerNet(seed=0, standardize=False)
    X, y = net.check_Xy(X, y)
    data = EpochData(X, y, batch or len(y), seed=0)
    seen, returned = [], []
    forward, backward = net.fc1.forward, net.fc1.backward

    def spy_forward(x):
        seen.append(x)
        return forward(x)

    def spy_backward(g, input_grad=True):
        returned.append(backward(g, input_grad))
        return returned[-1]

    net.fc1.forward, net.fc1.backward = spy_forward, spy_backward
    run_epoch(net, SGD(net.params, net.grads, lr=0.1), data)
    buffer = data.X if batch is None else data._Xs
    assert seen and all(np.shares_memory(x, buffer) for x in seen)  # views of the one epoch copy
    assert all(r is None for r in returned)  # the unused dℓ/dX is never computed
    if batch is None:
        assert np.array_equal(seen[0], data.X)  # full batch: a view in the original order, not even shuffled


def test_float32_stays_float32_through_every_cache_and_gradient():
    X, y = make_moons(32, seed=0)
    for fused in (False, True):
        net = TwoLayerNet(hidden_bias=True, fused=fused, seed=0, dtype=np.float32)
        loss = net.loss(X, y)
        dX = net.backward()
        assert isinstance(loss, float) and dX.dtype == np.float32
        assert net.theta.dtype == net.grad_theta.dtype == np.float32
        assert all(g.dtype == np.float32 for g in net.grads.values())
        assert net.relu.cache.dtype == np.float32 and net.criterion.cache[0].dtype == np.float32


def test_evaluate_between_loss_and_backward_leaves_the_gradients_alone():
    X, y = make_moons(40, seed=0)
    a, b = TwoLayerNet(seed=3), TwoLayerNet(seed=3)
    a.loss(X[:20], y[:20])
    a.backward()
    b.loss(X[:20], y[:20])
    b.evaluate(X, y)
    b.predict_proba(X[:7])
    b.backward()
    np.testing.assert_array_equal(a.grad_theta, b.grad_theta)
