"""Review finding: a learner who edits the library's own Sigmoid (or Softmax) in ``layers/activations.py`` — a
workflow the docs name ("after you edited layers/activations.py") — and gets probabilities outside [0, 1]
was told so by ``BCELoss`` on the first ``net.loss``; it still is: the network passes ``check_input=False`` to
a library loss fed by a library head only once an input shape has made a pass (``Sequential.data_loss``).
"""

import numpy as np
import pytest

from data import make_circles
from layers import CrossEntropyLoss, Linear, Softmax
from layers.activations import Sigmoid
from model import Sequential
from model.net import TwoLayerNet
from model.training import train


@pytest.fixture
def slipped_sigmoid(monkeypatch):
    right = Sigmoid.forward

    def forward(self, z):
        return right(self, z) + 1.0  # a slip in the edited formula: values in (1, 2)

    monkeypatch.setattr(Sigmoid, "forward", forward)


@pytest.mark.usefixtures("slipped_sigmoid")
def test_an_edited_sigmoid_out_of_range_is_refused_by_net_loss():
    X, y = make_circles(64, seed=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        TwoLayerNet().loss(X, y)


@pytest.mark.usefixtures("slipped_sigmoid")
def test_an_edited_sigmoid_out_of_range_is_refused_by_train():
    X, y = make_circles(64, seed=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        train(TwoLayerNet(), X, y, epochs=2, seed=0, engine="layers")


def test_an_edited_softmax_giving_negative_probabilities_is_refused(monkeypatch):
    right = Softmax.forward
    monkeypatch.setattr(Softmax, "forward", lambda self, z: right(self, z) - 0.5)
    X, y = make_circles(64, seed=0)
    net = Sequential([Linear(2, 2, rng=np.random.default_rng(0)), Softmax()], CrossEntropyLoss())
    with pytest.raises(ValueError):
        net.loss(X, y)
