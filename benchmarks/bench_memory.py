"""Memory that does not grow with N: one training epoch, and prediction and evaluation, at large N.

    python benchmarks/bench_memory.py                       # N = 10^6, D = 20, H = 64, float64 (~1 min)
    python benchmarks/bench_memory.py --rows 200000 --batch-size 0

Each measurement is the peak of Python and NumPy allocations (``tracemalloc``, which NumPy reports its
arrays to) during one call, above what was allocated before it — the data itself and the network are
already there. The seconds are for orientation (``bench_train.py`` times training); BLAS is pinned to
one thread when threadpoolctl is installed (``pip install -e ".[bench]"``), as there, since several
threads on a busy machine can make an epoch ten times slower. The bars (issue 19):

- one training epoch (``model.train(..., epochs=1)``) at N = 10^6, D = 20, H = 64, float64 holds at most
  2x the data (``X`` and ``y``) beyond it, at mini-batches (``--batch-size``, default 32) and at full batch;
- ``net.predict``, ``net.predict_proba`` and ``net.evaluate`` work block by block, so what they hold
  beyond their input and their result stays within 64 MiB at any N (shown at N/10 and N).
"""

import argparse
import contextlib
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model import Architecture  # noqa: E402 -- after the repository root is on the path
from model.training import train  # noqa: E402 -- the same

MIB = 1 << 20


def peak_of(call):
    """``(result, peak bytes allocated during call beyond what was allocated before, seconds)``."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        start = time.perf_counter()
        result = call()
        seconds = time.perf_counter() - start
        return result, tracemalloc.get_traced_memory()[1] - before, seconds
    finally:
        tracemalloc.stop()


def data(n, d, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X[:, 0] + X[:, 1] * X[:, 2] > 0).astype(np.int64)
    return X, y


def network(d, hidden, seed=0):
    return Architecture(hidden=(hidden,), hidden_bias=True).build(d, 2, seed=seed)


def epoch_cell(X, y, hidden, batch_size):
    net = network(X.shape[1], hidden)
    history, extra, seconds = peak_of(lambda: train(net, X, y, epochs=1, batch_size=batch_size, optimizer="adam",
                                                    seed=0))
    return extra, seconds, history.engine


def prediction_cells(X, y, hidden):
    net = network(X.shape[1], hidden)
    train(net, X[:2000], y[:2000], epochs=1, seed=0)
    rows = []
    for name, call in (("predict", lambda: net.predict(X)), ("predict_proba", lambda: net.predict_proba(X)),
                       ("evaluate", lambda: net.evaluate(X, y))):
        result, extra, seconds = peak_of(call)
        result_bytes = result.nbytes if isinstance(result, np.ndarray) else 0
        rows.append((name, extra, result_bytes, seconds))
    return rows


def one_blas_thread():
    """BLAS pinned to one thread in this process, when threadpoolctl is installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=32, help="0: full batch only")
    args = ap.parse_args(argv)
    with one_blas_thread():
        measure(args)


def measure(args):
    X, y = data(args.rows, args.features)
    size = X.nbytes + y.nbytes
    print(f"N = {args.rows:,}, D = {args.features}, H = {args.hidden}, float64: data X + y = {size / MIB:.0f} MiB")
    for batch in ([args.batch_size] if args.batch_size else []) + [None]:
        extra, seconds, engine = epoch_cell(X, y, args.hidden, batch)
        what = f"batch {batch}" if batch else "full batch"
        print(f"  one epoch, {what} ({engine}, {seconds:.1f} s): {extra / MIB:.0f} MiB beyond the data = "
              f"{extra / size:.2f}x the data (bar 2x), of which the standardised copy of X {X.nbytes / MIB:.0f} MiB")
    for n in (args.rows // 10, args.rows):
        for name, extra, result_bytes, seconds in prediction_cells(X[:n], y[:n], args.hidden):
            print(f"  {name:13s} N = {n:>9,} ({seconds:.2f} s): {extra / MIB:6.1f} MiB, of which the result "
                  f"{result_bytes / MIB:5.1f} MiB: {(extra - result_bytes) / MIB:5.1f} MiB beyond it (bar 64)")


if __name__ == "__main__":
    main()
