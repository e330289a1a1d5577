"""CSV loading: ``data.load_csv`` against ``np.loadtxt`` on a large numeric file, time and peak memory, and how
soon a binary file is refused.

    python benchmarks/bench_csv.py                    # 10^6 rows x 20 features + a label (~400 MB file)
    python benchmarks/bench_csv.py --rows 200000 --features 8 --repeats 1
    python benchmarks/bench_csv.py --nul-gib 0        # skip the NUL-file check

Writes a temporary CSV (header, D features written with ``repr``, an integer label 0..2), then times
``load_csv`` and ``np.loadtxt`` (every column, the header skipped) on it, interleaved, ``--repeats`` times
each, keeping each one's fastest (wall clock, and CPU time, which a busy machine disturbs less); then
measures each one's peak of Python and NumPy allocations under ``tracemalloc`` against the size of the
final arrays (``X`` and ``y``). The bars: ``load_csv`` within 1.1x
of ``np.loadtxt``'s time (issue 24) and at most 1.5x the final arrays' memory (issue 19), while still naming
the line and column of every bad cell. Then it makes a sparse file of NUL bytes with no line end (``--nul-gib``
GiB, default 2) and times its refusal, which must not read the file. Temporary files are deleted.
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

from data import load_csv  # noqa: E402 -- after the repository root is on the path

MIB = 1 << 20


def write_csv(path, rows, features, seed=0, block=100_000):
    """A header and ``rows`` lines of ``features`` random values (repr precision) and a label 0..2."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as fh:
        fh.write(",".join([f"f{j}" for j in range(features)] + ["label"]) + "\n")
        for start in range(0, rows, block):
            n = min(block, rows - start)
            X, y = rng.normal(size=(n, features)), rng.integers(0, 3, size=n)
            fh.writelines(",".join(map(repr, row)) + f",{label}\n"
                          for row, label in zip(X.tolist(), y.tolist(), strict=True))


def loadtxt(path):
    return np.loadtxt(path, delimiter=",", skiprows=1)


def fastest(loaders, path, repeats):
    """``{name: (seconds, cpu seconds)}``, each loader's fastest of ``repeats`` runs (wall clock, and this
    process's CPU time, steadier on a shared machine), the loaders taking turns."""
    best = {name: (float("inf"), float("inf")) for name in loaders}
    for _ in range(repeats):
        for name, load in loaders.items():
            start, cpu = time.perf_counter(), time.process_time()
            result = load(path)
            wall, cpu = time.perf_counter() - start, time.process_time() - cpu
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
            del result
    return best


def peak(load, path):
    """``(result, peak bytes)`` of one load under tracemalloc."""
    tracemalloc.start()
    try:
        result = load(path)
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


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
    ap.add_argument("--features", type=int, default=20)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--nul-gib", type=float, default=2.0, help="size of the NUL file in GiB; 0 skips it")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "big.csv")
        write_csv(path, args.rows, args.features)
        size = os.path.getsize(path)
        times = fastest({"load_csv": load_csv, "np.loadtxt": loadtxt}, path, args.repeats)
        seconds = {name: wall for name, (wall, _) in times.items()}
        data, ours = peak(load_csv, path)
        final = data.X.nbytes + data.y.nbytes
        shape = data.X.shape
        del data
        table, theirs = peak(loadtxt, path)
        del table
        print(f"{shape[0]:,} rows x {shape[1]} features + a label ({size / MIB:.0f} MiB file), fastest of "
              f"{args.repeats}:")
        print(f"  load_csv   {seconds['load_csv']:.2f} s ({shape[0] / seconds['load_csv']:,.0f} rows/s), peak "
              f"{ours / MIB:.0f} MiB")
        print(f"  np.loadtxt {seconds['np.loadtxt']:.2f} s, peak {theirs / MIB:.0f} MiB")
        print(f"  time load_csv / np.loadtxt = {seconds['load_csv'] / seconds['np.loadtxt']:.2f} (bar 1.1; CPU time "
              f"{times['load_csv'][1] / times['np.loadtxt'][1]:.2f}); final X + y = {final / MIB:.0f} MiB, "
              f"load_csv's peak / final = {ours / final:.2f} (bar 1.5)")
        os.remove(path)
        if args.nul_gib > 0:
            nul = os.path.join(tmp, "nul.csv")
            refused, message = measure_nul_refusal(nul, args.nul_gib)
            print(f"{args.nul_gib:g} GiB of NUL bytes refused in {refused * 1e3:.1f} ms: {message}")


if __name__ == "__main__":
    main()
