"""Normalisation beyond ``BatchNorm``: ``BatchNorm2d`` (CS231n's spatial batch norm) and ``LayerNorm``."""

import numpy as np

from .base import Layer
from .regularization import BatchNorm
from .validation import check_count, check_real


class BatchNorm2d(BatchNorm):
    """Spatial batch normalisation of (N, C, H, W) inputs: ``BatchNorm`` with each channel a feature.

    Every pixel of a channel is one more sample of that channel's statistics, so the mean and (biased)
    variance are over N, H and W, and ``γ``, ``β``, the running statistics and their momentum are per channel,
    exactly as in ``BatchNorm`` (whose docstring has the backward and the momentum convention). CS231n's
    ``spatial_batchnorm_forward`` does it the same way: move the channels last, reshape to (N·H·W, C), call
    batch norm, and undo both — reshapes, whose local gradient is the identity, on the way back too.

    Parameters
    ----------
    num_features : int
        C, the number of channels. ``momentum``, ``eps`` and ``dtype`` as in ``BatchNorm``.

    Shapes
    ------
    forward:  x (N, C, H, W) -> out (N, C, H, W); cache: BatchNorm's, of the (N·H·W, C) reshaping
    backward: upstream (N, C, H, W) -> dx (N, C, H, W); fills grads["gamma"] (C,), grads["beta"] (C,)
    """

    #: one image has H·W pixels per channel to take a variance over
    min_batch = 1

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim != 4 or x.shape[1] != self.num_features:
            raise ValueError(f"BatchNorm2d expects (N, {self.num_features}, H, W) inputs: {self.num_features} "
                             f"channels (num_features), got an array of shape {x.shape}")
        n, c, h, w = x.shape
        out = super().forward(x.transpose(0, 2, 3, 1).reshape(-1, c))
        return out.reshape(n, h, w, c).transpose(0, 3, 1, 2)

    def backward(self, upstream):
        n, c, h, w = upstream.shape
        dx = super().backward(upstream.transpose(0, 2, 3, 1).reshape(-1, c))
        return dx.reshape(n, h, w, c).transpose(0, 3, 1, 2)


class LayerNorm(Layer):
    """Layer normalisation: each sample normalised over its last axis, ``out = γ ⊙ (x − μ) / sqrt(σ² + eps) + β``.

    BatchNorm turned sideways (CS231n's ``layernorm_forward``): μ and the biased σ² are each row's own, over its
    D features, so the layer behaves the same in training and evaluation and keeps no running statistics.
    The backward is BatchNorm's closed form with the means taken along the row instead of down the batch::

        dx̂ = upstream ⊙ γ
        dx  = (1/σ) (dx̂ − mean(dx̂) − x̂ ⊙ mean(dx̂ ⊙ x̂))        (means over the last axis)

    Parameters
    ----------
    num_features : int
        D, the length of the last axis. ``eps`` as in ``BatchNorm``.

    Shapes
    ------
    forward:  x (..., D) -> out (same); cache: (x̂ (same), 1/σ (..., 1))
    backward: upstream (same) -> dx (same); fills grads["gamma"] (D,), grads["beta"] (D,)
    """

    def __init__(self, num_features, eps=1e-5, dtype=np.float64):
        super().__init__()
        self.num_features = check_count(num_features, "num_features", "LayerNorm")
        self.eps = check_real(eps, "eps", "LayerNorm", within="(0, inf)")
        self._add_param("gamma", np.ones(self.num_features, dtype=dtype))
        self._add_param("beta", np.zeros(self.num_features, dtype=dtype))

    def config(self):
        return {"num_features": self.num_features, "eps": self.eps}

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim < 1 or x.shape[-1] != self.num_features:
            raise ValueError(f"LayerNorm expects inputs of {self.num_features} features on the last axis "
                             f"(num_features), got an array of shape {x.shape}")
        centred = x - x.mean(axis=-1, keepdims=True)
        inv_std = 1 / np.sqrt((centred**2).mean(axis=-1, keepdims=True) + self.eps)
        x_hat = centred * inv_std
        self.cache = (x_hat, inv_std)
        return self.params["gamma"] * x_hat + self.params["beta"]

    def backward(self, upstream):
        x_hat, inv_std = self.cache
        batch_axes = tuple(range(upstream.ndim - 1))  # γ and β are shared by every row: their gradients sum
        self.grads["beta"][...] = upstream.sum(axis=batch_axes)
        self.grads["gamma"][...] = (upstream * x_hat).sum(axis=batch_axes)
        dx_hat = upstream * self.params["gamma"]
        mean = dx_hat.mean(axis=-1, keepdims=True)
        return inv_std * (dx_hat - mean - x_hat * (dx_hat * x_hat).mean(axis=-1, keepdims=True))
