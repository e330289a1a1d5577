"""``model.MLPClassifier`` and ``model.MLPRegressor``: scikit-learn's own checks, its tools, and what they add.

scikit-learn (and pandas) are in the ``test`` extra. ``ConvergenceWarning`` — the estimators warn, as
scikit-learn's do, when ``max_iter`` ends a fit before the stopping rule does — is ignored in this file:
the tests run few epochs on purpose (``test_tol_stops_training_and_max_iter_warns`` checks the warning
itself). Every other warning stays an error.
"""

import pickle
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.datasets import load_iris, make_blobs
from sklearn.exceptions import ConvergenceWarning, NotFittedError
from sklearn.metrics import recall_score
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator

import model.estimators as estimators
from checking.checker import check_model
from layers.validation import ParameterError
from model import MLPClassifier, MLPRegressor

from .conftest import ROOT

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True)
    return X, np.array(["setosa", "versicolor", "virginica"])[y]


def small(cls, **settings):
    """A small, quick estimator: 16 hidden units, lr 0.02, seeded."""
    return cls(**{"hidden_layer_sizes": (16,), "learning_rate_init": 0.02, "random_state": 0, **settings})


# ------------------------------------------------------------------ scikit-learn's own verdict


#: The one check expected to fail, and why: a weight is not a repetition here. A weight multiplies a row's loss
#: in each batch's mean, while the L2 term (alpha / batch size), the standardisation and shuffled mini-batches
#: count rows; scikit-learn's own MLPs fail it too under their stochastic solvers (it runs them with lbfgs).
NOT_REPETITIONS = {"check_sample_weight_equivalence_on_dense_data": "a sample weight is not a repetition of the row"}


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_scikit_learn_check_estimator_passes(cls):
    estimator = small(cls, hidden_layer_sizes=(8,), max_iter=50, learning_rate_init=0.05)
    results = check_estimator(estimator, on_fail=None, on_skip=None, expected_failed_checks=NOT_REPETITIONS)
    failed = {r["check_name"]: repr(r["exception"]) for r in results if r["status"] not in ("passed", "skipped",
                                                                                              "xfail")}
    assert not failed, failed
    assert sum(r["status"] == "passed" for r in results) >= 50  # the checks ran, not skipped wholesale
    assert {r["check_name"] for r in results if r["status"] == "xfail"} <= set(NOT_REPETITIONS)


# ------------------------------------------------------------------ in scikit-learn's toolbox


def test_cross_val_score_in_a_pipeline(iris):
    X, y = iris
    scores = cross_val_score(make_pipeline(StandardScaler(), small(MLPClassifier, max_iter=200)), X, y, cv=3)
    assert scores.shape == (3,) and scores.mean() > 0.9


def test_grid_search_picks_and_refits(iris):
    X, y = iris
    grid = {"hidden_layer_sizes": [(2,), (16,)], "alpha": [1e-4, 1.0]}
    search = GridSearchCV(small(MLPClassifier, max_iter=60), grid, cv=3).fit(X, y)
    assert search.best_params_["hidden_layer_sizes"] in grid["hidden_layer_sizes"]
    assert search.best_estimator_.hidden_layer_sizes == search.best_params_["hidden_layer_sizes"]
    assert search.best_score_ > 0.85 and search.score(X, y) > 0.85
    assert search.cv_results_["mean_test_score"].shape == (4,)


def test_string_labels_round_trip(iris):
    X, y = iris
    clf = small(MLPClassifier, max_iter=200).fit(X, y)
    assert clf.classes_.tolist() == ["setosa", "versicolor", "virginica"]
    predicted = clf.predict(X)
    assert predicted.dtype == y.dtype and set(predicted) <= set(y)
    assert clf.score(X, y) > 0.95 and np.mean(predicted == y) == clf.score(X, y)
    assert clf.network_.classes == clf.classes_.tolist()  # saved with the network


