"""``Sequential``: any chain of layers and a loss, checked, trained, copied — the handout's modularity."""

import copy
import gc
import pickle

import numpy as np
import pytest
from scipy.special import expit, softmax

from checking.checker import check_model
from data import make_circles, make_moons, make_spiral
from layers import (BCELoss, LeakyReLU, Linear, MSELoss, ReLU, Sigmoid, SigmoidBCELoss, Softmax,
                    SoftmaxCrossEntropyLoss, CrossEntropyLoss, Tanh)
from model import Sequential, TwoLayerNet, build_mlp
from model.training import train


def stack_2881(seed=0):
    """The composition issue's example: a 2-8-8-1 ReLU stack built from the library's own layers."""
    rng = np.random.default_rng(seed)
    return Sequential([Linear(2, 8, rng=rng), ReLU(), Linear(8, 8, rng=rng), ReLU(), Linear(8, 1, rng=rng),
                       Sigmoid()], BCELoss())


def three_linear(weight_decay=0.1, seed=0):
    """Three Linear layers with tanh, leaky ReLU and softmax cross-entropy, plus weight decay."""
    rng = np.random.default_rng(seed)
    return Sequential([Linear(4, 6, rng=rng), Tanh(), Linear(6, 5, rng=rng), LeakyReLU(0.1),
                       Linear(5, 3, rng=rng)], SoftmaxCrossEntropyLoss(), weight_decay=weight_decay)


def test_params_are_keyed_by_layer_index_and_live():
    net = stack_2881()
    assert list(net.params) == ["0.W", "0.b", "2.W", "2.b", "4.W", "4.b"]
    assert net.params["2.W"] is net.layers[2].params["W"] and net.grads["4.b"] is net.layers[4].grads["b"]
    X = np.random.default_rng(1).standard_normal((5, 2))
    before = net.predict_proba(X)
    bias = net.params["4.b"]
    bias += 1.0  # an in-place update changes the network
    assert np.all(net.predict_proba(X) > before)
    net.layers[4].params["b"] = net.layers[4].params["b"] - 1.0  # a layer that replaces its array is seen too
    np.testing.assert_allclose(net.predict_proba(X), before, rtol=1e-12)
    assert net.params["4.b"] is net.layers[4].params["b"]


def test_the_two_layer_net_is_a_sequential():
    net = TwoLayerNet(seed=0)
    assert isinstance(net, Sequential)
    assert [type(layer).__name__ for layer in net.layers] == ["Standardize", "Linear", "ReLU", "Linear", "Sigmoid"]
    assert list(net.params) == ["w1", "w2", "b"]  # the handout's names
    assert build_mlp(2).__class__ is TwoLayerNet  # the default architecture is the handout's network


def test_a_composed_stack_trains_through_the_public_loop():
    X, y = make_circles(400, seed=0)
    net = stack_2881()
    h = train(net, X[:320], y[:320], X[320:], y[320:], optimizer="adam", lr=0.02, epochs=60, seed=0)
    assert h.final["val_acc"] >= 0.95


@pytest.mark.parametrize("make", [stack_2881, three_linear, lambda: three_linear(0.0)])
def test_composed_networks_pass_the_gradient_check(make):
    net = make()
    rng = np.random.default_rng(3)
    X = rng.standard_normal((10, net.input_dim))
    y = rng.integers(0, 2, 10) if net.target == "binary" else rng.integers(0, 3, 10)
    report = check_model(net, X, y)
    assert report.passed, report
    assert max(r.max_rel_error for r in report.rows) < 1e-7


def test_the_checker_catches_a_broken_layer_inside_a_stack():
    net = three_linear()
    net.layers[1].backward = lambda g: g  # Tanh that forgets its 1 − y² factor
    rng = np.random.default_rng(3)
    report = check_model(net, rng.standard_normal((10, 4)), rng.integers(0, 3, 10))
    assert not report.passed and report.row("0.W").verdict == "fail" and report.row("2.W").verdict == "pass"


