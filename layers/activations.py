"""Non-linearities: the handout's steps 4 (ReLU) and 2 (Sigmoid), plus Tanh, LeakyReLU and Softmax.

``softmax`` and ``log_softmax`` are the one stable implementation shared by ``Softmax``,
``SoftmaxCrossEntropyLoss`` and its ``proba``.
"""

import numpy as np
from scipy.special import expit

from .base import Layer
from .validation import as_float_array, check_matrix, check_real


def _softmax_and_log(z):
    """Stable softmax and log-softmax over the last axis, sharing one exponentiation.

    Subtracting the row maximum changes nothing mathematically (softmax is shift-invariant) and makes
    every exponent ≤ 0, so ``exp`` never overflows; the row maximum contributes ``exp(0) = 1`` to the
    sum, so the sum is ≥ 1 and its log never underflows (log-sum-exp). Shapes: z (..., K) -> two
    arrays of z's shape, in z's dtype.
    """
    shifted = z - z.max(axis=-1, keepdims=True)
    exps = np.exp(shifted)
    total = exps.sum(axis=-1, keepdims=True)
    return exps / total, shifted - np.log(total)


def softmax(z):
    """``exp(z) / Σ exp(z)`` over the last axis, stable for any finite logits. Shape: that of ``z``."""
    return _softmax_and_log(np.asarray(z))[0]


def log_softmax(z):
    """``z − log Σ exp(z)`` over the last axis (log-sum-exp), stable for any finite logits."""
    return _softmax_and_log(np.asarray(z))[1]


class ReLU(Layer):
    """``h = max(0, x)`` element-wise: a max gate against 0.

    The gradient is routed where the input was strictly positive and killed elsewhere, including
    exactly at 0 (the handout's ``1[x > 0]``).

    Shapes
    ------
    forward:  x (any shape) -> h (same); cache: the indicator ``1[x > 0]`` as 0/1 (same shape, x's dtype)
    backward: upstream (same) -> dx (same)
    """

    def forward(self, x):
        self.cache = (x > 0).astype(x.dtype)  # 1[x > 0], the local gradient (0 at x = 0 itself)
        return np.maximum(0, x)

    def backward(self, upstream):
        mask = self.cache
        # Step 4, a max gate: route the upstream where x > 0, kill it elsewhere: dℓ/dx = upstream ⊙ 1[x > 0]
        return upstream * mask

    def kink_state(self):
        """The sign pattern of the last input; a change of it marks a step across the kink at 0."""
        return self.cache


class LeakyReLU(Layer):
    """``h = x`` where ``x > 0`` and ``alpha · x`` elsewhere, element-wise.

    Like ReLU, a kink at 0, where the gradient takes the left slope ``alpha`` (ReLU's convention of
    ``1[x > 0]``); unlike ReLU, the gradient is never killed, only scaled by ``alpha``.

    Parameters
    ----------
    alpha : float, default 0.01
        The slope for ``x ≤ 0``, strictly between 0 and 1 (0 would be ReLU, 1 the identity).

    Shapes
    ------
    forward:  x (any shape) -> h (same); cache: the indicator ``x > 0`` (same shape, bool)
    backward: upstream (same) -> dx (same)
    """

    def __init__(self, alpha=0.01):
        super().__init__()
        self.alpha = check_real(alpha, "alpha", "LeakyReLU", within="(0, 1)")

    def config(self):
        return {"alpha": self.alpha}

    def forward(self, x):
        positive = x > 0
        self.cache = positive
        return np.where(positive, x, self.alpha * x)

    def backward(self, upstream):
        positive = self.cache
        # upstream × local, the local slope being 1 where x > 0 and alpha elsewhere
        return np.where(positive, upstream, self.alpha * upstream)

    def kink_state(self):
        """The indicator ``x > 0`` of the last input, as for ReLU: the checker's kink detector."""
        return self.cache


class Sigmoid(Layer):
    """``y = 1 / (1 + exp(-x))`` element-wise, computed by ``scipy.special.expit`` (no overflow).

    Shapes
    ------
    forward:  x (any shape) -> y (same); cache: the **output** y (same)
    backward: upstream (same) -> dx (same)
    """

    def forward(self, x):
        y = expit(x)
        self.cache = y
        return y

    def backward(self, upstream):
        y = self.cache
        # Step 2, the sigmoid trick: σ'(x) = σ(x)(1 − σ(x)) = y(1 − y), read off the cached output
        return upstream * y * (1 - y)


class Tanh(Layer):
    """``y = tanh(x)`` element-wise.

    Like the sigmoid (the handout's step-2 trick), the local gradient is a function of the output:
    ``tanh'(x) = 1 − tanh(x)² = 1 − y²``, so only ``y`` is cached.

    Shapes
    ------
    forward:  x (any shape) -> y (same); cache: the **output** y (same)
    backward: upstream (same) -> dx (same)
    """

    def forward(self, x):
        y = np.tanh(x)
        self.cache = y
        return y

    def backward(self, upstream):
        y = self.cache
        # upstream × local, the local gradient tanh'(x) = 1 − y² read off the cached output
        return upstream * (1 - y**2)


class Softmax(Layer):
    """``p_ij = exp(x_ij) / Σ_k exp(x_ik)``: each row of an (N, K) input mapped to a probability vector.

    Computed stably (the row maximum is subtracted first), so logits of ±1000 give exact 0s and 1s,
    never NaN or overflow warnings.

    Backward. Each row is a vector → vector map, the handout's "Jacobian" row of the derivative table:
    its K×K Jacobian is ``J = diag(p) − p pᵀ`` (symmetric). Upstream × local is then the
    Jacobian-vector product ``Jᵀ g = p ⊙ (g − Σ_j g_j p_j)``, computed row by row without ever
    building ``J`` (O(K) per row instead of O(K²)).

    Shapes
    ------
    forward:  x (N, K) -> p (N, K), rows summing to 1; cache: the **output** p (N, K)
    backward: upstream (N, K) -> dx (N, K)
    """

    def forward(self, x):
        x = as_float_array(x, "x")
        check_matrix(x, "x", "Softmax")
        p = softmax(x)
        self.cache = p
        return p

    def backward(self, upstream):
        p = self.cache
        # Vector → vector: the Jacobian-vector product (diag(p) − p pᵀ) g = p ⊙ (g − gᵀp), row by row
        return p * (upstream - (upstream * p).sum(axis=1, keepdims=True))
