"""The training engine (``model.engine``) against the layer path it stands beside.

Proof of equality: for every architecture the engine runs and every optimizer, three epochs of
``train(engine="auto")`` leave the parameters of ``train(engine="layers")`` to 1e-12 (float64), with
the same seed, batches and data order; ``Engine.gradients`` equals the layers' ``grads``. Then: what it
refuses, its metric kernels against the loss layers, float32 and memory.
"""

import tracemalloc

import numpy as np
import pytest
from scipy.special import expit

import model.engine.data as staging
import model.engine.kernels as kernels
from data import make_moons
from layers import (BCELoss, CrossEntropyLoss, Layer, LeakyReLU, Linear, MSELoss, ReLU, Sigmoid, SigmoidBCELoss,
                    Softmax, SoftmaxCrossEntropyLoss, Tanh)
from model import Sequential, TwoLayerNet, build_mlp
from model.batches import Shuffler
from model.engine import Engine, unsupported_reason
from model.engine.metrics import BinaryMetrics, SoftmaxMetrics
from model.inputs import check_Xy
from model.optim import SGD, Adam, make_optimizer
from model.parameters import gather
from model.predict import evaluate_checked
from model.training import TrainingDiverged, train

OPTIMIZERS = ["sgd", "momentum", "nesterov", "adam"]
ACTIVATIONS = ["relu", "leaky_relu", "tanh", "sigmoid"]
HEADS = ["sigmoid+bce", "fused bce", "softmax ce", "softmax+ce"]
ACTIVATION_LAYERS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid, "leaky_relu": lambda: LeakyReLU(0.1)}


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
        stack, width = [], 2
        for h in hidden:
            stack += [Linear(width, h, bias=hidden_bias, rng=rng, dtype=dtype), ACTIVATION_LAYERS[activation]()]
            width = h
        stack += [Linear(width, 3, rng=rng, dtype=dtype), Softmax()]
        return Sequential(stack, CrossEntropyLoss(), weight_decay=weight_decay)
    classes = 3 if head == "softmax ce" else 2
    return build_mlp(2, hidden=hidden, activation=activation, hidden_bias=hidden_bias, classes=classes,
                     fused=head == "fused bce", weight_decay=weight_decay, seed=seed, dtype=dtype,
                     standardize=standardize)


def _both(make, X, y, X_val=None, y_val=None, chunk_rows=None, **settings):
    """Train two copies of ``make()``, on the engine and on the layers; return (net, history) of each."""
    out = []
    for engine in ("auto", "layers"):
        net = make()
        h = train(net, X, y, X_val, y_val, chunk_rows=chunk_rows, epochs=3, seed=11, engine=engine, **settings)
        out.append((net, h))
    return out


def _assert_equal_parameters(a, b, tol=1e-12):
    ours, theirs = gather(a.params), gather(b.params)
    scale = max(1.0, float(np.abs(theirs).max()))
    err = float(np.abs(ours - theirs).max())
    assert err <= tol * scale, f"parameters differ by {err:.3g}"


def _sgd(net, lr=0.1):
    return SGD(net.params, net.grads, lr=lr)


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
    {"hidden": (20,), "weight_decay": 0.05},  # wide: the ((x ⊙ e)ᵀ dh/da) ⊙ w2 form of step 5
    {"hidden": (4, 4, 3), "activation": "leaky_relu", "head": "softmax ce", "weight_decay": 0.01},
    {"hidden": (6,), "activation": "sigmoid", "head": "softmax+ce", "hidden_bias": False},
])
def test_engine_equals_the_layers_for_deeper_wider_and_decayed_networks(variant, optimizer):
    X, y = _data(3 if variant.get("head", "").startswith("softmax") else 2)
    (fast, hf), (ref, _) = _both(lambda: _net(**variant), X, y, optimizer=optimizer, lr=0.1, batch_size=16)
    assert hf.engine == "engine"
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
    (fast, hf), (ref, _) = _both(lambda: _net(hidden=(5,)), X, y, lr=0.5, batch_size=40, chunk_rows=16)
    assert hf.engine == "engine"
    _assert_equal_parameters(fast, ref)


