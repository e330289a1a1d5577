"""One experiment from a dataset to a fitted network: the split, the network built for the data, its training.

``prepare`` splits the data and builds the network (``Experiment``); ``Experiment.train`` trains it with a
``TrainingConfig``; ``fit`` does both. ``train.py`` and the benchmarks take this path.
"""

from dataclasses import dataclass, replace

import numpy as np

from data import Dataset, make_dataset, train_val_split
from data.encoding import Encoding
from data.split import DEFAULT_VAL_FRACTION, split_indices
from layers.validation import check_integer

from .builders import Architecture
from .regression import TargetScaling, regression_metrics
from .training import Trainer, TrainingConfig, TrainingDiverged, TrainingInterrupted


def check_seed(seed):
    """``seed`` as an int >= 0 (what ``streams`` splits); a ``ParameterError`` naming ``seed`` otherwise."""
    return check_integer(seed, "seed", "streams", least=0)


def streams(seed):
    """Independent generators for data, split, initialisation and shuffling, all from one seed."""
    children = np.random.SeedSequence(check_seed(seed)).spawn(4)
    return {k: np.random.default_rng(s) for k, s in zip(("data", "split", "init", "shuffle"), children, strict=True)}


def load_dataset(dataset="circles", n_samples=1000, noise=None, seed=0, classes=2):
    """A ``Dataset`` from a named generator (``noise`` None = the generator's default); a CSV file is
    ``data.load_csv``'s.

    ``classes`` (K) applies to the generators that make K classes (spiral, blobs); the generators refuse
    an argument out of range with a ``ParameterError`` naming it (``n_samples``, ``noise``, ``classes``).
    """
    X, y = make_dataset(dataset, n_samples, noise=noise, seed=streams(seed)["data"], classes=classes)
    return Dataset.from_arrays(X, y, source=f"{dataset} (n={n_samples}, seed={seed})")


@dataclass
class Experiment:
    """One experiment: the network built for the data, its split, and (once trained) its history.

    ``X_train (N_train, D)``, ``y_train (N_train,)``, ``X_val (N_val, D)``, ``y_val (N_val,)``: the
    split (stratified by class for a classifier; ``N_val`` is 0 without a validation part), or the
    validation file's rows, as the network reads them (through ``net.encoding`` when the table had gaps or
    text); ``shuffle`` the experiment's own stream for the order of the mini-batches. A regression
    (``scaling`` set) trains on standardised targets, folded into the network by ``finish``.
    """

    net: object
    data: Dataset
    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    shuffle: np.random.Generator
    history: object = None
    scaling: TargetScaling = None
    finished: bool = False
    library_build: object = None  # with a learner's classes: makes the same network of the library's classes

    @property
    def has_validation(self):
        return len(self.y_val) > 0

    @property
    def regression(self):
        return self.scaling is not None

    def train(self, config=None, on_epoch=None, on_batch=None):
        """Train the network as ``config`` says (a ``TrainingConfig``; default: SGD, lr 1.0, batch 32,
        200 epochs), shuffling with this experiment's stream, ``on_epoch`` and ``on_batch`` as ``model.train``
        takes them; returns self. An interrupted or diverged training keeps its history here before the
        exception goes on."""
        config = replace(config or TrainingConfig(), seed=self.shuffle)  # the seed's stream for the shuffling
        y_train, y_val = self.y_train, self.y_val
        if self.scaling is not None:
            y_train, y_val = self.scaling.apply(y_train), self.scaling.apply(y_val)
        X_val, y_val = (self.X_val, y_val) if self.has_validation else (None, None)
        try:
            self.history = Trainer(self.net, config).fit(self.X_train, y_train, X_val, y_val, on_epoch,
                                                         on_batch=on_batch)
        except (TrainingInterrupted, TrainingDiverged) as exc:
            self.history = exc.history
            raise
        return self

    def finish(self):
        """After training (however it ended): a regression's target scaling goes into its output layer."""
        if self.scaling is not None and not self.finished:
            self.scaling.fold_into(self.net)
        self.finished = True
        return self

    def network_to_save(self):
        """The network a model file can hold: this one, or — when a learner's classes stand in it (model files
        name only the library's layers) — the same network of the library's classes with its trained weights."""
        if self.library_build is None:
            return self.net
        twin = self.library_build()
        for key, value in self.net.params.items():
            if key not in twin.params or np.shape(twin.params[key]) != np.shape(value):
                raise ValueError(f"cannot save a model of your layers: parameter {key} {np.shape(value)} has no "
                                 f"place in the library's network")
            twin.params[key][...] = value
        for mine, theirs in zip(self.net.layers, twin.layers, strict=True):
            for name, buffer in getattr(theirs, "buffers", {}).items():
                buffer[...] = getattr(mine, "buffers", {}).get(name, buffer)
            if callable(getattr(theirs, "set", None)) and hasattr(theirs, "scale"):
                theirs.set(theirs.mean, theirs.scale)  # a Standardize: its identity flag follows its buffers
        twin.classes, twin.feature_names = self.net.classes, self.net.feature_names
        if getattr(self.net.criterion, "class_weight", None) is not None:  # train.py --class-weight: saved too
            twin.criterion.weigh(self.net.criterion.class_weight)
        twin.encoding = self.net.encoding
        return twin

    def metrics(self):
        """The returned model's scores on both parts, full passes: ``train_loss``, ``val_loss`` and
        ``train_acc``, ``val_acc`` (classification) or ``train_rmse``, ``train_r2``, ``val_rmse``, ``val_r2``
        (regression, in the targets' units); NaN for the validation part when there is none."""
        names = {"loss": "loss", "rmse": "rmse", "r2": "r2"} if self.regression else {"loss": "loss", "accuracy": "acc"}
        out = {}
        for part, X, y in (("train", self.X_train, self.y_train), ("val", self.X_val, self.y_val)):
            scores = ({} if not len(y) else regression_metrics(self.net, X, y) if self.regression
                      else self.net.evaluate(X, y))
            out.update({f"{part}_{short}": scores.get(key, float("nan")) for key, short in names.items()})
        return out


