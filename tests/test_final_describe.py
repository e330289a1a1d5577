"""Final review of issue 28 (a practitioner reading the picture ``train.py --plot`` draws for an image network).

``Sequential.describe()`` is the picture's title (``app/train_cli.py``), the ONNX file's ``doc_string`` and the
network named in ``--use``'s refusals. It builds widths from ``out_features`` and lists only the layers without
parameters, so the network ``train.py --image 1x4x4 --conv 4`` builds is described as
"16-1 Unflatten/ReLU/MaxPool2d/Flatten/Sigmoid, BCELoss": no convolution, and a 16-1 that is not its shape
(the run's own model line, ``Architecture.describe``, said it right). Fixed: ``Sequential.describe`` names the
image blocks, and ``Architecture.describe`` is it (one home for the model line).
"""

import numpy as np

from layers import BCELoss, Conv2d, Flatten, Linear, MaxPool2d, MSELoss, ReLU, Sigmoid, Tanh, Unflatten
from model import Sequential
from model.builders import Architecture


def image_network():
    """The network of ``train.py --image 1x4x4 --conv 4`` (without its Standardize)."""
    return Sequential([Unflatten(1, 4, 4), Conv2d(1, 4, 3, padding=1, rng=0), ReLU(), MaxPool2d(2), Flatten(),
                       Linear(16, 1, rng=0), Sigmoid()], loss=BCELoss())


def test_a_table_network_is_described_by_its_widths():
    """What holds (passes today): a chain of Linear layers reads as its widths and activations."""
    net = Sequential([Linear(2, 3, rng=0), ReLU(), Linear(3, 1, rng=0), Sigmoid()], loss=BCELoss())
    assert net.describe().startswith("2-3-1 ReLU/Sigmoid")


def test_an_image_network_is_described_with_its_convolutions():
    assert "Conv2d" in image_network().describe()


def test_the_description_is_the_runs_model_line():
    """The line train.py prints: its blocks, the shape they give and the dense widths after them."""
    assert image_network().describe() == ("1x4x4 images, conv 4 (each Conv2d 3x3 padding 1, ReLU, MaxPool2d 2) to "
                                          "4x2x2, then 16-1 Sigmoid, BCELoss")
    arch = Architecture(hidden=(), image=(1, 8, 8), conv=(8, 16), weight_decay=0.1)
    net = arch.build(64, classes=10, seed=0)
    assert arch.describe(net) == net.describe() == (
        "1x8x8 images, conv 8,16 (each Conv2d 3x3 padding 1, ReLU, MaxPool2d 2) to 16x2x2, then 64-10, "
        "weight decay 0.1, SoftmaxCrossEntropyLoss")


def test_blocks_that_differ_are_each_named_with_their_strides():
    net = Sequential([Unflatten(1, 8, 8), Conv2d(1, 2, 3, padding=1, rng=0), ReLU(), MaxPool2d(2),
                      Conv2d(2, 3, 3, stride=2, rng=0), Tanh(), MaxPool2d(1, stride=2), Flatten(),
                      Linear(3, 1, rng=0), Sigmoid()], loss=BCELoss())
    assert net.describe().startswith("1x8x8 images, conv 2 (Conv2d 3x3 padding 1, ReLU, MaxPool2d 2), 3 (Conv2d "
                                     "3x3 padding 0 stride 2, Tanh, MaxPool2d 1 stride 2) to 3x1x1, then 3-1 Sigmoid")


class LearnersConv:
    """A learner's convolution: weights of shape (F, C, k, k) and no ``output_shape`` (its sizes are unknown)."""

    def __init__(self):
        self.params = {"W": np.zeros((4, 1, 3, 3))}
        self.grads = {"W": np.zeros((4, 1, 3, 3))}
        self.padding, self.stride = 1, 1

    def forward(self, x):
        return x

    def backward(self, upstream):
        return upstream


def test_a_learners_convolution_is_named_and_no_shape_is_made_up():
    net = image_network()
    net.layers[1] = LearnersConv()
    text = net.describe()
    assert text.startswith("1x4x4 images, conv 4 (each LearnersConv 3x3 padding 1, ReLU, MaxPool2d 2), then 16-1")
    assert " to " not in text


def test_without_a_flatten_the_network_reads_as_a_table():
    net = Sequential([Unflatten(1, 2, 2), ReLU()], loss=MSELoss())
    assert "images" not in net.describe()