def test_closed_forms_for_a_softmax_net_with_weight_decay():
    """Loss and gradients written out independently of the layer classes."""
    lam = 0.3
    net = three_linear(lam, seed=5)
    rng = np.random.default_rng(4)
    X, y = rng.standard_normal((7, 4)), rng.integers(0, 3, 7)
    p = net.params
    a1 = X @ p["0.W"] + p["0.b"]
    h1 = np.tanh(a1)
    a2 = h1 @ p["2.W"] + p["2.b"]
    h2 = np.where(a2 > 0, a2, 0.1 * a2)
    z = h2 @ p["4.W"] + p["4.b"]
    P = softmax(z, axis=1)
    onehot = np.eye(3)[y]
    penalty = 0.5 * lam * sum(np.sum(p[k] ** 2) for k in ("0.W", "2.W", "4.W"))
    expected_loss = -np.mean(np.log(P[np.arange(7), y])) + penalty
    dz = (P - onehot) / 7
    dW3, db3, dh2 = h2.T @ dz + lam * p["4.W"], dz.sum(0), dz @ p["4.W"].T
    da2 = dh2 * np.where(a2 > 0, 1.0, 0.1)
    dW2, db2, dh1 = h1.T @ da2 + lam * p["2.W"], da2.sum(0), da2 @ p["2.W"].T
    da1 = dh1 * (1 - h1 ** 2)
    dW1, db1, dX = X.T @ da1 + lam * p["0.W"], da1.sum(0), da1 @ p["0.W"].T
    assert net.loss(X, y) == pytest.approx(expected_loss, rel=1e-12)
    got_dX = net.backward()
    for key, want in {"0.W": dW1, "0.b": db1, "2.W": dW2, "2.b": db2, "4.W": dW3, "4.b": db3}.items():
        np.testing.assert_allclose(net.grads[key], want, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(got_dX, dX, rtol=1e-10, atol=1e-14)
    data_only = net.evaluate(X, y)["loss"]  # evaluate reports the data loss alone
    assert data_only == pytest.approx(expected_loss - penalty, rel=1e-12)


def test_weight_decay_touches_weights_not_biases():
    net = three_linear(0.5)
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    plain = three_linear(0.0)
    plain.loss(X, y), net.loss(X, y)
    plain.backward(), net.backward()
    for key in net.grads:
        extra = net.grads[key] - plain.grads[key]
        want = 0.5 * net.params[key] if key.endswith("W") else np.zeros_like(extra)
        np.testing.assert_allclose(extra, want, rtol=1e-12, atol=1e-15)


def test_fused_and_chained_heads_agree():
    rng = np.random.default_rng(2)
    X, y = rng.standard_normal((9, 4)), rng.integers(0, 3, 9)
    fused = three_linear(0.0, seed=1)
    chained = Sequential(copy.deepcopy(fused.layers) + [Softmax()], CrossEntropyLoss())
    assert fused.loss(X, y) == pytest.approx(chained.loss(X, y), rel=1e-12)
    g1 = fused.backward().copy()
    np.testing.assert_allclose(chained.backward(), g1, rtol=1e-9, atol=1e-15)
    np.testing.assert_allclose(fused.predict_proba(X), chained.predict_proba(X), rtol=1e-12)


def test_predictions_binary_and_multiclass():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((7, 4))
    multi = three_linear()
    P = multi.predict_proba(X)
    assert P.shape == (7, 3) and np.allclose(P.sum(axis=1), 1)
    np.testing.assert_array_equal(multi.predict(X), P.argmax(axis=1))
    binary = Sequential([Linear(4, 1, rng=0)], SigmoidBCELoss())
    p = binary.predict_proba(X)
    assert p.shape == (7,)
    np.testing.assert_allclose(p, expit(X @ binary.params["0.W"] + binary.params["0.b"]).ravel())
    np.testing.assert_array_equal(binary.predict(X), (p > 0.5).astype(int))


def test_a_regression_head_with_mse():
    net = Sequential([Linear(3, 4, rng=0), Tanh(), Linear(4, 2, rng=1)], MSELoss())
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((8, 3)), rng.standard_normal((8, 2))
    assert check_model(net, X, Y).passed
    assert net.evaluate(X, Y)["accuracy"] is None and net.predict(X).shape == (8, 2)


@pytest.mark.parametrize("layers_,match", [
    (lambda: [Linear(2, 16), ReLU(), Linear(8, 1), Sigmoid()],
     r"layer 2 \(Linear.*expects 8 input features.*layer 0.*gives 16"),
    (lambda: [], "at least one layer"),
    (lambda: [Linear(2, 3), "relu"], "no forward/backward"),
])
def test_layers_that_do_not_chain_are_refused(layers_, match):
    with pytest.raises(ValueError, match=match):
        Sequential(layers_(), BCELoss())


def test_probabilities_fed_logits_are_refused_at_the_loss_with_the_fused_alternative():
    net = Sequential([Linear(2, 1, rng=0)], BCELoss())
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\].*SigmoidBCELoss"):
        net.loss(np.array([[30.0, -40.0], [1.0, 2.0]]), np.array([0, 1]))


class _SigmoidPlusAHalf:
    """A learner's Sigmoid whose outputs reach 1.5: nothing but the loss's own check can see it."""

    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, x):
        self.cache = expit(x) + 0.5
        return self.cache

    def backward(self, upstream):
        return upstream * (self.cache - 0.5) * (1.5 - self.cache)


