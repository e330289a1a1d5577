"""The optimizers over parameter dictionaries, and L-BFGS over the gathered parameters."""

import numpy as np
import pytest
from scipy.special import expit

from data import make_circles
from layers import Layer, Linear, ReLU, SigmoidBCELoss
from layers.validation import ParameterError
from model import Sequential, TwoLayerNet
from model.optim import OPTIMIZERS, SGD, Adam, lbfgs, make_optimizer
from model.parameters import gather, scatter
from model.training import train


def test_one_sgd_step_worked_out_by_hand():
    # A 2-2-1 net on two points; the step below is the handout's formulas written out number by number.
    net = TwoLayerNet(hidden_dim=2, seed=0, standardize=False)
    net.params["w1"][...] = [[1.0, -1.0], [0.5, 2.0]]
    net.params["w2"][...] = [[1.0], [-2.0]]
    net.params["b"][...] = [0.5]
    X = np.array([[1.0, 2.0], [-1.0, 1.0]])
    y = np.array([1, 0])
    # forward: X @ w1 = [[2, 3], [-0.5, 3]] -> h = [[2, 3], [0, 3]] -> z = [2 - 6 + .5, 0 - 6 + .5] = [-3.5, -5.5]
    p = expit(np.array([-3.5, -5.5]))
    dz = (p - y) / 2  # steps 1+2: (p - y)/N
    dw2 = np.array([[2 * dz[0] + 0 * dz[1]], [3 * dz[0] + 3 * dz[1]]])  # step 3: h.T @ dz
    db = np.array([dz[0] + dz[1]])
    dh = np.array([[dz[0] * 1, dz[0] * -2], [dz[1] * 1, dz[1] * -2]])  # dz @ w2.T
    da = dh * np.array([[1, 1], [0, 1]])  # step 4: mask of X @ w1 > 0
    dw1 = np.array([[1 * da[0, 0] - 1 * da[1, 0], 1 * da[0, 1] - 1 * da[1, 1]],
                    [2 * da[0, 0] + 1 * da[1, 0], 2 * da[0, 1] + 1 * da[1, 1]]])  # step 5: X.T @ da
    lr = 0.3
    expected = {"w1": net.params["w1"] - lr * dw1, "w2": net.params["w2"] - lr * dw2, "b": net.params["b"] - lr * db}
    train(net, X, y, optimizer="sgd", lr=lr, epochs=1, batch_size=None, seed=0)
    for k in expected:
        np.testing.assert_allclose(net.params[k], expected[k], rtol=1e-14, atol=1e-15)


def _pair():
    params = {"a": np.array([1.0, -2.0]), "B": np.array([[0.5], [3.0]])}
    grads = {"a": np.array([0.1, 0.4]), "B": np.array([[-1.0], [2.0]])}
    return params, grads


def test_momentum_and_nesterov_at_a_constant_rate_follow_the_pytorch_formulas():
    for nesterov in (False, True):
        params, grads = _pair()
        p0 = {k: v.copy() for k, v in params.items()}
        opt = SGD(params, grads, lr=0.1, momentum=0.9, nesterov=nesterov)
        opt.step()
        opt.step()
        for k in params:
            g = grads[k]
            v1 = g
            v2 = 0.9 * v1 + g
            step1 = g + 0.9 * v1 if nesterov else v1
            step2 = g + 0.9 * v2 if nesterov else v2
            np.testing.assert_allclose(params[k], p0[k] - 0.1 * step1 - 0.1 * step2, rtol=1e-14)


def test_adam_in_place_equals_the_textbook_formula():
    params, grads = _pair()
    ref = {k: v.copy() for k, v in params.items()}
    m = {k: np.zeros_like(v) for k, v in params.items()}
    v2 = {k: np.zeros_like(v) for k, v in params.items()}
    opt = Adam(params, grads, lr=0.05)
    for t in range(1, 4):
        opt.step()
        step = 0.05 * np.sqrt(1 - 0.999**t) / (1 - 0.9**t)
        for k in ref:
            g = grads[k]
            m[k] = 0.9 * m[k] + (1 - 0.9) * g
            v2[k] = 0.999 * v2[k] + (1 - 0.999) * g * g
            ref[k] = ref[k] - step * m[k] / (np.sqrt(v2[k]) + 1e-8)
    for k in ref:
        np.testing.assert_allclose(params[k], ref[k], rtol=1e-15, atol=1e-16)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam"])
def test_updates_keep_float32(name):
    p = {"theta": np.ones(5, np.float32)}
    g = {"theta": np.full(5, 0.5, np.float32)}
    opt = make_optimizer(name, p, g, 0.1)
    opt.step()
    opt.step()
    assert p["theta"].dtype == np.float32 and np.all(p["theta"] < 1)


def test_adam_first_step_is_lr_times_sign():
    params, grads = _pair()
    p0 = {k: v.copy() for k, v in params.items()}
    Adam(params, grads, lr=0.01).step()
    for k in params:
        np.testing.assert_allclose(params[k], p0[k] - 0.01 * np.sign(grads[k]), rtol=1e-6)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam"])
