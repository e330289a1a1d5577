"""Layers that behave differently in training and evaluation mode: ``Dropout`` and ``BatchNorm``."""

import numpy as np

from .base import Layer
from .validation import as_float_array, check_count, check_real


class Dropout(Layer):
    """Inverted dropout: in training, zero each unit with probability ``p`` and scale the rest by 1/(1 − p).

    The scaling makes ``E[output] = input``, so evaluation mode is simply the identity (no rescaling at
    test time). The output is ``x ⊙ m`` with ``m`` the scaled mask (0 or 1/(1 − p) per element), a
    multiply gate whose other input is a constant: backward is ``upstream ⊙ m``, with the same ``m``.

    Parameters
    ----------
    p : float, default 0.5
        The probability of **dropping** a unit, in [0, 1). ``p = 0`` is the identity in both modes.
    rng : None, int or numpy.random.Generator
        Seeds ``self.rng = np.random.default_rng(rng)``, the one and only source of the masks. A
        gradient checker that saves and restores ``self.rng``'s state therefore sees the same mask on
        every forward pass.

    Shapes
    ------
    forward:  x (any shape) -> out (same); cache: the scaled mask (x's shape and dtype), or the
              number 1.0 when the pass was the identity (eval mode or p = 0)
    backward: upstream (same) -> dx (same)
    """

    def __init__(self, p=0.5, rng=None):
        super().__init__()
        self.p = check_real(p, "p", "Dropout", within="[0, 1)", note=" (the drop probability)")
        self.rng = np.random.default_rng(rng)

    @property
    def stochastic(self):
        """True when training draws a new mask at every forward pass (what a full-batch line search cannot follow)."""
        return self.p > 0

    def config(self):
        return {"p": self.p}

    def forward(self, x):
        x = as_float_array(x, "x")
        if not self.training or self.p == 0:
            self.cache = 1.0  # the identity: every unit kept, none scaled
            return x
        keep = self.rng.random(x.shape) >= self.p  # kept with probability 1 − p
        mask = keep.astype(x.dtype) * x.dtype.type(1 / (1 - self.p))
        self.cache = mask
        return x * mask

    def backward(self, upstream):
        mask = self.cache
        # Multiply gate with a constant: dℓ/dx = upstream ⊙ mask, the mask of the forward pass
        return upstream * mask


def _buffer(name, doc):
    """A property reading and assigning ``buffers[name]``."""
    return property(lambda self: self.buffers[name], lambda self, value: self.buffers.__setitem__(name, value), doc=doc)


