"""scikit-learn-compatible estimators: ``MLPClassifier`` and ``MLPRegressor``, built on ``Sequential`` and ``train``.

Switching from scikit-learn is a one-line import change for the parameters both share (same names, same
meanings, same defaults); the rest of scikit-learn's toolbox (``Pipeline``, ``cross_val_score``,
``GridSearchCV``, pickling, ``clone``) takes them as any estimator::

    from model import MLPClassifier            # instead of: from sklearn.neural_network import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(64,), max_iter=100).fit(X, y)   # y: any labels, strings too
    clf.predict(X)          # labels, as given
    clf.predict_proba(X)    # (N, K) for every K, 2 included; columns in ``classes_`` order

How a fit goes: the data is checked with scikit-learn's own tools; a ``Sequential`` is built —
``[Standardize] → (Linear → [BatchNorm] → activation → [Dropout]) per hidden width → Linear`` with the loss
the task needs (``SigmoidBCELoss`` for two classes, ``SoftmaxCrossEntropyLoss`` for more, ``MSELoss`` for
values) — and ``model.train`` fits it; after each epoch a ``_Watch`` records scikit-learn's ``loss_curve_``
and ``validation_scores_`` and applies its stopping rule. The fitted network is ``network_`` (it takes raw
points: its ``Standardize`` layer carries the scaling).

Where the meaning differs from scikit-learn's, on purpose:

- ``solver="sgd"`` is scikit-learn's (``momentum`` 0.9 with Nesterov's look-ahead unless
  ``nesterovs_momentum=False``; ``momentum=0`` is the handout's plain update); ``momentum`` must be in
  [0, 1) (scikit-learn also takes 1: a velocity that never decays). ``"nesterov"`` and ``"momentum"``
  name momentum 0.9 with and without the look-ahead. ``beta_1``, ``beta_2``, ``epsilon`` and ``max_fun``
  are not parameters.
- ``learning_rate`` (the schedule) applies to every first-order solver (scikit-learn: "sgd" only);
  "adaptive" watches the training loss.
- Weights start He-initialised (``layers.Linear``), not Glorot's; inputs (and the regressor's targets) are
  standardised inside the network unless ``standardize=False``.
- ``partial_fit`` continues from the current weights and the optimizer's state (Adam's moments, the velocity,
  the schedule's rate and sample count), as scikit-learn's: k calls on the full batch without shuffling equal
  ``fit`` with ``max_iter=k``. ``fit`` starts the optimizer afresh (with ``warm_start``, from the weights).
- ``sample_weight`` (``fit``, ``partial_fit``) makes each batch's loss the weighted mean ``Σ w ℓ / Σ w``,
  inside the loss layer. Weights are not repetitions: the L2 term stays ``alpha / batch_size`` (scikit-learn
  divides by the batch's weight sum), so equal weights of any size change nothing; rows of weight 0 are left
  out of the standardisation too, so they are removed. Only the weights' ratios count: any finite weights,
  1e308 or beyond float32 too, train (``model.training.check_sample_weight`` divides them by their largest).
  With ``early_stopping`` the held-out rows keep their weights, which weigh the validation score (as
  scikit-learn's). The engine declines weights (the layers train).
- ``coefs_[i]`` (fan_in, fan_out) and ``intercepts_[i]`` are the network's own ``Linear`` arrays (views:
  writing into them changes the model); with ``standardize`` they act on the standardised inputs
  (``network_.layers[0]``'s ``(x − mean) / scale``), which scikit-learn's MLP has no counterpart of.

Shapes: ``X`` (N, D); the classifier's ``y`` (N,) labels; the regressor's ``y`` (N,) or (N, T).
"""

import contextlib
import math
import warnings
from functools import partial

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import r2_score
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state
    from sklearn.utils.class_weight import compute_class_weight
    from sklearn.utils.metaestimators import available_if
    from sklearn.utils.multiclass import check_classification_targets, unique_labels
    from sklearn.utils.validation import check_is_fitted, validate_data
except ImportError:  # scikit-learn missing, or older than 1.6 (validate_data, __sklearn_tags__)
    raise ImportError('model.MLPClassifier and model.MLPRegressor need scikit-learn >= 1.6: '
                      'pip install -e ".[sklearn]"') from None