def test_one_flat_vector_takes_the_same_steps_as_the_arrays(name):
    # what the engine relies on: its optimizer runs over one flat vector of every parameter
    X, y = make_circles(64, seed=0)
    a, b = TwoLayerNet(seed=1, hidden_bias=True), TwoLayerNet(seed=1, hidden_bias=True)
    opt_a = make_optimizer(name, a.params, a.grads, 0.1)
    flat, flat_grad = gather(b.params), np.zeros(sum(p.size for p in b.params.values()))
    opt_b = make_optimizer(name, {"all": flat}, {"all": flat_grad}, 0.1)
    for i in range(5):
        batch = slice(i * 8, (i + 1) * 8)
        a.loss(X[batch], y[batch])
        a.backward()
        opt_a.step()
        scatter(b.params, flat)
        b.loss(X[batch], y[batch])
        b.backward()
        flat_grad[...] = gather(b.grads)
        opt_b.step()
    np.testing.assert_allclose(gather(a.params), flat, rtol=1e-12, atol=1e-15)


class AssigningLinear(Layer):
    """``y = x @ W`` whose backward *assigns* a new gradient array (``self.grads["W"] = …``), and which
    keeps its own name for its weight (``self.W``): both must keep training with the optimizers."""

    def __init__(self, n_in, n_out, rng=0):
        super().__init__()
        self.in_features, self.out_features = n_in, n_out
        self.params = {"W": np.random.default_rng(rng).normal(size=(n_in, n_out))}
        self.grads = {"W": np.zeros((n_in, n_out))}
        self.W = self.params["W"]

    def forward(self, x):
        self.cache = x
        return x @ self.W

    def backward(self, upstream):
        self.grads["W"] = self.cache.T @ upstream  # a new array every step
        return upstream @ self.W.T


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adam"])
def test_an_optimizer_sees_a_gradient_the_layer_assigned(name):
    X, y = make_circles(32, seed=0)
    layer = AssigningLinear(2, 4)
    net = Sequential([layer, ReLU(), Linear(4, 1, rng=1)], SigmoidBCELoss())
    twin = Sequential([Linear(2, 4, bias=False, rng=5), ReLU(), Linear(4, 1, rng=1)], SigmoidBCELoss())
    twin.layers[0].params["W"][...] = layer.W  # the same network with a layer that writes in place
    opt, twin_opt = make_optimizer(name, net.params, net.grads, 0.1), make_optimizer(name, twin.params, twin.grads, 0.1)
    start = layer.W.copy()
    for _ in range(3):
        for network, optimizer in ((net, opt), (twin, twin_opt)):
            network.loss(X, y)
            network.backward()
            optimizer.step()
    assert layer.params["W"] is layer.W  # updated in place: the layer's own name still holds its weight
    assert not np.allclose(layer.W, start)
    np.testing.assert_allclose(layer.W, twin.layers[0].params["W"], rtol=1e-13)
    np.testing.assert_allclose(gather(net.params), gather(twin.params), rtol=1e-13)


def test_step_reads_the_gradient_afresh_and_updates_in_place():
    params, grads = _pair()
    a = params["a"]
    opt = SGD(params, grads, lr=0.5)
    grads["a"] = np.array([2.0, -2.0])  # assigned after the optimizer was made
    opt.step()
    assert params["a"] is a
    np.testing.assert_array_equal(a, [0.0, -1.0])


def test_like_copies_type_and_hyperparameters_not_state():
    params, grads = _pair()
    for opt in (SGD(params, grads, lr=0.2, momentum=0.5, nesterov=True), Adam(params, grads, lr=0.03, beta1=0.8)):
        opt.step()
        other = {"all": np.ones(3)}, {"all": np.full(3, 0.5)}
        copy = opt.like(*other)
        assert type(copy) is type(opt) and copy.hyperparameters() == opt.hyperparameters()
        assert copy.params is other[0] and copy.grads is other[1]
        copy.step()  # a first step of its own: from a fresh state
        fresh = type(opt)(*({"all": np.ones(3)}, {"all": np.full(3, 0.5)}), **opt.hyperparameters())
        fresh.step()
        np.testing.assert_array_equal(copy.params["all"], fresh.params["all"])


def test_lbfgs_minimises_the_loss():
    X, y = make_circles(200, seed=0)
    net = TwoLayerNet(seed=0, hidden_dim=8, hidden_bias=True)
    before = net.loss(X, y)
    result = lbfgs(net, X, y, max_iter=100)
    assert result.fun < 0.05 * before
    assert net.loss(X, y) == pytest.approx(result.fun)
    np.testing.assert_array_equal(gather(net.params), result.x)


