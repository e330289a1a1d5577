"""Checks at the public boundary: each raises ``ValueError`` saying what was expected and what was got."""

import numpy as np


def as_float_array(x, name):
    """Return ``x`` as a floating ndarray (no copy if it already is one).

    Integers and booleans are converted to float64; anything else non-numeric is refused.
    """
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        return arr
    if arr.dtype.kind in "iub":
        return arr.astype(np.float64)
    raise ValueError(f"{name} must be numeric, got an array of dtype {arr.dtype}")


def check_same_shape(a, b, name_a, name_b):
    """Refuse two arrays of different shapes (no silent broadcasting of (N,) against (N, 1))."""
    if np.shape(a) != np.shape(b):
        raise ValueError(
            f"{name_a} and {name_b} must have the same shape, got {np.shape(a)} and {np.shape(b)}"
        )


def check_finite(a, name):
    """Refuse NaN or infinity anywhere in ``a``."""
    if not np.isfinite(a).all():
        bad = np.argwhere(~np.isfinite(np.asarray(a)))[0]
        raise ValueError(f"{name} must be finite, found {np.asarray(a)[tuple(bad)]} at index {tuple(bad)}")


def check_binary(y, name="y"):
    """Refuse labels other than 0 and 1 (ints, bools or floats are all fine)."""
    y = np.asarray(y)
    ok = (y == 0) | (y == 1)
    if not ok.all():
        bad = y[~ok].flat[0]
        raise ValueError(f"{name} must contain only 0 and 1, found {bad!r}")


def check_upstream(upstream, shape, owner):
    """Return ``upstream`` as an array after checking it has the forward output's shape."""
    g = np.asarray(upstream)
    if g.shape != tuple(shape):
        raise ValueError(
            f"{owner}.backward: upstream gradient has shape {g.shape}, "
            f"expected {tuple(shape)} (the shape of forward's output)"
        )
    return g
