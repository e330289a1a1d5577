"""Issue 27's estimator parity with scikit-learn: its "sgd" (momentum 0.9, Nesterov), ``sample_weight``,
``partial_fit`` going on with the optimizer's state, ``coefs_`` and ``intercepts_``."""

import numpy as np
import pytest
from scipy.special import softmax
from sklearn.datasets import load_iris, make_regression
from sklearn.ensemble import AdaBoostClassifier
from sklearn.exceptions import NotFittedError
from sklearn.neural_network._stochastic_optimizers import SGDOptimizer  # private: only to compare with

from layers import Linear, MSELoss, ReLU, SigmoidBCELoss, SoftmaxCrossEntropyLoss
from layers.validation import ParameterError
from model import MLPClassifier, MLPRegressor, Sequential, build_mlp
from model.optim import SGD, make_optimizer
from model.training import TrainingConfig, train

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def iris():
    return load_iris(return_X_y=True)


def small(cls, **settings):
    return cls(**{"hidden_layer_sizes": (8,), "learning_rate_init": 0.02, "random_state": 0, **settings})


# ------------------------------------------------------------------ "sgd" is scikit-learn's


def _gradients(rng, shapes, steps):
    return [[rng.standard_normal(shape) for shape in shapes] for _ in range(steps)]


@pytest.mark.parametrize("nesterov", [True, False])
def test_sgd_with_momentum_takes_scikit_learns_steps_even_as_the_rate_changes(nesterov):
    rng = np.random.default_rng(0)
    shapes = [(3, 2), (2,)]
    start = [rng.standard_normal(shape) for shape in shapes]
    theirs_params = [p.copy() for p in start]
    theirs = SGDOptimizer(theirs_params, learning_rate_init=0.1, momentum=0.9, nesterov=nesterov)
    ours_params = {str(i): p.copy() for i, p in enumerate(start)}
    ours_grads = {key: np.zeros_like(p) for key, p in ours_params.items()}
    ours = SGD(ours_params, ours_grads, lr=0.1, momentum=0.9, nesterov=nesterov)
    for step, grads in enumerate(_gradients(rng, shapes, 12)):
        if step == 6:  # a schedule's new rate: the velocity keeps the steps taken at the old one
            theirs.learning_rate = ours.lr = 0.02
        theirs.update_params(theirs_params, grads)
        for key, g in zip(ours_grads, grads, strict=True):
            ours_grads[key][...] = g
        ours.step()
    for i, p in enumerate(theirs_params):
        np.testing.assert_allclose(ours_params[str(i)], p, rtol=1e-14, atol=1e-15)


def test_the_comparison_would_see_pytorchs_form_once_the_rate_changes():
    # PyTorch keeps v ← μ v + g and steps lr · v: equal at a constant rate, not after a change of it, so the
    # comparison above can tell the two forms apart.
    g1, g2 = np.array([1.0]), np.array([1.0])
    torch_step2 = 0.02 * (0.9 * g1 + g2)  # the second step at the new rate, in PyTorch's form
    sklearn_step2 = -(0.9 * (-0.1 * g1) - 0.02 * g2)  # scikit-learn's: the velocity holds the first step's rate
    assert abs(torch_step2[0] - sklearn_step2[0]) > 1e-3


