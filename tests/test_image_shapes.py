"""The image layers' ``output_shape`` and the network's check of sizes through them (review 28, finding 5).

``Conv2d``, ``MaxPool2d``, ``Flatten`` and ``Unflatten`` say the (C, H, W) of one image they give for the one they
are given; ``Sequential`` carries that shape from an ``Unflatten`` on, so a network whose image layers do not chain is
refused when it is built (and a model file when it is loaded), naming the layer, before any image is made.
"""

import numpy as np
import pytest

from layers import (BatchNorm, BatchNorm2d, Conv2d, Flatten, LayerNorm, Linear, MaxPool2d, ReLU,
                    SoftmaxCrossEntropyLoss, Unflatten)
from model import Sequential
from model.builders import Architecture


@pytest.mark.parametrize("make,shape", [
    (lambda: Conv2d(2, 3, 3, stride=2, padding=1, rng=0), (2, 4, 6)),
    (lambda: Conv2d(2, 3, 2, rng=0), (2, 5, 7)),
    (lambda: MaxPool2d(2), (2, 5, 7)),
    (lambda: MaxPool2d(3, stride=1), (2, 4, 6)),
    (lambda: Flatten(), (2, 3, 5)),
    (lambda: Unflatten(2, 3, 5), (30,)),
])
def test_output_shape_is_the_shape_forward_gives_on_non_square_images(make, shape):
    layer = make()
    out = layer.forward(np.random.default_rng(0).standard_normal((2, *shape)))
    assert layer.output_shape(shape) == out.shape[1:]


@pytest.mark.parametrize("make,shape,words", [
    (lambda: Conv2d(2, 3, 3, rng=0), (3, 5, 5), ["Conv2d", "(2, H, W)", "3x5x5"]),
    (lambda: Conv2d(2, 3, 3, rng=0), (50,), ["Conv2d", "rows of 50"]),
    (lambda: Conv2d(2, 3, 3, rng=0), (2, 2, 9), ["Conv2d", "2 pixels", "kernel, 3"]),
    (lambda: MaxPool2d(4), (1, 9, 3), ["MaxPool2d", "3 pixels", "kernel, 4"]),
    (lambda: Unflatten(1, 4, 4), (1, 4, 4), ["Unflatten", "16 features", "1x4x4"]),
    (lambda: Unflatten(1, 4, 4), (15,), ["Unflatten", "16 features", "15"]),
])
def test_output_shape_refuses_what_the_layer_cannot_take(make, shape, words):
    with pytest.raises(ValueError) as info:
        make().output_shape(shape)
    assert all(word in str(info.value) for word in words)


def image_net(*middle, linear_in=16):
    """Unflatten(1, 4, 4), the ``middle`` layers, Flatten, Linear(linear_in, 3), softmax cross-entropy."""
    return Sequential([Unflatten(1, 4, 4), *middle, Flatten(), Linear(linear_in, 3, rng=0)], SoftmaxCrossEntropyLoss())


def test_a_network_whose_image_layers_chain_is_built():
    net = image_net(Conv2d(1, 4, 3, padding=1, rng=0), BatchNorm2d(4), ReLU(), MaxPool2d(2))
    assert (net.input_dim, net.output_dim) == (16, 3)


@pytest.mark.parametrize("middle,linear_in,words", [
    ((Conv2d(1, 4, 3, padding=2, rng=0), ReLU(), MaxPool2d(2)), 16, ["layer 5 (Linear", "16 input features",
                                                                      "layer 4 (Flatten", "36 features"]),
    ((Conv2d(1, 4, 3, stride=3, padding=1, rng=0), MaxPool2d(2)), 16, ["layer 4 (Linear", "4 features"]),
    ((Conv2d(1, 4, 3, padding=1, rng=0), BatchNorm2d(3)), 64, ["layer 2 (BatchNorm2d", "3 channels",
                                                               "layer 1 (Conv2d", "images of 4x4x4"]),
    ((Conv2d(2, 4, 3, rng=0),), 16, ["layer 1 (Conv2d", "(2, H, W)", "layer 0 (Unflatten", "1x4x4"]),
    ((Conv2d(1, 4, 5, rng=0),), 16, ["layer 1 (Conv2d", "4 pixels", "kernel, 5"]),
    ((Unflatten(1, 4, 4),), 16, ["layer 1 (Unflatten", "16 features", "1x4x4"]),
])
def test_a_network_whose_image_layers_do_not_chain_is_refused_naming_the_layer(middle, linear_in, words):
    with pytest.raises(ValueError, match="do not chain") as info:
        image_net(*middle, linear_in=linear_in)
    assert all(word in str(info.value) for word in words), str(info.value)


def test_a_missing_flatten_and_a_missing_unflatten_are_refused():
    pool = [Unflatten(1, 4, 4), Conv2d(1, 4, 3, padding=1, rng=0), MaxPool2d(2)]
    with pytest.raises(ValueError, match=r"layer 3 \(Linear.*rows of 16 features.*images of 4x2x2"):
        Sequential([*pool, Linear(16, 3, rng=0)], SoftmaxCrossEntropyLoss())
    with pytest.raises(ValueError, match=r"layer 1 \(Conv2d.*layer 0 \(Linear.*rows of 16 features"):
        Sequential([Linear(8, 16, rng=0), Conv2d(1, 4, 3, rng=0), Flatten(), Linear(16, 3, rng=0)],
                   SoftmaxCrossEntropyLoss())


class LearnersPool:
    """A learner's 2x2 max pooling: no ``output_shape``, no parameters (it changes the image's size all the same)."""

    params, grads = {}, {}

    def forward(self, x):
        n, c, h, w = x.shape
        return x[:, :, :h // 2 * 2, :w // 2 * 2].reshape(n, c, h // 2, 2, w // 2, 2).max(axis=(3, 5))

    def backward(self, upstream):
        raise NotImplementedError  # not called: only the network's sizes are checked here


def test_a_layer_that_says_nothing_of_its_sizes_makes_the_image_unknown_not_refused():
    """A learner's pooling (parameterless, like an activation) must not be taken to keep the image's size: the
    width after Flatten is then unknown, and Linear(16) after a 4x4x4 image pooled to 4x2x2 is built."""
    net = image_net(Conv2d(1, 4, 3, padding=1, rng=0), LearnersPool())
    assert net.output_dim == 3


def test_layers_that_read_the_last_axis_keep_an_image_unknown_not_refused():
    """LayerNorm on images normalises their width, BatchNorm on images is not this check's to refuse: the image's
    shape is unknown after them, and the network is built."""
    assert image_net(LayerNorm(4)).output_dim == 3
    assert image_net(BatchNorm(4), linear_in=16).output_dim == 3


@pytest.mark.parametrize("image,conv,sides", [((1, 7, 5), (2, 3), [(7, 5), (3, 2), (1, 1)]),
                                              ((3, 8, 9), (4,), [(8, 9), (4, 4)])])
def test_architecture_sides_are_the_pooled_sides_of_the_network_it_builds(image, conv, sides):
    arch = Architecture(hidden=(), image=image, conv=conv)
    net = arch.build(int(np.prod(image)), classes=3, seed=0)
    shape, seen = image, [image[1:]]
    for layer in net.layers:
        if isinstance(layer, (Conv2d, MaxPool2d)):
            shape = layer.output_shape(shape)
        if isinstance(layer, MaxPool2d):
            seen.append(shape[1:])
    assert arch.sides() == sides == seen
    assert arch.flat_width() == conv[-1] * sides[-1][0] * sides[-1][1]
