"""Exercise (beyond the handout): the backward pass of max pooling, CS231n's ``max_pool_backward_naive``.

``MaxPool2d.forward`` is written; ``MaxPool2d.backward`` is yours. Check it (from the repository's root) on a
batch of 2 images of 2 channels, 4×6 pixels (not square, so a slip of the height for the width shows):

    python gradcheck.py --layer exercises/maxpool.py:MaxPool2d --input-shape 2,2,4,6

then with a stride of 1, where the 2×2 windows overlap and a pixel that wins two of them must get both gradients
(a backward that writes ``=`` where they must add passes every check without it):

    python gradcheck.py --layer exercises/maxpool.py:MaxPool2d --layer-args '{"stride": 1}' --input-shape 2,2,4,6

then where the library's ``MaxPool2d`` stands in every check that holds one:

    python gradcheck.py --use exercises/maxpool.py:MaxPool2d

Stuck? Ask for a hint, one tier at a time (1 the pattern, 2 the shape, 3 the formula and where the worked
solution is):

    python gradcheck.py --layer exercises/maxpool.py:MaxPool2d --hint 1

This file is standalone (numpy only), so it can be read and copied on its own.
"""

from pathlib import Path

import numpy as np

_HERE = f"{Path(__file__).parent.name}/{Path(__file__).name}"


class MaxPool2d:
    """``out[n, ch, r, c] = max`` of the k×k window of ``x[n, ch]`` at (s·r, s·c): one max gate per window.

    Parameters
    ----------
    kernel_size : int, k, the side of the square windows (default 2)
    stride : int or None, the step between windows; None (the default) is k: windows side by side

    No parameters: ``params`` and ``grads`` are empty.

    Shapes
    ------
    forward:  x (N, C, H, W) -> out (N, C, H', W'), H' = (H − k) // stride + 1 (W' likewise); cache: x
    backward: upstream dℓ/dout (N, C, H', W') -> dℓ/dx (N, C, H, W)
    """

    def __init__(self, kernel_size=2, stride=None):
        self.kernel_size = int(kernel_size)
        self.stride = self.kernel_size if stride is None else int(stride)
        if self.kernel_size < 1 or self.stride < 1:
            raise ValueError(f"MaxPool2d needs a positive kernel_size and stride, got ({kernel_size}, {stride})")
        self.params, self.grads = {}, {}
        self.cache = None

    def _windows(self, shape):
        """(r, c, rows, cols) for each output pixel: the slices of x its window reads."""
        k, s = self.kernel_size, self.stride
        hout, wout = (shape[2] - k) // s + 1, (shape[3] - k) // s + 1
        if hout < 1 or wout < 1:
            raise ValueError(f"MaxPool2d: the image {shape[2:]} is smaller than the {k}×{k} window")
        return [(r, c, slice(s * r, s * r + k), slice(s * c, s * c + k)) for r in range(hout) for c in range(wout)]

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 4:
            raise ValueError(f"MaxPool2d expects x of shape (N, C, H, W), got {x.shape}")
        windows = self._windows(x.shape)
        out = np.zeros((*x.shape[:2], windows[-1][0] + 1, windows[-1][1] + 1))
        for r, c, rows, cols in windows:
            out[:, :, r, c] = x[:, :, rows, cols].max(axis=(2, 3))  # (N, C): each window's largest value
        self.cache = x
        return out

    def backward(self, upstream):
        """Return dℓ/dx, the shape of x, from ``upstream`` = dℓ/dout and the cached input."""
        x = self.cache  # noqa: F841 (yours to use: the skeleton stops at the raise below)
        # TODO: each window is a max gate: it routes the upstream to the input that won and gives the others 0.
        #   Shape rule: dℓ/dx has the shape of x, zero where no window's winner is.
        #   For each window (self._windows(x.shape) gives its slices): which pixel of it won? Only that one
        #   gets upstream[n, ch, r, c]; and when windows overlap (stride < kernel_size), a pixel that wins
        #   two of them gets both gradients: add, don't overwrite.
        raise NotImplementedError(f"MaxPool2d.backward is not implemented yet (TODO in {_HERE})")

    def kink_state(self):
        """Which pixel of each window won last time (its index in the window, row by row). The checker uses it to
        spot probes that change a winner, like ReLU's kink at 0."""
        if self.cache is None:
            return None
        x = self.cache
        return np.array([x[:, :, rows, cols].reshape(*x.shape[:2], -1).argmax(axis=2)
                         for _, _, rows, cols in self._windows(x.shape)])
