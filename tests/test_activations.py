import warnings

import numpy as np
import pytest

from checking.checker import check_layer
from layers import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh, log_softmax, softmax

from .conftest import away_from_zero

SHAPES = [(1, 1), (1, 3), (4, 3), (7, 5), (2, 3, 4)]


@pytest.mark.parametrize("shape", SHAPES)
def test_relu_forward_backward_closed_form(rng, shape):
    x, g = rng.standard_normal(shape), rng.standard_normal(shape)
    relu = ReLU()
    np.testing.assert_array_equal(relu.forward(x), np.maximum(0, x))
    dx = relu.backward(g)
    np.testing.assert_array_equal(dx, np.where(x > 0, g, 0.0))
    assert dx.shape == x.shape


def test_relu_gradient_is_exactly_zero_at_zero():
    relu = ReLU()
    relu.forward(np.array([[-1.0, 0.0, 2.0]]))
    np.testing.assert_array_equal(relu.backward(np.array([[5.0, 5.0, 5.0]])), [[0.0, 0.0, 5.0]])


@pytest.mark.parametrize("shape", SHAPES)
def test_relu_matches_finite_differences_away_from_kink(rng, shape):
    report = check_layer(ReLU(), away_from_zero(rng, shape))
    assert report.passed and report.row("x").max_rel_error < 1e-7 and report.row("x").n_kinks == 0


def test_relu_on_the_kink_is_reported_as_kink_not_failure():
    x = np.array([[0.0, 1.0, -1.0]])
    report = check_layer(ReLU(), x)
    assert report.passed
    assert report.row("x").n_kinks == 1


@pytest.mark.parametrize("shape", SHAPES)
def test_sigmoid_forward_backward_closed_form(rng, shape):
    x, g = rng.standard_normal(shape) * 3, rng.standard_normal(shape)
    sig = Sigmoid()
    s = 1 / (1 + np.exp(-x))
    np.testing.assert_allclose(sig.forward(x), s, rtol=1e-14)
    np.testing.assert_allclose(sig.backward(g), g * s * (1 - s), rtol=1e-12)


@pytest.mark.parametrize("shape", SHAPES)
def test_sigmoid_matches_finite_differences(rng, shape):
    report = check_layer(Sigmoid(), rng.standard_normal(shape) * 2)
    assert report.passed and report.row("x").max_rel_error < 1e-7


def test_sigmoid_is_stable_at_plus_minus_1000():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        y = Sigmoid().forward(np.array([-1000.0, 0.0, 1000.0]))
    np.testing.assert_array_equal(y, [0.0, 0.5, 1.0])


def test_sigmoid_backward_reads_only_the_cached_output():
    sig = Sigmoid()
    y = sig.forward(np.array([0.3]))
    assert sig.cache is y


# ---------------------------------------------------------------- Tanh


@pytest.mark.parametrize("shape", SHAPES)
def test_tanh_forward_and_derivative_one_minus_tanh_squared(rng, shape):
    x, g = rng.standard_normal(shape) * 2, rng.standard_normal(shape)
    tanh = Tanh()
    t = (np.exp(x) - np.exp(-x)) / (np.exp(x) + np.exp(-x))
    np.testing.assert_allclose(tanh.forward(x), t, rtol=1e-13)
    np.testing.assert_allclose(tanh.backward(g), g * (1 - np.tanh(x) ** 2), rtol=1e-12)
    assert tanh.cache is not None and np.array_equal(tanh.cache, np.tanh(x))  # the output is cached


@pytest.mark.parametrize("shape", SHAPES)
def test_tanh_matches_finite_differences(rng, shape):
    report = check_layer(Tanh(), rng.standard_normal(shape) * 2)
    assert report.passed and report.row("x").max_rel_error < 1e-7


class _TanhForgotTheSquare(Tanh):
    def backward(self, upstream):
        return upstream * (1 - self.cache)  # wrong: 1 − y instead of 1 − y²


def test_checker_catches_a_broken_tanh_backward(rng):
    assert not check_layer(_TanhForgotTheSquare(), rng.standard_normal((4, 3))).passed


# ---------------------------------------------------------------- LeakyReLU


@pytest.mark.parametrize("shape", SHAPES)
def test_leaky_relu_closed_form(rng, shape):
    x, g = rng.standard_normal(shape), rng.standard_normal(shape)
    layer = LeakyReLU(0.2)
    np.testing.assert_array_equal(layer.forward(x), np.where(x > 0, x, 0.2 * x))
    np.testing.assert_array_equal(layer.backward(g), np.where(x > 0, g, 0.2 * g))


def test_leaky_relu_takes_the_left_slope_at_zero_and_never_kills_the_gradient():
    layer = LeakyReLU(0.1)
    layer.forward(np.array([[-1.0, 0.0, 2.0]]))
    np.testing.assert_allclose(layer.backward(np.array([[5.0, 5.0, 5.0]])), [[0.5, 0.5, 5.0]], rtol=1e-15)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("alpha", [0.01, 0.3])