class BatchNorm(Layer):
    """Batch normalisation of (N, D) inputs: ``out = γ ⊙ (x − μ) / sqrt(σ² + eps) + β`` per feature.

    Training mode normalises with the batch mean ``μ`` and the **biased** batch variance ``σ²``
    (divided by N, as CS231n and PyTorch both do) and updates the running statistics in place, the
    CS231n way::

        running_mean = momentum · running_mean + (1 − momentum) · μ
        running_var  = momentum · running_var  + (1 − momentum) · σ²      (biased σ²)

    Note for PyTorch users: PyTorch's ``momentum`` is 1 − ours (its 0.1 is our 0.9), and PyTorch puts
    the *unbiased* variance (divided by N − 1) into ``running_var``. Evaluation mode normalises with the
    running statistics, so the layer is a fixed affine map per feature.

    Backward in training mode. Every sample's output depends on the whole batch through μ and σ², so
    the staged graph (mean, centre, variance, inverse std, normalise, scale, shift) has two extra
    paths back to ``x``. Summed and simplified by hand, with ``x̂`` the normalised input::

        dx̂ = upstream ⊙ γ
        dx  = (1/σ) (dx̂ − mean(dx̂) − x̂ ⊙ mean(dx̂ ⊙ x̂))        (means over the batch axis)

    The two subtracted means are the gradient through μ and through σ². For an all-equal upstream both
    cancel ``dx̂`` exactly and ``dx ≈ 0`` (the output's batch sum does not depend on ``x``), so such
    an upstream cannot tell a correct backward from one that drops a term: check with a random one.

    Parameters
    ----------
    num_features : int
        D, the number of features normalised independently.
    momentum : float in [0, 1], default 0.9
        Weight of the old value in the running-statistics update (CS231n convention).
    eps : float > 0, default 1e-5
        Added to the variance before the square root.
    dtype : numpy dtype, default float64
        Of the parameters and buffers (not part of ``config()``; use ``astype`` to change it).

    Attributes
    ----------
    params : ``gamma`` (D,) starting at 1, ``beta`` (D,) starting at 0
    buffers : ``running_mean`` (D,) starting at 0, ``running_var`` (D,) starting at 1
    running_mean, running_var : the arrays in ``buffers`` (the same objects)

    Shapes
    ------
    forward:  x (N, D) -> out (N, D); cache: (x̂ (N, D), 1/σ (D,), whether batch statistics were used)
    backward: upstream (N, D) -> dx (N, D); fills grads["gamma"] (D,), grads["beta"] (D,)
    """

    #: a batch needs two samples or more in training mode: one has no variance to normalise with
    min_batch = 2

    def __init__(self, num_features, momentum=0.9, eps=1e-5, dtype=np.float64):
        super().__init__()
        owner = type(self).__name__  # BatchNorm2d's refusals name it
        self.num_features = check_count(num_features, "num_features", owner)
        self.momentum = check_real(momentum, "momentum", owner, within="[0, 1]")
        self.eps = check_real(eps, "eps", owner, within="(0, inf)")
        d = self.num_features
        self._add_param("gamma", np.ones(d, dtype=dtype))
        self._add_param("beta", np.zeros(d, dtype=dtype))
        self.buffers["running_mean"] = np.zeros(d, dtype=dtype)
        self.buffers["running_var"] = np.ones(d, dtype=dtype)

    running_mean = _buffer("running_mean", "The running mean of the features: the buffer itself, (D,).")
    running_var = _buffer("running_var", "The running (biased) variance of the features: the buffer itself, (D,).")

    def config(self):
        return {"num_features": self.num_features, "momentum": self.momentum, "eps": self.eps}

    def _check_input(self, x):
        x = as_float_array(x, "x")
        d = self.num_features
        if x.ndim != 2 or x.shape[1] != d:
            got = f"{x.shape[1]} features" if x.ndim == 2 else f"an array of shape {x.shape}"
            raise ValueError(f"BatchNorm expects (N, {d}) inputs: {d} features (num_features), got {got}")
        if x.shape[0] == 0:
            raise ValueError("BatchNorm: empty batch, need at least one sample")
        if self.training and x.shape[0] == 1:
            raise ValueError(
                "BatchNorm: a batch of 1 sample in training mode has no variance to normalise with; "
                "use batches of at least 2 samples, or eval() mode"
            )
        return x

    def _update_running(self, mean, var):
        """The CS231n running average, in place so the buffer arrays stay the same objects."""
        m = self.momentum
        for buf, batch in ((self.running_mean, mean), (self.running_var, var)):
            buf *= m
            buf += (1 - m) * batch

    def forward(self, x):
        x = self._check_input(x)
        if self.training:
            mean = x.mean(axis=0)
            centred = x - mean
            var = (centred**2).mean(axis=0)  # biased: divided by N
            self._update_running(mean, var)
        else:
            centred = x - self.running_mean
            var = self.running_var
        inv_std = 1 / np.sqrt(var + self.eps)
        x_hat = centred * inv_std
        self.cache = (x_hat, inv_std, self.training)
        return self.params["gamma"] * x_hat + self.params["beta"]

    def backward(self, upstream):
        x_hat, inv_std, batch_stats = self.cache
        # Add gate (shift, β broadcast over the batch): dℓ/dβ = Σ_i upstream_i
        self.grads["beta"][...] = upstream.sum(axis=0)
        # Multiply gate (scale, γ broadcast too): dℓ/dγ = Σ_i upstream_i ⊙ x̂_i, and dℓ/dx̂ = upstream ⊙ γ
        self.grads["gamma"][...] = (upstream * x_hat).sum(axis=0)
        dx_hat = upstream * self.params["gamma"]
        if not batch_stats:
            # Eval mode: x̂ = (x − running_mean)/σ is affine in x, so dℓ/dx = dℓ/dx̂ / σ
            return dx_hat * inv_std
        # Through x̂ directly, through μ and through σ², summed (closed form, see the class docstring)
        return inv_std * (dx_hat - dx_hat.mean(axis=0) - x_hat * (dx_hat * x_hat).mean(axis=0))
