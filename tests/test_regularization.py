import numpy as np
import pytest

from checking.checker import check_function, check_layer
from layers import BatchNorm, Dropout

# ---------------------------------------------------------------- Dropout


@pytest.mark.parametrize("p", [-0.1, 1, 1.5, np.nan, True, "half"])
def test_dropout_refuses_drop_probabilities_outside_0_1(p):
    with pytest.raises(ValueError, match="Dropout: p "):
        Dropout(p)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_keeps_a_fraction_1_minus_p_and_scales_by_its_inverse(p):
    x = np.random.default_rng(1).uniform(1, 2, (400, 50))  # no zeros: a zero output means dropped
    out = Dropout(p, rng=2).forward(x)
    kept = out != 0
    m = x.size
    assert abs(kept.mean() - (1 - p)) < 3 * np.sqrt(p * (1 - p) / m)  # within 3 standard deviations
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-15)


@pytest.mark.parametrize("p", [0.2, 0.5, 0.8])
def test_dropout_output_has_the_input_as_expectation(p):
    x = np.full((400, 50), 3.0)
    out = Dropout(p, rng=3).forward(x)
    # each element is 3/(1 − p) with probability 1 − p, else 0: mean 3, variance 9 p / (1 − p)
    assert abs(out.mean() - 3.0) < 3 * np.sqrt(9 * p / (1 - p) / x.size)


def test_dropout_draws_a_fresh_mask_each_forward_from_its_own_generator():
    x = np.ones((20, 10))
    layer = Dropout(0.5, rng=4)
    state = layer.rng.bit_generator.state
    first = layer.forward(x)
    assert not np.array_equal(layer.forward(x), first)  # a new mask
    layer.rng.bit_generator.state = state
    np.testing.assert_array_equal(layer.forward(x), first)  # the same generator state, the same mask
    np.testing.assert_array_equal(Dropout(0.5, rng=4).forward(x), first)


def test_dropout_backward_reuses_the_forward_mask(rng):
    x, g = rng.uniform(1, 2, (30, 8)), rng.standard_normal((30, 8))
    layer = Dropout(0.4, rng=5)
    out = layer.forward(x)
    mask = out / x
    state = layer.rng.bit_generator.state
    np.testing.assert_allclose(layer.backward(g), g * mask, rtol=1e-15)
    assert layer.rng.bit_generator.state == state  # backward draws nothing: it reads the cached mask
    layer.eval()  # a mode switch between forward and backward does not change what forward did
    np.testing.assert_allclose(layer.backward(g), g * mask, rtol=1e-15)


def test_dropout_eval_mode_is_a_deterministic_identity(rng):
    x, g = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    layer = Dropout(0.5, rng=6).eval()
    state = layer.rng.bit_generator.state
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.forward(x), x)
    np.testing.assert_array_equal(layer.backward(g), g)
    assert layer.rng.bit_generator.state == state  # no random numbers drawn
    assert check_layer(layer, x).passed


def test_dropout_with_p_zero_is_the_identity_in_both_modes(rng):
    x, g = rng.standard_normal((6, 4)), rng.standard_normal((6, 4))
    for layer in (Dropout(0.0), Dropout(0.0).eval()):
        np.testing.assert_array_equal(layer.forward(x), x)
        np.testing.assert_array_equal(layer.backward(g), g)


def _dropout_gradient_check(layer, x, g):
    """``check_function`` on ``sum(forward(x) · g)`` with the mask fixed by restoring ``layer.rng``'s
    state before every forward: what the checker's own generator snapshotting will do."""
    state = layer.rng.bit_generator.state

    def f():
        layer.rng.bit_generator.state = state
        return float(np.sum(layer.forward(x) * g))

    f()
    analytic = {"x": layer.backward(g)}
    return check_function(f, {"x": x}, analytic, check="Dropout")


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_matches_finite_differences_with_the_mask_fixed(rng, p):
    x, g = rng.standard_normal((8, 5)), rng.standard_normal((8, 5))
    report = _dropout_gradient_check(Dropout(p, rng=7), x, g)
    assert report.passed and report.row("x").max_rel_error < 1e-7


class _DropoutForgotTheScale(Dropout):
    def backward(self, upstream):
        return upstream * (self.cache != 0)  # wrong: the 1/(1 − p) of the forward pass is missing


def test_checker_catches_a_broken_dropout_backward(rng):
    x, g = rng.standard_normal((8, 5)), rng.standard_normal((8, 5))
    assert not _dropout_gradient_check(_DropoutForgotTheScale(0.5, rng=7), x, g).passed


# ---------------------------------------------------------------- BatchNorm