from data.csv_layout import MAX_MAGNITUDE, number_problem
from layers import Linear, MSELoss, SigmoidBCELoss, SoftmaxCrossEntropyLoss
from layers.validation import ParameterError, check_real

from .builders import Architecture, layer_stack
from .inputs import check_X
from .metrics import balanced_class_weight
from .predict import outputs
from .registry import SKLEARN_ACTIVATIONS as ACTIVATIONS
from .schedules import Stall
from .sequential import Sequential
from .training import Trainer, TrainingConfig, check_sample_weight

#: the library's names for the settings (``train``, ``Architecture``) -> the estimators' names, so that a
#: ``ParameterError`` raised by the library names the parameter the user passed
PARAMETER_NAMES = {"optimizer": "solver", "lr": "learning_rate_init", "epochs": "max_iter",
                   "lr_schedule": "learning_rate", "hidden": "hidden_layer_sizes", "weight_decay": "alpha",
                   "seed": "random_state", "nesterov": "nesterovs_momentum"}

#: scikit-learn's default mini-batch: ``min(AUTO_BATCH, n_samples)`` for ``batch_size="auto"``
AUTO_BATCH = 200
#: an "adaptive" schedule stops training once its rate is this small (scikit-learn's rule)
SMALLEST_ADAPTIVE_LR = 1e-6


class _Watch:
    """scikit-learn's bookkeeping after each epoch, as ``train``'s ``on_epoch``: returns True to stop.

    ``loss_curve`` gets the epoch's training loss plus the L2 penalty as scikit-learn counts it (each batch's
    before its step, weighted by the batch's rows: ``Trainer.epoch_penalty``); with a ``scorer``, ``scores`` gets the
    validation score and the training loop's ``keeper`` keeps the best-scoring state. Unless ``stop`` is
    False, training stops once the watched quantity (the score, else the loss) has ``stall``ed — under an
    "adaptive" schedule only once its rate has fallen to 1e-6.
    """

    def __init__(self, trainer, stall, scorer=None, adaptive=False, stop=True, verbose=False):
        self.trainer, self.keeper, self.stall, self.scorer = trainer, trainer.keeper, stall, scorer
        self.adaptive, self.stop, self.verbose = adaptive, stop, verbose
        self.loss_curve, self.scores, self.converged = [], ([] if scorer else None), False

    def __call__(self, epoch, history):
        loss = history.train_loss[-1] + self.trainer.epoch_penalty  # scikit-learn's: with each batch's L2 term
        self.loss_curve.append(loss)
        if self.verbose:
            print(f"Iteration {epoch}, loss = {loss:.8f}")
        watched = loss
        if self.scorer is not None:
            score = self.scorer()
            self.scores.append(score)
            if self.verbose:
                print(f"Validation score: {score:f}")
            self.keeper.improves(-score, epoch)
            watched = -score  # higher is better
        if not self.stall.update(watched) or not self.stop:
            return False
        if self.adaptive and history.lr[-1] > SMALLEST_ADAPTIVE_LR:
            self.stall.reset()  # the schedule divides the rate by 5 and training goes on
            return False
        self.converged = True
        return True


def _weighted_mean(values, weights=None):
    """The mean of ``values`` (N,), weighted by ``weights`` (N,) >= 0 with a positive sum when given."""
    return float(np.average(values, weights=weights))  # weights <= 1 (check_sample_weight): no overflow


