"""The training loop: seeded mini-batches, per-epoch history, early stopping, divergence guard."""

import json
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from .atomic import atomic_write
from .engine import Engine, unsupported_reason
from .optim import OPTIMIZERS, lbfgs, make_optimizer


#: Training counts as diverged when an epoch's training loss exceeds this multiple of the loss
#: before training (and at least this much; or is not finite). Gradient descent that works never
#: climbs that far. Not higher: the cross-entropies clip probabilities at machine epsilon, so a
#: saturated, every-unit-dead network's loss is bounded (≈ 18 on circles at --lr 1e6), never NaN.
DIVERGENCE_FACTOR = 10.0


class TrainingDiverged(RuntimeError):
    """The loss became NaN, infinite, or exploded; the network holds its last good parameters."""

    def __init__(self, message, history):
        super().__init__(message)
        self.history = history


@dataclass
class History:
    """Per-epoch metrics (validation entries are NaN when there is no validation set).

    ``train_loss``/``train_acc`` are the running means over each epoch's batches when
    ``train_metrics`` is "running" (the default), full passes after each epoch when it is "full";
    the validation metrics are always full passes. ``engine`` is "engine" or "layers" (what ran), and
    ``final`` the metrics of the model as returned, from full passes.
    """

    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    seconds: float = 0.0
    steps: int = 0
    engine: str = "layers"
    train_metrics: str = "running"
    final: dict = field(default_factory=dict)

    def record(self, epoch, train, val):
        self.epoch.append(epoch)
        self.train_loss.append(train["loss"])
        self.train_acc.append(train["accuracy"])
        self.val_loss.append(val["loss"] if val else math.nan)
        self.val_acc.append(val["accuracy"] if val else math.nan)

    def finish(self, train, val):
        """Record the metrics of the model as returned: the best epoch's after early stopping."""
        epoch = self.best_epoch if self.stopped_early and self.best_epoch else (self.epoch[-1] if self.epoch else 0)
        self.final = {"epoch": epoch, "train_loss": train["loss"], "train_acc": train["accuracy"],
                      "val_loss": val["loss"] if val else math.nan, "val_acc": val["accuracy"] if val else math.nan}

    def last(self):
        keys = ("train_loss", "train_acc", "val_loss", "val_acc")
        return {k: getattr(self, k)[-1] if self.epoch else math.nan for k in keys}

    def save(self, path):
        """Write the per-epoch table as ``.csv`` or ``.json`` (by extension), atomically."""
        path = str(path)
        cols = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc")
        if path.endswith(".json"):
            text = json.dumps({k: _jsonable(v) for k, v in asdict(self).items()}, indent=1)
        elif path.endswith(".csv"):
            rows = zip(*(getattr(self, c) for c in cols))
            text = ",".join(cols) + "\n" + "".join(",".join(str(v) for v in row) + "\n" for row in rows)
        else:
            raise ValueError(f"history file must end in .csv or .json, got {path}")
        return atomic_write(path, lambda fh: fh.write(text.encode()))


def _jsonable(v):
    if isinstance(v, list):
        return [None if isinstance(x, float) and math.isnan(x) else x for x in v]
    return v


@dataclass
class Schedule:
    """How to train, bundled: what ``train.py``'s optimisation options describe (see ``train``)."""

    optimizer: str = "sgd"
    lr: float = None
    epochs: int = 200
    batch_size: int = 32
    patience: int = None
    engine: str = "auto"
    full_metrics: bool = False

    def run(self, net, X, y, X_val=None, y_val=None, seed=None, on_epoch=None):
        return train(net, X, y, X_val, y_val, seed=seed, on_epoch=on_epoch, **asdict(self))


