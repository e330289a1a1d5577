"""Learning-rate schedules: the step size from one epoch to the next, as scikit-learn's MLP names them.

``constant``
    ``lr`` throughout.
``invscaling``
    ``lr / (t + 1) ** power_t`` after each epoch, ``t`` the number of samples seen so far.
``adaptive``
    ``lr`` while the training loss keeps falling; each time it has failed to fall by at least ``tol``
    for more than ``n_iter_no_change`` epochs in a row, the rate is divided by 5.

Each schedule is a small object: ``after_epoch(samples_seen, loss)`` returns the rate for the next epoch.
"""

import math

from layers.validation import ParameterError, check_count, check_real

SCHEDULES = ("constant", "invscaling", "adaptive")


class InvScaling:
    def __init__(self, lr, power_t=0.5):
        self.initial, self.power_t = lr, power_t

    def after_epoch(self, samples_seen, loss):
        return self.initial / (samples_seen + 1) ** self.power_t


class Stall:
    """scikit-learn's count of epochs without improvement: how many in a row ``value`` (lower is better) has
    failed to fall below the best so far by ``tol``. ``tol`` >= 0 and ``patience`` (``n_iter_no_change``) >= 1
    are checked here, once."""

    def __init__(self, tol, patience):
        self.tol = check_real(tol, "tol", "train", "[0, inf)")
        self.patience = check_count(patience, "n_iter_no_change", "train")
        self.best, self.count = math.inf, 0

    def reset(self):
        """Start counting again (the best so far is kept)."""
        self.count = 0

    def update(self, value):
        """Count ``value``; True once more than ``patience`` epochs in a row have failed to improve."""
        self.count = self.count + 1 if value > self.best - self.tol else 0
        self.best = min(self.best, value)
        return self.count > self.patience


class Adaptive:
    def __init__(self, lr, tol=1e-4, n_iter_no_change=10):
        self.lr, self.stall = lr, Stall(tol, n_iter_no_change)

    def after_epoch(self, samples_seen, loss):
        if self.stall.update(loss):
            self.lr = self.lr / 5
            self.stall.reset()
        return self.lr


def make_schedule(name, lr, power_t=0.5, tol=1e-4, n_iter_no_change=10):
    """The schedule called ``name`` starting from ``lr``; ``ParameterError`` for an unknown name or setting."""
    if name not in SCHEDULES:
        raise ParameterError("train", "lr_schedule", f"must be one of {', '.join(SCHEDULES)}, got {name!r}")
    if name == "invscaling":
        return InvScaling(lr, check_real(power_t, "power_t", "train", "[0, inf)"))
    if name == "adaptive":
        return Adaptive(lr, tol, n_iter_no_change)
    return InvScaling(lr, 0.0)  # constant: lr / (t + 1) ** 0 is lr throughout
