"""What the engine runs, and the one flat vector it keeps the parameters in.

``compile_network(net)`` reads a network into a ``Plan``, or raises ``Unsupported`` saying why it
cannot: the engine runs the networks and optimizers ``model.engine`` lists (losses without settings such
as a class weighting), the library's own classes only (a subclass may change what they compute).

``FoldedParameters`` holds every ``Linear`` as one matrix ``[[W], [b]]`` of shape (n_in + 1, n_out),
applied to an input with a column of ones appended, so ``x @ W + b`` is one product and ``dℓ/db`` (the
batch sum of the upstream) comes out of the same ``[x 1]ᵀ · upstream`` product as ``dℓ/dW``. A hidden
layer's matrix carries one more column, the *constant unit*: it reads the input's ones column and its
activation is always 1, the next layer's ones column. Entries that are not parameters (that column, a
missing bias row) have their gradient multiplied by 0 (``masks``), so they never move.
"""

import sys
from dataclasses import dataclass

import numpy as np

from layers import Linear

from ..optim import SGD, Adam
from ..registry import ACTIVATIONS, SQUASHED, library_class
from .kernels import CONSTANT_INPUT

#: the library's activation class names -> the engine's kernel names (the registry's names)
KERNELS = {cls_name: name for name, cls_name in ACTIVATIONS.items()}
OPTIMIZERS = (SGD, Adam)


@dataclass(frozen=True)
class Head:
    """How a loss is computed from the last ``Linear``'s logits: ``kind`` "binary" (one logit, sigmoid) or
    "softmax" (K logits); ``requires`` the layer that must end the chain (Sigmoid before BCELoss), or None — then
    the loss takes logits (else it takes probabilities, clipped: each sample's loss is capped at −log eps)."""

    kind: str
    requires: str = None


#: the losses the engine has kernels for, by the registry's class names; which layer each must follow is the
#: registry's (``SQUASHED``, what model files are held to)
HEADS = {name: Head(kind, SQUASHED[name][0] if name in SQUASHED else None) for name, kind in (
    ("SigmoidBCELoss", "binary"), ("BCELoss", "binary"), ("SoftmaxCrossEntropyLoss", "softmax"),
    ("CrossEntropyLoss", "softmax"))}


class Unsupported(Exception):
    """The engine does not run this network or optimizer; the message says why."""


@dataclass(frozen=True)
class Stage:
    """One ``Linear`` and the activation after it (None for the last)."""

    linear: Linear
    activation: str = None
    alpha: float = None


@dataclass(frozen=True)
class Plan:
    """A network as the engine runs it: its stages, its head and its dtype."""

    stages: tuple
    head: Head
    dtype: np.dtype

    @property
    def input_dim(self):
        return self.stages[0].linear.in_features

    @property
    def classes(self):
        """The number of logits (1 for a binary head)."""
        return self.stages[-1].linear.out_features


def compile_network(net):
    """``net`` as a ``Plan``; raises ``Unsupported`` when the engine cannot run it."""
    dtype = np.dtype(getattr(net, "dtype", np.float64))
    if dtype not in (np.float32, np.float64):
        raise Unsupported(f"the engine runs float32 and float64, not {dtype}")
    criterion = getattr(net, "criterion", None)
    head, layers = _head(criterion, list(getattr(net, "layers", [])))
    stages = _stages(layers)
    width = stages[-1].linear.out_features
    if (head.kind == "binary") != (width == 1):
        raise Unsupported(f"{type(criterion).__name__} with {width} outputs is not one the engine runs")
    if any(np.asarray(p).dtype != dtype for stage in stages for p in stage.linear.params.values()):
        raise Unsupported("every parameter must have the network's dtype")
    return Plan(tuple(stages), head, dtype)


def _head(criterion, layers):
    """The ``Head`` of ``criterion`` and the layers before it (less the Sigmoid or Softmax it requires)."""
    head = HEADS.get(library_class(criterion, "loss"))
    if head is None:
        raise Unsupported(_not_run("the loss", criterion))
    settings = sorted(k for k, v in criterion.config().items() if v is not None)  # e.g. a class weighting
    if settings:
        raise Unsupported(f"the loss {type(criterion).__name__} with {', '.join(settings)} is not one the engine runs")
    if head.requires is None:
        return head, layers
    if layers and type(layers[-1]).__name__ == head.requires and library_class(layers[-1], "layer") is None:
        raise Unsupported(_not_run(f"layer {len(layers) - 1}", layers[-1]))
    if not layers or library_class(layers[-1], "layer") != head.requires:
        raise Unsupported(f"{type(criterion).__name__} must follow a {head.requires} layer")
    return head, layers[:-1]


def _stages(layers):
    """Pairs ``Linear`` → activation, the last ``Linear`` alone."""
    stages, i = [], 0
    while i < len(layers):
        linear = layers[i]
        if getattr(linear, "preprocessing", False):
            raise Unsupported(f"layer {i} ({type(linear).__name__}) is preprocessing: train the network "
                              "split_preprocessing() leaves (model.training.train does)")
        if type(linear) is not Linear:
            raise Unsupported(_not_run(f"layer {i}", linear))
        if i + 1 == len(layers):
            stages.append(Stage(linear))
            break
        after = layers[i + 1]
        activation = KERNELS.get(library_class(after, "layer"))
        if activation is None:
            raise Unsupported(_not_run(f"layer {i + 1}", after))
        stages.append(Stage(linear, activation, getattr(after, "alpha", None)))
        i += 2
    if not stages or stages[-1].activation is not None:
        raise Unsupported("the network must end in a Linear layer (and its output's Sigmoid or Softmax)")
    return stages


