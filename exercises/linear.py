"""Exercise: the backward pass of a fully connected layer ``y = x·W + b``, the handout's steps 3 and 5.

``Linear.forward`` is written; ``Linear.backward`` is yours. Check it (from the repository's root):

    python gradcheck.py --layer exercises/linear.py:Linear

(The default input of ``--layer`` is 8 rows of 5 features, which fits ``in_features=5``; for other
sizes pass ``--layer-args '{"in_features": 2, "out_features": 3}' --input-shape 4,2``.) Then inside
the handout's network, and step by step beside the library's numbers:

    python gradcheck.py --use exercises/linear.py:Linear
    python gradcheck.py --trace --use exercises/linear.py:Linear

Stuck? Ask for a hint, one tier at a time (1 the pattern, 2 the shape, 3 the formula and where the
worked solution is):

    python gradcheck.py --layer exercises/linear.py:Linear --hint 1

This file is standalone (numpy only), so it can be read and copied on its own.
"""

from pathlib import Path

import numpy as np

_HERE = f"{Path(__file__).parent.name}/{Path(__file__).name}"


class Linear:
    """``y = x @ W + b``, the handout's orientation (a row per sample).

    Parameters
    ----------
    in_features, out_features : int, D_in and D_out (default 5 and 3)
    bias : bool, default True. The handout's first layer ``X·w1`` has none (step 5); its second,
        ``h·w2 + b``, has one (step 3).
    seed : int or None, for the initial weights (He: normal with variance 2 / D_in); b starts at 0.

    Attributes
    ----------
    params : {"W": (D_in, D_out), "b": (D_out,)}
    grads : the same keys and shapes, for ``backward`` to fill

    Shapes
    ------
    forward:  x (N, D_in) -> y (N, D_out); cache: x (N, D_in)
    backward: upstream dℓ/dy (N, D_out) -> dℓ/dx (N, D_in); fills grads["W"], grads["b"]
    """

    def __init__(self, in_features=5, out_features=3, bias=True, seed=0):
        if int(in_features) < 1 or int(out_features) < 1:
            raise ValueError(f"Linear needs positive sizes, got ({in_features}, {out_features})")
        rng = np.random.default_rng(seed)
        W = rng.normal(0.0, np.sqrt(2.0 / in_features), size=(int(in_features), int(out_features)))
        self.params = {"W": W}
        if bias:
            self.params["b"] = np.zeros(int(out_features))
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.cache = None

    def forward(self, x):
        x = np.asarray(x, dtype=np.float64)
        d_in = self.params["W"].shape[0]
        if x.ndim != 2 or x.shape[1] != d_in:
            raise ValueError(f"Linear expects x of shape (N, {d_in}), got {x.shape}")
        self.cache = x
        y = x @ self.params["W"]
        if "b" in self.params:
            y = y + self.params["b"]  # b (D_out,) is broadcast over the N rows
        return y

    def backward(self, upstream):
        """Fill ``self.grads["W"]`` (and ``["b"]``) and return dℓ/dx, from ``upstream`` = dℓ/dy and the cached x."""
        x = self.cache  # noqa: F841 (yours to use: the skeleton stops at the raise below)
        W = self.params["W"]  # noqa: F841 (yours to use)
        # TODO: the handout's step 3 (and 5): a multiply gate on matrices, downstream = upstream × local.
        #   Shape rule: each gradient has the shape of what it is taken with respect to:
        #     dℓ/dW (D_in, D_out), like W  -- which product of x (N, D_in) and upstream (N, D_out) has it?
        #     dℓ/db (D_out,), like b       -- b was broadcast over the N rows: add up their gradients
        #     dℓ/dx (N, D_in), like x      -- which product of upstream and W has it?
        #   Put dℓ/dW and dℓ/db in self.grads["W"] and self.grads["b"] (when there is a b): written
        #   into the arrays (self.grads["W"][...] = ...) or assigned (self.grads["W"] = ...), both train.
        #   Return dℓ/dx.
        raise NotImplementedError(f"Linear.backward is not implemented yet (TODO in {_HERE})")
