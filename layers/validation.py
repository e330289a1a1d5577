"""Checks at the public boundary: each raises ``ValueError`` saying what was expected and what was got."""

import numpy as np


class ParameterError(ValueError):
    """A constructor or function argument out of its range, naming the parameter.

    ``owner`` is who refused it (``"Dropout"``, ``"train"``), ``param`` the parameter's name as the
    library spells it (``"p"``, ``"epochs"``) and ``reason`` the rest of the sentence ("must be in
    [0, 1), got 1.5"). A command line maps ``param`` to its flag and prints ``reason`` after it.
    """

    def __init__(self, owner, param, reason):
        super().__init__(f"{owner}: {param} {reason}")
        self.owner, self.param, self.reason = owner, param, reason


def as_float_array(x, name):
    """Return ``x`` as a floating ndarray (no copy if it already is one; integers and booleans become float64)."""
    arr = np.asarray(x)
    if arr.dtype.kind == "f":
        return arr
    if arr.dtype.kind in "iub":
        return arr.astype(np.float64)
    raise ValueError(f"{name} must be numeric, got an array of dtype {arr.dtype}")


def check_same_shape(a, b, name_a, name_b):
    """Refuse two arrays of different shapes (no silent broadcasting of (N,) against (N, 1))."""
    if a.shape != b.shape:
        raise ValueError(f"{name_a} and {name_b} must have the same shape, got {a.shape} and {b.shape}")


def check_finite(a, name):
    """Refuse NaN or infinity anywhere in ``a``."""
    if not np.isfinite(a).all():
        bad = tuple(int(i) for i in np.argwhere(~np.isfinite(np.asarray(a)))[0])
        raise ValueError(f"{name} must be finite, found {np.asarray(a)[bad]} at index {bad}")


def check_binary(y, name="y"):
    """Refuse labels other than 0 and 1 (ints, bools or floats are all fine), naming the first offender."""
    y = np.asarray(y)
    if y.dtype.kind == "f" and not np.count_nonzero(y * (1 - y)):  # 0 exactly when every y is 0 or 1 (not NaN)
        return
    if y.dtype.kind in "iu" and not np.count_nonzero(y >> 1):  # only 0 and 1 have no bit above the first (-1 has)
        return
    ok = (y == 0) | (y == 1)  # False for NaN
    if not ok.all():
        idx = tuple(int(i) for i in np.argwhere(~ok)[0])
        raise ValueError(f"{name} must contain only 0 and 1, found {y[idx].item()!r} at index {idx}")


def check_real(value, name, owner, within=None, note=""):
    """Return ``value`` as a Python float, refusing booleans, non-numbers and NaN/infinity.

    ``within`` optionally names an interval in the usual notation, ``"[0, 1)"`` or ``"(0, inf)"``, and
    ``note`` a few words said after it. Every refusal is a ``ParameterError`` naming ``owner`` and ``name``.
    """
    if isinstance(value, (bool, np.bool_)):
        raise ParameterError(owner, name, f"must be a number, got the boolean {value!r}")
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ParameterError(owner, name, f"must be a number, got {value!r}") from None
    if not np.isfinite(out):
        raise ParameterError(owner, name, f"must be finite, got {out!r}")
    if within is not None and not _inside(out, within):
        raise ParameterError(owner, name, f"must be in {within}{note}, got {out!r}")
    return out


def _inside(x, interval):
    """Whether ``x`` lies in ``interval``, written ``"[a, b)"`` and the like (``inf`` allowed)."""
    low, high = (float(end) for end in interval[1:-1].split(","))
    above = low <= x if interval[0] == "[" else low < x
    below = x <= high if interval[-1] == "]" else x < high
    return above and below


def is_integer(value):
    """Whether ``value`` is an integer: a Python or NumPy int, not a bool (``True`` is no count) and not ``2.0``."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def check_count(value, name, owner):
    """Return ``value`` as a positive Python int, refusing booleans and non-integral numbers (``ParameterError``)."""
    if not is_integer(value) or value < 1:
        raise ParameterError(owner, name, f"must be a positive integer, got {value!r}")
    return int(value)


def check_integer(value, name, owner, least, why=""):
    """Return ``value`` as a Python int ``>= least`` (an integer as ``is_integer`` says), else a ``ParameterError``."""
    if not is_integer(value) or value < least:
        raise ParameterError(owner, name, f"must be an integer >= {least}{why}, got {value!r}")
    return int(value)


def check_matrix(a, name, owner):
    """Refuse anything but a non-empty (N, K) array: at least one sample and one column."""
    if a.ndim != 2:
        raise ValueError(f"{owner} expects {name} of shape (N, K), got an array of shape {a.shape}")
    if a.shape[0] == 0:
        raise ValueError(f"{owner}: empty batch, need at least one sample, got {name} of shape {a.shape}")
    if a.shape[1] == 0:
        raise ValueError(f"{owner}: need at least one column (class), got {name} of shape {a.shape}")


def check_probabilities(p, name, owner, hint=""):
    """Refuse NaN and infinity (as ``check_finite``), then values outside [0, 1], naming the first and its index."""
    if not p.size or (p.min() >= 0 and p.max() <= 1):  # a NaN fails both comparisons
        return
    check_finite(p, name)
    idx = tuple(int(i) for i in np.argwhere((p < 0) | (p > 1))[0])
    raise ValueError(f"{owner}: {name} must be probabilities in [0, 1], found {p[idx].item()!r} at index {idx}{hint}")


def check_class_labels(y, n, k, name="y"):
    """Return ``y`` as an integer index vector after checking it holds ``n`` class indices in [0, k).

    Accepted: integer, boolean or integral float values (``2.0`` is class 2). Refused, naming the first
    offending label and its index: a shape other than (n,) (a column (n, 1) is not silently flattened),
    non-numbers, NaN, non-integral values (``1.5``), negative values and values ≥ ``k``.
    """
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"{name} must be a vector of {n} class indices (one per row), shape ({n},), "
                         f"got shape {y.shape}")
    if y.dtype.kind not in "biuf":
        raise ValueError(f"{name} must hold integer class indices, got an array of dtype {y.dtype}")
    ok = (y >= 0) & (y < k)
    if y.dtype.kind == "f":
        ok &= y == np.floor(y)  # False for NaN, whose comparisons are all False
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        raise ValueError(f"{name}[{i}] = {y[i].item()!r} is not a class index: expected integers in [0, {k}) "
                         f"for {k} classes")
    return y.astype(np.intp, copy=False)


def as_index(y):
    """``y`` as an integer array usable for indexing, without any check (labels already checked)."""
    y = np.asarray(y)
    return y if y.dtype.kind in "iu" else y.astype(np.intp)
