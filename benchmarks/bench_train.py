"""Training speed: this project's ``train()`` against the fastest NumPy we can write, scikit-learn and
PyTorch, measured in one run.

    pip install -e ".[bench]"                  # scikit-learn, threadpoolctl
    pip install torch                          # optional; skipped when not importable
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_train.py --quick   # < 1 min
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_train.py           # every cell

What is timed. Every implementation trains the same network — one hidden ReLU layer, biases on both
layers, one sigmoid output with binary cross-entropy, plain SGD at lr 0.1 — on the same moons data:

- ``train() engine``: the public ``model.training.train`` (``engine="auto"``), setup and bookkeeping
  included (validation of the data, the engine's buffers, the running loss and accuracy of every
  epoch, the final full passes), spread over the epochs of one call as a user's fit would be;
- ``train() layers``: the same call with ``engine="layers"`` (the layer objects' forward/backward);
- ``numpy floor``: ``Floor`` below, the fastest honest NumPy training loop we could write for the
  cell (it reports the epoch's loss, as every peer does; not the accuracy);
- scikit-learn's ``MLPClassifier(solver="sgd")`` (float64 only) and PyTorch eager (if importable).

BLAS is pinned to one thread (threadpoolctl, and ``torch.set_num_threads(1)``) in this process only;
the library never touches thread settings. Implementations are interleaved block by block after a
warm-up, and each is credited with its fastest block (the least disturbed on a shared machine).
Ratios compare numbers from this run only: absolute times drift between runs.

Where OPENBLAS_CORETYPE is set (some machines set it to work around old OpenBLAS builds), it forces a
slower kernel on a current NumPy; run with ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE`` to measure
the kernel NumPy would pick. The header prints which kernel ran.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import timeit
import warnings
from pathlib import Path

import numpy as np
from scipy.special import expit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data import make_moons  # noqa: E402
from model import TwoLayerNet  # noqa: E402
from model.training import train  # noqa: E402

torch = None  # optional, never needed by the tests or CI: imported by main() when installed

LR = 0.1


def _load_torch():
    global torch
    try:
        import torch as _torch
    except ImportError:
        return None
    torch = _torch
    torch.set_num_threads(1)
    return torch


# ------------------------------------------------------------------ the floor


class Floor:
    """The fastest honest NumPy training loop we could write for ``D → H (ReLU) → 1 (sigmoid BCE)``,
    biases on both layers, plain SGD. Same initial weights (a ``TwoLayerNet(seed=0)``), same shuffle
    (``default_rng(seed).permutation`` per epoch) and same batches as ``train()``, so it ends with the
    same parameters (``tests/test_fast_paths.py`` checks that): it does the same work, no less.

    The tricks, each measured on this machine (2-core Xeon, NumPy 2.4, one BLAS thread):

    1. **Biases folded into the weights.** ``x`` carries a column of ones (appended once per data set)
       and the hidden layer a *constant unit*: an extra column of W1, ``[0 … 0 1]ᵀ``, that reads the
       ones column, so after the ReLU the hidden activations carry their own column of ones. Each
       layer is then one product ``[x 1] @ [[W], [b]]``, and ``dℓ/db`` comes out of the same
       ``[x 1]ᵀ · upstream`` product as ``dℓ/dW``: no broadcast add, no batch sum (a broadcast
       ``(B, H) + (H,)`` costs twice a same-shape ufunc at B = 32). The constant unit's column is
       kept frozen by multiplying its gradient by 0 (a (D + 1, H + 1) mask: one small call).
    2. **Every operand contiguous and of the same shape.** ``x`` and the labels are shuffled into
       two separate buffers (a strided view of one shared buffer costs 2× in ``dot`` and in ufuncs),
       outputs written with ``out=`` into preallocated buffers, in-place where possible.
    3. **Masks as numbers:** ``M = sign(relu(a))`` is the float 0/1 mask in one call on small blocks
       (``a > 0`` into a float buffer costs 2.4× there, and a bool operand more than doubles the
       multiply). On large blocks (B·H ≥ 4096) the per-element cost wins: ``a > 0`` into a bool
       buffer (0.1–0.2 ns per element), copied into a float one, and ``h = a ⊙ M``.
    4. **The fused output gradient** ``e = lr · (σ(z) − y) / n``: three in-place calls (``expit``,
       subtract, multiply by a 0-d array, which is ~0.2 µs cheaper than a Python float), the
       learning rate folded in, so the update of all parameters is one subtraction from one flat
       vector.
    5. **Wide hidden layers (H ≥ 16):** never materialise dℓ/dh. With one output,
       ``dℓ/dW1 = ((x ⊙ e)ᵀ M) ⊙ w2ᵀ``: the (B, H) passes shrink to the forward ones and one read of
       M (at B = 256, H = 64 each (B, H) pass costs 4–8 µs). At small H, ``xᵀ ((e w2ᵀ) ⊙ M)`` costs
       fewer calls.
    6. **Full batch in chunks, in columns.** The data transposed once, ``[Xᵀ; 1]`` (D + 1, N), and
       every block a contiguous (H + 1, R) array: chunks are views (no copy; copying a (R, 2) slice
       into a (R, 3) buffer costs 9 ns per row), and the broadcasts ``w2 · e`` and ``x · e`` run along
       the long axis (as (R, 1) × (1, H) they cost 4–6 ns per row). Chunks of ~256 KB per buffer
       (16,384 samples at H = 3, 1,008 at H = 64 float32), gradients accumulated, one update; σ as
       ``½ + ½ tanh(z / 2)`` (NumPy's SIMD tanh: ~0.5 ns per element in float32 against 4–9 ns for
       scipy's ``expit``); the mask as ``a > 0`` into a float buffer (0.3 ns per element against 1.1
       for ``sign``, whose lower set-up cost wins only on small blocks; written as booleans and
       copied into floats, ~25 % less again). Memory O(chunk × H).
    7. **The loss** (what every peer reports each epoch) from the logits the steps computed anyway:
       mini-batches write them into an (N, 1) buffer and the epoch's mean
       ``softplus(z) − y z = max(z, 0) + log(1 + exp(−|z|)) − y z`` is computed once per epoch;
       full batch scores blocks of 65,536 logits (long blocks: few calls). Sums are dot products
       with a vector of ones (BLAS: half the time of ``ndarray.sum`` on a column).
    """

    def __init__(self, X, y, batch, hidden, dtype, lr=LR, seed=0, chunk_bytes=1 << 18):
        net = TwoLayerNet(hidden_dim=hidden, hidden_bias=True, fused=True, seed=0, dtype=dtype, standardize=False)
        self.name = "numpy floor"
        dt = self.dtype = np.dtype(dtype)
        n, d = X.shape
        H = hidden
        self.n, self.d, self.H = n, d, H
        self.batch = n if batch == "full" or batch >= n else int(batch)
        self.full = self.batch >= n
        self.P = np.zeros((d + 1) * (H + 1) + H + 1, dt)
        self.G = np.zeros_like(self.P)
        self.Gc = np.zeros_like(self.P)
        k = (d + 1) * (H + 1)
        self.W1, self.W2 = self.P[:k].reshape(d + 1, H + 1), self.P[k:].reshape(H + 1, 1)
        self.g1, self.g2 = self.G[:k].reshape(d + 1, H + 1), self.G[k:].reshape(H + 1, 1)
        self.g1c, self.g2c = self.Gc[:k].reshape(d + 1, H + 1), self.Gc[k:].reshape(H + 1, 1)
        self.W1[:d, :H], self.W1[d, :H], self.W1[d, H] = net.params["w1"], net.params["b1"], 1
        self.W2[:H, 0], self.W2[H, 0] = net.params["w2"][:, 0], net.params["b"][0]
        self.w2row = self.W2.reshape(1, H + 1)
        self.mask1 = np.ones((d + 1, H + 1), dt)
        self.mask1[:, H] = 0
        self.zero, self.one, self.half, self.two = (np.asarray(v, dt) for v in (0, 1, 0.5, 2))
        self.lr = lr
        self.rng = np.random.default_rng(seed)
        self.wide = H >= 16
        self.X, self.t = X.astype(dt), y.astype(dt).reshape(-1, 1)
        rows = self.batch if not self.full else int(np.clip(chunk_bytes // ((H + 1) * dt.itemsize), 256, 16384))
        rows = min(rows, n)
        self.rows = rows
        self.a, self.m, self.dA = (np.empty(rows * (H + 1), dt) for _ in range(3))
        self.e, self.v = (np.empty(rows, dt) for _ in range(2))
        self.xe = np.empty(rows * (d + 1), dt)
        self.flags = np.empty(rows * (H + 1), bool)
        self.zrows = min(n, 65536)
        self.uz, self.vz = (np.empty(self.zrows, dt) for _ in range(2))
        self.ones = np.ones(max(n, self.zrows), dt)
        if self.full:  # columns: [Xᵀ; 1] (D + 1, N), labels and logits (1, N)
            self.X1T = np.empty((d + 1, n), dt)
            self.X1T[:d], self.X1T[d] = self.X.T, 1
            self.tT, self.ZT = self.t.reshape(1, n), np.empty((1, n), dt)
        else:  # rows: [X 1] (N, D + 1), shuffled into a buffer each epoch
            self.X1 = np.empty((n, d + 1), dt)
            self.X1[:, :d], self.X1[:, d] = self.X, 1
            self.X1s, self.ts = np.empty_like(self.X1), np.empty_like(self.t)
            self.Z = np.empty((n, 1), dt)
            self.uN, self.vN = np.empty((n, 1), dt), np.empty((n, 1), dt)
        self.losses = []

    def params(self):
        """The parameters as ``TwoLayerNet`` names them."""
        d, H = self.d, self.H
        return {"w1": self.W1[:d, :H], "b1": self.W1[d, :H], "w2": self.W2[:H], "b": self.W2[H]}

    def run(self, epochs):
        for _ in range(epochs):
            self.losses.append(self._full_epoch() if self.full else self._minibatch_epoch())

    def _minibatch_epoch(self):
        n, b, H1, D1 = self.n, self.batch, self.H + 1, self.d + 1
        order = self.rng.permutation(n)
        X1, t, Z = self.X1s, self.ts, self.Z
        np.take(self.X1, order, axis=0, out=X1)
        np.take(self.t, order, axis=0, out=t)
        dot, maximum, greater, sign, subtract, multiply = (np.dot, np.maximum, np.greater, np.sign, np.subtract,
                                                           np.multiply)
        W1, W2, w2row, g1, g2, mask1, P, G = self.W1, self.W2, self.w2row, self.g1, self.g2, self.mask1, self.P, self.G
        zero, wide, big = self.zero, self.wide, b * H1 >= 4096
        first = np.matmul if big else dot  # matmul wins for (256, 3) @ (3, 65), dot for small shapes
        views = {}
        for i in range(0, n, b):
            x, y, z = X1[i:i + b], t[i:i + b], Z[i:i + b]
            r = len(x)
            if r not in views:
                views[r] = (self.a[:r * H1].reshape(r, H1), self.m[:r * H1].reshape(r, H1), self.e[:r].reshape(r, 1),
                            self.xe[:r * D1].reshape(D1, r), self.dA[:r * H1].reshape(r, H1),
                            np.asarray(self.lr / r, self.dtype), self.flags[:r * H1].reshape(r, H1))
            a, m, e, xe, d, c, flags = views[r]
            first(x, W1, out=a)
            if big:  # the mask by comparison into booleans, then numbers: dearer to set up, cheaper per element
                greater(a, zero, out=flags)
                np.copyto(m, flags)
                multiply(a, m, out=a)
            else:
                maximum(a, zero, out=a)
                sign(a, out=m)
            dot(a, W2, out=z)
            expit(z, out=e)
            subtract(e, y, out=e)
            multiply(e, c, out=e)
            dot(a.T, e, out=g2)
            if wide:
                multiply(x.T, e.reshape(1, r), out=xe)  # (x ⊙ e)ᵀ written transposed: half the time
                dot(xe, m, out=g1)
                multiply(g1, w2row, out=g1)
            else:
                dot(e, w2row, out=d)
                multiply(d, m, out=d)
                dot(x.T, d, out=g1)
            multiply(g1, mask1, out=g1)
            subtract(P, G, out=P)
        return self._loss(Z, t, self.uN, self.vN) / n

    def _loss(self, z, t, u, v):
        """Σ softplus(z) − t z over a block of logits (sums as dot products with ones: BLAS)."""
        np.abs(z, out=u)
        np.negative(u, out=v)
        np.exp(v, out=v)
        np.add(v, self.one, out=v)
        np.log(v, out=v)
        ones, vdot = self.ones[:z.size].reshape(z.shape), np.vdot
        return float(vdot(ones, v)) + 0.5 * (float(vdot(ones, u)) + float(vdot(ones, z))) - float(vdot(t, z))

    def _full_epoch(self):
        n, rows = self.n, self.rows
        dot, maximum, greater, subtract, multiply, add = (np.dot, np.maximum, np.greater, np.subtract, np.multiply,
                                                          np.add)
        W1T, W2T, W2, w2row, mask1 = self.W1.T, self.W2.T, self.W2, self.w2row, self.mask1
        zero, one, two, half, wide = self.zero, self.one, self.two, self.half, self.wide
        X1T, t, Z = self.X1T, self.tT, self.ZT
        H1, D1 = self.H + 1, self.d + 1
        ch = np.asarray(self.lr / n, self.dtype) * half
        loss, scored = 0.0, 0
        for k, i in enumerate(range(0, n, rows)):  # chunks sized for the cache, in columns
            j = min(i + rows, n)
            r = j - i
            x, y, z = X1T[:, i:j], t[:, i:j], Z[:, i:j]
            a, m = self.a[:H1 * r].reshape(H1, r), self.m[:H1 * r].reshape(H1, r)
            e, v = self.e[:r].reshape(1, r), self.v[:r].reshape(1, r)
            g1, g2 = (self.g1, self.g2) if k == 0 else (self.g1c, self.g2c)
            np.matmul(W1T, x, out=a)  # matmul beats dot on (65, 3) @ (3, R): a 3-long inner axis
            flags = self.flags[:H1 * r].reshape(H1, r)
            greater(a, zero, out=flags)  # the mask as booleans, then numbers: 25 % less than floats directly
            np.copyto(m, flags)
            multiply(a, m, out=a)
            dot(W2T, a, out=z)
            multiply(z, half, out=e)
            np.tanh(e, out=e)
            add(e, one, out=e)
            multiply(y, two, out=v)
            subtract(e, v, out=e)
            multiply(e, ch, out=e)  # lr (σ(z) − y) / n
            dot(a, e.T, out=g2)
            if wide:
                xe = self.xe[:D1 * r].reshape(D1, r)
                multiply(x, e, out=xe)
                dot(xe, m.T, out=g1)
                multiply(g1, w2row, out=g1)
            else:
                d = self.dA[:H1 * r].reshape(H1, r)
                multiply(W2, e, out=d)
                multiply(d, m, out=d)
                dot(x, d.T, out=g1)
            multiply(g1, mask1, out=g1)
            if k:
                add(self.G, self.Gc, out=self.G)
            while j - scored >= self.zrows or (j == n and scored < n):  # score long blocks of logits
                f = min(scored + self.zrows, j)
                m_ = f - scored
                loss += self._loss(Z[0, scored:f], t[0, scored:f], self.uz[:m_], self.vz[:m_])
                scored = f
        subtract(self.P, self.G, out=self.P)
        return loss / n

    def accuracy(self, X, y):
        d = self.d
        h = np.maximum(X @ self.W1[:d] + self.W1[d], 0)
        return float(np.mean(((h @ self.W2)[:, 0] > 0) == y))


# ------------------------------------------------------------------ this project and the peers


class Project:
    """``model.training.train`` on a ``TwoLayerNet`` (hidden bias, Sigmoid + BCELoss unless ``fused``)."""

    def __init__(self, X, y, batch, hidden, dtype, engine="auto", fused=False, hidden_bias=True, label=None):
        self.name = label or f"train() {'engine' if engine == 'auto' else 'layers'}"
        self.net = TwoLayerNet(hidden_dim=hidden, hidden_bias=hidden_bias, fused=fused, seed=0, dtype=dtype,
                               standardize=False)
        self.X, self.y = X.astype(dtype), y
        self.batch = None if batch == "full" else batch
        self.engine = engine
        self.history = None

    def run(self, epochs):
        self.history = train(self.net, self.X, self.y, lr=LR, epochs=epochs, batch_size=self.batch, seed=0,
                             engine=self.engine)

    def accuracy(self, X, y):
        return self.net.evaluate(X, y)["accuracy"]


class Sklearn:
    def __init__(self, X, y, batch, hidden):
        from sklearn.neural_network import MLPClassifier

        self.name = "scikit-learn"
        self.X, self.y = X, y
        self.clf = MLPClassifier((hidden,), activation="relu", solver="sgd", alpha=0.0,
                                 batch_size=len(y) if batch == "full" else batch, learning_rate="constant",
                                 learning_rate_init=LR, momentum=0.0, nesterovs_momentum=False, shuffle=True,
                                 random_state=0, max_iter=1, tol=0.0, n_iter_no_change=10**9)

    def run(self, epochs):
        # One fit of `epochs` epochs: its input checks and set-up are paid once per block, as a user
        # pays them once per fit (partial_fit would pay them every epoch).
        self.clf.set_params(max_iter=epochs)
        self.clf.fit(self.X, self.y)

    def accuracy(self, X, y):
        return float(self.clf.score(X, y))


class Torch:
    def __init__(self, X, y, batch, hidden, dtype):
        self.name = "pytorch eager"
        tdt = torch.float32 if dtype == np.float32 else torch.float64
        torch.manual_seed(0)
        self.X = torch.tensor(X, dtype=tdt)
        self.y = torch.tensor(y, dtype=tdt).reshape(-1, 1)
        self.model = torch.nn.Sequential(torch.nn.Linear(X.shape[1], hidden), torch.nn.ReLU(),
                                         torch.nn.Linear(hidden, 1)).to(tdt)
        self.loss = torch.nn.BCEWithLogitsLoss()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR)
        self.batch = len(y) if batch == "full" else batch
        self.gen = torch.Generator().manual_seed(0)

    def run(self, epochs):
        for _ in range(epochs):
            self._epoch()

    def _epoch(self):
        n = len(self.y)
        if self.batch >= n:
            X, y = self.X, self.y
        else:
            perm = torch.randperm(n, generator=self.gen)
            X, y = self.X[perm], self.y[perm]
        for i in range(0, n, self.batch):
            self.opt.zero_grad()
            self.loss(self.model(X[i:i + self.batch]), y[i:i + self.batch]).backward()
            self.opt.step()

    def accuracy(self, X, y):
        with torch.no_grad():
            z = self.model(torch.tensor(X, dtype=self.X.dtype)).numpy().ravel()
        return float(np.mean((z > 0) == y))


def _has_sklearn():
    try:
        import sklearn  # noqa: F401
    except ImportError:
        return False
    return True


def implementations(X, y, batch, hidden, dtype, layers=True, peers=True):
    impls = [Project(X, y, batch, hidden, dtype), Floor(X, y, batch, hidden, dtype)]
    if layers:
        impls.append(Project(X, y, batch, hidden, dtype, engine="layers"))
    if peers and dtype == np.float64 and _has_sklearn():
        impls.append(Sklearn(X, y, batch, hidden))
    if peers and torch is not None:
        impls.append(Torch(X, y, batch, hidden, dtype))
    return impls


# ------------------------------------------------------------------ measuring


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def measure(impls, repeats, target=0.5, budget=30.0, min_epochs=1):
    """Seconds per epoch of each implementation (its fastest block), and the skipped.

    Each implementation runs in blocks of ``E`` epochs (one ``train()`` call, one ``fit``), ``E`` sized
    so a block takes about ``target`` seconds and, for this project's ``train()`` and the floor, at
    least ``min_epochs``: a call's set-up (the engine's buffers, the final evaluation pass) is then
    spread as over a real fit. Blocks are interleaved after a warm-up, and each implementation is
    credited with its fastest block: on a shared machine the least disturbed one (medians moved the
    ratios by ±15 % from run to run here). An implementation whose blocks would exceed ``budget``
    seconds in all is skipped.
    """
    times, skipped, blocks = {}, {}, {}
    for impl in impls:
        one = timed(lambda: impl.run(1))  # warm-up, and an estimate
        ours = isinstance(impl, (Floor, Project))
        blocks[impl.name] = max(int(round(target / max(one, 1e-9))), min_epochs if ours else 1, 1)
        if one * blocks[impl.name] * repeats > budget:
            skipped[impl.name] = one
        else:
            times[impl.name] = []
    for _ in range(repeats):
        for impl in impls:  # interleaved: drift on a shared machine hits everyone alike
            if impl.name in times:
                block = blocks[impl.name]
                times[impl.name].append(timed(lambda: impl.run(block)) / block)
    return {name: min(ts) for name, ts in times.items()}, skipped


def fmt_time(seconds):
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} µs"


CELLS = [  # (label, N, batch, hidden, dtype, targets: (peer, minimum speed-up of train() engine))
    ("B=32, H=3", 20_000, 32, 3, np.float64, (("scikit-learn", 15), ("pytorch eager", 20))),
    ("B=256, H=64", 20_000, 256, 64, np.float64, (("scikit-learn", 7), ("pytorch eager", 6))),
    ("full batch, N=1e6, H=3, float32", 1_000_000, "full", 3, np.float32, (("pytorch eager", 2),)),
    ("full batch, N=1e6, H=3, float64", 1_000_000, "full", 3, np.float64, (("scikit-learn", 8),)),
    ("full batch, N=1e6, H=64, float32", 1_000_000, "full", 64, np.float32, (("pytorch eager", 5),)),
]


def cell_table(cells, repeats, budget, target):
    print("| cell | train() engine | numpy floor | engine / floor | train() layers | scikit-learn | PyTorch eager "
          "| targets (peer time / engine time) |")
    print("|---|---|---|---|---|---|---|---|")
    for label, n, batch, hidden, dtype, targets in cells:
        X, y = make_moons(n, noise=0.2, seed=0)
        impls = implementations(X, y, batch, hidden, dtype)
        res, skipped = measure(impls, repeats, target, budget, min_epochs=10 if batch == "full" else 1)
        steps = 1 if batch == "full" else -(-n // batch)
        unit = "per step" if batch != "full" else "per epoch"

        def cell(name):
            if name in res:
                return fmt_time(res[name] / steps)
            if name in skipped:
                return f"skipped (≈ {fmt_time(skipped[name] / steps)})"
            return "—"

        eng, flo = res.get("train() engine"), res.get("numpy floor")
        ratio = f"{eng / flo:.2f}×" if eng and flo else "—"
        checks = []
        for peer, want in targets:
            if peer in res and eng:
                got = res[peer] / eng
                checks.append(f"{peer} {got:.1f}× (≥ {want}× {'✓' if got >= want else '✗'})")
        print(f"| {label} ({unit}) | **{cell('train() engine')}** | {cell('numpy floor')} | {ratio} "
              f"| {cell('train() layers')} | {cell('scikit-learn')} | {cell('pytorch eager')} | {'; '.join(checks)} |")
        sys.stdout.flush()


def handout_rows(repeats, n_full, target):
    """Issue 8's rows: the handout's own network (no hidden bias, Sigmoid + BCELoss) through the layer
    path, per step, at batch 32 and at full batch."""
    out = []
    for batch, n in ((32, 20_000), ("full", n_full)):
        X, y = make_moons(n, noise=0.2, seed=0)
        impls = [Project(X, y, batch, 3, np.float64, engine="layers", hidden_bias=False, label="layers"),
                 Project(X, y, batch, 3, np.float64, hidden_bias=False, label="engine"),
                 Floor(X, y, batch, 3, np.float64)]
        res, _ = measure(impls, repeats, target, min_epochs=10 if batch == "full" else 1)
        steps = 1 if batch == "full" else -(-n // batch)
        out.append((batch, n, res["layers"] / steps, res["engine"] / steps))
    return out


def checked_loop(repeats=7, n=20_000, batch=32):
    """A hand-written loop over the public API — ``loss(X, y)`` (validation on) + ``backward()`` + in-place
    SGD on ``theta`` — against the same loop with ``check_input=False``, batch 32, hidden 3 (seconds per step)."""
    X, y = make_moons(n, noise=0.2, seed=0)
    nets = {k: TwoLayerNet(seed=0, standardize=False) for k in (True, False)}
    batches = [(X[i:i + batch], y[i:i + batch]) for i in range(0, n, batch)]
    Xc, yc = nets[False].check_Xy(X, y)
    checked_batches = [(Xc[i:i + batch], yc[i:i + batch]) for i in range(0, n, batch)]

    def loop(check):
        net = nets[check]
        theta, grad = net.theta, net.grad_theta
        lr = np.asarray(LR)
        for xb, yb in (batches if check else checked_batches):
            net.loss(xb, yb, check_input=check)
            net.backward(input_grad=False)
            theta -= lr * grad

    res = {True: [], False: []}
    for _ in range(repeats):
        for check in (True, False):
            res[check].append(timed(lambda: loop(check)) / len(batches))
    return min(res[True]), min(res[False])


def check_costs(batch=32):
    """Per-call costs of ``Sequential.check_Xy`` and its parts at batch 32 (µs), for the lead."""
    X, y = make_moons(batch, noise=0.2, seed=0)
    net = TwoLayerNet(seed=0, standardize=False)
    Xc, yc = net.check_Xy(X, y)
    g = {"net": net, "X": X, "y": y, "Xc": Xc, "yc": yc, "np": np}
    stmts = {
        "net.check_Xy(X, y)": "net.check_Xy(X, y)",
        "  check_X(X)": "net.check_X(X)",
        "    np.isfinite(X).all()": "np.isfinite(X).all()",
        "  y.astype + reshape": "y.astype(net.dtype, copy=False).reshape(len(y), 1)",
        "  binary check (y(1-y)).any()": "(yc * (1 - yc)).any()",
        "net.loss(Xc, yc, check_input=False)": "net.loss(Xc, yc, check_input=False)",
        "net.loss(X, y) (checked)": "net.loss(X, y)",
        "net.backward(input_grad=False)": "net.backward(input_grad=False)",
    }
    out = {}
    for label, s in stmts.items():
        out[label] = min(timeit.repeat(s, globals=g, number=2000, repeat=7)) / 2000
    return out


def memory_cell(n=1_000_000, hidden=64):
    """Peak memory NumPy allocates during ``train()`` of one full-batch epoch at N, H=64, float32."""
    import tracemalloc

    X, y = make_moons(n, noise=0.2, seed=0)
    X, y = X.astype(np.float32), y.astype(np.float32)
    net = TwoLayerNet(hidden_dim=hidden, hidden_bias=True, seed=0, dtype=np.float32, standardize=False)
    train(net, X[:1000], y[:1000], lr=LR, epochs=1, batch_size=None)  # warm caches, not counted
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    h = train(net, X, y, lr=LR, epochs=1, batch_size=None)
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    data = X.nbytes + y.nbytes
    return peak, data, h.engine


def learning_check(epochs=100):
    """Each implementation trained the same way on moons; accuracy on fresh moons (no one wins by doing less)."""
    X, y = make_moons(1000, noise=0.2, seed=0)
    Xt, yt = make_moons(2000, noise=0.2, seed=1)
    out = {}
    for impl in implementations(X, y, 32, 16, np.float64):
        impl.run(epochs)
        out[impl.name] = impl.accuracy(Xt, yt)
    return out


_DEFAULT_RUN = """
import json, sys
from app.experiment import fit, load_dataset
from model.training import Schedule
engine, full = sys.argv[1], sys.argv[2] == "1"
run = fit(load_dataset("circles", n_samples=1000, noise=0.05, seed=0), schedule=Schedule(engine=engine, full_metrics=full))
print(json.dumps({"seconds": run.history.seconds, "val_acc": run.history.final["val_acc"]}))
"""


def default_run_times(repeats=5):
    """The default run (``python train.py``: circles, 2-3-1, SGD, batch 32, 200 epochs) in fresh processes,
    interleaved: training seconds (``History.seconds``) with the engine, with the layers, and with the
    layers plus a full pass over the training data after every epoch (``full_metrics``: the training
    loop as it was before the engine and the running metrics)."""
    configs = {"engine": ("auto", "0"), "layers": ("layers", "0"), "layers, full passes (before)": ("layers", "1")}
    res = {k: [] for k in configs}
    for _ in range(repeats):
        for label, (engine, full) in configs.items():
            proc = subprocess.run([sys.executable, "-c", _DEFAULT_RUN, engine, full], cwd=ROOT, capture_output=True,
                                  text=True)
            if proc.returncode == 0:
                res[label].append(json.loads(proc.stdout)["seconds"])
    return {k: statistics.median(v) for k, v in res.items() if v}


def environment():
    from threadpoolctl import threadpool_info

    blas = [f"{i['internal_api']} {i.get('version') or ''} ({i.get('architecture') or '?'}), {i['num_threads']} thread(s)"
            for i in threadpool_info()]
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next(line.split(":", 1)[1].strip() for line in fh if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    import scipy

    lines = [f"machine: {cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, numpy {np.__version__}, "
             f"scipy {scipy.__version__}"]
    try:
        import sklearn

        lines.append(f"scikit-learn {sklearn.__version__}")
    except ImportError:
        lines.append("scikit-learn: not installed")
    lines.append(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)" if torch else "torch: not installed (skipped)")
    lines.append("BLAS while timing: " + "; ".join(blas))
    core = os.environ.get("OPENBLAS_CORETYPE")
    lines.append(f"OPENBLAS_CORETYPE={core} (forces that kernel)" if core else "OPENBLAS_CORETYPE unset")
    return lines


def main(argv=None):
    from threadpoolctl import threadpool_limits

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller full-batch data (N = 10⁵) and fewer repeats")
    p.add_argument("--repeats", type=int, default=None, help="timed blocks per implementation (default 5; quick 3)")
    p.add_argument("--budget", type=float, default=30.0, help="seconds one implementation may spend on one cell")
    a = p.parse_args(argv)
    repeats = a.repeats or (3 if a.quick else 5)
    n_full = 100_000 if a.quick else 1_000_000
    cells = [(label.replace("N=1e6", "N=1e5") if a.quick else label, n_full if n == 1_000_000 else n, b, h, dt, t)
             for label, n, b, h, dt, t in CELLS]
    warnings.filterwarnings("ignore")  # scikit-learn's ConvergenceWarning after a short fit
    _load_torch()
    with threadpool_limits(limits=1):
        print("\n".join(environment()))
        print()
        target = 0.2 if a.quick else 0.5  # seconds per timed block (one train() call of E epochs)
        if a.quick:
            print("Quick mode: full batch at N = 10⁵; the targets are set at N = 10⁶ (a full run), where the "
                  "peers' fixed costs weigh less.\n")
        cell_table(cells, repeats, a.budget, target)
        print()
        print("The handout's network (2-3-1, no hidden bias, Sigmoid + BCELoss), float64, per step:")
        for batch, n, layers, engine in handout_rows(repeats, n_full, target):
            print(f"  batch {batch} (N = {n:,}): layer path {fmt_time(layers)}, engine {fmt_time(engine)} "
                  f"({layers / engine:.1f}× faster)")
        checked, unchecked = checked_loop(repeats + 2)
        print(f"Hand-written loop over the public API at batch 32, hidden 3: loss(X, y) checked {fmt_time(checked)} "
              f"per step, check_input=False {fmt_time(unchecked)}: {checked / unchecked:.2f}× (target ≤ 1.25×)")
        print("  what the check costs per call:", "; ".join(f"{k.strip()} {v * 1e6:.2f} µs" for k, v in check_costs().items()))
        if not a.quick:
            peak, data, engine = memory_cell()
            print(f"Memory: a full-batch train() epoch at N = 1,000,000, H = 64, float32 ({engine}): peak allocation "
                  f"{peak / 2**20:.1f} MiB, the data X, y {data / 2**20:.1f} MiB ({peak / data:.2f}× the data)")
        print()
        print("Learning check (moons, 1,000 points, hidden 16, batch 32, lr 0.1, 100 epochs; accuracy on 2,000 fresh points):")
        for name, acc in learning_check(30 if a.quick else 100).items():
            print(f"  {name:22s} {acc:.3f}")
    print()
    times = default_run_times(3 if a.quick else 5)
    print("Default run (circles, 2-3-1, SGD, batch 32, 200 epochs), training seconds, fresh processes, default threads: "
          + ", ".join(f"{k} {v:.3f} s" for k, v in times.items()))


if __name__ == "__main__":
    main()
