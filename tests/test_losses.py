import inspect
import warnings

import numpy as np
import pytest
from scipy.special import expit

from checking.checker import check_layer, rel_error
from layers import (
    BCELoss,
    CrossEntropyLoss,
    MSELoss,
    Sigmoid,
    SigmoidBCELoss,
    Softmax,
    SoftmaxCrossEntropyLoss,
)

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
@pytest.mark.parametrize("label,shown", [(2, "2"), (-1, "-1"), (0.5, "0.5"), (np.nan, "nan")])
def test_labels_outside_0_1(loss, label, shown):
    with pytest.raises(ValueError, match=rf"only 0 and 1, found {shown}(\.0)? at index \(1,\)"):
        loss.forward(np.array([0.5, 0.5]), np.array([0, label]))


@pytest.mark.parametrize("loss", [BCELoss(), SigmoidBCELoss()])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_inputs(loss, bad):
    with pytest.raises(ValueError, match="finite") as info:
        loss.forward(np.array([0.5, bad]), np.array([0, 1]))
    assert "at index (1,)" in str(info.value)  # the index as plain integers, not np.int64(1)


def test_bce_refuses_values_outside_0_1():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        BCELoss().forward(np.array([1.5]), np.array([1]))


@pytest.mark.parametrize("loss", [BCELoss(), SigmoidBCELoss()])
def test_empty_batch(loss):
    with pytest.raises(ValueError, match="empty"):
        loss.forward(np.zeros((0, 1)), np.zeros((0, 1)))


@pytest.mark.parametrize("dtype", [np.int8, np.int64, np.uint8, np.uint64])
def test_integer_labels_of_every_width_and_sign_are_judged_by_their_values(dtype):
    p = np.array([0.2, 0.7])
    expected = BCELoss().forward(p, np.array([0.0, 1.0]))
    assert BCELoss().forward(p, np.array([0, 1], dtype=dtype)) == pytest.approx(expected)
    with pytest.raises(ValueError, match=r"only 0 and 1, found 3 at index \(1,\)"):
        BCELoss().forward(p, np.array([1, 3], dtype=dtype))


def test_unsigned_labels_train_a_network():
    from model import TwoLayerNet

    X = np.random.default_rng(0).standard_normal((6, 2))
    y = np.array([0, 1, 1, 0, 1, 0], dtype=np.uint8)
    net = TwoLayerNet(hidden_dim=3, seed=0)
    assert net.loss(X, y) == pytest.approx(net.loss(X, y.astype(np.int64)))
    with pytest.raises(ValueError, match="found 255"):
        net.loss(X, np.array([0, 1, 1, 0, 1, 255], dtype=np.uint8))


def test_bool_and_float_labels_are_accepted():
    p = np.array([0.2, 0.7])
    assert BCELoss().forward(p, np.array([False, True])) == pytest.approx(BCELoss().forward(p, np.array([0.0, 1.0])))


# ---------------------------------------------------------------- multi-class cross-entropy

CLASS_SHAPES = [(1, 1), (1, 3), (4, 2), (6, 5)]


def random_probabilities(rng, shape):
    e = np.exp(rng.standard_normal(shape))
    return e / e.sum(axis=1, keepdims=True)


def onehot(y, k):
    return np.eye(k)[y]


@pytest.mark.parametrize("shape", CLASS_SHAPES)
def test_ce_forward_and_gradient_closed_form(rng, shape):
    n, k = shape
    p, y = random_probabilities(rng, shape), rng.integers(0, k, n)
    loss = CrossEntropyLoss()
    assert loss.forward(p, y) == pytest.approx(-np.mean(np.log(p[np.arange(n), y])), rel=1e-13)
    dp = loss.backward()
    np.testing.assert_allclose(dp, -onehot(y, k) / p / n, rtol=1e-13)  # nonzero only at the label
    assert dp.shape == p.shape


@pytest.mark.parametrize("shape", CLASS_SHAPES)
def test_ce_matches_finite_differences(rng, shape):
    n, k = shape
    report = check_layer(CrossEntropyLoss(), rng.uniform(0.05, 0.95, shape), y=rng.integers(0, k, n))
    assert report.passed and report.row("x").max_rel_error < 1e-7


