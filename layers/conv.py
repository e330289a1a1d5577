"""Layers of images, ``x`` of shape (N, C, H, W) as in CS231n and PyTorch: ``Conv2d``, ``MaxPool2d``, ``Flatten``,
and ``Unflatten``, which reads each row of a table as an image.

Each layer says the (C, H, W) of one image it gives for the (C, H, W) it is given (``output_shape``), so a
network's sizes are checked through its image layers before anything the size of an image is allocated
(``model.sequential``), and the forward passes compute their output's size by the same method.

Conv2d and MaxPool2d read the image's k×k windows through strided views, with no copying: the pixel at offset (i, j)
of every window is one view, ``x[:, :, i::stride, j::stride]`` cut to the output's size. Backwards, each
window's gradient is added back where its pixels came from, one view at a time, so a pixel in several windows
gets the sum of their gradients (the copy gate).
"""

import functools
import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .base import Layer
from .validation import check_count, check_integer


def _images(x, owner, channels=None):
    """``x`` as an (N, C, H, W) array, or the ``ValueError`` naming the shape it has."""
    x = np.asarray(x)
    if x.ndim != 4 or (channels is not None and x.shape[1] != channels):
        want = "C" if channels is None else channels
        raise ValueError(f"{owner} expects (N, {want}, H, W) inputs, got an array of shape {x.shape}")
    return x


def _image_shape(shape, owner, channels=None):
    """``shape``, one image's (C, H, W), as a tuple of ints, or the ``ValueError`` saying what was expected."""
    shape = tuple(int(n) for n in shape)
    if len(shape) != 3 or (channels is not None and shape[0] != channels):
        want = "C" if channels is None else channels
        raise ValueError(f"{owner} expects ({want}, H, W) images, got {_samples(shape)}")
    return shape


def sizes_text(shape):
    """A shape as the image options write it: ``(4, 2, 2)`` -> ``"4x2x2"``."""
    return "x".join(map(str, shape))


def _samples(shape):
    """One sample's shape in words: ``rows of 16 features``, ``images of 4x2x2``, ``samples of shape (2, 3)``."""
    if len(shape) == 1:
        return f"rows of {shape[0]} features"
    return f"images of {sizes_text(shape)}" if len(shape) == 3 else f"samples of shape {shape}"


def _out_size(size, kernel, stride, owner):
    """The windows along one side: ``(size − kernel) // stride + 1`` (PyTorch's floor), at least one."""
    if size < kernel:
        raise ValueError(f"{owner}: a side of {size} pixels (padding included) is smaller than the kernel, {kernel}")
    return (size - kernel) // stride + 1


def _at_offset(a, i, j, stride, hout, wout):
    """The view of ``a`` (N, C, H, W) holding pixel (i, j) of each window: a[:, :, i + stride·r, j + stride·c]."""
    return a[:, :, i:i + stride * hout:stride, j:j + stride * wout:stride]


