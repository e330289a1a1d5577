"""Toy datasets in pure numpy: each returns ``X (N, 2) float64`` and ``y (N,) int64``.

Circles, moons and XOR are two-class; the spiral and the blobs take ``classes=K`` (K >= 2, default 2)
and label their points ``0 .. K-1``. Every generator takes ``seed`` (None, an int or a
``numpy.random.Generator``) and uses no global state. An argument out of range raises
``layers.validation.ParameterError`` naming it (``n_samples``, ``noise``, ``classes``, ...).
"""


import numpy as np

from layers.validation import ParameterError, check_integer, check_real

#: The largest ``noise`` a generator takes. Points are O(noise) from the origin; from about 1e150 on,
#: standardising squares them and sums the N squares past float64's range (≈ 1.8e308), as CSV
#: features (``data.csv_layout.MAX_MAGNITUDE``); this bound leaves room for any N.
MAX_NOISE = 1e100
NOISE_RANGE = f"[0, {MAX_NOISE:.0e}]".replace("e+", "e")


def _check_n_samples(n_samples, owner, classes=2):
    """``n_samples`` as an int, at least one point per class."""
    return check_integer(n_samples, "n_samples", owner, classes, " (one point per class)")


def _class_counts(n, classes):
    """Near-equal class sizes summing to ``n``, the larger ones last: ``(n // 2, n - n // 2)`` for two."""
    return [n * (j + 1) // classes - n * j // classes for j in range(classes)]


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
    n, noise = _check_n_samples(n_samples, "make_circles"), check_real(noise, "noise", "make_circles", NOISE_RANGE)
    check_real(factor, "factor", "make_circles", "(0, 1)")
    rng, n_out, n_in = np.random.default_rng(seed), n // 2, n - n // 2
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.vstack([np.c_[np.cos(t_out), np.sin(t_out)], factor * np.c_[np.cos(t_in), np.sin(t_in)]])
    y = np.r_[np.zeros(n_out), np.ones(n_in)]
    return _finish(X, y, noise, rng, shuffle)


def make_moons(n_samples=1000, noise=0.2, seed=None, shuffle=True):
    """Two interleaving half circles (the scikit-learn construction), Gaussian noise ``noise``."""
    n, noise = _check_n_samples(n_samples, "make_moons"), check_real(noise, "noise", "make_moons", NOISE_RANGE)
    rng, n_out, n_in = np.random.default_rng(seed), n // 2, n - n // 2
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    X = np.vstack([np.c_[np.cos(t_out), np.sin(t_out)], np.c_[1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5]])
    y = np.r_[np.zeros(n_out), np.ones(n_in)]
    return _finish(X, y, noise, rng, shuffle)


def make_xor(n_samples=1000, noise=0.05, seed=None, margin=0.1, shuffle=True):
    """XOR of the signs: class 1 in the quadrants where exactly one coordinate is negative.

    Coordinates are uniform on ``[-1, -margin] ∪ [margin, 1]`` (a gap around the axes, as in the
    TensorFlow playground), labelled, then jittered by Gaussian noise ``noise``.
    """
    n, noise = _check_n_samples(n_samples, "make_xor"), check_real(noise, "noise", "make_xor", NOISE_RANGE)
    rng = np.random.default_rng(seed)
    X = rng.uniform(margin, 1, size=(n, 2)) * rng.choice([-1.0, 1.0], size=(n, 2))
    y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(np.int64)
    return _finish(X, y, noise, rng, shuffle)


def make_spiral(n_samples=1000, noise=0.2, seed=None, classes=2, turns=4.0, shuffle=True):
    """``classes`` interleaved spiral arms, the CS231n construction.

    Arm ``j`` (of K = ``classes``) gets ``n_samples / K`` points (the larger shares last) with radius
    ``r`` evenly spaced from 0 to 1 and angle ``t`` evenly spaced over ``[j·turns, (j+1)·turns]``
    plus Gaussian noise ``noise`` **on the angle** (as CS231n does); a point is ``r (sin t, cos t)``.
    The course's three-arm spiral is ``classes=3``.

    Returns
    -------
    X : ndarray (N, 2) float64
    y : ndarray (N,) int64, the arm, in ``[0, classes)``
    """
    k = check_integer(classes, "classes", "make_spiral", 2)
    n, noise = _check_n_samples(n_samples, "make_spiral", k), check_real(noise, "noise", "make_spiral", NOISE_RANGE)
    check_real(turns, "turns", "make_spiral")
    rng = np.random.default_rng(seed)
    parts, labels = [], []
    for arm, count in enumerate(_class_counts(n, k)):
        r = np.linspace(0.0, 1.0, count)
        t = np.linspace(arm * turns, (arm + 1) * turns, count) + rng.normal(scale=noise, size=count)
        parts.append(np.c_[r * np.sin(t), r * np.cos(t)])
        labels.append(np.full(count, arm))
    return _finish(np.vstack(parts), np.concatenate(labels), 0.0, rng, shuffle)


def blob_centers(classes):
    """K centres evenly spaced on the circle of radius 2√2 (≈ 2.83) through ``(-2, -2)``.

    Rounded to 12 decimals, so two classes get exactly ``(-2, -2)`` and ``(2, 2)``.

    Returns
    -------
    ndarray (K, 2) float64
    """
    k = check_integer(classes, "classes", "blob_centers", 2)
    angle = 1.25 * np.pi + 2 * np.pi * np.arange(k) / k
    return np.round(2 * np.sqrt(2) * np.c_[np.cos(angle), np.sin(angle)], 12)


def make_blobs(n_samples=1000, noise=1.0, seed=None, classes=2, centers=None, shuffle=True):
    """``classes`` isotropic Gaussian blobs of standard deviation ``noise``, class ``j`` around ``centers[j]``.

    Parameters
    ----------
    centers : array-like (K, 2) or None
        One centre per class; None gives ``blob_centers(classes)``, K points on a circle of radius
        ≈ 2.83 (for two classes ``(-2, -2)`` and ``(2, 2)``).

    Returns
    -------
    X : ndarray (N, 2) float64
    y : ndarray (N,) int64 in ``[0, classes)``; class sizes differ by at most one
    """
    k = check_integer(classes, "classes", "make_blobs", 2)
    n, noise = _check_n_samples(n_samples, "make_blobs", k), check_real(noise, "noise", "make_blobs", NOISE_RANGE)
    centers = blob_centers(k) if centers is None else np.asarray(centers, dtype=np.float64)
    if centers.shape != (k, 2):
        raise ParameterError("make_blobs", "centers", f"must be one 2-D point per class, shape ({k}, 2) for "
                                                      f"classes={k}, got {centers.shape}")
    if not np.isfinite(centers).all():
        raise ParameterError("make_blobs", "centers", "must be finite")
    rng = np.random.default_rng(seed)
    counts = _class_counts(n, k)
    X = np.repeat(centers, counts, axis=0)
    y = np.repeat(np.arange(k), counts)
    return _finish(X, y, noise, rng, shuffle)


DATASETS = {"circles": make_circles, "moons": make_moons, "xor": make_xor, "spiral": make_spiral, "blobs": make_blobs}

#: The data sets that put the same class at x and at −x (symmetric through the origin).
SYMMETRIC = ("circles", "xor")

#: The generators that take ``classes=K``; the others are two-class only.
MULTICLASS_DATASETS = ("spiral", "blobs")


def make_dataset(name, n_samples=1000, noise=None, seed=None, classes=2):
    """The generator ``DATASETS[name]``'s ``(X (N, 2), y (N,))``; ``noise`` None is the generator's default.

    ``classes`` other than 2 is for the generators of ``MULTICLASS_DATASETS``; the others refuse it
    with a ``ParameterError`` naming ``classes``.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASETS)}")
    kwargs = {} if noise is None else {"noise": noise}
    if classes != 2:
        if name not in MULTICLASS_DATASETS:
            raise ParameterError("make_dataset", "classes", f"applies to {', '.join(MULTICLASS_DATASETS)}; "
                                                            f"{name} has two classes, got {classes}")
        kwargs["classes"] = classes
    return DATASETS[name](n_samples, seed=seed, **kwargs)
