"""Training-step speed: this project against scikit-learn and PyTorch, measured in one run.

    pip install -e ".[bench]"                  # scikit-learn, threadpoolctl
    pip install torch                          # optional; skipped when not importable
    python benchmarks/bench_train.py --quick   # ~30 s subset
    python benchmarks/bench_train.py           # every cell

BLAS is pinned to one thread (threadpoolctl, and torch.set_num_threads(1)) in this process only;
the library never touches thread settings. Implementations are interleaved epoch by epoch after a
warm-up epoch, and each cell reports the median over repeats. Ratios compare numbers from this run
only: on a shared 2-core machine absolute times drift between runs.

Where OPENBLAS_CORETYPE is set (some machines set it to work around old OpenBLAS builds), it
forces a slower kernel on a current NumPy; run with ``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE``
to measure the kernel NumPy would pick. The header prints which kernel ran.
"""

import argparse
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

from data import make_moons  # noqa: E402
from model import TwoLayerNet  # noqa: E402
from model.optim import SGD  # noqa: E402
from model.training import EpochData, run_epoch  # noqa: E402

torch = None  # optional, never needed by the tests or CI: imported by main() when installed


def _load_torch():
    global torch
    try:
        import torch as _torch
    except ImportError:
        return None
    torch = _torch
    torch.set_num_threads(1)
    return torch

LR = 0.1


# ------------------------------------------------------------------ the implementations


class Handprop:
    """This project: TwoLayerNet (hidden bias on both layers) + SGD, driven by model.training.run_epoch."""

    def __init__(self, X, y, batch, hidden, dtype, fused):
        self.name = f"handprop {'fused' if fused else 'layers'}" + (" f32" if dtype == np.float32 else "")
        self.net = TwoLayerNet(hidden_dim=hidden, hidden_bias=True, fused=fused, seed=0, dtype=dtype,
                               standardize=False)
        self.opt = SGD({"theta": self.net.theta}, {"theta": self.net.grad_theta}, lr=LR)
        self.data = EpochData(*self.net.check_Xy(X, y), batch, seed=0)

    def run(self, epochs):
        for _ in range(epochs):
            run_epoch(self.net, self.opt, self.data)

    def accuracy(self, X, y):
        return self.net.evaluate(X, y)["accuracy"]


class Lean:
    """The floor: the same network and update as bare numpy with no objects, checks or caches."""

    def __init__(self, X, y, batch, hidden, dtype):
        self.name = "lean numpy" + (" f32" if dtype == np.float32 else "")
        rng = np.random.default_rng(0)
        self.W1 = rng.normal(0, 1.0, (2, hidden)).astype(dtype)
        self.b1 = np.zeros(hidden, dtype)
        self.W2 = rng.normal(0, np.sqrt(2 / hidden), (hidden, 1)).astype(dtype)
        self.b2 = np.zeros(1, dtype)
        self.data = EpochData(X.astype(dtype), y.astype(dtype).reshape(-1, 1), batch, seed=0)

    def run(self, epochs):
        for _ in range(epochs):
            self._epoch()

    def _epoch(self):
        X, y = self.data.shuffled()
        b = self.data.batch_size
        for i in range(0, len(y), b):
            x, t = X[i:i + b], y[i:i + b]
            a = x @ self.W1
            a += self.b1
            m = (a > 0).astype(a.dtype)
            h = a * m
            z = np.dot(h, self.W2)
            z += self.b2
            dz = (1 / (1 + np.exp(-z)) - t) / len(t)
            dh = np.dot(dz, self.W2.T)
            dh *= m
            self.W2 -= LR * np.dot(h.T, dz)
            self.b2 -= LR * dz.sum(axis=0)
            self.W1 -= LR * np.dot(x.T, dh)
            self.b1 -= LR * dh.sum(axis=0)

    def accuracy(self, X, y):
        z = np.maximum(X @ self.W1 + self.b1, 0) @ self.W2 + self.b2
        return float(np.mean((z.ravel() > 0) == y))


