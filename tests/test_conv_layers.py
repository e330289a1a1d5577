"""CS231n's second-assignment layers equal an independent naive NumPy loop, forward and every gradient, to 1e-9;
the gradient checker passes each and catches a broken backward of each."""

import numpy as np
import pytest

from checking.checker import check_layer
from layers import Flatten, LayerNorm, SVMLoss
from layers.validation import ParameterError
from layers.conv import Conv2d, MaxPool2d
from layers.norm import BatchNorm2d

TOL = 1e-9


def _close(a, b):
    np.testing.assert_allclose(a, b, rtol=TOL, atol=TOL)


# ---------------------------------------------------------------- naive references: loops, as CS231n writes them


def naive_conv(x, W, b, stride, pad, dout):
    """conv_forward_naive and its backward, one window at a time."""
    n, c, h, w = x.shape
    f, _, hh, ww = W.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    hout, wout = (h + 2 * pad - hh) // stride + 1, (w + 2 * pad - ww) // stride + 1
    out = np.zeros((n, f, hout, wout))
    dxp, dW, db = np.zeros_like(xp), np.zeros_like(W), np.zeros_like(b)
    for i in range(n):
        for k in range(f):
            for r in range(hout):
                for q in range(wout):
                    window = xp[i, :, r * stride:r * stride + hh, q * stride:q * stride + ww]
                    out[i, k, r, q] = np.sum(window * W[k]) + b[k]
                    dW[k] += dout[i, k, r, q] * window
                    db[k] += dout[i, k, r, q]
                    dxp[i, :, r * stride:r * stride + hh, q * stride:q * stride + ww] += dout[i, k, r, q] * W[k]
    return out, dxp[:, :, pad:pad + h, pad:pad + w], dW, db


def naive_pool(x, k, stride, dout):
    n, c, h, w = x.shape
    hout, wout = (h - k) // stride + 1, (w - k) // stride + 1
    out, dx = np.zeros((n, c, hout, wout)), np.zeros_like(x)
    for i in range(n):
        for ch in range(c):
            for r in range(hout):
                for q in range(wout):
                    window = x[i, ch, r * stride:r * stride + k, q * stride:q * stride + k]
                    out[i, ch, r, q] = window.max()
                    a, b = divmod(int(np.argmax(window)), k)  # the first maximum
                    dx[i, ch, r * stride + a, q * stride + b] += dout[i, ch, r, q]
    return out, dx


def naive_svm(s, y):
    n, k = s.shape
    loss, ds = 0.0, np.zeros_like(s)
    for i in range(n):
        for j in range(k):
            if j == y[i]:
                continue
            margin = s[i, j] - s[i, y[i]] + 1
            if margin > 0:
                loss += margin / n
                ds[i, j] += 1 / n
                ds[i, y[i]] -= 1 / n
    return loss, ds


def naive_norm(rows, gamma, beta, eps, dout):
    """Normalise each row of ``rows`` (M, D) over its D entries, the staged graph differentiated step by step."""
    out, dx = np.zeros_like(rows), np.zeros_like(rows)
    dgamma, dbeta = np.zeros_like(gamma), np.zeros_like(beta)
    for m, (x, g) in enumerate(zip(rows, dout, strict=True)):
        mu = x.mean()
        xc = x - mu
        var = (xc**2).mean()
        std = np.sqrt(var + eps)
        xhat = xc / std
        out[m] = xhat * gamma + beta
        dbeta += g
        dgamma += g * xhat
        dxhat = g * gamma
        dxc = dxhat / std
        dstd = -(dxhat * xc).sum() / std**2
        dvar = dstd / (2 * std)
        dxc += dvar * 2 * xc / len(x)
        dx[m] = dxc - dxc.mean()
    return out, dx, dgamma, dbeta


# ---------------------------------------------------------------- equal to the naive loops


