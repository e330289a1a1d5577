"""What a training run leaves behind: its per-epoch ``History``, and the two ways a run can end early."""

import json
import math
from dataclasses import asdict, dataclass, field

from .atomic import atomic_write


class TrainingDiverged(RuntimeError):
    """The loss became NaN, infinite, or exploded; the network holds its last good parameters."""

    def __init__(self, message, history):
        super().__init__(message)
        self.history = history


class TrainingInterrupted(KeyboardInterrupt):
    """Training was interrupted (Ctrl-C, or a signal a caller turned into ``KeyboardInterrupt``).

    The network holds the best weights seen (the best validation loss; without validation data, the end
    of the last complete epoch); ``history`` holds every complete epoch and ``history.final`` the metrics
    of the weights kept, whose epoch is ``history.final["epoch"]`` (0: the initial weights).
    """

    def __init__(self, history):
        super().__init__(f"training interrupted; kept the weights of epoch {history.final.get('epoch', 0)}")
        self.history = history


@dataclass
class History:
    """Per-epoch metrics (validation entries are NaN when there is no validation set).

    ``engine`` says which path ran ("engine" or "layers") and ``engine_note`` why the layers ran when
    the engine was asked for; ``final`` holds the metrics of the model as returned (full passes).
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
