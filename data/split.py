"""Seeded stratified train/validation split."""

import numpy as np


def train_val_split(X, y, val_fraction=0.2, seed=None):
    """Split ``(X, y)`` keeping each class's share in both parts.

    Parameters
    ----------
    X : ndarray (N, D); y : ndarray (N,) of class indices
    val_fraction : float in [0, 1). 0 gives an empty validation part.
    seed : None, int or numpy.random.Generator

    Returns
    -------
    X_train (N_train, D), X_val (N_val, D), y_train (N_train,), y_val (N_val,)
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    X, y = np.asarray(X), np.asarray(y)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)} labels")
    rng = np.random.default_rng(seed)
    val_idx = []
    for label in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == label))
        val_idx.append(idx[: int(round(val_fraction * len(idx)))])
    val = np.zeros(len(y), dtype=bool)
    val[np.concatenate(val_idx)] = True
    train_idx, val_idx = rng.permutation(np.flatnonzero(~val)), rng.permutation(np.flatnonzero(val))
    if len(train_idx) == 0:
        raise ValueError(f"val_fraction={val_fraction} leaves no training samples out of {len(y)}")
    return X[train_idx], X[val_idx], y[train_idx], y[val_idx]
