"""Exercise: the backward pass of ReLU, the handout's step 4.

``ReLU.forward`` is written; ``ReLU.backward`` is yours. Check it (from the repository's root):

    python gradcheck.py --layer exercises/relu.py:ReLU

This file is standalone (numpy only), so it can be read and copied on its own.
"""

from pathlib import Path

import numpy as np

_HERE = f"{Path(__file__).parent.name}/{Path(__file__).name}"


class ReLU:
    """``h = max(0, x)`` element-wise: a max gate against 0. No parameters.

    Shapes
    ------
    forward:  x (any shape) -> h (same shape); cache: the indicator 1[x > 0] as 0.0/1.0 (same shape)
    backward: upstream dℓ/dh (same shape) -> dℓ/dx (same shape)
    """

    def __init__(self):
        self.params, self.grads = {}, {}
        self.cache = None

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        mask = (x > 0).astype(x.dtype)  # 1 where x > 0, 0 elsewhere (also at exactly 0)
        self.cache = mask
        return x * mask

    def backward(self, upstream):
        """Return dℓ/dx, the shape of x, from ``upstream`` = dℓ/dh and the cached indicator."""
        mask = self.cache
        # TODO: the handout's step 4 (ReLU node, a max gate): downstream = upstream × local.
        #   The local gradient is 1 where the input was > 0 and 0 elsewhere: the gate routes the
        #   upstream to the winner and kills it where the input lost to 0.
        #   Shape rule: dℓ/dx has the shape of x, the shape of upstream: an element-wise product.
        raise NotImplementedError(f"ReLU.backward is not implemented yet (TODO in {_HERE})")

    def kink_state(self):
        """The indicator of the last input. The checker uses it to spot probes that straddle x = 0."""
        return self.cache
