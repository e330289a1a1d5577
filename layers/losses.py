"""Binary cross-entropy — the seed's step 1 — and its fused, logit-based twin."""

import numpy as np
from scipy.special import expit

from ._validation import as_float_array, check_binary, check_finite, check_same_shape
from .base import Layer


def _check_scalar_upstream(upstream, owner, dtype):
    """The upstream of a loss is a scalar; cast it to the input's dtype so that float32 stays float32
    (a float64 0-d array would promote the whole backward pass under NumPy 2's rules)."""
    g = np.asarray(upstream)
    if g.shape != ():
        raise ValueError(f"{owner}.backward: the loss is a scalar, so upstream must be a scalar, got shape {g.shape}")
    return g.astype(dtype)


def _check_pair(a, y, a_name, owner):
    """Public-boundary checks shared by both losses."""
    a = as_float_array(a, a_name)
    y = np.asarray(y)
    check_same_shape(a, y, a_name, "y")
    if a.size == 0:
        raise ValueError(f"{owner}: empty batch, need at least one sample")
    check_finite(a, a_name)
    check_binary(y)
    return a, y


def bce_with_logits(z, y):
    """Mean binary cross-entropy from logits, ``mean(softplus(z) − y z)``; never overflows.

    ``softplus(z) = log(1 + e^z)`` is computed as ``logaddexp(0, z)``. Shapes: z and y the same.
    """
    return float((np.logaddexp(0, z) - y * z).sum() / z.size)  # .sum()/size: the mean, 3x cheaper than np.mean


class BCELoss(Layer):
    """Binary cross-entropy averaged over the batch, taking probabilities ``p``.

    ``ℓ = −(1/N) Σ_i [ y_i log p_i + (1 − y_i) log(1 − p_i) ]``, with ``N = p.size``.

    Clamping: like scikit-learn's ``log_loss``, ``p`` is clipped to ``[eps, 1 − eps]`` with ``eps`` the
    machine epsilon of its dtype (2.2e-16 in float64), so a confident wrong answer costs at most
    ``−log(eps)`` ≈ 36 per sample instead of ``inf``. The gradient is the seed's step-1 formula
    evaluated at the clipped ``p``: inside the clip it is the exact derivative; at ``p`` = 0 or 1 it is
    finite but very large (≈ 1 / (N eps)) rather than the zero slope of the flat clipped region, so a
    saturated wrong prediction still pushes back (PyTorch bounds the same term likewise).

    Shapes
    ------
    forward:  p (any shape), y (same shape, values 0/1) -> scalar float; cache: (clipped p, y)
    backward: upstream scalar (default 1.0, ℓ is the root) -> dℓ/dp (shape of p)
    """

    def forward(self, p, y, check_input=True):
        """Mean BCE. ``check_input=False`` skips the value checks (for a caller that already did them)."""
        if check_input:
            p, y = _check_pair(p, y, "p", "BCELoss")
            if (p < 0).any() or (p > 1).any():
                raise ValueError("BCELoss: p must be probabilities in [0, 1]; pass logits to SigmoidBCELoss")
        eps = np.finfo(p.dtype).eps
        p = np.minimum(np.maximum(p, eps), 1 - eps)  # the clip; half the cost of np.clip on small arrays
        self.cache = (p, y)
        return float(-(y * np.log(p) + (1 - y) * np.log1p(-p)).sum() / p.size)  # the mean

    def backward(self, upstream=1.0):
        p, y = self._saved()
        g = _check_scalar_upstream(upstream, "BCELoss", p.dtype)
        # Step 1: dℓ/dp = (1/N) (−y/p + (1 − y)/(1 − p)); upstream is 1 at the root
        return g * (-(y / p) + (1 - y) / (1 - p)) / p.size


class SigmoidBCELoss(Layer):
    """Sigmoid followed by binary cross-entropy, fused: takes logits ``z`` (beyond the seed).

    ``ℓ_i = softplus(z_i) − y_i z_i``, with softplus computed as ``logaddexp(0, z)``, which never
    overflows. The chained Sigmoid → BCELoss gradient multiplies a huge ``1/p`` by a tiny
    ``p(1 − p)``; simplified by hand the product is ``(σ(z) − y) / N``. Where both are finite the two
    paths agree to rounding; at ``|z|`` ≈ 50 the chained pair's σ saturates to exactly 0 or 1 and its
    gradient collapses, while this one stays ``±1/N``.

    Shapes
    ------
    forward:  z (any shape), y (same shape, values 0/1) -> scalar float; cache: (z, y)
    backward: upstream scalar (default 1.0) -> dℓ/dz (shape of z)
    """

    def forward(self, z, y, check_input=True):
        if check_input:
            z, y = _check_pair(z, y, "z", "SigmoidBCELoss")
        self.cache = (z, y)
        return bce_with_logits(z, y)

    def backward(self, upstream=1.0):
        z, y = self._saved()
        g = _check_scalar_upstream(upstream, "SigmoidBCELoss", z.dtype)
        # Steps 1 and 2 at once: dℓ/dz = (σ(z) − y) / N
        return g * (expit(z) - y) / z.size