@pytest.mark.parametrize("stride, pad, size", [(1, 0, 5), (1, 1, 5), (2, 1, 7), (2, 0, 6), (3, 2, 8)])
def test_conv2d_equals_the_naive_loops(stride, pad, size):
    rng = np.random.default_rng(stride * 10 + pad)
    layer = Conv2d(3, 4, 3, stride=stride, padding=pad, rng=rng)
    layer.params["b"][...] = rng.standard_normal(4)
    x = rng.standard_normal((2, 3, size, size + 1))
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    ref = naive_conv(x, layer.params["W"], layer.params["b"], stride, pad, dout)
    for mine, theirs in zip((out, dx, layer.grads["W"], layer.grads["b"]), ref, strict=True):
        _close(mine, theirs)


def test_conv2d_without_bias_has_only_w():
    layer = Conv2d(1, 2, 2, bias=False, rng=0)
    assert list(layer.params) == ["W"] and layer.forward(np.ones((1, 1, 3, 3))).shape == (1, 2, 2, 2)


@pytest.mark.parametrize("k, stride, size", [(2, None, 6), (2, 1, 5), (3, 2, 7), (2, 2, 5)])
def test_maxpool_equals_the_naive_loops(k, stride, size):
    rng = np.random.default_rng(k)
    x = rng.standard_normal((2, 3, size, size))
    layer = MaxPool2d(k, stride)
    out = layer.forward(x)
    dout = rng.standard_normal(out.shape)
    ref_out, ref_dx = naive_pool(x, k, stride or k, dout)
    _close(out, ref_out)
    _close(layer.backward(dout), ref_dx)


def test_maxpool_routes_a_tie_to_the_first_maximum():
    x = np.array([[[[1.0, 3.0], [3.0, 2.0]]]])
    layer = MaxPool2d(2)
    assert layer.forward(x).item() == 3.0
    np.testing.assert_array_equal(layer.backward(np.ones((1, 1, 1, 1))), [[[[0, 1], [0, 0]]]])


def test_flatten_is_pytorch_order_and_reshapes_back():
    x = np.arange(24.0).reshape(2, 3, 2, 2)
    layer = Flatten()
    np.testing.assert_array_equal(layer.forward(x), x.reshape(2, 12))
    np.testing.assert_array_equal(layer.backward(np.arange(24.0).reshape(2, 12)), x)


def test_svm_loss_equals_the_naive_loops():
    rng = np.random.default_rng(3)
    s, y = rng.standard_normal((7, 5)), rng.integers(0, 5, 7)
    loss = SVMLoss()
    ref_loss, ref_ds = naive_svm(s, y)
    assert abs(loss.forward(s, y) - ref_loss) < TOL
    _close(loss.backward(), ref_ds)


@pytest.mark.parametrize("shape", [(6, 5), (2, 3, 5)])
def test_layernorm_equals_the_naive_loops(shape):
    rng = np.random.default_rng(4)
    layer = LayerNorm(5)
    layer.params["gamma"][...] = rng.standard_normal(5)
    layer.params["beta"][...] = rng.standard_normal(5)
    x = rng.standard_normal(shape) * 3 + 1
    dout = rng.standard_normal(shape)
    out, dx = layer.forward(x), layer.backward(dout)
    ref = naive_norm(x.reshape(-1, 5), layer.params["gamma"], layer.params["beta"], 1e-5, dout.reshape(-1, 5))
    _close(out, ref[0].reshape(shape))
    _close(dx, ref[1].reshape(shape))
    _close(layer.grads["gamma"], ref[2])
    _close(layer.grads["beta"], ref[3])


