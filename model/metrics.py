"""The scores practitioners read, from labels and predictions alone (numpy and scipy; no scikit-learn).

Classification, for ``y`` and ``pred`` (N,) class indices in 0 .. K − 1:

- ``confusion_matrix`` (K, K): row = true class, column = predicted class;
- ``per_class`` precision, recall, F1 and support (K,) each, and ``f1_averages`` (macro, weighted);
- ``roc_auc``: the area under the ROC curve for two classes, from the scores (N,) of class 1, and the
  one-vs-rest macro average for more, from (N, K) scores — rank-based (Mann–Whitney), tied scores
  sharing their average rank, which is the area of scikit-learn's trapezoidal curve;
- ``balanced_class_weight``: the weight ``n_samples / (n_classes · count)`` of each class, scikit-learn's
  "balanced" rule.

Regression, for targets and predictions (N,): ``r2``, ``rmse``, ``mae``.

Every value equals ``sklearn.metrics``'s on the same predictions (``tests/test_metrics.py`` compares),
zero divisions included: a precision with no prediction of the class, a recall with no row of it, an F1
with neither, is 0 — scikit-learn's default (``zero_division="warn"``) gives 0 with a warning; here there is
no warning. As there, the macro F1 averages the classes that occur among the labels or the predictions
(a class in neither has no F1 to average), R² is NaN for fewer than two rows and, for constant targets,
1 when every prediction is exact and 0 otherwise. An area that is not defined (the labels hold one class,
or for K classes one of them is absent, or every row is of it) is None, where scikit-learn raises.
"""

import numpy as np


def _indices(y, name):
    """``y`` as (N,) integer class indices ≥ 0, or a ValueError naming ``name`` and what it holds."""
    y = np.asarray(y).reshape(-1)
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype(np.int64)
    if y.dtype.kind not in "iu" or (y.size and y.min() < 0):
        raise ValueError(f"{name} must be class indices 0..K-1, got {y[:3].tolist()!r}…")
    return y.astype(np.intp)


def confusion_matrix(y, pred, k):
    """Counts (K, K) of ``y`` (N,) true and ``pred`` (N,) predicted class indices: row = true, column = predicted."""
    y, pred = _indices(y, "y"), _indices(pred, "pred")
    if len(y) != len(pred):
        raise ValueError(f"y has {len(y)} labels but pred {len(pred)} predictions")
    k = max(int(k), int(y.max(initial=-1)) + 1, int(pred.max(initial=-1)) + 1)
    m = np.zeros((k, k), dtype=np.int64)
    np.add.at(m, (y, pred), 1)
    return m


def _ratio(top, bottom):
    """``top / bottom`` elementwise, 0 where ``bottom`` is 0 (scikit-learn's default for a zero division)."""
    top, bottom = np.asarray(top, dtype=np.float64), np.asarray(bottom, dtype=np.float64)
    return np.divide(top, bottom, out=np.zeros_like(top), where=bottom > 0)


def per_class(m):
    """``{"precision", "recall", "f1", "support"}``, each (K,), of a confusion matrix ``m`` (K, K); the F1 is
    ``2·tp / (2·tp + fp + fn)``."""
    m = np.asarray(m)
    tp, predicted, support = np.diag(m), m.sum(axis=0), m.sum(axis=1)
    return {"precision": _ratio(tp, predicted), "recall": _ratio(tp, support),
            "f1": _ratio(2 * tp, predicted + support), "support": support}


def f1_averages(m):
    """``(macro, weighted)`` F1 of a confusion matrix ``m`` (K, K): the mean over the classes present among the
    labels or the predictions, and the mean weighted by each class's support (0 for an empty ``m``)."""
    m = np.asarray(m)
    f1, support = per_class(m)["f1"], m.sum(axis=1)
    present = (support + m.sum(axis=0)) > 0
    macro = float(f1[present].mean()) if present.any() else 0.0
    weighted = float((f1 * support).sum() / support.sum()) if support.sum() > 0 else 0.0
    return macro, weighted


def average_ranks(x):
    """The ranks 1 .. N of ``x`` (N,), tied values sharing the average of their ranks (``scipy.stats.rankdata``'s
    default, written here so that importing the metrics does not import ``scipy.stats``)."""
    order = np.argsort(x, kind="stable")
    ordered = x[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])  # where each run of equal values begins
    counts = np.diff(np.r_[starts, len(x)])
    ranks = np.empty(len(x))
    ranks[order] = np.repeat(starts + (counts + 1) / 2, counts)  # a run at 0-based start s of n: s + (n + 1) / 2
    return ranks


