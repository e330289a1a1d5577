"""The seed's two-layer network, its optimizers and its training loop."""

from .net import TwoLayerNet

__all__ = ["TwoLayerNet"]
