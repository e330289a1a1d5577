"""Training speed: this project's ``train()`` and its reference layer path against scikit-learn (and
PyTorch, when installed), measured side by side in one run.

    pip install -e ".[bench]"                  # scikit-learn, threadpoolctl
    pip install torch                          # optional; skipped when not importable
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_train.py --quick   # < 1 min
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_train.py           # every cell

What is timed. Every implementation trains the same network — one hidden ReLU layer, biases on both
layers, one sigmoid output with binary cross-entropy, plain SGD at lr 0.1 — on the same moons data:

- ``train() engine``: the public ``model.training.train`` (``engine="auto"``), set-up and bookkeeping
  included (validation of the data, the check of the engine against the layers, the engine's
  buffers, the running loss and accuracy of every epoch, the final full passes), spread over the
  epochs of one call as a user's fit would be;
- ``train() layers``: the same call with ``engine="layers"`` (the layer objects' forward/backward);
- ``reference loop``: ``ReferenceLoop`` below, the loop a learner writes over the public API —
  ``net.loss(X, y)`` (which validates its batch), ``net.backward()``, ``opt.step()`` — on the same
  batches as ``train()`` (``tests/test_fast_paths.py`` checks it ends with the same parameters);
- scikit-learn's ``MLPClassifier(solver="sgd")`` (float64 only) and PyTorch eager (if importable).

BLAS is pinned to one thread (threadpoolctl, and ``torch.set_num_threads(1)``) in this process only;
the library never touches thread settings. Implementations are interleaved block by block after a
warm-up, and each is credited with its fastest block (the least disturbed on a shared machine);
``--cpu-time`` times the blocks by the thread's CPU time instead, which other jobs on a loaded machine
disturb far less. Ratios compare numbers from this run only: absolute times drift between runs.

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
import warnings
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data import make_moons  # noqa: E402  (the project root is put on the path first)
from model import TwoLayerNet  # noqa: E402  (same)
from model.batches import Shuffler  # noqa: E402  (same)
from model.optim import SGD  # noqa: E402  (same)
from model.training import train  # noqa: E402  (same)

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


# ------------------------------------------------------------------ this project and the peers


def _network(hidden, dtype, hidden_bias=True):
    return TwoLayerNet(hidden_dim=hidden, hidden_bias=hidden_bias, seed=0, dtype=dtype, standardize=False)


class Project:
    """``model.training.train`` on a ``TwoLayerNet`` (Sigmoid + BCELoss, hidden bias unless told)."""

    def __init__(self, X, y, batch, hidden, dtype, engine="auto", hidden_bias=True, label=None):
        self.name = label or f"train() {'engine' if engine == 'auto' else 'layers'}"
        self.net = _network(hidden, dtype, hidden_bias)
        self.X, self.y = X.astype(dtype), y
        self.batch = None if batch == "full" else batch
        self.engine = engine
        self.history = None

    def run(self, epochs):
        self.history = train(self.net, self.X, self.y, lr=LR, epochs=epochs, batch_size=self.batch, seed=0,
                             engine=self.engine)
        assert self.history.engine == ("engine" if self.engine == "auto" else "layers"), self.history.engine_note

    def accuracy(self, X, y):
        return self.net.evaluate(X, y)["accuracy"]


class ReferenceLoop:
    """The reference path as a learner drives it: ``net.loss(X, y)`` + ``net.backward()`` + ``opt.step()``
    per batch, each epoch's order from a ``Shuffler`` seeded as ``train()`` seeds it (the data copied
    in that order once per epoch), so it takes ``train()``'s steps."""

    def __init__(self, X, y, batch, hidden, dtype, hidden_bias=True, label="reference loop"):
        self.name = label
        self.net = _network(hidden, dtype, hidden_bias)
        self.X, self.y = X.astype(dtype), y
        self.shuffler = Shuffler(len(y), len(y) if batch == "full" else batch, seed=0)
        self.opt = SGD(self.net.params, self.net.grads, lr=LR)

    def run(self, epochs):
        net, opt = self.net, self.opt
        for _ in range(epochs):
            order = self.shuffler.next_order()
            X, y = (self.X, self.y) if order is None else (self.X[order], self.y[order])
            for rows in self.shuffler.batches():
                net.loss(X[rows], y[rows])
                net.backward()
                opt.step()

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
        import sklearn  # noqa: F401  (imported to learn whether it is installed)
    except ImportError:
        return False
    return True


def peers(X, y, batch, hidden, dtype):
    """scikit-learn (float64 only) and PyTorch, those installed."""
    impls = []
    if dtype == np.float64 and _has_sklearn():
        impls.append(Sklearn(X, y, batch, hidden))
    if torch is not None:
        impls.append(Torch(X, y, batch, hidden, dtype))
    return impls


# ------------------------------------------------------------------ measuring


#: the clock of every timed block: wall time, or this thread's CPU time with --cpu-time (a loaded machine)
CLOCK = time.perf_counter


def timed(fn):
    t = CLOCK()
    fn()
    return CLOCK() - t


