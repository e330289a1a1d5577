"""The engine's data, a stage at a time: no pass copies a whole data set.

A pass over N samples (an epoch, an evaluation) walks them in its order — the epoch's shuffle, or their
own — in *stages* of at most ``STAGE_ROWS`` samples (and about ``STAGE_BYTES`` of inputs), and the
metrics score each stage's logits at once. The inputs reach the kernels with the column (rows) or row
(columns) of ones that the folded ``[[W], [b]]`` multiplies, copied into buffers of the layout they
read — gathered in the shuffled order, or as the samples lie:

- ``RowStage``: small mini-batches; a stage of several batches is copied in at once, and each batch is
  a view of it;
- ``ColumnStage``: large batches and the full batch; each chunk of work is transposed into a chunk
  buffer just before it is used, while it is in cache.

So a pass holds a few stage- or chunk-sized buffers and the order (N,) beyond the data, at any N; the
price is that copy, one more pass over the inputs each epoch (about 0–20 % of a full-batch epoch,
the most with many features and few hidden units). The work of a pass is its ``Schedule``: batches
of ``batch_size`` samples, each cut into chunks of at most ``chunk_rows`` (in rows a batch is one
chunk), consecutive chunks grouped into stages.
"""

import numpy as np

from .kernels import one_hot

#: The most samples one stage holds: the metrics score a stage's logits at once, so stages are long
#: (fewer calls) while a few (R,) buffers still fit the L2 cache.
STAGE_ROWS = 65536
#: ... and about the bytes of inputs one stage of rows holds: it is copied twice (gathered, then placed
#: beside the ones), so it is kept near the size of the L2 cache.
STAGE_BYTES = 1 << 20


def kernel_targets(head_kind, y):
    """The targets of a pass, one per sample, flat: 0/1 in the network's dtype (a binary head) or class
    indices (intp), from ``y`` as ``model.inputs.check_Xy`` returns it."""
    if head_kind == "binary":
        return np.ascontiguousarray(y).reshape(-1)
    return np.asarray(y, np.intp)


def gather(source, samples, out):
    """``out[...] = source[samples]`` without a temporary; ``samples`` a slice or indices in range."""
    if isinstance(samples, slice):
        out[...] = source[samples]
    else:
        np.take(source, samples, axis=0, out=out, mode="clip")  # "clip" writes straight into out
    return out


def rows_of(source, samples, scratch):
    """``source[samples]``: a view for a slice, else gathered into ``scratch``."""
    return source[samples] if isinstance(samples, slice) else gather(source, samples, scratch[:len(samples)])


class Schedule:
    """The work of one pass over ``n`` samples: batches, their chunks, and the stages grouping them.

    Batch k holds samples ``[k b, (k + 1) b)`` of the pass's order (the last ragged); its chunks start at
    its first sample and every ``chunk_rows`` after. Stages are runs of whole chunks of at most
    ``most`` samples (one chunk when a chunk alone is longer).

    Attributes
    ----------
    stages : list of ``(start, stop)``, in order.
    capacity : the longest stage.
    """

    def __init__(self, n, batch_size, chunk_rows, most, dtype):
        self.n, self.batch_size, self.chunk_rows = n, batch_size, chunk_rows
        self.scales = {}  # 1 / batch size, in the network's dtype, per batch size
        self.stages = []
        start = 0
        for batch_start in range(0, n, batch_size):
            batch_stop = min(batch_start + batch_size, n)
            if batch_stop - batch_start not in self.scales:
                self.scales[batch_stop - batch_start] = np.asarray(1.0 / (batch_stop - batch_start), dtype)
            for chunk_start in range(batch_start, batch_stop, chunk_rows):
                chunk_stop = min(chunk_start + chunk_rows, batch_stop)
                if chunk_stop - start > most and chunk_start > start:
                    self.stages.append((start, chunk_start))
                    start = chunk_start
        self.stages.append((start, n))
        self.capacity = max(stop - start for start, stop in self.stages)

    def chunks(self, start, stop):
        """The chunks of stage ``[start, stop)``: ``(lo, hi, opens, closes, scale)`` with ``[lo, hi)`` its
        samples within the stage, ``opens`` / ``closes`` whether it is its batch's first / last chunk and
        ``scale`` 1 / its batch's size."""
        b, n = self.batch_size, self.n
        position = start
        while position < stop:
            batch_start = position - position % b
            batch_stop = min(batch_start + b, n)
            chunk_stop = min(position + self.chunk_rows, batch_stop)
            yield (position - start, chunk_stop - start, position == batch_start, chunk_stop == batch_stop,
                   self.scales[batch_stop - batch_start])
            position = chunk_stop


