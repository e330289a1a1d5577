"""``Engine``: one network and one optimizer compiled into flat parameters, buffers and kernels."""

import numpy as np

from layers.validation import check_count

from .blocks import COLUMN_ROWS, Block
from .data import STAGE_ROWS, ColumnStage, Schedule, TrainingSet, kernel_targets
from .metrics import BinaryMetrics, SoftmaxMetrics
from .plan import FoldedParameters, compile_network, unsupported_reason

#: Bytes of one (width, rows) work buffer the default chunk size aims at: a few of them stay in L2.
CHUNK_BYTES = 1 << 18


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
    batch, evaluation — is *columns* (features, R): the data transposed a stage at a time, with its
    row of ones, and every work buffer a contiguous (width, R) array, so the broadcasts run along the
    long axis. Batches larger than ``chunk_rows`` are processed chunk by chunk, the gradients
    accumulated before the one update. No pass copies a whole data set (``model.engine.data``): what
    one holds beyond the data is O(stage × features + chunk × width) and the epoch's order. The data every
    method takes is ``X`` (N, D) of the network's dtype and ``y`` as ``model.inputs.check_Xy`` returns it.

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
        reason = unsupported_reason(net, optimizer)
        if reason is not None:
            raise ValueError(reason)
        self.plan = compile_network(net)
        self.net, self.dtype = net, self.plan.dtype
        self.folded = FoldedParameters(self.plan)
        if chunk_rows is None:
            chunk_rows = int(np.clip(CHUNK_BYTES // (max(self.folded.widths) * self.dtype.itemsize), 256, 16384))
        self.chunk_rows = check_count(chunk_rows, "chunk_rows", "Engine")
        self.pull()
        weight_decay = float(getattr(net, "weight_decay", 0.0) or 0.0)
        self.decay = (weight_decay * self.folded.weight_mask).astype(self.dtype) if weight_decay else None
        self._decay_term = np.empty_like(self.folded.values)
        self.optimizer = optimizer.like({"all": self.folded.values}, {"all": self.folded.grads})
        self._step = self.optimizer.step if self.decay is None else self._step_with_decay
        self._clip = None if self.plan.head.requires is None else -np.log(np.finfo(self.dtype).eps)
        self._blocks, self._metrics, self._stage = {}, {}, None

    def pull(self):
        """Read the network's parameters (after they were set from outside, e.g. restored)."""
        self.folded.pull()

    def push(self):
        """Write the engine's parameters into the network's own arrays, in place."""
        self.folded.push()

    def take_state(self, keyed):
        """Continue from ``keyed``, an optimizer of the engine's type over the network's own parameters (a run
        continued across calls): its rate, counters and state, each array folded into the flat layout (0 on
        the entries that are no parameter)."""
        names = self._names()

        def fold(flat, arrays):
            flat["all"][...] = 0
            for array, view in self.folded.views(flat["all"]):
                view[...] = arrays[names[id(array)]]
        self.optimizer.take_state(keyed, fold)

    def give_state(self, keyed):
        """Write the engine optimizer's rate, counters and state into ``keyed`` (``take_state``'s inverse)."""
        names = self._names()

        def unfold(arrays, flat):
            for array, view in self.folded.views(flat["all"]):
                arrays[names[id(array)]][...] = view
        keyed.take_state(self.optimizer, unfold)

    def _names(self):
        """The network's parameter names by the identity of their arrays."""
        return {id(array): key for key, array in self.net.params.items()}

    def _add_decay(self):
        """``grads += λ θ`` on every weight: the gradient of the L2 penalty ``(λ/2) Σ ‖W‖²``."""
        np.multiply(self.decay, self.folded.values, out=self._decay_term)
        np.add(self.folded.grads, self._decay_term, out=self.folded.grads)

    def penalty(self):
        """The L2 penalty ``(λ/2) Σ ‖W‖²`` of the engine's current parameters (0.0 without weight decay), what
        ``net.penalty()`` gives once they are pushed."""
        if self.decay is None:
            return 0.0
        values = self.folded.values
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run's: inf, the guard reports it
            return 0.5 * float(np.dot(self.decay * values, values))

    def _step_with_decay(self):
        """The optimizer's update from ``folded.grads``, the L2 term added first."""
        self._add_decay()
        self.optimizer.step()

    def _block(self, rows, columns):
        if (rows, columns) not in self._blocks:
            self._blocks[rows, columns] = Block(self.plan, self.folded, rows, columns)
        return self._blocks[rows, columns]

    def _metric(self, rows, columns):
        if (rows, columns) not in self._metrics:
            if self.plan.head.kind == "binary":
                metric = BinaryMetrics(rows, self.dtype, self._clip)
            else:
                metric = SoftmaxMetrics(rows, self.plan.classes, self.dtype, self._clip, axis=0 if columns else 1)
            self._metrics[rows, columns] = metric
        return self._metrics[rows, columns]

    def column_schedule(self, n, batch_size):
        """The ``Schedule`` of a pass in columns over ``n`` samples in batches of ``batch_size``."""
        return Schedule(n, batch_size, min(self.chunk_rows, batch_size), STAGE_ROWS, self.dtype)

    def _column_stage(self, schedule):
        """The engine's one ``ColumnStage``, shared by every pass in columns (made larger when needed)."""
        stage = self._stage
        if stage is None or stage.capacity < schedule.capacity or stage.chunk_rows < schedule.chunk_rows:
            plan = self.plan
            capacity = max(schedule.capacity, stage.capacity if stage else 0)
            chunk_rows = max(schedule.chunk_rows, stage.chunk_rows if stage else 0)
            stage = self._stage = ColumnStage(capacity, chunk_rows, plan.input_dim, plan.classes, self.dtype,
                                              plan.head.kind)
        return stage

    def training_set(self, X, y, shuffler):
        """The training data in the engine's form (``model.engine.data.TrainingSet``), each epoch's order from
        ``shuffler`` (a ``model.batches.Shuffler``, as on the layer path: both paths see the same batches)."""
        columns = shuffler.full_batch or shuffler.batch_size >= COLUMN_ROWS
        return TrainingSet(self, X, y, shuffler, columns)

    def run_epoch(self, data, after_step=None):
        """One epoch of steps, each followed by ``after_step()`` when given (a within-epoch hook). Returns ``(steps,
        mean loss, accuracy)``, the last two averaged over the epoch's samples, each scored with the parameters its
        batch was computed with (the running mean)."""
        step = self._step
        if after_step is not None:
            def step():
                self._step()
                after_step()
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run ends in the guard, not a warning
            data.shuffle()
            if data.columns:
                loss, correct = self._column_pass(data.X, data.targets, data.schedule, data.samples, step)
            else:
                loss, correct = self._row_epoch(data, step)
        return data.steps, loss / data.n, correct / data.n

    def _row_epoch(self, data, step):
        """Small mini-batches, a stage at a time: each batch one block of rows, one update (``step``). Returns the
        summed loss and count of correct predictions."""
        grad = self._block(data.batch_size, False).grad
        weight_grads, stage = self.folded.weight_grads, data.stage
        metric = self._metric(stage.capacity, False)
        loss = correct = 0.0
        for start, stop in data.schedule.stages:
            targets, labels = stage.load(data.X, data.targets, data.samples(start, stop))
            for inputs, batch_targets, logits, scale in data.batches(start, stop, targets):
                grad(inputs, batch_targets, logits, weight_grads, scale)
                step()
            stage_loss, stage_correct = metric(stage.logits[:stop - start], labels)
            loss, correct = loss + stage_loss, correct + stage_correct
        return loss, correct

    def _column_pass(self, X, targets, schedule, samples, step=None, score=True, backward=True):
        """A pass in columns, a stage at a time, each batch chunk by chunk: a batch's first chunk writes
        its gradient into ``folded.grads``, the others add theirs, and ``step()`` (if given) follows its
        last; without ``backward``, only the logits. ``samples(start, stop)`` names the samples at those
        places of the pass's order (see ``TrainingSet.samples``). Returns the summed loss and count of
        correct predictions of the logits (None when not ``score``)."""
        folded = self.folded
        block = self._block(schedule.chunk_rows, True)
        stage = self._column_stage(schedule)
        metric = self._metric(schedule.capacity, True) if score else None
        loss = correct = 0.0
        for start, stop in schedule.stages:
            stage_targets, labels = stage.load_targets(targets, samples(start, stop))
            logits = stage.logits[:, :stop - start]
            for lo, hi, opens, closes, scale in schedule.chunks(start, stop):
                inputs = stage.load_inputs(X, samples(start + lo, start + hi))
                if not backward:
                    block.forward(inputs, logits[:, lo:hi])
                    continue
                block.grad(inputs, stage_targets[..., lo:hi], logits[:, lo:hi],
                           folded.weight_grads if opens else folded.chunk_weight_grads, scale)
                if not opens:
                    np.add(folded.grads, folded.chunk_grads, out=folded.grads)
                if closes and step is not None:
                    step()
            if metric is not None:
                stage_loss, stage_correct = metric(logits, labels)
                loss, correct = loss + stage_loss, correct + stage_correct
        return (loss, correct) if score else None

    def gradients(self, X, y):
        """The gradient of one batch with the engine's current parameters, keyed like ``net.params`` (copies; the
        training state is not changed): that of the mean data loss plus the L2 penalty, what ``net.loss(X, y)``
        then ``net.backward()`` leave in ``net.grads``, which training compares it with before it trusts the engine.
        """
        n = len(X)
        with np.errstate(over="ignore", invalid="ignore"):
            targets = kernel_targets(self.plan.head.kind, y)
            self._column_pass(X, targets, self.column_schedule(n, n), slice, score=False)  # the samples as they lie
            if self.decay is not None:
                self._add_decay()
        keys = self._names()
        return {keys[id(array)]: grad for array, grad in self.folded.unfold(self.folded.weight_grads)}

    def evaluate(self, X, y):
        """``{"loss", "accuracy", "n"}`` of the engine's current parameters on ``(X, y)``, a stage at a time; the
        loss is the data loss (no weight-decay penalty), as ``net.evaluate`` reports it."""
        n = len(X)
        with np.errstate(over="ignore", invalid="ignore"):
            targets = kernel_targets(self.plan.head.kind, y)
            loss, correct = self._column_pass(X, targets, self.column_schedule(n, n), slice, backward=False)
        return {"loss": loss / n, "accuracy": correct / n, "n": int(n)}
