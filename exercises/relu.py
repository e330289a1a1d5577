"""Exercise: the backward pass of ReLU, the handout's step 4.

``ReLU.forward`` is written; ``ReLU.backward`` is yours. Check it (from the repository's root):

    python gradcheck.py --layer exercises/relu.py:ReLU

then inside the handout's network, and step by step beside the library's numbers:

    python gradcheck.py --use exercises/relu.py:ReLU
    python gradcheck.py --trace --use exercises/relu.py:ReLU

Stuck? Ask for a hint, one tier at a time (1 the pattern, 2 the shape, 3 the formula and where the
worked solution is):

    python gradcheck.py --layer exercises/relu.py:ReLU --hint 1

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
