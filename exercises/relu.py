"""Exercise: the backward pass of ReLU, the handout's step 4.

``ReLU.forward`` is written; ``ReLU.backward`` is yours. Check it (from the repository's root):

    python gradcheck.py --layer exercises/relu.py:ReLU

then inside the handout's network, and step by step beside the library's numbers:

    python gradcheck.py --use exercises/relu.py:ReLU
    python gradcheck.py --trace --use exercises/relu.py:ReLU

Stuck? The hints at the end of this file come in three steps: the pattern, the shape, the formula.

This file is standalone (numpy only), so it can be read and copied on its own.
"""

from pathlib import Path

import numpy as np

_HERE = f"{Path(__file__).parent.name}/{Path(__file__).name}"


class ReLU:
    """``h = max(0, x)`` element-wise: a max gate against 0. No parameters.

    Shapes
    ------
    forward:  x (any shape) -> h (same shape); cache: the input x (same shape)
    backward: upstream dℓ/dh (same shape) -> dℓ/dx (same shape)
    """

    def __init__(self):
        self.params, self.grads = {}, {}
        self.cache = None

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        self.cache = x  # the input: where it is > 0 is all backward needs
        return np.maximum(0, x)  # a new array: the input is left as it was

    def backward(self, upstream):
        """Return dℓ/dx, the shape of x, from ``upstream`` = dℓ/dh and the cached input ``x``."""
        x = self.cache  # noqa: F841 (yours to use: the skeleton stops at the raise below)
        # TODO: the handout's step 4 (ReLU node, a max gate): downstream = upstream × local.
        #   Which inputs won against 0? The gate routes the upstream to them and kills it elsewhere
        #   (at exactly 0 too: the handout's 1[x > 0]).
        #   Shape rule: dℓ/dx has the shape of x, the shape of upstream: an element-wise product.
        raise NotImplementedError(f"ReLU.backward is not implemented yet (TODO in {_HERE})")

    def kink_state(self):
        """Which inputs were > 0 last time. The checker uses it to spot probes that straddle x = 0."""
        return None if self.cache is None else self.cache > 0


# ---------------------------------------------------------------------------------------------------------------
# Hints. Read one at a time, and only as far as you need.
#
# 1. The pattern: a max gate against 0 (the handout's step 4): it routes the upstream to the inputs
#    that won (x > 0) and kills it where 0 won.
#
# 2. The shape: element by element; the mask x > 0 is a boolean array of x's shape, and
#    upstream * mask keeps that shape (True counts as 1, False as 0).
#
# 3. The formula: dℓ/dx = upstream * (x > 0).
#
# The worked solution: the library's `ReLU.backward` in layers/activations.py (it caches the mask instead of x).
