"""Affine layer ``y = x @ W + b`` — the handout's steps 3 and 5 (and its appendix)."""

import numpy as np

from .base import Layer
from .validation import check_count


class Linear(Layer):
    """Fully connected layer in the handout's orientation, ``y = x @ W (+ b)``.

    Parameters
    ----------
    in_features, out_features : int
        ``D_in`` and ``D_out``, positive integers.
    bias : bool, default True
        Add ``b`` of shape (D_out,). The handout's first layer has none.
    rng : None, int or numpy.random.Generator
        Source of the initial weights. ``W`` is drawn with **He** initialisation,
        ``N(0, 2 / D_in)``, suited to the ReLU that follows in this project; ``b`` starts at 0.
    dtype : numpy dtype, default float64

    Shapes
    ------
    forward:  x (N, D_in) -> y (N, D_out); cache: x (N, D_in)
    backward: upstream (N, D_out) -> dx (N, D_in); fills grads["W"] (D_in, D_out), grads["b"] (D_out,)
    """

    def __init__(self, in_features, out_features, bias=True, rng=None, dtype=np.float64):
        super().__init__()
        self.in_features = check_count(in_features, "in_features", "Linear")
        self.out_features = check_count(out_features, "out_features", "Linear")
        rng = np.random.default_rng(rng)
        W = rng.normal(0.0, np.sqrt(2.0 / self.in_features), size=(self.in_features, self.out_features))
        self._add_param("W", W.astype(dtype, copy=False))
        if bias:
            self._add_param("b", np.zeros(self.out_features, dtype=dtype))

    def config(self):
        return {"in_features": self.in_features, "out_features": self.out_features, "bias": "b" in self.params}

    def forward(self, x):
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.in_features:
            got = x.shape[1] if x.ndim == 2 else f"an array of shape {x.shape}"
            raise ValueError(f"Linear expects (N, {self.in_features}) inputs: {self.in_features} features, got {got}")
        self.cache = x
        y = x.dot(self.params["W"])  # the appendix: y_ij = Σ_k x_ik W_kj
        if "b" in self.params:
            y += self.params["b"]  # b broadcast over the batch
        return y

    def backward(self, upstream):
        x = self.cache
        # Step 3/5, the multiply gate on matrices: dℓ/dW = xᵀ · upstream   (D_in×N · N×D_out)
        self.grads["W"][...] = x.T.dot(upstream)
        if "b" in self.params:
            # b is broadcast across the batch, so its gradient is the batch sum: dℓ/db = Σ_i upstream_i
            upstream.sum(axis=0, out=self.grads["b"])
        # The gradient passed upstream: dℓ/dx = upstream · Wᵀ   (N×D_out · D_out×D_in)
        return upstream.dot(self.params["W"].T)
