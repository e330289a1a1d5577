"""model.metrics against sklearn.metrics on the same predictions: random cases, a class never predicted,
ties in the scores, the zero divisions, and the balanced class weights."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from model import metrics

sk = pytest.importorskip("sklearn.metrics", reason="the comparison needs scikit-learn (the test extra)")


def labelled(seed, n, k, ties=False):
    """``y``, ``pred`` (N,) in 0..K-1 and probabilities (N, K) that decide ``pred`` (rounded: ties)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    y[:min(k, n)] = np.arange(min(k, n))  # every class present when there is room
    p = rng.dirichlet(np.ones(k), n)
    if ties:
        p = np.round(p, 1)
        p = p / p.sum(axis=1, keepdims=True)
    return y, p.argmax(axis=1), p


def same_per_class(y, pred, k):
    ours = metrics.per_class(metrics.confusion_matrix(y, pred, k))
    theirs = sk.precision_recall_fscore_support(y, pred, labels=list(range(k)), zero_division=0)
    for name, expected in zip(("precision", "recall", "f1", "support"), theirs, strict=True):
        np.testing.assert_allclose(ours[name], expected, rtol=0, atol=1e-12, err_msg=name)


def same_averages(y, pred, k):
    macro, weighted = metrics.f1_averages(metrics.confusion_matrix(y, pred, k))
    assert macro == pytest.approx(sk.f1_score(y, pred, average="macro", zero_division=0), abs=1e-12)
    assert weighted == pytest.approx(sk.f1_score(y, pred, average="weighted", zero_division=0), abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 40), k=st.integers(2, 6), ties=st.booleans())
def test_classification_scores_equal_sklearns(seed, n, k, ties):
    y, pred, p = labelled(seed, n, k, ties)
    np.testing.assert_array_equal(metrics.confusion_matrix(y, pred, k),
                                  sk.confusion_matrix(y, pred, labels=list(range(k))))
    same_per_class(y, pred, k)
    same_averages(y, pred, k)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(4, 60), k=st.integers(2, 5), ties=st.booleans())
def test_roc_auc_equals_sklearns_binary_and_one_vs_rest_macro(seed, n, k, ties):
    y, _, p = labelled(seed, n, k, ties)
    if len(np.unique(y)) < k:
        return  # scikit-learn refuses; the undefined case has its own test
    if k == 2:
        assert metrics.roc_auc(y, p[:, 1]) == pytest.approx(sk.roc_auc_score(y, p[:, 1]), abs=1e-12)
        assert metrics.roc_auc(y, p) == pytest.approx(sk.roc_auc_score(y, p[:, 1]), abs=1e-12)
    else:
        expected = sk.roc_auc_score(y, p, multi_class="ovr", average="macro", labels=list(range(k)))
        assert metrics.roc_auc(y, p) == pytest.approx(expected, abs=1e-12)


def test_ties_count_a_half_as_sklearn_does():
    y = np.array([0, 1, 0, 1, 1, 0])
    scores = np.array([0.5, 0.5, 0.2, 0.9, 0.5, 0.5])  # four rows tied at 0.5, across both classes
    assert metrics.roc_auc(y, scores) == pytest.approx(sk.roc_auc_score(y, scores), abs=1e-15)
    assert metrics.roc_auc(y, np.full(6, 0.3)) == 0.5  # every score tied: no better than chance


def test_a_class_never_predicted_has_zero_precision_without_a_warning():
    y = np.array([0, 1, 2, 2, 1, 0, 2])
    pred = np.array([0, 1, 1, 1, 1, 0, 1])  # class 2 is never predicted
    rows = metrics.per_class(metrics.confusion_matrix(y, pred, 3))
    assert rows["precision"][2] == 0 and rows["recall"][2] == 0 and rows["f1"][2] == 0
    same_per_class(y, pred, 3)
    same_averages(y, pred, 3)