def _not_run(what, obj):
    """Why the engine does not run ``obj``: a class it has no kernels for, or a class that is not the library's."""
    cls = type(obj)
    if cls.__module__.split(".")[0] != "layers":
        where = getattr(sys.modules.get(cls.__module__), "__file__", None) or cls.__module__
        return (f"{what} ({cls.__name__}) is your own class, from {where}: the engine runs only the library's "
                "classes, which it is tested against")
    return f"{what} ({cls.__name__}) is not one the engine runs"


def unsupported_reason(net, optimizer=None):
    """Why the engine cannot train ``net`` (with ``optimizer``, a ``model.optim`` object), or None; ``net`` is the
    network the training loop trains (leading preprocessing layers already split off)."""
    try:
        compile_network(net)
    except Unsupported as exc:
        return str(exc)
    if optimizer is not None and type(optimizer) not in OPTIMIZERS:  # by type identity
        return f"the optimizer {type(optimizer).__name__} is not one the engine runs"
    return None


class FoldedParameters:
    """Every parameter of a ``Plan`` in one flat vector, each ``Linear`` a folded matrix view of it.

    Attributes
    ----------
    values, grads : (n,) the flat parameters and their gradient; ``chunk_grads`` (n,) one chunk's
        gradient, added to ``grads`` when a batch is processed in chunks.
    weights, weight_grads, chunk_weight_grads : per stage, (n_in + 1, n_out [+ 1]) views of the three
        vectors: ``[[W, 0], [b, c]]`` with the constant unit's column on hidden layers.
    masks : per stage, a 0/1 array of that shape that zeroes the gradient of entries that are not
        parameters, or None when every entry is one.
    weight_mask : (n,) 1 on every weight ``W`` entry, 0 on biases and the constant units (the entries
        the L2 penalty covers).
    """

    def __init__(self, plan):
        self.stages = plan.stages
        shapes = [(s.linear.in_features + 1, s.linear.out_features + (s.activation is not None)) for s in plan.stages]
        sizes = [rows * cols for rows, cols in shapes]
        self.values = np.zeros(sum(sizes), plan.dtype)
        self.grads = np.zeros_like(self.values)
        self.chunk_grads = np.zeros_like(self.values)
        self.weight_mask = np.zeros_like(self.values)
        self.weights, self.weight_grads, self.chunk_weight_grads, self.masks = [], [], [], []
        start, self._layout = 0, []
        for stage, shape, size in zip(plan.stages, shapes, sizes, strict=True):
            part = slice(start, start + size)
            self._layout.append((part, shape))
            self.weights.append(self.values[part].reshape(shape))
            self.weight_grads.append(self.grads[part].reshape(shape))
            self.chunk_weight_grads.append(self.chunk_grads[part].reshape(shape))
            n_in, n_out = stage.linear.in_features, stage.linear.out_features
            keep = np.ones(shape, plan.dtype)
            if "b" not in stage.linear.params:
                keep[n_in, :] = 0
            if stage.activation is not None:
                keep[:, n_out] = 0
            self.masks.append(None if keep.all() else keep)
            self.weight_mask[part].reshape(shape)[:n_in, :n_out] = 1
            start += size
        self.widths = [cols for _, cols in shapes]

    def _parts(self, matrices):
        """Per stage: the stage, its folded matrix in ``matrices`` and the views in it of the layer's
        parameters, ``{"W": (n_in, n_out), "b": (n_out,)}``."""
        for stage, folded in zip(self.stages, matrices, strict=True):
            n_in, n_out = stage.linear.in_features, stage.linear.out_features
            yield stage, folded, {"W": folded[:n_in, :n_out], "b": folded[n_in, :n_out]}

    def pull(self):
        """Read the layers' parameters into ``values`` (and set the constant units)."""
        for stage, folded, parts in self._parts(self.weights):
            folded[...] = 0
            for name, array in stage.linear.params.items():
                parts[name][...] = array
            if stage.activation is not None:
                folded[-1, -1] = CONSTANT_INPUT[stage.activation]

    def push(self):
        """Write ``values`` into the layers' own parameter arrays, in place."""
        for stage, _, parts in self._parts(self.weights):
            for name, array in stage.linear.params.items():
                array[...] = parts[name]

    def views(self, vector):
        """``(parameter, view)`` for every layer parameter: the layer's array and its place in ``vector``, an (n,)
        array of the flat layout (e.g. an optimizer's state over ``values``), as writable views."""
        matrices = [vector[part].reshape(shape) for part, shape in self._layout]
        return [(array, parts[name]) for stage, _, parts in self._parts(matrices)
                for name, array in stage.linear.params.items()]

    def unfold(self, folded_matrices):
        """``(parameter, part)`` for every layer parameter (``W`` (n_in, n_out), ``b`` (n_out,)): the layer's
        array and a copy of its part of matrices of the folded layout (e.g. ``weight_grads``)."""
        return [(array, parts[name].copy()) for stage, _, parts in self._parts(folded_matrices)
                for name, array in stage.linear.params.items()]
