import warnings

import numpy as np
import pytest

from gradcheck import check_layer
from layers import ReLU, Sigmoid

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
    assert report.passed and report.row("x").max_rel_error < 1e-7 and report.row("x").kinks == 0


def test_relu_on_the_kink_is_reported_as_kink_not_failure():
    x = np.array([[0.0, 1.0, -1.0]])
    report = check_layer(ReLU(), x)
    assert report.passed
    assert report.row("x").kinks == 1


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


@pytest.mark.parametrize("layer", [ReLU(), Sigmoid()])
def test_backward_before_forward(layer):
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.ones((2, 2)))


@pytest.mark.parametrize("layer", [ReLU(), Sigmoid()])
def test_upstream_shape_must_match(layer):
    layer.forward(np.ones((3, 1)))
    with pytest.raises(ValueError, match=r"\(3,\).*\(3, 1\)"):
        layer.backward(np.ones(3))
