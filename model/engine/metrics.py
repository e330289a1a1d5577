"""The engine's running metrics: summed loss and count of correct predictions over blocks of logits.

Each metric is computed from the logits the training steps made anyway, into preallocated buffers,
and equals what the loss layers report (``tests/test_engine.py`` checks it).
"""

import numpy as np


class BinaryMetrics:
    """Summed loss and correct count over blocks of logits z and 0/1 targets y, both (R, 1) or (1, R).

    The loss is the binary cross-entropy from logits, ``softplus(z) − y z``, with
    ``softplus(z) = max(z, 0) + log(1 + exp(−|z|))``: never overflows, and exact to a unit in the last
    place of 1 per sample (``log(1 + x)`` for x in (0, 1] stands in for ``log1p``, 3× cheaper).
    ``clip`` (``−log eps``) caps each sample's loss as ``BCELoss`` does by clipping probabilities at
    the machine epsilon; None leaves it exact, as ``SigmoidBCELoss`` is. A sample is correct when
    ``z > 0`` (σ(z) > ½) agrees with its label. Sums are dot products with a vector of ones (BLAS:
    half the time of ``ndarray.sum`` on a column).
    """

    def __init__(self, rows, dtype, clip=None):
        self.abs_logits = np.empty(rows, dtype)
        self.softplus = np.empty(rows, dtype)
        self.ones = np.ones(rows, dtype)
        self.predicted, self.labelled = np.empty(rows, bool), np.empty(rows, bool)
        self.one, self.half, self.zero = np.ones((), dtype), np.asarray(0.5, dtype), np.zeros((), dtype)
        self.clip = None if clip is None else np.asarray(clip, dtype)
        # a sample's loss is at most |z| + log 2: below this no sample is capped
        self.clip_free = None if clip is None else float(clip) - 1.0

    def __call__(self, logits, targets):
        z, y = logits.reshape(-1), targets.reshape(-1)  # (R, 1) or (1, R), contiguous: views
        r = len(z)
        abs_z, loss_terms, ones = self.abs_logits[:r], self.softplus[:r], self.ones[:r]
        vdot = np.vdot
        np.abs(z, out=abs_z)
        np.negative(abs_z, out=loss_terms)
        np.exp(loss_terms, out=loss_terms)
        np.add(loss_terms, self.one, out=loss_terms)
        np.log(loss_terms, out=loss_terms)  # log(1 + exp(−|z|))
        if self.clip is None or float(np.maximum.reduce(abs_z)) < self.clip_free:  # no sample reaches the cap
            # Σ max(z, 0) − y z = Σ (|z| + z) / 2 − yᵀz
            loss = (float(vdot(ones, loss_terms)) + 0.5 * (float(vdot(ones, abs_z)) + float(vdot(ones, z)))
                    - float(vdot(y, z)))
        else:  # per sample, each capped
            positive_part = abs_z
            np.add(abs_z, z, out=positive_part)
            np.multiply(positive_part, self.half, out=positive_part)  # max(z, 0), exactly
            np.add(loss_terms, positive_part, out=loss_terms)
            np.multiply(y, z, out=positive_part)
            np.subtract(loss_terms, positive_part, out=loss_terms)
            np.minimum(loss_terms, self.clip, out=loss_terms)
            loss = float(vdot(ones, loss_terms))
        predicted, labelled = self.predicted[:r], self.labelled[:r]
        np.greater(z, self.zero, out=predicted)  # predicted class 1 (σ(z) > ½)
        np.greater(y, self.half, out=labelled)  # labelled class 1
        np.equal(predicted, labelled, out=predicted)
        return loss, float(np.count_nonzero(predicted))  # booleans: 2-3x cheaper than the same count in floats


class SoftmaxMetrics:
    """Summed loss and correct count over blocks of logits and class labels (R,) intp, the classes along
    ``axis`` of the logits ((R, K) with ``axis=1``, (K, R) with ``axis=0``).

    The loss is the cross-entropy of ``softmax(z)``, ``log Σ exp(z − max) − (z_y − max)`` (log-sum-exp,
    as ``SoftmaxCrossEntropyLoss``), each sample capped at ``clip`` when given (``CrossEntropyLoss``
    clips the picked probability at the machine epsilon). Correct: the arg-max (first on ties, as
    ``np.argmax``) is the label.
    """

    def __init__(self, rows, classes, dtype, clip=None, axis=1):
        self.shifted = np.empty(rows * classes, dtype)
        self.row_max = np.empty(rows, dtype)
        self.losses = np.empty(rows, dtype)
        self.ones = np.ones(classes, dtype)
        self.sample_index = np.arange(rows)
        self.axis = axis
        self.clip = None if clip is None else np.asarray(clip, dtype)

    def __call__(self, logits, labels):
        axis = self.axis
        r = logits.shape[1 - axis]
        shifted = self.shifted[:logits.size].reshape(logits.shape)
        peak, losses, index = self.row_max[:r], self.losses[:r], self.sample_index[:r]
        np.max(logits, axis=axis, out=peak)
        np.subtract(logits, peak[:, None] if axis else peak, out=shifted)
        picked = shifted[index, labels] if axis else shifted[labels, index]  # z_y − max
        np.exp(shifted, out=shifted)
        np.dot(shifted, self.ones, out=losses) if axis else np.dot(self.ones, shifted, out=losses)
        np.log(losses, out=losses)
        np.subtract(losses, picked, out=losses)  # per-sample loss
        if self.clip is not None:
            np.minimum(losses, self.clip, out=losses)
        correct = int(np.count_nonzero(np.argmax(logits, axis=axis) == labels))
        return float(losses.sum()), float(correct)
