"""Networks of image layers: built by name, trained on (N, C, H, W) arrays by the layer path (the engine declines
them, saying so), saved, loaded and checked whole.

These tests run once ``Conv2d`` is in the registry: adding it, ``MaxPool2d`` and ``BatchNorm2d`` to
``layers.__all__`` goes with three changes in ``model/`` (images through ``check_X``, ``padding=0`` and an
explicit pooling stride in a model file's config, a channel count not taken for a feature width); until then
they are skipped, and ``tests/test_conv_layers.py`` checks the layers themselves.
"""

import numpy as np
import pytest

from checking.checker import check_model
from layers import Flatten, LayerNorm, Linear, ReLU, SoftmaxCrossEntropyLoss, SVMLoss
from model import Sequential, load
from model.factory import make
from model.registry import LIBRARY
from model.training import train

pytestmark = pytest.mark.skipif("Conv2d" not in LIBRARY, reason="Conv2d is not in layers.__all__ yet")


def _images(n=48, seed=0):
    """(n, 1, 6, 6) images labelled by which half, top or bottom, is brighter: a thing a 3×3 filter sees."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, 1, 6, 6))
    y = (X[:, 0, :3].sum(axis=(1, 2)) > X[:, 0, 3:].sum(axis=(1, 2))).astype(int)
    return X, y


def _convnet(rng=0):
    rng = np.random.default_rng(rng)
    return Sequential([make(None, "Conv2d", 1, 4, 3, padding=1, rng=rng), ReLU(), make(None, "MaxPool2d", 2),
                       Flatten(), Linear(36, 2, rng=rng)], SoftmaxCrossEntropyLoss())


def test_a_convnet_built_by_name_trains_on_images_by_the_layer_path():
    X, y = _images()
    net = _convnet()
    before = net.evaluate(X, y)["loss"]
    history = train(net, X, y, epochs=20, lr=0.1, seed=0)
    assert history.engine == "layers" and "Conv2d" in history.engine_note
    assert net.evaluate(X, y)["loss"] < before / 2 and (net.predict(X) == y).mean() >= 0.9


@pytest.mark.parametrize("padding, stride", [(0, None), (1, 1), (2, 3)])
def test_a_convnet_round_trips_through_a_model_file(tmp_path, padding, stride):
    X, y = _images(8)
    conv, pool = LIBRARY["Conv2d"](1, 3, 3, padding=padding, rng=1), LIBRARY["MaxPool2d"](2, stride)
    width = pool.forward(conv.forward(X[:1])).size  # C·H'·W' after the pooling
    net = Sequential([conv, LIBRARY["BatchNorm2d"](3), ReLU(), pool, Flatten(), LayerNorm(width),
                      Linear(width, 3, rng=1)], SVMLoss())
    train(net, X, y, epochs=2, lr=0.05, seed=0)
    loaded = load(net.save(tmp_path / "m.npz"))
    assert [layer.config() for layer in loaded.layers] == [layer.config() for layer in net.layers]
    np.testing.assert_array_equal(loaded.predict(X), net.predict(X))
    assert check_model(loaded, X[:4], y[:4]).passed
