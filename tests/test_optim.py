import numpy as np
import pytest
from scipy.special import expit

from data import make_circles
from model import TwoLayerNet
from model.optim import SGD, Adam, lbfgs, make_optimizer
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


def _pair(seed=0):
    params = {"a": np.array([1.0, -2.0]), "B": np.array([[0.5], [3.0]])}
    grads = {"a": np.array([0.1, 0.4]), "B": np.array([[-1.0], [2.0]])}
    return params, grads


def test_momentum_and_nesterov_follow_the_pytorch_formulas():
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
def test_flat_update_equals_per_tensor_update(name):
    X, y = make_circles(64, seed=0)
    a, b = TwoLayerNet(seed=1, hidden_bias=True), TwoLayerNet(seed=1, hidden_bias=True)
    opt_a = make_optimizer(name, a.params, a.grads, 0.1)
    opt_b = make_optimizer(name, {"theta": b.theta}, {"theta": b.grad_theta}, 0.1)
    for i in range(5):
        for net, opt in ((a, opt_a), (b, opt_b)):
            net.loss(X[i * 8:(i + 1) * 8], y[i * 8:(i + 1) * 8])
            net.backward()
            opt.step()
    np.testing.assert_allclose(a.theta, b.theta, rtol=1e-12, atol=1e-15)


def test_lbfgs_minimises_the_loss():
    X, y = make_circles(200, seed=0)
    net = TwoLayerNet(seed=0, hidden_dim=8, hidden_bias=True)
    before = net.loss(X, y)
    result = lbfgs(net, X, y, max_iter=100)
    assert result.fun < 0.05 * before
    assert net.loss(X, y) == pytest.approx(result.fun)


@pytest.mark.parametrize("kw,match", [({"lr": 0}, "learning rate"), ({"lr": np.nan}, "learning rate"),
                                      ({"momentum": 1.0}, "momentum"), ({"nesterov": True}, "Nesterov")])
def test_bad_optimizer_settings(kw, match):
    params, grads = _pair()
    with pytest.raises(ValueError, match=match):
        SGD(params, grads, **{"lr": 0.1, **kw})


def test_unknown_optimizer_and_mismatched_keys():
    params, grads = _pair()
    with pytest.raises(ValueError, match="unknown optimizer"):
        make_optimizer("rmsprop", params, grads, 0.1)
    with pytest.raises(ValueError, match="same keys"):
        SGD(params, {"a": grads["a"]})
