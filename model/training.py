"""The training loop: seeded mini-batches, per-epoch history, early stopping, divergence guard."""

import json
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from ._atomic import atomic_write
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
    """Per-epoch metrics (validation entries are NaN when there is no validation set)."""

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

    def run(self, net, X, y, X_val=None, y_val=None, seed=None, on_epoch=None):
        return train(net, X, y, X_val, y_val, seed=seed, on_epoch=on_epoch, **asdict(self))


def train(net, X, y, X_val=None, y_val=None, optimizer="sgd", lr=None, epochs=300, batch_size=32,
          patience=None, seed=None, on_epoch=None, engine="auto"):
    """Train ``net`` in place on ``(X, y)``.

    The contract with the model is small: ``check_Xy``, ``loss``, ``backward``, ``evaluate``,
    ``params``/``grads`` (a flat ``theta``/``grad_theta`` is used when present) and, optionally,
    ``split_preprocessing``: leading preprocessing layers (a ``Standardize``) are fitted on ``X``
    and applied to the data once, so no step copies the data.

    Parameters
    ----------
    net : Sequential (binary or multi-class), e.g. TwoLayerNet
    X : array_like (N, D); y : array_like (N,) labels
    X_val, y_val : optional validation set, used for history and early stopping.
    optimizer : a name of ``model.optim.OPTIMIZERS``: "sgd", "momentum", "nesterov", "adam", or
        "lbfgs" (full batch, ``epochs`` = iterations)
    lr : float or None (the optimizer's default); must be None for lbfgs, which has none
    epochs : int, passes over the data
    batch_size : int or None; None means the full batch.
    patience : int or None; stop after this many epochs without a lower validation loss and restore
        the best weights.
    seed : None, int or Generator, for the shuffling.
    on_epoch : callable(epoch, history) or None, called after each epoch's metrics.
    engine : "auto" (the fast engine where it supports the network, see ``model.engine``) or
        "layers" (always the layer objects' own forward/backward). ``History.engine`` says which ran.

    Returns
    -------
    History, whose ``final`` holds the metrics of the model as returned (the restored best one after
    early stopping) and the epoch they belong to.

    Raises
    ------
    TrainingDiverged
        When the loss stops being finite or explodes; the network is restored to its last good
        parameters.
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
    body, X, X_val = _preprocess(net, X, X_val if has_val else None)

    history = History()
    limit = DIVERGENCE_FACTOR * max(body.evaluate(X, y, check_input=False)["loss"], 1.0)
    best = {"loss": math.inf, "theta": net.theta.copy()}
    last_good = net.theta.copy()
    start = time.perf_counter()

    def end_epoch(epoch):
        """Record metrics; return True to stop early."""
        train_m = body.evaluate(X, y, check_input=False)
        val_m = body.evaluate(X_val, y_val, check_input=False) if has_val else None
        history.record(epoch, train_m, val_m)
        if not train_m["loss"] <= limit:  # also catches NaN
            _diverged(net, history, last_good, epoch, lr, train_m["loss"])
        last_good[...] = net.theta
        if on_epoch is not None:
            on_epoch(epoch, history)
        if has_val and val_m["loss"] < best["loss"]:
            best["loss"], best["theta"][...], history.best_epoch = val_m["loss"], net.theta, epoch
        return patience is not None and epoch - history.best_epoch >= int(patience)

    body.train()
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
        opt = make_optimizer(optimizer, {"theta": net.theta}, {"theta": net.grad_theta}, lr)
        epoch_data = EpochData(X, y, batch_size, seed)
        for epoch in range(1, epochs + 1):
            steps, loss = run_epoch(body, opt, epoch_data)
            history.steps += steps
            if not math.isfinite(loss):
                _diverged(net, history, last_good, epoch, lr, loss)
            if end_epoch(epoch):
                history.stopped_early = True
                break
    if patience is not None and history.stopped_early:
        net.theta[...] = best["theta"]
    history.seconds = time.perf_counter() - start
    history.finish(body.evaluate(X, y, check_input=False),
                   body.evaluate(X_val, y_val, check_input=False) if has_val else None)
    return history


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
    copied at all.
    """

    def __init__(self, X, y, batch_size, seed=None):
        self.X, self.y, self.batch_size = X, y, int(batch_size)
        self.rng = np.random.default_rng(seed)
        self.full_batch = self.batch_size >= len(y)
        self._Xs = None if self.full_batch else np.empty_like(X)
        self._ys = None if self.full_batch else np.empty_like(y)

    def shuffled(self):
        if self.full_batch:
            return self.X, self.y
        order = self.rng.permutation(len(self.y))
        np.take(self.X, order, axis=0, out=self._Xs)
        np.take(self.y, order, axis=0, out=self._ys)
        return self._Xs, self._ys


def run_epoch(net, opt, data):
    """One pass of mini-batch steps: ``loss`` → ``backward`` → ``opt.step()`` per batch.

    The hot loop does no validation (``train`` checked the data once) and stops at the first
    non-finite loss.

    Returns
    -------
    (steps taken, the last batch loss)
    """
    X, y = data.shuffled()
    n, b = len(y), data.batch_size
    steps, loss = 0, 0.0
    for i in range(0, n, b):
        loss = net.loss(X[i:i + b], y[i:i + b], check_input=False)
        if not math.isfinite(loss):
            break
        net.backward(input_grad=False)
        opt.step()
        steps += 1
    return steps, loss


def _diverged(net, history, last_good, epoch, lr, loss):
    net.theta[...] = last_good
    advice = "try a lower learning rate than --lr {:g}".format(lr) if lr is not None else "the data may need rescaling"
    raise TrainingDiverged(
        f"training diverged in epoch {epoch} (loss {loss:.3g}); parameters restored to the end of "
        f"the last good epoch; {advice}", history)
