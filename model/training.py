"""The training loop: seeded mini-batches, per-epoch history, early stopping, a divergence guard.

``train(net, X, y, ...)`` is the whole story in four steps, each a small function or method below:

1. **setup** (``Trainer._setup``) — validate the settings (``TrainingConfig``) and the data once; fit the
   leading preprocessing layers (``Standardize``) and apply them to the data once;
2. **choose the path** (``_choose_path``) — the layer objects, or the engine (``model.engine``) where it runs
   the network, after checking that the engine's gradient on one batch equals the layers' (a layer edited by
   hand changes what is learned: the engine never hides it);
3. **epochs** (``_run_steps``, ``_run_lbfgs``) — one pass of steps, then the metrics, the divergence guard
   and early stopping;
4. **finish** (``_finish``) — restore the best weights (early stopping, an interruption), record the final metrics.
"""

import math
import time
from dataclasses import dataclass, fields

import numpy as np

from checking.before_training import verify
from layers.validation import ParameterError, check_count, check_integer, check_real

from .batches import Shuffler, batch_count
from .engine import Engine, unsupported_reason
from .engine.data import gather
from .factory import learners
from .history import History, TrainingDiverged, TrainingInterrupted
from .inputs import check_Xy
from .keeper import Keeper
from .optim import OPTIMIZERS, lbfgs, make_optimizer
from .predict import ROWS as PREDICT_ROWS, count_correct, evaluate_checked
from .schedules import make_schedule

#: Training counts as diverged when an epoch's training loss exceeds this multiple of the loss before
#: training (and at least this much), or is not finite. The cross-entropies clip probabilities at machine
#: epsilon, so a saturated network's loss is bounded (≈ 18 on circles), never NaN: 100× would never fire.
DIVERGENCE_FACTOR = 10.0
#: The engine's gradient must equal the layers' on one batch to this relative error before it is trusted
#: (in float64; float32 gets 1000 of its machine epsilons).
ENGINE_TOLERANCE = 1e-10
#: More passes than this are a typo, not a plan (a million epochs of one step each is hours).
MAX_EPOCHS = 1_000_000
#: Rows of the batch the engine is verified on.
VERIFY_ROWS = 64
#: A within-epoch hook (``on_batch``) is called at most about this many times per epoch: every
#: ``max(1, batches // BATCH_CALLS)`` batches.
BATCH_CALLS = 64