def measure(impls, repeats, target=0.5, budget=30.0, min_epochs=1):
    """Seconds per epoch of each implementation (its fastest block), and the skipped.

    Each implementation runs in blocks of ``E`` epochs (one ``train()`` call, one ``fit``), ``E`` sized
    so a block takes about ``target`` seconds and, for this project's ``train()``, at least
    ``min_epochs``: a call's set-up (the engine's buffers, the final evaluation pass) is then spread
    as over a real fit. Blocks are interleaved after a warm-up, and each implementation is credited
    with its fastest block: on a shared machine the least disturbed one. An implementation whose
    blocks would exceed ``budget`` seconds in all is skipped.
    """
    times, skipped, blocks = {}, {}, {}
    for impl in impls:
        one = timed(lambda impl=impl: impl.run(1))  # warm-up, and an estimate
        ours = isinstance(impl, (Project, ReferenceLoop))
        blocks[impl.name] = max(int(round(target / max(one, 1e-9))), min_epochs if ours else 1, 1)
        if one * blocks[impl.name] * repeats > budget:
            skipped[impl.name] = one
        else:
            times[impl.name] = []
    for _ in range(repeats):
        for impl in impls:  # interleaved: drift on a shared machine hits everyone alike
            if impl.name in times:
                block = blocks[impl.name]
                times[impl.name].append(timed(lambda impl=impl, block=block: impl.run(block)) / block)
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

#: The reference path must stay this many times faster than scikit-learn per SGD step at B=32, H=3.
REFERENCE_TARGET = 3.0


def _per(res, skipped, name, steps):
    if name in res:
        return fmt_time(res[name] / steps)
    if name in skipped:
        return f"skipped (≈ {fmt_time(skipped[name] / steps)})"
    return "—"


