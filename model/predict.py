"""Prediction and evaluation: the network in evaluation mode, over blocks of rows.

Working in blocks of ``ROWS`` rows bounds the extra memory of a pass at any N. A pass leaves every
layer's mode as it found it; it replaces the layers' caches, so a loss taken before it can no longer
be differentiated (``Sequential.backward`` then says so instead of using the wrong cache).
"""

import numpy as np
from scipy.special import expit, softmax

from layers.protocol import set_mode

from .inputs import check_X, check_Xy

#: rows per block of a prediction or evaluation pass
ROWS = 16384


def outputs(net, X, rows=ROWS):
    """The network's outputs for already checked ``X`` (N, D), in evaluation mode, block by block."""
    modes = [(layer, layer.training) for layer in net.layers if hasattr(layer, "training")]
    try:
        for layer, _ in modes:
            set_mode(layer, False)
        blocks = [net.forward(X[i:i + rows]) for i in range(0, len(X), rows)]
    finally:
        net._pending = False  # the caches now hold this pass, which no loss follows
        for layer, mode in modes:
            set_mode(layer, mode)
    return blocks[0] if len(blocks) == 1 else np.concatenate(blocks)


def predict_proba(net, X, rows=ROWS):
    """Class probabilities for raw points: (N,) P(class 1) for a single sigmoid output, else (N, K)."""
    if net.target == "values":
        raise ValueError("predict_proba needs a classification loss; this network regresses values")
    X = check_X(net, X)
    p = np.concatenate([proba(net, outputs(net, X[i:i + rows])) for i in range(0, len(X), rows)])
    return p.ravel() if p.shape[1] == 1 else p


def predict(net, X, rows=ROWS):
    """Class indices (N,) for a classifier (values (N, K) for a regression head), block by block."""
    X = check_X(net, X)
    return np.concatenate([decide(net, outputs(net, X[i:i + rows])) for i in range(0, len(X), rows)])


def proba(net, out):
    """Probabilities from network outputs (N, K) -> (N, K): the loss's own ``proba`` (every library classification
    loss has one, ``SVMLoss``'s the softmax of its scores by convention) or, for a loss without one (a learner's),
    the outputs themselves where they already are probabilities (a loss after Sigmoid or Softmax), else their
    sigmoid (one column) or softmax (several)."""
    if callable(getattr(net.criterion, "proba", None)):
        return net.criterion.proba(out)
    if out.shape[1] == 1:
        return out if np.all((out >= 0) & (out <= 1)) else expit(out)
    if np.all(out >= 0) and np.allclose(out.sum(axis=1), 1.0):
        return out
    return softmax(out, axis=1)


def decide(net, out):
    """The decision for network outputs ``out``: arg-max, probability > ½, or the values themselves."""
    if net.target == "values":
        return out
    if net.target == "classes":
        return out.argmax(axis=1)
    p = proba(net, out)
    decided = (p > 0.5).astype(np.int64)
    return decided.ravel() if p.shape[1] == 1 else decided


def count_correct(net, out, y):
    """How many rows of outputs ``out`` the network decides as their (checked) labels ``y`` say; 0 for values.

    A K-wide binary head counts each row by the fraction of its K outputs decided right.
    """
    if net.target == "values":
        return 0.0
    if net.target == "classes":
        return float(np.count_nonzero(out.argmax(axis=1) == y))
    decided = decide(net, out)
    return float(np.count_nonzero(decided == (y > 0.5).reshape(decided.shape))) / max(decided[0].size, 1)


def evaluate(net, X, y, rows=ROWS):
    """``{"loss", "accuracy", "n"}`` on a labelled set, in evaluation mode, block by block: the loss is the
    **data loss alone** (no weight-decay penalty), so it is comparable across values of λ; accuracy is None
    for a regression head."""
    return evaluate_checked(net, *check_Xy(net, X, y), rows)


def evaluate_checked(net, X, y, rows=ROWS):
    """``evaluate`` for data already returned by ``model.inputs.check_Xy`` (the training loop's)."""
    n = len(X)
    loss, correct = 0.0, 0.0
    for i in range(0, n, rows):
        out = outputs(net, X[i:i + rows], rows)
        labels = y[i:i + rows]
        loss += float(net.data_loss(out, labels)) * len(out)  # the pass already replaced the caches
        correct += count_correct(net, out, labels)
    accuracy = None if net.target == "values" else correct / n
    return {"loss": loss / n, "accuracy": accuracy, "n": int(n)}
