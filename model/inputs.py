"""Validation at a network's public boundary: data in, the form its loss takes out.

Each check raises ``ValueError`` saying what was expected and what was got. The training loop calls
these once per data set, never per step.
"""

import math

import numpy as np

from layers.validation import check_binary, check_class_labels, check_finite


def check_X(net, X):
    """Return ``X`` as a (N, D) array of ``net.dtype``, or raise ``ValueError`` saying why not."""
    X = np.asarray(X)
    if X.dtype != net.dtype:
        if X.dtype.kind not in "fiub":
            raise ValueError(f"X must be numeric, got dtype {X.dtype}")
        X = X.astype(net.dtype)
    if X.ndim != 2 and (X.ndim < 2 or net.input_dim is not None):  # (N, C, H, W) images go to the first layer
        raise ValueError(f"X must be 2-D (N, {net.input_dim or 'D'}), got shape {X.shape}")
    if net.input_dim is not None and X.shape[1] != net.input_dim:
        raise ValueError(f"X must have {net.input_dim} columns (the network's input width), got {X.shape[1]}")
    if X.shape[0] < 1:
        raise ValueError("X is empty: need at least one sample")
    if not math.isfinite(X.sum()):  # NaN and inf survive a sum: the cheap test, then the one that names them
        check_finite(X, "X")
    return X


def check_Xy(net, X, y):
    """Validate a labelled batch; return ``X`` and ``y`` in the form ``net``'s loss takes.

    ``y`` holds one label per row of ``X``: shape (N,), or (N, K) for a K-wide binary or values head. A
    single-output head's (N,) labels are reshaped to (N, 1) here, explicitly; an (N, 1) array is refused,
    never broadcast. Binary labels must be 0 or 1; class labels integers in [0, K).
    """
    X = check_X(net, X)
    if y is None:
        raise ValueError("y is missing: labels are needed alongside X")
    y = np.asarray(y)
    n = X.shape[0]
    if y.dtype.kind not in "fiub":
        raise ValueError(f"y must hold numeric labels, got dtype {y.dtype}")
    if net.target is None:
        net.target = infer_target(net.output_dim, y)
    if net.target == "classes":
        return X, check_class_labels(y, n, net.output_dim or int(y.max()) + 1)
    width = net.output_dim or 1
    want = (n,) if width == 1 else (n, width)
    if y.shape != want:
        raise ValueError(f"y must have shape {want} to match X and the network's output, got {y.shape}")
    if net.target == "binary":
        check_binary(y)
    labels = y.astype(net.dtype, copy=False).reshape(n, width)
    if net.target == "values" and not np.isfinite(labels).all():
        check_finite(labels, "y")
    return X, labels


def infer_target(width, y):
    """The kind of labels a loss that declares none takes, from the network's output width and the labels.

    Several outputs and one integer label per row: class indices. Labels that are all 0 or 1: binary.
    Anything else: real values (a regression).
    """
    integral = y.dtype.kind in "biu" or (y.dtype.kind == "f" and bool(np.all(y == np.round(y))))
    if (width or 1) >= 2 and y.ndim == 1 and integral:
        return "classes"
    if y.size and bool(np.all((y == 0) | (y == 1))):
        return "binary"
    return "values"
