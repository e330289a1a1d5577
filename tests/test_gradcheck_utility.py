"""The card calls gradcheck.py the gradient-check utility: its three functions import from it."""

import numpy as np

import checking.checker
from layers import Sigmoid


def test_the_utility_exports_the_checkers_functions():
    from gradcheck import check_layer, check_model, numerical_gradient

    assert (check_layer, check_model, numerical_gradient) == (
        checking.checker.check_layer, checking.checker.check_model, checking.checker.numerical_gradient)
    x = np.array([1.0, -2.0])
    np.testing.assert_allclose(numerical_gradient(lambda v: float(np.sum(v**2)), x), 2 * x, rtol=1e-8)
    assert check_layer(Sigmoid(), np.random.default_rng(0).standard_normal((3, 2))).passed
