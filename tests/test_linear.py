import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from checking.checker import check_layer, numerical_gradient
from layers import Linear

SHAPES = [(1, 1, 1), (1, 2, 3), (3, 2, 3), (8, 5, 4), (16, 3, 1)]


@pytest.mark.parametrize("n,d_in,d_out", SHAPES)
@pytest.mark.parametrize("bias", [True, False])
def test_forward_matches_the_appendix_sum(rng, n, d_in, d_out, bias):
    layer = Linear(d_in, d_out, bias=bias, rng=0)
    if bias:
        layer.params["b"][...] = rng.standard_normal(d_out)
    x = rng.standard_normal((n, d_in))
    W = layer.params["W"]
    b = layer.params.get("b", np.zeros(d_out))
    # Y_ij = sum_k X_ik W_kj + b_j, written as loops
    expected = np.array([[sum(x[i, k] * W[k, j] for k in range(d_in)) + b[j] for j in range(d_out)] for i in range(n)])
    np.testing.assert_allclose(layer.forward(x), expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("n,d_in,d_out", SHAPES)
def test_backward_matches_the_handouts_closed_forms_and_shape_rule(rng, n, d_in, d_out):
    layer = Linear(d_in, d_out, rng=1)
    x, g = rng.standard_normal((n, d_in)), rng.standard_normal((n, d_out))
    layer.forward(x)
    dx = layer.backward(g)
    W = layer.params["W"]
    dW = np.array([[sum(x[i, k] * g[i, j] for i in range(n)) for j in range(d_out)] for k in range(d_in)])
    dxx = np.array([[sum(W[k, j] * g[i, j] for j in range(d_out)) for k in range(d_in)] for i in range(n)])
    np.testing.assert_allclose(layer.grads["W"], dW, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(layer.grads["b"], g.sum(axis=0), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(dx, dxx, rtol=1e-12, atol=1e-14)
    assert dx.shape == x.shape and layer.grads["W"].shape == W.shape and layer.grads["b"].shape == (d_out,)


@pytest.mark.parametrize("n,d_in,d_out", SHAPES)
@pytest.mark.parametrize("bias", [True, False])
def test_backward_matches_finite_differences(rng, n, d_in, d_out, bias):
    report = check_layer(Linear(d_in, d_out, bias=bias, rng=2), rng.standard_normal((n, d_in)))
    assert report.passed
    assert [r.name for r in report.rows] == ["x", "W"] + (["b"] if bias else [])
    assert max(r.max_rel_error for r in report.rows) < 1e-7


@settings(max_examples=25, deadline=None)
@given(n=st.integers(1, 6), d_in=st.integers(1, 4), d_out=st.integers(1, 4), seed=st.integers(0, 2**32 - 1))
def test_weight_gradient_matches_numerical_for_random_shapes(n, d_in, d_out, seed):
    rng = np.random.default_rng(seed)
    layer = Linear(d_in, d_out, rng=rng)
    x, g = rng.standard_normal((n, d_in)), rng.standard_normal((n, d_out))
    layer.forward(x)
    layer.backward(g)
    W = layer.params["W"]
    numeric = numerical_gradient(lambda _: float(np.sum(layer.forward(x) * g)), W)
    # f is linear in W, so the centred difference is exact up to round-off, ~eps·|f|/h ≈ 1e-10 here: an element
    # near zero (seed 620 draws one of -5.5e-4) can differ by 2e-7 relatively and still be right.
    np.testing.assert_allclose(layer.grads["W"], numeric, rtol=1e-7, atol=1e-8)


def test_he_initialisation_is_seeded_and_scaled():
    a, b = Linear(400, 300, rng=5), Linear(400, 300, rng=5)
    np.testing.assert_array_equal(a.params["W"], b.params["W"])
    assert abs(a.params["W"].std() - np.sqrt(2 / 400)) < 0.002
    assert not a.params["b"].any()


def test_no_bias_means_no_b_parameter():
    layer = Linear(2, 3, bias=False, rng=0)
    assert set(layer.params) == set(layer.grads) == {"W"}
    assert layer.params["W"].shape == (2, 3)


def test_wrong_feature_count_names_both_numbers():
    with pytest.raises(ValueError, match=r"3 features, got 2"):
        Linear(3, 4, rng=0).forward(np.ones((5, 2)))
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        Linear(3, 4, rng=0).forward(np.ones(3))
