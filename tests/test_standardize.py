"""The Standardize layer: standardisation's one home, fitted once, saved with the model."""

import numpy as np
import pytest

from checking.checker import check_layer
from layers.standardize import Standardize


def test_fit_gives_zero_mean_unit_variance_and_spares_constant_columns():
    X = np.c_[np.arange(5.0), np.full(5, 3.0)]
    layer = Standardize(2).fit(X)
    Z = layer.forward(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-15)
    np.testing.assert_allclose(Z[:, 0].std(), 1)
    assert layer.scale[1] == 1.0  # a constant column is not divided by zero


def test_identity_until_fitted_and_backward_divides_by_the_scale():
    layer = Standardize(3)
    X = np.random.default_rng(0).standard_normal((4, 3))
    assert layer.forward(X) is X  # unfitted: the identity, no copy
    layer.set([1.0, 2.0, 3.0], [2.0, 4.0, 0.5])
    layer.forward(X)
    g = np.ones((4, 3))
    np.testing.assert_allclose(layer.backward(g), g / [2.0, 4.0, 0.5])
    assert check_layer(layer, X).passed


def test_a_broken_backward_is_caught():
    layer = Standardize(3).set([0.0, 0.0, 0.0], [2.0, 4.0, 0.5])
    layer.backward = lambda g: g  # forgets the 1/scale
    assert not check_layer(layer, np.random.default_rng(1).standard_normal((4, 3))).passed


@pytest.mark.parametrize("mean,scale,match", [
    ([0.0, 0.0], [1.0, 1.0], "shape"),
    ([0.0, np.nan, 0.0], [1.0, 1.0, 1.0], "finite"),
    ([0.0, 0.0, 0.0], [1.0, 0.0, 1.0], "> 0"),
])
def test_bad_statistics_are_refused(mean, scale, match):
    with pytest.raises(ValueError, match=match):
        Standardize(3).set(mean, scale)


def test_bad_construction_and_fit():
    with pytest.raises(ValueError, match="positive"):
        Standardize(0)
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        Standardize(3).fit(np.ones((4, 2)))


def test_a_constant_column_keeps_scale_one_even_when_rounding_gives_it_a_tiny_spread():
    X = np.c_[np.full(7, 0.1), np.arange(7.0)]
    layer = Standardize(2).fit(X)
    assert layer.scale[0] == 1.0 and layer.mean[0] == pytest.approx(0.1)
    assert layer.scale[1] == pytest.approx(np.arange(7.0).std())
