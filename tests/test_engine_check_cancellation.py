"""The check of the engine against the layers before training: round-off in a gradient that cancels is not a
difference (a float32 network whose output bias's gradient sums to almost nothing still trains on the engine)."""

import numpy as np

from model import TwoLayerNet
from model.training import train


def test_a_float32_bias_gradient_that_cancels_does_not_send_training_to_the_layers():
    rng = np.random.default_rng(0)
    declined = []
    for seed in range(12):
        X, y = 3 * rng.standard_normal((64, 2)).astype(np.float32), np.array([0, 1] * 32)
        net = TwoLayerNet(hidden_dim=16, hidden_bias=True, seed=seed, dtype=np.float32, standardize=False)
        net.params["w2"][...] *= 1e-4  # p ≈ 1/2 everywhere: the output bias's gradient, a sum of ±1/128, cancels
        history = train(net, X, y, lr=0.1, epochs=1, batch_size=None, seed=0)
        if history.engine != "engine":
            declined.append((seed, history.engine_note))
    assert not declined
