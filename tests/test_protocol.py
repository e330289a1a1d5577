"""Inside a network, a learner's backward that breaks the shape rule is named in one line, never NumPy's words."""

import numpy as np
import pytest

from data import make_circles
from layers import BCELoss, Linear, Sigmoid
from model import Sequential, TrainingDiverged, TwoLayerNet, train
from model.protocol import LayerProtocolError


class LearnerLinear:
    """A CS231n-style Linear; ``mistake`` picks one of the classic slips."""

    mistake = None

    def __init__(self, in_features, out_features, bias=True, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {"W": rng.normal(0, np.sqrt(2 / in_features), (in_features, out_features))}
        if bias:
            self.params["b"] = np.zeros(out_features)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x):
        self.x = x
        out = x @ self.params["W"]
        return out + self.params["b"] if "b" in self.params else out

    def backward(self, upstream):
        x, W, mistake = self.x, self.params["W"], self.mistake
        self.grads["W"] = upstream.T @ x if mistake == "transposed" else x.T @ upstream
        if mistake == "key":
            self.grads = {"w": self.grads.pop("W"), **self.grads}
        if "b" in self.params:
            self.grads["b"] = upstream.sum(axis=0)
        if mistake == "in place transposed":
            self.grads["W"][...] = upstream.T @ x
        return upstream @ W if mistake == "no .T" else upstream @ W.T


def net_with(mistake):
    cls = type("Linear", (LearnerLinear,), {"mistake": mistake})
    return TwoLayerNet(seed=0, hidden_dim=3, layer_types={"Linear": cls})


@pytest.mark.parametrize("mistake,match", [
    ("transposed", r"layer 3 \(Linear\)\.grads\['W'\] has shape \(1, 3\), params\['W'\] has shape \(3, 1\) "
                   r"\(transposed\? dℓ/dW = xᵀ · upstream\)"),
    ("key", r"layer 3 \(Linear\)\.grads has keys \['b', 'w'\], its params \['W', 'b'\]"),
    ("no .T", r"layer 3 \(Linear\)\.backward failed for an upstream of shape \(8, 1\) and an input of shape \(8, 3\): "
              r"the shapes inside it do not fit \(a product with a missing \.T"),
    ("in place transposed", r"layer 3 \(Linear\)\.backward failed .*the shapes inside it do not fit"),
])
def test_each_classic_slip_is_one_line_naming_the_layer(mistake, match):
    X, y = make_circles(8, seed=0)
    net = net_with(mistake)
    net.loss(X, y)
    with pytest.raises(LayerProtocolError, match=match) as info:
        net.backward()
    assert "\n" not in str(info.value)


def test_a_wrongly_shaped_input_gradient_is_named_with_the_shape_rule():
    class Halving:
        def forward(self, x):
            return x

        def backward(self, upstream):
            return upstream[:, :1]

    net = Sequential([Linear(2, 3, rng=0), Halving(), Linear(3, 1, rng=1), Sigmoid()], BCELoss())
    X, y = make_circles(5, seed=0)
    net.loss(X, y)
    with pytest.raises(LayerProtocolError, match=r"layer 1 \(Halving\)\.backward returned dℓ/dx of shape \(5, 1\), "
                                                 r"but its input had shape \(5, 3\)"):
        net.backward()


def test_training_with_a_slip_fails_in_one_line_too():
    X, y = make_circles(40, seed=0)
    with pytest.raises(LayerProtocolError, match="transposed"):
        train(net_with("transposed"), X, y, epochs=1)


def test_a_correct_learner_layer_passes_every_check():
    X, y = make_circles(40, seed=0)
    h = train(net_with(None), X, y, epochs=5)
    assert h.engine == "layers" and np.isfinite(h.final["train_loss"])


class OverflowingSigmoid:
    """A learner's Sigmoid whose backward divides by zero: its gradients become infinite."""

    def forward(self, x):
        self.y = 1 / (1 + np.exp(-x))
        return self.y

    def backward(self, upstream):
        return upstream * self.y * (1 - self.y) / 0.0


@pytest.mark.parametrize("batch_size", [8, None])
def test_a_backward_that_overflows_is_divergence_in_one_message_not_a_spray_of_warnings(batch_size):
    X, y = make_circles(40, seed=0)
    net = TwoLayerNet(seed=0, layer_types={"Sigmoid": OverflowingSigmoid})
    start = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(TrainingDiverged, match="non-finite gradients"):  # warnings are errors in this suite
        train(net, X, y, epochs=3, batch_size=batch_size)
    for key, value in start.items():
        assert np.isfinite(net.params[key]).all() and net.params[key].shape == value.shape


def test_absurd_epochs_are_refused_by_name():
    X, y = make_circles(10, seed=0)
    with pytest.raises(ValueError, match="epochs must be at most 1,000,000"):
        train(TwoLayerNet(seed=0), X, y, epochs=10**20)