def test_the_network_skips_the_loss_checks_only_where_its_own_layer_feeds_its_loss(monkeypatch):
    X, y = np.array([[3.0, 1.0], [-1.0, 2.0]]), np.array([1, 0])
    seen = []
    forward = BCELoss.forward

    def spy(self, p, y, check_input=True):
        seen.append(check_input)
        return forward(self, p, y, check_input)

    monkeypatch.setattr(BCELoss, "forward", spy)
    net = Sequential([Linear(2, 1, rng=0), Sigmoid()], BCELoss())
    net.loss(X, y)
    net.backward()
    net.loss(X, y)
    net.loss(X[:1], y[:1])
    # the first pass of each shape looks at p; later ones trust the boundary's labels and the library's Sigmoid
    assert seen == [True, False, True]
    with pytest.raises(ValueError, match=r"\[0, 1\], found 1\.\d+"):
        Sequential([Linear(2, 1, rng=0), _SigmoidPlusAHalf()], BCELoss()).loss(X, y)
    assert seen[-1] is True


def test_a_layer_twice_is_refused_and_a_copy_is_free_to_join():
    shared = Linear(2, 2)
    with pytest.raises(ValueError, match="layer 2 is the same object as layer 0"):
        Sequential([shared, Tanh(), shared, Linear(2, 1), Sigmoid()], BCELoss())
    net = stack_2881()
    again = Sequential(copy.deepcopy(net.layers), BCELoss())
    for key in net.params:
        np.testing.assert_array_equal(again.params[key], net.params[key])
        assert again.params[key] is not net.params[key]


def test_a_shallow_copy_shares_the_layers_and_leaves_the_network_trainable():
    X, y = make_moons(200, seed=0)
    net = TwoLayerNet(hidden_dim=8, hidden_bias=True, seed=1)
    twin = copy.copy(net)
    assert all(twin.params[k] is net.params[k] for k in net.params)
    h = train(net, X, y, optimizer="adam", lr=0.05, epochs=20, seed=0)
    assert h.final["train_loss"] < 0.5


def test_astype_keeps_a_shared_dropout_generator_shared():
    from layers import Dropout

    net = build_mlp(2, hidden=(16, 16), dropout=0.5, seed=0).astype(np.float32)
    d1, d2 = [layer for layer in net.layers if isinstance(layer, Dropout)]
    assert d1.rng is d2.rng
    x = np.ones((4, 16), dtype=np.float32)
    assert not np.array_equal(d1.forward(x), d2.forward(x))


def test_softmax_head_needs_several_outputs_and_a_target():
    with pytest.raises(ValueError, match="K >= 2"):
        Sequential([Linear(2, 1)], SoftmaxCrossEntropyLoss())
    with pytest.raises(ValueError, match="no forward/backward"):
        Sequential([Linear(2, 1)], object())
    with pytest.raises(ValueError, match="weight_decay"):
        Sequential([Linear(2, 1), Sigmoid()], BCELoss(), weight_decay=-1)


@pytest.mark.parametrize("y,match", [
    (np.array([0, 1, 3, 0]), r"y\[2\] = 3 is not a class index"),
    (np.array([0, -1, 2, 0]), r"y\[1\] = -1 "),
    (np.array([0, 1.5, 2, 0]), r"y\[1\] = 1.5 "),
    (np.array([0, np.nan, 2, 0]), r"y\[1\] = nan "),
    (np.zeros((4, 1), dtype=int), r"shape \(4,\)"),
    (np.zeros(3, dtype=int), r"shape \(4,\)"),
    (np.array(["a", "b", "c", "d"]), "numeric"),
])
def test_bad_class_labels_name_the_offender(y, match):
    with pytest.raises(ValueError, match=match):
        three_linear().loss(np.ones((4, 4)), y)


@pytest.mark.parametrize("y,match", [
    (np.array([0, 1, 2]), "found 2 at index \\(2,\\)"),
    (np.array([0, 0.5, 1]), "found 0.5 at index \\(1,\\)"),
    (np.array([0, np.nan, 1]), "found nan at index \\(1,\\)"),
    (np.array([[0], [1], [1]]), r"shape \(3,\)"),  # (N, 1) is never broadcast against (N,)
])
def test_bad_binary_labels_name_the_offender(y, match):
    with pytest.raises(ValueError, match=match):
        stack_2881().loss(np.ones((3, 2)), y)


def test_backward_before_loss_or_after_a_prediction_is_refused_not_miscomputed():
    net = three_linear()
    with pytest.raises(RuntimeError, match="before loss"):
        net.backward()
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    net.loss(X, y)
    net.backward()  # allowed: the caches belong to this loss
    net.predict(rng.standard_normal((3, 4)))  # replaces the caches: no loss left to differentiate
    with pytest.raises(RuntimeError, match="before loss"):
        net.backward()
    net.loss(X, y)
    net.evaluate(rng.standard_normal((20, 4)), rng.integers(0, 3, 20))
    with pytest.raises(RuntimeError, match="before loss"):
        net.backward()