def test_batchnorm2d_equals_the_naive_loops_over_n_h_w():
    rng = np.random.default_rng(5)
    layer = BatchNorm2d(3)
    layer.params["gamma"][...] = rng.standard_normal(3)
    layer.params["beta"][...] = rng.standard_normal(3)
    x = rng.standard_normal((4, 3, 2, 3)) * 2 - 1
    dout = rng.standard_normal(x.shape)
    out, dx = layer.forward(x), layer.backward(dout)
    # each channel's N·H·W values are one row of the naive normalisation
    channels = x.transpose(1, 0, 2, 3).reshape(3, -1)
    ref_out, ref_dx = [], []
    for c in range(3):
        d = channels.shape[1]  # γ[c] and β[c] are shared by the channel's N·H·W values: their gradients sum
        o, dxc, dg, db = naive_norm(channels[c:c + 1], np.full(d, layer.params["gamma"][c]),
                                    np.full(d, layer.params["beta"][c]), 1e-5,
                                    dout.transpose(1, 0, 2, 3).reshape(3, -1)[c:c + 1])
        ref_out.append(o[0])
        ref_dx.append(dxc[0])
        _close(layer.grads["gamma"][c], dg.sum())
        _close(layer.grads["beta"][c], db.sum())
    _close(out, np.array(ref_out).reshape(3, 4, 2, 3).transpose(1, 0, 2, 3))
    _close(dx, np.array(ref_dx).reshape(3, 4, 2, 3).transpose(1, 0, 2, 3))
    _close(layer.running_mean, 0.1 * x.mean(axis=(0, 2, 3)))
    _close(layer.running_var, 0.9 + 0.1 * x.var(axis=(0, 2, 3)))


def test_batchnorm2d_in_eval_mode_uses_the_running_statistics():
    layer = BatchNorm2d(2).eval()
    layer.running_mean[...] = [1.0, -1.0]
    layer.running_var[...] = [4.0, 9.0]
    x = np.ones((1, 2, 2, 2))
    expected = (x - np.array([1.0, -1.0])[:, None, None]) / np.sqrt(np.array([4.0, 9.0]) + 1e-5)[:, None, None]
    _close(layer.forward(x), expected)
    _close(layer.backward(np.ones_like(x)), np.ones_like(x) / np.sqrt(np.array([4.0, 9.0]) + 1e-5)[:, None, None])


# ---------------------------------------------------------------- the checker passes each, and catches a broken one


def _cases():
    rng = np.random.default_rng(6)
    images = rng.standard_normal((2, 2, 5, 5))
    return {
        "Conv2d": (Conv2d(2, 3, 3, stride=2, padding=1, rng=0), images, None),
        "MaxPool2d": (MaxPool2d(2, 1), images, None),
        "Flatten": (Flatten(), images, None),
        "BatchNorm2d": (BatchNorm2d(2), images, None),
        "LayerNorm": (LayerNorm(5), images, None),
        "SVMLoss": (SVMLoss(), rng.standard_normal((6, 4)), rng.integers(0, 4, 6)),
    }


@pytest.mark.parametrize("name", list(_cases()))
def test_the_checker_passes_each_layer(name):
    layer, x, y = _cases()[name]
    report = check_layer(layer, x, y=y)
    assert report.passed, report


#: a slip a learner makes in each backward: the result the checker must refuse
BROKEN = {
    "Conv2d": lambda dx: dx * 0.5,  # half the scatter-add
    "MaxPool2d": lambda dx: dx + (dx != 0) * 0.1,
    "Flatten": lambda dx: dx[::-1].copy(),  # the batch reversed
    "BatchNorm2d": lambda dx: dx * 1.1,
    "LayerNorm": lambda dx: -dx,
    "SVMLoss": lambda dx: np.abs(dx),  # the true class's minus lost
}


@pytest.mark.parametrize("name", list(BROKEN))
def test_the_checker_catches_a_broken_backward_of_each_layer(name):
    layer, x, y = _cases()[name]
    right = type(layer).backward

    class Broken(type(layer)):
        def backward(self, upstream=1.0):
            return BROKEN[name](right(self, upstream))

    broken = Broken.__new__(Broken)
    broken.__dict__.update(layer.__dict__)
    report = check_layer(broken, x, y=y)
    assert not report.passed and report.rows[0].verdict == "fail"


