"""Layers with hand-derived backward passes: ``from layers import Linear, ReLU, Sigmoid, BCELoss``."""

from .activations import LeakyReLU, ReLU, Sigmoid, Softmax, Tanh, log_softmax, softmax
from .base import Layer
from .conv import Conv2d, Flatten, MaxPool2d, Unflatten
from .gates import Add, Copy, Max, Multiply
from .hinge import SVMLoss
from .linear import Linear
from .losses import BCELoss, CrossEntropyLoss, MSELoss, SigmoidBCELoss, SoftmaxCrossEntropyLoss
from .norm import BatchNorm2d, LayerNorm
from .regularization import BatchNorm, Dropout

__all__ = [
    "Layer", "Linear", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "softmax", "log_softmax",
    "BCELoss", "SigmoidBCELoss", "CrossEntropyLoss", "SoftmaxCrossEntropyLoss", "MSELoss",
    "Dropout", "BatchNorm", "Add", "Multiply", "Max", "Copy",
    "Conv2d", "MaxPool2d", "Flatten", "Unflatten", "BatchNorm2d", "LayerNorm", "SVMLoss",
]
