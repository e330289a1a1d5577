"""Loading model files: the memory a big valid file takes, and the time the largest hostile architectures take.

    python benchmarks/bench_model_files.py                  # Linear(1,000,000 -> 200) of zeros (~1 min)
    python benchmarks/bench_model_files.py --width 100000   # a tenth of it

The bars (issue 26):

- **memory**: loading a valid ``Linear(width -> 200)`` file peaks at most 1.5x the arrays' own size above
  what the library takes once imported. Each load runs in a child process of its own, whose peak resident
  size (``VmHWM`` in ``/proc/self/status``, Linux) is read by that child after loading; a child that only
  imports the library gives the baseline. (``ru_maxrss`` of the children is not used: a forked child
  inherits its parent's high-water mark.)
- **time**: every architecture text up to the cap (4,194,304 characters) is parsed or refused in at most
  1 s, among them the shapes that made the old nesting check quadratic (``"`` then ``\\"`` repeated).
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from model import build_mlp, load  # noqa: E402 -- after the repository root is on the path
from model.serialization import MAX_ARCHITECTURE_CHARS  # noqa: E402 -- the same

MIB = 1 << 20
CHILD = """
import sys
sys.path.insert(0, {root!r})
from model import load
{load}
for line in open("/proc/self/status"):
    if line.startswith("VmHWM:"):
        print(int(line.split()[1]) * 1024)
"""


def peak_in_child(path=None):
    """The peak resident bytes of a fresh process that imports the library and loads ``path`` (if given)."""
    code = CHILD.format(root=str(ROOT), load="" if path is None else f"load({str(path)!r})")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"the child failed: {done.stderr.strip().splitlines()[-1]}")
    return int(done.stdout.split()[-1])


def zero_linear_file(path, width, outputs):
    """A valid model file of one ``Linear(width -> outputs, bias=False)`` of zeros with ``MSELoss``, written compressed
    without building the network (``np.zeros`` takes its pages from the OS only where written)."""
    arch = {"class": "Sequential", "loss": {"type": "MSELoss", "config": {}}, "weight_decay": 0.0,
            "dtype": "float64", "classes": None, "feature_names": None,
            "layers": [{"type": "Linear", "config": {"in_features": width, "out_features": outputs, "bias": False}}]}
    arrays = {"param:0.W": np.zeros((width, outputs))}
    np.savez_compressed(path, format=np.array("cs231n-handprop/Sequential/2"), architecture=np.array(json.dumps(arch)),
                        **arrays)
    return sum(a.nbytes for a in arrays.values())


def memory(width, outputs, folder):
    path = folder / "zeros.npz"
    size = zero_linear_file(path, width, outputs)
    base, peak = peak_in_child(), peak_in_child(path)
    print(f"memory: Linear({width:,} -> {outputs}) of zeros, a {path.stat().st_size / MIB:.2f} MiB file holding "
          f"{size / MIB:,.0f} MiB of arrays: loading peaks at {(peak - base) / MIB:,.0f} MiB above the imported "
          f"library = {(peak - base) / size:.2f}x the arrays (bar 1.5x)")


def hostile_architectures(folder):
    """The shapes of text that once took quadratic time, at the cap; each as the architecture of a good file."""
    cap = MAX_ARCHITECTURE_CHARS
    good = build_mlp(2, hidden=(4,), classes=3, seed=0).save(folder / "good.npz")
    with np.load(good) as npz:
        members = dict(npz)
    texts = {'" then \\" repeated': '"' + '\\"' * (cap // 2 - 1), "quotes only": '"' * cap,
             '" then backslashes': '"' + "\\" * (cap - 1), "[ repeated": "[" * cap, "[] repeated": "[]" * (cap // 2),
             "one long number": "1" * cap, "a list of ones": "[" + "1," * (cap // 2 - 2) + "1]"}
    for name, text in texts.items():
        np.savez(folder / "hostile.npz", **{**members, "architecture": np.array(text[:cap])})
        start = time.perf_counter()
        try:
            load(folder / "hostile.npz")
            outcome = "loaded"
        except ValueError as exc:
            outcome = str(exc).split("damaged: ", 1)[-1][:60]
        print(f"time: {name:22s} {len(text[:cap]):,} chars: {time.perf_counter() - start:.2f} s (bar 1 s): {outcome}")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=1_000_000)
    ap.add_argument("--outputs", type=int, default=200)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        hostile_architectures(Path(folder))
        memory(args.width, args.outputs, Path(folder))


if __name__ == "__main__":
    main()
