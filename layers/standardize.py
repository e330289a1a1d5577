"""Input standardisation as a layer: ``(x − mean) / scale``, fitted once, never trained."""

import numpy as np

from .base import Layer
from .validation import check_count

#: Bytes of the float64 deviations ``Standardize.fit`` holds at once (a block of rows).
FIT_BYTES = 1 << 23


class Standardize(Layer):
    """Shift and scale each feature, ``y = (x − mean) / scale`` — a fixed affine node.

    It has no trainable parameters: ``fit`` sets ``mean`` and ``scale`` from training data (zero
    mean and unit variance per feature; a constant feature gets scale 1), and they are saved with the
    model in ``buffers``, so a saved model takes raw points. Until fitted it is the identity.

    Its local gradient is ``1 / scale`` per feature, so ``backward`` returns ``upstream / scale``:
    the gradient checker sees dℓ/dX of the raw input, through this node.

    Parameters
    ----------
    num_features : int, D
    dtype : numpy float dtype of the buffers, default float64

    Shapes
    ------
    forward:  x (N, D) -> y (N, D); cache: the scale (D,) it divided by (the node is affine)
    backward: upstream (N, D) -> dx (N, D)
    buffers:  mean (D,), scale (D,)
    """

    #: Applied once to the whole data set before training (see ``model.Sequential.split_preprocessing``).
    preprocessing = True

    def __init__(self, num_features, dtype=np.float64):
        super().__init__()
        self.num_features = check_count(num_features, "num_features", "Standardize")
        self.buffers = {"mean": np.zeros(self.num_features, dtype=dtype),
                        "scale": np.ones(self.num_features, dtype=dtype)}
        self.is_identity = True  # kept in step with the buffers by ``set``: forward need not look
        self.fitted = False  # True once ``fit`` or ``set`` gave it its statistics; training then keeps them

    @property
    def mean(self):
        return self.buffers["mean"]

    @property
    def scale(self):
        return self.buffers["scale"]

    def config(self):
        return {"num_features": self.num_features}

    def fit(self, X):
        """Set ``mean`` and ``scale`` from ``X`` (N, D) in place; returns self.

        Two passes over blocks of rows, with float64 sums: ``mean = Σ x / N``, then
        ``std = sqrt(Σ (x − mean)² / N)``. A block's deviations are the only temporary (about
        ``FIT_BYTES``), so fitting needs no (N, D) copy of the data.
        """
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.num_features or len(X) == 0:
            raise ValueError(f"Standardize.fit expects a non-empty (N, {self.num_features}) array, got shape {X.shape}")
        rows = max(1, FIT_BYTES // (8 * X.shape[1]))
        blocks = [X[start:start + rows] for start in range(0, len(X), rows)]
        mean = sum(block.sum(axis=0, dtype=np.float64) for block in blocks) / len(X)
        variance = sum(((block - mean) ** 2).sum(axis=0) for block in blocks) / len(X)
        std = np.sqrt(variance)
        constant = std <= 10 * np.finfo(np.float64).eps * np.abs(mean)  # all one value, up to rounding
        return self.set(mean, np.where(constant | (std == 0), 1.0, std))

    def set(self, mean, scale):
        """Set the shift and scale, each (D,), finite, scale > 0; returns self."""
        mean, scale = np.asarray(mean, dtype=np.float64), np.asarray(scale, dtype=np.float64)
        shape = (self.num_features,)
        if mean.shape != shape or scale.shape != shape:
            raise ValueError(f"mean and scale must have shape {shape}, got {mean.shape} and {scale.shape}")
        if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError("standardisation: mean must be finite and scale finite and > 0 "
                             "(are the data's values too large to standardise?)")
        self.mean[...], self.scale[...] = mean, scale
        self.is_identity = not self.mean.any() and bool((self.scale == 1).all())
        self.fitted = True
        return self

    def forward(self, x):
        self.cache = self.scale
        if self.is_identity:
            return x
        return (x - self.mean) / self.scale

    def backward(self, upstream):
        scale = self.cache
        # An affine node: the local gradient is 1/scale per feature, times the upstream
        return upstream / scale
