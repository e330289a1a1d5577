"""Build the networks the command lines train, from a few words: widths, activation, classes."""

from dataclasses import asdict, dataclass

import numpy as np

from layers import (BatchNorm, BCELoss, Dropout, LeakyReLU, Linear, ReLU, Sigmoid, SigmoidBCELoss,
                    SoftmaxCrossEntropyLoss, Tanh)
from layers.standardize import Standardize

from .net import TwoLayerNet
from .sequential import Sequential

#: the hidden activations by the names the command lines use
ACTIVATION_LAYERS = {"relu": ReLU, "tanh": Tanh, "sigmoid": Sigmoid, "leaky_relu": LeakyReLU}
ACTIVATIONS = tuple(ACTIVATION_LAYERS)


def build_mlp(input_dim, hidden=(3,), activation="relu", hidden_bias=False, classes=2, fused=False,
              weight_decay=0.0, standardize=True, dropout=0.0, batchnorm=False, seed=None, dtype=np.float64):
    """A multi-layer perceptron whose loss follows the labels.

    Two classes: a single output with ``Sigmoid`` + ``BCELoss`` (the handout's; ``fused`` uses
    ``SigmoidBCELoss`` on the logits). More: ``K`` outputs with ``SoftmaxCrossEntropyLoss``. With one
    hidden layer, ReLU, two classes, no dropout and no batch norm, this is exactly the handout's
    ``TwoLayerNet`` (parameters ``w1``, ``w2``, ``b``).

    Parameters
    ----------
    input_dim : int, D
    hidden : sequence of int, the hidden widths (one number: today's two-layer net)
    activation : "relu", "tanh", "sigmoid" or "leaky_relu", after every hidden Linear
    hidden_bias : bool, biases on the hidden Linear layers (the output layer always has one)
    classes : int >= 2, K
    weight_decay : float >= 0, λ of the L2 penalty on every weight matrix
    standardize : bool, a leading ``Standardize`` layer (fitted by the training loop)
    dropout : float in [0, 1), a ``Dropout(p)`` after each hidden activation when > 0
    batchnorm : bool, a ``BatchNorm`` after each hidden Linear, before its activation
    seed : None, int or Generator, for the initial weights (and dropout masks)
    dtype : float32 or float64

    Returns
    -------
    Sequential (a ``TwoLayerNet`` in the handout's case)
    """
    hidden = tuple(int(h) for h in ([hidden] if np.isscalar(hidden) else hidden))
    if not hidden or min(hidden) < 1:
        raise ValueError(f"hidden widths must be positive integers, got {hidden}")
    if activation not in ACTIVATIONS:
        raise ValueError(f"unknown activation {activation!r}; choose from {', '.join(ACTIVATIONS)}")
    if isinstance(classes, bool) or int(classes) != classes or classes < 2:
        raise ValueError(f"classes must be an integer >= 2, got {classes!r}")
    dropout = float(dropout)
    if len(hidden) == 1 and activation == "relu" and classes == 2 and not dropout and not batchnorm:
        return TwoLayerNet(input_dim, hidden[0], hidden_bias=hidden_bias, fused=fused, seed=seed, dtype=dtype,
                           weight_decay=weight_decay, standardize=standardize)
    rng = np.random.default_rng(seed)
    act = ACTIVATION_LAYERS[activation]
    stack = [Standardize(input_dim, dtype=dtype)] if standardize else []
    width = input_dim
    for h in hidden:
        stack.append(Linear(width, h, bias=hidden_bias, rng=rng, dtype=dtype))
        if batchnorm:
            stack.append(BatchNorm(h).astype(dtype))
        stack.append(act())
        if dropout:
            stack.append(Dropout(dropout, rng=rng))
        width = h
    if classes == 2:
        stack.append(Linear(width, 1, rng=rng, dtype=dtype))
        if not fused:
            stack.append(Sigmoid())
        loss = SigmoidBCELoss() if fused else BCELoss()
    else:
        stack.append(Linear(width, int(classes), rng=rng, dtype=dtype))
        loss = SoftmaxCrossEntropyLoss()
    return Sequential(stack, loss, weight_decay=weight_decay)


@dataclass
class Architecture:
    """The words ``build_mlp`` takes, bundled: what ``train.py``'s model options describe.

    ``build(input_dim, classes, seed)`` makes the network once the data says D and K.
    """

    hidden: tuple = (3,)
    activation: str = "relu"
    hidden_bias: bool = False
    fused: bool = False
    weight_decay: float = 0.0
    standardize: bool = True
    dropout: float = 0.0
    batchnorm: bool = False
    dtype: str = "float64"

    def build(self, input_dim, classes=2, seed=None):
        return build_mlp(input_dim, classes=classes, seed=seed, **asdict(self))