@pytest.mark.parametrize("shape", CLASS_SHAPES)
def test_softmax_then_ce_chained_gradient_is_p_minus_onehot_over_n(rng, shape):
    n, k = shape
    z, y = rng.standard_normal(shape) * 2, rng.integers(0, k, n)
    soft, ce = Softmax(), CrossEntropyLoss()
    p = soft.forward(z)
    ce.forward(p, y)
    np.testing.assert_allclose(soft.backward(ce.backward()), (p - onehot(y, k)) / n, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("shape", CLASS_SHAPES)
def test_fused_softmax_ce_forward_gradient_and_finite_differences(rng, shape):
    n, k = shape
    z, y = rng.standard_normal(shape) * 3, rng.integers(0, k, n)
    loss = SoftmaxCrossEntropyLoss()
    e = np.exp(z)
    p = e / e.sum(axis=1, keepdims=True)
    assert loss.forward(z, y) == pytest.approx(-np.mean(np.log(p[np.arange(n), y])), rel=1e-12)
    np.testing.assert_allclose(loss.backward(), (p - onehot(y, k)) / n, rtol=1e-12, atol=1e-16)
    # Unit-scale logits for the finite differences: at scale 3 some p_j / N are ~1e-5, and the centred
    # difference's own noise (~1e-10 absolute, from rounding in ℓ) is then above 1e-7 relative.
    report = check_layer(SoftmaxCrossEntropyLoss(), z / 3, y=y)
    assert report.passed and report.row("x").max_rel_error < 1e-7


@pytest.mark.parametrize("shape", CLASS_SHAPES)
def test_fused_softmax_ce_equals_chained_where_both_are_finite(rng, shape):
    n, k = shape
    z, y = rng.uniform(-10, 10, shape), rng.integers(0, k, n)
    soft, ce, fused = Softmax(), CrossEntropyLoss(), SoftmaxCrossEntropyLoss()
    chained = ce.forward(soft.forward(z), y)
    assert fused.forward(z, y) == pytest.approx(chained, rel=1e-10)
    assert rel_error(fused.backward(), soft.backward(ce.backward())) < 1e-10


def test_fused_softmax_ce_is_stable_at_plus_minus_1000_where_the_chain_collapses():
    z, y = np.array([[1000.0, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]]), np.array([1, 2])
    fused = SoftmaxCrossEntropyLoss()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = fused.forward(z, y)
        dz = fused.backward()
    # row 0: the label logit is 2000 below the maximum; row 1: log(e^999 / (e^1000 + e^999)) = −log(1 + e)
    assert value == pytest.approx((2000.0 + np.log1p(np.e)) / 2, rel=1e-14)
    expected = np.array([[1.0, -1.0, 0.0], [0.0, expit(1.0), expit(-1.0) - 1]]) / 2
    np.testing.assert_allclose(dz, expected, rtol=1e-14, atol=1e-300)
    soft, ce = Softmax(), CrossEntropyLoss()
    ce.forward(soft.forward(z), y)
    chained = soft.backward(ce.backward())
    assert np.all(chained[0] == 0)  # softmax underflowed to exactly 0 at the label: no gradient at all


class _CEWithoutTheMean(CrossEntropyLoss):
    def backward(self, upstream=1.0):
        return super().backward(upstream) * len(self.cache[1])  # wrong: forgot the 1/N


class _FusedCEWithoutTheOnehot(SoftmaxCrossEntropyLoss):
    def backward(self, upstream=1.0):
        p, y, share = self.cache
        return p * share  # wrong: the − onehot(y) is missing


class _MSEWithoutTheTwo(MSELoss):
    def backward(self, upstream=1.0):
        return super().backward(upstream) / 2  # wrong: d(u²)/du taken as u


@pytest.mark.parametrize("broken,make_input", [
    (_CEWithoutTheMean(), lambda rng: rng.uniform(0.1, 0.9, (4, 3))),
    (_FusedCEWithoutTheOnehot(), lambda rng: rng.standard_normal((4, 3))),
])
def test_checker_catches_broken_ce_backwards(rng, broken, make_input):
    assert not check_layer(broken, make_input(rng), y=np.array([0, 2, 1, 2])).passed


def test_checker_catches_a_broken_mse_backward(rng):
    assert not check_layer(_MSEWithoutTheTwo(), rng.standard_normal((4, 2)), y=rng.standard_normal((4, 2))).passed


def test_ce_stays_finite_at_a_zero_probability_for_the_label():
    loss = CrossEntropyLoss()
    value = loss.forward(np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([1, 1]))
    eps = np.finfo(np.float64).eps
    assert value == pytest.approx(-np.log(eps) / 2, rel=1e-12)
    dp = loss.backward()
    assert np.isfinite(dp).all() and dp[0, 1] == pytest.approx(-1 / (2 * eps), rel=1e-12) and dp[1, 1] == -0.5


CLASS_LOSSES = [CrossEntropyLoss, SoftmaxCrossEntropyLoss]


@pytest.mark.parametrize("cls", CLASS_LOSSES)
@pytest.mark.parametrize("label,shown", [(3, "3"), (-1, "-1"), (1.5, "1.5"), (np.nan, "nan"), (np.inf, "inf")])
def test_bad_class_labels_are_named_with_their_index(cls, label, shown):
    y = np.array([0, label, 1])
    with pytest.raises(ValueError, match=rf"y\[1\] = {shown} .*\[0, 3\)"):
        cls().forward(np.full((3, 3), 1 / 3), y)


@pytest.mark.parametrize("cls", CLASS_LOSSES)
@pytest.mark.parametrize("y_shape", [(3, 1), (1, 3), (2,), (4,), ()])
def test_class_labels_of_the_wrong_shape_are_refused(cls, y_shape):
    with pytest.raises(ValueError, match=rf"3 class indices.*got shape {re_shape(y_shape)}"):
        cls().forward(np.full((3, 2), 0.5), np.zeros(y_shape, dtype=int))


def re_shape(shape):
    return str(shape).replace("(", r"\(").replace(")", r"\)")


@pytest.mark.parametrize("cls", CLASS_LOSSES)
def test_class_labels_must_be_numbers(cls):
    with pytest.raises(ValueError, match="integer class indices"):
        cls().forward(np.full((2, 2), 0.5), np.array(["a", "b"]))


@pytest.mark.parametrize("cls", CLASS_LOSSES)
def test_integral_float_labels_are_class_indices(cls, rng):
    p = random_probabilities(rng, (3, 4))
    assert cls().forward(p, np.array([0.0, 3.0, 2.0])) == cls().forward(p, np.array([0, 3, 2]))


@pytest.mark.parametrize("cls", CLASS_LOSSES)
@pytest.mark.parametrize("shape", [(0, 3), (3, 0), (3,), (2, 3, 1)])
def test_class_losses_want_a_non_empty_matrix(cls, shape):
    with pytest.raises(ValueError, match=r"empty|at least one|\(N, K\)"):
        cls().forward(np.zeros(shape), np.zeros(shape[:1], dtype=int))


@pytest.mark.parametrize("cls", CLASS_LOSSES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_class_losses_refuse_non_finite_inputs(cls, bad):
    with pytest.raises(ValueError, match="finite"):
        cls().forward(np.array([[0.5, bad]]), np.array([0]))


@pytest.mark.parametrize("bad", [1.5, -0.1])
def test_ce_refuses_values_outside_0_1_naming_them(bad):
    with pytest.raises(ValueError, match=rf"\[0, 1\], found {bad} at index \(1, 0\)"):
        CrossEntropyLoss().forward(np.array([[0.5, 0.5], [bad, 0.5]]), np.array([0, 1]))


def _valid_input(cls, rng):
    if cls in (CrossEntropyLoss, SoftmaxCrossEntropyLoss):
        z = rng.standard_normal((6, 3))
        return (Softmax().forward(z) if cls is CrossEntropyLoss else z), np.array([0, 2, 1, 2, 0, 1])
    z = rng.standard_normal((6, 1))
    if cls is MSELoss:
        return z, rng.standard_normal((6, 1))
    return (expit(z) if cls is BCELoss else z), np.array([[0.0], [1.0], [1.0], [0.0], [1.0], [0.0]])


@pytest.mark.parametrize("cls", [BCELoss, SigmoidBCELoss, CrossEntropyLoss, SoftmaxCrossEntropyLoss, MSELoss])
def test_check_input_false_skips_the_checks_not_the_math(rng, cls):
    out, y = _valid_input(cls, rng)
    checked, trusting = cls(), cls()
    assert trusting.forward(out, y, check_input=False) == checked.forward(out, y)
    np.testing.assert_array_equal(trusting.backward(), checked.backward())
    assert list(inspect.signature(cls.forward).parameters)[-1] == "check_input"
    assert inspect.signature(cls.forward).parameters["check_input"].default is True  # alone, a loss checks


def test_forward_refuses_what_it_cannot_compute():
    # forward, the graph's root, is the one way to a loss value, and always validates
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        CrossEntropyLoss().forward(np.array([[2.0, 0.5]]), np.array([1]))
    with pytest.raises(ValueError, match="same shape"):
        MSELoss().forward(np.array([[1.0]]), np.array([3.0]))
    with pytest.raises(ValueError, match="only 0 and 1"):
        BCELoss().forward(np.array([0.5]), np.array([2]))


# ---------------------------------------------------------------- mean squared error

MSE_SHAPES = [(1,), (1, 1), (5, 1), (4, 3), (2, 3, 2)]


@pytest.mark.parametrize("shape", MSE_SHAPES)
def test_mse_forward_backward_closed_form(rng, shape):
    pred, target = rng.standard_normal(shape), rng.standard_normal(shape)
    loss = MSELoss()
    assert loss.forward(pred, target) == pytest.approx(np.mean((pred - target) ** 2), rel=1e-13)
    np.testing.assert_allclose(loss.backward(), 2 * (pred - target) / pred.size, rtol=1e-14)
    np.testing.assert_allclose(loss.backward(3.0), 6 * (pred - target) / pred.size, rtol=1e-14)


@pytest.mark.parametrize("shape", MSE_SHAPES)
def test_mse_matches_finite_differences(rng, shape):
    report = check_layer(MSELoss(), rng.standard_normal(shape), y=rng.standard_normal(shape))
    assert report.passed and report.row("x").max_rel_error < 1e-7


@pytest.mark.parametrize("p_shape,t_shape", [((4,), (4, 1)), ((4, 1), (4,)), ((3, 2), (2, 3))])
def test_mse_refuses_different_shapes(p_shape, t_shape):
    with pytest.raises(ValueError, match=r"pred and target must have the same shape"):
        MSELoss().forward(np.zeros(p_shape), np.zeros(t_shape))


@pytest.mark.parametrize("where", ["pred", "target"])
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_mse_refuses_non_finite_values(where, bad):
    a, b = np.array([1.0, bad]), np.array([0.0, 1.0])
    pred, target = (a, b) if where == "pred" else (b, a)
    with pytest.raises(ValueError, match=f"{where} must be finite"):
        MSELoss().forward(pred, target)


def test_mse_refuses_an_empty_batch():
    with pytest.raises(ValueError, match="empty"):
        MSELoss().forward(np.zeros((0, 2)), np.zeros((0, 2)))


# ---------------------------------------------------------------- target, proba, value

ALL_LOSSES = [BCELoss, SigmoidBCELoss, CrossEntropyLoss, SoftmaxCrossEntropyLoss, MSELoss]


def test_each_loss_says_what_labels_it_takes():
    kinds = {cls: cls.target for cls in ALL_LOSSES}
    assert kinds == {BCELoss: "binary", SigmoidBCELoss: "binary", CrossEntropyLoss: "classes",
                     SoftmaxCrossEntropyLoss: "classes", MSELoss: "values"}


def test_proba_from_each_loss_input(rng):
    p, z = rng.uniform(0, 1, (4, 3)), rng.standard_normal((4, 3)) * 3
    for cls in (BCELoss, CrossEntropyLoss):
        assert cls().proba(p) is p
    np.testing.assert_allclose(SigmoidBCELoss().proba(z), 1 / (1 + np.exp(-z)), rtol=1e-14)
    soft = SoftmaxCrossEntropyLoss().proba(z)
    np.testing.assert_allclose(soft, np.exp(z) / np.exp(z).sum(axis=1, keepdims=True), rtol=1e-13)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        extreme = SoftmaxCrossEntropyLoss().proba(np.array([[1000.0, -1000.0]]))
        sig = SigmoidBCELoss().proba(np.array([1000.0, -1000.0]))
    np.testing.assert_array_equal(extreme, [[1.0, 0.0]])
    np.testing.assert_array_equal(sig, [1.0, 0.0])


def test_the_stable_forms_from_logits():
    z, y = np.array([[1000.0], [-1000.0], [0.0]]), np.array([[0], [1], [1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        bce = SigmoidBCELoss().forward(z, y)
        ce = SoftmaxCrossEntropyLoss().forward(np.array([[1000.0, -1000.0]]), np.array([1]))
    assert bce == pytest.approx((1000.0 + 1000.0 + np.log(2)) / 3, rel=1e-14)
    assert ce == 2000.0


@pytest.mark.parametrize("make", [lambda w: BCELoss(class_weight=w), lambda w: SigmoidBCELoss(class_weight=w)])
def test_class_weights_make_the_binary_mean_a_weighted_one(rng, make):
    p, y = rng.uniform(0.1, 0.9, (6, 1)), np.array([[0], [1], [1], [0], [1], [1]])
    plain, weighted, equal = make(None), make([3.0, 1.0]), make([2.0, 2.0])
    terms = np.array([plain.forward(p[i:i + 1], y[i:i + 1]) for i in range(6)])  # each sample's own loss
    w = np.where(y.ravel() == 1, 1.0, 3.0)
    assert weighted.forward(p, y) == pytest.approx((w * terms).sum() / w.sum(), rel=1e-12)
    assert equal.forward(p, y) == pytest.approx(plain.forward(p, y), rel=1e-12)
    assert check_layer(weighted, p, y=y).passed


@pytest.mark.parametrize("cls", [SoftmaxCrossEntropyLoss, CrossEntropyLoss])
def test_class_weights_make_the_multiclass_mean_a_weighted_one(rng, cls):
    z = rng.standard_normal((5, 3))
    x = z if cls is SoftmaxCrossEntropyLoss else np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
    y = np.array([0, 2, 1, 2, 2])
    loss = cls(class_weight=[1.0, 2.0, 0.5])
    terms = np.array([cls().forward(x[i:i + 1], y[i:i + 1]) for i in range(5)])
    w = np.array([1.0, 0.5, 2.0, 0.5, 0.5])
    assert loss.forward(x, y) == pytest.approx((w * terms).sum() / w.sum(), rel=1e-12)
    assert check_layer(loss, x, y=y).passed
    with pytest.raises(ValueError, match="class_weight has 3 weights for 4 classes"):
        loss.forward(np.ones((2, 4)) / 4, np.array([0, 1]))
    with pytest.raises(ValueError, match="class_weight"):
        cls(class_weight=[1.0, -1.0])


class _WeightsForgottenInBackward(SoftmaxCrossEntropyLoss):
    def backward(self, upstream=1.0):
        p, y, share = self.cache
        onehot = np.zeros_like(p)
        onehot[np.arange(len(y)), y] = 1
        return upstream * (p - onehot) / len(y)  # wrong with class weights: each row's share is not 1/N


def test_the_checker_catches_a_backward_that_forgets_the_class_weights(rng):
    z, y = rng.standard_normal((6, 3)), np.array([0, 2, 1, 2, 2, 0])
    assert check_layer(_WeightsForgottenInBackward(class_weight=[1.0, 1.0, 1.0]), z, y=y).passed  # equal weights
    assert not check_layer(_WeightsForgottenInBackward(class_weight=[1.0, 4.0, 0.5]), z, y=y).passed
