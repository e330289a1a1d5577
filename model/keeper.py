"""The one keeper of the weights a training run can fall back on, held by the training loop
(``Trainer.keeper``) and read by the divergence guard, early stopping, an interruption, the command line
(``TrainingDiverged.kept``) and the estimators' early stopping."""

import math

from .parameters import Snapshot


class Keeper:
    """Two copies of a network's state (``Snapshot``: parameters and buffers) a run may go back to.

    The **last good** state is the end of epoch ``good_epoch`` (0: the start), taken by ``good(epoch)`` when
    the divergence guard passes; with ``lagging`` (full batch, running metrics) an epoch's loss is that of
    the weights it *started* from, so there it is the previous epoch's end. The **best** state, of epoch
    ``best_epoch``, had the lowest value ``improves`` was given (the validation loss; the estimators give
    their score, negated). ``restore()`` puts back the best if there is one, else the last good; ``epoch``
    (None: nothing to keep) and ``why`` say which.
    """

    def __init__(self, net):
        self.net = net
        self.last_good = self.epoch_start = self.best = None
        self.good_epoch, self.best_epoch, self.best_value = 0, 0, math.inf

    def start(self, lagging=False):
        """Keeping begins: the current state is the last good one."""
        self.last_good = Snapshot(self.net)
        self.epoch_start = Snapshot(self.net) if lagging else None

    def good(self, epoch):
        """Epoch ``epoch`` passed the divergence guard."""
        if self.epoch_start is None:
            self.last_good.capture()
            self.good_epoch = epoch
        else:
            self.last_good.take(self.epoch_start)
            self.good_epoch = epoch - 1
            self.epoch_start.capture()

    def improves(self, value, epoch):
        """Whether ``value`` is lower than every one before; if so the current state becomes the best."""
        if not value < self.best_value:
            return False
        self.best_value, self.best_epoch = value, epoch
        if self.best is None:
            self.best = Snapshot(self.net)
        else:
            self.best.capture()
        return True

    def restore(self):
        """Put back the best state if there is one, else the last good (nothing before ``start``)."""
        kept = self.best or self.last_good
        if kept is not None:
            kept.restore()

    @property
    def epoch(self):
        """The epoch ``restore`` puts back, None when no epoch has ended well."""
        return self.best_epoch if self.best is not None else self.good_epoch or None

    @property
    def why(self):
        return "the best validation loss" if self.best is not None else "the last complete epoch"
