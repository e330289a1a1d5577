"""The training engine (``model.engine``) against the layer path it stands beside.

Proof of equality: for every architecture the engine runs and every optimizer, three epochs of
``train(engine="auto")`` leave the parameters of ``train(engine="layers")`` to 1e-12 (float64), with
the same seed, batches and data order. Then: what it refuses, its metric kernels against the loss
layers, float32 and memory.
"""

import tracemalloc

import numpy as np
import pytest
from scipy.special import expit

import model._engine_kernels as K
from data import make_moons
from layers import (BatchNorm, BCELoss, CrossEntropyLoss, Dropout, Layer, Linear, MSELoss, ReLU, Sigmoid,
                    SigmoidBCELoss, Softmax, SoftmaxCrossEntropyLoss, Tanh)
from model import Sequential, TwoLayerNet, build_mlp
from model.engine import Engine, unsupported_reason
from model.optim import SGD, Adam, make_optimizer
from model.training import train

OPTIMIZERS = ["sgd", "momentum", "nesterov", "adam"]
ACTIVATIONS = ["relu", "leaky_relu", "tanh", "sigmoid"]
HEADS = ["sigmoid+bce", "fused bce", "softmax ce", "softmax+ce"]


def _data(classes=2, n=45, seed=0):
    X, y = make_moons(n, noise=0.3, seed=seed)
    if classes > 2:
        y = (y + (X[:, 0] > 0.5)) % classes  # a third class, still learnable
    return X, y


def _net(activation="relu", head="sigmoid+bce", hidden=(4,), hidden_bias=True, weight_decay=0.0, seed=3,
         dtype=np.float64, standardize=True):
    """A network of the family the engine runs; Softmax + CrossEntropyLoss is built by hand."""
    if head == "softmax+ce":
        rng = np.random.default_rng(seed)
        act = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid}.get(activation)
        act = act or (lambda: __import__("layers").LeakyReLU(0.1))
        stack, width = [], 2
        for h in hidden:
            stack += [Linear(width, h, bias=hidden_bias, rng=rng, dtype=dtype), act()]
            width = h
        stack += [Linear(width, 3, rng=rng, dtype=dtype), Softmax()]
        return Sequential(stack, CrossEntropyLoss(), weight_decay=weight_decay)
    classes = 3 if head == "softmax ce" else 2
    return build_mlp(2, hidden=hidden, activation=activation, hidden_bias=hidden_bias, classes=classes,
                     fused=head == "fused bce", weight_decay=weight_decay, seed=seed, dtype=dtype,
                     standardize=standardize)


def _both(make, X, y, X_val=None, y_val=None, **kw):
    """Train two copies of ``make()`` with each engine; return (engine net, history), (layers net, history)."""
    out = []
    for engine in ("auto", "layers"):
        net = make()
        h = train(net, X, y, X_val, y_val, epochs=3, seed=11, engine=engine, **kw)
        out.append((net, h))
    return out