class Conv2d(Layer):
    """2-D convolution (cross-correlation, as in CS231n and PyTorch): F filters slid over the image.

    ``out[n, f, r, c] = Σ_{ch, i, j} xpad[n, ch, s·r + i, s·c + j] · W[f, ch, i, j] + b[f]``, with ``xpad`` the input
    padded by ``padding`` zeros on each side and ``s`` the stride. The naive form (CS231n's ``conv_forward_naive``)
    loops over n, f, r and c and takes that sum over one window at a time. Here the same sum is two gates:

    1. a **copy gate**: every window, flattened to a row of C·HH·WW numbers, is copied into the patch matrix
       ``X`` (N·H'·W', C·HH·WW); a pixel in several windows is copied several times;
    2. a **multiply gate on matrices**, Linear's: ``out = X · Wᵀ + b``, ``W`` flattened to (F, C·HH·WW).

    Backward takes them in reverse: Linear's backward gives ``dW = upstreamᵀ · X``, ``db`` the sum of the
    upstream and ``dX = upstream · W``; then the copy gate adds each patch's gradient back onto the pixels it was
    copied from (one strided slice per kernel offset (i, j), HH·WW additions in all). Pixels no window reaches
    (when the stride does not divide the padded side: the output side is floored, as in PyTorch) get 0.

    Parameters
    ----------
    in_channels, out_channels : int
        C and F, positive integers.
    kernel_size : int
        HH = WW, the side of the square filters.
    stride : int >= 1, default 1
    padding : int >= 0, default 0
        Zeros added on every side of the image.
    bias : bool, default True
    rng : None, int or numpy.random.Generator
        ``W`` is drawn with He initialisation, ``N(0, 2 / (C·HH·WW))``, like ``Linear``'s; ``b`` starts at 0.
    dtype : numpy dtype, default float64

    Shapes
    ------
    forward:  x (N, C, H, W) -> out (N, F, H', W'), H' = (H + 2·padding − HH) // stride + 1 (W' likewise);
              cache: (the patch matrix (N·H'·W', C·HH·WW), x's shape)
    backward: upstream (N, F, H', W') -> dx (N, C, H, W); fills grads["W"] (F, C, HH, WW), grads["b"] (F,)
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, bias=True, rng=None,
                 dtype=np.float64):
        super().__init__()
        self.in_channels = check_count(in_channels, "in_channels", "Conv2d")
        self.out_channels = check_count(out_channels, "out_channels", "Conv2d")
        self.kernel_size = check_count(kernel_size, "kernel_size", "Conv2d")
        self.stride = check_count(stride, "stride", "Conv2d")
        self.padding = check_integer(padding, "padding", "Conv2d", 0)
        fan_in = self.in_channels * self.kernel_size**2
        shape = (self.out_channels, self.in_channels, self.kernel_size, self.kernel_size)
        W = np.random.default_rng(rng).normal(0.0, np.sqrt(2.0 / fan_in), size=shape)
        self._add_param("W", W.astype(dtype, copy=False))
        if bias:
            self._add_param("b", np.zeros(self.out_channels, dtype=dtype))

    def config(self):
        return {"in_channels": self.in_channels, "out_channels": self.out_channels, "kernel_size": self.kernel_size,
                "stride": self.stride, "padding": self.padding, "bias": "b" in self.params}

    def output_shape(self, shape):
        """``(F, H', W')``, the output of one image of shape ``(C, H, W)``: H' = (H + 2·padding − HH) // stride + 1.

        ``ValueError`` when ``shape`` is not C channels' image or a padded side is smaller than the kernel.
        """
        _, h, w = _image_shape(shape, "Conv2d", self.in_channels)
        k, s, p = self.kernel_size, self.stride, self.padding
        return (self.out_channels, *(_out_size(side + 2 * p, k, s, "Conv2d") for side in (h, w)))

    def forward(self, x):
        x = _images(x, "Conv2d", self.in_channels)
        _, hout, wout = self.output_shape(x.shape[1:])  # refused before the padded copy is made
        k, s, p = self.kernel_size, self.stride, self.padding
        if p:
            x = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
        # The copy gate: each window a row of the patch matrix, in (channel, i, j) order like a row of W
        windows = sliding_window_view(x, (k, k), axis=(2, 3))[:, :, :s * hout:s, :s * wout:s]  # (N, C, H', W', k, k)
        patches = windows.transpose(0, 2, 3, 1, 4, 5).reshape(-1, self.in_channels * k * k)
        self.cache = (patches, x.shape)
        # The multiply gate: out = X · Wᵀ (+ b), one row per window, one column per filter
        out = patches.dot(self.params["W"].reshape(self.out_channels, -1).T)
        if "b" in self.params:
            out += self.params["b"]
        return out.reshape(len(x), hout, wout, self.out_channels).transpose(0, 3, 1, 2)

    def backward(self, upstream):
        patches, padded_shape = self.cache
        n, f, hout, wout = upstream.shape
        k, s, p = self.kernel_size, self.stride, self.padding
        up = upstream.transpose(0, 2, 3, 1).reshape(-1, f)  # one row per window, as the patches
        # Linear's backward on the patch matrix: dW = upstreamᵀ · X, db = Σ upstream, dX = upstream · W
        self.grads["W"][...] = up.T.dot(patches).reshape(self.params["W"].shape)
        if "b" in self.params:
            self.grads["b"][...] = up.sum(axis=0)
        dpatches = up.dot(self.params["W"].reshape(f, -1)).reshape(n, hout, wout, self.in_channels, k, k)
        # The copy gate backwards: each patch's gradient added back onto the pixels it was copied from
        dx = np.zeros(padded_shape, dtype=dpatches.dtype)
        for i in range(k):
            for j in range(k):
                _at_offset(dx, i, j, s, hout, wout)[...] += dpatches[..., i, j].transpose(0, 3, 1, 2)
        return dx[:, :, p:padded_shape[2] - p, p:padded_shape[3] - p]


class MaxPool2d(Layer):
    """Max pooling: each k×k window of each channel (``stride`` apart) gives its largest value.

    A max gate per window. The naive form loops over the windows and takes ``window.max()``; here the max of a
    window is the max over its rows of the max along each row, each a pass of pairwise maxima over strided
    views. Backward routes the upstream to the pixel that won and gives the others 0 (a pixel that wins several
    overlapping windows gets the sum). On a tie the **first** maximum in the window (row by row) wins, as NumPy's
    ``argmax`` picks it; ``kink_state`` is the winners, so the gradient checker sees a step that changes a
    winner as a kink and brackets it, as it does ReLU's 0.

    Parameters
    ----------
    kernel_size : int
        k, the side of the square windows.
    stride : int or None, default None
        The step between windows; None is ``kernel_size`` (non-overlapping windows), as in PyTorch.

    Shapes
    ------
    forward:  x (N, C, H, W) -> out (N, C, H', W'), H' = (H − k) // stride + 1 (W' likewise); cache: (x, out)
    backward: upstream (N, C, H', W') -> dx (N, C, H, W)
    """

    def __init__(self, kernel_size, stride=None):
        super().__init__()
        self.kernel_size = check_count(kernel_size, "kernel_size", "MaxPool2d")
        self.stride = self.kernel_size if stride is None else check_count(stride, "stride", "MaxPool2d")

    def config(self):
        return {"kernel_size": self.kernel_size, **({} if self.stride == self.kernel_size else {"stride": self.stride})}

    def output_shape(self, shape):
        """``(C, H', W')``, the output of one image of shape ``(C, H, W)``: H' = (H − k) // stride + 1.

        ``ValueError`` when ``shape`` is not an image or a side is smaller than the window.
        """
        c, h, w = _image_shape(shape, "MaxPool2d")
        return (c, *(_out_size(side, self.kernel_size, self.stride, "MaxPool2d") for side in (h, w)))

    def forward(self, x):
        x = _images(x, "MaxPool2d")
        k, s = self.kernel_size, self.stride
        _, hout, wout = self.output_shape(x.shape[1:])
        along_rows = functools.reduce(np.maximum, (x[..., j:j + s * wout:s] for j in range(k)))
        out = functools.reduce(np.maximum, (along_rows[:, :, i:i + s * hout:s] for i in range(k)))
        self.cache = (x, out)
        return out

    def _winners(self):
        """``(i, j, won)`` for each offset of the window, row by row: ``won`` (N, C, H', W') is True where the
        pixel at (i, j) is its window's first maximum."""
        x, out = self.cache
        free = np.ones(out.shape, dtype=bool)  # windows whose winner is not found yet
        for i in range(self.kernel_size):
            for j in range(self.kernel_size):
                won = (_at_offset(x, i, j, self.stride, *out.shape[2:]) == out) & free
                free &= ~won
                yield i, j, won

    def backward(self, upstream):
        x, out = self.cache
        dx = np.zeros(x.shape, dtype=upstream.dtype)
        for i, j, won in self._winners():  # max gate: each window's upstream to its winner, 0 to the rest
            _at_offset(dx, i, j, self.stride, *out.shape[2:])[...] += upstream * won
        return dx

    def kink_state(self):
        """Where each offset won in the last forward; a change marks a step across a tie."""
        return tuple(won for _, _, won in self._winners())