class RowStage:
    """Buffers for a stage of up to ``capacity`` samples in rows, each batch a view of them.

    Attributes
    ----------
    inputs : ``[x 1]`` (capacity, D + 1), the ones set once.
    gathered : (capacity, D), the samples gathered in a shuffled order before they are placed beside the ones.
    targets : (capacity,), the stage's targets (0/1 floats or class indices).
    onehot : (capacity, K) the one-hot targets for a softmax head, else None.
    logits : (capacity, K), where the stage's logits are written.
    """

    def __init__(self, capacity, features, classes, dtype, head_kind):
        self.capacity, self.binary = capacity, head_kind == "binary"
        self.inputs = np.empty((capacity, features + 1), dtype)
        self.inputs[:, -1] = 1
        self.gathered = np.empty((capacity, features), dtype)
        self.targets = np.empty(capacity, dtype if self.binary else np.intp)
        self.onehot = None if self.binary else np.zeros((capacity, classes), dtype)
        self.sample_index = None if self.binary else np.arange(capacity)
        self.logits = np.empty((capacity, classes), dtype)

    def load(self, X, targets, samples):
        """Copy ``X[samples]`` and ``targets[samples]`` (see ``kernel_targets``) in; return the kernels'
        targets ((r, 1) 0/1, or one-hot (r, K)) and the labels (r,), views of the buffers."""
        count = samples.stop - samples.start if isinstance(samples, slice) else len(samples)
        labels = gather(targets, samples, self.targets[:count])
        self.inputs[:count, :-1] = rows_of(X, samples, self.gathered)
        if self.binary:
            return labels.reshape(count, 1), labels
        return one_hot(self.onehot[:count], labels, self.sample_index[:count]), labels


class ColumnStage:
    """Buffers for a stage of up to ``capacity`` samples in columns, one chunk of inputs at a time.

    Attributes
    ----------
    inputs : ``[xᵀ; 1]`` (D + 1, chunk_rows), one chunk's inputs transposed, the ones set once.
    gathered : (chunk_rows, D), a chunk's samples gathered in a shuffled order before they are transposed.
    targets : (capacity,), the stage's targets when they are gathered.
    logits : (K, capacity), where the stage's logits are written.
    """

    def __init__(self, capacity, chunk_rows, features, classes, dtype, head_kind):
        self.capacity, self.chunk_rows, self.binary = capacity, chunk_rows, head_kind == "binary"
        self.inputs = np.empty((features + 1, chunk_rows), dtype)
        self.inputs[-1] = 1
        self.gathered = np.empty((chunk_rows, features), dtype)
        self.targets = np.empty(capacity, dtype if self.binary else np.intp)
        self.logits = np.empty((classes, capacity), dtype)

    def load_targets(self, targets, samples):
        """The stage's targets for the kernels ((1, r) 0/1, or class indices (r,)) and its labels (r,):
        views of ``targets`` for a slice, else gathered into the buffer."""
        labels = rows_of(targets, samples, self.targets)
        return (labels.reshape(1, -1) if self.binary else labels), labels

    def load_inputs(self, X, samples):
        """``[X[samples]ᵀ; 1]`` (D + 1, r), one chunk, in the inputs buffer."""
        rows = rows_of(X, samples, self.gathered)
        inputs = self.inputs[:, :len(rows)]
        inputs[:-1] = rows.T
        return inputs


class TrainingSet:
    """The training data of one ``Engine.training_set`` call, and how an epoch walks it.

    Holds the data as given (``X`` (N, D), ``targets`` (N,)) and nothing of size N but the epoch's
    order. Rows (mini-batches under ``COLUMN_ROWS`` samples) have their own ``RowStage`` and, per
    length of stage, each batch's views of it: ``(inputs, targets, logits, scale)``, made once.
    Columns (large batches, the full batch) use the engine's ``ColumnStage``; the full batch is never
    shuffled.

    Attributes
    ----------
    n, batch_size, steps : as the ``Shuffler``'s (``steps`` batches per epoch).
    columns : bool, the layout.
    schedule : the epoch's ``Schedule``; ``order`` the current epoch's order (None at full batch).
    """

    def __init__(self, engine, X, y, shuffler, columns):
        plan = engine.plan
        self.X, self.targets = X, kernel_targets(plan.head.kind, y)
        self.shuffler, self.columns = shuffler, columns
        self.n, self.batch_size, self.steps = shuffler.n, shuffler.batch_size, shuffler.steps
        if columns:
            self.schedule, self.stage = engine.column_schedule(self.n, self.batch_size), None
        else:
            most = max(1, min(STAGE_ROWS, STAGE_BYTES // ((X.shape[1] + 1) * plan.dtype.itemsize)))
            self.schedule = Schedule(self.n, self.batch_size, self.batch_size, most, plan.dtype)
            self.stage = RowStage(self.schedule.capacity, X.shape[1], plan.classes, plan.dtype, plan.head.kind)
        self.order = None
        self._batches = {}

    def shuffle(self):
        """Draw the next epoch's order (nothing to do at full batch)."""
        self.order = self.shuffler.next_order()

    def samples(self, start, stop):
        """Samples ``[start, stop)`` of this epoch's order: a slice, or that part of the shuffled order."""
        return slice(start, stop) if self.order is None else self.order[start:stop]

    def batches(self, start, stop, targets):
        """The row batches of stage ``[start, stop)`` as views of the row stage and of its kernel ``targets``
        (what ``RowStage.load`` returned): ``(inputs, targets, logits, scale)``, made once per length of
        stage (all stages but the last have the same)."""
        length = stop - start
        views = self._batches.get(length)
        if views is None:
            stage = self.stage
            views = self._batches[length] = [
                (stage.inputs[lo:hi], targets[lo:hi], stage.logits[lo:hi], scale)
                for lo, hi, _, _, scale in self.schedule.chunks(start, stop)]
        return views
