"""What save writes, load gives back whole, at no more memory than building it; what save never writes,
train.py refuses in one line.

Every class the registry names keeps its whole configuration through a model file: save, then load, gives
the same config() and the same loss on the same data (class weights, slopes, rates, momenta)."""

import inspect
import json
import tracemalloc

import numpy as np
import pytest

import train
from layers import Linear, ReLU, SoftmaxCrossEntropyLoss
from model import Sequential, load
from model.npz_reader import NpzReader
from model.registry import FLAG, LIBRARY, NUMBER, SQUASHED, WEIGHTS, config_kinds, role

from .conftest import call_main

#: the layer a loss that takes probabilities must follow
SQUASH = {plain: squash for plain, (squash, _) in SQUASHED.items()}
#: the classes that take (N, C, H, W) images, and the images they are tried on
IMAGES, IMAGE = ("Conv2d", "MaxPool2d", "BatchNorm2d"), (4, 8, 8)
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
    if name in IMAGES:
        middle = cls(**_unusual_config(cls, 4, 0))
        width = middle.forward(np.zeros((1, *IMAGE))).size
        return Sequential([middle, LIBRARY["Flatten"](), LIBRARY["Linear"](width, 2, rng=rng)],
                          LIBRARY["MSELoss"]()), rng.normal(size=(20, 2))
    if name == "Unflatten":  # rows of 4·4·4 numbers read as images, flattened back for the Linear after it
        middle = cls(**_unusual_config(cls, 4, 0))
        return Sequential([LIBRARY["Linear"](3, 64, rng=rng), middle, LIBRARY["Flatten"](),
                           LIBRARY["Linear"](64, 2, rng=rng)], LIBRARY["MSELoss"]()), rng.normal(size=(20, 2))
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
    X = rng.normal(size=(20, *IMAGE) if name in IMAGES else (20, 3))
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


def _peak(call):
    """``call()``'s result and the peak bytes traced while it ran, above what was traced before."""
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        result = call()
        return result, tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()


def test_loading_costs_no_more_memory_than_building_the_network(tmp_path):
    # the file's arrays are read straight into the built network's own: no second copy of any of them
    def build():
        return Sequential([Linear(2000, 1000, rng=0), ReLU(), Linear(1000, 3, rng=1)], SoftmaxCrossEntropyLoss())

    net, built = _peak(build)
    path = net.save(tmp_path / "m.npz")
    size = sum(p.nbytes for p in net.params.values())  # 16 MB
    loaded, peak = _peak(lambda: load(path))
    np.testing.assert_array_equal(loaded.params["0.W"], net.params["0.W"])
    assert peak <= built + size // 4, f"loading peaked {peak - built:,} bytes above building ({size:,} of arrays)"


def test_an_array_is_read_into_the_one_given_when_it_fits(tmp_path):
    W = np.arange(12.0).reshape(3, 4)
    np.savez(tmp_path / "a.npz", W=W, F=np.asfortranarray(W), S=W.astype(np.float32))
    with NpzReader(tmp_path / "a.npz") as npz:
        into = np.empty((3, 4))
        assert npz.read("W", npz.header("W", "f"), into=into) is into
        for name in ("F", "S"):  # Fortran order, another dtype: read into a new array, as before
            read = npz.read(name, npz.header(name, "f"), into=into)
            assert read is not into and np.array_equal(read, W)
        np.testing.assert_array_equal(into, W)


@pytest.mark.parametrize("damage", ["pairing", "prefix"])
def test_train_py_predicting_with_a_file_save_never_writes_fails_in_one_line_and_writes_nothing(
        tmp_path, capsys, damage):
    path = Sequential([Linear(2, 3, rng=0)], SoftmaxCrossEntropyLoss()).save(tmp_path / "m.npz")
    if damage == "pairing":  # a 3-output Linear feeding BCELoss: negative "probabilities"
        with np.load(path) as npz:
            members = dict(npz)
        arch = json.loads(str(members["architecture"]))
        arch["loss"] = {"type": "BCELoss", "config": {}}
        np.savez(path, **{**members, "architecture": np.array(json.dumps(arch))})
    else:
        path.write_bytes(bytes(1000) + path.read_bytes())
    data = tmp_path / "d.csv"
    data.write_text("a,b\n" + "".join(f"{i},{-i}\n" for i in range(5)))
    code, out, err = call_main(train.main, capsys, "--predict", path, "--data", data, "--out", tmp_path / "p.csv")
    assert code == 1 and len(err.strip().splitlines()) == 1 and str(path) in err
    assert ("Linear followed by BCELoss" if damage == "pairing" else "1,000 bytes") in err
    assert not (tmp_path / "p.csv").exists()