@pytest.mark.parametrize("head", ["sigmoid+bce", "softmax ce"])
@pytest.mark.parametrize("batch_size,n", [(8, 90), (600, 1100), (None, 90)])  # rows, shuffled columns, full
def test_passes_cut_into_many_stages_equal_the_layers(monkeypatch, head, batch_size, n):
    # Stages of at most 24 samples (16 in rows) and chunks of 7: batches and chunks fall across stage
    # boundaries, the last stage ragged; the data are staged and scored a stage at a time
    monkeypatch.setattr(staging, "STAGE_ROWS", 24)
    monkeypatch.setattr(staging, "STAGE_BYTES", 16 * 3 * 8)  # 16 samples of [x 1] in float64
    X, y = _data(3 if head == "softmax ce" else 2, n=n)
    (fast, hf), (ref, hr) = _both(lambda: _net(head=head, hidden=(5,)), X[:-20], y[:-20], X[-20:], y[-20:],
                                  optimizer="momentum", lr=0.2, batch_size=batch_size, chunk_rows=7)
    assert hf.engine == "engine"
    _assert_equal_parameters(fast, ref)
    np.testing.assert_allclose(hf.train_loss, hr.train_loss, rtol=1e-12)
    np.testing.assert_allclose(hf.val_loss, hr.val_loss, rtol=1e-12)
    assert hf.train_acc == hr.train_acc and hf.final == pytest.approx(hr.final, rel=1e-12)


def test_the_equality_check_catches_a_broken_kernel(monkeypatch):
    # ReLU's local gradient replaced by 1 everywhere (the mask forgotten): the engine must then differ
    real = kernels.activation

    def broken(kind, alpha, dtype, large=False):
        act = real(kind, alpha, dtype, large)

        def wrong(hidden, local_grad):
            act(hidden, local_grad)
            local_grad[...] = 1

        return wrong

    monkeypatch.setattr(kernels, "activation", broken)
    X, y = _data()
    net = _net(hidden=(6,), standardize=False)
    Xc, yc = check_Xy(net, X, y)
    engine = Engine(net, _sgd(net))
    net.loss(X, y)
    net.backward()
    ours = engine.gradients(Xc, yc)
    assert not np.allclose(ours["w1"], net.grads["w1"], rtol=1e-6)  # the first layer's gradient is wrong
    engine.run_epoch(engine.training_set(Xc, yc, Shuffler(len(yc), 8, seed=0)))
    engine.push()
    ref = _net(hidden=(6,), standardize=False)  # the same epoch on the layers: the parameters differ
    ref_opt = _sgd(ref)
    order = np.random.default_rng(0).permutation(len(yc))
    for start in range(0, len(yc), 8):
        rows = order[start:start + 8]
        ref.loss(X[rows], y[rows])
        ref.backward()
        ref_opt.step()
    with pytest.raises(AssertionError, match="parameters differ"):
        _assert_equal_parameters(net, ref)
    # and train() checks the engine's gradient before it trusts it: this one trains on the layers
    assert train(_net(hidden=(6,)), X, y, epochs=1, seed=0).engine == "layers"


def test_the_default_network_trains_on_the_engine():
    X, y = _data()
    h = train(TwoLayerNet(seed=0), X, y, epochs=2, seed=0)
    assert h.engine == "engine"
    h = train(TwoLayerNet(seed=0), X, y, epochs=2, seed=0, engine="layers")
    assert h.engine == "layers"


@pytest.mark.parametrize("make,optimizer,why", [
    (lambda: build_mlp(2, hidden=(4,), dropout=0.2, seed=0), "sgd", "Dropout"),
    (lambda: build_mlp(2, hidden=(4,), batchnorm=True, seed=0), "sgd", "BatchNorm"),
    (lambda: Sequential([Linear(2, 3, rng=0), ReLU(), Linear(3, 1, rng=0)], MSELoss()), "sgd", "MSELoss"),
    (lambda: Sequential([Linear(2, 3, rng=0), Linear(3, 1, rng=0)], SigmoidBCELoss()), "sgd", "layer 1 (Linear)"),
    (lambda: TwoLayerNet(seed=0), "lbfgs", None),
])
def test_anything_else_falls_back_to_the_layers(make, optimizer, why):
    X, y = _data()
    net = make()
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

        def backward(self, upstream):
            return 2 * self.cache * upstream

    net = Sequential([Linear(2, 3, rng=0), Square(), Linear(3, 1, rng=0)], SigmoidBCELoss())
    assert "Square" in unsupported_reason(net)
    ok = Sequential([Linear(2, 3, rng=0), ReLU(), Linear(3, 1, rng=0)], SigmoidBCELoss())
    assert unsupported_reason(ok) is None

    class MySGD(SGD):
        pass

    class MyLinear(Linear):  # a subclass may compute something else: not one the engine runs
        pass

    assert "MySGD" in unsupported_reason(ok, MySGD(ok.params, ok.grads, lr=0.1))
    assert unsupported_reason(ok, SGD(ok.params, ok.grads, lr=0.1)) is None
    mine = Sequential([MyLinear(2, 3, rng=0), ReLU(), Linear(3, 1, rng=0)], SigmoidBCELoss())
    assert "MyLinear" in unsupported_reason(mine)
    with pytest.raises(ValueError, match="Square"):
        Engine(net, _sgd(net))