def test_the_estimators_sgd_defaults_to_nesterov_momentum_0_9(iris):
    X, y = iris
    default = small(MLPClassifier, solver="sgd", max_iter=5).fit(X, y)
    named = small(MLPClassifier, solver="nesterov", max_iter=5).fit(X, y)  # the library's name for the same update
    classical = small(MLPClassifier, solver="sgd", nesterovs_momentum=False, max_iter=5).fit(X, y)
    assert default.get_params()["momentum"] == 0.9 and default.get_params()["nesterovs_momentum"] is True
    for a, b in zip(default.coefs_, named.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    plain = small(MLPClassifier, solver="sgd", momentum=0.0, max_iter=5).fit(X, y)
    assert not np.allclose(plain.coefs_[0], default.coefs_[0])
    assert not np.allclose(classical.coefs_[0], default.coefs_[0])


def test_train_sgd_stays_the_handouts_plain_update():
    config = TrainingConfig()
    assert config.optimizer == "sgd" and config.optimizer_options == {}
    opt = make_optimizer("sgd", {"w": np.ones(2)}, {"w": np.ones(2)}, **config.optimizer_options)
    assert opt.momentum == 0.0 and opt.velocity is None


@pytest.mark.parametrize("settings, named", [
    ({"momentum": 1.5}, ["momentum", "1.5"]),
    ({"momentum": -0.1}, ["momentum", "-0.1"]),
    ({"momentum": "high"}, ["momentum", "high"]),
    ({"nesterovs_momentum": "yes"}, ["nesterovs_momentum", "yes"]),
])
def test_momentum_settings_are_checked_and_named(iris, settings, named):
    X, y = iris
    with pytest.raises(ValueError) as caught:
        small(MLPClassifier, solver="sgd", max_iter=2, **settings).fit(X, y)
    for word in named:
        assert word in str(caught.value)
    small(MLPClassifier, solver="adam", max_iter=2, **settings).fit(X, y)  # as scikit-learn: other solvers ignore it


def test_train_refuses_momentum_for_another_optimizer():
    with pytest.raises(ParameterError) as caught:
        TrainingConfig(optimizer="adam", momentum=0.5)
    assert caught.value.param == "momentum" and "sgd" in caught.value.reason
    with pytest.raises(ParameterError) as caught:
        TrainingConfig(optimizer="sgd", nesterov=True)  # Nesterov without momentum: SGD's own rule
    assert caught.value.param == "nesterov"


# ------------------------------------------------------------------ sample_weight


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
def test_uniform_weights_change_nothing_exactly(iris, solver):
    X, y = iris
    plain = small(MLPClassifier, solver=solver, max_iter=8).fit(X, y)
    weighted = small(MLPClassifier, solver=solver, max_iter=8).fit(X, y, sample_weight=np.full(len(y), 3.7))
    for a, b in zip(plain.coefs_ + plain.intercepts_, weighted.coefs_ + weighted.intercepts_, strict=True):
        np.testing.assert_array_equal(a, b)
    assert plain.loss_curve_ == weighted.loss_curve_


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("solver", ["adam", "lbfgs"])
def test_a_zero_weight_removes_the_sample_at_full_batch(iris, cls, solver):
    X, y = iris
    if cls is MLPRegressor:
        X, y = make_regression(150, 4, noise=5.0, random_state=0)
    w = np.ones(len(y))
    w[::7] = 0.0
    w[1::7] = 2.0  # not uniform: the weighting is used, not dropped
    settings = {"solver": solver, "max_iter": 10, "batch_size": len(y), "alpha": 0.0, "engine": "layers"}
    weighted = small(cls, **settings).fit(X, y, sample_weight=w)
    kept = w > 0
    settings["batch_size"] = int(kept.sum())
    dropped = small(cls, **settings).fit(X[kept], y[kept], sample_weight=w[kept])
    for a, b in zip(weighted.coefs_ + weighted.intercepts_, dropped.coefs_ + dropped.intercepts_, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_weights_change_the_fit_and_the_engine_says_it_declines_them(iris):
    X, y = iris
    w = np.where(y == 2, 5.0, 1.0)
    plain = small(MLPClassifier, max_iter=5).fit(X, y)
    weighted = small(MLPClassifier, max_iter=5).fit(X, y, sample_weight=w)
    assert plain.history_.engine == "engine"
    assert weighted.history_.engine == "layers" and "sample weights" in weighted.history_.engine_note
    assert not np.allclose(plain.coefs_[0], weighted.coefs_[0])


@pytest.mark.parametrize("loss, out, y", [
    (SoftmaxCrossEntropyLoss(), np.array([[1.0, 0.0, -1.0], [0.5, 0.2, 0.1], [0.0, 2.0, 1.0]]), np.array([0, 2, 1])),
    (SoftmaxCrossEntropyLoss(class_weight=[1.0, 3.0, 0.5]), np.array([[1.0, 0.0, -1.0], [0.5, 0.2, 0.1],
                                                                       [0.0, 2.0, 1.0]]), np.array([0, 2, 1])),
    (SigmoidBCELoss(), np.array([[0.3], [-1.2], [2.0]]), np.array([[1.0], [0.0], [1.0]])),
    (MSELoss(), np.array([[0.3, 1.0], [-1.2, 0.0], [2.0, 0.5]]), np.array([[0.0, 1.0], [1.0, 0.0], [1.5, 0.5]])),
])
def test_a_loss_with_sample_weights_is_their_weighted_mean_and_its_gradient_follows(loss, out, y):
    w = np.array([2.0, 0.0, 1.0])
    per_row = np.array([loss.forward(out[i:i + 1], y[i:i + 1]) for i in range(3)])
    loss.sample_weight = w
    value = loss.forward(out, y)
    grad = loss.backward()
    if getattr(loss, "class_weight", None) is not None:  # a class weight multiplies the sample's
        w = w * np.asarray(loss.class_weight)[y]
    assert value == pytest.approx(float((w * per_row).sum() / w.sum()), rel=1e-12)
    numeric = np.zeros_like(out)
    for index in np.ndindex(out.shape):
        bumped = [out.copy(), out.copy()]
        bumped[0][index] += 1e-6
        bumped[1][index] -= 1e-6
        up, down = (loss.forward(b, y) for b in bumped)
        numeric[index] = (up - down) / 2e-6
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)
    assert not grad[1].any()  # the sample of weight 0 gets no gradient


def test_a_batch_of_weight_zero_counts_for_nothing():
    loss = SigmoidBCELoss()
    loss.sample_weight = np.zeros(2)
    assert loss.forward(np.array([[0.3], [1.0]]), np.array([[1.0], [0.0]])) == 0.0
    assert not loss.backward().any()


def test_training_puts_the_loss_unweighted_again(iris):
    X, y = iris
    clf = small(MLPClassifier, max_iter=2).fit(X, y, sample_weight=np.where(y == 1, 2.0, 1.0))
    assert clf.network_.criterion.sample_weight is None
    lbfgs = small(MLPClassifier, solver="lbfgs", max_iter=2).fit(X, y, sample_weight=np.where(y == 1, 2.0, 1.0))
    assert lbfgs.network_.criterion.sample_weight is None


@pytest.mark.parametrize("weights, named", [
    (np.ones(10), ["sample_weight", "(150,)", "(10,)"]),
    (np.r_[-1.0, np.ones(149)], ["sample_weight", ">= 0", "-1"]),
    (np.r_[np.nan, np.ones(149)], ["sample_weight", "finite"]),
    (np.zeros(150), ["sample_weight", "zero"]),
    ("heavy", ["sample_weight", "str"]),
])
def test_bad_sample_weights_are_refused_in_one_line(iris, weights, named):
    X, y = iris
    with pytest.raises(ValueError) as caught:
        small(MLPClassifier, max_iter=2).fit(X, y, sample_weight=weights)
    message = str(caught.value)
    assert "\n" not in message
    for word in named:
        assert word in message


def test_a_loss_that_does_not_weigh_samples_is_named():
    class Unweighted:  # a loss of one's own, with no sample_weight attribute
        target = "values"

        def forward(self, pred, target, check_input=True):
            self.diff = pred - np.asarray(target).reshape(pred.shape)
            return float((self.diff ** 2).mean())

        def backward(self, upstream=1.0):
            return upstream * 2 * self.diff / self.diff.size

    rng = np.random.default_rng(0)
    net = Sequential([Linear(2, 1, rng=rng)], Unweighted())
    X, y = rng.standard_normal((20, 2)), rng.standard_normal(20)
    with pytest.raises(ParameterError) as caught:
        train(net, X, y, epochs=1, sample_weight=np.arange(20.0))
    assert caught.value.param == "sample_weight" and "Unweighted" in caught.value.reason
    train(net, X, y, epochs=1, sample_weight=np.ones(20))  # a uniform weighting is none: any loss takes it


def test_adaboost_boosts_the_classifier(iris):
    X, y = iris
    boosted = AdaBoostClassifier(small(MLPClassifier, max_iter=30), n_estimators=3, random_state=0).fit(X, y)
    assert boosted.score(X, y) > 0.85 and len(boosted.estimators_) >= 2


def test_partial_fit_takes_sample_weight_and_early_stopping_splits_it(iris):
    X, y = iris
    w = np.where(y == 0, 0.5, 1.0)
    clf = small(MLPClassifier)
    clf.partial_fit(X, y, w, classes=[0, 1, 2])  # scikit-learn's order: sample_weight before classes
    clf.partial_fit(X, y, sample_weight=w)
    assert clf.history_.engine == "layers"
    stopped = small(MLPClassifier, early_stopping=True, max_iter=20).fit(X, y, sample_weight=w)
    assert stopped.best_loss_ is None and len(stopped.validation_scores_) == stopped.n_iter_


# ------------------------------------------------------------------ partial_fit keeps the optimizer's state


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
@pytest.mark.parametrize("solver, schedule", [("adam", "constant"), ("sgd", "constant"), ("sgd", "invscaling")])
def test_k_partial_fits_on_the_full_batch_equal_fit_of_k_epochs(iris, cls, solver, schedule):
    X, y = iris
    settings = {"solver": solver, "learning_rate": schedule, "batch_size": len(y), "shuffle": False,
                "n_iter_no_change": 100, "learning_rate_init": 0.05}
    k = 6
    fitted = small(cls, max_iter=k, **settings).fit(X, y)
    streamed = small(cls, **settings)
    for _ in range(k):
        if cls is MLPClassifier:
            streamed.partial_fit(X, y, classes=[0, 1, 2])
        else:
            streamed.partial_fit(X, y)
    for a, b in zip(fitted.coefs_ + fitted.intercepts_, streamed.coefs_ + streamed.intercepts_, strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(streamed.loss_curve_, fitted.loss_curve_, rtol=1e-10)


@pytest.mark.parametrize("solver", ["adam", "sgd"])
def test_the_comparison_sees_an_optimizer_started_afresh(iris, solver):
    # the test above can fail: forgetting the state between calls (the former behaviour) ends elsewhere
    X, y = iris
    settings = {"solver": solver, "batch_size": len(y), "shuffle": False, "learning_rate_init": 0.05}
    fitted = small(MLPClassifier, max_iter=4, **settings).fit(X, y)
    forgetful = small(MLPClassifier, **settings)
    for _ in range(4):
        forgetful.partial_fit(X, y, classes=[0, 1, 2])
        forgetful._continuation = None
    assert not np.allclose(forgetful.coefs_[0], fitted.coefs_[0], rtol=1e-6)


def test_partial_fit_on_the_engine_and_on_the_layers_continue_alike(iris):
    X, y = iris
    runs = {}
    for engine in ("auto", "layers"):
        clf = small(MLPClassifier, batch_size=32, shuffle=False, engine=engine)
        for _ in range(3):
            clf.partial_fit(X, y, classes=[0, 1, 2])
        runs[engine] = clf
    assert runs["auto"].history_.engine == "engine" and runs["layers"].history_.engine == "layers"
    np.testing.assert_allclose(runs["auto"].coefs_[0], runs["layers"].coefs_[0], rtol=1e-9, atol=1e-12)


def test_fit_starts_the_optimizer_afresh(iris):
    X, y = iris
    settings = {"batch_size": len(y), "shuffle": False, "max_iter": 3, "warm_start": True}
    twice = small(MLPClassifier, **settings).fit(X, y)
    twice.fit(X, y)
    once_then_fresh = small(MLPClassifier, **settings).fit(X, y)
    once_then_fresh._continuation = None
    once_then_fresh.fit(X, y)
    np.testing.assert_array_equal(twice.coefs_[0], once_then_fresh.coefs_[0])


# ------------------------------------------------------------------ coefs_ and intercepts_


def test_coefs_and_intercepts_are_the_networks_arrays_in_scikit_learns_shapes(iris):
    X, y = iris
    clf = small(MLPClassifier, hidden_layer_sizes=(8, 5), max_iter=5, standardize=False).fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(4, 8), (8, 5), (5, 3)]
    assert [b.shape for b in clf.intercepts_] == [(8,), (5,), (3,)]
    linears = [layer for layer in clf.network_.layers if isinstance(layer, Linear)]
    assert all(c is layer.params["W"] for c, layer in zip(clf.coefs_, linears, strict=True))  # views, not copies
    h = X
    for W, b in zip(clf.coefs_[:-1], clf.intercepts_[:-1], strict=True):
        h = np.maximum(h @ W + b, 0)
    logits = h @ clf.coefs_[-1] + clf.intercepts_[-1]
    np.testing.assert_allclose(logits.argmax(axis=1), clf.predict(X))
    clf.coefs_[-1][...] = 0
    clf.intercepts_[-1][...] = [0.0, 0.0, 1.0]
    assert (clf.predict(X) == 2).all()  # writing into them changes the model


def test_with_standardize_the_coefs_act_on_standardised_inputs(iris):
    X, y = iris
    clf = small(MLPClassifier, max_iter=5).fit(X, y)
    scaler = clf.network_.layers[0]
    Z = (X - scaler.mean) / scaler.scale
    hidden = np.maximum(Z @ clf.coefs_[0] + clf.intercepts_[0], 0)
    np.testing.assert_allclose(softmax(hidden @ clf.coefs_[1] + clf.intercepts_[1], axis=1), clf.predict_proba(X),
                               rtol=1e-10)
    raw = np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0)  # on raw X they mean something else
    assert not np.allclose(softmax(raw @ clf.coefs_[1] + clf.intercepts_[1], axis=1), clf.predict_proba(X))


