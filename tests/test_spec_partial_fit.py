"""The estimators number labels by ``classes_``, whatever labels a batch happens to hold.

``MLPClassifier`` learns class *indices*; the index of a label is its place in ``classes_`` (set by
``classes=`` on the first ``partial_fit``, or by the labels of ``fit``). A batch lacking some class — a
first ``partial_fit`` on setosa and virginica only, a later batch of one class — must still train the
output of each label it holds, so virginica is predicted as virginica, never as the class numbered 1.
"""

import numpy as np
import pytest
from sklearn.datasets import load_iris

from model import MLPClassifier

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

SPECIES = np.array(["setosa", "versicolor", "virginica"])


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, SPECIES[y]


def classifier(**settings):
    return MLPClassifier(**{"hidden_layer_sizes": (16,), "learning_rate_init": 0.02, "random_state": 0,
                            "batch_size": 16, **settings})


def test_a_first_partial_fit_lacking_a_middle_class_predicts_each_class_it_saw(iris):
    X, y = iris
    seen = y != "versicolor"
    clf = classifier()
    clf.partial_fit(X[seen], y[seen], classes=SPECIES)
    for _ in range(15):
        clf.partial_fit(X[seen], y[seen])
    assert list(clf.classes_) == list(SPECIES)
    virginica, setosa = X[y == "virginica"], X[y == "setosa"]
    assert np.mean(clf.predict(virginica) == "virginica") > 0.9
    assert np.mean(clf.predict(setosa) == "setosa") > 0.9
    proba = clf.predict_proba(virginica)  # columns in classes_ order: virginica's is the last
    assert np.mean(proba.argmax(axis=1) == 2) > 0.9


def test_a_later_batch_lacking_the_first_class_keeps_its_labels(iris):
    # after a fit on all three, batches of versicolor and virginica only: each keeps its own output
    X, y = iris
    clf = classifier(max_iter=30).fit(X, y)
    later = y != "setosa"
    for _ in range(10):
        clf.partial_fit(X[later], y[later])
    for label in ("versicolor", "virginica"):
        assert np.mean(clf.predict(X[y == label]) == label) > 0.85, label


def test_classes_given_in_any_order_number_the_labels_alike(iris):
    X, y = iris
    seen = y != "setosa"
    a, b = classifier(), classifier()
    a.partial_fit(X[seen], y[seen], classes=SPECIES)
    b.partial_fit(X[seen], y[seen], classes=SPECIES[::-1])
    assert list(b.classes_) == list(SPECIES)
    np.testing.assert_array_equal(a.predict_proba(X), b.predict_proba(X))


def test_labels_that_are_numbers_are_numbered_by_classes_too(iris):
    X, y = iris
    codes = np.array([10, 20, 30])[np.searchsorted(SPECIES, y)]
    seen = codes != 20
    clf = classifier()
    clf.partial_fit(X[seen], codes[seen], classes=[30, 20, 10])
    for _ in range(15):
        clf.partial_fit(X[seen], codes[seen])
    assert np.mean(clf.predict(X[codes == 30]) == 30) > 0.9