def test_macro_f1_averages_the_classes_that_occur_as_sklearn_does():
    y, pred = np.array([0, 1, 0, 1]), np.array([0, 1, 1, 1])
    m = metrics.confusion_matrix(y, pred, 4)  # the model knows 4 classes; 2 and 3 occur nowhere
    assert m.shape == (4, 4)
    assert metrics.f1_averages(m)[0] == pytest.approx(sk.f1_score(y, pred, average="macro"))


def test_undefined_areas_are_none():
    assert metrics.roc_auc(np.array([1, 1, 1]), np.array([0.2, 0.4, 0.9])) is None
    p = np.full((4, 3), 1 / 3)
    assert metrics.roc_auc(np.array([0, 1, 0, 1]), p) is None  # class 2 has no row


def test_classification_metrics_bundle_is_json_ready():
    y, pred, p = labelled(3, 30, 3)
    out = metrics.classification_metrics(y, pred, p, 3)
    assert set(out) == {"precision", "recall", "f1", "support", "macro_f1", "weighted_f1", "confusion_matrix",
                        "roc_auc"}
    assert all(isinstance(v, list) and len(v) == 3 for k, v in out.items() if k in ("precision", "f1", "support"))
    assert sum(map(sum, out["confusion_matrix"])) == 30 and isinstance(out["roc_auc"], float)


@pytest.mark.parametrize(("y", "pred", "message"), [
    (np.array([0, 1.5]), np.array([0, 1]), "class indices"),
    (np.array([0, -1]), np.array([0, 1]), "class indices"),
    (np.array([0, 1, 1]), np.array([0, 1]), "3 labels but pred 2"),
])
def test_bad_labels_are_refused(y, pred, message):
    with pytest.raises(ValueError, match=message):
        metrics.confusion_matrix(y, pred, 2)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(2, 50), constant=st.booleans())
def test_regression_scores_equal_sklearns(seed, n, constant):
    rng = np.random.default_rng(seed)
    y = np.full(n, 3.0) if constant else rng.normal(size=n) * 10
    predicted = y + rng.normal(size=n) * rng.choice([0.0, 1.0])  # sometimes exact
    assert metrics.r2(y, predicted) == pytest.approx(sk.r2_score(y, predicted), abs=1e-12)
    assert metrics.rmse(y, predicted) == pytest.approx(sk.root_mean_squared_error(y, predicted), abs=1e-12)
    assert metrics.mae(y, predicted) == pytest.approx(sk.mean_absolute_error(y, predicted), abs=1e-12)
    assert metrics.rmse(y, predicted) ** 2 == pytest.approx(sk.mean_squared_error(y, predicted), rel=1e-12)


def test_r2_of_one_row_is_nan_and_lengths_must_agree():
    assert np.isnan(metrics.r2([1.0], [2.0]))
    with pytest.raises(ValueError, match="3 targets but 2 predictions"):
        metrics.mae([1.0, 2.0, 3.0], [1.0, 2.0])


def test_balanced_class_weight_is_sklearns_rule():
    from sklearn.utils.class_weight import compute_class_weight

    y = np.array([0, 0, 0, 0, 1, 2, 2])
    expected = compute_class_weight("balanced", classes=np.arange(3), y=y)
    np.testing.assert_allclose(metrics.balanced_class_weight(y, 3), expected, rtol=1e-15)
    with pytest.raises(ValueError, match="class 1 has no row"):
        metrics.balanced_class_weight(np.array([0, 2, 2]), 3)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 4) | st.floats(-3, 3, allow_nan=False), min_size=1, max_size=40))
def test_average_ranks_are_scipys_rankdata(values):
    from scipy.stats import rankdata

    x = np.asarray(values, dtype=np.float64)
    np.testing.assert_array_equal(metrics.average_ranks(x), rankdata(x))


def test_the_command_lines_do_not_import_scipy_stats():
    """The metrics rank by hand: ``scipy.stats`` alone took a quarter of a second of every command's start."""
    code = "import sys, train, gradcheck; assert 'scipy.stats' not in sys.modules, 'scipy.stats imported'"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).resolve().parents[1])
