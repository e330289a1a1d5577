"""``Engine``: one network and one optimizer compiled into flat parameters, buffers and kernels."""

import numpy as np

from layers.validation import ParameterError

from .blocks import Block
from .data import TrainingSet, metric_labels, with_ones_row
from .metrics import BinaryMetrics, SoftmaxMetrics
from .plan import FoldedParameters, Unsupported, check_optimizer, compile_network

#: Bytes of one (width, rows) work buffer the default chunk size aims at: a few of them stay in L2.
CHUNK_BYTES = 1 << 18
#: Samples whose logits are scored at once: the metrics touch (K, R) arrays only, so blocks can be long
#: (fewer calls; a few (R,) buffers still fit the L2 cache).
METRIC_ROWS = 65536


class Engine:
    """The compiled form of one network and one optimizer: flat parameters, buffers, kernels.

    Parameters
    ----------
    net : the network to train, without preprocessing layers (see ``split_preprocessing``): its
        ``layers``, ``criterion``, ``weight_decay``, ``dtype`` and ``params`` are read; its parameters
        are copied in now (``pull``) and written back by ``push``.
    optimizer : a ``model.optim`` ``SGD`` or ``Adam``, whose type and hyper-parameters the engine's own
        optimizer copies (``optimizer.like``) over the flat vector; its state starts anew.
    chunk_rows : int or None; the most samples one block of work holds (None: sized for the L2 cache).

    Two layouts. Mini-batches under ``COLUMN_ROWS`` samples are rows (B, features), as the layers hold
    them: at that size the count of calls is the cost. Everything larger — big batches, the full
    batch, evaluation — is *columns* (features, R): the data transposed once per data set, with its
    row of ones, and every block a contiguous (width, R) array, so the broadcasts run along the long
    axis and no chunk is copied. Batches larger than ``chunk_rows`` are processed chunk by chunk, the
    gradients accumulated before the one update (memory O(chunk × width), not O(N × width)).

    Attributes
    ----------
    plan : ``model.engine.plan.Plan``, what the engine runs.
    folded : ``FoldedParameters``, the parameters and gradients in the engine's layout.
    optimizer : the engine's optimizer over ``{"all": folded.values}`` and ``{"all": folded.grads}``.
    decay : (n,) ``λ`` on every weight entry and 0 elsewhere, or None without weight decay.

    Raises
    ------
    ValueError
        When the engine does not run this network or optimizer (see ``unsupported_reason``).
    """

    def __init__(self, net, optimizer, chunk_rows=None):
        try:
            self.plan = compile_network(net)
            check_optimizer(optimizer)
        except Unsupported as exc:
            raise ValueError(str(exc)) from None
        self.net, self.dtype = net, self.plan.dtype
        self.folded = FoldedParameters(self.plan)
        if chunk_rows is None:
            chunk_rows = int(np.clip(CHUNK_BYTES // (max(self.folded.widths) * self.dtype.itemsize), 256, 16384))
        elif isinstance(chunk_rows, bool) or int(chunk_rows) != chunk_rows or chunk_rows < 1:
            raise ParameterError("Engine", "chunk_rows", f"must be a positive integer, got {chunk_rows!r}")
        self.chunk_rows = int(chunk_rows)
        self.pull()
        weight_decay = float(getattr(net, "weight_decay", 0.0) or 0.0)
        self.decay = (weight_decay * self.folded.weight_mask).astype(self.dtype) if weight_decay else None
        self._decay_term = np.empty_like(self.folded.values)
        self.optimizer = optimizer.like({"all": self.folded.values}, {"all": self.folded.grads})
        self._step = self._make_step()
        clip = -np.log(np.finfo(self.dtype).eps) if self.plan.head.capped else None
        self._clip = clip
        self._blocks, self._metrics, self._columns = {}, {}, {}

    # -------------------------------------------------------------- parameters

    def pull(self):
        """Read the network's parameters (after they were set from outside, e.g. restored)."""
        self.folded.pull()

    def push(self):
        """Write the engine's parameters into the network's own arrays, in place."""
        self.folded.push()

    def _add_decay(self):
        """``grads += λ θ`` on every weight: the gradient of the L2 penalty ``(λ/2) Σ ‖W‖²``."""
        np.multiply(self.decay, self.folded.values, out=self._decay_term)
        np.add(self.folded.grads, self._decay_term, out=self.folded.grads)

    def _make_step(self):
        """``step()``: the optimizer's update from ``folded.grads``, the L2 term added first."""
        if self.decay is None:
            return self.optimizer.step
        add_decay, optimizer_step = self._add_decay, self.optimizer.step

        def step_with_decay():
            add_decay()
            optimizer_step()

        return step_with_decay

    # -------------------------------------------------------------- blocks of work

    def _block(self, rows, columns):
        key = (rows, columns)
        block = self._blocks.get(key)
        if block is None:
            block = self._blocks[key] = Block(self.plan, self.folded, rows, columns)
        return block

    def _metric(self, rows, columns):
        key = (rows, columns)
        metric = self._metrics.get(key)
        if metric is None:
            if self.plan.head.kind == "binary":
                metric = BinaryMetrics(rows, self.dtype, self._clip)
            else:
                metric = SoftmaxMetrics(rows, self.plan.classes, self.dtype, self._clip, axis=0 if columns else 1)
            self._metrics[key] = metric
        return metric

    def columns(self, X):
        """``[Xᵀ; 1]`` (D + 1, N) in the network's dtype, made once per data set (kept for ``X``)."""
        hit = self._columns.get(id(X))
        if hit is not None and hit[0] is X:
            return hit[1]
        inputs = with_ones_row(X, self.dtype)
        if len(self._columns) >= 4:
            self._columns.clear()
        self._columns[id(X)] = (X, inputs)
        return inputs

    # -------------------------------------------------------------- training

    def training_set(self, X, y, shuffler):
        """The training data in the engine's form (``model.engine.data.TrainingSet``).

        ``X`` (N, D) of the network's dtype; ``y`` as ``model.inputs.check_Xy`` returns it. Each epoch's
        order comes from ``shuffler``, a ``model.batches.Shuffler`` for the N samples, as on the layer path,
        so both paths see the same batches.
        """
        return TrainingSet(self, X, y, shuffler)

    def run_epoch(self, data):
        """One epoch of steps. Returns ``(steps, mean loss, accuracy)``, the last two averaged over the
        epoch's samples, each scored with the parameters its batch was computed with (the running mean)."""
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run ends in the guard, not a warning
            data.shuffle()
            if data.columns:
                return self._column_epoch(data)
            return self._row_epoch(data)

    def _row_epoch(self, data):
        """Small mini-batches: each batch one block of rows, one update."""
        grad, step = self._block(data.batch_size, False).grad, self._step
        weight_grads = self.folded.weight_grads
        for inputs, targets, logits, scale in data.batches:
            grad(inputs, targets, logits, weight_grads, scale)
            step()
        score = _RunningScore(self._metric(min(METRIC_ROWS, data.n), False), data.logits, data.shuffled_labels(),
                              columns=False)
        score.upto(data.n)
        return data.steps, *score.means()

    def _column_epoch(self, data):
        """Large batches and the full batch: columns, chunk by chunk, gradients accumulated, one update
        per batch; the logits scored in long blocks as they are made."""
        n, size = data.n, data.batch_size
        block = self._block(min(self.chunk_rows, size), True)
        score = _RunningScore(self._metric(min(METRIC_ROWS, n), True), data.logits, data.shuffled_labels(),
                              columns=True)
        for start in range(0, n, size):
            self._batch_gradient(block, data.epoch_inputs, data.epoch_targets, data.logits, start, min(start + size, n),
                                 score.upto)
            self._step()
        return data.steps, *score.means()

    def _batch_gradient(self, block, inputs, targets, logits, start, stop, after_chunk=None):
        """The gradient of the mean loss over samples ``[start, stop)`` (columns) into ``folded.grads``,
        chunk by chunk: the first chunk writes it, the others add theirs. ``after_chunk(chunk_stop)``
        is called after each chunk."""
        folded = self.folded
        scale = np.asarray(1.0 / (stop - start), self.dtype)
        for k, chunk_start in enumerate(range(start, stop, block.rows)):
            chunk = slice(chunk_start, min(chunk_start + block.rows, stop))
            block.grad(inputs[:, chunk], targets[..., chunk], logits[:, chunk],
                       folded.chunk_weight_grads if k else folded.weight_grads, scale)
            if k:
                np.add(folded.grads, folded.chunk_grads, out=folded.grads)
            if after_chunk is not None:
                after_chunk(chunk.stop)

    # -------------------------------------------------------------- checking and evaluation

    def gradients(self, X, y):
        """The gradient of one batch with the engine's current parameters, keyed like ``net.params``.

        ``X`` (N, D) of the network's dtype and ``y`` as ``model.inputs.check_Xy`` returns it. The
        gradient is that of the mean data loss plus the L2 penalty, what ``net.loss(X, y)`` then
        ``net.backward()`` leave in ``net.grads``: training compares the two before it trusts the
        engine. Copies; the engine's training state is not changed.
        """
        n = len(X)
        inputs = self.columns(X)
        kind = self.plan.head.kind
        targets = np.ascontiguousarray(y).reshape(1, n) if kind == "binary" else metric_labels(kind, y)
        logits = np.empty((self.plan.classes, n), self.dtype)
        block = self._block(min(self.chunk_rows, n), True)
        with np.errstate(over="ignore", invalid="ignore"):
            self._batch_gradient(block, inputs, targets, logits, 0, n)
            if self.decay is not None:
                self._add_decay()
        keys = {id(array): key for key, array in self.net.params.items()}
        grads = {}
        for stage, arrays in zip(self.plan.stages, self.folded.unfold(self.folded.weight_grads), strict=True):
            for name, grad in arrays.items():
                grads[keys[id(stage.linear.params[name])]] = grad
        return grads

    def evaluate(self, X, y):
        """``{"loss", "accuracy", "n"}`` of the engine's current parameters on ``(X, y)``, in chunks.

        ``X`` (N, D) of the network's dtype and ``y`` as ``model.inputs.check_Xy`` returns it. The loss
        is the data loss (no weight-decay penalty), as ``net.evaluate`` reports it.
        """
        n = len(X)
        inputs = self.columns(X)
        labels = metric_labels(self.plan.head.kind, y)
        rows, metric_rows = min(self.chunk_rows, n), min(METRIC_ROWS, n)
        block, metric = self._block(rows, True), self._metric(metric_rows, True)
        logits = block.logits_out(metric_rows)
        loss = correct = 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            for start in range(0, n, metric_rows):
                stop = min(start + metric_rows, n)
                for chunk_start in range(start, stop, rows):
                    chunk_stop = min(chunk_start + rows, stop)
                    block.forward(inputs[:, chunk_start:chunk_stop], logits[:, chunk_start - start:chunk_stop - start])
                block_loss, block_correct = metric(logits[:, :stop - start], labels[start:stop])
                loss += block_loss
                correct += block_correct
        return {"loss": loss / n, "accuracy": correct / n, "n": int(n)}


class _RunningScore:
    """The epoch's running loss and accuracy: the logits scored in blocks of ``METRIC_ROWS`` samples as
    the steps complete them (``upto(stop)``), summed, then averaged (``means()``)."""

    def __init__(self, metric, logits, labels, columns):
        self.metric, self.logits, self.labels, self.columns = metric, logits, labels, columns
        self.n = len(labels)
        self.scored, self.loss, self.correct = 0, 0.0, 0.0

    def upto(self, stop):
        """Score every complete block of logits before ``stop`` (and the rest when ``stop`` is the end)."""
        while stop - self.scored >= METRIC_ROWS or (stop == self.n and self.scored < self.n):
            end = min(self.scored + METRIC_ROWS, stop)
            block = slice(self.scored, end)
            loss, correct = self.metric(self.logits[:, block] if self.columns else self.logits[block],
                                        self.labels[block])
            self.loss, self.correct, self.scored = self.loss + loss, self.correct + correct, end

    def means(self):
        return self.loss / self.n, self.correct / self.n
