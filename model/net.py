"""The handout's network, ``p = sigmoid(relu(X @ w1) @ w2 + b)``, as one instance of ``Sequential``."""

import numpy as np

from layers.validation import ParameterError, check_count

from .factory import check_types, make
from .sequential import Sequential

_NAMES = {"fc1": {"W": "w1", "b": "b1"}, "fc2": {"W": "w2", "b": "b"}}


class TwoLayerNet(Sequential):
    """``Standardize → Linear(D, H, bias=hidden_bias) → ReLU → Linear(H, 1) → Sigmoid`` with ``BCELoss``.

    The handout's network (D = 2, H = 3, no first-layer bias, BCE averaged over the batch) is the
    default. It is a ``Sequential`` like any other; only its parameters keep the handout's names.

    Parameters
    ----------
    input_dim : int, default 2 (the handout's D)
    hidden_dim : int, default 3 (the handout's H)
    hidden_bias : bool, default False; the handout's first layer has none.
    fused : bool, default False; replace Sigmoid + BCELoss by ``SigmoidBCELoss`` on the logits.
    seed : None, int or numpy.random.Generator, for the He-initialised weights.
    dtype : numpy float dtype, default float64. Inputs are cast to it at the boundary.
    weight_decay : float >= 0, default 0 (see ``Sequential``).
    standardize : bool, default True: a leading ``Standardize`` layer (the identity until the
        training loop fits it), so a saved model takes raw points. False leaves it out.
    layer_types : dict of class name -> class, optional. A learner's class takes the place of the library's
        of that name: ``{"Sigmoid": MySigmoid}`` (see ``model.factory``).

    Attributes
    ----------
    params, grads : dict of str -> ndarray
        ``"w1"`` (D, H), ``"w2"`` (H, 1), ``"b"`` (1,) and, with a hidden bias, ``"b1"`` (H,): the
        layers' own arrays, read live (see ``Sequential``).
    fc1, relu, fc2, sigmoid, criterion : the layers by the handout's roles (``sigmoid`` is None when fused)
    """

    def __init__(self, input_dim=2, hidden_dim=3, hidden_bias=False, fused=False, seed=None, dtype=np.float64,
                 weight_decay=0.0, standardize=True, layer_types=None):
        self.input_dim = check_count(input_dim, "input_dim", "TwoLayerNet")
        self.hidden_dim = check_count(hidden_dim, "hidden_dim", "TwoLayerNet")
        self.hidden_bias, self.fused, self.standardize = bool(hidden_bias), bool(fused), bool(standardize)
        dtype = np.dtype(dtype)
        if dtype not in (np.float32, np.float64):
            raise ParameterError("TwoLayerNet", "dtype", f"must be float32 or float64, got {dtype}")
        rng, types = np.random.default_rng(seed), check_types(layer_types)
        self.fc1 = make(types, "Linear", self.input_dim, self.hidden_dim, bias=self.hidden_bias, rng=rng, dtype=dtype)
        self.relu = make(types, "ReLU")
        self.fc2 = make(types, "Linear", self.hidden_dim, 1, rng=rng, dtype=dtype)
        self.sigmoid = None if self.fused else make(types, "Sigmoid")
        layers = [self.fc1, self.relu, self.fc2] + ([] if self.fused else [self.sigmoid])
        if self.standardize:
            layers.insert(0, make(types, "Standardize", self.input_dim, dtype=dtype))
        loss = make(types, "SigmoidBCELoss" if self.fused else "BCELoss")
        super().__init__(layers, loss, weight_decay=weight_decay)

    def _param_key(self, i, name):
        layer = self.layers[i]
        role = "fc1" if layer is self.fc1 else "fc2" if layer is self.fc2 else None
        return _NAMES[role][name] if role else super()._param_key(i, name)

    def config(self):
        """The constructor arguments that rebuild this architecture."""
        return {"input_dim": self.input_dim, "hidden_dim": self.hidden_dim, "hidden_bias": self.hidden_bias,
                "fused": self.fused, "weight_decay": self.weight_decay, "standardize": self.standardize}

    def __repr__(self):
        return (f"TwoLayerNet(input_dim={self.input_dim}, hidden_dim={self.hidden_dim}, "
                f"hidden_bias={self.hidden_bias}, fused={self.fused}, dtype={self.dtype.name})")
