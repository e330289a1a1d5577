"""One training run from a dataset name or CSV to a fitted network: what ``train.py`` calls."""

from dataclasses import dataclass

import numpy as np

from data import DATASETS, MULTICLASS_DATASETS, Dataset, load_csv, train_val_split
from model.builders import Architecture
from model.training import Schedule


def streams(seed):
    """Independent generators for data, split, initialisation and shuffling, all from one seed."""
    data, split, init, shuffle = np.random.SeedSequence(seed).spawn(4)
    return {k: np.random.default_rng(s) for k, s in
            (("data", data), ("split", split), ("init", init), ("shuffle", shuffle))}


def load_dataset(dataset="circles", path=None, n_samples=1000, noise=None, seed=0, classes=2):
    """A ``Dataset`` from a CSV ``path`` or a named generator (``noise`` None = the generator's default).

    ``classes`` (K) applies to the generators that make K classes (spiral, blobs).
    """
    if path is not None:
        return load_csv(path)
    if dataset not in DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; choose from {', '.join(DATASETS)}")
    kwargs = {} if noise is None else {"noise": noise}
    if classes != 2:
        if dataset not in MULTICLASS_DATASETS:
            raise ValueError(f"{dataset} has two classes; --classes applies to {', '.join(MULTICLASS_DATASETS)}")
        kwargs["classes"] = classes
    X, y = DATASETS[dataset](n_samples, seed=streams(seed)["data"], **kwargs)
    return Dataset.from_arrays(X, y, source=f"{dataset} (n={n_samples}, seed={seed})")


def labels_for(net, data):
    """``data.y`` re-indexed into the model's classes; a label the model never saw is an error.

    A model from the first release has no stored classes: it knows 0 and 1.
    """
    known = list(net.classes) if net.classes is not None else [0, 1]
    index = {c: i for i, c in enumerate(known)}
    for c in data.classes:
        if c not in index:
            raise ValueError(f"{data.source or 'the data'}: label {c!r} is not one the model was trained on "
                             f"({', '.join(map(repr, known))})")
    return np.array([index[c] for c in data.classes], dtype=np.int64)[data.y]


@dataclass
class Run:
    """One run: the network built for the data, its split, and (once trained) its history."""

    net: object
    data: Dataset
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    shuffle: np.random.Generator
    history: object = None

    def train(self, schedule=None, on_epoch=None):
        """Train the network with ``schedule`` (default: SGD, lr 1.0, batch 32, 200 epochs); returns self."""
        self.history = (schedule or Schedule()).run(self.net, self.X_train, self.y_train, self.X_val, self.y_val,
                                                    seed=self.shuffle, on_epoch=on_epoch)
        return self


def prepare(data, architecture=None, val_fraction=0.2, seed=0):
    """Split ``data`` and build the network ``architecture`` describes for its D and K; nothing trained.

    Parameters
    ----------
    data : Dataset
    architecture : model.builders.Architecture (default: the handout's 2-3-1 network)
    val_fraction : float in [0, 1), held out, stratified
    seed : int, split with ``SeedSequence`` into data, split, initialisation and shuffling streams

    Returns
    -------
    Run
    """
    rngs = streams(seed)
    X_train, X_val, y_train, y_val = train_val_split(data.X, data.y, val_fraction, seed=rngs["split"])
    if len(np.unique(y_train)) < 2:
        raise ValueError("the training data holds only one class; a classifier needs at least two")
    net = (architecture or Architecture()).build(data.X.shape[1], data.n_classes, seed=rngs["init"])
    net.classes, net.feature_names = list(data.classes), list(data.feature_names)
    return Run(net, data, X_train, y_train, X_val, y_val, rngs["shuffle"])


def fit(data, architecture=None, schedule=None, val_fraction=0.2, seed=0, on_epoch=None):
    """``prepare`` then ``Run.train``: split, build, train. Returns the trained ``Run``."""
    return prepare(data, architecture, val_fraction, seed).train(schedule, on_epoch)