def binary_auc(positive, scores):
    """The area under the ROC curve of ``scores`` (N,) for ``positive`` (N,) booleans: the chance that a
    positive row outscores a negative one, a tie counting ½ — from the average ranks; None when either
    kind of row is missing."""
    positive = np.asarray(positive, dtype=bool).reshape(-1)
    n_pos = int(positive.sum())
    n_neg = positive.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return None
    ranks = average_ranks(np.asarray(scores, dtype=np.float64).reshape(-1))
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def roc_auc(y, scores):
    """ROC AUC of ``scores`` for the class indices ``y`` (N,): ``scores`` (N,) of class 1 for two classes, or
    (N, K) one column per class, averaged one-vs-rest over the K classes (macro); None where not defined."""
    y, scores = _indices(y, "y"), np.asarray(scores, dtype=np.float64)
    if scores.ndim == 1 or scores.shape[1] == 1:
        return binary_auc(y == 1, scores.reshape(-1))
    if scores.shape[1] == 2:
        return binary_auc(y == 1, scores[:, 1])
    areas = [binary_auc(y == c, scores[:, c]) for c in range(scores.shape[1])]
    return None if any(a is None for a in areas) else float(np.mean(areas))


def classification_metrics(y, pred, scores, k):
    """Every classification score of ``y`` (N,) true and ``pred`` (N,) predicted class indices, with ``scores``
    the probabilities (N,) of class 1 or (N, K) (``roc_auc``), for ``k`` classes: ``{"precision", "recall",
    "f1", "support"}`` as lists of K, ``"macro_f1"``, ``"weighted_f1"``, ``"confusion_matrix"`` (K lists of K)
    and ``"roc_auc"``."""
    m = confusion_matrix(y, pred, k)
    rows = per_class(m)
    macro, weighted = f1_averages(m)
    return {**{key: value.tolist() for key, value in rows.items()}, "macro_f1": macro, "weighted_f1": weighted,
            "confusion_matrix": m.tolist(), "roc_auc": roc_auc(y, scores)}


def _pair(y, predicted):
    """``y`` and ``predicted`` as float (N,) of one length, or a ValueError saying both lengths."""
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    predicted = np.asarray(predicted, dtype=np.float64).reshape(-1)
    if y.size != predicted.size:
        raise ValueError(f"{y.size} targets but {predicted.size} predictions")
    return y, predicted


def r2(y, predicted):
    """The coefficient of determination ``1 − Σ(y − ŷ)² / Σ(y − ȳ)²`` of (N,) targets and predictions; NaN for
    N < 2; for constant targets 1 if every prediction is exact, else 0 (scikit-learn's ``r2_score``)."""
    y, predicted = _pair(y, predicted)
    if y.size < 2:
        return float("nan")
    residual = float(np.square(y - predicted).sum())
    spread = float(np.square(y - y.mean()).sum())
    if spread == 0:
        return 1.0 if residual == 0 else 0.0
    return 1.0 - residual / spread


def rmse(y, predicted):
    """The root of the mean squared error of (N,) targets and predictions (NaN for none)."""
    y, predicted = _pair(y, predicted)
    return float(np.sqrt(np.square(y - predicted).mean())) if y.size else float("nan")


def mae(y, predicted):
    """The mean absolute error of (N,) targets and predictions (NaN for none)."""
    y, predicted = _pair(y, predicted)
    return float(np.abs(y - predicted).mean()) if y.size else float("nan")


def balanced_class_weight(y, k, classes=None):
    """One weight per class index 0 .. K − 1 for the labels ``y`` (N,): ``N / (K · count)``, the weights that give
    every class the same total (scikit-learn's ``"balanced"``); a ValueError naming a class with no row (by its
    label in ``classes``, K labels, when given)."""
    y = _indices(y, "y")
    counts = np.bincount(y, minlength=k)
    if len(counts) > k:
        raise ValueError(f"labels up to {len(counts) - 1} for {k} classes")
    if not counts.all():
        empty = int(np.argmin(counts))
        raise ValueError(f"class {empty if classes is None else repr(classes[empty])} has no row: a balanced weight "
                         "for it would be infinite")
    return (len(y) / (k * counts)).tolist()