# ---------------------------------------------------------------- refusals: one line naming what was expected


@pytest.mark.parametrize("make, param", [
    (lambda: Conv2d(0, 2, 3), "in_channels"), (lambda: Conv2d(1, 2, 3, stride=0), "stride"),
    (lambda: Conv2d(1, 2, 3, padding=-1), "padding"), (lambda: Conv2d(1, 2, True), "kernel_size"),
    (lambda: MaxPool2d(2, stride=0), "stride"), (lambda: BatchNorm2d(0), "num_features"),
    (lambda: LayerNorm(3, eps=0), "eps"),
])
def test_a_bad_setting_is_refused_naming_the_class_and_parameter(make, param):
    with pytest.raises(ParameterError) as info:
        make()
    assert info.value.param == param and info.value.owner in str(info.value)
    assert info.value.owner in ("Conv2d", "MaxPool2d", "BatchNorm2d", "LayerNorm")


@pytest.mark.parametrize("layer, shape, expected", [
    (Conv2d(3, 2, 3), (2, 4, 5, 5), r"\(N, 3, H, W\).*\(2, 4, 5, 5\)"),
    (Conv2d(3, 2, 3), (2, 75), r"\(2, 75\)"),
    (Conv2d(1, 2, 5, padding=1), (1, 1, 2, 9), "4 pixels.*kernel, 5"),
    (MaxPool2d(3), (1, 1, 2, 2), "2 pixels.*kernel, 3"),
    (BatchNorm2d(3), (4, 2, 2, 2), r"\(N, 3, H, W\).*\(4, 2, 2, 2\)"),
    (LayerNorm(4), (2, 5), r"4 features.*\(2, 5\)"),
])
def test_an_input_of_the_wrong_shape_is_refused_with_the_shapes(layer, shape, expected):
    with pytest.raises(ValueError, match=expected):
        layer.forward(np.zeros(shape))


def test_maxpool_ties_are_bracketed_as_kinks_by_the_checker():
    x = np.random.default_rng(7).integers(0, 3, (2, 2, 4, 4)).astype(float)  # many ties in each window
    report = check_layer(MaxPool2d(2), x)
    assert report.passed and report.rows[0].n_kinks > 0


def test_svm_loss_with_class_weights_is_the_weighted_mean_of_the_naive_terms():
    rng = np.random.default_rng(8)
    s, y, w = rng.standard_normal((6, 3)), np.array([0, 1, 2, 0, 1, 2]), np.array([1.0, 2.0, 0.5])
    loss = SVMLoss(class_weight=list(w))
    value, ds = loss.forward(s, y), loss.backward()
    share = w[y] / w[y].sum()
    for i in range(6):  # the naive terms of one sample, scaled from 1/1 to its share
        row_loss, row_ds = naive_svm(s[i:i + 1], y[i:i + 1])
        value -= share[i] * row_loss
        _close(ds[i], share[i] * row_ds[0])
    assert abs(value) < TOL


@pytest.mark.parametrize("make, shape", [(lambda dtype: Conv2d(2, 3, 3, padding=1, rng=0, dtype=dtype), (2, 2, 5, 5)),
                                         (lambda dtype: BatchNorm2d(2, dtype=dtype), (3, 2, 3, 3)),
                                         (lambda dtype: LayerNorm(5, dtype=dtype), (4, 5))])
def test_float32_layers_stay_float32_and_agree_with_float64(make, shape):
    x = np.random.default_rng(9).standard_normal(shape)
    layer = make(np.float32)
    out = layer.forward(x.astype(np.float32))
    dx = layer.backward(np.ones_like(out))
    assert out.dtype == dx.dtype == np.float32 and all(g.dtype == np.float32 for g in layer.grads.values())
    assert check_layer(layer, x).passed  # against its float64 twin too
