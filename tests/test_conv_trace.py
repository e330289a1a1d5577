"""``gradcheck.py --trace conv`` (issue 28): a 4×4 image through one 2×2 filter, gate by gate, with Conv2d's own
numbers, the naive loops and centred differences; its picture; and its checks catching a broken layer."""

import re

import numpy as np
import pytest

import gradcheck
import traces.conv as conv_trace
from checking.checker import numerical_gradient
from layers import Conv2d
from traces.conv import BIAS, FILTER, IMAGE, UPSTREAM, conv_graph, scatter_back, trace_conv, windows_over
from traces.svg import graph_svg

from .test_svg import numbers_match


def _library(image=IMAGE, kernel=FILTER, bias=BIAS, upstream=UPSTREAM):
    """out (H', W'), dx, dW and db of a fresh Conv2d at these numbers."""
    conv = Conv2d(1, 1, 2)
    conv.params["W"][...] = kernel
    conv.params["b"][...] = bias
    out = conv.forward(image[None, None])
    dx = conv.backward(upstream[None, None])
    return out[0, 0], dx[0, 0], conv.grads["W"][0, 0], conv.grads["b"]


def test_the_traced_numbers_are_conv2ds_forward_and_backward():
    g = conv_graph()
    out, dx, dW, db = _library()
    np.testing.assert_array_equal(g.value("out"), out)
    np.testing.assert_array_equal(g.grad("x"), dx)
    np.testing.assert_array_equal(g.grad("W"), dW)
    np.testing.assert_array_equal(g.grad("b"), db)
    assert g.value("patches").shape == (9, 4) and g.grad("patches").shape == (9, 4)
    np.testing.assert_array_equal(g.value("patches")[4], IMAGE[1:3, 1:3].ravel())  # window (1, 1), row by row
    np.testing.assert_array_equal(g.grad("patches"), UPSTREAM.reshape(-1, 1) @ FILTER.reshape(1, -1))
    assert float(g.value("ℓ")) == np.sum(out * UPSTREAM)


def test_the_traced_gradients_are_the_centred_differences_of_the_loss():
    g = conv_graph()

    def loss_of_x(x):
        return float(np.sum(_library(image=x.reshape(4, 4))[0] * UPSTREAM))

    def loss_of_w(w):
        return float(np.sum(_library(kernel=w.reshape(2, 2))[0] * UPSTREAM))

    np.testing.assert_allclose(numerical_gradient(loss_of_x, IMAGE.ravel().copy()), g.grad("x").ravel(), atol=1e-8)
    np.testing.assert_allclose(numerical_gradient(loss_of_w, FILTER.ravel().copy()), g.grad("W").ravel(), atol=1e-8)
    assert float(g.grad("b")[0]) == UPSTREAM.sum()


def test_the_numbers_are_small_integers_a_learner_can_follow_by_hand():
    g = conv_graph()
    for name in ("x", "W", "b", "patches", "out"):
        assert np.array_equal(g.value(name), np.round(g.value(name))), name
    for name in ("x", "W", "b", "patches", "out"):
        assert np.array_equal(g.grad(name), np.round(g.grad(name))), name


def test_the_scatter_adds_overlapping_windows_and_says_which_cover_each_pixel():
    cover = windows_over((4, 4))
    assert cover[0, 0] == [(0, 0)] and cover[1, 1] == [(0, 0), (0, 1), (1, 0), (1, 1)] and len(cover[0, 2]) == 2
    dpatches = np.ones((9, 4))
    np.testing.assert_array_equal(scatter_back(dpatches, (4, 4)),
                                  [[len(cover[i, j]) for j in range(4)] for i in range(4)])


def test_the_trace_walks_the_gates_forward_then_backward_and_ends_confirmed():
    text, ok = trace_conv()
    assert ok
    order = ["copy gate: gather the patches", "multiply gate on matrices (Linear's forward)", "add the bias",
             "upstream dℓ/dout (3, 3)", "dℓ/db = Σ upstream = 5", "dℓ/dW = upstreamᵀ · X", "dℓ/dX = upstream · W",
             "copy gate backward", "How many windows cover each pixel", "dℓ/dx (4, 4) =", "Check by the naive loops",
             "Check by centred differences"]
    places = [text.index(step) for step in order]
    assert places == sorted(places)
    assert "window (1, 1) = x[1:3, 1:3] -> row 4: [1, 3, 0, 1]" in text
    assert re.search(r"dℓ/dx\[1, 1\] = dX\[0, 3\] \+ dX\[1, 2\] \+ dX\[3, 1\] \+ dX\[4, 0\]\n\s+= 1 \+ 4 \+ 0 \+ 1 = 6",
                     text)
    assert text.count("✓") == 4 and "✗" not in text


def _broken_conv(monkeypatch, backward):
    """Conv2d with ``backward`` in place of its own, inside the trace."""
    monkeypatch.setattr(conv_trace, "Conv2d", type("Conv2d", (Conv2d,), {"backward": backward}))


def test_the_trace_catches_a_scatter_that_overwrites_instead_of_adding(monkeypatch):
    def overwriting(self, upstream):
        dx = Conv2d.backward(self, upstream)  # fills dW and db as the library does
        patches_grad = upstream.reshape(-1, 1) @ self.params["W"].reshape(1, -1)
        dx = np.zeros_like(dx)
        for row, patch in enumerate(patches_grad):
            r, c = divmod(row, 3)
            dx[0, 0, r:r + 2, c:c + 2] = patch.reshape(2, 2)  # = where += belongs: a later window wins
        return dx

    _broken_conv(monkeypatch, overwriting)
    text, ok = trace_conv()
    assert not ok and "out and dℓ/dx the same ✗" in text and re.search(r"dℓ/dx .*✗", text)


def test_the_trace_catches_a_filter_gradient_that_is_not_the_centred_difference(monkeypatch):
    def transposed(self, upstream):
        dx = Conv2d.backward(self, upstream)
        self.grads["W"][...] = self.grads["W"].transpose(0, 1, 3, 2)  # a slip: the filter's gradient transposed
        return dx

    _broken_conv(monkeypatch, transposed)
    text, ok = trace_conv()
    assert not ok and re.search(r"dℓ/dW .*✗", text) and "out and dℓ/dx the same ✓" in text


def test_the_command_prints_it_and_draws_its_picture(capsys, tmp_path):
    picture = tmp_path / "conv.svg"
    assert gradcheck.main(["--trace", "conv", "--svg", str(picture)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("The convolution as the handout's gates") and str(picture) in out
    svg = picture.read_text(encoding="utf-8")
    assert svg == graph_svg(conv_graph()) and numbers_match(svg, conv_graph())


@pytest.mark.parametrize("argv, words", [(["--trace", "conv", "--use", "exercises/conv2d.py:Conv2d"],
                                          ("--use", "net or chain", "conv")),
                                         (["--trace", "conv", "--inputs", "x=1"], ("--inputs", "warmup"))])
def test_options_the_conv_trace_does_not_take_are_one_line(capsys, argv, words):
    assert gradcheck.main(argv) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and all(w in err for w in words)
