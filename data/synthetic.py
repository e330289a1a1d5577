"""Two-class toy datasets in pure numpy: each returns ``X (N, 2) float64`` and ``y (N,) int``.

Every generator takes ``seed`` (None, an int or a ``numpy.random.Generator``) and uses no global state.
"""

import numpy as np


def _check_n(n_samples):
    n = int(n_samples)
    if n < 2:
        raise ValueError(f"n_samples must be at least 2 (one per class), got {n_samples}")
    return n


def _check_noise(noise):
    if not np.isfinite(noise) or noise < 0:
        raise ValueError(f"noise must be a finite number >= 0, got {noise}")
    return float(noise)


def _finish(X, y, noise, rng, shuffle):
    X = X + rng.normal(scale=noise, size=X.shape) if noise > 0 else X
    if shuffle:
        order = rng.permutation(len(y))
        X, y = X[order], y[order]
    return np.ascontiguousarray(X, dtype=np.float64), y.astype(np.int64)


def make_circles(n_samples=1000, noise=0.05, seed=None, factor=0.5, shuffle=True):
    """A small circle (class 1, radius ``factor``) inside a unit circle (class 0).

    The scikit-learn construction: points evenly spaced in angle on each circle, then Gaussian
    noise of standard deviation ``noise`` on both coordinates.
    """
    n, noise = _check_n(n_samples), _check_noise(noise)
    if not 0 < factor < 1:
        raise ValueError(f"factor must be in (0, 1), got {factor}")
    rng = np.random.default_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.vstack([np.c_[np.cos(t_out), np.sin(t_out)], factor * np.c_[np.cos(t_in), np.sin(t_in)]])
    y = np.r_[np.zeros(n_out), np.ones(n_in)]
    return _finish(X, y, noise, rng, shuffle)


def make_moons(n_samples=1000, noise=0.2, seed=None, shuffle=True):
    """Two interleaving half circles (the scikit-learn construction), Gaussian noise ``noise``."""
    n, noise = _check_n(n_samples), _check_noise(noise)
    rng = np.random.default_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.vstack([np.c_[np.cos(t_out), np.sin(t_out)], np.c_[1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5]])
    y = np.r_[np.zeros(n_out), np.ones(n_in)]
    return _finish(X, y, noise, rng, shuffle)


def make_xor(n_samples=1000, noise=0.05, seed=None, margin=0.1, shuffle=True):
    """XOR of the signs: class 1 in the quadrants where exactly one coordinate is negative.

    Coordinates are uniform on ``[-1, -margin] ∪ [margin, 1]`` (a gap around the axes, as in the
    TensorFlow playground), labelled, then jittered by Gaussian noise ``noise``.
    """
    n, noise = _check_n(n_samples), _check_noise(noise)
    rng = np.random.default_rng(seed)
    X = rng.uniform(margin, 1, size=(n, 2)) * rng.choice([-1.0, 1.0], size=(n, 2))
    y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(np.int64)
    return _finish(X, y, noise, rng, shuffle)


def make_spiral(n_samples=1000, noise=0.2, seed=None, turns=4.0, shuffle=True):
    """Two interleaved spiral arms, the CS231n construction.

    Arm ``j`` has radius ``r`` from 0 to 1 and angle ``t = turns·(j + r)`` plus Gaussian noise
    ``noise`` **on the angle** (as CS231n does); a point is ``r (sin t, cos t)``.
    """
    n, noise = _check_n(n_samples), _check_noise(noise)
    rng = np.random.default_rng(seed)
    parts, labels = [], []
    for arm, count in enumerate((n // 2, n - n // 2)):
        r = np.linspace(0.0, 1.0, count)
        t = np.linspace(arm * turns, (arm + 1) * turns, count) + rng.normal(scale=noise, size=count)
        parts.append(np.c_[r * np.sin(t), r * np.cos(t)])
        labels.append(np.full(count, arm))
    return _finish(np.vstack(parts), np.concatenate(labels), 0.0, rng, shuffle)


def make_blobs(n_samples=1000, noise=1.0, seed=None, centers=((-2.0, -2.0), (2.0, 2.0)), shuffle=True):
    """Two isotropic Gaussian blobs of standard deviation ``noise`` around ``centers`` (class 0, 1)."""
    n, noise = _check_n(n_samples), _check_noise(noise)
    centers = np.asarray(centers, dtype=np.float64)
    if centers.shape != (2, 2):
        raise ValueError(f"centers must be two 2-D points, shape (2, 2), got {centers.shape}")
    rng = np.random.default_rng(seed)
    counts = (n // 2, n - n // 2)
    X = np.vstack([np.repeat(c[None, :], k, axis=0) for c, k in zip(centers, counts)])
    y = np.r_[np.zeros(counts[0]), np.ones(counts[1])]
    return _finish(X, y, noise, rng, shuffle)


DATASETS = {
    "circles": make_circles,
    "moons": make_moons,
    "xor": make_xor,
    "spiral": make_spiral,
    "blobs": make_blobs,
}