def test_binary_predict_proba_has_two_columns_in_classes_order():
    X, y = make_blobs(n_samples=120, centers=2, random_state=3)
    labels = np.where(y == 1, "yes", "no")
    clf = small(MLPClassifier, max_iter=200).fit(X, labels)
    proba = clf.predict_proba(X)
    assert clf.classes_.tolist() == ["no", "yes"] and clf.n_outputs_ == 1 and clf.out_activation_ == "logistic"
    assert proba.shape == (120, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    np.testing.assert_allclose(proba[:, 1], clf.network_.predict_proba(X))  # P(classes_[1]) from the sigmoid
    assert (clf.predict(X) == clf.classes_[proba.argmax(axis=1)]).all()
    np.testing.assert_allclose(np.exp(clf.predict_log_proba(X)), proba)
    assert clf.score(X, labels) > 0.95


def test_three_classes_predict_proba_and_the_engine(iris):
    X, y = iris
    clf = small(MLPClassifier, max_iter=100, tol=0.0, n_iter_no_change=100).fit(X, y)
    proba = clf.predict_proba(X)
    assert proba.shape == (150, 3) and clf.out_activation_ == "softmax"
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert clf.history_.engine == "engine"  # the fast path trains the estimator's network
    assert clf.n_iter_ == 100 and len(clf.loss_curve_) == 100 and clf.t_ == 100 * 150


def test_feature_names_from_a_dataframe(iris):
    X, y = iris
    frame = pd.DataFrame(X, columns=["sepal_l", "sepal_w", "petal_l", "petal_w"])
    clf = small(MLPClassifier, max_iter=200).fit(frame, y)
    assert clf.feature_names_in_.tolist() == ["sepal_l", "sepal_w", "petal_l", "petal_w"]
    assert clf.n_features_in_ == 4 and clf.network_.feature_names == clf.feature_names_in_.tolist()
    assert (clf.predict(frame) == small(MLPClassifier, max_iter=200).fit(X, y).predict(X)).all()
    with pytest.raises(ValueError, match="feature names"):
        clf.predict(frame.rename(columns={"petal_w": "other"}))


# ------------------------------------------------------------------ class weights (in the loss)


def imbalanced(seed=0):
    """Two overlapping blobs, 300 samples of class 0 and 30 of class 1."""
    X, y = make_blobs(n_samples=[300, 30], centers=[[0.0, 0.0], [1.5, 1.5]], cluster_std=1.2, random_state=seed)
    return X, y


def test_balanced_class_weight_raises_minority_recall():
    X, y = imbalanced()
    X_test, y_test = imbalanced(seed=1)
    plain = small(MLPClassifier, max_iter=300).fit(X, y)
    balanced = small(MLPClassifier, max_iter=300, class_weight="balanced").fit(X, y)
    recall_plain = recall_score(y_test, plain.predict(X_test), pos_label=1)
    recall_balanced = recall_score(y_test, balanced.predict(X_test), pos_label=1)
    assert recall_balanced > recall_plain + 0.2, (recall_plain, recall_balanced)


@pytest.mark.parametrize("centers", [2, 3])
def test_the_gradient_checker_verifies_the_weighted_loss(centers):
    X, y = make_blobs(n_samples=60, centers=centers, random_state=0)
    weights = {0: 5.0, 1: 0.5, 2: 2.0} if centers == 3 else {0: 5.0, 1: 0.5}
    clf = small(MLPClassifier, max_iter=5, hidden_layer_sizes=(4,), class_weight=weights, activation="tanh").fit(X, y)
    net = clf.network_
    assert check_model(net, X[:12], y[:12]).passed
    unweighted = clone(clf).set_params(class_weight=None).fit(X, y)
    # the same weights under both losses: the weighted loss is another number
    same_weights = dict(zip(net.params, [np.array(p) for p in net.params.values()], strict=True))
    for key, array in unweighted.network_.params.items():
        array[...] = same_weights[key]
    assert net.loss(X, y) != pytest.approx(unweighted.network_.loss(X, y))


# ------------------------------------------------------------------ the regressor


def smooth(n=300, seed=0, outputs=1):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-3, 3, size=(n, 2))
    y = np.sin(X[:, 0]) + 0.5 * np.cos(2 * X[:, 1])
    return X, (y if outputs == 1 else np.column_stack([y, X[:, 0] * X[:, 1]]))


def test_regressor_fits_a_smooth_function_in_the_original_units():
    X, y = smooth()
    X_test, y_test = smooth(seed=1)
    scale, shift = 1000.0, 5000.0  # standardised inside: the units do not matter
    reg = small(MLPRegressor, hidden_layer_sizes=(32,), max_iter=400).fit(X, scale * y + shift)
    assert reg.score(X_test, scale * y_test + shift) > 0.95
    predicted = reg.predict(X_test)
    assert predicted.shape == (300,) and abs(predicted.mean() - (scale * y_test + shift).mean()) < 0.1 * scale
    assert reg.target_mean_ == pytest.approx([(scale * y + shift).mean()])
    assert reg.out_activation_ == "identity" and reg.n_outputs_ == 1


