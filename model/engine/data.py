"""Training data in the engine's layout, with the buffers each epoch's shuffle writes into."""

import numpy as np

from .blocks import COLUMN_ROWS


def metric_labels(head_kind, y):
    """The labels the metrics compare against: ``y`` as it is (0/1) for a binary head, class indices else."""
    return y if head_kind == "binary" else np.asarray(y, np.intp)


def with_ones_column(X, dtype):
    """``[X 1]`` (N, D + 1) in ``dtype``: the input of a folded ``[[W], [b]]``."""
    inputs = np.empty((len(X), X.shape[1] + 1), dtype)
    inputs[:, :-1] = X
    inputs[:, -1] = 1
    return inputs


def with_ones_row(X, dtype):
    """``[Xᵀ; 1]`` (D + 1, N) in ``dtype``: the same in columns."""
    inputs = np.empty((X.shape[1] + 1, len(X)), dtype)
    inputs[:-1] = X.T
    inputs[-1] = 1
    return inputs


class TrainingSet:
    """The training data of one ``Engine.training_set`` call.

    Rows (mini-batches under ``COLUMN_ROWS`` samples): ``inputs`` [X 1] (N, D + 1) and ``targets``
    (0/1 (N, 1), or one-hot (N, K)) are copied in each epoch's order into two buffers, and ``batches``
    holds, once and for all, each batch as views of them: ``(inputs, targets, logits, scale)``, with
    ``logits`` a view of the (N, K) buffer that receives the epoch's logits and ``scale`` 1 / its size.
    Columns (large batches, the full batch): ``inputs`` [Xᵀ; 1] (D + 1, N) and ``targets`` (1, N) or
    (N,) class indices, shuffled likewise for mini-batches and never copied at full batch; logits
    (K, N).

    Attributes
    ----------
    n, batch_size, full_batch, steps : as the ``Shuffler``'s (``steps`` batches per epoch).
    columns : bool, the layout.
    """

    def __init__(self, engine, X, y, shuffler):
        plan = engine.plan
        dtype, kind, classes = plan.dtype, plan.head.kind, plan.classes
        self.shuffler = shuffler
        self.n, self.batch_size = self.shuffler.n, self.shuffler.batch_size
        self.full_batch, self.steps = self.shuffler.full_batch, self.shuffler.steps
        self.columns = self.full_batch or self.batch_size >= COLUMN_ROWS
        self.labels = metric_labels(kind, y)
        n = self.n
        if self.columns:
            self.inputs = engine.columns(X)
            self.targets = np.ascontiguousarray(y).reshape(1, n) if kind == "binary" else self.labels
            self.logits = np.empty((classes, n), dtype)
        else:
            self.inputs = with_ones_column(X, dtype)
            if kind == "binary":
                self.targets = y
            else:
                self.targets = np.zeros((n, classes), dtype)
                self.targets[np.arange(n), self.labels] = 1
            self.logits = np.empty((n, classes), dtype)
        self._order = None
        if self.full_batch:
            self.epoch_inputs, self.epoch_targets, self.epoch_labels = self.inputs, self.targets, self.labels
        else:
            self.epoch_inputs, self.epoch_targets = np.empty_like(self.inputs), np.empty_like(self.targets)
            self.epoch_labels = np.empty_like(self.labels) if kind == "softmax" else None
        self.batches = None
        if not self.columns:
            parts = self.shuffler.batches()
            sizes = {part.stop - part.start for part in parts}  # the full batches', the ragged last one's
            scale = {size: np.asarray(1.0 / size, dtype) for size in sizes}
            self.batches = [(self.epoch_inputs[part], self.epoch_targets[part], self.logits[part],
                             scale[part.stop - part.start]) for part in parts]

    def shuffle(self):
        """Copy the data into the buffers in the next epoch's order (nothing to do at full batch)."""
        order = self.shuffler.next_order()
        if order is None:
            return
        self._order = order
        axis = 1 if self.columns else 0
        np.take(self.inputs, order, axis=axis, out=self.epoch_inputs)
        np.take(self.targets, order, axis=self.targets.ndim - 1 if self.columns else 0, out=self.epoch_targets)

    def shuffled_labels(self):
        """The labels in this epoch's order, for the metrics (made after ``shuffle``)."""
        if self.full_batch:
            return self.labels
        if self.epoch_labels is None:  # binary: the targets are the labels
            return self.epoch_targets.reshape(-1) if self.columns else self.epoch_targets
        np.take(self.labels, self._order, out=self.epoch_labels)
        return self.epoch_labels
