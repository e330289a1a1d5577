"""Accuracy on scikit-learn's bundled real data sets (no download): iris and digits.

    pip install -e ".[bench]"
    python benchmarks/bench_datasets.py

Iris (150 flowers, 4 measurements, 3 species) is trained and scored on the full set, as the
composition issue asks; digits (1,797 8×8 images, 64 features, 10 classes) on a stratified 80/20
split, scored on the held-out fifth. Both use ``train.py``'s library path: ``model.experiment.fit``
with a ``Standardize`` layer first and softmax cross-entropy on top. Seeds 0–2 are reported.
"""

import argparse
import time

from data import Dataset
from model.builders import Architecture
from model.experiment import fit
from model.training import TrainingConfig


def sklearn_dataset(name):
    from sklearn import datasets

    bunch = getattr(datasets, f"load_{name}")()
    names = [str(n) for n in bunch.feature_names]
    return Dataset.from_arrays(bunch.data, bunch.target, feature_names=names, source=f"sklearn {name}")


def iris(seed):
    data = sklearn_dataset("iris")
    experiment = fit(data, Architecture(hidden=(16,), hidden_bias=True),
                     TrainingConfig(optimizer="adam", epochs=200), val_fraction=0.0, seed=seed)
    return experiment.net.evaluate(data.X, data.y)["accuracy"], experiment.history.seconds


def digits(seed):
    data = sklearn_dataset("digits")
    experiment = fit(data, Architecture(hidden=(64,), hidden_bias=True),
                     TrainingConfig(optimizer="adam", epochs=60), val_fraction=0.2, seed=seed)
    return experiment.history.final["val_acc"], experiment.history.seconds


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=3)
    a = p.parse_args(argv)
    print("| data set | network | accuracy (seeds 0..) | training time |")
    print("|---|---|---|---|")
    for name, job, arch in (("iris, full set", iris, "4-16-3 relu, adam, 200 epochs"),
                            ("digits, 20 % held out", digits, "64-64-10 relu, adam, 60 epochs")):
        start = time.perf_counter()
        results = [job(seed) for seed in range(a.seeds)]
        accs = " / ".join(f"{acc:.3f}" for acc, _ in results)
        print(f"| {name} | {arch} | {accs} | {sum(s for _, s in results) / len(results):.2f} s "
              f"(wall {time.perf_counter() - start:.1f} s for all) |")


if __name__ == "__main__":
    main()