def test_regressor_multi_output():
    X, Y = smooth(outputs=2)
    reg = small(MLPRegressor, hidden_layer_sizes=(32,), max_iter=400).fit(X, Y)
    assert reg.predict(X).shape == (300, 2) and reg.n_outputs_ == 2
    assert reg.score(X, Y) > 0.9


def test_regressor_early_stopping_watches_r2():
    X, y = smooth()
    reg = small(MLPRegressor, hidden_layer_sizes=(32,), max_iter=300, early_stopping=True).fit(X, y)
    assert len(reg.validation_scores_) == reg.n_iter_ and reg.best_loss_ is None
    assert reg.best_validation_score_ == max(reg.validation_scores_) > 0.8


# ------------------------------------------------------------------ fitting: stopping, schedules, solvers


def test_early_stopping_keeps_the_best_weights(iris, monkeypatch):
    X, y = iris
    held_out = {}

    def remembering_split(*arrays, **options):
        parts = split(*arrays, **options)
        held_out["X"], held_out["t"] = parts[1], parts[3]
        return parts

    split = estimators.train_test_split
    monkeypatch.setattr(estimators, "train_test_split", remembering_split)
    clf = small(MLPClassifier, max_iter=200, early_stopping=True, validation_fraction=0.2, n_iter_no_change=5)
    clf.fit(X, y)
    assert held_out["X"].shape == (30, 4)
    assert len(clf.validation_scores_) == clf.n_iter_ < 200 and clf.best_loss_ is None
    assert clf.best_validation_score_ == max(clf.validation_scores_)
    accuracy = np.mean(clf.predict(held_out["X"]) == clf.classes_[held_out["t"]])
    assert accuracy == clf.best_validation_score_  # the weights kept are the best epoch's


def test_tol_stops_training_and_max_iter_warns(iris):
    X, y = iris
    converged = small(MLPClassifier, max_iter=500, tol=1e-2, n_iter_no_change=3).fit(X, y)
    assert converged.n_iter_ < 500
    assert converged.best_loss_ == min(converged.loss_curve_) and converged.loss_ == converged.loss_curve_[-1]
    with pytest.warns(ConvergenceWarning, match="Maximum iterations \\(3\\)"):
        small(MLPClassifier, max_iter=3).fit(X, y)


def test_learning_rate_schedules_reach_train(iris):
    X, y = iris
    kept = {"tol": 0.0, "n_iter_no_change": 50, "max_iter": 20}
    constant = small(MLPClassifier, solver="sgd", learning_rate_init=0.1, **kept).fit(X, y)
    inverse = small(MLPClassifier, solver="sgd", learning_rate_init=0.1, learning_rate="invscaling", power_t=0.5,
                    **kept).fit(X, y)
    assert constant.history_.lr == [0.1] * 20
    assert inverse.history_.lr[0] == 0.1 and inverse.history_.lr[1] == pytest.approx(0.1 / (150 + 1) ** 0.5)


@pytest.mark.parametrize("solver", ["sgd", "momentum", "nesterov", "adam", "lbfgs"])
def test_every_solver_learns(iris, solver):
    X, y = iris
    lr = {"sgd": 0.5, "momentum": 0.05, "nesterov": 0.05, "adam": 0.02, "lbfgs": 0.001}[solver]
    clf = small(MLPClassifier, solver=solver, learning_rate_init=lr, max_iter=40 if solver == "lbfgs" else 150)
    clf.fit(X, y)
    assert clf.score(X, y) > 0.9
    assert clf.history_.engine == ("layers" if solver == "lbfgs" else "engine")


def test_alpha_is_divided_by_the_batch_size(iris):
    X, y = iris
    clf = small(MLPClassifier, alpha=0.3, batch_size=50, max_iter=20, tol=0.5).fit(X, y)
    assert clf.network_.weight_decay == pytest.approx(0.3 / 50)
    full = small(MLPClassifier, alpha=0.3, solver="lbfgs", max_iter=20, tol=0.5).fit(X, y)
    assert full.network_.weight_decay == pytest.approx(0.3 / 150)


def test_float32_networks_and_predictions(iris):
    X, y = iris
    clf = small(MLPClassifier, dtype="float32", max_iter=50).fit(X, y)
    assert clf.network_.dtype == np.float32 and clf.predict_proba(X).dtype == np.float32


