"""What a training run leaves behind: its per-epoch ``History``, and the two ways a run can end early."""

import io
import json
import math
from dataclasses import asdict, dataclass, field

from .atomic import atomic_write


class TrainingDiverged(RuntimeError):
    """The loss became NaN, infinite, or exploded; the network holds its last good parameters.

    ``kept`` is the run's ``model.keeper.Keeper`` (None when raised elsewhere): ``kept.restore()`` puts back
    the best validation epoch's weights (else the last good ones), ``kept.epoch`` and ``kept.why`` say which.
    """

    def __init__(self, message, history, kept=None):
        super().__init__(message)
        self.history, self.kept = history, kept


class TrainingInterrupted(KeyboardInterrupt):
    """Training was interrupted (Ctrl-C, or a signal a caller turned into ``KeyboardInterrupt``).

    The network holds the best weights seen (the best validation loss; without validation data, the end
    of the last complete epoch); ``history`` holds every complete epoch and ``history.final`` the metrics
    of the weights kept, whose epoch is ``history.final["epoch"]`` (0: the initial weights); ``kept`` is the
    run's ``model.keeper.Keeper`` (None when raised elsewhere), whose ``why`` says which weights those are.
    """

    def __init__(self, history, kept=None):
        super().__init__(f"training interrupted; kept the weights of epoch {history.final.get('epoch', 0)}")
        self.history, self.kept = history, kept


@dataclass
class History:
    """Per-epoch metrics (validation entries are NaN when there is no validation set).

    ``engine`` says which path ran ("engine" or "layers") and ``engine_note`` why the layers ran when
    the engine was asked for; ``layer_check`` whether a learner's layers were verified before training ("" when
    the network holds none); ``final`` holds the metrics of the model as returned (full passes).
    """

    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False
    restored_best: bool = False
    interrupted: bool = False
    lr: list = field(default_factory=list)
    seconds: float = 0.0
    steps: int = 0
    engine: str = "layers"
    engine_note: str = ""
    layer_check: str = ""
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
        epoch = self.best_epoch if self.restored_best else (self.epoch[-1] if self.epoch else 0)
        self.final = {"epoch": epoch, "train_loss": train["loss"], "train_acc": train["accuracy"],
                      "val_loss": val["loss"] if val else math.nan, "val_acc": val["accuracy"] if val else math.nan}

    def last(self):
        keys = ("train_loss", "train_acc", "val_loss", "val_acc")
        return {k: getattr(self, k)[-1] if self.epoch else math.nan for k in keys}

    def _repr_png_(self):
        """The loss and accuracy curves as a PNG, for Jupyter; None (plain text) without matplotlib or epochs
        (matplotlib is imported here, when asked, never at import: the core needs numpy and scipy only)."""
        if not self.epoch:
            return None
        try:
            from matplotlib.figure import Figure
        except ImportError:
            return None
        return _curves_png(self, Figure)

    def save(self, path):
        """Write the per-epoch table as ``.csv`` or ``.json`` (by extension), atomically."""
        path = str(path)
        cols = ("epoch", "train_loss", "train_acc", "val_loss", "val_acc")
        if path.endswith(".json"):
            text = json.dumps({k: _jsonable(v) for k, v in asdict(self).items()}, indent=1)
        elif path.endswith(".csv"):
            rows = zip(*(getattr(self, c) for c in cols), strict=True)
            text = ",".join(cols) + "\n" + "".join(",".join(str(v) for v in row) + "\n" for row in rows)
        else:
            raise ValueError(f"history file must end in .csv or .json, got {path}")
        return atomic_write(path, lambda fh: fh.write(text.encode()))


def _jsonable(v):
    if isinstance(v, list):
        return [None if isinstance(x, float) and math.isnan(x) else x for x in v]
    return v


def _finite(values):
    """Whether any of ``values`` is a finite number (a regression's accuracies are None)."""
    return any(v is not None and math.isfinite(v) for v in values)


def _spans_decades(values):
    """Whether ``values`` are all > 0 and span more than a factor of 10 (a log scale then reads best)."""
    return all(v is not None and v > 0 for v in values) and max(values) > 10 * min(values)


def _curves_png(history, Figure):
    """PNG bytes of ``history``'s curves: the loss, and the accuracy when there is one, train and validation."""
    panels = [("loss", history.train_loss, history.val_loss)]
    if _finite(history.train_acc) or _finite(history.val_acc):
        panels.append(("accuracy", history.train_acc, history.val_acc))
    width = 4.2 * len(panels)
    fig = Figure(figsize=(width, 3.0))  # no pyplot: no global figure state
    fig.subplots_adjust(left=0.75 / width, right=1 - 0.15 / width, bottom=0.16, top=0.9, wspace=0.25)
    for ax, (name, train, val) in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels, strict=True):
        for label, values in (("train", train), ("validation", val)):
            if _finite(values):
                ax.plot(history.epoch, [math.nan if v is None else v for v in values], label=label)
        if name == "loss" and _spans_decades(train):
            ax.set_yscale("log")
        if history.restored_best:
            ax.axvline(history.best_epoch, color="0.6", linestyle=":", label=f"best epoch {history.best_epoch}")
        ax.set(xlabel="epoch", title=name)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()
