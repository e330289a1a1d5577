"""The speed work must not change the numbers: every faster path equals the reference path."""

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from data import make_moons
from model import TwoLayerNet
from model.batches import Shuffler
from model.inputs import check_Xy
from model.optim import SGD
from model.parameters import gather
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
    np.testing.assert_allclose(gather(a.params), gather(b.params), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("engine", ["auto", "layers"])
def test_training_loop_equals_plain_layer_steps_on_standardised_data(engine):
    # train() standardises once and shuffles with the Shuffler; on either path the parameters must be
    # exactly those of the plain public path (loss with standardisation inside + backward + SGD) on the
    # same batches.
    X, y = make_moons(96, seed=1)
    fast = TwoLayerNet(hidden_dim=5, hidden_bias=True, seed=2)
    history = train(fast, X, y, epochs=3, batch_size=32, lr=0.3, seed=7, engine=engine)
    assert history.engine == ("engine" if engine == "auto" else "layers")
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
    np.testing.assert_allclose(gather(fast.params), gather(ref.params), rtol=1e-12, atol=1e-15)


def test_the_shuffler_draws_one_permutation_per_epoch_and_none_at_full_batch():
    rng = np.random.default_rng(5)
    shuffler = Shuffler(10, 4, seed=5)
    assert (shuffler.batch_size, shuffler.full_batch, shuffler.steps) == (4, False, 3)
    assert shuffler.batches() == [slice(0, 4), slice(4, 8), slice(8, 10)]
    for _ in range(3):
        np.testing.assert_array_equal(shuffler.next_order(), rng.permutation(10))
    whole = Shuffler(10, 50, seed=5)
    assert (whole.batch_size, whole.full_batch, whole.steps, whole.next_order()) == (10, True, 1, None)


@pytest.mark.parametrize("batch,hidden", [(32, 3), (32, 20), ("full", 3)])
def test_the_benchmarks_reference_loop_trains_what_train_trains(batch, hidden):
    # the reference path the benchmark times against scikit-learn does the work train() does, no less
    bench = _bench_module()
    X, y = make_moons(200, seed=0)
    loop = bench.ReferenceLoop(X, y, batch, hidden, np.float64)
    ours = bench.Project(X, y, batch, hidden, np.float64)
    loop.run(3)
    ours.run(3)
    np.testing.assert_allclose(gather(loop.net.params), gather(ours.net.params), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("batch", [16, None])
def test_no_step_copies_the_data(batch):
    X, y = make_moons(64, seed=0)
    net = TwoLayerNet(seed=0, standardize=False)
    X, y = check_Xy(net, X, y)
    data = EpochData(X, y, Shuffler(len(y), batch or len(y), seed=0))
    seen = []
    forward = net.fc1.forward

    def spy_forward(x):
        seen.append(x)
        return forward(x)

    net.fc1.forward = spy_forward
    run_epoch(net, SGD(net.params, net.grads, lr=0.1), data)
    run_epoch(net, SGD(net.params, net.grads, lr=0.1), data)
    assert len(seen) == 2 * (1 if batch is None else 4)
    if batch is None:  # full batch: the data itself, in its own order, not even shuffled
        assert all(x.base is X or x is X for x in seen) and np.array_equal(seen[0], X)
    else:  # views of one buffer that each epoch's shuffle writes into
        buffer = seen[0].base
        assert buffer is not None and buffer is not X
        assert all(x.base is buffer for x in seen)


def test_float32_stays_float32_through_every_cache_and_gradient():
    X, y = make_moons(32, seed=0)
    for fused in (False, True):
        net = TwoLayerNet(hidden_bias=True, fused=fused, seed=0, dtype=np.float32)
        loss = net.loss(X, y)
        dX = net.backward()
        assert isinstance(loss, float) and dX.dtype == np.float32
        assert all(p.dtype == np.float32 for p in net.params.values())
        assert all(g.dtype == np.float32 for g in net.grads.values())
        assert net.relu.cache.dtype == np.float32


def test_evaluate_leaves_the_gradients_alone_and_is_no_loss_to_differentiate():
    X, y = make_moons(40, seed=0)
    a, b = TwoLayerNet(seed=3), TwoLayerNet(seed=3)
    a.loss(X[:20], y[:20])
    a.backward()
    grads = gather(a.grads)
    a.evaluate(X, y)
    a.predict_proba(X[:7])
    np.testing.assert_array_equal(gather(a.grads), grads)
    b.loss(X[:20], y[:20])
    b.evaluate(X, y)  # its forward passes replace the caches: backward must refuse, not differentiate them
    with pytest.raises(RuntimeError, match="loss"):
        b.backward()
