"""The fitted preprocessing is part of the model: a second ``train`` continues it; only asking refits it.

``train`` fits a network's leading ``Standardize`` on its first call's data. A later call continues the
same model, so it keeps that scaling (the weights learned on it stay meaningful), as scikit-learn's
``partial_fit`` and ``warm_start`` keep a model's state; ``refit_preprocessing=True`` fits it again on the
new call's data. A statistic that was set by hand (``Standardize.set``) counts as fitted too.
"""

import numpy as np
import pytest

from data import make_moons
from layers.standardize import Standardize
from model import build_mlp, train


def standardize_of(net):
    layer = net.layers[0]
    assert isinstance(layer, Standardize)
    return layer


def statistics(net):
    layer = standardize_of(net)
    return layer.mean.copy(), layer.scale.copy()


@pytest.fixture
def two_sets():
    """Moons, and the same moons moved and stretched: another mean and another scale per feature."""
    X, y = make_moons(200, seed=0)
    return (X, y), (X * np.array([3.0, 0.5]) + np.array([10.0, -4.0]), y)


@pytest.mark.parametrize("engine", ["auto", "layers"])
def test_a_second_train_keeps_the_fitted_standardisation(two_sets, engine):
    (X1, y1), (X2, y2) = two_sets
    net = build_mlp(2, hidden=(4,), seed=0)
    train(net, X1, y1, epochs=2, seed=0, engine=engine)
    mean, scale = statistics(net)
    np.testing.assert_allclose(mean, X1.mean(axis=0))
    np.testing.assert_allclose(scale, X1.std(axis=0))
    train(net, X2, y2, epochs=2, seed=0, engine=engine)
    np.testing.assert_array_equal(statistics(net)[0], mean)
    np.testing.assert_array_equal(statistics(net)[1], scale)


@pytest.mark.parametrize("engine", ["auto", "layers"])
def test_refit_preprocessing_fits_the_standardisation_again(two_sets, engine):
    (X1, y1), (X2, y2) = two_sets
    net = build_mlp(2, hidden=(4,), seed=0)
    train(net, X1, y1, epochs=2, seed=0, engine=engine)
    train(net, X2, y2, epochs=2, seed=0, engine=engine, refit_preprocessing=True)
    mean, scale = statistics(net)
    np.testing.assert_allclose(mean, X2.mean(axis=0))
    np.testing.assert_allclose(scale, X2.std(axis=0))
    train(net, X1, y1, epochs=1, seed=0, engine=engine)  # the flag is per call: kept again
    np.testing.assert_array_equal(statistics(net)[0], mean)


def test_what_the_model_predicts_follows_the_kept_or_refitted_scaling(two_sets):
    # a second run that barely moves the weights (lr 1e-12): kept, the model predicts as before; refitted on
    # doubled inputs, it predicts for them what it predicted for the originals (they standardise alike)
    (X1, y1), _ = two_sets
    kept, refit = (build_mlp(2, hidden=(8,), seed=0) for _ in range(2))
    for net in (kept, refit):
        train(net, X1, y1, epochs=20, lr=0.5, seed=0)
    before = kept.predict_proba(X1)
    train(kept, 2 * X1, y1, epochs=1, lr=1e-12, seed=0)
    train(refit, 2 * X1, y1, epochs=1, lr=1e-12, seed=0, refit_preprocessing=True)
    np.testing.assert_allclose(kept.predict_proba(X1), before, rtol=1e-9)
    np.testing.assert_allclose(refit.predict_proba(2 * X1), before, rtol=1e-9)
    assert np.abs(refit.predict_proba(X1) - before).max() > 0.1


def test_a_standardisation_set_by_hand_is_kept_by_the_first_train(two_sets):
    (X1, y1), _ = two_sets
    net = build_mlp(2, hidden=(4,), seed=0)
    standardize_of(net).set([1.0, 2.0], [3.0, 4.0])
    train(net, X1, y1, epochs=1, seed=0)
    np.testing.assert_array_equal(standardize_of(net).mean, [1.0, 2.0])
    np.testing.assert_array_equal(standardize_of(net).scale, [3.0, 4.0])


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_the_estimators_keep_the_first_fits_standardisation(two_sets):
    from model import MLPClassifier

    (X1, y1), (X2, y2) = two_sets
    clf = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0)
    clf.partial_fit(X1, y1, classes=[0, 1])
    mean, scale = statistics(clf.network_)
    clf.partial_fit(X2, y2)
    np.testing.assert_array_equal(statistics(clf.network_)[0], mean)
    np.testing.assert_array_equal(statistics(clf.network_)[1], scale)
    warm = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0, warm_start=True).fit(X1, y1)
    mean, scale = statistics(warm.network_)
    warm.fit(X2, y2)
    np.testing.assert_array_equal(statistics(warm.network_)[0], mean)
    cold = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X1, y1).fit(X2, y2)
    np.testing.assert_allclose(statistics(cold.network_)[0], X2.mean(axis=0))  # a new fit: a new model
