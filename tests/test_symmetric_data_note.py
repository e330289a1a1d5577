"""Circles and xor put the same class at x and −x; a network whose logits obey z(x) + z(−x) = constant (tanh, or
one sigmoid layer, with no hidden biases) cannot separate them, and ``train.py`` says so on its first line instead
of ending at 0.50 in silence (issue 25)."""

import pytest

import train
from data import make_circles
from model.builders import build_mlp, odd_logits
from model.training import train as fit

from .conftest import call_main


@pytest.mark.parametrize(("options", "odd"), [
    ({"activation": "tanh"}, True),
    ({"activation": "tanh", "hidden": (8, 8)}, True),
    ({"activation": "sigmoid"}, True),
    ({"activation": "sigmoid", "dropout": 0.2}, True),
    ({"activation": "sigmoid", "hidden": (8, 8)}, False),  # σ(−a) = 1 − σ(a) does not survive a second layer
    ({"activation": "tanh", "hidden_bias": True}, False),  # its biases start at 0, yet they are biases
    ({"activation": "relu"}, False),
    ({"activation": "leaky_relu"}, False),
    ({"activation": "sigmoid", "batchnorm": True}, False),  # β is a learnt shift
])
def test_odd_logits_is_the_networks_structure_not_its_weights(options, odd):
    assert odd_logits(build_mlp(2, seed=0, **options)) is odd


def test_such_a_network_indeed_cannot_separate_circles():
    X, y = make_circles(400, seed=0)
    for hidden_bias, reached in ((False, False), (True, True)):
        net = build_mlp(2, hidden=(8,), activation="tanh", hidden_bias=hidden_bias, seed=0)
        fit(net, X, y, epochs=300, lr=0.5, batch_size=32, seed=0)
        assert (net.evaluate(X, y)["accuracy"] > 0.9) is reached


@pytest.mark.parametrize(("argv", "noted"), [
    (["--activation", "tanh"], True),
    (["--activation", "sigmoid", "--dataset", "xor"], True),
    (["--activation", "tanh", "--hidden-bias"], False),
    (["--activation", "tanh", "--dataset", "moons"], False),
    ([], False),
])
def test_train_py_says_so_on_its_first_line(capsys, tmp_path, argv, noted):
    code, out, err = call_main(train.main, capsys, *argv, "--epochs", "1", "--save", tmp_path / "m.npz")
    assert code == 0, err
    first = out.splitlines()[0]
    assert ("cannot separate" in first and "--hidden-bias" in first) is noted
