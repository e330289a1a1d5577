"""``model.MLPClassifier.fit`` beside scikit-learn's ``MLPClassifier.fit`` on the digits, in one run.

    pip install -e ".[bench]"
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_estimators.py              # ~15 s
    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_estimators.py --repeats 3  # quicker
    python benchmarks/bench_estimators.py --solver sgd --epochs 100   # scikit-learn's sgd: momentum 0.9, Nesterov

What is timed. scikit-learn's bundled digits (1,797 × 64, 10 classes), split 75/25 stratified; both
estimators fit the same network, 64-64-10 with ReLU, softmax cross-entropy, Adam at lr 0.001 (``--solver sgd``:
scikit-learn's "sgd", Nesterov momentum 0.9, on both sides, at the same lr), batches of 200 (scikit-learn's
"auto"), alpha 1e-4, for the same number of epochs (``--epochs``, default 200:
``n_iter_no_change`` is set to the epoch count, so neither stops early; both report ``n_iter_``).
Both standardise the inputs inside the timed fit: scikit-learn as ``make_pipeline(StandardScaler(),
MLPClassifier(...))``, this library by its ``Standardize`` layer (``standardize=True``, the default).
Each repeat uses a new seed for both; the two are interleaved repeat by repeat, and the table gives
each one's fastest and median fit and its mean test accuracy. The ratio is scikit-learn's time over
ours (above 1: ours is faster).

BLAS runs on one thread: ``OPENBLAS_NUM_THREADS`` (and its MKL/OpenMP twins) is set to 1 below, before
NumPy is imported. Where OPENBLAS_CORETYPE is set (some machines set it to work around old OpenBLAS
builds) it forces a slower kernel on a current NumPy; ``env -u`` as above measures the kernel NumPy would
pick. The header prints which kernel ran.
"""

import os

for _name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ[_name] = "1"  # before NumPy is imported: BLAS reads it once, at load time

import argparse  # noqa: E402  (the thread count is set before anything imports NumPy)
import platform  # noqa: E402  (same)
import statistics  # noqa: E402  (same)
import sys  # noqa: E402  (same)
import time  # noqa: E402  (same)
import warnings  # noqa: E402  (same)
from pathlib import Path  # noqa: E402  (same)

import numpy as np  # noqa: E402  (same)
import sklearn  # noqa: E402  (same)
from sklearn.datasets import load_digits  # noqa: E402  (same)
from sklearn.exceptions import ConvergenceWarning  # noqa: E402  (same)
from sklearn.model_selection import train_test_split  # noqa: E402  (same)
from sklearn.neural_network import MLPClassifier as SklearnMLP  # noqa: E402  (same)
from sklearn.pipeline import make_pipeline  # noqa: E402  (same)
from sklearn.preprocessing import StandardScaler  # noqa: E402  (same)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model import MLPClassifier  # noqa: E402  (the project root is put on the path first)

HIDDEN = (64,)
LR = 0.001


def settings(epochs, seed, solver="adam"):
    """The parameters both estimators take, with the same meaning."""
    return {"hidden_layer_sizes": HIDDEN, "activation": "relu", "solver": solver, "alpha": 1e-4,
            "batch_size": "auto", "learning_rate_init": LR, "max_iter": epochs, "n_iter_no_change": epochs,
            "random_state": seed}


def contenders(epochs, seed, solver="adam"):
    """Name -> (unfitted estimator, how to read its epoch count once fitted)."""
    ours = MLPClassifier(**settings(epochs, seed, solver))
    theirs = make_pipeline(StandardScaler(), SklearnMLP(**settings(epochs, seed, solver)))
    return {"model.MLPClassifier": (ours, lambda est: est.n_iter_),
            "scikit-learn MLPClassifier": (theirs, lambda est: est[-1].n_iter_)}


def timed_fit(estimator, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # both run every epoch on purpose
        estimator.fit(X, y)
    return time.perf_counter() - start


def blas_kernel():
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "threadpoolctl not installed"
    pools = [f"{p.get('internal_api')} {p.get('version')} {p.get('architecture')} ({p.get('num_threads')} thread)"
             for p in threadpool_info() if p.get("user_api") == "blas"]
    return ", ".join(pools) or "unknown"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=200, help="epochs for both (default 200)")
    parser.add_argument("--repeats", type=int, default=7, help="fits of each, seeds 0..repeats-1 (default 7)")
    parser.add_argument("--solver", choices=("adam", "sgd"), default="adam",
                        help="adam (default) or sgd: scikit-learn's, momentum 0.9 with Nesterov's look-ahead")
    args = parser.parse_args(argv)

    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    solver = "Adam" if args.solver == "adam" else "SGD, Nesterov momentum 0.9,"
    print(f"digits: {len(X_train)} training and {len(X_test)} test rows, 64-64-10 ReLU, {solver} lr {LR}, batch 200, "
          f"{args.epochs} epochs, {args.repeats} seeds")
    print(f"Python {platform.python_version()}, NumPy {np.__version__}, scikit-learn {sklearn.__version__}; "
          f"BLAS: {blas_kernel()}; OPENBLAS_CORETYPE {os.environ.get('OPENBLAS_CORETYPE', 'unset')}")

    timed_fit(contenders(5, 0)["model.MLPClassifier"][0], X_train, y_train)  # warm-up: imports, first BLAS calls
    results = {name: {"seconds": [], "accuracy": [], "epochs": set()} for name in contenders(1, 0)}
    for seed in range(args.repeats):
        for name, (estimator, epochs_of) in contenders(args.epochs, seed, args.solver).items():
            results[name]["seconds"].append(timed_fit(estimator, X_train, y_train))
            results[name]["accuracy"].append(estimator.score(X_test, y_test))
            results[name]["epochs"].add(epochs_of(estimator))

    print(f"\n| estimator | fastest fit | median fit | epochs run | test accuracy (mean of {args.repeats}) |")
    print("|---|---|---|---|---|")
    for name, r in results.items():
        print(f"| {name} | {min(r['seconds']):.3f} s | {statistics.median(r['seconds']):.3f} s | "
              f"{', '.join(map(str, sorted(r['epochs'])))} | {np.mean(r['accuracy']):.4f} |")
    ours, theirs = results["model.MLPClassifier"], results["scikit-learn MLPClassifier"]
    print(f"\nscikit-learn's fit time / ours: {min(theirs['seconds']) / min(ours['seconds']):.2f}× (fastest), "
          f"{statistics.median(theirs['seconds']) / statistics.median(ours['seconds']):.2f}× (median); "
          f"accuracy {np.mean(ours['accuracy']):.4f} against {np.mean(theirs['accuracy']):.4f}")


if __name__ == "__main__":
    main()