def test_a_loss_with_settings_is_refused():
    # the engine computes the plain mean loss: a loss built with settings (a class weighting) is not that
    net = Sequential([Linear(2, 3, rng=0), ReLU(), Linear(3, 1, rng=0)], SigmoidBCELoss())
    net.criterion.config = lambda: {"class_weight": [1.0, 3.0]}
    assert "SigmoidBCELoss with class_weight" in unsupported_reason(net)
    net.criterion.config = lambda: {"class_weight": None}  # the default: still the plain loss
    assert unsupported_reason(net) is None


def test_a_logistic_regression_has_no_hidden_layer_and_still_runs():
    X, y = _data()
    (fast, hf), (ref, _) = _both(lambda: Sequential([Linear(2, 1, rng=1)], SigmoidBCELoss()), X, y, lr=0.5,
                                 batch_size=10)
    assert hf.engine == "engine"
    _assert_equal_parameters(fast, ref)


# ------------------------------------------------------------------ one batch's gradient


@pytest.mark.parametrize("head", HEADS)
@pytest.mark.parametrize("variant", [
    {"hidden": (4,)},
    {"hidden": (3,), "hidden_bias": False, "weight_decay": 0.3},
    {"hidden": (20,), "activation": "tanh"},
    {"hidden": (5, 3), "activation": "leaky_relu", "weight_decay": 0.1},
])
def test_engine_gradients_equal_the_layers_grads(head, variant):
    X, y = _data(3 if head.startswith("softmax") else 2, n=40)
    net = _net(head=head, standardize=False, **variant)
    Xc, yc = check_Xy(net, X, y)
    engine = Engine(net, _sgd(net), chunk_rows=16)  # 40 rows: three chunks accumulated
    net.loss(X, y)
    net.backward()
    ours = engine.gradients(Xc, yc)
    assert set(ours) == set(net.grads)
    for key, grad in net.grads.items():
        assert ours[key].shape == grad.shape
        np.testing.assert_allclose(ours[key], grad, rtol=1e-12, atol=1e-14, err_msg=key)


def test_engine_gradients_follow_the_engine_parameters_and_leave_training_alone():
    X, y = _data(n=40)
    net = _net(hidden=(5,), standardize=False)
    Xc, yc = check_Xy(net, X, y)
    engine = Engine(net, Adam(net.params, net.grads, lr=0.1))
    data = engine.training_set(Xc, yc, Shuffler(len(yc), 8, seed=0))
    engine.run_epoch(data)
    engine.push()  # the network now holds the engine's parameters
    net.loss(X, y)
    net.backward()
    before = engine.folded.values.copy(), engine.optimizer.m["all"].copy(), engine.optimizer.t
    ours = engine.gradients(Xc, yc)
    for key, grad in net.grads.items():
        np.testing.assert_allclose(ours[key], grad, rtol=1e-12, atol=1e-14, err_msg=key)
    np.testing.assert_array_equal(engine.folded.values, before[0])
    np.testing.assert_array_equal(engine.optimizer.m["all"], before[1])
    assert engine.optimizer.t == before[2]


# ------------------------------------------------------------------ metric kernels against the loss layers


def test_binary_metrics_equal_the_loss_layers():
    rng = np.random.default_rng(0)
    z = rng.normal(0, 4, (300, 1))
    t = (rng.random((300, 1)) < 0.5).astype(float)
    loss, correct = BinaryMetrics(300, np.float64)(z, t)
    assert loss / 300 == pytest.approx(SigmoidBCELoss().forward(z, t), rel=1e-13)
    assert correct == np.count_nonzero((expit(z) > 0.5) == (t > 0.5))
    capped, _ = BinaryMetrics(300, np.float64, clip=-np.log(np.finfo(float).eps))(z, t)
    assert capped / 300 == pytest.approx(BCELoss().forward(expit(z), t), rel=1e-12)


def test_binary_metrics_are_exact_where_probabilities_saturate():
    z, t = np.array([[50.0], [-50.0], [800.0]]), np.array([[0.0], [1.0], [0.0]])
    loss, correct = BinaryMetrics(3, np.float64)(z, t)
    assert loss == pytest.approx(900.0, rel=1e-15) and correct == 0  # softplus(50) + softplus(50) + 800
    cap = -np.log(np.finfo(float).eps)
    capped, _ = BinaryMetrics(3, np.float64, clip=cap)(z, t)
    assert capped == pytest.approx(3 * cap)  # BCELoss clips each probability at eps


@pytest.mark.parametrize("fused", [True, False])
def test_softmax_metrics_equal_the_loss_layers(fused):
    rng = np.random.default_rng(1)
    z = rng.normal(0, 3, (200, 4))
    labels = rng.integers(0, 4, 200)
    eps = np.finfo(float).eps
    loss, correct = SoftmaxMetrics(200, 4, np.float64, clip=None if fused else -np.log(eps))(z, labels)
    ref = SoftmaxCrossEntropyLoss().forward(z, labels) if fused else CrossEntropyLoss().forward(
        Softmax().forward(z), labels)
    assert loss / 200 == pytest.approx(ref, rel=1e-13)
    assert correct == np.count_nonzero(np.argmax(z, axis=1) == labels)