def prepare(data, architecture=None, val_fraction=DEFAULT_VAL_FRACTION, seed=0, validation=None,
            layer_types=None):
    """An ``Experiment``: ``data`` (a ``Dataset`` of classes, or of real targets for a regression) split and
    the network ``architecture`` describes (default: the handout's 2-3-1) built for its D and K; nothing trained.

    ``val_fraction`` in [0, 1) is held out (stratified by class for a classifier), unless ``validation``,
    ``(X_val, y_val)``, is given to validate on instead (its text columns coded as ``data``'s); ``seed`` is
    split with ``SeedSequence`` into data, split, initialisation and shuffling streams; ``layer_types`` maps
    class names to a learner's classes. A table with gaps or text (``data.raw``) is encoded
    (``data.encoding.Encoding``) as fitted on the training rows alone: ``net.encoding``.
    """
    rngs = streams(seed)
    if data.raw:  # the raw table is encoded a column at a time, never copied whole
        X_train, X_val, y_train, y_val, encoding = _encoded(data, val_fraction, rngs["split"], validation)
    elif validation is None:
        X_train, X_val, y_train, y_val = train_val_split(data.X, data.y, val_fraction, seed=rngs["split"],
                                                         stratify=data.classes is not None)
        encoding = None
    else:
        (X_train, y_train), (X_val, y_val), encoding = (data.X, data.y), validation, None
    architecture, classify = architecture or Architecture(), data.classes is not None
    d = data.X.shape[1] if encoding is None else encoding.width
    if classify and len(np.unique(y_train)) < 2:
        raise ValueError("the training data holds only one class; a classifier needs at least two")

    def build(types=None, seed=None):
        if classify:
            return architecture.build(d, data.n_classes, seed=seed, layer_types=types)
        return architecture.build_regressor(d, seed=seed, layer_types=types)

    net = build(layer_types, rngs["init"])
    net.classes = list(data.classes) if classify else None
    net.feature_names = list(data.feature_names) if data.named else None  # saved names are always names
    net.encoding = encoding
    scaling = None if classify else TargetScaling.fit(y_train)
    return Experiment(net, data, X_train, y_train, X_val, y_val, rngs["shuffle"], scaling=scaling,
                      library_build=build if layer_types else None)


def _encoded(data, val_fraction, split, validation):
    """``(X_train, X_val, y_train, y_val, encoding)`` of a table with gaps or text: the split (or ``validation``),
    and the encoding fitted on the training rows and applied to both parts."""
    texts = data.column_texts
    if validation is not None:
        encoding = Encoding.fit(data.X, data.feature_names, texts)
        return encoding.transform(data.X, texts), encoding.transform(validation[0], texts), data.y, validation[1], \
            encoding
    train, val = split_indices(data.y, val_fraction, seed=split, stratify=data.classes is not None)
    encoding = Encoding.fit(data.X, data.feature_names, texts, rows=train)
    return (encoding.transform(data.X, texts, rows=train), encoding.transform(data.X, texts, rows=val),
            data.y[train], data.y[val], encoding)


def fit(data, architecture=None, config=None, val_fraction=DEFAULT_VAL_FRACTION, seed=0, on_epoch=None):
    """``prepare`` then ``Experiment.train``: split, build, train. Returns the trained ``Experiment``."""
    return prepare(data, architecture, val_fraction, seed).train(config, on_epoch).finish()