def test_a_layer_without_bias_has_zero_intercepts_and_an_unfitted_estimator_has_none(iris):
    X, y = iris
    clf = small(MLPClassifier, batchnorm=True, max_iter=2).fit(X, y)
    assert not clf.intercepts_[0].any() and clf.intercepts_[0].shape == (8,)
    with pytest.raises(NotFittedError):
        _ = MLPClassifier().coefs_
    assert clf.n_iter_ == 2 and len(clf.loss_curve_) == 2 and clf.best_loss_ == min(clf.loss_curve_)


def test_a_small_network_matches_relu_layers_built_by_hand():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((30, 3)), rng.integers(0, 2, 30)
    clf = small(MLPClassifier, max_iter=3, standardize=False).fit(X, y)
    net = Sequential([Linear(3, 8, rng=rng), ReLU(), Linear(8, 1, rng=rng)], SigmoidBCELoss())
    net.layers[0].params["W"][...], net.layers[0].params["b"][...] = clf.coefs_[0], clf.intercepts_[0]
    net.layers[2].params["W"][...], net.layers[2].params["b"][...] = clf.coefs_[1], clf.intercepts_[1]
    np.testing.assert_allclose(net.criterion.proba(net.forward(X))[:, 0], clf.predict_proba(X)[:, 1], rtol=1e-12)