@dataclass
class TrainingConfig:
    """How to train: the settings ``train`` takes and ``train.py``'s optimisation flags describe.

    Validated once, in the constructor, each refusal a ``ParameterError`` naming the setting.

    Attributes
    ----------
    optimizer : a name of ``model.optim.OPTIMIZERS``: "sgd" (the handout's update), "momentum",
        "nesterov", "adam", or "lbfgs" (full batch, ``epochs`` = iterations)
    lr : float > 0, or None for the optimizer's default; must be None for lbfgs, which takes none
    epochs : int >= 1, passes over the data
    batch_size : int >= 1, or None for the full batch
    patience : int >= 1 or None; stop after this many epochs without a lower validation loss and
        restore the best weights (needs validation data)
    seed : None, int or Generator, for the shuffling
    engine : "auto" (the engine where it runs the network and optimizer, verified against the layers
        first) or "layers" (always the layer objects)
    full_metrics : False: an epoch's training metrics are the running means over its batches (free);
        True: a full pass over the training data after each epoch
    lr_schedule : "constant", "invscaling" or "adaptive" (see ``model.schedules``); first-order optimizers
    power_t : the exponent of "invscaling"
    tol, n_iter_no_change : "adaptive" divides the rate by 5 when the training loss has not fallen by
        ``tol`` for more than ``n_iter_no_change`` epochs
    shuffle : True: a new random order of the samples every epoch; False: their own order
    refit_preprocessing : False: leading preprocessing layers (``Standardize``) are fitted on the first
        ``train`` call only and kept on later ones (a second call continues the same model); True: fit
        them again on this call's data
    check_layers : True: a network holding a learner's classes is verified on one batch before training (a
        ``LayerError`` naming the layer that fails, ``checking.before_training``); False: not, as the history says
    momentum, nesterov : "sgd" only: its momentum in [0, 1) (0: the handout's plain update) and whether to take
        Nesterov's look-ahead (needs momentum > 0); see ``model.optim.SGD``
    """

    optimizer: str = "sgd"
    lr: float = None
    epochs: int = 200
    batch_size: int = 32
    patience: int = None
    seed: object = None
    engine: str = "auto"
    full_metrics: bool = False
    lr_schedule: str = "constant"
    power_t: float = 0.5
    tol: float = 1e-4
    n_iter_no_change: int = 10
    refit_preprocessing: bool = False
    shuffle: bool = True
    check_layers: bool = True
    momentum: float = 0.0
    nesterov: bool = False

    def __post_init__(self):
        if self.optimizer not in OPTIMIZERS:
            _refuse("optimizer", f"must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        spec = OPTIMIZERS[self.optimizer]
        if spec.default_lr is None and self.lr is not None:
            _refuse("lr", f"does not apply to {self.optimizer}, which sets its own steps; got {self.lr!r}")
        if self.lr is not None:
            check_real(self.lr, "lr", "train", "(0, inf)")
        self.epochs = check_count(self.epochs, "epochs", "train")
        if self.epochs > MAX_EPOCHS:
            _refuse("epochs", f"must be at most {MAX_EPOCHS:,}, got {self.epochs:,}")
        self.batch_size = None if self.batch_size is None else check_count(self.batch_size, "batch_size", "train")
        self.patience = None if self.patience is None else check_count(self.patience, "patience", "train")
        if self.engine not in ("auto", "layers"):
            _refuse("engine", f"must be 'auto' or 'layers', got {self.engine!r}")
        if self.lr_schedule != "constant" and spec.default_lr is None:
            _refuse("lr_schedule", f"needs a first-order optimizer; {self.optimizer} sets its own steps")
        make_schedule(self.lr_schedule, 1.0, self.power_t, self.tol, self.n_iter_no_change)  # validates them
        self._check_momentum()

    def _check_momentum(self):
        """``momentum`` and ``nesterov`` apply to "sgd" only, and SGD checks their values."""
        if (self.momentum or self.nesterov) and self.optimizer != "sgd":
            name = "momentum" if self.momentum else "nesterov"
            _refuse(name, f"applies to sgd only ({self.optimizer} sets its own); got {getattr(self, name)!r}")
        if self.optimizer == "sgd":
            make_optimizer("sgd", {}, {}, self.learning_rate, **self.optimizer_options)

    @property
    def optimizer_options(self):
        """The keyword arguments of ``make_optimizer`` besides the learning rate: sgd's momentum, if any."""
        return {"momentum": self.momentum, "nesterov": self.nesterov} if self.momentum or self.nesterov else {}

    @property
    def learning_rate(self):
        """``lr``, or the optimizer's default when it is None (None for L-BFGS)."""
        return OPTIMIZERS[self.optimizer].default_lr if self.lr is None else float(self.lr)


#: The settings ``train`` accepts, with their defaults: those of ``TrainingConfig``.
SETTINGS = tuple(f.name for f in fields(TrainingConfig))


def _refuse(param, reason):
    raise ParameterError("train", param, reason)


def train(net, X, y, X_val=None, y_val=None, on_epoch=None, chunk_rows=None, config=None, sample_weight=None,
          on_batch=None, **settings):
    """Train ``net`` in place on ``(X, y)``; return its ``History``.

    Parameters
    ----------
    net : Sequential (any layers and loss), e.g. TwoLayerNet
    X : array_like (N, D); y : array_like (N,) labels
    X_val, y_val : optional validation set, evaluated after each epoch for the history and early stopping
    on_epoch : callable(epoch, history) or None, called after each epoch's metrics; returning True stops
        training there (the network keeps that epoch's weights)
    chunk_rows : int or None, the rows one block of the engine's large-batch work holds
    config : a ``TrainingConfig``, the settings as one object (then no ``**settings``)
    sample_weight : None or (N,) weights >= 0, finite, of positive sum: each batch's loss is the weighted
        mean ``Σ w ℓ / Σ w`` (the loss layer takes them; the engine declines them, as ``engine_note`` says).
        Weights all equal are no weighting (dropped, so nothing changes); a weight of 0 removes a sample
    on_batch : callable(epoch, batch, batches) or None, called within each epoch every
        ``max(1, batches // BATCH_CALLS)`` batches (a progress line between epochs); None costs nothing
    **settings : or the fields of ``TrainingConfig`` (optimizer, lr, epochs, batch_size, patience, seed,
        engine, full_metrics, ...), with its defaults

    Raises
    ------
    ParameterError
        A setting out of range, named.
    TrainingInterrupted
        On ``KeyboardInterrupt``: the network holds the best weights so far, the exception the history.
    TrainingDiverged
        When the loss stops being finite or exceeds ``DIVERGENCE_FACTOR`` times the loss before
        training, or a parameter stops being finite; the network holds its last good parameters.
    """
    unknown = sorted(set(settings) - set(SETTINGS))
    if unknown:
        raise TypeError(f"train() got unknown settings {', '.join(unknown)}; it takes {', '.join(SETTINGS)}")
    if config is not None and settings:
        raise TypeError("train() takes a config or settings, not both")
    trainer = Trainer(net, config or TrainingConfig(**settings), chunk_rows)
    return trainer.fit(X, y, X_val, y_val, on_epoch, sample_weight, on_batch)


def _divergence_limit(loss):
    """How high the loss may climb before a run counts as diverged: ``DIVERGENCE_FACTOR`` times ``loss`` (at
    least 1); no limit from a loss that is not finite itself."""
    return DIVERGENCE_FACTOR * max(loss, 1.0) if math.isfinite(loss) else math.inf


@dataclass
class Continuation:
    """Where a run of a step-by-step optimizer left off, for a later run to go on from (``partial_fit``).

    ``optimizer`` the optimizer's name; ``state`` an optimizer of that name over the trained network's own
    parameters, holding the rate, counters and state (Adam's moments, the velocity); ``schedule`` the
    learning-rate schedule; ``seen`` the samples seen so far (what "invscaling" counts).
    """

    optimizer: str
    state: object
    schedule: object
    seen: int


class Trainer:
    """One training run: the network, the settings, the chosen path and the guards' state.

    ``resume``: a ``Continuation`` of an earlier run on this network with the same optimizer, whose optimizer
    state and schedule this run goes on with (None: they start afresh). ``seen``: without ``resume``, the samples
    the network was trained on before this run, where "invscaling"'s count starts (scikit-learn's ``t_`` carried
    into a warm-started fit, whose optimizer is fresh). After a run of a step-by-step
    optimizer, ``continuation`` is where it left off. ``epoch_penalty``: the L2 penalty ``(λ/2) Σ ‖W‖²`` of the
    epoch just ended (read by ``on_epoch``; 0.0 without weight decay): that of the weights at the epoch's end,
    or with ``batch_penalty`` as the running training loss counts the data loss — the mean of each batch's
    penalty before its step, weighted by the batch's rows (scikit-learn's ``loss_curve_``; one more pass over the
    weights per step) — unless the loss is a full pass (``full_metrics``, L-BFGS).
    """

    def __init__(self, net, config, chunk_rows=None, resume=None, seen=0, batch_penalty=False):
        self.net, self.config, self.seen = net, config, check_integer(seen, "seen", "train", 0)
        self.chunk_rows = None if chunk_rows is None else check_count(chunk_rows, "chunk_rows", "train")
        self.history = History()
        self.keeper = Keeper(net)  # the last good and the best weights (``model.keeper``)
        self.runner, self.limit = None, None  # made when the run starts
        self.resume = resume if resume is not None and resume.optimizer == config.optimizer else None
        self.continuation = None
        self.epoch_penalty, self.batch_penalty = 0.0, bool(batch_penalty)

    def fit(self, X, y, X_val=None, y_val=None, on_epoch=None, sample_weight=None, on_batch=None):
        """Train on ``(X, y)``, watching ``(X_val, y_val)``, weighting by ``sample_weight`` (see ``train``); return
        the ``History``."""
        self._setup(X, y, X_val, y_val, on_epoch, sample_weight)
        self.on_batch = on_batch
        start = time.perf_counter()
        try:
            if self.config.optimizer == "lbfgs":
                self._run_lbfgs()
            else:
                self._run_steps()
        except KeyboardInterrupt:
            self._finish(start, interrupted=True)
            raise TrainingInterrupted(self.history, self.keeper) from None
        return self._finish(start)

    def _setup(self, X, y, X_val, y_val, on_epoch, sample_weight=None):
        """Validate the data once, fit and apply the preprocessing once (on the rows of weight > 0), check every
        layer can take part."""
        net, config = self.net, self.config
        self.labels = y  # as given: L-BFGS minimises net.loss, which checks them itself
        X, y = check_Xy(net, X, y)
        if (X_val is None) != (y_val is None):
            given = "X_val" if y_val is None else "y_val"
            raise ValueError(f"validation data needs both X_val and y_val, got only {given}")
        has_val = X_val is not None and len(X_val) > 0  # an empty validation split means none
        if has_val:
            X_val, y_val = check_Xy(net, X_val, y_val)
        if config.patience is not None and not has_val:
            _refuse("patience", "needs a validation set to watch")
        self.weights = check_sample_weight(sample_weight, len(y), net.criterion)
        fit_rows = None if self.weights is None else self.weights > 0  # a weight of 0 removes the row from the fit too
        self.body, X, X_val = _preprocess(net, X, X_val, config.refit_preprocessing, fit_rows)
        batch = len(y) if config.batch_size is None else min(config.batch_size, len(y))
        _check_layers_can_train(self.body, len(y), batch, config.optimizer)
        self.history.layer_check = _verify_learners(self.body, X, self.labels, y, config.check_layers)
        self.data, self.val = (X, y), ((X_val, y_val) if has_val else None)
        self.batch_size, self.on_epoch = batch, on_epoch
        net.train()

    def _choose_path(self):
        config, body = self.config, self.body
        opt = make_optimizer(config.optimizer, body.params, body.grads, config.learning_rate,
                             **config.optimizer_options)
        if self.resume is not None:
            opt.take_state(self.resume.state)
        X, y = self.data
        shuffler = Shuffler(len(y), self.batch_size, config.seed, config.shuffle)
        reason = "asked for the layers" if config.engine == "layers" else unsupported_reason(body, opt)
        if reason is None and self.weights is not None:
            reason = "sample weights: the engine trains unweighted means only"
        if reason is None:
            engine = Engine(body, opt, chunk_rows=self.chunk_rows)
            reason = _engine_disagrees(engine, body, X[:VERIFY_ROWS], y[:VERIFY_ROWS])
            if reason is None:
                self.history.engine = "engine"
                return _EngineRunner(engine, X, y, shuffler, opt)
        self.history.engine_note = reason
        return _LayerRunner(body, opt, EpochData(X, y, shuffler, self.weights))

    def _run_steps(self):
        runner = self.runner = self._choose_path()
        config, full_metrics = self.config, self.config.full_metrics
        self.history.train_metrics = "full" if full_metrics else "running"
        # At full batch the first epoch's running loss *is* the loss before training, so the guard's limit is
        # set from it; otherwise from a pass over the data before the first step.
        lagging = self.batch_size >= len(self.data[1]) and not full_metrics
        self.limit = None if lagging else _divergence_limit(runner.evaluate(*self.data)["loss"])
        self.keeper.start(lagging)
        schedule, seen = self._schedule()
        per_batch = self.batch_penalty and getattr(self.body, "weight_decay", 0) and not full_metrics
        meter = _PenaltyMeter(runner, len(self.data[1]), self.batch_size) if per_batch else None
        for epoch in range(1, config.epochs + 1):
            self.history.lr.append(runner.optimizer.lr)
            hook = _both(self._after_step(epoch), None if meter is None else meter.start())
            steps, loss, acc = runner.epoch() if hook is None else runner.epoch(hook)
            self.history.steps += steps
            seen += len(self.data[1])
            train_m = runner.evaluate(*self.data) if full_metrics else {"loss": loss, "accuracy": acc}
            self.epoch_penalty = runner.penalty() if meter is None else meter.mean()
            if self._end_epoch(epoch, train_m):
                self.history.stopped_early = True
                break
            runner.optimizer.lr = schedule.after_epoch(seen, train_m["loss"])
        self.continuation = Continuation(config.optimizer, runner.keyed_optimizer(), schedule, seen)

    def _schedule(self):
        """``(schedule, samples seen)`` this run starts from: the resumed run's, else a fresh schedule counting from
        ``seen``."""
        if self.resume is not None:
            return self.resume.schedule, self.resume.seen
        config = self.config
        return make_schedule(config.lr_schedule, config.learning_rate, config.power_t, config.tol,
                             config.n_iter_no_change), self.seen

    def _after_step(self, epoch):
        """The within-epoch hook for ``epoch``: a callable run after each step that calls ``on_batch(epoch, batch,
        batches)`` every ``max(1, batches // BATCH_CALLS)`` batches; None without ``on_batch`` (no cost)."""
        if self.on_batch is None:
            return None
        batches = batch_count(len(self.data[1]), self.batch_size)
        every, count = max(1, batches // BATCH_CALLS), 0

        def after_step():
            nonlocal count
            count += 1
            if count % every == 0:
                self.on_batch(epoch, count, batches)
        return after_step

    def _run_lbfgs(self):
        body, config = self.body, self.config
        self.runner = _LayerRunner(body, None, EpochData(*self.data, Shuffler(len(self.data[1]), self.batch_size)))
        self.history.train_metrics = "full"
        self.limit = _divergence_limit(self.runner.evaluate(*self.data)["loss"])
        self.keeper.start()
        stopped = []

        def on_iteration(iteration):
            self.epoch_penalty = body.penalty()
            if not stopped and self._end_epoch(iteration, self.runner.evaluate(*self.data)):
                stopped.append(iteration)
            return bool(stopped)

        lbfgs(body, self.data[0], self.labels, max_iter=config.epochs, callback=on_iteration,
              sample_weight=self.weights)
        self.history.stopped_early = bool(stopped)
        self.history.steps = len(self.history.epoch)

    def _end_epoch(self, epoch, train_m):
        """Record the epoch's metrics and guard them; return True to stop early."""
        history = self.history
        val_m = self.runner.evaluate(*self.val) if self.val else None
        history.record(epoch, train_m, val_m)
        self._guard(epoch, train_m["loss"])
        if val_m is not None and self.keeper.improves(val_m["loss"], epoch):
            history.best_epoch = epoch
        if self.on_epoch is not None and self.on_epoch(epoch, history) is True:
            return True
        patience = self.config.patience
        return patience is not None and epoch - history.best_epoch >= patience

    def _guard(self, epoch, loss):
        """The divergence guard: a loss over the limit or not finite, or a non-finite parameter, puts the last
        good weights back and raises ``TrainingDiverged``; else the epoch is good."""
        if self.limit is None:
            self.limit = _divergence_limit(loss)
        finite = all(np.isfinite(p).all() for p in self.net.params.values())
        if math.isfinite(loss) and loss <= self.limit and finite:
            self.keeper.good(epoch)
            return
        self.keeper.last_good.restore()
        lr = self.config.learning_rate
        advice = f"try a lower learning rate than lr={lr:g}" if lr is not None else "the data may need rescaling"
        raise TrainingDiverged(f"training diverged in epoch {epoch} (loss {loss:.3g}); parameters restored to the "
                               f"last good ones; {advice}; or a layer's backward gives non-finite gradients (check it "
                               "with the gradient checker)", self.history, self.keeper)

    def _finish(self, start, interrupted=False):
        """Put back the weights the run returns — after an interruption the best epoch's (or the last complete
        one's), after early stopping with ``patience`` the best epoch's — and record the final metrics."""
        history, keeper = self.history, self.keeper
        history.interrupted = interrupted
        if interrupted or (self.config.patience is not None and history.stopped_early and history.best_epoch):
            keeper.restore()  # parameters and running statistics of that epoch, together
            history.restored_best = keeper.best is not None
        history.seconds = time.perf_counter() - start
        if self.runner is None:  # interrupted before the first epoch
            history.final = {"epoch": 0}
            return history
        self.runner.reload()
        history.finish(self.runner.evaluate(*self.data), self.runner.evaluate(*self.val) if self.val else None)
        if interrupted:
            history.final["epoch"] = keeper.epoch or 0
        return history


class _PenaltyMeter:
    """The L2 penalty of each step's parameters (those its gradient was computed with), read from a runner's
    ``penalty()`` before the epoch and after each step, and their mean weighted by each batch's rows (the
    ``Shuffler``'s batches: ``batch_size`` rows each, the last ragged) — as the running loss averages the batches."""

    def __init__(self, runner, n, batch_size):
        self.runner, self.n, self.batch_size = runner, n, batch_size
        self.current, self.values = 0.0, []

    def start(self):
        """Begin an epoch; return the hook to run after each of its steps."""
        self.current, self.values = self.runner.penalty(), []
        return self.after_step

    def after_step(self):
        self.values.append(self.current)
        self.current = self.runner.penalty()

    def mean(self):
        """The epoch's penalties weighted by their batches' rows (0.0 before any step)."""
        values, b = self.values, self.batch_size
        if not values:
            return 0.0
        last = self.n - (len(values) - 1) * b  # the last batch's rows
        return (sum(values[:-1]) * b + values[-1] * last) / self.n


def _both(first, second):
    """One after-step hook running ``first`` then ``second`` (either None: the other; both None: None)."""
    if first is None or second is None:
        return first or second

    def after_step():
        first()
        second()
    return after_step


class _LayerRunner:
    """The layer path: ``run_epoch`` over ``EpochData`` and ``evaluate`` by the layers themselves."""

    def __init__(self, body, opt, data):
        self.body, self.optimizer, self.data = body, opt, data

    def epoch(self, after_step=None):
        return run_epoch(self.body, self.optimizer, self.data, after_step)

    def keyed_optimizer(self):
        """The optimizer over the network's own parameters, its state current: this path's own."""
        return self.optimizer

    def evaluate(self, X, y):
        return evaluate_checked(self.body, X, y)

    def penalty(self):
        """The L2 penalty of the current parameters (inf, without a warning, for a diverging run's)."""
        with np.errstate(over="ignore", invalid="ignore"):
            return self.body.penalty()

    def reload(self):
        pass


class _EngineRunner:
    """The engine path: its parameters are written back to the network after every epoch, so callbacks,
    snapshots and the saved model see the current weights."""

    def __init__(self, engine, X, y, shuffler, keyed):
        self.engine, self.optimizer, self.keyed = engine, engine.optimizer, keyed
        engine.take_state(keyed)  # a continued run goes on with its state; a new one's is fresh either way
        self.data = engine.training_set(X, y, shuffler)

    def epoch(self, after_step=None):
        result = self.engine.run_epoch(self.data, after_step)
        self.engine.push()
        return result

    def keyed_optimizer(self):
        """``keyed`` (the optimizer over the network's own parameters) given the engine's current state."""
        self.engine.give_state(self.keyed)
        return self.keyed

    def evaluate(self, X, y):
        return self.engine.evaluate(X, y)

    def penalty(self):
        """The L2 penalty of the engine's current parameters."""
        return self.engine.penalty()

    def reload(self):
        self.engine.pull()


def _engine_disagrees(engine, body, X, y):
    """None when the engine's gradient on ``(X, y)`` equals the layers', else a sentence naming where not.

    Parameters are compared from the loss down, so the first that differs bounds where the layers and the
    engine part: in that parameter's layer or one after it (a broken backward spoils every gradient below it).
    Differences are measured against the largest gradient: a bias's, a batch sum, may cancel to almost nothing.
    """
    body.data_loss(body.forward(X), y)
    body.backward()
    theirs = engine.gradients(X, y)
    tolerance = max(ENGINE_TOLERANCE, 1000 * float(np.finfo(body.dtype).eps))  # float32 rounds at ~1e-7
    scale = max([float(np.abs(g).max(initial=0.0)) for g in [*body.grads.values(), *theirs.values()]] + [1e-300])
    for key, ours in reversed(body.grads.items()):
        error = float(np.abs(np.asarray(ours) - theirs[key]).max(initial=0.0)) / scale
        if not error <= tolerance:
            owner = next(i for i, layer in enumerate(body.layers)
                         if any(array is body.params[key] for array in getattr(layer, "params", {}).values()))
            suspects = ", ".join(type(obj).__name__ for obj in [*body.layers[owner:], body.criterion])
            return (f"the engine's gradient for {key} differs from the layer objects' (relative error {error:.1e}), "
                    f"the first difference from the loss down, so one of {suspects} computes another gradient "
                    "than the engine: trained on the layers")
    return None


def _check_layers_can_train(body, n, batch_size, optimizer):
    """Refuse, before any work, a run that some layer cannot take part in (layers say so themselves)."""
    last = n % batch_size or batch_size
    for layer in body.layers:
        need = getattr(layer, "min_batch", 1)
        if need > 1 and (batch_size < need or last < need):
            _refuse("batch_size", f"leaves a batch of {min(batch_size, last)} of {n} training rows, and "
                                  f"{type(layer).__name__} needs at least {need} per batch: choose another batch size")
        if optimizer == "lbfgs" and getattr(layer, "stochastic", False):
            _refuse("optimizer", f"lbfgs cannot train through {type(layer).__name__}, which draws new randomness at "
                                 "every evaluation (L-BFGS's line search cannot follow it); use a first-order one")


def _verify_learners(net, X, given, y, check):
    """``History.layer_check``: ``net``'s layers of a learner's classes verified on one batch (a failure raises the
    checker's ``LayerError``), or not, as ``check`` (``TrainingConfig.check_layers``) asks; "" when it holds none."""
    places = learners(net)
    if places and check:
        verify(net, X, given, y, places)
    return "" if not places else "verified on one batch before training" if check else "unverified (check_layers=False)"


def check_sample_weight(sample_weight, n, loss=None):
    """``sample_weight`` checked for ``n`` training rows: a float64 (n,) array divided by its largest weight (the
    weighted means ``Σ w ℓ / Σ w`` and scores are scale-free), or None when not given or all equal (a uniform
    weighting is none). Refused (``ParameterError``): not one finite number >= 0 per row, a sum of 0,
    a ``loss`` whose ``forward`` takes no ``sample_weight``."""
    if sample_weight is None:
        return None
    try:
        w = np.asarray(sample_weight, dtype=np.float64)
    except (TypeError, ValueError):
        _refuse("sample_weight", f"must be numbers, one per training row; got {type(sample_weight).__name__}")
    if w.shape != (n,):
        _refuse("sample_weight", f"must hold one weight per training row, shape ({n},); got shape {w.shape}")
    if not (np.isfinite(w).all() and (w >= 0).all() and w.max() > 0):  # max, not sum: a sum may overflow
        _refuse("sample_weight", f"must be finite and >= 0, not all zero; got min {w.min():g}, max {w.max():g}")
    if (w == w[0]).all():
        return None
    w = w / w.max()  # only ratios matter (Σ w ℓ / Σ w): now any sum, or a cast to float32, is finite
    if loss is not None and not hasattr(loss, "sample_weight"):
        _refuse("sample_weight", f"needs a loss that weighs samples (a sample_weight attribute); {type(loss).__name__} "
                                 "has none")
    return w


def _preprocess(net, X, X_val, refit=False, fit_rows=None):
    """Fit the network's leading preprocessing layers on ``X`` (its ``fit_rows``, a boolean mask, when given) unless
    already fitted, and apply them once to both sets; return the network without those layers (sharing its
    parameters) and the transformed data."""
    pre, body = net.split_preprocessing()
    for layer in pre:
        if refit or not getattr(layer, "fitted", False):
            layer.fit(X if fit_rows is None else X[fit_rows])
        X = _apply_in_blocks(layer, X)
        X_val = None if X_val is None else _apply_in_blocks(layer, X_val)
    return body, X, X_val


def _apply_in_blocks(layer, X, rows=PREDICT_ROWS):
    """``layer.forward(X)`` a block of rows at a time, as prediction applies it, written into one new array:
    the result is the only (N, D) array made (a whole-array expression makes a temporary as large)."""
    if len(X) <= rows:
        return layer.forward(X)
    first = layer.forward(X[:rows])
    if np.may_share_memory(first, X):  # the layer passes its input through (e.g. not fitted): so may we
        return layer.forward(X)
    out = np.empty((len(X), *first.shape[1:]), first.dtype)
    out[:rows] = first
    for start in range(rows, len(X), rows):
        out[start:start + rows] = layer.forward(X[start:start + rows])
    return out


class EpochData:
    """The (already standardised) training data, its sample weights ``w`` (None: unweighted) and the buffers each
    epoch copies them into, once, in the ``Shuffler``'s new order; the mini-batches are views of them. At full
    batch nothing is copied."""

    def __init__(self, X, y, shuffler, w=None):
        self.X, self.y, self.w, self.shuffler = X, y, w, shuffler
        self._X = None if shuffler.full_batch else np.empty_like(X)
        self._y = None if shuffler.full_batch else np.empty_like(y)
        self._w = None if shuffler.full_batch or w is None else np.empty_like(w)

    def shuffled(self):
        """``(X, y, w)`` in this epoch's order (``w`` None when unweighted)."""
        order = self.shuffler.next_order()
        if order is None:
            return self.X, self.y, self.w
        w = None if self.w is None else gather(self.w, order, self._w)
        return gather(self.X, order, self._X), gather(self.y, order, self._y), w


def run_epoch(net, opt, data, after_step=None):
    """One pass of mini-batch steps: ``forward`` → ``data_loss`` → ``backward`` → ``opt.step()`` → ``after_step()``.

    That is ``Sequential.loss`` (less the re-validation and the penalty's *value*, whose gradient
    ``backward`` adds) and ``backward`` on each batch; the data was validated once by ``train``. With sample
    weights (``data.w``) the loss layer is given each batch's (its ``sample_weight``, None again after the epoch):
    its loss is their weighted mean.

    Returns
    -------
    (steps taken, mean data loss, accuracy) — running means over the epoch's samples, each batch scored
    with the parameters it was computed with; (steps, NaN, NaN) at the first batch whose output or loss is
    not finite (a diverging run, or a layer whose gradient overflowed: the guard then says so, once,
    instead of NumPy's warnings or the loss refusing its input). Accuracy is None for a regression head.
    """
    X, y, w = data.shuffled()
    try:
        steps, total, correct = _steps(net, opt, data.shuffler.batches(), (X, y, w), after_step)
    finally:
        if w is not None:
            net.criterion.sample_weight = None
    n = len(y)
    return steps, total / n, None if net.target == "values" else correct / n


def _steps(net, opt, batches, data, after_step):
    """``run_epoch``'s steps over ``batches`` (slices of ``data``, ``(X, y, w)``): ``(steps, summed loss, correct)``,
    the loss NaN at the first batch whose output or loss is not finite."""
    X, y, w = data
    steps, total, correct = 0, 0.0, 0.0
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        for rows in batches:
            out = net.forward(X[rows])
            if not math.isfinite(out.sum()):
                return steps, math.nan, math.nan
            if w is not None:
                net.criterion.sample_weight = w[rows]
            loss = net.data_loss(out, y[rows])
            if not math.isfinite(loss):
                return steps, math.nan, math.nan
            net.backward()
            opt.step()
            if after_step is not None:
                after_step()
            steps += 1
            total += loss * len(out)
            correct += count_correct(net, out, y[rows])
    return steps, total, correct
