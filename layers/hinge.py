"""The multiclass SVM (hinge) loss, CS231n's ``svm_loss``: a loss beside those of ``layers.losses``."""

import numpy as np

from .activations import softmax
from .losses import ClassWeighted, checked_scores


class SVMLoss(ClassWeighted):
    """Multiclass hinge loss with margin 1, averaged over the batch (Weston–Watkins, as in CS231n).

    ``ℓ = (1/N) Σ_i Σ_{j ≠ y_i} max(0, s_ij − s_i,y_i + 1)``: every wrong class scoring within 1 of the right
    one costs its shortfall. Each term is a max gate against 0 of an add gate: backward routes ``share`` (the
    sample's ``1/N``) to ``s_ij`` where the margin is positive and subtracts it from ``s_i,y_i`` once per such
    j; a margin of exactly 0 routes nothing (ReLU's convention). ``class_weight`` and ``sample_weight`` weight the
    samples as in the other classification losses.

    Hinge scores are not probabilities; ``proba`` gives their softmax, by convention (see there), so that
    ``predict_proba`` and ``train.py --predict`` have one rule for this loss, its own.

    Shapes
    ------
    forward:  s (N, K) scores, y (N,) class indices in [0, K) -> scalar float;
              cache: (1 where a margin is positive, else 0 (N, K), y (N,), share)
    backward: upstream scalar (default 1.0) -> dℓ/ds (N, K)
    proba:    s (N, K) -> (N, K), each row summing to 1
    """

    target = "classes"

    def forward(self, s, y, check_input=True):
        if check_input:
            s, y = checked_scores(s, y, "s", "SVMLoss")
        rows = np.arange(len(y))
        share = self.shares(y, s.dtype, s.shape[1])  # 1/N without weights
        share = share if np.isscalar(share) else share[:, None]  # a sample's share, for each of its K scores
        margins = np.maximum(0, s - s[rows, y][:, None] + 1)
        margins[rows, y] = 0  # the true class is no rival of itself
        self.cache = ((margins > 0).astype(s.dtype), y, share)
        return float((share * margins).sum())

    def backward(self, upstream=1.0):
        positive, y, share = self.cache
        # Max gate then add gate: +1 to each rival with a positive margin, −(their count) to the true class
        ds = positive.copy()
        ds[np.arange(len(y)), y] = -positive.sum(axis=1)
        return upstream * share * ds

    def proba(self, out):
        """``softmax(s)`` over the last axis, computed stably: a **convention**, not a probability model.

        The hinge loss only asks the right class to outscore the others by a margin of 1 and is 0 however far
        beyond it, so nothing it learns is calibrated: these numbers rank the classes as the scores do (the same
        arg-max) and sum to 1, nothing more. The rule is the loss's own, whatever the scores (a row of scores that
        happens to look like probabilities is still put through the softmax).

        Shapes: out (N, K) scores -> (N, K).
        """
        return softmax(out)