def batchnorm_staged(x, gamma, beta, eps):
    """The training-mode forward as a graph of small nodes; returns the output and the saved values."""
    n = x.shape[0]
    mu = x.sum(axis=0) / n                 # mean
    xc = x - mu                            # centred
    var = (xc * xc).sum(axis=0) / n        # (biased) variance
    istd = 1 / np.sqrt(var + eps)          # inverse std
    xhat = xc * istd                       # normalised
    scaled = gamma * xhat                  # scale
    out = scaled + beta                    # shift
    return out, (xc, var, istd, xhat, gamma, eps)


def batchnorm_staged_backward(g, saved):
    """The same graph backwards, node by node (upstream × local at each); returns dx, dgamma, dbeta."""
    xc, var, istd, xhat, gamma, eps = saved
    n = xc.shape[0]
    # shift, out = scaled + beta (beta broadcast over the batch): an add gate
    dbeta = g.sum(axis=0)
    dscaled = g
    # scale, scaled = gamma * xhat: a multiply gate
    dgamma = (dscaled * xhat).sum(axis=0)
    dxhat = dscaled * gamma
    # normalised, xhat = xc * istd: a multiply gate; istd is broadcast, so its gradient is summed
    distd = (dxhat * xc).sum(axis=0)
    dxc = dxhat * istd
    # inverse std, istd = (var + eps)^(−1/2)
    dvar = distd * (-0.5) * (var + eps) ** -1.5
    # variance, var = (1/N) Σ xc²: each xc gets 2 xc / N; xc is used twice, so the gradients add (copy)
    dxc = dxc + dvar * 2 * xc / n
    # centred, xc = x − mu: an add gate with −1 on mu, which is broadcast (summed)
    dmu = -dxc.sum(axis=0)
    dx = dxc
    # mean, mu = (1/N) Σ x: each x gets 1/N; x is used twice (copy), so the gradients add
    dx = dx + dmu / n
    return dx, dgamma, dbeta


def _batchnorm(rng, d=4, **kw):
    layer = BatchNorm(d, **kw)
    layer.params["gamma"][...] = rng.uniform(0.5, 2.0, d)
    layer.params["beta"][...] = rng.standard_normal(d)
    return layer


def _close(a, b, tol=1e-12):
    """Agreement relative to the size of the gradient: |a − b| ≤ tol · max |b| everywhere."""
    return np.max(np.abs(a - b)) <= tol * np.max(np.abs(b))


@pytest.mark.parametrize("shape", [(2, 1), (5, 3), (16, 4)])
def test_batchnorm_training_forward_normalises_with_the_biased_batch_variance(rng, shape):
    x = rng.standard_normal(shape) * 3 + 5
    layer = BatchNorm(shape[1], eps=1e-5)
    out = layer.forward(x)
    expected = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + 1e-5)  # np.var is the biased one
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)


def test_batchnorm_matches_the_staged_graph(rng):
    x, g = rng.standard_normal((10, 4)) * 2 + 1, rng.standard_normal((10, 4))
    layer = _batchnorm(rng)
    out = layer.forward(x)
    staged_out, saved = batchnorm_staged(x, layer.params["gamma"], layer.params["beta"], layer.eps)
    assert _close(out, staged_out)
    dx = layer.backward(g)
    sdx, sdgamma, sdbeta = batchnorm_staged_backward(g, saved)
    assert _close(dx, sdx) and _close(layer.grads["gamma"], sdgamma) and _close(layer.grads["beta"], sdbeta)


@pytest.mark.parametrize("shape", [(2, 1), (5, 3), (8, 4)])
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_batchnorm_matches_finite_differences(rng, shape, mode):
    layer = _batchnorm(rng, shape[1])
    layer.forward(rng.standard_normal((6, shape[1])))  # running statistics that are not 0 and 1
    layer.train(mode == "train")
    report = check_layer(layer, rng.standard_normal(shape) * 2 + 1)  # seeded standard-normal upstream
    assert report.passed and {r.name for r in report.rows} == {"x", "gamma", "beta"}
    assert max(r.max_rel_error for r in report.rows) < 1e-7


class _BatchNormWithoutTheVarianceTerm(BatchNorm):
    def backward(self, upstream):
        super().backward(upstream)  # dγ and dβ stay right
        x_hat, inv_std, _ = self.cache
        dx_hat = upstream * self.params["gamma"]
        return inv_std * (dx_hat - dx_hat.mean(axis=0))  # wrong: − x̂ · mean(dx̂ · x̂) dropped


