"""Exercise: the backward pass of softmax followed by cross-entropy, fused (beyond the handout).

``SoftmaxCrossEntropyLoss.forward`` is written; its ``backward`` is yours. Check it (from the
repository's root):

    python gradcheck.py --layer exercises/softmax_cross_entropy.py:SoftmaxCrossEntropyLoss \
                        --labels classes --input-shape 8,4

(a loss takes labels, so the checker is told which: class indices in [0, K) for an input of N rows and K
columns), then inside a 3-class network: ``python gradcheck.py --classes 3 --use
exercises/softmax_cross_entropy.py:SoftmaxCrossEntropyLoss``. Stuck? Ask for a hint,
one tier at a time (1 the pattern, 2 the shape, 3 the formula and where the worked solution is):

    python gradcheck.py --layer exercises/softmax_cross_entropy.py:SoftmaxCrossEntropyLoss --hint 1

The multi-class version of the handout's sigmoid + BCE (steps 2 and 1 in one node): it takes logits
``z`` (N, K) and class indices ``y`` (N,). It is the root of the graph: ``backward`` gets dℓ/dℓ = 1.

This file is standalone (numpy only), so it can be read and copied on its own.
"""

from pathlib import Path

import numpy as np

_HERE = f"{Path(__file__).parent.name}/{Path(__file__).name}"


class SoftmaxCrossEntropyLoss:
    """``ℓ = −(1/N) Σ_i log p[i, y_i]`` with ``p = softmax(z)`` row by row. No parameters.

    Softmax is computed stably: each row's maximum is subtracted first (which does not change it), so
    ``exp`` never overflows.

    Shapes
    ------
    forward:  z (N, K) logits, y (N,) class indices in [0, K) -> ℓ, a float; cache: (p (N, K), y (N,))
    backward: upstream, a scalar (default 1.0) -> dℓ/dz (N, K)
    """

    #: The labels this loss takes: (N,) integer class indices.
    target = "classes"

    def __init__(self):
        self.params, self.grads = {}, {}
        self.cache = None

    def forward(self, z, y):
        z = np.asarray(z, dtype=np.float64)
        y = np.asarray(y)
        if z.ndim != 2 or z.shape[0] == 0 or not np.isfinite(z).all():
            raise ValueError(f"z must be a finite (N, K) array, got shape {z.shape}")
        if y.shape != (z.shape[0],) or not np.isin(y, np.arange(z.shape[1])).all():
            raise ValueError(f"y must hold {z.shape[0]} class indices in [0, {z.shape[1]})")
        y = y.astype(np.intp)
        shifted = z - z.max(axis=1, keepdims=True)
        log_p = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))  # log-softmax
        self.cache = (np.exp(log_p), y)
        return float(-log_p[np.arange(len(y)), y].sum() / len(y))

    def backward(self, upstream=1.0):
        """Return dℓ/dz, shape (N, K); ``upstream`` is the scalar dℓ/dℓ (1 at the root)."""
        p, y = self.cache  # noqa: F841 (yours to use: the skeleton stops at the raise below)
        # TODO: softmax and cross-entropy as one node, the multi-class twin of the handout's steps 2 and 1.
        #   downstream = upstream × local: differentiate −log p[i, y_i] with respect to every z[i, k]
        #   (the k = y_i entry and the others differ); then the 1/N of the mean.
        #   Shape rule: ℓ is a scalar, so dℓ/dz has the shape of z, (N, K).
        raise NotImplementedError(f"SoftmaxCrossEntropyLoss.backward is not implemented yet (TODO in {_HERE})")
