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

from .base import Layer
from .validation import as_float_array, check_same_shape


def _two_inputs(a, b):
    """``a`` and ``b`` as float arrays of one shape (never broadcast)."""
    a, b = as_float_array(a, "a"), as_float_array(b, "b")
    check_same_shape(a, b, "a", "b")
    return a, b


class Add(Layer):
    """``out = a + b``; local gradients are both 1, so each input gets the upstream unchanged."""

    def forward(self, a, b):
        a, b = _two_inputs(a, b)
        self.cache = a.shape  # the local gradients are 1: nothing but the shape to remember
        return a + b

    def backward(self, upstream):
        # Add gate: distribute, each input gets upstream × 1
        return upstream * 1.0, upstream * 1.0


class Multiply(Layer):
    """``out = a * b``; each input gets the upstream scaled by the *other* input."""

    def forward(self, a, b):
        a, b = _two_inputs(a, b)
        self.cache = (a, b)
        return a * b

    def backward(self, upstream):
        a, b = self.cache
        # Multiply gate: swap and scale, dℓ/da = upstream × b and dℓ/db = upstream × a
        return upstream * b, upstream * a


class Max(Layer):
    """``out = max(a, b)``; the upstream goes to the winner, the loser gets 0.

    ``a`` wins only where ``a > b``; on a tie the gradient goes to ``b``. So ``Max(x, 0)`` is exactly
    ``ReLU`` (zero gradient at ``x = 0``), and the two gradients always add up to the upstream.
    """

    def forward(self, a, b):
        a, b = _two_inputs(a, b)
        self.cache = a > b  # where a wins (a tie goes to b)
        return np.maximum(a, b)

    def backward(self, upstream):
        a_wins = self.cache
        # Max gate: route the upstream to the winner, 0 to the loser
        return upstream * a_wins, upstream * ~a_wins


class Copy(Layer):
    """A branch: ``x`` is used twice, so its gradient is the sum of the two that come back."""

    def forward(self, x):
        x = as_float_array(x, "x")
        self.cache = x.shape  # a branch's local gradients are 1: nothing but its shape to remember
        return x, x

    def backward(self, upstream1, upstream2):
        # Copy gate: the gradients coming back along the two uses add, dℓ/dx = upstream1 + upstream2
        return upstream1 + upstream2