def test_checker_catches_a_broken_batchnorm_backward_but_only_with_a_non_uniform_upstream(rng):
    x = rng.standard_normal((8, 3)) * 2 + 1
    broken = _BatchNormWithoutTheVarianceTerm(3)
    report = check_layer(broken, x, upstream=rng.standard_normal((8, 3)))
    assert not report.passed and report.row("x").verdict == "fail"
    assert report.row("gamma").verdict == report.row("beta").verdict == "pass"
    # With an all-ones upstream the sum of the outputs is N·Σβ whatever x is, so dℓ/dx ≈ 0 and both
    # subtracted means cancel dx̂ exactly: the correct and the broken backward both return ~0, and no
    # check with that upstream could tell them apart.
    ones = np.ones((8, 3))
    right, wrong = BatchNorm(3), _BatchNormWithoutTheVarianceTerm(3)
    right.forward(x)
    wrong.forward(x)
    assert np.max(np.abs(right.backward(ones))) < 1e-14
    assert np.max(np.abs(wrong.backward(ones))) < 1e-14


def test_batchnorm_running_statistics_are_updated_in_place_the_cs231n_way(rng):
    layer = BatchNorm(3, momentum=0.8)
    mean_buf, var_buf = layer.running_mean, layer.running_var
    assert mean_buf is layer.buffers["running_mean"] and var_buf is layer.buffers["running_var"]
    expected_mean, expected_var = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = rng.standard_normal((7, 3)) * 2 + 3
        layer.forward(x)
        expected_mean = 0.8 * expected_mean + 0.2 * x.mean(axis=0)
        expected_var = 0.8 * expected_var + 0.2 * x.var(axis=0)  # biased
    np.testing.assert_allclose(layer.running_mean, expected_mean, rtol=1e-14)
    np.testing.assert_allclose(layer.running_var, expected_var, rtol=1e-14)
    assert layer.running_mean is mean_buf and layer.buffers["running_var"] is var_buf  # the same arrays


def test_batchnorm_eval_mode_uses_the_running_statistics_and_leaves_them_alone(rng):
    layer = _batchnorm(rng, 3)
    layer.running_mean[...] = [1.0, -2.0, 0.5]
    layer.running_var[...] = [4.0, 0.25, 1.0]
    layer.eval()
    x, g = rng.standard_normal((5, 3)), rng.standard_normal((5, 3))
    gamma, beta, eps = layer.params["gamma"], layer.params["beta"], layer.eps
    scale = gamma / np.sqrt(layer.running_var + eps)
    np.testing.assert_allclose(layer.forward(x), (x - layer.running_mean) * scale + beta, rtol=1e-13)
    np.testing.assert_allclose(layer.backward(g), g * scale, rtol=1e-13)  # just the affine map
    np.testing.assert_array_equal(layer.running_mean, [1.0, -2.0, 0.5])
    np.testing.assert_array_equal(layer.running_var, [4.0, 0.25, 1.0])
    layer.forward(x[:1])  # one sample is fine in eval mode


def test_batchnorm_refuses_a_single_sample_in_training_mode():
    with pytest.raises(ValueError, match="batch of 1 sample"):
        BatchNorm(3).forward(np.ones((1, 3)))


@pytest.mark.parametrize("shape,got", [((4, 3), "got 3 features"), ((4,), r"shape \(4,\)"), ((2, 2, 2), "shape")])
def test_batchnorm_says_how_many_features_it_expected_and_got(shape, got):
    with pytest.raises(ValueError, match=rf"\(N, 2\).*2 features.*{got}"):
        BatchNorm(2).forward(np.ones(shape))


def test_batchnorm_refuses_an_empty_batch():
    with pytest.raises(ValueError, match="empty"):
        BatchNorm(2).forward(np.ones((0, 2)))


@pytest.mark.parametrize("kw,match", [
    ({"num_features": 0}, "num_features"), ({"num_features": 2.5}, "num_features"),
    ({"num_features": True}, "num_features"), ({"num_features": 3, "momentum": 1.5}, "momentum"),
    ({"num_features": 3, "momentum": -0.1}, "momentum"), ({"num_features": 3, "eps": 0}, "eps"),
    ({"num_features": 3, "eps": np.nan}, "eps"),
])
def test_batchnorm_refuses_bad_arguments(kw, match):
    with pytest.raises(ValueError, match=match):
        BatchNorm(**kw)


def test_batchnorm_initial_state():
    layer = BatchNorm(3)
    np.testing.assert_array_equal(layer.params["gamma"], np.ones(3))
    np.testing.assert_array_equal(layer.params["beta"], np.zeros(3))
    np.testing.assert_array_equal(layer.running_mean, np.zeros(3))
    np.testing.assert_array_equal(layer.running_var, np.ones(3))
    assert sorted(layer.buffers) == ["running_mean", "running_var"] and layer.eps == 1e-5