class Sklearn:
    def __init__(self, X, y, batch, hidden):
        from sklearn.neural_network import MLPClassifier

        self.name = "scikit-learn"
        self.X, self.y = X, y
        self.clf = MLPClassifier((hidden,), activation="relu", solver="sgd", alpha=0.0, batch_size=batch,
                                 learning_rate="constant", learning_rate_init=LR, momentum=0.0,
                                 nesterovs_momentum=False, shuffle=True, random_state=0, max_iter=1, tol=0.0,
                                 n_iter_no_change=10**9)

    def run(self, epochs):
        # One fit of `epochs` epochs: its input checks and set-up are paid once per block, as a user
        # pays them once per fit (partial_fit would pay them every epoch).
        self.clf.set_params(max_iter=epochs)
        self.clf.fit(self.X, self.y)

    def accuracy(self, X, y):
        return float(self.clf.score(X, y))


class Torch:
    def __init__(self, X, y, batch, hidden, dtype):
        self.name = "pytorch eager" + (" f32" if dtype == np.float32 else "")
        tdt = torch.float32 if dtype == np.float32 else torch.float64
        torch.manual_seed(0)
        self.X = torch.tensor(X, dtype=tdt)
        self.y = torch.tensor(y, dtype=tdt).reshape(-1, 1)
        self.model = torch.nn.Sequential(torch.nn.Linear(2, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, 1)).to(tdt)
        self.loss = torch.nn.BCEWithLogitsLoss()
        self.opt = torch.optim.SGD(self.model.parameters(), lr=LR)
        self.batch = batch
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


def implementations(X, y, batch, hidden, dtypes=(np.float64,)):
    impls = []
    for dt in dtypes:
        impls += [Handprop(X, y, batch, hidden, dt, fused=False), Handprop(X, y, batch, hidden, dt, fused=True),
                  Lean(X, y, batch, hidden, dt)]
        if dt == np.float64 and _has_sklearn():
            impls.append(Sklearn(X, y, batch, hidden))
        if torch is not None:
            impls.append(Torch(X, y, batch, hidden, dt))
    return impls


# ------------------------------------------------------------------ measuring


def timed(fn):
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def measure_cell(n, batch, hidden, repeats, budget, dtypes=(np.float64,)):
    """Per-epoch medians for every implementation on moons with ``n`` points, and what was skipped.

    Each timed block is ``E`` epochs (about 0.2 s of the lean floor, 1 to 50 epochs), so a fixed
    per-call cost such as scikit-learn's input checks is spread as it would be in a real fit.
    """
    X, y = make_moons(n, noise=0.2, seed=0)
    batch = n if batch == "full" else batch
    steps = -(-n // batch)
    lean = Lean(X, y, batch, hidden, np.float64)
    lean.run(1)
    block = int(np.clip(round(0.2 / timed(lambda: lean.run(1))), 1, 50))
    skipped = {}
    probe_n = min(n, 20 * batch)
    if probe_n < n:  # estimate an epoch from a short probe before committing to it
        Xp, yp = X[:probe_n], y[:probe_n]
        for impl in implementations(Xp, yp, batch, hidden, dtypes):
            impl.run(1)
            estimate = timed(lambda: impl.run(1)) * n / probe_n
            if estimate * block * (repeats + 1) > budget:
                skipped[impl.name] = estimate
    active = [i for i in implementations(X, y, batch, hidden, dtypes) if i.name not in skipped]
    for impl in active:
        impl.run(1)  # warm-up
    times = {i.name: [] for i in active}
    for _ in range(repeats):
        for impl in active:  # interleaved: drift on a shared machine hits everyone alike
            times[impl.name].append(timed(lambda: impl.run(block)) / block)
    return {name: statistics.median(ts) for name, ts in times.items()}, skipped, steps


def fmt_time(seconds):
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} µs"


def learning_check(epochs=100):
    """Each implementation trained the same way on moons; accuracy on fresh moons (no one wins by doing less)."""
    X, y = make_moons(1000, noise=0.2, seed=0)
    Xt, yt = make_moons(2000, noise=0.2, seed=1)
    out = {}
    for impl in implementations(X, y, 32, 16):
        impl.run(epochs)
        out[impl.name] = impl.accuracy(Xt, yt)
    return out


