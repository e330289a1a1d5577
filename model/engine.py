"""A training engine beside the layers: the same networks, trained by a few fixed NumPy calls per step.

The layer objects (``Sequential.loss`` / ``backward``) are the readable reference that the gradient
checker verifies. For the networks most runs train — a chain of ``Linear`` layers with ReLU,
LeakyReLU, Tanh or Sigmoid between them, ending in Sigmoid + ``BCELoss``, ``SigmoidBCELoss``,
``SoftmaxCrossEntropyLoss`` or Softmax + ``CrossEntropyLoss``, with or without weight decay, under
SGD, (Nesterov) momentum or Adam — ``model.training.train`` uses this engine instead: it computes the
same gradients (the tests show the parameters after three epochs equal the layer path's to 1e-12)
with ~13 NumPy calls per step on preallocated buffers (see ``model._engine_kernels`` for the tricks),
processes large batches and the full batch in chunks of samples, gradients accumulated, one update
(memory O(chunk × width), not O(N × width)), and keeps the network's dtype throughout.

Anything else (Dropout, BatchNorm, MSE, user layers, L-BFGS) stays on the layer path;
``unsupported_reason(net, optimizer)`` says why.

Where the two paths differ, on purpose: the engine always uses the fused output gradient
``(p − y) / n``; the handout's chained Sigmoid → BCELoss (and Softmax → CrossEntropyLoss) equals it to
rounding except where the probability saturates to exactly 0 or 1, where the chained product
collapses to 0 and the engine's does not.
"""

import numpy as np

from layers import (BCELoss, CrossEntropyLoss, LeakyReLU, Linear, ReLU, Sigmoid, SigmoidBCELoss, Softmax,
                    SoftmaxCrossEntropyLoss, Tanh)

from . import _engine_kernels as K
from .optim import SGD, Adam

_ACTIVATIONS = {ReLU: "relu", LeakyReLU: "leaky_relu", Tanh: "tanh", Sigmoid: "sigmoid"}
#: criterion type -> (head kind, the layer that must end the chain or None, loss capped at -log eps)
_HEADS = {SigmoidBCELoss: ("binary", None, False), BCELoss: ("binary", Sigmoid, True),
          SoftmaxCrossEntropyLoss: ("softmax", None, False), CrossEntropyLoss: ("softmax", Softmax, True)}

#: Bytes of one (width, rows) work buffer the default chunk size aims at: a few of them stay in L2.
CHUNK_BYTES = 1 << 18
#: Samples whose logits are scored at once: the metrics touch (K, R) arrays only, so blocks can be long
#: (fewer calls; a few (R,) buffers still fit the L2 cache).
METRIC_ROWS = 65536
#: Mini-batches of at least this many samples run in the column layout (see ``Engine``).
COLUMN_ROWS = 512


def unsupported_reason(net, optimizer=None):
    """Why the engine cannot train ``net`` (with ``optimizer``, a ``model.optim`` object), or None.

    ``net`` is the network the training loop trains (leading preprocessing layers already split off).
    """
    try:
        _describe(net)
    except _Unsupported as exc:
        return str(exc)
    if optimizer is not None:
        try:
            _optimizer_kind(optimizer)
        except _Unsupported as exc:
            return str(exc)
    return None


class _Unsupported(Exception):
    pass