def test_lbfgs_stops_when_the_callback_says_so_and_leaves_that_iterate():
    X, y = make_circles(200, seed=0)
    net = TwoLayerNet(seed=0, hidden_dim=8, hidden_bias=True)
    seen = []

    def callback(iteration):
        seen.append((iteration, gather(net.params), net.loss(X, y)))
        return iteration == 4

    result = lbfgs(net, X, y, max_iter=100, callback=callback)
    assert [s[0] for s in seen] == [1, 2, 3, 4]
    assert result.nit == 4 and not result.success and "callback" in result.message
    np.testing.assert_array_equal(gather(net.params), seen[-1][1])
    np.testing.assert_array_equal(result.x, seen[-1][1])
    assert result.fun == pytest.approx(seen[-1][2])


@pytest.mark.parametrize("make,param", [
    (lambda p, g: SGD(p, g, lr=0), "lr"),
    (lambda p, g: SGD(p, g, lr=np.nan), "lr"),
    (lambda p, g: SGD(p, g, lr="fast"), "lr"),
    (lambda p, g: SGD(p, g, lr=True), "lr"),
    (lambda p, g: SGD(p, g, lr=0.1, momentum=1.0), "momentum"),
    (lambda p, g: SGD(p, g, lr=0.1, momentum=-0.1), "momentum"),
    (lambda p, g: SGD(p, g, lr=0.1, nesterov=True), "nesterov"),
    (lambda p, g: Adam(p, g, lr=-1.0), "lr"),
    (lambda p, g: Adam(p, g, beta1=1.0), "beta1"),
    (lambda p, g: Adam(p, g, beta2=-0.5), "beta2"),
    (lambda p, g: Adam(p, g, eps=0.0), "eps"),
])
def test_bad_settings_are_refused_naming_the_parameter(make, param):
    params, grads = _pair()
    with pytest.raises(ParameterError) as info:
        make(params, grads)
    assert info.value.param == param and str(info.value).startswith(f"{info.value.owner}: {param} ")


def test_unknown_optimizer_and_mismatched_keys():
    params, grads = _pair()
    with pytest.raises(ParameterError, match="must be one of sgd, momentum, nesterov, adam, lbfgs, got 'rmsprop'"):
        make_optimizer("rmsprop", params, grads, 0.1)
    with pytest.raises(ParameterError, match="lbfgs"):
        make_optimizer("lbfgs", params, grads)
    with pytest.raises(ParameterError, match="keys"):
        SGD(params, {"a": grads["a"]}, lr=0.1)


def test_the_registry_names_each_optimizer_and_its_default_rate():
    assert {name: spec.default_lr for name, spec in OPTIMIZERS.items()} == {
        "sgd": 1.0, "momentum": 0.1, "nesterov": 0.1, "adam": 0.01, "lbfgs": None}
    params, grads = _pair()
    for name in ("sgd", "momentum", "nesterov", "adam"):
        opt = make_optimizer(name, params, grads)
        assert opt.lr == OPTIMIZERS[name].default_lr
    momentum = make_optimizer("nesterov", params, grads, 0.3)
    assert (type(momentum), momentum.lr, momentum.momentum, momentum.nesterov) == (SGD, 0.3, 0.9, True)
    assert type(make_optimizer("adam", params, grads)) is Adam


def test_take_state_continues_another_optimizers_state_by_copy():
    params, grads = _pair()
    first = Adam(params, grads, lr=0.05)
    first.step()
    first.lr = 0.01  # as a schedule would have set it
    other_params = {k: v.copy() for k, v in params.items()}
    later = Adam(other_params, {k: g.copy() for k, g in grads.items()}, lr=0.05)
    later.take_state(first)
    assert later.t == 1 and later.lr == 0.01
    for key in params:
        np.testing.assert_array_equal(later.m[key], first.m[key])
        assert later.m[key] is not first.m[key]  # copies: the two go on independently
    first.step()
    later.step()
    for key in params:
        np.testing.assert_array_equal(other_params[key], params[key])  # the same step as the one it continues
    with pytest.raises(TypeError, match="SGD cannot continue from a Adam"):
        SGD(*_pair(), lr=0.1, momentum=0.5).take_state(first)


def test_make_optimizer_gives_options_to_sgd_only():
    params, grads = _pair()
    opt = make_optimizer("sgd", params, grads, 0.1, momentum=0.9, nesterov=True)
    assert (opt.momentum, opt.nesterov) == (0.9, True)
    with pytest.raises(ParameterError) as caught:
        make_optimizer("adam", params, grads, 0.1, momentum=0.9)
    assert caught.value.param == "momentum" and "sgd only" in caught.value.reason


def test_take_state_from_an_sgd_without_velocity_starts_the_velocity_at_zero():
    params, grads = _pair()
    plain = SGD(params, grads, lr=0.3)
    plain.step()
    heavy = SGD(*_pair(), lr=0.1, momentum=0.9)
    heavy.take_state(plain)
    assert heavy.lr == 0.3 and all(not v.any() for v in heavy.velocity.values())
    plain.take_state(heavy)  # and back: the plain update keeps none
    assert plain.velocity is None
