"""Exercise: the backward pass of the sigmoid, the handout's step 2.

``Sigmoid.forward`` is written; ``Sigmoid.backward`` is yours. When it is done, check it against
centred finite differences (from the repository's root):

    python gradcheck.py --layer exercises/sigmoid.py:Sigmoid

then inside the handout's network, and step by step beside the library's numbers:

    python gradcheck.py --use exercises/sigmoid.py:Sigmoid
    python gradcheck.py --trace --use exercises/sigmoid.py:Sigmoid

Stuck? Ask for a hint, one tier at a time (1 the pattern, 2 the shape, 3 the formula and where the
worked solution is):

    python gradcheck.py --layer exercises/sigmoid.py:Sigmoid --hint 1

This file is standalone (numpy only), so it can be read and copied on its own.
"""

from pathlib import Path

import numpy as np

_HERE = f"{Path(__file__).parent.name}/{Path(__file__).name}"


class Sigmoid:
    """``y = 1 / (1 + exp(−x))`` element-wise. No parameters.

    Careful with names: here ``y`` is the layer's *output* (the handout's ``y_pred``, or ``p``), not a
    label.

    Shapes
    ------
    forward:  x (any shape) -> y (same shape); cache: the output y
    backward: upstream dℓ/dy (same shape) -> dℓ/dx (same shape)
    """

    def __init__(self):
        self.params, self.grads = {}, {}
        self.cache = None

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        # exp(−|x|) never overflows: for x ≥ 0 use 1/(1 + e^−x), for x < 0 the equal e^x/(1 + e^x)
        e = np.exp(-np.abs(x))
        y = np.where(x >= 0, 1 / (1 + e), e / (1 + e))
        self.cache = y  # the output: the handout's "sigmoid trick" needs nothing else
        return y

    def backward(self, upstream):
        """Return dℓ/dx, the shape of x, from ``upstream`` = dℓ/dy and the cached output ``y``."""
        y = self.cache  # noqa: F841 (yours to use: the skeleton stops at the raise below)
        # TODO: the handout's step 2 (sigmoid node): downstream = upstream × local.
        #   The local gradient dy/dx can be written with the cached output y alone (the "sigmoid trick").
        #   Shape rule: dℓ/dx has the shape of x, which is the shape of y and of upstream, so the
        #   product is element-wise: no matrix product, no sum.
        raise NotImplementedError(f"Sigmoid.backward is not implemented yet (TODO in {_HERE})")
