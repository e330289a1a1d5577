"""Composition end to end through train.py: K classes, string labels, deeper nets, other activations."""

import json

import numpy as np
import pytest

import train
from model import Sequential, TwoLayerNet, load

from .conftest import call_main

IRIS_LIKE = {"setosa": ([5.0, 3.4, 1.5, 0.25], 0.3), "versicolor": ([5.9, 2.8, 4.3, 1.3], 0.4),
             "virginica": ([6.6, 3.0, 5.5, 2.0], 0.45)}


def run(capsys, *argv):
    return call_main(train.main, capsys, *argv)


def iris_like_csv(path, per_class=50, seed=0):
    """Three Gaussian species in four measurements, two of them overlapping, labels as words."""
    rng = np.random.default_rng(seed)
    lines = ["sepal_length,sepal_width,petal_length,petal_width,species"]
    for name, (centre, spread) in IRIS_LIKE.items():
        for row in rng.normal(centre, spread, size=(per_class, 4)):
            lines.append(",".join(f"{v:.2f}" for v in row) + f",{name}")
    order = [lines[0]] + [lines[1:][i] for i in rng.permutation(len(lines) - 1)]
    path.write_text("\n".join(order) + "\n")
    return path


def test_iris_like_string_labels(tmp_path, capsys):
    csv, model = iris_like_csv(tmp_path / "iris.csv"), tmp_path / "m.npz"
    code, out, err = run(capsys, "--data", csv, "--hidden", "16", "--hidden-bias", "--optimizer", "adam",
                         "--json", "--quiet", "--save", model)
    result = json.loads(out)
    assert code == 0, err
    assert result["classes"] == ["setosa", "versicolor", "virginica"] and result["val_acc"] >= 0.85
    net = load(model)
    assert isinstance(net, Sequential) and not isinstance(net, TwoLayerNet)
    assert net.classes == ["setosa", "versicolor", "virginica"]
    assert net.feature_names == ["sepal_length", "sepal_width", "petal_length", "petal_width"]
    code, out, _ = run(capsys, "--evaluate", model, "--data", csv, "--json")
    assert code == 0 and json.loads(out)["accuracy"] >= 0.85


def test_three_arm_spiral_with_two_hidden_layers(tmp_path, capsys):
    code, out, err = run(capsys, "--dataset", "spiral", "--classes", "3", "--hidden", "64,64", "--hidden-bias",
                         "--optimizer", "adam", "--json", "--quiet", "--save", tmp_path / "m.npz")
    assert code == 0, err
    result = json.loads(out)
    assert result["classes"] == [0, 1, 2] and result["val_acc"] >= 0.95


def test_moons_with_tanh_and_two_hidden_layers(tmp_path, capsys):
    code, out, err = run(capsys, "--dataset", "moons", "--noise", "0.2", "--hidden", "16,16", "--activation", "tanh",
                         "--hidden-bias", "--optimizer", "adam", "--json", "--quiet", "--save", tmp_path / "m.npz")
    assert code == 0, err
    assert json.loads(out)["val_acc"] >= 0.95
    net = load(tmp_path / "m.npz")
    assert [type(layer).__name__ for layer in net.layers] == ["Standardize", "Linear", "Tanh", "Linear", "Tanh",
                                                              "Linear", "Sigmoid"]


def test_the_default_run_still_saves_the_handout_network(tmp_path, capsys):
    code, out, _ = run(capsys, "--json", "--quiet", "--save", tmp_path / "m.npz")
    net = load(tmp_path / "m.npz")
    assert code == 0 and json.loads(out)["val_acc"] >= 0.99
    assert type(net) is TwoLayerNet and set(net.params) == {"w1", "w2", "b"}


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "leaky_relu"])
def test_every_activation_and_weight_decay_train(tmp_path, capsys, activation):
    code, out, err = run(capsys, "--dataset", "blobs", "--classes", "4", "--hidden", "8", "--activation", activation,
                         "--hidden-bias", "--weight-decay", "0.001", "--optimizer", "adam", "--epochs", "30",
                         "--json", "--quiet", "--save", tmp_path / "m.npz")
    assert code == 0, err
    assert json.loads(out)["val_acc"] >= 0.8
    assert load(tmp_path / "m.npz").weight_decay == 0.001


def test_the_ascii_picture_handles_k_classes(tmp_path, capsys):
    code, out, _ = run(capsys, "--dataset", "blobs", "--classes", "3", "--epochs", "20", "--hidden", "8",
                       "--save", tmp_path / "m.npz")
    assert code == 0 and "3 classes" in out


def test_a_damaged_model_file_is_one_line(tmp_path, capsys):
    path = tmp_path / "m.npz"
    assert run(capsys, "--dataset", "blobs", "--classes", "3", "--hidden", "4,4", "--epochs", "2", "--quiet",
               "--save", path)[0] == 0
    with np.load(path) as f:
        data = dict(f)
    data["architecture"] = np.array('{"class": "Sequential", "layers": [{"type": "os.system"}]}')
    np.savez(path, **data)
    code, out, err = run(capsys, "--evaluate", path)
    assert code == 1 and "unknown layer type 'os.system'" in err and len(err.strip().splitlines()) == 1
