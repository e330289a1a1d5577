import numpy as np
import pytest

from gradcheck import check_layer, rel_error
from layers import BCELoss, Sigmoid, SigmoidBCELoss

SHAPES = [(1,), (1, 1), (5, 1), (16, 1), (6,)]


def bce_closed_form(p, y):
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))


@pytest.mark.parametrize("shape", SHAPES)
def test_bce_forward_and_step1_gradient(rng, shape):
    p, y = rng.uniform(0.02, 0.98, shape), rng.integers(0, 2, shape)
    loss = BCELoss()
    assert loss.forward(p, y) == pytest.approx(bce_closed_form(p, y), rel=1e-12)
    dp = loss.backward()
    n = p.size
    np.testing.assert_allclose(dp, (-(y / p) + (1 - y) / (1 - p)) / n, rtol=1e-12)
    assert dp.shape == p.shape


@pytest.mark.parametrize("shape", SHAPES)
def test_bce_matches_finite_differences(rng, shape):
    report = check_layer(BCELoss(), rng.uniform(0.05, 0.95, shape), y=rng.integers(0, 2, shape))
    assert report.passed and report.row("x").max_rel_error < 1e-7


def test_bce_upstream_scales_the_gradient(rng):
    p, y = rng.uniform(0.1, 0.9, (4, 1)), rng.integers(0, 2, (4, 1))
    loss = BCELoss()
    loss.forward(p, y)
    np.testing.assert_allclose(loss.backward(2.5), 2.5 * loss.backward(1.0), rtol=1e-15)


def test_bce_stays_finite_at_p_zero_and_one():
    loss = BCELoss()
    value = loss.forward(np.array([0.0, 1.0, 0.0, 1.0]), np.array([1, 0, 0, 1]))
    eps = np.finfo(np.float64).eps
    assert np.isfinite(value) and value == pytest.approx(-np.log(eps) / 2, rel=1e-12)
    grad = loss.backward()
    assert np.isfinite(grad).all()
    # a confident wrong answer still pushes back hard; a confident right one barely moves
    assert grad[0] < -1e14 and grad[1] > 1e14 and abs(grad[2]) < 1 and abs(grad[3]) < 1


@pytest.mark.parametrize("shape", SHAPES)
def test_fused_equals_chained_where_both_are_finite(rng, shape):
    z, y = rng.uniform(-10, 10, shape), rng.integers(0, 2, shape)
    sig, bce, fused = Sigmoid(), BCELoss(), SigmoidBCELoss()
    chained = bce.forward(sig.forward(z), y)
    assert fused.forward(z, y) == pytest.approx(chained, rel=1e-10)
    assert rel_error(fused.backward(), sig.backward(bce.backward())) < 1e-9


@pytest.mark.parametrize("shape", SHAPES)
def test_fused_matches_finite_differences_and_closed_form(rng, shape):
    z, y = rng.standard_normal(shape) * 3, rng.integers(0, 2, shape)
    assert check_layer(SigmoidBCELoss(), z, y=y).passed
    loss = SigmoidBCELoss()
    loss.forward(z, y)
    np.testing.assert_allclose(loss.backward(), (1 / (1 + np.exp(-z)) - y) / z.size, rtol=1e-12)


def test_fused_keeps_the_gradient_where_the_chained_pair_saturates():
    z, y = np.array([[50.0], [-50.0]]), np.array([[0], [1]])
    sig, bce, fused = Sigmoid(), BCELoss(), SigmoidBCELoss()
    bce.forward(sig.forward(z), y)
    chained = sig.backward(bce.backward())
    assert np.all(np.abs(chained) < 1e-5)  # collapsed: sigma saturated to 1 or ~1e-22
    assert fused.forward(z, y) == pytest.approx(50.0, rel=1e-12)
    np.testing.assert_allclose(fused.backward(), [[0.5], [-0.5]], rtol=1e-12)  # (sigma - y) / N, N = 2
    assert check_layer(SigmoidBCELoss(), z, y=y).passed


@pytest.mark.parametrize("loss", [BCELoss(), SigmoidBCELoss()])
@pytest.mark.parametrize("p_shape,y_shape", [((4,), (4, 1)), ((4, 1), (4,)), ((3, 1), (4, 1))])
def test_shape_mismatch_is_refused_not_broadcast(loss, p_shape, y_shape):
    with pytest.raises(ValueError, match="same shape"):
        loss.forward(np.full(p_shape, 0.5), np.zeros(y_shape))


@pytest.mark.parametrize("loss", [BCELoss(), SigmoidBCELoss()])
@pytest.mark.parametrize("label", [2, -1, 0.5, np.nan])
def test_labels_outside_0_1(loss, label):
    with pytest.raises(ValueError, match="only 0 and 1"):
        loss.forward(np.array([0.5, 0.5]), np.array([0, label]))


@pytest.mark.parametrize("loss", [BCELoss(), SigmoidBCELoss()])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_inputs(loss, bad):
    with pytest.raises(ValueError, match="finite"):
        loss.forward(np.array([0.5, bad]), np.array([0, 1]))


def test_bce_refuses_values_outside_0_1():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        BCELoss().forward(np.array([1.5]), np.array([1]))


@pytest.mark.parametrize("loss", [BCELoss(), SigmoidBCELoss()])
def test_empty_batch(loss):
    with pytest.raises(ValueError, match="empty"):
        loss.forward(np.zeros((0, 1)), np.zeros((0, 1)))


@pytest.mark.parametrize("loss", [BCELoss(), SigmoidBCELoss()])
def test_backward_before_forward_and_non_scalar_upstream(loss):
    with pytest.raises(RuntimeError, match="before forward"):
        loss.backward()
    loss.forward(np.array([0.5]), np.array([1]))
    with pytest.raises(ValueError, match="scalar"):
        loss.backward(np.ones(1))


def test_bool_and_float_labels_are_accepted():
    p = np.array([0.2, 0.7])
    assert BCELoss().forward(p, np.array([False, True])) == pytest.approx(BCELoss().forward(p, np.array([0.0, 1.0])))