def train(net, X, y, X_val=None, y_val=None, optimizer="sgd", lr=None, epochs=300, batch_size=32,
          patience=None, seed=None, on_epoch=None, engine="auto", full_metrics=False, chunk_rows=None):
    """Train ``net`` in place on ``(X, y)``.

    The contract with the model is small: ``check_Xy``, ``forward``, ``criterion``, ``backward``,
    ``evaluate``, a flat ``theta``/``grad_theta`` and, optionally, ``split_preprocessing``: leading
    preprocessing layers (a ``Standardize``) are fitted on ``X`` and applied to the data once, so no
    step copies the data.

    Parameters
    ----------
    net : Sequential (binary or multi-class), e.g. TwoLayerNet
    X : array_like (N, D); y : array_like (N,) labels
    X_val, y_val : optional validation set, evaluated once per epoch (in chunks) for the history and
        early stopping.
    optimizer : a name of ``model.optim.OPTIMIZERS``: "sgd", "momentum", "nesterov", "adam", or
        "lbfgs" (full batch, ``epochs`` = iterations)
    lr : float or None (the optimizer's default); must be None for lbfgs, which has none
    epochs : int, passes over the data
    batch_size : int or None; None means the full batch.
    patience : int or None; stop after this many epochs without a lower validation loss and restore
        the best weights.
    seed : None, int or Generator, for the shuffling.
    on_epoch : callable(epoch, history) or None, called after each epoch's metrics.
    engine : "auto" (the engine of ``model.engine`` where it runs the network and optimizer, the layer
        objects otherwise) or "layers" (always the layers' own forward/backward). Both take the same
        steps on the same batches; ``History.engine`` says which ran.
    full_metrics : bool, default False. False: an epoch's training loss and accuracy are the running
        means over its batches, each batch scored with the parameters it was computed with (as Keras
        and scikit-learn report them; free, since every step computes its outputs anyway). True: a
        full pass over the training data after each epoch (the parameters at the epoch's end; costs
        one forward pass over N).
    chunk_rows : int or None; the rows one block of evaluation (and of the engine's full-batch
        work) holds. None: the engine sizes it for the cache; the layer path uses ``EVAL_ROWS``.

    Returns
    -------
    History, whose ``final`` holds the metrics of the model as returned (full passes; the restored
    best one after early stopping) and the epoch they belong to.

    Raises
    ------
    TrainingDiverged
        When the loss stops being finite or exceeds ``DIVERGENCE_FACTOR`` times the loss before
        training, or a parameter stops being finite; the network is restored to the last parameters
        whose loss was seen good (the end of the last good epoch; at full batch, whose running loss
        is that of the parameters the epoch started from, its start).
    """
    if engine not in ("auto", "layers"):
        raise ValueError(f"engine must be 'auto' or 'layers', got {engine!r}")
    spec = OPTIMIZERS.get(optimizer)
    if spec is None:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose from {', '.join(OPTIMIZERS)}")
    if spec.make is None and lr is not None:
        raise ValueError(f"{optimizer} takes no learning rate (got lr={lr})")
    if spec.make is not None and lr is None:
        lr = spec.default_lr
    X, y = net.check_Xy(X, y)
    has_val = X_val is not None and len(X_val) > 0
    if has_val:
        X_val, y_val = net.check_Xy(X_val, y_val)
    if patience is not None and (not has_val or int(patience) < 1):
        raise ValueError("early stopping needs a validation set and patience >= 1")
    epochs = int(epochs)
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    batch_size = len(y) if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if chunk_rows is not None and int(chunk_rows) < 1:
        raise ValueError(f"chunk_rows must be >= 1, got {chunk_rows}")
    body, X, X_val = _preprocess(net, X, X_val if has_val else None)
    _check_layers_can_train(body, len(y), batch_size, spec.make is None)

    history = History()
    if spec.make is None:
        runner = _LayerRunner(body, None, X, y, batch_size, seed, chunk_rows)
    else:
        opt = make_optimizer(optimizer, {"theta": net.theta}, {"theta": net.grad_theta}, lr)
        use_engine = engine == "auto" and unsupported_reason(body, opt) is None
        runner = (_EngineRunner if use_engine else _LayerRunner)(body, opt, X, y, batch_size, seed, chunk_rows)
    history.engine = runner.name
    history.train_metrics = "full" if full_metrics or spec.make is None else "running"
    # At full batch the first epoch's running loss *is* the loss before training (every sample
    # scored with the initial parameters), so the pass that measures it is skipped there.
    first_is_initial = batch_size >= len(y) and history.train_metrics == "running"
    limit = None if first_is_initial else DIVERGENCE_FACTOR * max(runner.evaluate(X, y)["loss"], 1.0)
    best = {"loss": math.inf, "state": _State(net)}
    # The parameters the guard restores: those whose loss was last seen finite and under the limit.
    # An epoch's running loss at full batch is the loss of the parameters it *started* from, so
    # there they lag one epoch behind (``epoch_start``); otherwise they are the epoch's end.
    last_good = _State(net)
    epoch_start = _State(net) if first_is_initial else None
    start = time.perf_counter()

    def end_epoch(epoch, running=None):
        """Record metrics; return True to stop early."""
        nonlocal limit
        train_m = runner.evaluate(X, y) if running is None or full_metrics else running
        if limit is None:
            limit = DIVERGENCE_FACTOR * max(train_m["loss"], 1.0)
        val_m = runner.evaluate(X_val, y_val) if has_val else None
        history.record(epoch, train_m, val_m)
        if not train_m["loss"] <= limit or not np.isfinite(net.theta).all():  # also catches NaN
            _diverged(net, history, last_good, epoch, lr, train_m["loss"])
        if epoch_start is None:
            last_good.capture()
        else:
            last_good.take(epoch_start)
            epoch_start.capture()
        if on_epoch is not None:
            on_epoch(epoch, history)
        if has_val and val_m["loss"] < best["loss"]:
            best["loss"], history.best_epoch = val_m["loss"], epoch
            best["state"].capture()
        return patience is not None and epoch - history.best_epoch >= int(patience)

    net.train()  # the whole network (body shares its layers), so its own flag agrees with theirs
    if spec.make is None:
        stopped = []

        def on_iteration(it):
            if not stopped and end_epoch(it):
                stopped.append(it)
            return bool(stopped)

        lbfgs(body, X, y, max_iter=epochs, callback=on_iteration, check_input=False)
        history.stopped_early = bool(stopped)
        history.steps = len(history.epoch)
    else:
        for epoch in range(1, epochs + 1):
            steps, loss, acc = runner.epoch()
            history.steps += steps
            if not math.isfinite(loss):
                _diverged(net, history, last_good, epoch, lr, loss)
            if end_epoch(epoch, {"loss": loss, "accuracy": acc}):
                history.stopped_early = True
                break
    if patience is not None and history.stopped_early:
        best["state"].restore()  # parameters and running statistics of the best epoch, together
    runner.reload()
    history.seconds = time.perf_counter() - start
    history.finish(runner.evaluate(X, y), runner.evaluate(X_val, y_val) if has_val else None)
    return history


