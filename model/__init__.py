"""Networks composed from layers, their optimizers and their training loop.

``Sequential`` chains any layers and a loss; ``TwoLayerNet`` is the handout's instance of it;
``build_mlp`` makes the networks the command lines train; ``load`` reads any saved model.
"""

from .builders import build_mlp
from .net import TwoLayerNet
from .sequential import Sequential
from .serialization import load

__all__ = ["Sequential", "TwoLayerNet", "build_mlp", "load"]
