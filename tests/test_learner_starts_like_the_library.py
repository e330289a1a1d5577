"""A learner's class built by the library starts from the library's initial values: with the same seed, a correct
layer trains exactly like the reference; a constructor that cannot build the layer asked for is refused up front."""

import json

import numpy as np
import pytest

from layers.validation import ParameterError
from model import TwoLayerNet
from model.builders import Architecture
from model.factory import make

from .test_train_use import filled, run, use

CS231N_LINEAR = '''
import numpy as np


class Linear:
    """CS231n's affine layer: no bias switch, its own weight scale."""

    def __init__(self, input_dim, output_dim, weight_scale=1e-3):
        self.params = {"W": weight_scale * np.random.randn(input_dim, output_dim), "b": np.zeros(output_dim)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, upstream):
        self.grads["W"][...] = self.x.T @ upstream
        self.grads["b"][...] = upstream.sum(axis=0)
        return upstream @ self.params["W"].T
'''


def learner_linear(tmp_path):
    from layers.user_code import load_class

    return load_class(f"{filled(tmp_path, 'linear.py')}:Linear")


def test_same_seed_same_loss_as_the_reference_to_1e9(tmp_path, capsys):
    argv = ("--epochs", "30", "--json", "--quiet")
    code, out, err = run(capsys, *use(tmp_path), *argv, "--save", tmp_path / "m.npz")
    assert code == 0, err
    theirs = json.loads(out)
    ours = json.loads(run(capsys, *argv, "--save", tmp_path / "lib.npz").out)  # the engine: the same numbers
    assert theirs["engine"] == "layers" and ours["engine"] == "engine"
    for key in ("train_loss", "val_loss"):
        assert theirs[key] == pytest.approx(ours[key], abs=1e-9, rel=0)


@pytest.mark.parametrize("seed", [0, 6])
def test_the_learners_linear_starts_at_the_librarys_weights_in_its_own_arrays(tmp_path, seed):
    cls = learner_linear(tmp_path)
    reference, yours = TwoLayerNet(seed=seed), TwoLayerNet(seed=seed, layer_types={"Linear": cls})
    assert isinstance(yours.fc1, cls)
    for key, value in reference.params.items():
        np.testing.assert_array_equal(yours.params[key], value)
    assert yours.fc1.grads["W"].shape == yours.fc1.params["W"].shape
    deeper = Architecture(hidden=(4, 5), activation="tanh")
    ref, mine = deeper.build(2, 3, seed=seed), deeper.build(2, 3, seed=seed, layer_types={"Linear": cls})
    for key, value in ref.params.items():
        np.testing.assert_array_equal(mine.params[key], value)


def test_the_arrays_are_the_learners_own_not_replaced(tmp_path):
    cls = learner_linear(tmp_path)
    original = cls.__init__

    def remember(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.made = self.params["W"]

    cls.__init__ = remember
    layer = make({"Linear": cls}, "Linear", 2, 3, bias=False, rng=np.random.default_rng(0))
    assert layer.params["W"] is layer.made


def test_the_model_line_under_use_keeps_the_widths(tmp_path, capsys):
    code, out, err = run(capsys, *use(tmp_path), "--epochs", "1", "--save", tmp_path / "m.npz")
    assert code == 0, err
    assert "model: 2-3-1 ReLU/Sigmoid, BCELoss" in out


def test_a_constructor_without_a_bias_switch_is_refused_up_front(tmp_path, capsys):
    path = tmp_path / "affine.py"
    path.write_text(CS231N_LINEAR)
    code, out, err = run(capsys, "--use", f"{path}:Linear", "--save", tmp_path / "m.npz")
    assert code == 2 and len(err.splitlines()) == 1 and not (tmp_path / "m.npz").exists()
    assert "bias" in err and "bias=False" in err and "input_dim, output_dim" in err and "epoch" not in out
    from layers.user_code import load_class

    with pytest.raises(ParameterError, match="bias=False"):
        TwoLayerNet(layer_types={"Linear": load_class(f"{path}:Linear")})
    net = TwoLayerNet(hidden_bias=True, layer_types={"Linear": load_class(f"{path}:Linear")})  # it can have one
    assert set(net.params) == {"w1", "b1", "w2", "b"}


def test_a_learners_batchnorm_with_a_training_flag_and_no_train_method_trains_like_the_library():
    """Evaluation must switch a learner's BatchNorm to its running statistics even when it only has the
    ``training`` attribute (the exercise's skeleton), as PyTorch's modules would."""
    from data import make_circles
    from exercises.batchnorm import BatchNorm as Skeleton
    from model.training import train

    class Mine(Skeleton):
        def backward(self, upstream):
            x_hat, inv_std = self.cache
            self.grads["gamma"] = (upstream * x_hat).sum(0)
            self.grads["beta"] = upstream.sum(0)
            d = upstream * self.params["gamma"]
            return inv_std * (d - d.mean(0) - x_hat * (d * x_hat).mean(0))

    assert not hasattr(Mine, "train")
    X, y = make_circles(200, seed=0)
    losses = []
    for types in (None, {"BatchNorm": Mine}):
        net = Architecture(hidden=(8,), batchnorm=True).build(2, seed=0, layer_types=types)
        train(net, X, y, epochs=5, lr=0.5, batch_size=32, seed=0)
        losses.append(net.evaluate(X, y)["loss"])
    assert losses[1] == pytest.approx(losses[0], rel=1e-9, abs=1e-12)