#: Rows per ``evaluate`` call on the layer path: bounds the memory of an evaluation pass.
EVAL_ROWS = 65536


class _LayerRunner:
    """The layer path: ``run_epoch`` over ``EpochData``, and evaluation by ``Sequential.evaluate`` in chunks."""

    name = "layers"

    def __init__(self, body, opt, X, y, batch_size, seed, chunk_rows):
        self.body, self.opt = body, opt
        self.data = EpochData(X, y, batch_size, seed)
        self.rows = int(chunk_rows or EVAL_ROWS)

    def epoch(self):
        return run_epoch(self.body, self.opt, self.data)

    def evaluate(self, X, y):
        return evaluate_in_chunks(self.body, X, y, self.rows)

    def reload(self):
        pass


class _EngineRunner:
    """The engine path (``model.engine``): its flat parameters are written back to the network after
    every epoch, so callbacks, snapshots and the saved model see the current weights."""

    name = "engine"

    def __init__(self, body, opt, X, y, batch_size, seed, chunk_rows):
        self.engine = Engine(body, opt, chunk_rows=chunk_rows)
        self.data = self.engine.training_set(X, y, batch_size, seed)

    def epoch(self):
        result = self.engine.run_epoch(self.data)
        self.engine.push()
        return result

    def evaluate(self, X, y):
        return self.engine.evaluate(X, y)

    def reload(self):
        self.engine.pull()


def evaluate_in_chunks(net, X, y, rows=EVAL_ROWS):
    """``net.evaluate`` over row chunks of already checked data, combined: ``{"loss", "accuracy", "n"}``.

    The loss and accuracy are means over samples, so the chunks' means are weighted by their sizes.
    """
    n = len(X)
    if n <= rows:
        return net.evaluate(X, y, check_input=False)
    loss, correct = 0.0, 0.0
    for i in range(0, n, rows):
        m = net.evaluate(X[i:i + rows], y[i:i + rows], check_input=False)
        loss += m["loss"] * m["n"]
        correct = None if m["accuracy"] is None else correct + m["accuracy"] * m["n"]
    return {"loss": loss / n, "accuracy": None if correct is None else correct / n, "n": n}


class _State:
    """A copy of what training changes: the flat parameters and every layer's buffers (BatchNorm's
    running statistics), so that early stopping and the divergence guard restore them together."""

    def __init__(self, net):
        self.arrays = [net.theta] + [b for layer in net.layers for b in getattr(layer, "buffers", {}).values()]
        self.saved = [a.copy() for a in self.arrays]

    def capture(self):
        """Copy the network's current state in."""
        for saved, live in zip(self.saved, self.arrays):
            saved[...] = live

    def take(self, other):
        """Copy another snapshot of the same network."""
        for saved, theirs in zip(self.saved, other.saved):
            saved[...] = theirs

    def restore(self):
        """Write this state back into the network."""
        for saved, live in zip(self.saved, self.arrays):
            live[...] = saved