def _assert_equal_parameters(a, b, tol=1e-12):
    scale = max(1.0, float(np.abs(b.theta).max()))
    err = float(np.abs(a.theta - b.theta).max())
    assert err <= tol * scale, f"parameters differ by {err:.3g}"


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_engine_equals_the_layers_after_three_epochs(activation, head, optimizer):
    X, y = _data(3 if head.startswith("softmax") else 2)
    (fast, hf), (ref, hr) = _both(lambda: _net(activation, head), X[:36], y[:36], X[36:], y[36:],
                                  optimizer=optimizer, lr=0.2, batch_size=8)  # 36 rows: a ragged last batch
    assert hf.engine == "engine" and hr.engine == "layers"
    _assert_equal_parameters(fast, ref)
    assert hf.steps == hr.steps == 3 * 5
    # both paths report alike: running training metrics, full validation passes, final metrics
    np.testing.assert_allclose(hf.train_loss, hr.train_loss, rtol=1e-12)
    np.testing.assert_allclose(hf.val_loss, hr.val_loss, rtol=1e-12)
    assert hf.train_acc == hr.train_acc and hf.val_acc == hr.val_acc
    assert hf.final == pytest.approx(hr.final, rel=1e-12)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("variant", [
    {"hidden": (5, 4), "activation": "tanh"},
    {"hidden": (3,), "hidden_bias": False},  # the handout's network: no first-layer bias
    {"hidden": (20,), "weight_decay": 0.05},  # wide: the ((x ⊙ e)ᵀ M) ⊙ w2 form of step 5
    {"hidden": (4, 4, 3), "activation": "leaky_relu", "head": "softmax ce", "weight_decay": 0.01},
    {"hidden": (6,), "activation": "sigmoid", "head": "softmax+ce", "hidden_bias": False},
])
def test_engine_equals_the_layers_for_deeper_wider_and_decayed_networks(variant, optimizer):
    X, y = _data(3 if variant.get("head", "").startswith("softmax") else 2)
    (fast, _), (ref, _) = _both(lambda: _net(**variant), X, y, optimizer=optimizer, lr=0.1, batch_size=16)
    _assert_equal_parameters(fast, ref)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
@pytest.mark.parametrize("head", ["sigmoid+bce", "softmax ce"])
def test_full_batch_in_chunks_equals_the_layers(head, optimizer):
    # 45 rows in chunks of 8: six chunks accumulated into one gradient, then one update
    X, y = _data(3 if head == "softmax ce" else 2)
    (fast, hf), (ref, _) = _both(lambda: _net(head=head, hidden=(24,)), X, y, optimizer=optimizer, lr=0.5,
                                 batch_size=None, chunk_rows=8)
    assert hf.engine == "engine" and hf.steps == 3
    _assert_equal_parameters(fast, ref)


def test_large_mini_batches_are_chunked_too():
    X, y = _data(n=90)
    (fast, _), (ref, _) = _both(lambda: _net(hidden=(5,)), X, y, lr=0.5, batch_size=40, chunk_rows=16)
    _assert_equal_parameters(fast, ref)


def test_the_equality_check_catches_a_broken_kernel(monkeypatch):
    # ReLU's local gradient replaced by 1 everywhere (the mask forgotten): the engine must then differ
    real = K.activation

    def broken(kind, alpha, dtype, large=False):
        act = real(kind, alpha, dtype, large)

        def wrong(A, M):
            act(A, M)
            M[...] = 1

        return wrong

    monkeypatch.setattr(K, "activation", broken)
    X, y = _data()
    (fast, _), (ref, _) = _both(lambda: _net(hidden=(6,)), X, y, lr=0.5, batch_size=8)
    with pytest.raises(AssertionError, match="parameters differ"):
        _assert_equal_parameters(fast, ref)


def test_the_default_network_trains_on_the_engine():
    X, y = _data()
    h = train(TwoLayerNet(seed=0), X, y, epochs=2, seed=0)
    assert h.engine == "engine"
    h = train(TwoLayerNet(seed=0), X, y, epochs=2, seed=0, engine="layers")
    assert h.engine == "layers"


@pytest.mark.parametrize("net,optimizer,why", [
    (build_mlp(2, hidden=(4,), dropout=0.2, seed=0), "sgd", "Dropout"),
    (build_mlp(2, hidden=(4,), batchnorm=True, seed=0), "sgd", "BatchNorm"),
    (Sequential([Linear(2, 3, rng=0), ReLU(), Linear(3, 1, rng=0)], MSELoss()), "sgd", "MSELoss"),
    (Sequential([Linear(2, 3, rng=0), Linear(3, 1, rng=0)], SigmoidBCELoss()), "sgd", "layer 1 (Linear)"),
    (TwoLayerNet(seed=0), "lbfgs", None),
])
def test_anything_else_falls_back_to_the_layers(net, optimizer, why):
    X, y = _data()
    h = train(net, X, y, optimizer=optimizer, lr=None, epochs=2, seed=0)
    assert h.engine == "layers"
    if why:
        _, body = net.split_preprocessing()
        assert why in unsupported_reason(body)


