"""One training run from a dataset name or CSV to a fitted network: what ``train.py`` calls."""

import numbers
from dataclasses import asdict, dataclass

import numpy as np

from data import Dataset, load_csv, make_dataset, train_val_split
from layers.validation import ParameterError
from model.builders import Architecture
from model.training import TrainingConfig, train


def check_seed(seed):
    """``seed`` as an int, refusing anything but an integer >= 0 (what ``streams`` splits)."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ParameterError("streams", "seed", f"must be an integer >= 0, got {seed!r}")
    return int(seed)


def streams(seed):
    """Independent generators for data, split, initialisation and shuffling, all from one seed."""
    data, split, init, shuffle = np.random.SeedSequence(check_seed(seed)).spawn(4)
    return {k: np.random.default_rng(s) for k, s in
            (("data", data), ("split", split), ("init", init), ("shuffle", shuffle))}


def load_dataset(dataset="circles", path=None, n_samples=1000, noise=None, seed=0, classes=2):
    """A ``Dataset`` from a CSV ``path`` or a named generator (``noise`` None = the generator's default).

    ``classes`` (K) applies to the generators that make K classes (spiral, blobs); the generators refuse
    an argument out of range with a ``ParameterError`` naming it (``n_samples``, ``noise``, ``classes``).
    """
    if path is not None:
        return load_csv(path)
    X, y = make_dataset(dataset, n_samples, noise=noise, seed=streams(seed)["data"], classes=classes)
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
    """One run: the network built for the data, its split, and (once trained) its history.

    ``X_train (N_train, D)``, ``y_train (N_train,)``, ``X_val (N_val, D)``, ``y_val (N_val,)``: the
    stratified split (``N_val`` is 0 without a validation part); ``shuffle`` the run's own stream
    for the order of the mini-batches.
    """

    net: object
    data: Dataset
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    shuffle: np.random.Generator
    history: object = None

    def train(self, config=None, on_epoch=None):
        """Train the network as ``config`` says (a ``TrainingConfig``; default: SGD, lr 1.0, batch 32,
        200 epochs), shuffling with this run's stream; returns self."""
        settings = asdict(config or TrainingConfig())
        settings["seed"] = self.shuffle  # the run's seed was split into data, split, init and shuffle streams
        X_val, y_val = (self.X_val, self.y_val) if len(self.y_val) else (None, None)
        self.history = train(self.net, self.X_train, self.y_train, X_val, y_val, on_epoch=on_epoch, **settings)
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


def fit(data, architecture=None, config=None, val_fraction=0.2, seed=0, on_epoch=None):
    """``prepare`` then ``Run.train``: split, build, train. Returns the trained ``Run``."""
    return prepare(data, architecture, val_fraction, seed).train(config, on_epoch)
