"""Every class the registry names keeps its whole configuration through a model file: save, then load,
gives the same config() and the same loss on the same data (class weights, slopes, rates, momenta)."""

import inspect

import numpy as np
import pytest

from model import Sequential, load
from model.registry import FLAG, LIBRARY, NUMBER, SQUASHED, WEIGHTS, config_kinds, role

#: the layer a loss that takes probabilities must follow
SQUASH = {plain: squash for plain, (squash, _) in SQUASHED.items()}
#: outputs of the last layer, by the labels a loss takes
OUTPUTS = {"binary": 1, "classes": 3, "values": 2}


def _unusual_config(cls, width, classes):
    """A config of ``cls`` where no value is its default: every width ``width``, every number halved, every
    flag flipped, class weights one per class."""
    defaults = {key: p.default for key, p in inspect.signature(cls).parameters.items()}
    config = {}
    for key, kind in config_kinds(cls).items():
        config[key] = (defaults[key] / 2 if kind == NUMBER else not defaults[key] if kind == FLAG
                       else [0.5, 2.0, 1.5][:max(classes, 2)] if kind == WEIGHTS else width)
    return config


def _network(name, rng):
    """A network holding the class ``name`` with an unusual config, and its loss's labels."""
    cls = LIBRARY[name]
    if role(cls) == "layer":
        middle = cls(**_unusual_config(cls, 4, 0))
        return Sequential([LIBRARY["Linear"](3, 4, rng=rng), middle, LIBRARY["Linear"](4, 2, rng=rng)],
                          LIBRARY["MSELoss"]()), rng.normal(size=(20, 2))
    target = cls.target
    k = OUTPUTS[target]
    layers = [LIBRARY["Linear"](3, k, rng=rng)] + ([LIBRARY[SQUASH[name]]()] if name in SQUASH else [])
    y = rng.normal(size=(20, k)) if target == "values" else rng.integers(0, 2 if target == "binary" else k, 20)
    return Sequential(layers, cls(**_unusual_config(cls, k, k if target == "classes" else 2))), y


def _scramble_buffers(net, rng):
    """Buffers away from their initial values, each within its range (variances and scales > 0)."""
    for layer in net.layers:
        for buffer in getattr(layer, "buffers", {}).values():
            buffer[...] = rng.uniform(0.5, 2.0, buffer.shape)
        if callable(getattr(layer, "set", None)):
            layer.set(layer.mean, layer.scale)


@pytest.mark.parametrize("name", [name for name, cls in LIBRARY.items() if role(cls) in ("layer", "loss")])
def test_every_class_of_the_registry_round_trips_with_its_configuration(tmp_path, name):
    rng = np.random.default_rng(0)
    net, y = _network(name, rng)
    _scramble_buffers(net, rng)
    X = rng.normal(size=(20, 3))
    loaded = load(net.save(tmp_path / "m.npz"))
    assert [(type(obj), obj.config()) for obj in [*loaded.layers, loaded.criterion]] == \
        [(type(obj), obj.config()) for obj in [*net.layers, net.criterion]]
    assert loaded.evaluate(X, y)["loss"] == net.evaluate(X, y)["loss"]


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
@pytest.mark.parametrize("classes", [2, 3])
def test_a_classifier_fitted_with_balanced_class_weights_loads_with_them(tmp_path, classes):
    from model import MLPClassifier

    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 3))
    y = np.minimum(rng.integers(0, 4, 60), classes - 1)  # the last class twice as frequent: weights differ
    clf = MLPClassifier((4,), max_iter=3, class_weight="balanced", random_state=0, n_iter_no_change=99).fit(X, y)
    loaded = load(clf.network_.save(tmp_path / "m.npz"))
    assert loaded.criterion.config() == clf.network_.criterion.config() != {}
    labels = np.searchsorted(clf.classes_, y)
    assert loaded.evaluate(X, labels)["loss"] == clf.network_.evaluate(X, labels)["loss"]
