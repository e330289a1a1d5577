"""CSV loading: time and peak memory of ``data.load_csv`` on a large file, and how soon it refuses binary.

    python benchmarks/bench_csv.py                 # 1e6 rows, 2 features (a ~40 MB file)
    python benchmarks/bench_csv.py --rows 200000 --features 8
    python benchmarks/bench_csv.py --nul-gib 0     # skip the NUL-file check

Writes a temporary CSV (header, D features, an integer label 0..2), loads it once untimed by
``tracemalloc`` (the seconds) and once under ``tracemalloc`` (the peak of Python and NumPy
allocations while loading), and prints the peak against the size of the final ``X`` and ``y``.
Then it makes a sparse file of NUL bytes with no line end (``--nul-gib`` GiB, default 2) and times
its refusal, which must not read the file. Temporary files are deleted afterwards.
"""

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from data import load_csv  # noqa: E402

MIB = 1 << 20


def write_csv(path, rows, features, seed=0, block=100_000):
    """A header and ``rows`` lines of ``features`` random values (repr precision) and a label 0..2."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as fh:
        fh.write(",".join([f"f{j}" for j in range(features)] + ["label"]) + "\n")
        for start in range(0, rows, block):
            n = min(block, rows - start)
            X, y = rng.normal(size=(n, features)), rng.integers(0, 3, size=n)
            fh.writelines(",".join(map(repr, row)) + f",{label}\n" for row, label in zip(X.tolist(), y.tolist()))


def measure_load(path):
    """``(dataset, seconds, peak bytes)``: one plain timed load, one load under tracemalloc."""
    start = time.perf_counter()
    data = load_csv(path)
    seconds = time.perf_counter() - start
    del data
    tracemalloc.start()
    data = load_csv(path)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return data, seconds, peak


def measure_nul_refusal(path, gib):
    """Seconds to refuse a sparse ``gib`` GiB file of NUL bytes, and the error's text."""
    with open(path, "wb") as fh:
        fh.truncate(int(gib * (1 << 30)))
    start = time.perf_counter()
    try:
        load_csv(path)
    except ValueError as exc:
        return time.perf_counter() - start, str(exc)
    raise SystemExit(f"{path}: a file of NUL bytes was accepted")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--features", type=int, default=2)
    ap.add_argument("--nul-gib", type=float, default=2.0, help="size of the NUL file in GiB; 0 skips it")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "big.csv")
        write_csv(path, args.rows, args.features)
        size = os.path.getsize(path)
        data, seconds, peak = measure_load(path)
        final = data.X.nbytes + data.y.nbytes
        print(f"{data.X.shape[0]} rows x {data.X.shape[1]} features ({size / MIB:.1f} MiB file): "
              f"{seconds:.2f} s, {data.X.shape[0] / seconds:,.0f} rows/s")
        print(f"peak {peak / MIB:.1f} MiB while loading; final X {data.X.nbytes / MIB:.1f} MiB + "
              f"y {data.y.nbytes / MIB:.1f} MiB = {final / MIB:.1f} MiB; peak / final = {peak / final:.2f}")
        os.remove(path)
        if args.nul_gib > 0:
            nul = os.path.join(tmp, "nul.csv")
            seconds, message = measure_nul_refusal(nul, args.nul_gib)
            print(f"{args.nul_gib:g} GiB of NUL bytes refused in {seconds * 1e3:.1f} ms: {message}")


if __name__ == "__main__":
    main()
