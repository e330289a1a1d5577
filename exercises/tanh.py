"""Exercise: the backward pass of tanh (beyond the handout; it works like the sigmoid of step 2).

``Tanh.forward`` is written; ``Tanh.backward`` is yours. Check it (from the repository's root):

    python gradcheck.py --layer exercises/tanh.py:Tanh

then inside a network with tanh hidden layers: ``python gradcheck.py --use exercises/tanh.py:Tanh``.
Stuck? Ask for a hint, one tier at a time (1 the pattern, 2 the shape, 3 the formula and where the
worked solution is):

    python gradcheck.py --layer exercises/tanh.py:Tanh --hint 1

This file is standalone (numpy only), so it can be read and copied on its own.
"""

from pathlib import Path

import numpy as np

_HERE = f"{Path(__file__).parent.name}/{Path(__file__).name}"


class Tanh:
    """``y = tanh(x)`` element-wise. No parameters. ``y`` is the output here, not a label.

    Shapes
    ------
    forward:  x (any shape) -> y (same shape); cache: the output y
    backward: upstream dℓ/dy (same shape) -> dℓ/dx (same shape)
    """

    def __init__(self):
        self.params, self.grads = {}, {}
        self.cache = None

    def forward(self, x):
        y = np.tanh(np.asarray(x, dtype=np.float64))
        self.cache = y  # as for the sigmoid, the output is all backward needs
        return y

    def backward(self, upstream):
        """Return dℓ/dx, the shape of x, from ``upstream`` = dℓ/dy and the cached output ``y``."""
        y = self.cache  # noqa: F841 (yours to use: the skeleton stops at the raise below)
        # TODO: the handout's step-2 pattern for another squashing function: downstream = upstream × local.
        #   Write tanh'(x) in terms of the cached output y alone (as the sigmoid trick does).
        #   Shape rule: dℓ/dx has the shape of x (= of y = of upstream): an element-wise product.
        raise NotImplementedError(f"Tanh.backward is not implemented yet (TODO in {_HERE})")