def _describe(net):
    """``(layers, head, capped, dtype)``, ``layers`` a list of ``(Linear, activation name or None, alpha)``."""
    dtype = np.dtype(getattr(net, "dtype", np.float64))
    if dtype not in (np.float32, np.float64):
        raise _Unsupported(f"the engine runs float32 and float64, not {dtype}")
    criterion = getattr(net, "criterion", None)
    if type(criterion) not in _HEADS:
        raise _Unsupported(f"the loss {type(criterion).__name__} is not one the engine runs")
    head, last, capped = _HEADS[type(criterion)]
    seq = list(getattr(net, "layers", []))
    if last is not None:
        if not seq or type(seq[-1]) is not last:
            raise _Unsupported(f"{type(criterion).__name__} must follow a {last.__name__} layer")
        seq = seq[:-1]
    layers, i = [], 0
    while i < len(seq):
        lin = seq[i]
        if getattr(lin, "preprocessing", False):
            raise _Unsupported(f"layer {i} ({type(lin).__name__}) is preprocessing: train the network "
                               "split_preprocessing() leaves (model.training.train does)")
        if type(lin) is not Linear:
            raise _Unsupported(f"layer {i} ({type(lin).__name__}) is not one the engine runs")
        act = alpha = None
        if i + 1 < len(seq):
            act = _ACTIVATIONS.get(type(seq[i + 1]))
            if act is None:
                raise _Unsupported(f"layer {i + 1} ({type(seq[i + 1]).__name__}) is not one the engine runs")
            alpha = getattr(seq[i + 1], "alpha", None)
            i += 1
        layers.append((lin, act, alpha))
        i += 1
    if not layers or layers[-1][1] is not None:
        raise _Unsupported("the network must end in a Linear layer (and its output's Sigmoid or Softmax)")
    width = layers[-1][0].out_features
    if (head == "binary") != (width == 1):
        raise _Unsupported(f"{type(criterion).__name__} with {width} outputs is not one the engine runs")
    if any(p.dtype != dtype for lin, _, _ in layers for p in lin.params.values()):
        raise _Unsupported("every parameter must have the network's dtype")
    return layers, head, capped, dtype


def _optimizer_kind(opt):
    if type(opt) is SGD:
        return ("nesterov" if opt.nesterov else "momentum") if opt.momentum else "sgd"
    if type(opt) is Adam:
        return "adam"
    raise _Unsupported(f"the optimizer {type(opt).__name__} is not one the engine runs")