# ------------------------------------------------------------------ continuing: warm start and partial_fit


def test_warm_start_continues_and_refuses_a_changed_architecture(iris):
    X, y = iris
    clf = small(MLPClassifier, max_iter=5, warm_start=True).fit(X, y)
    first = clf.network_
    clf.fit(X, y)
    assert clf.network_ is first and len(clf.loss_curve_) == 10 and clf.n_iter_ == 5
    assert clf.loss_curve_[9] < clf.loss_curve_[0]
    clf.set_params(hidden_layer_sizes=(3,))
    with pytest.raises(ValueError, match="architecture"):
        clf.fit(X, y)
    cold = clone(clf).set_params(warm_start=False).fit(X, y)
    assert cold.network_.layers[1].out_features == 3


def test_partial_fit_needs_classes_first_and_continues(iris):
    X, y = iris
    clf = small(MLPClassifier, batch_size=16)
    with pytest.raises(ValueError, match="classes must be passed"):
        clf.partial_fit(X[:10], y[:10])
    clf.partial_fit(X[:75], y[:75], classes=np.unique(y))
    for _ in range(30):
        clf.partial_fit(X, y)
    assert clf.n_iter_ == 1 and len(clf.loss_curve_) == 31 and clf.score(X, y) > 0.9
    with pytest.raises(ValueError, match="does not know"):
        clf.partial_fit(X[:3], ["setosa", "rose", "setosa"])
    assert not hasattr(small(MLPClassifier, solver="lbfgs"), "partial_fit")


def test_regressor_partial_fit_keeps_the_first_target_scaling():
    X, y = smooth()
    reg = small(MLPRegressor, hidden_layer_sizes=(32,))
    reg.partial_fit(X, 10 * y)
    mean, scale = reg.target_mean_.copy(), reg.target_scale_.copy()
    for _ in range(20):
        reg.partial_fit(X, 10 * y + 1)
    assert (reg.target_mean_ == mean).all() and (reg.target_scale_ == scale).all()
    assert reg.score(X, 10 * y + 1) > 0.5


# ------------------------------------------------------------------ parameters, pickling, refusals


def test_get_params_set_params_and_clone():
    clf = MLPClassifier(hidden_layer_sizes=(5, 4), solver="nesterov", class_weight={0: 2.0}, dropout=0.1)
    params = clf.get_params()
    assert params["hidden_layer_sizes"] == (5, 4) and params["solver"] == "nesterov" and params["dropout"] == 0.1
    assert {"standardize", "dtype", "batchnorm", "engine", "class_weight", "learning_rate"} <= set(params)
    assert clf.set_params(alpha=0.5, engine="layers") is clf and clf.alpha == 0.5 and clf.engine == "layers"
    assert clone(clf).get_params() == clf.get_params()
    assert "class_weight" not in MLPRegressor().get_params()


def test_pickled_estimators_predict_the_same(iris):
    X, y = iris
    clf = small(MLPClassifier, max_iter=30).fit(X, y)
    reg = small(MLPRegressor, max_iter=30).fit(*smooth())
    for estimator in (clf, reg):
        copy = pickle.loads(pickle.dumps(estimator))
        np.testing.assert_array_equal(copy.predict(X[:, :2] if estimator is reg else X),
                                      estimator.predict(X[:, :2] if estimator is reg else X))
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(clf)).predict_proba(X), clf.predict_proba(X))


@pytest.mark.parametrize(("settings", "param"), [
    ({"learning_rate_init": -1.0}, "learning_rate_init"),
    ({"solver": "newton"}, "solver"),
    ({"hidden_layer_sizes": (0,)}, "hidden_layer_sizes"),
    ({"max_iter": 0}, "max_iter"),
    ({"learning_rate": "cyclic"}, "learning_rate"),
    ({"alpha": -1.0}, "alpha"),
    ({"activation": "gelu"}, "activation"),
    ({"dropout": 1.0}, "dropout"),
    ({"batch_size": "big"}, "batch_size"),
    ({"n_iter_no_change": 0}, "n_iter_no_change"),
    ({"early_stopping": True, "validation_fraction": 1.5}, "validation_fraction"),
    ({"dtype": "float16"}, "dtype"),
    ({"engine": "gpu"}, "engine"),
])
def test_refusals_name_the_estimators_parameter(iris, settings, param):
    X, y = iris
    with pytest.raises(ParameterError) as refused:
        MLPClassifier(**settings).fit(X, y)
    assert refused.value.param == param and refused.value.owner == "MLPClassifier"
    assert str(refused.value).startswith(f"MLPClassifier: {param} ")


