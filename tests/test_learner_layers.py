"""A learner's layers are layers everywhere: plain classes with forward/backward train like the library's.

CS231n-style code *assigns* its gradients (``self.grads["W"] = x.T @ upstream``) and may keep its own
reference to a weight (``self.W = self.params["W"]``); neither may freeze or disconnect a weight.
"""

import numpy as np
import pytest

from data import make_circles
from layers import BCELoss, Linear, ReLU, Sigmoid
from model import Sequential, TwoLayerNet, train
from model.parameters import gather


class AssigningLinear:
    """``y = x W + b`` written as CS231n's assignments write it: new gradient arrays every backward."""

    def __init__(self, in_features, out_features, bias=True, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {"W": rng.normal(0.0, np.sqrt(2.0 / in_features), (in_features, out_features))}
        if bias:
            self.params["b"] = np.zeros(out_features)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.in_features, self.out_features = in_features, out_features
        self.W = self.params["W"]  # its own reference, used in forward and backward

    def forward(self, x):
        self.cache = x
        out = x @ self.W
        return out + self.params["b"] if "b" in self.params else out

    def backward(self, upstream):
        x = self.cache
        self.grads["W"] = x.T @ upstream  # assigned, not written in place
        if "b" in self.params:
            self.grads["b"] = upstream.sum(axis=0)
        return upstream @ self.W.T


class PlainSigmoid:
    def forward(self, x):
        self.y = 1 / (1 + np.exp(-x))
        return self.y

    def backward(self, upstream):
        return upstream * self.y * (1 - self.y)


class PlainBCELoss:
    """Only forward and backward: no target, no proba, no value."""

    def forward(self, p, y):
        self.p, self.y = np.clip(p, 1e-12, 1 - 1e-12), y
        return float(-np.mean(y * np.log(self.p) + (1 - y) * np.log(1 - self.p)))

    def backward(self, upstream=1.0):
        return upstream * (-(self.y / self.p) + (1 - self.y) / (1 - self.p)) / self.p.size


def copy_weights(source, target):
    for key in source.params:
        target.params[key] = source.params[key]


def reference_and_learner_nets(seed=0):
    ref = TwoLayerNet(seed=seed, hidden_dim=8, hidden_bias=True, standardize=False)
    learner = TwoLayerNet(seed=seed, hidden_dim=8, hidden_bias=True, standardize=False,
                          layer_types={"Linear": AssigningLinear, "Sigmoid": PlainSigmoid, "BCELoss": PlainBCELoss})
    copy_weights(ref, learner)
    return ref, learner


def test_assigned_gradients_train_exactly_like_gradients_written_in_place():
    X, y = make_circles(200, seed=0)
    ref, learner = reference_and_learner_nets()
    assert type(learner.fc1) is AssigningLinear and list(learner.params) == ["w1", "b1", "w2", "b"]
    h_ref = train(ref, X, y, epochs=30, seed=0, engine="layers")
    h_learner = train(learner, X, y, epochs=30, seed=0)
    assert h_learner.engine == "layers"  # the engine never runs a learner's code
    np.testing.assert_allclose(gather(learner.params), gather(ref.params), rtol=1e-9, atol=1e-12)
    assert h_learner.final["train_acc"] == h_ref.final["train_acc"] >= 0.95
    assert learner.fc1.W is learner.params["w1"]  # its own reference still is the trained weight


@pytest.mark.parametrize("optimizer", ["momentum", "adam", "lbfgs"])
def test_every_optimizer_sees_assigned_gradients(optimizer):
    X, y = make_circles(120, seed=1)
    ref, learner = reference_and_learner_nets(seed=1)
    train(ref, X, y, epochs=5, seed=0, engine="layers", optimizer=optimizer)
    train(learner, X, y, epochs=5, seed=0, optimizer=optimizer)
    np.testing.assert_allclose(gather(learner.params), gather(ref.params), rtol=1e-7, atol=1e-9)


def test_a_loss_with_only_forward_and_backward_gets_its_labels_probabilities_and_value_derived():
    X, y = make_circles(100, seed=2)
    rng = np.random.default_rng(0)
    net = Sequential([Linear(2, 8, rng=rng), ReLU(), Linear(8, 1, rng=rng), PlainSigmoid()], PlainBCELoss())
    assert net.target is None
    h = train(net, X, y, epochs=40, seed=0, lr=0.5)
    assert net.target == "binary" and h.final["train_acc"] > 0.8
    p = net.predict_proba(X)
    assert p.shape == (100,) and np.all((p >= 0) & (p <= 1))
    assert net.evaluate(X, y)["loss"] == pytest.approx(h.final["train_loss"], rel=1e-12)


def test_a_learners_sigmoid_before_the_librarys_bce_is_accepted():
    rng = np.random.default_rng(0)
    net = Sequential([Linear(2, 4, rng=rng), ReLU(), Linear(4, 1, rng=rng), PlainSigmoid()], BCELoss())
    X, y = make_circles(60, seed=0)
    assert np.isfinite(net.loss(X, y)) and net.backward().shape == (60, 2)


def test_the_library_layers_and_a_replacement_of_the_same_name_mix():
    X, y = make_circles(80, seed=3)
    net = TwoLayerNet(seed=0, layer_types={"Sigmoid": PlainSigmoid})
    assert isinstance(net.fc1, Linear) and isinstance(net.relu, ReLU) and type(net.sigmoid) is PlainSigmoid
    h = train(net, X, y, epochs=3, seed=0)
    assert h.engine == "layers" and "Sigmoid" in h.engine_note
    with pytest.raises(ValueError, match="no library class is named Sigmoidd"):
        TwoLayerNet(layer_types={"Sigmoidd": PlainSigmoid})
    assert isinstance(TwoLayerNet(layer_types={"Sigmoid": Sigmoid}).sigmoid, Sigmoid)