class Engine:
    """The compiled form of one network and one optimizer: flat parameters, buffers, kernels.

    Parameters
    ----------
    net : the network to train (``Sequential`` without its preprocessing layers, see
        ``Sequential.split_preprocessing``); its parameters are read now and written back by ``push``.
    optimizer : a ``model.optim`` ``SGD`` or ``Adam`` (its hyper-parameters are used; its state is not:
        the engine keeps its own, starting from zero as a fresh optimizer does).
    chunk_rows : int or None; the most samples one block of work holds (None: sized for the L2 cache).

    Two layouts. Mini-batches under ``COLUMN_ROWS`` samples are rows (B, features), as the layers
    hold them: at that size the count of calls is the cost. Everything larger — big batches, the
    full batch, evaluation — is *columns* (features, R): the data transposed once per data set, with
    its row of ones, and every block a contiguous (width, R) array, so the broadcasts (the output
    gradient times w2, x times e) run along the long axis and no chunk is copied (in the row layout
    a (R, 3) column copy or a (R, 1) × (1, H) broadcast costs 4–9 ns per sample; in columns the
    full-batch step at H = 3 costs ~3× less).

    Attributes
    ----------
    P, G : (n_params,) the parameters in the engine's layout (each Linear as ``[[W], [b]]`` plus the
        constant unit's column) and their gradient.

    Raises
    ------
    ValueError
        When the engine does not run this network or optimizer (see ``unsupported_reason``).
    """

    def __init__(self, net, optimizer, chunk_rows=None):
        try:
            layers, self.head, capped, self.dtype = _describe(net)
            kind = _optimizer_kind(optimizer)
        except _Unsupported as exc:
            raise ValueError(str(exc)) from None
        self.net, self.kind = net, kind
        self.classes = layers[-1][0].out_features
        self.input_dim = layers[0][0].in_features
        self._layout(layers)
        widest = max(w for _, w in self.shapes)
        if chunk_rows is None:
            chunk_rows = int(np.clip(CHUNK_BYTES // (widest * self.dtype.itemsize), 256, 16384))
        self.chunk_rows = int(chunk_rows)
        self.pull()
        decay = None
        if getattr(net, "weight_decay", 0.0):
            decay = self.decay_mask * float(net.weight_decay)
        hyper = {"momentum": getattr(optimizer, "momentum", 0.0)}
        if kind == "adam":
            hyper = {"betas": (optimizer.beta1, optimizer.beta2), "eps": optimizer.eps}
        self.update, self.fold = K.make_update(kind, self.P, self.G, optimizer.lr, self.dtype, decay=decay, **hyper)
        eps = np.finfo(self.dtype).eps
        clip = -np.log(eps) if capped else None
        self._clip = clip
        self._blocks, self._metrics, self._columns = {}, {}, {}

    # -------------------------------------------------------------- parameters

    def _layout(self, layers):
        """One flat vector: per Linear a row-major (n_in + 1, n_out [+ 1]) block ``[[W, 0], [b, g]]``."""
        self.linears = [lin for lin, _, _ in layers]
        self.acts = [act for _, act, _ in layers[:-1]]
        self.alphas = [alpha for _, _, alpha in layers[:-1]]
        self.shapes = []
        for lin, act, _ in layers:
            extra = 0 if act is None else 1  # a hidden layer's constant unit
            self.shapes.append((lin.in_features + 1, lin.out_features + extra))
        sizes = [r * c for r, c in self.shapes]
        total = sum(sizes)
        self.P = np.zeros(total, self.dtype)
        self.G = np.zeros(total, self.dtype)
        self.Gc = np.zeros(total, self.dtype)  # one chunk's gradient, added to G
        self.decay_mask = np.zeros(total)
        self.W, self.gW, self.gWc, self.masks = [], [], [], []
        start = 0
        for (lin, act, _), (r, c), size in zip(layers, self.shapes, sizes):
            sl = slice(start, start + size)
            self.W.append(self.P[sl].reshape(r, c))
            self.gW.append(self.G[sl].reshape(r, c))
            self.gWc.append(self.Gc[sl].reshape(r, c))
            keep = np.ones((r, c), self.dtype)
            if "b" not in lin.params:
                keep[-1, :] = 0
            if act is not None:
                keep[:, -1] = 0
            self.masks.append(None if keep.all() else keep)
            self.decay_mask[sl].reshape(r, c)[:-1, :lin.out_features] = 1.0
            start += size

    def pull(self):
        """Read the network's parameters into ``P`` (after they were set from outside, e.g. restored)."""
        for lin, W, act in zip(self.linears, self.W, self.acts + [None]):
            n_in, n_out = lin.in_features, lin.out_features
            W[...] = 0
            W[:n_in, :n_out] = lin.params["W"]
            if "b" in lin.params:
                W[n_in, :n_out] = lin.params["b"]
            if act is not None:
                W[n_in, n_out] = K.CONSTANT_INPUT[act]

    def push(self):
        """Write ``P`` back into the network's parameters (in place: they stay views of ``theta``)."""
        for lin, W in zip(self.linears, self.W):
            n_in, n_out = lin.in_features, lin.out_features
            lin.params["W"][...] = W[:n_in, :n_out]
            if "b" in lin.params:
                lin.params["b"][...] = W[n_in, :n_out]

    # -------------------------------------------------------------- blocks of work

    def _block(self, rows, columns):
        key = (rows, columns)
        block = self._blocks.get(key)
        if block is None:
            block = self._blocks[key] = _Block(self, rows, columns)
        return block

    def _metric(self, rows, columns):
        key = (rows, columns)
        m = self._metrics.get(key)
        if m is None:
            if self.head == "binary":
                m = K.BinaryMetrics(rows, self.dtype, self._clip)
            else:
                m = K.SoftmaxMetrics(rows, self.classes, self.dtype, self._clip, axis=0 if columns else 1)
            self._metrics[key] = m
        return m

    def columns(self, X):
        """``[Xᵀ; 1]`` (D + 1, N) in the network's dtype, made once per data set (kept for ``X``)."""
        hit = self._columns.get(id(X))
        if hit is not None and hit[0] is X:
            return hit[1]
        X1T = np.empty((X.shape[1] + 1, len(X)), self.dtype)
        X1T[:-1] = X.T
        X1T[-1] = 1
        if len(self._columns) >= 4:
            self._columns.clear()
        self._columns[id(X)] = (X, X1T)
        return X1T

    # -------------------------------------------------------------- data

    def training_set(self, X, y, batch_size, seed=None):
        """The training data in the engine's form, with the buffers one epoch's shuffle writes into.

        ``X`` (N, D) of the network's dtype; ``y`` as ``Sequential.check_Xy`` returns it. The shuffle
        draws ``rng.permutation(N)`` once per epoch from ``np.random.default_rng(seed)``, as
        ``model.training.EpochData`` does (none at full batch), so both paths see the same batches.
        """
        return _TrainingSet(self, X, y, batch_size, seed)

    # -------------------------------------------------------------- training

    def run_epoch(self, data):
        """One epoch of steps. Returns ``(steps, mean loss, accuracy)``, the last two averaged over the
        epoch's samples, each scored with the parameters its batch was computed with (the running mean)."""
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run ends in the guard, not a warning
            if data.columns:
                return self._column_epoch(data)
            return self._row_epoch(data)

    def _row_epoch(self, data):
        """Small mini-batches: each batch one block of rows, one update."""
        X1, T, OUT = data.shuffled()
        n, b, dtype, fold = data.n, data.batch_size, self.dtype, self.fold
        update, gW = self.update, self.gW
        grad = self._block(b, False).grad
        c = np.asarray(fold / b, dtype)
        whole = n - n % b
        for i in range(0, whole, b):
            grad(X1[i:i + b], T[i:i + b], OUT[i:i + b], gW, c)
            update()
        if whole < n:
            grad(X1[whole:], T[whole:], OUT[whole:], gW, np.asarray(fold / (n - whole), dtype))
            update()
        metric, labels, loss, correct = self._metric(min(METRIC_ROWS, n), False), data.labels_shuffled(), 0.0, 0.0
        for i in range(0, n, METRIC_ROWS):
            dl, dc = metric(OUT[i:i + METRIC_ROWS], labels[i:i + METRIC_ROWS])
            loss += dl
            correct += dc
        return -(-n // b), loss / n, correct / n

    def _column_epoch(self, data):
        """Large batches and the full batch: columns, chunk by chunk, gradients accumulated, one update
        per batch; the logits scored in long blocks as they are made."""
        X1T, T, OUT = data.shuffled()
        n, b, dtype, fold = data.n, data.batch_size, self.dtype, self.fold
        rows = min(self.chunk_rows, b)
        block = self._block(rows, True)
        metric = self._metric(min(METRIC_ROWS, n), True)
        labels = data.labels_shuffled()
        G, Gc, gW, gWc = self.G, self.Gc, self.gW, self.gWc
        loss = correct = 0.0
        scored = 0
        for i in range(0, n, b):
            j = min(i + b, n)
            c = np.asarray(fold / (j - i), dtype)
            for k, a in enumerate(range(i, j, rows)):  # the first chunk writes G, the others add to it
                e = min(a + rows, j)
                block.grad(X1T[:, a:e], T[..., a:e], OUT[:, a:e], gW if k == 0 else gWc, c)
                if k:
                    np.add(G, Gc, out=G)
                while e - scored >= METRIC_ROWS or (e == n and scored < n):
                    f = min(scored + METRIC_ROWS, e)
                    dl, dc = metric(OUT[:, scored:f], labels[scored:f])
                    loss, correct, scored = loss + dl, correct + dc, f
            self.update()
        return -(-n // b), loss / n, correct / n

    # -------------------------------------------------------------- evaluation

    def evaluate(self, X, y):
        """``{"loss", "accuracy", "n"}`` of the engine's current parameters on ``(X, y)``, in chunks.

        ``X`` (N, D) of the network's dtype and ``y`` as ``Sequential.check_Xy`` returns it. The loss is
        the data loss (no weight-decay penalty), as ``Sequential.evaluate`` reports it.
        """
        n = len(X)
        X1T = self.columns(X)
        labels = _metric_labels(self.head, y)
        rows, mrows = min(self.chunk_rows, n), min(METRIC_ROWS, n)
        block, metric = self._block(rows, True), self._metric(mrows, True)
        Z = block.out(mrows)
        loss = correct = 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            for i in range(0, n, mrows):
                j = min(i + mrows, n)
                for a in range(i, j, rows):
                    e = min(a + rows, j)
                    block.forward(X1T[:, a:e], Z[:, a - i:e - i])
                dl, dc = metric(Z[:, :j - i], labels[i:j])
                loss += dl
                correct += dc
        return {"loss": loss / n, "accuracy": correct / n, "n": int(n)}


def _metric_labels(head, y):
    return y if head == "binary" else np.asarray(y, np.intp)


class _Block:
    """Work buffers and compiled kernels for blocks of up to ``rows`` samples, in rows (R, width) or
    columns (width, R). Buffers are flat; a block of r samples uses a C-contiguous view of the first
    r × width entries, so any r up to ``rows`` needs no other buffer."""

    def __init__(self, eng, rows, columns):
        dt = eng.dtype
        self.rows, self.columns, self.K = rows, columns, eng.classes
        self.widths = [c for _, c in eng.shapes[:-1]]
        self.A = [np.empty(rows * w, dt) for w in self.widths]
        self.M = [np.empty(rows * w, dt) for w in self.widths]
        self.D = [np.empty(rows * w, dt) for w in self.widths]
        self.E = np.empty(rows * eng.classes, dt)
        self.Z = np.empty(rows * eng.classes, dt)
        self.XE = np.empty(rows * (eng.input_dim + 1), dt)
        self.onehot = np.empty(rows * eng.classes, dt) if eng.head == "softmax" else None
        self.ar = np.arange(rows)
        self._out = None
        large = columns or rows >= COLUMN_ROWS
        # a mask by comparison costs more to set up than sign() but less per element: by block size
        acts = [K.activation(a, alpha, dt, rows * w >= 4096) for a, alpha, w in zip(eng.acts, eng.alphas, self.widths)]
        fwd = [K.activation_forward(a, alpha, dt) for a, alpha in zip(eng.acts, eng.alphas)]
        if eng.head == "binary":
            head = K.binary_output_grad(rows, dt, large)
        else:
            head = K.softmax_output_grad(rows, eng.classes, dt, axis=0 if columns else 1)
        two_layer_binary = len(eng.W) == 2 and eng.classes == 1
        if columns:
            self.grad = self._two_layer_cols(eng, acts[0], head) if two_layer_binary else self._general(eng, acts, head)
        else:
            self.grad = self._two_layer_rows(eng, acts[0], head) if two_layer_binary else self._general(eng, acts, head)
        self.forward = self._inference(eng, fwd)

    def view(self, buf, width, r):
        """The first ``r`` samples of a flat buffer as a C-contiguous (r, width) or (width, r) array."""
        return buf[:r * width].reshape((width, r) if self.columns else (r, width))

    def _views(self, specs):
        """``views(r)``: the (buffer, width) pairs as arrays of r samples, made once per r."""
        cache = {}

        def views(r):
            hit = cache.get(r)
            if hit is None:
                hit = cache[r] = tuple(self.view(buf, w, r) for buf, w in specs)
            return hit

        return views

    def out(self, rows):
        """A (K, rows) buffer for logits (columns), made once."""
        if self._out is None or self._out.shape[1] < rows:
            self._out = np.empty((self.K, rows), self.E.dtype)
        return self._out

    def _two_layer_rows(self, eng, act, head):
        """One hidden layer, one logit, a small batch in rows: the handout's family.

        Step 5's gradient is ``xᵀ ((e w2ᵀ) ⊙ M)`` at small H (fewest calls) and, when H is wide,
        ``((x ⊙ e)ᵀ M) ⊙ w2ᵀ``, which never materialises dℓ/dh: two fewer (B, H) passes."""
        dot, multiply = np.dot, np.multiply
        W1, W2 = eng.W
        w2row = W2.reshape(1, -1)
        mask1, mask2 = eng.masks
        h1, d1 = W1.shape[1], W1.shape[0]
        wide = h1 >= 16
        views = self._views(((self.A[0], h1), (self.M[0], h1), (self.D[0], h1), (self.E, 1)))
        first = np.matmul if self.rows * h1 >= 4096 else dot  # matmul wins for (256, 3) @ (3, 65), dot for small
        transposed = {}  # (x ⊙ e)ᵀ and eᵀ per block size, for the wide form

        def grad(x1, t, z, gW, c):
            r = len(x1)
            a, m, d, e = views(r)
            g1, g2 = gW
            first(x1, W1, out=a)  # step 5 forward: [x 1] @ [[W1], [b1]] (bias folded in)
            act(a, m)  # step 4 forward: h = act(a), and its local gradient m
            dot(a, W2, out=z)  # step 3 forward: z = [h 1] @ [[w2], [b]]
            head(z, t, e, c)  # steps 1+2: e = c (σ(z) − y)
            dot(a.T, e, out=g2)  # step 3: dℓ/d[w2; b] = [h 1]ᵀ e
            if mask2 is not None:
                multiply(g2, mask2, out=g2)
            if wide:
                xeT, eT = transposed.get(r) or transposed.setdefault(r, (self.XE[:d1 * r].reshape(d1, r), e.reshape(1, r)))
                multiply(x1.T, eT, out=xeT)  # (x ⊙ e)ᵀ, written transposed: half the time
                dot(xeT, m, out=g1)  # steps 3-5 regrouped: Σ_n x_n e_n m_n, then ⊙ w2
                multiply(g1, w2row, out=g1)
            else:
                dot(e, w2row, out=d)  # step 3: dℓ/dh = e w2ᵀ
                multiply(d, m, out=d)  # step 4: upstream × local
                dot(x1.T, d, out=g1)  # step 5: dℓ/dW1 = xᵀ dℓ/da
            multiply(g1, mask1, out=g1)  # the constant unit (and a missing b1) never move

        return grad

    def _two_layer_cols(self, eng, act, head):
        """The same in columns: x (D + 1, R), a (H + 1, R), z and e (1, R)."""
        dot, multiply = np.dot, np.multiply
        W1, W2 = eng.W
        W1T, W2T, w2row = W1.T, W2.T, W2.reshape(1, -1)
        mask1, mask2 = eng.masks
        h1, d1 = W1.shape[1], W1.shape[0]
        wide = h1 >= 16
        views = self._views(((self.A[0], h1), (self.M[0], h1), (self.D[0], h1), (self.E, 1), (self.XE, d1)))
        matmul = np.matmul  # beats dot on (65, 3) @ (3, R): OpenBLAS is slow on a 3-long inner axis

        def grad(x1, t, z, gW, c):
            a, m, d, e, xe = views(x1.shape[1])
            g1, g2 = gW
            matmul(W1T, x1, out=a)  # step 5 forward, transposed: aᵀ = [[W1], [b1]]ᵀ [x 1]ᵀ
            act(a, m)  # step 4 forward
            dot(W2T, a, out=z)  # step 3 forward
            head(z, t, e, c)  # steps 1+2
            dot(a, e.T, out=g2)  # step 3: dℓ/d[w2; b] = [h 1]ᵀ e
            if mask2 is not None:
                multiply(g2, mask2, out=g2)
            if wide:
                multiply(x1, e, out=xe)
                dot(xe, m.T, out=g1)  # steps 3-5 regrouped, then ⊙ w2
                multiply(g1, w2row, out=g1)
            else:
                multiply(W2, e, out=d)  # step 3: dℓ/dh = w2 e (an outer product, broadcast along R)
                multiply(d, m, out=d)  # step 4: upstream × local
                dot(x1, d.T, out=g1)  # step 5: dℓ/dW1 = xᵀ dℓ/da
            multiply(g1, mask1, out=g1)  # the constant unit (and a missing b1) never move

        return grad

    def _general(self, eng, acts, head):
        """Any depth, any head, either layout."""
        dot, multiply = np.dot, np.multiply
        W, masks, L, K_ = eng.W, eng.masks, len(eng.W), eng.classes
        WT = [w.T for w in W]
        cols, view, widths = self.columns, self.view, self.widths
        A, M, D, E, onehot, ar = self.A, self.M, self.D, self.E, self.onehot, self.ar

        def grad(x1, lab, z, gW, c):
            r = x1.shape[1] if cols else len(x1)
            h = x1
            for l in range(L - 1):
                a = view(A[l], widths[l], r)
                dot(WT[l], h, out=a) if cols else dot(h, W[l], out=a)
                acts[l](a, view(M[l], widths[l], r))
                h = a
            zz = z if z.flags.c_contiguous else view(self.Z, K_, r)
            dot(WT[-1], h, out=zz) if cols else dot(h, W[-1], out=zz)
            if zz is not z:
                z[...] = zz
            e = view(E, K_, r)
            if onehot is not None and lab.ndim == 1:  # class indices: make the one-hot block
                y1 = view(onehot, K_, r)
                y1.fill(0)
                if cols:
                    y1[lab, ar[:r]] = 1
                else:
                    y1[ar[:r], lab] = 1
                lab = y1
            head(zz, lab, e, c)
            for l in range(L - 1, -1, -1):
                h = x1 if l == 0 else view(A[l - 1], widths[l - 1], r)
                dot(h, e.T, out=gW[l]) if cols else dot(h.T, e, out=gW[l])  # dℓ/d[W; b] = [h 1]ᵀ upstream
                if masks[l] is not None:
                    multiply(gW[l], masks[l], out=gW[l])
                if l:
                    d = view(D[l - 1], widths[l - 1], r)
                    dot(W[l], e, out=d) if cols else dot(e, WT[l], out=d)  # upstream to the layer below
                    multiply(d, view(M[l - 1], widths[l - 1], r), out=d)  # × the local gradient
                    e = d

        return grad

    def _inference(self, eng, fwd):
        """``forward(x1, z)``: the logits of a block (columns), no local gradients."""
        dot, W, A, K_ = np.dot, eng.W, self.A, eng.classes
        WT = [w.T for w in W]
        view, widths = self.view, self.widths

        def forward(x1, z):
            r = x1.shape[1]
            h = x1
            for l in range(len(W) - 1):
                a = view(A[l], widths[l], r)
                dot(WT[l], h, out=a)
                fwd[l](a)
                h = a
            if z.flags.c_contiguous:
                dot(WT[-1], h, out=z)
            else:
                zz = view(self.Z, K_, r)
                dot(WT[-1], h, out=zz)
                z[...] = zz

        return forward


class _TrainingSet:
    """Training data in the engine's form, with the buffers one epoch's shuffle writes into.

    Rows (mini-batches under ``COLUMN_ROWS``): ``[X 1]`` (N, D + 1) and the labels (a 0/1 column, or
    one-hot rows) copied once per epoch in a new order into two buffers, batches being views, and an
    (N, K) buffer receiving each batch's logits for the epoch's running metrics. Columns: ``[Xᵀ; 1]``
    (D + 1, N) and labels (1, N) or (N,) class indices, shuffled likewise for mini-batches and never
    copied at full batch; logits in a (K, N) buffer.
    """

    def __init__(self, eng, X, y, batch_size, seed=None):
        self.eng = eng
        self.n = len(X)
        self.batch_size = min(int(batch_size), self.n)
        self.full_batch = self.batch_size >= self.n
        self.columns = self.full_batch or self.batch_size >= COLUMN_ROWS
        self.rng = np.random.default_rng(seed)
        self.labels = _metric_labels(eng.head, y)
        dt, n = eng.dtype, self.n
        if self.columns:
            self.X1 = eng.columns(X)
            self.T = np.ascontiguousarray(y).reshape(1, n) if eng.head == "binary" else self.labels
            self.OUT = np.empty((eng.classes, n), dt)
        else:
            self.X1 = np.empty((n, X.shape[1] + 1), dt)
            self.X1[:, :-1] = X
            self.X1[:, -1] = 1
            if eng.head == "binary":
                self.T = y
            else:
                self.T = np.zeros((n, eng.classes), dt)
                self.T[np.arange(n), self.labels] = 1
            self.OUT = np.empty((n, eng.classes), dt)
        if not self.full_batch:
            self.X1s, self.Ts = np.empty_like(self.X1), np.empty_like(self.T)
        self.Ls = np.empty_like(self.labels) if eng.head == "softmax" and not self.full_batch else None
        self._order = None

    def shuffled(self):
        if self.full_batch:
            return self.X1, self.T, self.OUT
        order = self._order = self.rng.permutation(self.n)
        axis = 1 if self.columns else 0
        np.take(self.X1, order, axis=axis, out=self.X1s)
        np.take(self.T, order, axis=self.T.ndim - 1 if self.columns else 0, out=self.Ts)
        return self.X1s, self.Ts, self.OUT

    def labels_shuffled(self):
        if self.full_batch:
            return self.labels
        if self.Ls is None:
            return self.Ts.reshape(-1) if self.columns else self.Ts
        np.take(self.labels, self._order, out=self.Ls)
        return self.Ls
