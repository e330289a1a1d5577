"""Networks composed from layers, how they are trained, saved and loaded.

``Sequential`` chains any layers and a loss; ``TwoLayerNet`` is the handout's instance of it;
``build_mlp`` / ``Architecture`` make the networks the command lines train; ``train`` fits one;
``save`` writes a network to a model file, ``load`` reads any back; ``to_onnx``
writes one as an ONNX model (the ``onnx`` extra).
"""

from .builders import Architecture, build_mlp
from .net import TwoLayerNet
from .onnx_export import to_onnx
from .sequential import Sequential
from .training import History, TrainingConfig, TrainingDiverged, train

#: ``save(net, path)`` writes a network; ``load(path)`` reads any saved model, as the class it names
save, load = Sequential.save, Sequential.load

__all__ = ["Sequential", "TwoLayerNet", "Architecture", "build_mlp", "train", "TrainingConfig", "History",
           "TrainingDiverged", "save", "load", "to_onnx", "MLPClassifier", "MLPRegressor"]

#: scikit-learn-compatible estimators, imported on first use: the core never needs scikit-learn
ESTIMATORS = ("MLPClassifier", "MLPRegressor")


def __getattr__(name):
    if name in ESTIMATORS:
        from . import estimators

        return getattr(estimators, name)
    raise AttributeError(f"module 'model' has no attribute {name!r}")