class _MLP(BaseEstimator):
    """The fit machinery of both estimators; a subclass says how targets are encoded and scored."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 standardize=True, dtype="float64", dropout=0.0, batchnorm=False, engine="auto"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.standardize = standardize
        self.dtype = dtype
        self.dropout = dropout
        self.batchnorm = batchnorm
        self.engine = engine

    # -------------------------------------------------------------- the settings, checked by the library

    def _refuse(self, param, reason):
        raise ParameterError(type(self).__name__, param, reason)

    @contextlib.contextmanager
    def _speaking_as_estimator(self):
        """A library ``ParameterError`` raised inside, again naming the estimator and its parameter."""
        try:
            yield
        except ParameterError as error:
            raise ParameterError(type(self).__name__, PARAMETER_NAMES.get(error.param, error.param),
                                 error.reason) from None

    def _architecture(self):
        """The network's words, checked by ``Architecture`` (the one home of those rules)."""
        if self.activation not in ACTIVATIONS:
            self._refuse("activation", f"must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        with self._speaking_as_estimator():
            return Architecture(hidden=self.hidden_layer_sizes, hidden_bias=not self.batchnorm, weight_decay=self.alpha,
                                standardize=bool(self.standardize), dropout=self.dropout,
                                batchnorm=bool(self.batchnorm), dtype=self.dtype)

    def _training_config(self, epochs, seed):
        """The ``train`` settings these parameters mean, checked by ``TrainingConfig``, and the ``Stall`` that
        counts epochs without improvement (``tol``, ``n_iter_no_change``, checked by it)."""
        stochastic = self.solver != "lbfgs"
        if self.batch_size != "auto" and isinstance(self.batch_size, str):
            self._refuse("batch_size", f"must be 'auto' or a positive integer, got {self.batch_size!r}")
        batch_size = AUTO_BATCH if self.batch_size == "auto" else self.batch_size
        settings = {"optimizer": self.solver, "epochs": epochs, "seed": seed, "engine": self.engine,
                    "lr": self.learning_rate_init if stochastic else None,
                    "batch_size": batch_size if stochastic else None,
                    "lr_schedule": self.learning_rate if stochastic else "constant", "power_t": self.power_t,
                    "shuffle": bool(self.shuffle), **self._momentum()}
        with self._speaking_as_estimator():
            return TrainingConfig(**settings), Stall(self.tol, self.n_iter_no_change)

    def _momentum(self):
        """``train``'s momentum settings for scikit-learn's "sgd": ``momentum`` with Nesterov's look-ahead when
        ``nesterovs_momentum`` (a momentum of 0 is the plain update); none for the other solvers."""
        if self.solver != "sgd":
            return {}
        if not isinstance(self.nesterovs_momentum, (bool, np.bool_)):
            self._refuse("nesterovs_momentum", f"must be True or False, got {self.nesterovs_momentum!r}")
        # its range is SGD's rule (checked by TrainingConfig); Nesterov's look-ahead needs some momentum
        return {"momentum": self.momentum, "nesterov": bool(self.nesterovs_momentum) and self.momentum != 0}

    def _validation_split(self, X, targets, weights, seed):
        """scikit-learn's held-out set for early stopping: ``(X_train, X_val, t_train, t_val, w_train, w_val)``, the
        weights None when unweighted (the held-out ones weigh the validation score, as scikit-learn's do)."""
        stratify = targets if isinstance(self, ClassifierMixin) else None
        arrays = (X, targets) if weights is None else (X, targets, weights)
        parts = train_test_split(*arrays, test_size=self.validation_fraction, random_state=seed, stratify=stratify)
        if len(parts[1]) < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of your "
                             "dataset.")
        if weights is not None and not parts[5].max() > 0:
            raise ValueError(f"early_stopping: the {len(parts[1])} held-out rows all have sample_weight 0, so no "
                             "validation score can count them; increase 'validation_fraction' or give them weight")
        return (*parts, None, None) if weights is None else tuple(parts)

    # -------------------------------------------------------------- fitting

    def _continuing(self, arch, incremental):
        """Whether this fit continues the fitted network (``partial_fit``, ``warm_start``), refusing what it cannot."""
        continuing = hasattr(self, "network_") and (incremental or self.warm_start)
        if continuing and self._built_with != self._build_words(arch):
            raise ValueError(f"{'partial_fit' if incremental else 'warm_start'} continues the fitted network, but "
                             "the architecture's parameters changed since it was built; fit with warm_start=False")
        if incremental and self.early_stopping:
            raise ValueError("partial_fit does not support early_stopping=True")
        return continuing

    def _fit(self, X, y, incremental, classes=None, sample_weight=None):
        arch = self._architecture()
        first = not self._continuing(arch, incremental)
        X, y = validate_data(self, X, y, reset=first, dtype=arch.dtype if first else self.network_.dtype,
                             **self._target_checks)
        if first:
            self._random_state = check_random_state(self.random_state)
        seeds = self._random_state.randint(np.iinfo(np.int32).max, size=3)
        config, stall = self._training_config(1 if incremental else self.max_iter, int(seeds[0]))
        held_out = self.early_stopping and self.solver != "lbfgs" and not incremental
        if held_out:
            check_real(self.validation_fraction, "validation_fraction", type(self).__name__, "(0, 1)")
        with self._speaking_as_estimator():
            weights = check_sample_weight(sample_weight, len(X))
        targets = self._encode(y, first, incremental, classes, weights)
        held = None
        if held_out:
            X, X_val, targets, t_val, weights, w_val = self._validation_split(X, targets, weights, int(seeds[1]))
            held = (X_val, t_val, w_val)
        if first:
            self._build(arch, X, targets, int(seeds[2]))
        return self._train((X, targets, weights), held, config, stall, incremental)

    def _build(self, arch, X, targets, seed):
        """A new ``network_`` for these training rows (``builders.layer_stack``), every Linear with a bias but a
        hidden one before ``BatchNorm`` (whose shift replaces it)."""
        loss, width = self._head(targets)
        rng = np.random.default_rng(seed)
        self.network_ = Sequential(layer_stack(arch, X.shape[1], width, rng, None, ACTIVATIONS[self.activation]), loss)
        if hasattr(self, "feature_names_in_"):
            self.network_.feature_names = [str(name) for name in self.feature_names_in_]
        self._built_with = self._build_words(arch)
        self.n_layers_ = len(arch.hidden) + 2
        self.n_iter_, self.t_, self.loss_curve_, self.best_loss_ = 0, 0, [], math.inf
        self.validation_scores_, self.best_validation_score_ = None, None
        self._continuation = None

    def _build_words(self, arch):
        return (arch.hidden, self.activation, arch.standardize, arch.dropout, arch.batchnorm, arch.dtype)

    def _train(self, rows, held, config, stall, incremental):
        """Train ``network_`` on ``rows`` — ``(X, targets, weights)`` — (its ``Standardize`` fitted by the loop on the
        first fit's rows), scoring each epoch on ``held`` — ``(X_val, t_val, w_val)``, None without early stopping —
        and record the run; ``partial_fit`` goes on with the optimizer's state where the last run
        left it (``fit`` starts afresh, as scikit-learn's)."""
        X, targets, weights = rows
        net = self.network_
        batch = len(X) if config.batch_size is None else min(config.batch_size, len(X))
        net.weight_decay = float(self.alpha) / batch  # scikit-learn divides the L2 term by the batch's size
        scorer = None if held is None else partial(self._validation_score, net, *held)
        resume = self._continuation if incremental else None
        # a fresh optimizer (fit, warm_start too) counts invscaling's samples from t_, as scikit-learn's; its
        # loss_curve_ counts each batch's L2 term; class weights are a loss setting the engine declines
        trainer = Trainer(net, config, resume=resume, seen=self.t_, batch_penalty=True)
        watch = _Watch(trainer, stall, scorer,
                       adaptive=config.lr_schedule == "adaptive", stop=self.solver != "lbfgs" and not incremental,
                       verbose=bool(self.verbose))
        with self._speaking_as_estimator():
            history = trainer.fit(X, targets, on_epoch=watch, sample_weight=weights)
        self._continuation = trainer.continuation
        if watch.scores:
            trainer.keeper.restore()  # the best-scoring epoch's state
        self._record(history, watch, len(X), incremental)
        return self

    def _record(self, history, watch, n_train, incremental):
        """scikit-learn's fitted attributes from one ``train`` run (``loss_curve_`` grows across warm starts)."""
        self.history_ = history
        self.n_iter_ = len(history.epoch)
        self.t_ += self.n_iter_ * n_train
        self.loss_curve_ = self.loss_curve_ + watch.loss_curve
        self.loss_ = self.loss_curve_[-1] if self.loss_curve_ else math.nan
        if watch.scores is None:
            self.best_loss_ = min([self.best_loss_] + watch.loss_curve)
        else:
            self.validation_scores_ = (self.validation_scores_ or []) + watch.scores
            self.best_validation_score_ = max(self.validation_scores_)
            self.best_loss_ = None
        if not incremental and self.n_iter_ == self.max_iter and not watch.converged:
            what = "Stochastic Optimizer" if self.solver != "lbfgs" else "lbfgs"
            warnings.warn(f"{what}: Maximum iterations ({self.max_iter}) reached and the optimization hasn't "
                          "converged yet.", ConvergenceWarning, stacklevel=5)

    def fit(self, X, y, sample_weight=None):
        """Fit on ``X`` (N, D) and ``y``: the classifier's labels (N,) of any type, the regressor's real targets
        (N,) or (N, T); ``sample_weight`` None or (N,) weights >= 0 (each batch's loss their weighted mean,
        ``Σ w ℓ / Σ w``); returns self."""
        return self._fit(X, y, incremental=False, sample_weight=sample_weight)

    @property
    def coefs_(self):
        """The weight matrices of the network's ``Linear`` layers, in order: ``coefs_[i]`` (fan_in, fan_out), the
        network's own arrays (views: writing to one changes the model). With ``standardize`` they act on the
        standardised inputs — the first ``Standardize`` layer's ``(x − mean) / scale`` — not on raw ``X``."""
        return [layer.params["W"] for layer in self._linears()]

    @property
    def intercepts_(self):
        """The bias vectors of the network's ``Linear`` layers, ``intercepts_[i]`` (fan_out,), the network's own
        arrays; a new array of zeros for a layer that has none (hidden layers before ``BatchNorm``)."""
        return [layer.params["b"] if "b" in layer.params else np.zeros(layer.params["W"].shape[1], self.network_.dtype)
                for layer in self._linears()]

    def _linears(self):
        check_is_fitted(self)
        return [layer for layer in self.network_.layers if isinstance(layer, Linear)]

    def __sklearn_is_fitted__(self):
        return hasattr(self, "network_")

    def _outputs(self, X):
        """The network's outputs (logits or values) for raw ``X``, checked with scikit-learn's tools."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=self.network_.dtype)
        return outputs(self.network_, check_X(self.network_, X))

    def _can_partial_fit(self):
        if self.solver == "lbfgs":
            raise AttributeError("partial_fit is only available for stochastic optimizers; lbfgs is not stochastic")
        return True


class MLPClassifier(ClassifierMixin, _MLP):
    """A multi-layer perceptron classifier, trained by ``model.train``, usable wherever scikit-learn's is.

    Parameters
    ----------
    hidden_layer_sizes : int or sequence of int, default (100,), the hidden widths
    activation : {"identity", "logistic", "tanh", "relu", "leaky_relu"}, default "relu"
    solver : {"adam", "sgd", "momentum", "nesterov", "lbfgs"}, default "adam"; "sgd" is scikit-learn's
    momentum : float in [0, 1), default 0.9, and nesterovs_momentum : bool, default True: "sgd"'s momentum
    alpha : float >= 0, default 1e-4, the L2 penalty; as scikit-learn does, divided by the batch size:
        the network's ``weight_decay`` λ is ``alpha / batch_size`` (``alpha / n_samples`` for lbfgs)
    batch_size : int or "auto" (``min(200, n_samples)``); learning_rate_init : float > 0, default 0.001
    learning_rate : {"constant", "invscaling", "adaptive"}, the schedule; power_t : invscaling's exponent
    max_iter : int, epochs (lbfgs: iterations); tol, n_iter_no_change : the stopping rule (see ``_Watch``)
    shuffle : bool; False keeps the samples' own order in every epoch
    random_state : None, int or RandomState: the initial weights, the shuffles, the held-out split
    verbose : print the loss after each epoch; warm_start : ``fit`` continues from the fitted weights
    early_stopping, validation_fraction : hold out this fraction (stratified), stop on its accuracy (weighted
        by the held-out rows' ``sample_weight``) and keep the best weights
    class_weight : None, "balanced" or {label: weight}: each sample's loss weighted by its class's, inside
        the loss layer (``Σ w ℓ / Σ w``), so the gradient checker verifies it
    standardize : bool, default True: a ``Standardize`` layer first, fitted on the training data
    dtype : "float64" or "float32"; dropout : float in [0, 1); batchnorm : bool; engine : "auto" or "layers"

    Attributes
    ----------
    classes_ : (K,) the labels; n_features_in_, feature_names_in_ (when X has string column names)
    loss_curve_ : per-epoch training loss with the L2 term of each batch's weights before its step (as
        scikit-learn's; ``history_.train_loss`` is the data loss alone); loss_ : its last value
    best_loss_ : its minimum (None with early stopping); validation_scores_, best_validation_score_ :
        per-epoch validation accuracy and its best (None without early stopping)
    n_iter_ : epochs run by the last fit; t_ : training samples seen; n_layers_, n_outputs_, out_activation_
    coefs_, intercepts_ : the ``Linear`` layers' weights (fan_in, fan_out) and biases, the network's own arrays
    network_ : the fitted ``Sequential`` (takes raw points); history_ : the last ``model.train`` History
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5, max_iter=200,
                 shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1, n_iter_no_change=10,
                 class_weight=None, standardize=True, dtype="float64", dropout=0.0, batchnorm=False, engine="auto"):
        super().__init__(hidden_layer_sizes, activation, solver=solver, alpha=alpha, batch_size=batch_size,
                         learning_rate=learning_rate, learning_rate_init=learning_rate_init, power_t=power_t,
                         max_iter=max_iter, shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
                         warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
                         early_stopping=early_stopping,
                         validation_fraction=validation_fraction, n_iter_no_change=n_iter_no_change,
                         standardize=standardize, dtype=dtype, dropout=dropout, batchnorm=batchnorm, engine=engine)
        self.class_weight = class_weight

    _target_checks = {}  # y: one label per row (a column vector is raveled, with scikit-learn's warning)

    @available_if(_MLP._can_partial_fit)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``(X, y)`` (weighted by ``sample_weight``) from the current weights and optimizer state;
        ``classes`` (every label) on the first call."""
        return self._fit(X, y, incremental=True, classes=classes, sample_weight=sample_weight)

    def _encode(self, y, first, incremental, classes, weights=None):
        """Check the labels; set ``classes_`` on the first fit (from every label, whatever its weight); return the
        class indices (N,)."""
        check_classification_targets(y)
        name = type(self).__name__
        if first:
            if incremental and classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self.classes_ = unique_labels(y if classes is None else classes)
            if len(self.classes_) < 2:
                raise ValueError(f"{name} needs samples of at least 2 classes, got 1 class: {self.classes_[0]!r}")
        elif classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise ValueError(f"classes={classes!r} is not the same as on the first call to partial_fit, "
                             f"{self.classes_!r}")
        seen = unique_labels(y)
        unknown = np.setdiff1d(seen, self.classes_)
        if unknown.size:
            raise ValueError(f"y holds labels the fitted {name} does not know: {unknown!r}; its classes_ are "
                             f"{self.classes_!r}")
        if not first and not incremental and len(seen) != len(self.classes_):
            raise ValueError(f"warm_start can only be used where y has the same classes as in the previous call to "
                             f"fit: previously {self.classes_!r}, y has {seen!r}")
        if first and incremental and self.class_weight == "balanced":
            raise ValueError("class_weight='balanced' is not supported for partial_fit: pass a dict of weights")
        self._weights = self._class_weights(y)
        return np.searchsorted(self.classes_, y)

    def _class_weights(self, y):
        """One weight per class index (None when unweighted): "balanced" by the one rule of ``model.metrics``, a
        dict of {label: weight} by scikit-learn's ``compute_class_weight``."""
        if self.class_weight is None:
            return None
        if isinstance(self.class_weight, str) and self.class_weight == "balanced":
            return balanced_class_weight(np.searchsorted(self.classes_, y), len(self.classes_))
        return compute_class_weight(self.class_weight, classes=self.classes_, y=y).tolist()

    def _head(self, targets):
        """The loss and output width for K classes: one logit with the fused sigmoid-BCE, or K with softmax."""
        k = len(self.classes_)
        loss_class = SigmoidBCELoss if k == 2 else SoftmaxCrossEntropyLoss
        loss = loss_class() if self._weights is None else loss_class(class_weight=self._weights)
        self.n_outputs_, self.out_activation_ = (1, "logistic") if k == 2 else (k, "softmax")
        return loss, self.n_outputs_

    def _build(self, arch, X, targets, seed):
        super()._build(arch, X, targets, seed)
        self.network_.classes = self.classes_.tolist()

    def _validation_score(self, net, X_val, t_val, w_val=None):
        """Accuracy on the held-out set, weighted by its sample weights ``w_val`` (N_val,) when given."""
        correct = net.predict(X_val) == t_val
        return _weighted_mean(correct, w_val)

    def predict_log_proba(self, X):
        """``log(predict_proba(X))`` (N, K): −inf where a probability rounds to 0, as scikit-learn's."""
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba)

    def predict_proba(self, X):
        """Class probabilities (N, K), columns in ``classes_`` order (two columns for two classes)."""
        logits = self._outputs(X)
        proba = self.network_.criterion.proba(logits)
        return np.hstack([1 - proba, proba]) if proba.shape[1] == 1 else proba

    def predict(self, X):
        """The most probable label of each row (N,), one of ``classes_``."""
        proba = self.predict_proba(X)  # first: it raises NotFittedError before classes_ is read
        return self.classes_[np.argmax(proba, axis=1)]