def test_leaky_relu_matches_finite_differences_away_from_kink(rng, shape, alpha):
    report = check_layer(LeakyReLU(alpha), away_from_zero(rng, shape))
    assert report.passed and report.row("x").max_rel_error < 1e-7 and report.row("x").n_kinks == 0


def test_leaky_relu_exposes_the_kink_like_relu():
    x = np.array([[0.0, 1.0, -1.0]])
    layer = LeakyReLU()
    layer.forward(x)
    relu = ReLU()
    relu.forward(x)
    np.testing.assert_array_equal(layer.kink_state(), relu.kink_state() > 0)
    report = check_layer(LeakyReLU(), x)
    assert report.passed and report.row("x").n_kinks == 1


class _LeakyReLUWithReLUsBackward(LeakyReLU):
    def backward(self, upstream):
        return upstream * self.cache  # wrong: slope 0 instead of alpha for x ≤ 0


def test_checker_catches_a_broken_leaky_relu_backward(rng):
    assert not check_layer(_LeakyReLUWithReLUsBackward(0.1), away_from_zero(rng, (4, 3))).passed


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5, np.nan, np.inf, True, "0.1x", None])
def test_leaky_relu_refuses_slopes_outside_0_1(alpha):
    with pytest.raises(ValueError, match="alpha"):
        LeakyReLU(alpha)


# ---------------------------------------------------------------- Softmax

SOFTMAX_SHAPES = [(1, 1), (1, 4), (5, 3), (8, 10)]


def softmax_jacobian(p_row):
    """The explicit K×K Jacobian of one softmax row, diag(p) − p pᵀ."""
    return np.diag(p_row) - np.outer(p_row, p_row)


@pytest.mark.parametrize("shape", SOFTMAX_SHAPES)
def test_softmax_forward_closed_form(rng, shape):
    x = rng.standard_normal(shape) * 3
    p = Softmax().forward(x)
    e = np.exp(x)
    np.testing.assert_allclose(p, e / e.sum(axis=1, keepdims=True), rtol=1e-13)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(log_softmax(x), np.log(e / e.sum(axis=1, keepdims=True)), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("shape", SOFTMAX_SHAPES)
def test_softmax_backward_is_the_explicit_jacobian_times_upstream(rng, shape):
    x, g = rng.standard_normal(shape) * 2, rng.standard_normal(shape)
    layer = Softmax()
    p = layer.forward(x)
    explicit = np.stack([softmax_jacobian(p[i]).T @ g[i] for i in range(shape[0])])
    np.testing.assert_allclose(layer.backward(g), explicit, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("shape", [(1, 1), (1, 4), (5, 3), (3, 5)])
def test_softmax_matches_finite_differences(rng, shape):
    # Small K on purpose: an entry p_j (g_j − g·p) can cancel to ~1e-5, where the centred difference's
    # own noise (~3e-11 absolute) exceeds 1e-7 relative; the explicit-Jacobian test covers K = 10.
    report = check_layer(Softmax(), rng.standard_normal(shape))
    assert report.passed and report.row("x").max_rel_error < 1e-7


class _SoftmaxWithoutTheOffDiagonal(Softmax):
    def backward(self, upstream):
        return self.cache * upstream  # wrong: diag(p) only, the − p pᵀ part dropped


def test_checker_catches_a_broken_softmax_backward(rng):
    assert not check_layer(_SoftmaxWithoutTheOffDiagonal(), rng.standard_normal((4, 3))).passed


def test_softmax_is_stable_at_plus_minus_1000(rng):
    x = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0], [-1000.0, -1000.0, -1000.0]])
    layer = Softmax()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        p = layer.forward(x)
        dx = layer.backward(rng.standard_normal(x.shape))
        log_p = log_softmax(x)
    assert np.isfinite(p).all() and np.isfinite(dx).all() and np.isfinite(log_p).all()
    np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_array_equal(p[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(p[2], 1 / 3, rtol=1e-15)
    np.testing.assert_allclose(log_p[1, 2], -np.log1p(np.e), rtol=1e-14)  # log of e^999 / (e^1000 + e^999)


def test_softmax_is_shift_invariant_and_the_helpers_agree(rng):
    x = rng.standard_normal((3, 4))
    np.testing.assert_allclose(softmax(x + 500.0), softmax(x), rtol=1e-12)
    np.testing.assert_allclose(np.exp(log_softmax(x)), softmax(x), rtol=1e-14)
    np.testing.assert_array_equal(Softmax().forward(x), softmax(x))


@pytest.mark.parametrize("shape", [(4,), (2, 3, 4), (0, 3), (3, 0)])
def test_softmax_wants_a_non_empty_matrix(shape):
    with pytest.raises(ValueError, match=r"\(N, K\)|empty|at least one"):
        Softmax().forward(np.zeros(shape))
