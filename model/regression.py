"""A regression's two rules beside the network: the scaling of its targets, and its scores.

The network is the classifier's body with a linear output and ``MSELoss``:
``[Standardize] → (Linear → [BatchNorm] → activation → [Dropout]) per hidden width → Linear(H, 1)``.
It is trained on standardised targets, ``(y − mean) / scale`` (the per-epoch losses are in those units),
and the scaling is then folded into the output layer — ``W ← scale · W``, ``b ← scale · b + mean`` — so the
saved model predicts in the targets' own units and is evaluated like any other.
"""

from dataclasses import dataclass

import numpy as np

from .metrics import mae, r2, rmse


@dataclass
class TargetScaling:
    """``(y − mean) / scale`` for training, folded into the output layer afterwards (``fold_into``)."""

    mean: float
    scale: float

    @classmethod
    def fit(cls, y):
        """The training targets' mean and standard deviation (1 for constant targets)."""
        y = np.asarray(y, dtype=np.float64)
        std = float(y.std())
        return cls(float(y.mean()), std if std > 0 else 1.0)

    def apply(self, y):
        return (np.asarray(y, dtype=np.float64) - self.mean) / self.scale

    def fold_into(self, net):
        """Make ``net``, trained on scaled targets, predict raw ones: its last layer (a ``Linear`` with ``W``
        and ``b``) becomes ``scale · W`` and ``scale · b + mean``, in place."""
        out = net.layers[-1]
        W, b = out.params["W"], out.params["b"]
        W *= self.scale
        b *= self.scale
        b += self.mean


def regression_metrics(net, X, y):
    """``{"loss", "rmse", "r2", "mae", "n"}`` of ``net`` on real targets ``y`` (N,): the mean squared error, its
    root, the coefficient of determination and the mean absolute error, as ``model.metrics`` (and
    scikit-learn) compute them; predicted block by block (``net.predict``)."""
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    predicted = np.asarray(net.predict(X), dtype=np.float64).reshape(-1)
    mse = float(np.square(predicted - y).sum()) / max(y.size, 1)
    return {"loss": mse, "rmse": rmse(y, predicted), "r2": r2(y, predicted), "mae": mae(y, predicted), "n": int(y.size)}
