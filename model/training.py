"""The training loop: seeded mini-batches, per-epoch history, early stopping, divergence guard."""

import json
import math
import time
from dataclasses import asdict, dataclass, field

import numpy as np

from data import Standardizer

from ._atomic import atomic_write
from .optim import lbfgs, make_optimizer


#: Training counts as diverged when an epoch's training loss exceeds this multiple of the loss
#: before training (or is not finite). Gradient descent that works never climbs that far.
DIVERGENCE_FACTOR = 100.0


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

    def record(self, epoch, train, val):
        self.epoch.append(epoch)
        self.train_loss.append(train["loss"])
        self.train_acc.append(train["accuracy"])
        self.val_loss.append(val["loss"] if val else math.nan)
        self.val_acc.append(val["accuracy"] if val else math.nan)

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


def train(net, X, y, X_val=None, y_val=None, optimizer="sgd", lr=0.5, epochs=300, batch_size=32,
          patience=None, seed=None, standardize=True, on_epoch=None):
    """Train ``net`` in place on ``(X, y)``.

    Parameters
    ----------
    net : TwoLayerNet
    X : array_like (N, D); y : array_like (N,) of 0/1
    X_val, y_val : optional validation set, used for history and early stopping.
    optimizer : "sgd", "momentum", "nesterov", "adam" or "lbfgs" (full batch, ``epochs`` = iterations)
    lr : float, learning rate (ignored by lbfgs)
    epochs : int, passes over the data
    batch_size : int or None; None means the full batch.
    patience : int or None; stop after this many epochs without a lower validation loss and restore
        the best weights.
    seed : None, int or Generator, for the shuffling (nothing else is random here).
    standardize : bool, fit the network's input standardisation on ``X`` first.
    on_epoch : callable(epoch, history) or None, called after each epoch's metrics.

    Returns
    -------
    History

    Raises
    ------
    TrainingDiverged
        When the loss stops being finite or explodes; the network is restored to its last good
        parameters.
    """
    X, y = net.check_Xy(X, y)
    has_val = X_val is not None and len(X_val) > 0
    if has_val:
        X_val, y_val = net.check_Xy(X_val, y_val)
    if patience is not None and (not has_val or int(patience) < 1):
        raise ValueError("early stopping needs a validation set and patience >= 1")
    epochs = int(epochs)
    if epochs < 1:
        raise ValueError(f"epochs must be >= 1, got {epochs}")
    n = len(y)
    batch_size = n if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    if standardize:
        scaler = Standardizer().fit(X)
        net.set_standardization(scaler.mean_, scaler.scale_)
    # Standardise once; every step below passes standardize=False, so no step copies the data.
    X = net.standardize(X)
    X_val = net.standardize(X_val) if has_val else None

    history = History()
    limit = DIVERGENCE_FACTOR * max(net.evaluate(X, y, standardize=False)["loss"], 1.0)
    best = {"loss": math.inf, "theta": net.theta.copy()}
    last_good = net.theta.copy()
    start = time.perf_counter()

    def end_epoch(epoch):
        """Record metrics; return True to stop early."""
        train_m = net.evaluate(X, y, standardize=False)
        val_m = net.evaluate(X_val, y_val, standardize=False) if has_val else None
        history.record(epoch, train_m, val_m)
        if not train_m["loss"] <= limit:  # also catches NaN
            _diverged(net, history, last_good, epoch, lr, train_m["loss"])
        last_good[...] = net.theta
        if on_epoch is not None:
            on_epoch(epoch, history)
        if has_val and val_m["loss"] < best["loss"]:
            best["loss"], best["theta"][...], history.best_epoch = val_m["loss"], net.theta, epoch
        return patience is not None and epoch - history.best_epoch >= int(patience)

    if optimizer == "lbfgs":
        stop = [False]

        def on_iteration(it):
            if not stop[0]:
                stop[0] = end_epoch(it)
            if stop[0]:
                raise StopIteration

        try:
            lbfgs(net, X, y, max_iter=epochs, callback=on_iteration, standardize=False)
        except StopIteration:
            history.stopped_early = True
        history.steps = len(history.epoch)
    else:
        opt = make_optimizer(optimizer, {"theta": net.theta}, {"theta": net.grad_theta}, lr)
        epoch_data = EpochData(X, y, batch_size, seed)
        for epoch in range(1, epochs + 1):
            steps, loss = run_epoch(net, opt, epoch_data)
            history.steps += steps
            if not math.isfinite(loss):
                _diverged(net, history, last_good, epoch, lr, loss)
            if end_epoch(epoch):
                history.stopped_early = True
                break
    if patience is not None and history.stopped_early:
        net.theta[...] = best["theta"]
    history.seconds = time.perf_counter() - start
    return history


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
        loss = net.loss(X[i:i + b], y[i:i + b], check_input=False, standardize=False)
        if not math.isfinite(loss):
            break
        net.backward(input_grad=False)
        opt.step()
        steps += 1
    return steps, loss


def _diverged(net, history, last_good, epoch, lr, loss):
    net.theta[...] = last_good
    raise TrainingDiverged(
        f"training diverged in epoch {epoch} (loss {loss:.3g}); parameters restored to the end of "
        f"the last good epoch; try a lower learning rate than --lr {lr:g}", history)
