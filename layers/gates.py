"""The handout's gate patterns on scalars or arrays of equal shape.

``Add`` distributes the upstream gradient, ``Multiply`` swaps its inputs and scales, ``Max`` routes to
the winner, and ``Copy`` (a branch) adds the gradients coming back along its two outputs. Inputs of
different shapes are refused rather than broadcast.

Shapes
------
``Add/Multiply/Max``: forward(a, b) -> out (shape of a and b); backward(g) -> (da, db)
``Copy``:             forward(x) -> (x, x);                    backward(g1, g2) -> dx
"""

import numpy as np

from .validation import as_float_array, check_same_shape, check_upstream
from .base import Layer


class _BinaryGate(Layer):
    def _inputs(self, a, b):
        a, b = as_float_array(a, "a"), as_float_array(b, "b")
        check_same_shape(a, b, "a", "b")
        self.cache = (a, b)
        return a, b

    def _upstream(self, g):
        a, _ = self._saved()
        return check_upstream(g, a.shape, type(self).__name__)


class Add(_BinaryGate):
    """``out = a + b``; local gradients are both 1, so each input gets the upstream unchanged."""

    def forward(self, a, b):
        a, b = self._inputs(a, b)
        return a + b

    def backward(self, g):
        g = self._upstream(g)
        return g * 1.0, g * 1.0


class Multiply(_BinaryGate):
    """``out = a * b``; each input gets the upstream scaled by the *other* input."""

    def forward(self, a, b):
        a, b = self._inputs(a, b)
        return a * b

    def backward(self, g):
        g = self._upstream(g)
        a, b = self.cache
        return g * b, g * a


class Max(_BinaryGate):
    """``out = max(a, b)``; the upstream goes to the winner, the loser gets 0.

    ``a`` wins only where ``a > b``; on a tie the gradient goes to ``b``. So ``Max(x, 0)`` is exactly
    ``ReLU`` (zero gradient at ``x = 0``), and the two gradients always add up to the upstream.
    """

    def forward(self, a, b):
        a, b = self._inputs(a, b)
        return np.maximum(a, b)

    def backward(self, g):
        g = self._upstream(g)
        a, b = self.cache
        a_wins = a > b
        return g * a_wins, g * ~a_wins


class Copy(Layer):
    """A branch: ``x`` is used twice, so its gradient is the sum of the two that come back."""

    def forward(self, x):
        x = as_float_array(x, "x")
        self.cache = x.shape
        return x, x

    def backward(self, g1, g2):
        shape = self._saved()
        g1 = check_upstream(g1, shape, "Copy")
        g2 = check_upstream(g2, shape, "Copy")
        return g1 + g2
