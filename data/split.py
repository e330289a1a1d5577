"""Seeded stratified train/validation split."""

import numpy as np

from layers.validation import ParameterError

#: The share of the rows held out for validation when nobody says otherwise (``train.py``, ``prepare``, the split).
DEFAULT_VAL_FRACTION = 0.2


def check_val_fraction(val_fraction):
    """``val_fraction`` as a float in ``[0, 1)``, the share held out; ``ParameterError`` otherwise."""
    if not 0 <= val_fraction < 1:
        raise ParameterError("train_val_split", "val_fraction", f"must be in [0, 1), got {val_fraction}")
    return float(val_fraction)


def train_val_split(X, y, val_fraction=DEFAULT_VAL_FRACTION, seed=None, stratify=True):
    """Split ``(X, y)`` keeping each class's share in both parts (``stratify``), or at random.

    Parameters
    ----------
    X : ndarray (N, D); y : ndarray (N,) of class indices (or real targets, with ``stratify=False``)
    val_fraction : float in [0, 1). 0 gives an empty validation part.
    seed : None, int or numpy.random.Generator
    stratify : True: ``round(val_fraction · n_k)`` rows of each class k are held out; False (for real
        targets): ``round(val_fraction · N)`` rows

    Returns
    -------
    X_train (N_train, D), X_val (N_val, D), y_train (N_train,), y_val (N_val,)
    """
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    train_idx, val_idx = split_indices(y, val_fraction, seed, stratify)
    return X[train_idx], X[val_idx], y[train_idx], y[val_idx]


def split_indices(y, val_fraction=DEFAULT_VAL_FRACTION, seed=None, stratify=True):
    """``(train rows, validation rows)``, int arrays into ``y``: the split ``train_val_split`` makes (same
    arguments), for data that is taken apart column by column rather than copied whole."""
    val_fraction = check_val_fraction(val_fraction)
    y = np.asarray(y)
    rng = np.random.default_rng(seed)
    val_idx = []
    for label in np.unique(y) if stratify else [None]:
        idx = rng.permutation(np.flatnonzero(y == label) if stratify else len(y))
        val_idx.append(idx[: int(round(val_fraction * len(idx)))])
    val = np.zeros(len(y), dtype=bool)
    val[np.concatenate(val_idx)] = True
    train_idx, val_idx = rng.permutation(np.flatnonzero(~val)), rng.permutation(np.flatnonzero(val))
    if len(train_idx) == 0:
        raise ParameterError("train_val_split", "val_fraction",
                             f"leaves no training samples out of {len(y)}, got {val_fraction}")
    return train_idx, val_idx