class Flatten(Layer):
    """(N, C, H, W) -> (N, C·H·W) in PyTorch's (row-major) order; backward reshapes the gradient back.

    Any (N, ...) input is flattened to (N, product of the rest); the local gradient is the identity.

    Shapes
    ------
    forward:  x (N, ...) -> (N, D); cache: x's shape
    backward: upstream (N, D) -> dx of x's shape
    """

    def output_shape(self, shape):
        """``(D,)``, one sample of shape ``shape`` (any, e.g. (C, H, W)) as a row of D = C·H·W numbers."""
        return (math.prod(int(n) for n in shape),)

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim < 1:
            raise ValueError(f"Flatten expects (N, ...) inputs, got an array of shape {x.shape}")
        self.cache = x.shape
        return x.reshape(len(x), -1)

    def backward(self, upstream):
        return upstream.reshape(self.cache)


class Unflatten(Layer):
    """(N, C·H·W) -> (N, C, H, W): each row of a table read as an image, in PyTorch's (row-major) order.

    Flatten's inverse, PyTorch's ``nn.Unflatten(1, (C, H, W))``: column ``c·H·W + h·W + w`` of a row is pixel
    (h, w) of channel c. So a network of image layers takes the same 2-D tables as any other (``train.py
    --image``), and a saved model evaluates and predicts on them. It only renames the numbers: the local gradient
    is the identity, and backward reshapes the upstream back to rows. ``in_features`` (C·H·W) is the table's width.

    Parameters
    ----------
    channels, height, width : int
        C, H and W, positive integers.

    Shapes
    ------
    forward:  x (N, C·H·W) -> (N, C, H, W); no cache
    backward: upstream (N, C, H, W) -> dx (N, C·H·W)
    """

    def __init__(self, channels, height, width):
        super().__init__()
        self.channels = check_count(channels, "channels", "Unflatten")
        self.height = check_count(height, "height", "Unflatten")
        self.width = check_count(width, "width", "Unflatten")
        self.in_features = self.channels * self.height * self.width

    def config(self):
        return {"channels": self.channels, "height": self.height, "width": self.width}

    def output_shape(self, shape):
        """``(C, H, W)``, the image a row of shape ``(C·H·W,)`` is read as; ``ValueError`` for any other shape."""
        shape = tuple(int(n) for n in shape)
        if shape != (self.in_features,):
            raise ValueError(f"Unflatten expects rows of {self.in_features} features ({self.channels}x{self.height}x"
                             f"{self.width} images), got {_samples(shape)}")
        return self.channels, self.height, self.width

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            raise ValueError(f"Unflatten expects (N, {self.in_features}) inputs (rows of {self.channels}x{self.height}"
                             f"x{self.width} images), got an array of shape {x.shape}")
        return x.reshape(len(x), self.channels, self.height, self.width)

    def backward(self, upstream):
        return upstream.reshape(len(upstream), self.in_features)
