"""At a trained point gradients are tiny; finite differences cannot tell values closer than their round-off."""

import numpy as np

from checking.checker import check_model
from data import make_spiral
from layers import Linear, ReLU, SoftmaxCrossEntropyLoss
from model import Sequential, train


def trained_spiral_net():
    """A reviewer's case: this start and 100 epochs of Adam leave dℓ/dW entries near 1e-11, which the older
    rule (both values under the round-off bound) failed at a relative error of 6e-2."""
    X, y = make_spiral(900, classes=3, seed=0)
    net = Sequential([Linear(2, 32), ReLU(), Linear(32, 3)], SoftmaxCrossEntropyLoss())
    for key, (d_in, d_out, seed) in {"0.W": (2, 32, 0), "2.W": (32, 3, 1)}.items():
        net.params[key] = np.random.default_rng(seed).standard_normal((d_in, d_out)) * np.sqrt(2 / d_in)
    train(net, X[:720], y[:720], X[720:], y[720:], optimizer="adam", epochs=100, seed=0)
    return net, X, y


def test_a_correct_network_at_a_trained_point_passes():
    net, X, y = trained_spiral_net()
    report = check_model(net, X[:8], y[:8])
    assert report.passed, report.table()


def test_a_wrong_gradient_at_the_same_point_still_fails(monkeypatch):
    net, X, y = trained_spiral_net()
    real = Linear.backward

    def a_tenth_too_big(self, upstream):
        out = real(self, upstream)
        self.grads["W"] *= 1.1
        return out

    monkeypatch.setattr(Linear, "backward", a_tenth_too_big)
    assert not check_model(net, X[:8], y[:8]).passed
