"""Networks of images built from a few words: ``Unflatten`` reads rows as images, ``Architecture(image=, conv=)``
builds blocks of convolution, activation and pooling, the layer path trains them (the engine declines, saying
why), and a model file keeps them."""

import re

import numpy as np
import pytest

from checking.checker import check_model
from layers import Flatten, Unflatten
from layers.validation import ParameterError
from model import load
from model.builders import Architecture
from model.training import train


def _bars(n=40, seed=0):
    """(n, 16) rows of 4×4 images holding a bright bar, across (label 0) or down (label 1), on a dim background."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 2, (n, 4, 4))
    y = np.arange(n) % 2
    where = rng.integers(0, 4, n)
    for i in range(n):
        if y[i]:
            images[i, :, where[i]] = 9
        else:
            images[i, where[i], :] = 9
    return images.reshape(n, 16), y


# ---------------------------------------------------------------- Unflatten


def test_unflatten_reads_a_row_in_pytorchs_order_and_is_flattens_inverse(rng):
    x = rng.standard_normal((5, 2 * 3 * 4))
    layer = Unflatten(2, 3, 4)
    out = layer.forward(x)
    assert out.shape == (5, 2, 3, 4) and layer.in_features == 24
    assert out[1, 1, 2, 3] == x[1, 1 * 12 + 2 * 4 + 3]  # column c·H·W + h·W + w is pixel (h, w) of channel c
    np.testing.assert_array_equal(Flatten().forward(out), x)
    upstream = rng.standard_normal(out.shape)
    np.testing.assert_array_equal(layer.backward(upstream), upstream.reshape(5, 24))


@pytest.mark.parametrize("shape", [(5, 23), (5, 2, 12), (24,)])
def test_unflatten_refuses_rows_of_another_width_naming_both(shape):
    with pytest.raises(ValueError, match=rf"\(N, 24\).*2x3x4.*{re.escape(str(shape))}"):
        Unflatten(2, 3, 4).forward(np.zeros(shape))


@pytest.mark.parametrize("args, param", [((0, 3, 4), "channels"), ((1, 2.5, 4), "height"), ((1, 3, True), "width")])
def test_unflatten_refuses_sizes_that_are_not_positive_integers(args, param):
    with pytest.raises(ParameterError) as info:
        Unflatten(*args)
    assert info.value.param == param and info.value.owner == "Unflatten"


# ---------------------------------------------------------------- Architecture(image=, conv=)


def test_the_blocks_are_conv_activation_pool_then_flatten_and_the_output():
    net = Architecture(hidden=(), image=(1, 8, 8), conv=(8, 16)).build(64, classes=10, seed=0)
    names = [type(layer).__name__ for layer in net.layers]
    assert names == ["Standardize", "Unflatten", "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d",
                     "Flatten", "Linear"]
    convs = [layer.config() for layer in net.layers if type(layer).__name__ == "Conv2d"]
    assert [(c["in_channels"], c["out_channels"], c["kernel_size"], c["padding"]) for c in convs] == \
        [(1, 8, 3, 1), (8, 16, 3, 1)]
    assert net.layers[-1].params["W"].shape == (16 * 2 * 2, 10) and net.input_dim == 64
    assert net.predict(np.zeros((3, 64))).shape == (3,)


def test_hidden_widths_follow_the_flatten_and_the_activation_is_the_blocks_too():
    arch = Architecture(hidden=(32,), activation="tanh", image=(2, 6, 5), conv=(4,))
    net = arch.build(60, classes=2, seed=0)
    names = [type(layer).__name__ for layer in net.layers]
    assert names == ["Standardize", "Unflatten", "Conv2d", "Tanh", "MaxPool2d", "Flatten", "Linear", "Tanh", "Linear",
                     "Sigmoid"]
    assert net.layers[names.index("Linear")].params["W"].shape == (4 * 3 * 2, 32)  # 6x5 pooled to 3x2
    assert "then 24-32-1 Tanh/Sigmoid" in arch.describe(net) and arch.describe(net).startswith("2x6x5 images, conv 4")


def test_a_regression_and_a_network_without_standardize_take_the_blocks_too():
    arch = Architecture(hidden=(), image=(1, 4, 4), conv=(2,), standardize=False)
    net = arch.build_regressor(16, outputs=2, seed=0)
    assert type(net.layers[0]).__name__ == "Unflatten" and net.predict(np.ones((3, 16))).shape == (3, 2)


def test_the_handouts_network_is_never_an_image_network():
    arch = Architecture(hidden=(3,), image=(1, 4, 4), conv=(2,))
    assert not arch.is_handouts(2) and "Conv2d" in [type(layer).__name__ for layer in arch.build(16).layers]


@pytest.mark.parametrize("kwargs, param, words", [
    (dict(conv=(4,)), "image", "conv"),
    (dict(image=(1, 8, 8)), "conv", "channel count"),
    (dict(image=(1, 8), conv=(4,)), "image", "three sizes"),
    (dict(image=(1, 8, 0), conv=(4,)), "image", "positive"),
    (dict(image=(1, 8, 8), conv=(4, 0)), "conv", "positive"),
    (dict(image=(1, 8, 8), conv=(4, 4, 4, 4)), "conv", "8x8.*below 1x1.*at most 3"),
    (dict(image=(1, 16, 3), conv=(4, 4)), "conv", "16x3.*below 1x1.*at most 1"),  # the shorter side decides
    (dict(image=(1, 8, 8), conv=(4,), hidden=(), dropout=0.5), "dropout", "hidden"),
    (dict(image=(1, 8, 8), conv=(4,), hidden=(), batchnorm=True), "batchnorm", "hidden"),
    (dict(hidden=()), "hidden", "positive"),  # only image blocks may stand without hidden widths
])
def test_the_architecture_refuses_what_cannot_be_built_naming_the_field(kwargs, param, words):
    with pytest.raises(ParameterError, match=words) as info:
        Architecture(**{"hidden": (), **kwargs})
    assert info.value.param == param


def test_as_many_blocks_as_fit_are_built():
    net = Architecture(hidden=(), image=(1, 8, 8), conv=(2, 2, 2)).build(64, 3)  # 8 -> 4 -> 2 -> 1
    assert net.layers[-1].params["W"].shape == (2, 3)


def test_rows_of_another_width_than_the_image_are_refused_with_both_numbers():
    arch = Architecture(hidden=(), image=(3, 4, 4), conv=(2,))
    for build in (lambda: arch.build(47, 2), lambda: arch.build_regressor(49)):
        with pytest.raises(ParameterError, match=r"3x4x4 is 48 numbers.*has 4[79] features") as info:
            build()
        assert info.value.param == "image"


# ---------------------------------------------------------------- trained by the layer path, saved, checked


def test_the_engine_declines_an_image_network_and_says_so_and_the_layers_train_it():
    X, y = _bars()
    net = Architecture(hidden=(), image=(1, 4, 4), conv=(4,)).build(16, 2, seed=0)
    before = net.evaluate(X, y)["loss"]
    history = train(net, X, y, epochs=40, lr=0.03, optimizer="adam", seed=0)
    assert history.engine == "layers" and "Unflatten" in history.engine_note and "engine" in history.engine_note
    assert net.evaluate(X, y)["loss"] < before / 2 and (net.predict(X) == y).mean() >= 0.95


def test_the_whole_image_network_passes_the_gradient_check_and_a_broken_unflatten_fails_it():
    X, y = _bars(6)
    net = Architecture(hidden=(5,), hidden_bias=True, image=(1, 4, 4), conv=(2,)).build(16, 3, seed=1)
    net.layers[0].fit(X)
    y = np.arange(6) % 3
    assert check_model(net, X, y).passed
    unflatten = net.layers[1]
    unflatten.backward = lambda upstream: upstream.transpose(0, 1, 3, 2).reshape(len(upstream), -1)  # H, W swapped
    assert not check_model(net, X, y).passed


def test_an_image_network_round_trips_through_a_model_file(tmp_path):
    X, y = _bars()
    net = Architecture(hidden=(6,), image=(1, 4, 4), conv=(3, 2)).build(16, 2, seed=0)
    train(net, X, y, epochs=3, lr=0.01, optimizer="adam", seed=0)
    loaded = load(net.save(tmp_path / "m.npz"))
    assert [layer.config() for layer in loaded.layers] == [layer.config() for layer in net.layers]
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
    assert loaded.input_dim == 16