def test_a_user_layer_or_optimizer_is_refused_with_a_reason():
    class Square(Layer):
        def forward(self, x):
            self.cache = x
            return x * x

        def backward(self, g):
            return 2 * self.cache * g

    net = Sequential([Linear(2, 3, rng=0), Square(), Linear(3, 1, rng=0)], SigmoidBCELoss())
    assert "Square" in unsupported_reason(net)
    ok = Sequential([Linear(2, 3, rng=0), ReLU(), Linear(3, 1, rng=0)], SigmoidBCELoss())
    assert unsupported_reason(ok) is None

    class MySGD(SGD):
        pass

    assert "MySGD" in unsupported_reason(ok, MySGD({"theta": ok.theta}, {"theta": ok.grad_theta}, lr=0.1))
    with pytest.raises(ValueError, match="Square"):
        Engine(net, SGD({"theta": net.theta}, {"theta": net.grad_theta}, lr=0.1))


def test_a_logistic_regression_has_no_hidden_layer_and_still_runs():
    X, y = _data()
    make = lambda: Sequential([Linear(2, 1, rng=1)], SigmoidBCELoss())  # noqa: E731
    (fast, hf), (ref, _) = _both(make, X, y, lr=0.5, batch_size=10)
    assert hf.engine == "engine"
    _assert_equal_parameters(fast, ref)


# ------------------------------------------------------------------ metric kernels against the loss layers


def test_binary_metrics_equal_the_loss_layers():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 4, (300, 1))
    t = (rng.random((300, 1)) < 0.5).astype(float)
    loss, correct = K.BinaryMetrics(300, np.float64)(z, t)
    assert loss / 300 == pytest.approx(SigmoidBCELoss().value(z, t), rel=1e-13)
    assert correct == np.count_nonzero((expit(z) > 0.5) == (t > 0.5))
    capped, _ = K.BinaryMetrics(300, np.float64, clip=-np.log(np.finfo(float).eps))(z, t)
    assert capped / 300 == pytest.approx(BCELoss().value(expit(z), t), rel=1e-12)


def test_binary_metrics_are_exact_where_probabilities_saturate():
    z, t = np.array([[50.0], [-50.0], [800.0]]), np.array([[0.0], [1.0], [0.0]])
    loss, correct = K.BinaryMetrics(3, np.float64)(z, t)
    assert loss == pytest.approx(900.0, rel=1e-15) and correct == 0  # softplus(50) + softplus(50) + 800
    cap = -np.log(np.finfo(float).eps)
    capped, _ = K.BinaryMetrics(3, np.float64, clip=cap)(z, t)
    assert capped == pytest.approx(3 * cap)  # BCELoss clips each probability at eps


@pytest.mark.parametrize("fused", [True, False])
def test_softmax_metrics_equal_the_loss_layers(fused):
    rng = np.random.default_rng(1)
    z = rng.normal(0, 3, (200, 4))
    labels = rng.integers(0, 4, 200)
    eps = np.finfo(float).eps
    loss, correct = K.SoftmaxMetrics(200, 4, np.float64, clip=None if fused else -np.log(eps))(z, labels)
    ref = SoftmaxCrossEntropyLoss().value(z, labels) if fused else CrossEntropyLoss().value(
        SoftmaxCrossEntropyLoss().proba(z), labels)
    assert loss / 200 == pytest.approx(ref, rel=1e-13)
    assert correct == np.count_nonzero(np.argmax(z, axis=1) == labels)


def test_engine_evaluate_equals_sequential_evaluate():
    X, y = _data(3, n=120)
    for head in HEADS:
        yy = y if head.startswith("softmax") else y % 2
        net = _net("tanh", head, hidden=(7,), standardize=False)
        Xc, yc = net.check_Xy(X, yy)
        eng = Engine(net, SGD({"theta": net.theta}, {"theta": net.grad_theta}, lr=0.1), chunk_rows=25)
        got, want = eng.evaluate(Xc, yc), net.evaluate(Xc, yc, check_input=False)
        assert got["loss"] == pytest.approx(want["loss"], rel=1e-13)
        assert got["accuracy"] == want["accuracy"] and got["n"] == want["n"]