def test_kink_state_is_gathered_from_every_child():
    net = stack_2881()
    net.loss(np.ones((3, 2)), np.array([0, 1, 0]))
    state = net.kink_state()
    assert len(state) == 2 and state[0].shape == (3, 8)


@pytest.mark.parametrize("copier", [lambda n: pickle.loads(pickle.dumps(n)), copy.deepcopy])
def test_copies_stay_trainable(copier):
    """A pickled or deep-copied network names its own copies of the layers' arrays and trains."""
    X, y = make_moons(200, seed=0)
    net = copier(TwoLayerNet(hidden_dim=8, hidden_bias=True, seed=1))
    assert net.params["w1"] is net.fc1.params["W"] and net.grads["b"] is net.fc2.grads["b"]
    start = net.evaluate(X, y)["loss"]
    h = train(net, X, y, optimizer="adam", lr=0.05, epochs=20, seed=0)
    assert h.final["train_loss"] < 0.8 * start
    before = net.predict_proba(X[:5])
    net.params["b"] += 2.0  # an in-place update still changes the predictions
    assert np.all(net.predict_proba(X[:5]) > before)


def test_train_and_eval_modes_propagate():
    net = stack_2881()
    assert net.training and all(layer.training for layer in net.layers)
    net.eval()
    assert not net.training and not any(layer.training for layer in net.layers)
    net.train()
    assert all(layer.training for layer in net.layers)


def test_multiclass_end_to_end_on_a_three_arm_spiral():
    X, y = make_spiral(600, classes=3, seed=0)
    net = build_mlp(2, hidden=(32, 32), hidden_bias=True, classes=3, seed=0)
    assert isinstance(net.criterion, SoftmaxCrossEntropyLoss) and net.output_dim == 3
    order = np.random.default_rng(0).permutation(len(y))
    tr, va = order[:480], order[480:]
    h = train(net, X[tr], y[tr], X[va], y[va], optimizer="adam", lr=0.01, epochs=150, seed=0)
    assert h.final["val_acc"] >= 0.9


def test_float32_networks_stay_float32():
    net = three_linear().astype(np.float32)
    rng = np.random.default_rng(0)
    net.loss(rng.standard_normal((5, 4)), rng.integers(0, 3, 5))
    dX = net.backward()
    assert dX.dtype == np.float32 and all(p.dtype == np.float32 for p in net.params.values())
    assert all(g.dtype == np.float32 for g in net.grads.values())


def test_a_layer_or_loss_belongs_to_one_network_at_a_time():
    relu, loss = ReLU(), BCELoss()
    first = Sequential([Linear(2, 4, rng=0), relu, Linear(4, 1, rng=1), Sigmoid()], loss)
    with pytest.raises(ValueError, match=r"layer 1 \(ReLU.*already belongs to another network"):
        Sequential([Linear(2, 4, rng=0), relu, Linear(4, 1, rng=1), Sigmoid()], BCELoss())
    with pytest.raises(ValueError, match="the loss .*already belongs to another network"):
        Sequential([Linear(2, 4, rng=0), ReLU(), Linear(4, 1, rng=1), Sigmoid()], loss)
    first.release()  # given back: another network may take them
    second = Sequential([Linear(2, 4, rng=0), relu, Linear(4, 1, rng=1), Sigmoid()], loss)
    del second
    gc.collect()  # a network that is gone frees its layers too
    Sequential([Linear(2, 4, rng=0), relu, Linear(4, 1, rng=1), Sigmoid()], loss)


def test_shared_layers_can_no_longer_mix_two_networks_caches():
    """The reproduction: one ReLU in two networks, n2's forward between n1's loss and backward."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((6, 2)), rng.integers(0, 2, 6)
    n1 = Sequential([Linear(2, 4, rng=0), ReLU(), Linear(4, 1, rng=1), Sigmoid()], BCELoss())
    with pytest.raises(ValueError, match="already belongs"):
        Sequential([Linear(2, 4, rng=0), n1.layers[1], Linear(4, 1, rng=1), Sigmoid()], BCELoss())
    twin, expected = copy.deepcopy(n1), copy.deepcopy(n1)  # the way to reuse: a copy, with its own caches
    expected.loss(X, y)
    expected.backward()
    n1.loss(X, y)
    twin.loss(-X, y)
    n1.backward()
    for key in n1.grads:
        np.testing.assert_array_equal(n1.grads[key], expected.grads[key])