def test_engine_evaluate_equals_the_layers_evaluate():
    X, y = _data(3, n=120)
    for head in HEADS:
        yy = y if head.startswith("softmax") else y % 2
        net = _net("tanh", head, hidden=(7,), standardize=False)
        Xc, yc = check_Xy(net, X, yy)
        engine = Engine(net, _sgd(net), chunk_rows=25)
        got, want = engine.evaluate(Xc, yc), evaluate_checked(net, Xc, yc)
        assert got["loss"] == pytest.approx(want["loss"], rel=1e-13)
        assert got["accuracy"] == want["accuracy"] and got["n"] == want["n"]


# ------------------------------------------------------------------ the optimizer, dtype, layout, memory


def test_the_engine_steps_with_a_copy_of_the_given_optimizer():
    net = _net(standardize=False)
    for name in OPTIMIZERS:
        given = make_optimizer(name, net.params, net.grads, 0.3)
        engine = Engine(net, given)
        assert type(engine.optimizer) is type(given)
        assert engine.optimizer.hyperparameters() == given.hyperparameters()
        assert engine.optimizer.params["all"] is engine.folded.values
        assert engine.optimizer.grads["all"] is engine.folded.grads


def test_float32_stays_float32_and_learns_like_the_layers():
    X, y = _data(n=200)
    (fast, hf), (ref, _) = _both(lambda: _net(hidden=(8,), dtype=np.float32), X, y, lr=0.5, batch_size=16)
    assert hf.engine == "engine" and all(p.dtype == np.float32 for p in fast.params.values())
    np.testing.assert_allclose(gather(fast.params), gather(ref.params), rtol=1e-4, atol=1e-5)
    net = _net(hidden=(8,), dtype=np.float32, standardize=False)
    engine = Engine(net, _sgd(net), chunk_rows=64)
    Xc, yc = check_Xy(net, X, y)
    for batch in (16, len(yc)):  # mini-batches, and the full batch in chunks
        steps, loss, acc = engine.run_epoch(engine.training_set(Xc, yc, Shuffler(len(yc), batch)))
        assert isinstance(loss, float) and np.isfinite(loss)
    assert engine.folded.values.dtype == engine.folded.grads.dtype == np.float32
    buffers = [b for block in engine._blocks.values()
               for b in block.hidden + block.local_grad + [block.logits, block.output_grad]]
    assert buffers and all(b.dtype == np.float32 for b in buffers)


def test_push_and_pull_round_trip_and_keep_the_constant_unit():
    net = _net(hidden=(3,), hidden_bias=False, standardize=False)
    engine = Engine(net, Adam(net.params, net.grads, lr=0.1))
    before = gather(net.params)
    engine.folded.values += 0.25
    engine.push()
    assert not np.array_equal(gather(net.params), before)
    engine.pull()  # back from the net: the frozen entries are restored, the parameters kept
    W1 = engine.folded.weights[0]
    assert W1[2, 3] == 1 and not W1[:2, 3].any() and not W1[2, :3].any()  # [0 0 1] column, no b1 row
    np.testing.assert_array_equal(W1[:2, :3], net.params["w1"])


def test_full_batch_memory_is_chunk_sized():
    # an (N, H) float64 array would be 20,000 x 64 x 8 = 10 MB; a full-batch epoch allocates far less
    X, y = make_moons(20_000, seed=0)
    net = TwoLayerNet(hidden_dim=64, hidden_bias=True, seed=0, standardize=False)
    Xc, yc = check_Xy(net, X, y)
    engine = Engine(net, _sgd(net))
    data = engine.training_set(Xc, yc, Shuffler(len(yc), len(yc)))
    engine.run_epoch(data)  # buffers are made on first use
    tracemalloc.start()
    tracemalloc.reset_peak()
    engine.run_epoch(data)
    engine.evaluate(Xc, yc)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 20_000 * 64 * 8 / 20


def test_a_diverging_engine_run_is_caught_without_warnings():
    # lr 1e300 overflows to inf and NaN within a step: the guard restores the start, no RuntimeWarning
    X, y = _data()
    net = TwoLayerNet(seed=0, standardize=False)
    start = gather(net.params)
    with pytest.raises(TrainingDiverged, match="epoch 1"):
        train(net, X, y, lr=1e300, epochs=3, seed=0)
    np.testing.assert_array_equal(gather(net.params), start)


def test_chunk_rows_must_be_a_positive_integer():
    net = _net(standardize=False)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="chunk_rows"):
            Engine(net, _sgd(net), chunk_rows=bad)