class MLPRegressor(RegressorMixin, _MLP):
    """A multi-layer perceptron regressor (linear output, ``MSELoss``), usable wherever scikit-learn's is.

    The parameters are ``MLPClassifier``'s less ``class_weight``; ``early_stopping`` watches R².
    With ``standardize`` (the default) the targets are standardised too — each output to zero mean and
    unit variance on the training data, ``target_mean_`` and ``target_scale_`` — and predictions are
    returned in the original units. ``y`` may be (N,) or (N, T); ``predict`` returns (N,) for one output.
    Targets of magnitude 1e150 or more are refused (``ValueError``): their squares overflow float64.
    ``loss_curve_`` is the mean squared error of the standardised targets (the loss minimised) plus the
    L2 term. The fitted network's outputs are the standardised ones.
    """

    _target_checks = {"multi_output": True, "y_numeric": True}

    @available_if(_MLP._can_partial_fit)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``(X, y)`` (weighted by ``sample_weight``) from the current weights and optimizer state
        (the target scaling of the first call is kept)."""
        return self._fit(X, y, incremental=True, sample_weight=sample_weight)

    def _encode(self, y, first, incremental, classes, weights=None):
        """Standardise the targets (their scaling set on the first fit, from the rows of weight > 0, as the inputs'
        is); (N,) for one output, else (N, T). Targets whose squares overflow float64 are refused, as ``train.py``
        refuses such features."""
        values = y.reshape(len(y), -1).astype(np.float64)
        largest = max(values.max(), -values.min())
        if largest >= MAX_MAGNITUDE:  # the bound and words train.py refuses such features with
            raise ValueError(f"y: {number_problem(repr(float(largest)))}; scale the targets down first")
        if first:
            self.n_outputs_ = values.shape[1]
            kept = values if weights is None else values[weights > 0]  # a weight of 0 removes the row
            std = kept.std(axis=0)
            self.target_mean_ = kept.mean(axis=0) if self.standardize else np.zeros(self.n_outputs_)
            self.target_scale_ = np.where(std > 0, std, 1.0) if self.standardize else np.ones(self.n_outputs_)
        elif values.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {values.shape[1]} outputs, but {type(self).__name__} was fitted with "
                             f"{self.n_outputs_}")
        scaled = (values - self.target_mean_) / self.target_scale_
        return scaled.ravel() if self.n_outputs_ == 1 else scaled

    def _head(self, targets):
        self.out_activation_ = "identity"
        return MSELoss(), self.n_outputs_

    def _validation_score(self, net, X_val, t_val, w_val=None):
        """R² on the held-out set (the same in standardised units: each output's R² ignores its scale), weighted by
        its sample weights ``w_val`` (N_val,) when given, as scikit-learn's."""
        return float(r2_score(t_val.reshape(len(t_val), -1), net.predict(X_val), sample_weight=w_val))

    def predict(self, X):
        """Predictions in the targets' units: (N,) for one output, else (N, T)."""
        values = self._outputs(X) * self.target_scale_ + self.target_mean_
        return values.ravel() if self.n_outputs_ == 1 else values

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
