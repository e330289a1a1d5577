"""Exercise (beyond the handout): the backward pass of a convolution, CS231n's ``conv_backward_naive``.

``Conv2d.forward`` is written; ``Conv2d.backward`` is yours. Check it (from the repository's root) on a batch
of 2 images of 2 channels, 5×7 pixels, which fits the defaults (2 channels in, 3 filters of 3×3). The images are
not square on purpose: a backward that reads the height where the width belongs passes on square ones:

    python gradcheck.py --layer exercises/conv2d.py:Conv2d --input-shape 2,2,5,7

and with a stride and padding (``--layer-args '{"stride": 2, "padding": 1}'``, its output 3×4), then where the
library's ``Conv2d`` stands in every check that holds one:

    python gradcheck.py --use exercises/conv2d.py:Conv2d

``python gradcheck.py --trace conv`` walks the library's convolution through a 4×4 image gate by gate, with
numbers. Stuck? Ask for a hint, one tier at a time (1 the pattern, 2 the shape, 3 the formula and where the
worked solution is):

    python gradcheck.py --layer exercises/conv2d.py:Conv2d --hint 1

This file is standalone (numpy only), so it can be read and copied on its own.
"""

from pathlib import Path

import numpy as np

_HERE = f"{Path(__file__).parent.name}/{Path(__file__).name}"


class Conv2d:
    """``out[n, f, r, c] = Σ_{ch, i, j} xpad[n, ch, s·r + i, s·c + j] · W[f, ch, i, j] + b[f]``.

    F filters of C channels and k×k pixels slide over the image ``s`` pixels at a time (the stride); ``xpad`` is
    the image with ``padding`` zeros on each side. Each output number is one window of ``xpad`` times one
    filter, summed, plus that filter's bias.

    Parameters
    ----------
    in_channels, out_channels, kernel_size : int, C, F and k (default 2, 3 and 3)
    stride : int >= 1, default 1; padding : int >= 0, default 0
    bias : bool, default True
    seed : int or None, for the initial filters (He: normal with variance 2 / (C·k·k)); b starts at 0.

    Attributes
    ----------
    params : {"W": (F, C, k, k), "b": (F,)}
    grads : the same keys and shapes, for ``backward`` to fill

    Shapes
    ------
    forward:  x (N, C, H, W) -> out (N, F, H', W'), H' = (H + 2·padding − k) // stride + 1 (W' likewise);
              cache: xpad, the padded input (N, C, H + 2·padding, W + 2·padding)
    backward: upstream dℓ/dout (N, F, H', W') -> dℓ/dx (N, C, H, W); fills grads["W"], grads["b"]
    """

    def __init__(self, in_channels=2, out_channels=3, kernel_size=3, stride=1, padding=0, bias=True, seed=0):
        c, f, k = int(in_channels), int(out_channels), int(kernel_size)
        if min(c, f, k, int(stride)) < 1 or int(padding) < 0:
            raise ValueError(f"Conv2d needs positive sizes and stride and a padding >= 0, got ({in_channels}, "
                             f"{out_channels}, {kernel_size}, stride={stride}, padding={padding})")
        self.stride, self.padding = int(stride), int(padding)
        rng = np.random.default_rng(seed)
        self.params = {"W": rng.normal(0.0, np.sqrt(2.0 / (c * k * k)), size=(f, c, k, k))}
        if bias:
            self.params["b"] = np.zeros(f)
        self.grads = {key: np.zeros_like(v) for key, v in self.params.items()}
        self.cache = None

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        W = self.params["W"]
        f, c, k, _ = W.shape
        if x.ndim != 4 or x.shape[1] != c:
            raise ValueError(f"Conv2d expects x of shape (N, {c}, H, W), got {x.shape}")
        p, s = self.padding, self.stride
        xpad = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))  # zeros around each image
        hout, wout = (xpad.shape[2] - k) // s + 1, (xpad.shape[3] - k) // s + 1
        if hout < 1 or wout < 1:
            raise ValueError(f"Conv2d: the padded image {xpad.shape[2:]} is smaller than the {k}×{k} filter")
        self.cache = xpad
        out = np.zeros((len(x), f, hout, wout))
        for r in range(hout):
            for c_ in range(wout):
                window = xpad[:, :, s * r:s * r + k, s * c_:s * c_ + k]  # (N, C, k, k): every image's window (r, c)
                out[:, :, r, c_] = np.tensordot(window, W, axes=([1, 2, 3], [1, 2, 3]))  # (N, F): Σ window · W[f]
        if "b" in self.params:
            out += self.params["b"][:, None, None]  # b[f] added to every pixel of filter f's output
        return out

    def backward(self, upstream):
        """Fill ``self.grads["W"]`` (and ``["b"]``) and return dℓ/dx, from ``upstream`` = dℓ/dout and the cache."""
        xpad = self.cache  # noqa: F841 (yours to use: the skeleton stops at the raise below)
        W = self.params["W"]  # noqa: F841 (yours to use)
        # TODO: each output number is a window of xpad times a filter (a multiply gate) plus its bias; the
        #   window is a *copy* of pixels, and neighbouring windows share pixels (a copy gate: gradients add).
        #   Shape rule: each gradient has the shape of what it is taken with respect to:
        #     dℓ/dW (F, C, k, k), like W -- every window that met filter f adds window × its upstream
        #     dℓ/db (F,), like b         -- b[f] went to every (n, r, c) of filter f's output: add them up
        #     dℓ/dx (N, C, H, W), like x -- each window's gradient (the upstream × the filter) goes back onto
        #        the pixels it was copied from; build it on xpad's shape, then cut the padding off
        #   The naive way loops over n, f and the output's (r, c), as forward's loop does.
        #   Put dℓ/dW and dℓ/db in self.grads["W"] and self.grads["b"] (when there is a b); return dℓ/dx.
        raise NotImplementedError(f"Conv2d.backward is not implemented yet (TODO in {_HERE})")