def cell_table(cells, repeats, budget, target):
    """``train()`` (engine, layers) against the peers, per step (mini-batches) or per epoch (full batch)."""
    print("| cell | train() engine | train() layers | scikit-learn | PyTorch eager "
          "| targets (peer time / engine time) |")
    print("|---|---|---|---|---|---|")
    for label, n, batch, hidden, dtype, targets in cells:
        X, y = make_moons(n, noise=0.2, seed=0)
        impls = [Project(X, y, batch, hidden, dtype), Project(X, y, batch, hidden, dtype, engine="layers")]
        res, skipped = measure(impls + peers(X, y, batch, hidden, dtype), repeats, target, budget,
                               min_epochs=10 if batch == "full" else 1)
        steps = 1 if batch == "full" else -(-n // batch)
        unit = "per step" if batch != "full" else "per epoch"
        engine = res.get("train() engine")
        checks = []
        for peer, want in targets:
            if peer in res and engine:
                got = res[peer] / engine
                checks.append(f"{peer} {got:.1f}× (≥ {want}× {'✓' if got >= want else '✗'})")
        cols = [_per(res, skipped, name, steps) for name in ("train() layers", "scikit-learn", "pytorch eager")]
        print(f"| {label} ({unit}) | **{_per(res, skipped, 'train() engine', steps)}** | {' | '.join(cols)} "
              f"| {'; '.join(checks)} |")
        sys.stdout.flush()


def reference_rows(repeats, target, budget):
    """The reference path (the hand loop over ``loss``/``backward``/``step``) against scikit-learn per SGD
    step, side by side, at the handout's size (B=32, H=3) and at B=256, H=64; float64, N = 20,000."""
    out = []
    for batch, hidden in ((32, 3), (256, 64)):
        n = 20_000
        X, y = make_moons(n, noise=0.2, seed=0)
        impls = [ReferenceLoop(X, y, batch, hidden, np.float64), Project(X, y, batch, hidden, np.float64)]
        res, _ = measure(impls + peers(X, y, batch, hidden, np.float64), repeats, target, budget)
        steps = -(-n // batch)
        out.append((batch, hidden, {name: t / steps for name, t in res.items()}))
    return out


def handout_rows(repeats, n_full, target):
    """The handout's own network (no hidden bias, Sigmoid + BCELoss) through the layer path and the
    engine, per step, at batch 32 and at full batch."""
    out = []
    for batch, n in ((32, 20_000), ("full", n_full)):
        X, y = make_moons(n, noise=0.2, seed=0)
        impls = [Project(X, y, batch, 3, np.float64, engine="layers", hidden_bias=False, label="layers"),
                 Project(X, y, batch, 3, np.float64, hidden_bias=False, label="engine")]
        res, _ = measure(impls, repeats, target, min_epochs=10 if batch == "full" else 1)
        steps = 1 if batch == "full" else -(-n // batch)
        out.append((batch, n, res["layers"] / steps, res["engine"] / steps))
    return out


def memory_cell(n=1_000_000, hidden=64):
    """Peak memory NumPy allocates during ``train()`` of one full-batch epoch at N, H=64, float32."""
    import tracemalloc

    X, y = make_moons(n, noise=0.2, seed=0)
    X, y = X.astype(np.float32), y.astype(np.float32)
    net = _network(hidden, np.float32)
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
    impls = [Project(X, y, 32, 16, np.float64), Project(X, y, 32, 16, np.float64, engine="layers"),
             ReferenceLoop(X, y, 32, 16, np.float64)]
    for impl in impls + peers(X, y, 32, 16, np.float64):
        impl.run(epochs)
        out[impl.name] = impl.accuracy(Xt, yt)
    return out


_DEFAULT_RUN = """
import json, sys
from model.experiment import fit, load_dataset
from model.training import TrainingConfig
engine, full = sys.argv[1], sys.argv[2] == "1"
config = TrainingConfig(engine=engine, full_metrics=full)
run = fit(load_dataset("circles", n_samples=1000, noise=0.05, seed=0), config=config)
print(json.dumps({"seconds": run.history.seconds, "val_acc": run.history.final["val_acc"]}))
"""


def default_run_times(repeats=5):
    """The default run (``python train.py``: circles, 2-3-1, SGD, batch 32, 200 epochs) in fresh processes,
    interleaved: training seconds (``History.seconds``) with the engine, with the layers, and with the
    layers plus a full pass over the training data after every epoch (``full_metrics``)."""
    configs = {"engine": ("auto", "0"), "layers": ("layers", "0"), "layers, full passes": ("layers", "1")}
    res = {k: [] for k in configs}
    for _ in range(repeats):
        for label, (engine, full) in configs.items():
            proc = subprocess.run([sys.executable, "-c", _DEFAULT_RUN, engine, full], cwd=ROOT, capture_output=True,
                                  text=True, check=False)
            if proc.returncode == 0:
                res[label].append(json.loads(proc.stdout)["seconds"])
    return {k: statistics.median(v) for k, v in res.items() if v}


def environment():
    from threadpoolctl import threadpool_info

    blas = [f"{i['internal_api']} {i.get('version') or ''} ({i.get('architecture') or '?'}), "
            f"{i['num_threads']} thread(s)" for i in threadpool_info()]
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
    lines.append(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)" if torch
                 else "torch: not installed (skipped)")
    lines.append("BLAS while timing: " + "; ".join(blas))
    core = os.environ.get("OPENBLAS_CORETYPE")
    lines.append(f"OPENBLAS_CORETYPE={core} (forces that kernel)" if core else "OPENBLAS_CORETYPE unset")
    return lines


def print_reference(rows):
    print("The reference path — a hand loop of net.loss(X, y) + net.backward() + opt.step() — against "
          "scikit-learn, per SGD step (float64, N = 20,000):")
    for batch, hidden, per_step in rows:
        ref, sk, engine = (per_step.get(k) for k in ("reference loop", "scikit-learn", "train() engine"))
        line = f"  B={batch}, H={hidden}: reference loop {fmt_time(ref)}, train() engine {fmt_time(engine)}"
        if sk:
            ratio = sk / ref
            line += f", scikit-learn {fmt_time(sk)}: the reference path is {ratio:.1f}× faster"
            if (batch, hidden) == (32, 3):
                line += f" (≥ {REFERENCE_TARGET:g}× {'✓' if ratio >= REFERENCE_TARGET else '✗'})"
        print(line)


def main(argv=None):
    from threadpoolctl import threadpool_limits

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller full-batch data (N = 10⁵) and fewer repeats")
    p.add_argument("--repeats", type=int, default=None, help="timed blocks per implementation (default 5; quick 3)")
    p.add_argument("--budget", type=float, default=30.0, help="seconds one implementation may spend on one cell")
    p.add_argument("--cpu-time", action="store_true",
                   help="time blocks by this thread's CPU time, not wall time: steadier on a machine other jobs load")
    a = p.parse_args(argv)
    global CLOCK
    CLOCK = time.thread_time if a.cpu_time else time.perf_counter
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
        print_reference(reference_rows(repeats, target, a.budget))
        print("The handout's network (2-3-1, no hidden bias, Sigmoid + BCELoss), float64, per step:")
        for batch, n, layers, engine in handout_rows(repeats, n_full, target):
            print(f"  batch {batch} (N = {n:,}): layer path {fmt_time(layers)}, engine {fmt_time(engine)} "
                  f"({layers / engine:.1f}× faster)")
        if not a.quick:
            peak, data, engine = memory_cell()
            print(f"Memory: a full-batch train() epoch at N = 1,000,000, H = 64, float32 ({engine}): peak allocation "
                  f"{peak / 2**20:.1f} MiB, the data X, y {data / 2**20:.1f} MiB ({peak / data:.2f}× the data)")
        print()
        print("Learning check (moons, 1,000 points, hidden 16, batch 32, lr 0.1, 100 epochs; accuracy on 2,000 "
              "fresh points):")
        for name, acc in learning_check(30 if a.quick else 100).items():
            print(f"  {name:22s} {acc:.3f}")
    print()
    times = default_run_times(3 if a.quick else 5)
    print("Default run (circles, 2-3-1, SGD, batch 32, 200 epochs), training seconds, fresh processes, default "
          "threads: " + ", ".join(f"{k} {v:.3f} s" for k, v in times.items()))


if __name__ == "__main__":
    main()
