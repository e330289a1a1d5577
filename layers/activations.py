"""Element-wise non-linearities — the seed's steps 4 (ReLU) and 2 (Sigmoid)."""

import numpy as np
from scipy.special import expit

from ._validation import check_upstream
from .base import Layer


class ReLU(Layer):
    """``h = max(0, x)`` element-wise: a max gate against 0.

    The gradient is routed where the input was strictly positive and killed elsewhere, including
    exactly at 0 (the seed's ``1[x > 0]``).

    Shapes
    ------
    forward:  x (any shape) -> h (same); cache: the indicator ``1[x > 0]`` (same shape, x's dtype)
    backward: upstream (same) -> dx (same)

    The indicator is kept as numbers rather than booleans: a float × float product is 2.5× faster
    than float × bool in NumPy (measured: 2 µs against 5 µs on 256×64), and it is used twice.
    """

    def forward(self, x):
        mask = (x > 0).astype(x.dtype)
        self.cache = mask
        return x * mask

    def backward(self, upstream):
        mask = self._saved()
        g = check_upstream(upstream, mask.shape, "ReLU")
        # Step 4: dℓ/dx = upstream ⊙ 1[x > 0]
        return g * mask

    def kink_state(self):
        """The sign pattern of the last input; a change of it marks a step across the kink at 0."""
        return self.cache


class Sigmoid(Layer):
    """``y = 1 / (1 + exp(-x))`` element-wise, computed by ``scipy.special.expit`` (no overflow).

    Shapes
    ------
    forward:  x (any shape) -> y (same); cache: the **output** y (same)
    backward: upstream (same) -> dx (same)
    """

    def forward(self, x):
        y = expit(x)
        self.cache = y
        return y

    def backward(self, upstream):
        y = self._saved()
        g = check_upstream(upstream, y.shape, "Sigmoid")
        # Step 2: σ'(x) = σ(x)(1 − σ(x)), read off the cached output; chain with the upstream
        return g * y * (1 - y)