def memory_check(n=1_000_000, hidden=3):
    """Peak memory NumPy allocates during one full-batch step of the layer path, against the data's size."""
    import resource
    import tracemalloc

    X, y = make_moons(n, noise=0.2, seed=0)
    impl = Handprop(X, y, n, hidden, np.float64, fused=False)
    impl.run(1)
    tracemalloc.start()
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    impl.run(1)
    peak = tracemalloc.get_traced_memory()[1] - before
    tracemalloc.stop()
    data = impl.data.X.nbytes + impl.data.y.nbytes
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return (f"full-batch step, N = {n:,}, hidden {hidden}, float64: peak allocation {peak / 2**20:.0f} MiB "
            f"(the data X, y: {data / 2**20:.0f} MiB; one (N, H) activation: {n * hidden * 8 / 2**20:.0f} MiB); "
            f"process peak RSS so far {rss:.0f} MiB")


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


def cli_wall_times(repeats=5):
    """Wall time of the two commands a newcomer runs, medians over fresh processes."""
    out = {}
    for label, argv in (("python train.py", [sys.executable, "train.py", "--quiet", "--json", "--save", os.devnull + ".npz"]),
                        ("python gradcheck.py", [sys.executable, "gradcheck.py"])):
        ts = []
        for _ in range(repeats):
            t = time.perf_counter()
            proc = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True)
            ts.append(time.perf_counter() - t)
        extra = ""
        if label == "python train.py" and proc.returncode == 0:
            import json

            extra = f" (training itself: {json.loads(proc.stdout)['seconds']:.3f} s)"
        out[label] = f"{statistics.median(ts):.2f} s{extra}"
    return out


def main(argv=None):
    from threadpoolctl import threadpool_limits

    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="a ~30 s subset")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--budget", type=float, default=20.0, help="seconds one implementation may spend on one cell")
    a = p.parse_args(argv)
    if a.quick:
        cells = [(1000, 32, 3), (1000, 256, 64), (1_000_000, "full", 3)]
    else:
        cells = [(n, b, h) for n in (1000, 100_000, 1_000_000) for b in (32, 256, "full") for h in (3, 64)]
    warnings.filterwarnings("ignore")  # scikit-learn's ConvergenceWarning after a short fit
    _load_torch()
    with threadpool_limits(limits=1):
        print("\n".join(environment()))
        print()
        print("| N | batch | hidden | implementation | per step | per epoch | scikit-learn / this | torch / this |")
        print("|---|---|---|---|---|---|---|---|")
        for n, batch, hidden in cells:
            dtypes = (np.float64, np.float32) if (n == 1_000_000 and batch == "full") else (np.float64,)
            res, skipped, steps = measure_cell(n, batch, hidden, a.repeats, a.budget, dtypes)
            for name, t in res.items():
                ratio = ""
                sk, th = res.get("scikit-learn"), res.get("pytorch eager" + (" f32" if name.endswith("f32") else ""))
                if name.startswith("handprop"):
                    ratio = (f"| {sk / t:.1f}× " if sk and not name.endswith("f32") else "| ") + (f"| {th / t:.1f}× " if th else "| ")
                else:
                    ratio = "| | "
                print(f"| {n:,} | {batch} | {hidden} | {name} | {fmt_time(t / steps)} | {fmt_time(t)} {ratio}|")
            for name, est in skipped.items():
                print(f"| {n:,} | {batch} | {hidden} | {name} | skipped: ≈ {fmt_time(est)} per epoch, over the "
                      f"{a.budget:g} s budget | | | |")
        print()
        print("Memory:", memory_check())
        print()
        print("Learning check (moons, 1,000 points, hidden 16, batch 32, lr 0.1, 100 epochs; accuracy on 2,000 fresh points):")
        for name, acc in learning_check().items():
            print(f"  {name:22s} {acc:.3f}")
    print()
    print("Command wall times (fresh processes, medians of 5, default thread settings):")
    for label, t in cli_wall_times().items():
        print(f"  {label:22s} {t}")


if __name__ == "__main__":
    main()