def test_lbfgs_with_weights_and_a_validation_set_evaluates_it_unweighted():
    X, y = load_iris(return_X_y=True)
    rng = np.random.default_rng(0)
    net = build_mlp(4, [6], classes=3, seed=0)
    w = rng.uniform(0.5, 2.0, 100)
    history = train(net, X[:100], y[:100], X[100:], y[100:], optimizer="lbfgs", epochs=5, sample_weight=w)
    assert len(history.val_loss) == 5 and np.isfinite(history.val_loss).all()
    assert net.criterion.sample_weight is None


# ------------------------------------------------------------------ loss_curve_ with L2: each batch's term


@pytest.mark.parametrize("engine", ["auto", "layers"])
def test_loss_curve_with_l2_counts_each_batchs_term_before_its_step(engine):
    """At 3 mini-batches an epoch, scikit-learn's loss adds each batch's L2 term (its weights before the step);
    both training paths record the same curve — not the epoch's data loss plus the term of its last weights."""
    from sklearn.neural_network import MLPClassifier as SkMLP

    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    common = dict(hidden_layer_sizes=(5,), solver="sgd", alpha=0.05, batch_size=20, shuffle=False,
                  learning_rate_init=0.1, n_iter_no_change=1000, random_state=0, max_iter=1)
    ours = MLPClassifier(standardize=False, engine=engine, **common).fit(X, y)
    theirs = SkMLP(**common).fit(X, y)
    for mine, start in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True):
        mine[...] = start
    ours.set_params(warm_start=True, max_iter=3).fit(X, y)
    theirs.set_params(warm_start=True, max_iter=3).fit(X, y)
    assert ours.history_.engine == ("engine" if engine == "auto" else "layers")
    np.testing.assert_allclose(ours.coefs_[0], theirs.coefs_[0], rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ours.loss_curve_[-3:], theirs.loss_curve_[-3:], rtol=1e-10)
    end_of_epoch = ours.history_.train_loss[-1] + ours.network_.penalty()
    assert abs(ours.loss_curve_[-1] - end_of_epoch) > 1e-6  # the old reading, which this tells apart


@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_a_held_out_set_of_weight_zero_is_refused_in_one_line(iris, cls):
    from sklearn.model_selection import train_test_split

    X, y = iris
    estimator = small(cls, early_stopping=True, validation_fraction=0.1, max_iter=2)
    # the rows the split holds out (by the estimator's seed sequence from random_state=0): only they weigh 0
    rng = np.random.RandomState(0)
    seeds = rng.randint(np.iinfo(np.int32).max, size=3)
    stratify = y if cls is MLPClassifier else None
    _, held = train_test_split(np.arange(len(X)), test_size=0.1, random_state=int(seeds[1]), stratify=stratify)
    weights = np.ones(len(X))
    weights[held] = 0.0
    with pytest.raises(ValueError, match="held-out") as caught:
        estimator.fit(X, y, sample_weight=weights)
    assert "sample_weight 0" in str(caught.value) and "\n" not in str(caught.value)
    weights[held[0]] = 1.0  # one held-out row that counts: it fits
    estimator.fit(X, y, sample_weight=weights)
    assert len(estimator.validation_scores_) == 2
