"""Exercise (skeleton, harder): the backward pass of batch normalisation (beyond the handout).

``BatchNorm.forward`` is written; ``BatchNorm.backward`` is yours. Check it (from the repository's root):

    python gradcheck.py --layer exercises/batchnorm.py:BatchNorm

and inside a network with batch normalisation: ``python gradcheck.py --batchnorm --use
exercises/batchnorm.py:BatchNorm``. Stuck? Ask for a hint,
one tier at a time (1 the pattern, 2 the shape, 3 the formula and where the worked solution is):

    python gradcheck.py --layer exercises/batchnorm.py:BatchNorm --hint 1

Each feature is normalised with the mean and variance *of the batch*, so every output row depends on
every input row: the graph has a branch (x is used for the mean, the variance and x − mean), and the
handout's "copy: gradients add" pattern is the key.

This file is standalone (numpy only), so it can be read and copied on its own.
"""

from pathlib import Path

import numpy as np

_HERE = f"{Path(__file__).parent.name}/{Path(__file__).name}"


class BatchNorm:
    """``out = gamma · x̂ + beta`` with ``x̂ = (x − μ) / sqrt(σ² + eps)``, μ and σ² per feature over the batch.

    Parameters
    ----------
    num_features : int, D (default 5, the width of gradcheck's default input)
    eps : float, added to the variance
    momentum : float, weight of the newest batch in the running statistics

    Attributes
    ----------
    params : {"gamma": (D,), "beta": (D,)}; grads: the same keys and shapes
    running_mean, running_var : (D,), used instead of the batch's in evaluation mode
    training : bool, True (batch statistics) or False (running statistics)

    Shapes
    ------
    forward:  x (N, D) -> out (N, D); cache (training mode): (x̂ (N, D), 1 / sqrt(σ² + eps) (D,))
    backward: upstream dℓ/dout (N, D) -> dℓ/dx (N, D); fills grads["gamma"], grads["beta"]
    """

    def __init__(self, num_features=5, eps=1e-5, momentum=0.1):
        d = int(num_features)
        if d < 1:
            raise ValueError(f"BatchNorm needs a positive number of features, got {num_features}")
        self.eps, self.momentum = float(eps), float(momentum)
        self.params = {"gamma": np.ones(d), "beta": np.zeros(d)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.running_mean, self.running_var = np.zeros(d), np.ones(d)
        self.training = True
        self.cache = None

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        d = self.params["gamma"].shape[0]
        if x.ndim != 2 or x.shape[1] != d or x.shape[0] < 2:
            raise ValueError(f"BatchNorm expects x of shape (N, {d}) with N >= 2, got {x.shape}")
        if self.training:
            mean, var = x.mean(axis=0), x.var(axis=0)
            m = self.momentum
            self.running_mean = (1 - m) * self.running_mean + m * mean
            self.running_var = (1 - m) * self.running_var + m * var
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = 1.0 / np.sqrt(var + self.eps)
        x_hat = (x - mean) * inv_std
        self.cache = (x_hat, inv_std)
        return self.params["gamma"] * x_hat + self.params["beta"]

    def backward(self, upstream):
        """Fill ``grads["gamma"]``, ``grads["beta"]`` and return dℓ/dx, all from ``upstream`` and the cache."""
        x_hat, inv_std = self.cache  # noqa: F841 (yours to use: the skeleton stops at the raise below)
        gamma = self.params["gamma"]  # noqa: F841 (yours to use)
        # TODO (training mode): downstream = upstream × local, node by node.
        #   gamma and beta are broadcast over the N rows, like the handout's b in step 3: their
        #   gradients add up over the batch. Shape rule: dℓ/dgamma and dℓ/dbeta are (D,), dℓ/dx is (N, D).
        #   For dℓ/dx, x reaches x̂ along three paths (x − μ, μ and σ²): by the copy pattern, add the
        #   three contributions; every sum over the batch is an (N, D) -> (D,) reduction.
        raise NotImplementedError(f"BatchNorm.backward is not implemented yet (TODO in {_HERE})")
