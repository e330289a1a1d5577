"""A messy table against a clean one: ``train.py --data`` on 10^6 rows x 20 columns with two text columns and
5 % missing cells, against the same size all numeric, time and peak memory of the whole run.

    python benchmarks/bench_messy.py                       # N = 10^6, 20 feature columns (~2 x 400 MB of files)
    python benchmarks/bench_messy.py --rows 100000 --repeats 1

Both files hold N rows of 20 feature columns and an integer label 0..2, written with ``repr``. The messy one:
columns 0 and 1 are text (3 and 4 categories), and 5 % of all feature cells are missing — written empty,
``NA`` or ``?`` in turn — all of them in four numeric columns (2 to 5, a quarter of their cells each), as gaps
gather in a few columns of a real table. Each run is ``train.py --data FILE --epochs 1 --quiet`` in a child
process, so that reading, encoding and splitting dominate the time, with BLAS on one thread; the time is the
child's wall clock (the fastest of ``--repeats``), the memory its peak resident size (``VmHWM`` in
``/proc/self/status``, Linux, read by the child as it ends, as ``bench_model_files.py`` does: the parent's size
at the fork does not count, as it would in ``ru_maxrss``). "Beyond" is above a child that trains on a 100-row
file (the interpreter and the libraries). The bars (issue 27): the messy run at most 1.3x the clean run's time, and at
most 1.3x its memory beyond that baseline. Temporary files are deleted.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
MIB = 1 << 20
GAPS = ("", "NA", "?")
TEXTS = (("red", "green", "blue"), ("north", "south", "east", "west"))


def write_csv(path, rows, messy, seed=0, block=100_000):
    """The header and ``rows`` lines: 20 feature columns and a label, as the module docstring says."""
    rng = np.random.default_rng(seed)
    with open(path, "w", newline="") as fh:
        fh.write(",".join([f"f{j}" for j in range(20)] + ["label"]) + "\n")
        for start in range(0, rows, block):
            n = min(block, rows - start)
            X = rng.normal(size=(n, 20))
            y = (X[:, 6] + X[:, 7] > 0).astype(int) + (X[:, 8] > 1)
            cells = [list(map(repr, row)) for row in X.tolist()]
            if messy:
                codes = [rng.integers(0, len(t), size=n) for t in TEXTS]
                gaps = rng.random((n, 4)) < 0.25
                for i, row in enumerate(cells):
                    row[0], row[1] = TEXTS[0][codes[0][i]], TEXTS[1][codes[1][i]]
                    for k in np.flatnonzero(gaps[i]).tolist():
                        row[2 + k] = GAPS[(i + k) % 3]
            fh.writelines(",".join(row) + f",{label}\n" for row, label in zip(cells, y.tolist(), strict=True))


#: The child: train.py as its own main, then its VmHWM (kB) on stderr's last line.
CHILD = """
import runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    with open("/proc/self/status") as status:
        sys.stderr.write("\\n" + next(line for line in status if line.startswith("VmHWM:")))
"""


def run(path, save):
    """``(seconds, peak resident bytes)`` of one ``train.py`` child on ``path``."""
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [sys.executable, "-c", CHILD, str(ROOT / "train.py"), "--data", path, "--epochs", "1", "--quiet",
               "--save", save]
    start = time.perf_counter()
    child = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    if child.returncode:
        raise SystemExit(f"train.py on {path} exited with {child.returncode}: {child.stderr.strip()}")
    return seconds, int(child.stderr.split()[-2]) * 1024  # "VmHWM: <kB> kB"


def best(path, save, repeats):
    runs = [run(path, save) for _ in range(repeats)]
    return min(s for s, _ in runs), max(m for _, m in runs)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        paths = {name: os.path.join(tmp, f"{name}.csv") for name in ("tiny", "clean", "messy")}
        write_csv(paths["tiny"], 100, False)
        write_csv(paths["clean"], args.rows, False)
        write_csv(paths["messy"], args.rows, True)
        save = os.path.join(tmp, "model.npz")
        base = run(paths["tiny"], save)[1]
        clean, messy = best(paths["clean"], save, args.repeats), best(paths["messy"], save, args.repeats)
        for name, (seconds, peak) in (("clean", clean), ("messy", messy)):
            print(f"  {name:5}  {seconds:6.2f} s, peak {peak / MIB:6.0f} MiB ({(peak - base) / MIB:5.0f} MiB beyond "
                  f"the baseline; file {os.path.getsize(paths[name]) / MIB:.0f} MiB)")
        memory = f"{(messy[1] - base) / (clean[1] - base):.2f}" if clean[1] > base else "n/a"
        print(f"{args.rows:,} rows x 20 feature columns, train.py --epochs 1, fastest of {args.repeats}; baseline "
              f"{base / MIB:.0f} MiB: time messy / clean = {messy[0] / clean[0]:.2f} (bar 1.3), memory beyond the "
              f"baseline messy / clean = {memory} (bar 1.3)")


if __name__ == "__main__":
    main()
