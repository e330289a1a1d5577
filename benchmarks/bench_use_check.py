"""What the one-batch check of a learner's layers adds to a default ``python train.py --use …`` run (the bar: ≤ 10 %).

    python benchmarks/bench_use_check.py            # 7 runs of each, interleaved, fresh processes
    python benchmarks/bench_use_check.py --runs 3

The four exercises of the handout's network (Linear, ReLU, Sigmoid, BCELoss) are filled in with the library's
formulas in a temporary folder, and ``train.py --use`` trains with all four on the default settings (circles,
2-3-1, SGD, batch 32, 200 epochs): with the check, and with ``--no-layer-check``. Whole runs are timed (the
process, its imports and its files included: what a learner waits for), interleaved, and the medians compared;
then, in this process, the check alone (``checking.before_training.verify``) against the training it precedes.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

#: each exercise's backward, as a learner finishes it
ANSWERS = {
    ("linear.py", "Linear"): ['self.grads["W"][...] = self.cache.T @ upstream',
                              'if "b" in self.params:',
                              '    self.grads["b"][...] = upstream.sum(axis=0)',
                              'return upstream @ self.params["W"].T'],
    ("relu.py", "ReLU"): ["return upstream * (self.cache > 0)"],
    ("sigmoid.py", "Sigmoid"): ["return upstream * self.cache * (1 - self.cache)"],
    ("bce_loss.py", "BCELoss"): ["p, y = self.cache", "return upstream * (p - y) / (p * (1 - p)) / p.size"],
}


def fill(folder):
    """The exercises filled in under ``folder``; returns the ``--use`` specs."""
    specs = []
    for (name, cls), answer in ANSWERS.items():
        lines = (ROOT / "exercises" / name).read_text(encoding="utf-8").splitlines()
        start = next(i for i, line in enumerate(lines) if "raise NotImplementedError" in line)
        end, depth = start, lines[start].count("(") - lines[start].count(")")
        while depth > 0:  # the raise's message may run over several lines
            end += 1
            depth += lines[end].count("(") - lines[end].count(")")
        indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
        lines[start:end + 1] = [indent + line for line in answer]
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
        specs.append(f"{folder / name}:{cls}")
    return specs


def whole_runs(specs, folder, runs):
    """Median wall seconds of ``train.py --use …`` with the check and with ``--no-layer-check``."""
    argv = [sys.executable, str(ROOT / "train.py"), *[w for s in specs for w in ("--use", s)], "--quiet",
            "--save", str(folder / "m.npz")]
    times = {"checked": [], "--no-layer-check": []}
    for _ in range(runs):
        for label, extra in (("checked", []), ("--no-layer-check", ["--no-layer-check"])):
            start = time.perf_counter()
            subprocess.run(argv + extra, cwd=ROOT, check=True, capture_output=True)
            times[label].append(time.perf_counter() - start)
    return {k: statistics.median(v) for k, v in times.items()}


def check_alone(specs, repeats=20):
    """Seconds of the check alone, and of the default training it precedes (in this process)."""
    from checking.before_training import verify
    from layers.user_code import load_class
    from model.experiment import load_dataset, prepare
    from model.factory import learners
    from model.inputs import check_Xy
    from model.training import TrainingConfig

    types = {spec.rpartition(":")[2]: load_class(spec) for spec in specs}
    experiment = prepare(load_dataset("circles"), layer_types=types)
    net = experiment.net
    X, y = check_Xy(net, experiment.X_train, experiment.y_train)
    start = time.perf_counter()
    for _ in range(repeats):
        verify(net, X, experiment.y_train, y, learners(net))
    check = (time.perf_counter() - start) / repeats
    experiment.train(TrainingConfig(check_layers=False))
    return check, experiment.history.seconds


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=7, help="whole runs of each kind (default 7)")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        specs = fill(folder)
        times = whole_runs(specs, folder, a.runs)
        check, training = check_alone(specs)
    added = times["checked"] / times["--no-layer-check"] - 1
    print(f"python train.py --use (4 exercises, defaults), median of {a.runs} fresh processes: checked "
          f"{times['checked']:.3f} s, --no-layer-check {times['--no-layer-check']:.3f} s: {added:+.1%} "
          f"(bar ≤ +10 % {'✓' if added <= 0.10 else '✗'})")
    print(f"the check alone: {check * 1000:.1f} ms, the 200 epochs it precedes {training:.3f} s "
          f"({check / training:.1%} of the training)")


if __name__ == "__main__":
    main()
