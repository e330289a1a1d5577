"""Exercise: the backward pass of binary cross-entropy, the handout's step 1.

``BCELoss.forward`` is written; ``BCELoss.backward`` is yours. Check it (from the repository's root):

    python gradcheck.py --layer exercises/bce_loss.py:BCELoss --labels binary --input-shape 8,1

(a loss takes labels, so the checker is told which: 0/1 labels of the input's shape), then inside the
handout's network, and step by step beside the library's numbers:

    python gradcheck.py --use exercises/bce_loss.py:BCELoss
    python gradcheck.py --trace --use exercises/bce_loss.py:BCELoss

Stuck? Ask for a hint, one tier at a time (1 the pattern, 2 the shape, 3 the formula and where the
worked solution is):

    python gradcheck.py --layer exercises/bce_loss.py:BCELoss --hint 1

A loss takes labels as well: ``forward(p, y)``. It is the root of the graph, so ``backward`` gets the
upstream dℓ/dℓ = 1.

This file is standalone (numpy only), so it can be read and copied on its own.
"""

from pathlib import Path

import numpy as np

_HERE = f"{Path(__file__).parent.name}/{Path(__file__).name}"


class BCELoss:
    """``ℓ = −(1/N) Σ_i [y_i log p_i + (1 − y_i) log(1 − p_i)]``, N = p.size. No parameters.

    ``p`` are probabilities (the sigmoid's output, the handout's ``y_pred``); ``y`` the 0/1 labels. p is
    clipped to [eps, 1 − eps] first (eps the float64 machine epsilon), so log never sees 0.

    Shapes
    ------
    forward:  p (N, 1) (any shape), y (same shape) -> ℓ, a float; cache: (clipped p, y)
    backward: upstream, a scalar (default 1.0) -> dℓ/dp (shape of p)
    """

    #: The labels this loss takes: 0/1 of the input's shape.
    target = "binary"

    def __init__(self):
        self.params, self.grads = {}, {}
        self.cache = None

    def forward(self, p, y):
        p, y = np.asarray(p, dtype=np.float64), np.asarray(y, dtype=np.float64)
        if p.shape != y.shape:
            raise ValueError(f"p and y must have the same shape, got {p.shape} and {y.shape}")
        if p.size == 0 or not np.isfinite(p).all() or (p < 0).any() or (p > 1).any():
            raise ValueError("p must be a non-empty array of probabilities in [0, 1]")
        if not np.isin(y, (0, 1)).all():
            raise ValueError("y must hold only 0 and 1")
        eps = np.finfo(np.float64).eps
        p = np.clip(p, eps, 1 - eps)
        self.cache = (p, y)
        return float(-(y * np.log(p) + (1 - y) * np.log1p(-p)).sum() / p.size)

    def backward(self, upstream=1.0):
        """Return dℓ/dp, the shape of p; ``upstream`` is the scalar dℓ/dℓ (1 at the root)."""
        p, y = self.cache  # noqa: F841 (yours to use: the skeleton stops at the raise below)
        # TODO: the handout's step 1 (BCE loss node). The upstream is 1 since ℓ is the root;
        #   downstream = upstream × local, the local gradient being dℓ/dp_i of the formula above
        #   (differentiate one term; do not forget the 1/N of the mean, N = p.size).
        #   Shape rule: ℓ is a scalar, so dℓ/dp has the shape of p (the handout's ℝᴺ, here (N, 1)).
        raise NotImplementedError(f"BCELoss.backward is not implemented yet (TODO in {_HERE})")
