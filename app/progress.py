"""Progress a person can read (``Progress``, the ``on_epoch`` callback ``train.py`` gives the training):

- **on a terminal**, one line redrawn in place at most every ``LIVE_INTERVAL`` seconds — the epoch out of
  the run's, the time spent and the time left at this pace, the last losses — and cleared at the end; within a
  long epoch too (``within_epoch``, the training's ``on_batch`` hook), with the batch out of the epoch's;
- **otherwise** (a file, a pipe), an epoch line for the first epoch, every tenth of the run and at least
  every ``HEARTBEAT_SECONDS``; when early stopping ends the run, the last epoch's line and the best one's;
- **nothing** for a run that ends within ``QUIET_SECONDS``: its lines are held back until then and dropped
  if the run is over first.
"""

import math
import time

#: a run that ends within this many seconds prints no progress at all
QUIET_SECONDS = 0.5
#: the live line is redrawn at most this often (seconds)
LIVE_INTERVAL = 0.25
#: without a terminal, an epoch line at least this often (seconds), besides every tenth of the run
HEARTBEAT_SECONDS = 10.0
#: carriage return, then erase to the end of the line
_CLEAR = "\r\x1b[K"


def epoch_line(epoch, metrics, regression=False, validation=True, prefix="epoch"):
    """``epoch   12  loss 0.1234  train acc 0.950  val loss 0.1500  val acc 0.940`` (the parts that apply).

    ``metrics``: train_loss, train_acc, val_loss, val_acc (``History.last()``); a regression has no accuracy.
    """
    parts = [f"{prefix} {epoch:4d}", f"loss {metrics['train_loss']:.4f}"]
    if not regression:
        parts.append(f"train acc {metrics['train_acc']:.3f}")
    if validation:
        parts.append(f"val loss {metrics['val_loss']:.4f}")
        if not regression:
            parts.append(f"val acc {metrics['val_acc']:.3f}")
    return "  ".join(parts)


def clock_text(seconds):
    """``0:07``, ``12:30``, ``1:02:03``."""
    seconds = max(0, int(round(seconds)))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class Progress:
    """The ``on_epoch(epoch, history)`` callback that reports a run of ``epochs`` epochs on ``stream``, live
    when ``live`` (default: when ``stream.isatty()``); a ``regression`` shows no accuracies, a run without
    ``validation`` no validation metrics; ``clock`` returns seconds (a test's fake clock)."""

    def __init__(self, stream, epochs, regression=False, validation=True, live=None, clock=time.monotonic):
        self.stream, self.epochs = stream, int(epochs)
        self.regression, self.validation = regression, validation
        self.live = _is_terminal(stream) if live is None else bool(live)
        self.clock = clock
        self.start = clock()
        self.every = max(1, self.epochs // 10)
        self.pending = []  # epoch lines held back until the run has lasted QUIET_SECONDS
        self.last_shown = self.start  # when the last epoch line or live line was written
        self.last_epoch = 0  # the last epoch with a line written (or held back)
        self.drawn = False  # a live line is on the screen
        self.losses = ""  # the last epoch's losses, as the live line shows them

    def __call__(self, epoch, history):
        now = self.clock()
        if self.live:
            self._draw(epoch, history, now)
        elif (epoch == 1 or epoch % self.every == 0 or epoch == self.epochs
              or now - self.last_shown >= HEARTBEAT_SECONDS):
            self._line(epoch_line(epoch, history.last(), self.regression, self.validation), now)
            self.last_epoch = epoch
        return None  # never stops the run

    def _line(self, text, now):
        self.pending.append(text)
        if now - self.start >= QUIET_SECONDS:
            self._release()
            self.last_shown = now

    def _release(self):
        self._write("".join(f"{line}\n" for line in self.pending))
        self.pending = []

    def within_epoch(self, epoch, batch, batches):
        """The training's ``on_batch(epoch, batch, batches)`` hook: on a terminal the live line, redrawn as
        ``on_epoch`` redraws it, says the batch reached in the epoch under way; otherwise nothing (logs keep one
        line per epoch)."""
        if not self.live:
            return
        now = self.clock()
        if now - self.start < QUIET_SECONDS or now - self.last_shown < LIVE_INTERVAL:
            return
        self._live(f"epoch {epoch}/{self.epochs}  batch {batch}/{batches}", epoch - 1 + batch / batches, now)

    def _draw(self, epoch, history, now):
        m = history.last()
        parts = [f"loss {m['train_loss']:.4f}"]
        if self.validation:
            parts.append(f"val loss {m['val_loss']:.4f}")
            if not self.regression and m["val_acc"] is not None and not math.isnan(m["val_acc"]):
                parts.append(f"val acc {m['val_acc']:.3f}")
        self.losses = "  ".join(parts)
        if now - self.start < QUIET_SECONDS or now - self.last_shown < LIVE_INTERVAL and epoch != self.epochs:
            return
        self._live(f"epoch {epoch}/{self.epochs}", epoch, now)

    def _live(self, where, epochs_done, now):
        """Redraw the live line: ``where`` the run is, the time spent and left at this pace (``epochs_done`` of
        the run's, a fraction within an epoch), the last epoch's losses."""
        spent = now - self.start
        left = spent / epochs_done * (self.epochs - epochs_done)
        parts = [where, f"{clock_text(spent)} spent, ~{clock_text(left)} left"] + ([self.losses] if self.losses else [])
        self._write(_CLEAR + "  ".join(parts))
        self.drawn = True
        self.last_shown = now

    def close(self, history=None):
        """End the report: clear the live line; after early stopping, the last and the best epoch's lines.

        ``history`` is the run's (None when it ended in an error: only the live line is cleared).
        """
        if self.drawn:
            self._write(_CLEAR)
            self.drawn = False
        if self.clock() - self.start < QUIET_SECONDS:
            self.pending = []
            return
        self._release()  # the run outlasted the quiet time after all
        if self.live or history is None or not history.stopped_early or not history.epoch:
            return
        last = history.epoch[-1]
        if last != self.last_epoch:
            self._write(epoch_line(last, history.last(), self.regression, self.validation) + "\n")
        best = history.best_epoch
        if best:
            i = history.epoch.index(best)
            metrics = {k: getattr(history, k)[i] for k in ("train_loss", "train_acc", "val_loss", "val_acc")}
            self._write(epoch_line(best, metrics, self.regression, self.validation, prefix="best epoch") + "\n")

    def _write(self, text):
        self.stream.write(text)
        self.stream.flush()


def _is_terminal(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