# ------------------------------------------------------------------ dtype, layout, memory


def test_float32_stays_float32_and_learns_like_the_layers():
    X, y = _data(n=200)
    (fast, hf), (ref, _) = _both(lambda: _net(hidden=(8,), dtype=np.float32), X, y, lr=0.5, batch_size=16)
    assert hf.engine == "engine" and fast.theta.dtype == np.float32
    np.testing.assert_allclose(fast.theta, ref.theta, rtol=1e-4, atol=1e-5)
    net = _net(hidden=(8,), dtype=np.float32, standardize=False)
    eng = Engine(net, SGD({"theta": net.theta}, {"theta": net.grad_theta}, lr=0.1), chunk_rows=64)
    Xc, yc = net.check_Xy(X, y)
    for batch in (16, len(yc)):  # mini-batches, and the full batch in chunks
        steps, loss, acc = eng.run_epoch(eng.training_set(Xc, yc, batch))
        assert isinstance(loss, float) and np.isfinite(loss)
    assert eng.P.dtype == eng.G.dtype == np.float32
    assert all(b.dtype == np.float32 for blk in eng._blocks.values() for b in blk.A + blk.M + [blk.Z, blk.E])


def test_push_and_pull_round_trip_and_keep_the_constant_unit():
    net = _net(hidden=(3,), hidden_bias=False, standardize=False)
    eng = Engine(net, Adam({"theta": net.theta}, {"theta": net.grad_theta}, lr=0.1))
    before = net.theta.copy()
    eng.P += 0.25
    eng.push()
    assert not np.array_equal(net.theta, before)
    eng.pull()  # back from the net: the frozen entries are restored, the parameters kept
    W1 = eng.W[0]
    assert W1[2, 3] == 1 and not W1[:2, 3].any() and not W1[2, :3].any()  # [0 0 1] column, no b1 row
    np.testing.assert_array_equal(W1[:2, :3], net.params["w1"])


def test_full_batch_memory_is_chunk_sized():
    # an (N, H) float64 array would be 20,000 x 64 x 8 = 10 MB; a full-batch epoch allocates far less
    X, y = make_moons(20_000, seed=0)
    net = TwoLayerNet(hidden_dim=64, hidden_bias=True, seed=0, standardize=False)
    Xc, yc = net.check_Xy(X, y)
    eng = Engine(net, SGD({"theta": net.theta}, {"theta": net.grad_theta}, lr=0.1))
    data = eng.training_set(Xc, yc, len(yc))
    eng.run_epoch(data)  # buffers are made on first use
    tracemalloc.start()
    tracemalloc.reset_peak()
    eng.run_epoch(data)
    eng.evaluate(Xc, yc)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20_000 * 64 * 8 / 20


def test_a_diverging_engine_run_is_caught_without_warnings():
    # lr 1e300 overflows to inf and NaN within a step: the guard restores the start, no RuntimeWarning
    from model.training import TrainingDiverged

    X, y = _data()
    net = TwoLayerNet(seed=0, standardize=False)
    start = net.theta.copy()
    with pytest.raises(TrainingDiverged, match="epoch 1"):
        train(net, X, y, lr=1e300, epochs=3, seed=0)
    np.testing.assert_array_equal(net.theta, start)


def test_optimizer_hyperparameters_are_the_optimizers():
    net = _net(standardize=False)
    opt = make_optimizer("nesterov", {"theta": net.theta}, {"theta": net.grad_theta}, 0.3)
    eng = Engine(net, opt)
    assert eng.kind == "nesterov" and eng.fold == pytest.approx(0.3)
    eng = Engine(net, make_optimizer("adam", {"theta": net.theta}, {"theta": net.grad_theta}, 0.3))
    assert eng.kind == "adam" and eng.fold == 1.0
