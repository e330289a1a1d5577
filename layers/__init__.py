"""Layers with hand-derived backward passes: ``from layers import Linear, ReLU, Sigmoid, BCELoss``."""

from .activations import ReLU, Sigmoid
from .base import Layer
from .gates import Add, Copy, Max, Multiply
from .linear import Linear
from .losses import BCELoss, SigmoidBCELoss

__all__ = ["Layer", "Linear", "ReLU", "Sigmoid", "BCELoss", "SigmoidBCELoss", "Add", "Multiply", "Max", "Copy"]