def test_shuffle_false_is_passed_on_to_the_training_loop(iris):
    X, y = iris
    unshuffled = small(MLPClassifier, shuffle=False, max_iter=5, batch_size=16).fit(X, y)
    shuffled = small(MLPClassifier, shuffle=True, max_iter=5, batch_size=16).fit(X, y)
    assert unshuffled.n_iter_ == 5 and unshuffled.loss_curve_ != shuffled.loss_curve_


def test_unfitted_and_mismatched_inputs_are_refused(iris):
    X, y = iris
    with pytest.raises(NotFittedError):
        MLPClassifier().predict(X)
    clf = small(MLPClassifier, max_iter=200).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features"):
        clf.predict(X[:, :3])
    with pytest.raises(ValueError, match="1 class"):
        MLPClassifier().fit(X[:10], y[:10])


# ------------------------------------------------------------------ the core never needs scikit-learn


def test_the_core_never_imports_scikit_learn_and_the_estimators_say_when_it_is_missing():
    code = ("import runpy, sys\n"
            "import model, layers, checking\n"
            "assert not [m for m in sys.modules if m.split('.')[0] == 'sklearn'], 'import model'\n"
            "sys.argv = ['train.py', '--help']\n"
            "try:\n"
            "    runpy.run_path('train.py', run_name='__main__')\n"
            "except SystemExit as exit:\n"
            "    assert exit.code in (0, None), exit.code\n"
            "assert not [m for m in sys.modules if m.split('.')[0] == 'sklearn'], 'train.py --help'\n"
            "sys.modules['sklearn'] = None  # from here on, as if it were not installed\n"
            "try:\n"
            "    from model import MLPClassifier\n"
            "except ImportError as error:\n"
            "    print(type(error).__name__, error)\n")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert "usage" in result.stdout
    assert result.stdout.rstrip().splitlines()[-1] == (
        'ImportError model.MLPClassifier and model.MLPRegressor need scikit-learn >= 1.6: pip install -e ".[sklearn]"')


@pytest.mark.parametrize("magnitude", [1e300, -1e200, 1e155])
def test_regressor_refuses_targets_too_large_to_standardise_as_train_py_refuses_such_features(magnitude):
    X = np.random.default_rng(0).normal(size=(30, 2))
    y = X[:, 0] * magnitude
    reg = MLPRegressor((3,), max_iter=2)
    for fit in (reg.fit, reg.partial_fit):
        with pytest.raises(ValueError, match=r"^y: '.*e\+?\d+' is too large: magnitudes of 1e150 or more overflow"):
            fit(X, y)
    with pytest.raises(ValueError, match="too large"):  # a second output no better
        reg.fit(X, np.column_stack([X[:, 1], y]))
    with pytest.warns(ConvergenceWarning):
        fitted = reg.fit(X, X[:, 0] * 1e140)  # within the bound: fitted, finite predictions in its units
    assert np.isfinite(fitted.predict(X)).all()


def test_a_warm_started_fit_counts_invscaling_from_t_(iris):
    """A warm-started fit starts its optimizer afresh (the first epoch at learning_rate_init) but counts the samples
    of every fit before it, as scikit-learn's ``t_``: its second epoch's rate is ``lr / (t_ + n + 1) ** power_t``."""
    X, y = iris
    clf = MLPClassifier((4,), solver="sgd", learning_rate="invscaling", learning_rate_init=0.1, batch_size=len(X),
                        shuffle=False, max_iter=3, random_state=0, n_iter_no_change=100).fit(X, y)
    before = clf.t_
    assert before == 3 * len(X)
    clf.set_params(warm_start=True, max_iter=2).fit(X, y)
    assert clf.history_.lr[0] == 0.1
    assert clf.history_.lr[1] == pytest.approx(0.1 / (before + len(X) + 1) ** 0.5, rel=1e-12)


def test_a_trainer_refuses_a_negative_count_of_samples_seen():
    from layers import Linear, SoftmaxCrossEntropyLoss
    from model import Sequential
    from model.training import Trainer, TrainingConfig

    net = Sequential([Linear(2, 2)], SoftmaxCrossEntropyLoss())
    with pytest.raises(ParameterError, match="seen"):
        Trainer(net, TrainingConfig(), seen=-1)