def _check_layers_can_train(body, n, batch_size, full_batch_method):
    """Refuse, before any work, a run that some layer cannot take part in."""
    from layers import BatchNorm, Dropout

    layers = getattr(body, "layers", [])
    if any(isinstance(layer, BatchNorm) for layer in layers):
        last = n % batch_size if batch_size < n else n
        if batch_size < 2 or last == 1 or n < 2:
            raise ValueError(f"BatchNorm needs at least 2 samples in every batch (a batch's variance); {n} training "
                             f"rows in batches of {batch_size} leave a batch of 1: choose another batch size")
    if full_batch_method and any(isinstance(layer, Dropout) and layer.p > 0 for layer in layers):
        raise ValueError("Dropout draws a new mask at every evaluation, which L-BFGS's line search cannot follow; "
                         "use a first-order optimizer")


def _preprocess(net, X, X_val):
    """Fit the network's leading preprocessing layers on ``X`` and apply them once to both sets.

    Returns the network without those layers (sharing its parameters) and the transformed data.
    """
    if not callable(getattr(net, "split_preprocessing", None)):
        return net, X, X_val
    pre, body = net.split_preprocessing()
    for layer in pre:
        layer.fit(X)
        X = layer.forward(X)
        X_val = None if X_val is None else layer.forward(X_val)
    return body, X, X_val


class EpochData:
    """The (already standardised) training data and the buffers one epoch's shuffle writes into.

    Each epoch copies the data once, in a fresh random order, into the same two buffers; the
    mini-batches are slices (views) of them. At full batch the order cannot matter and nothing is
    copied at all. ``outputs(width)`` is an (N, width) buffer receiving each batch's network output,
    from which the epoch's running accuracy is computed.
    """

    def __init__(self, X, y, batch_size, seed=None):
        self.X, self.y, self.batch_size = X, y, int(batch_size)
        self.rng = np.random.default_rng(seed)
        self.full_batch = self.batch_size >= len(y)
        self._Xs = None if self.full_batch else np.empty_like(X)
        self._ys = None if self.full_batch else np.empty_like(y)
        self._out = None

    def shuffled(self):
        if self.full_batch:
            return self.X, self.y
        order = self.rng.permutation(len(self.y))
        np.take(self.X, order, axis=0, out=self._Xs)
        np.take(self.y, order, axis=0, out=self._ys)
        return self._Xs, self._ys

    def outputs(self, like):
        """The (N, K) buffer for the epoch's outputs, of the dtype and width of ``like`` (a batch's)."""
        shape = (len(self.y),) + like.shape[1:]
        if self._out is None or self._out.shape != shape or self._out.dtype != like.dtype:
            self._out = np.empty(shape, like.dtype)
        return self._out


def run_epoch(net, opt, data):
    """One pass of mini-batch steps: ``forward`` → ``criterion.forward`` → ``backward`` → ``opt.step()``.

    That is ``Sequential.loss`` (less the weight-decay penalty's *value*, whose gradient ``backward``
    adds) and ``backward``, on each batch. The hot loop does no validation (``train`` checked the
    data once) and stops at the first non-finite loss.

    Returns
    -------
    (steps taken, mean data loss, accuracy) — the running means over the epoch's samples, each batch
    scored with the parameters it was computed with; (steps, the non-finite loss, NaN) when a batch's
    loss is not finite. Accuracy is None for a regression head.
    """
    X, y = data.shuffled()
    n, b = len(y), data.batch_size
    steps, total, out_all = 0, 0.0, None
    for i in range(0, n, b):
        out = net.forward(X[i:i + b])
        loss = net.criterion.forward(out, y[i:i + b], check_input=False)
        if not math.isfinite(loss):
            return steps, loss, math.nan
        net.backward(input_grad=False)
        opt.step()
        steps += 1
        total += loss * len(out)
        if out_all is None:
            out_all = data.outputs(out)
        out_all[i:i + b] = out
    return steps, total / n, _accuracy(net, out_all, y)


def _accuracy(net, out, y):
    """The fraction of rows of ``out`` (outputs of ``net``) whose decision matches the labels ``y``
    (as ``check_Xy`` returns them): arg-max for classes, probability > ½ for binary heads."""
    target = getattr(net, "target", None)
    if target == "classes":
        return float(np.count_nonzero(np.argmax(out, axis=1) == y)) / len(y)
    if target == "binary":
        p = net.criterion.proba(out)
        return float(np.count_nonzero((p > 0.5) == (y > 0.5))) / y.size
    return None


def _diverged(net, history, last_good, epoch, lr, loss):
    last_good.restore()
    advice = "try a lower learning rate than --lr {:g}".format(lr) if lr is not None else "the data may need rescaling"
    raise TrainingDiverged(
        f"training diverged in epoch {epoch} (loss {loss:.3g}); parameters restored to the last good ones; "
        f"{advice}", history)
