"""The one registry of layer and loss classes, derived from ``layers.__all__`` and from each class itself.

- ``LIBRARY``: every class a network may be built from, by name — each class ``layers.__all__`` names but
  the ``Layer`` base, and ``Standardize``. It is read live: a class added to ``layers`` and its ``__all__``
  is in it, with no other file touched.
- ``role(cls)``: ``"loss"`` (it declares the ``target`` labels it takes), ``"layer"`` (``forward`` of one
  input, ``backward`` of one upstream) or None (the gates, which take or give two).
- ``config_kinds(cls)``: what each key of a class's ``config()`` may hold, read off its constructor: a
  parameter without a default or with a positive integer default is a *width* (a positive integer that sizes
  arrays), with a default of 0 a *count* (an integer >= 0: Conv2d's padding), a float default a *number*, a
  bool default a *flag*, ``class_weight`` a list of numbers, another None default an *optional width*
  (MaxPool2d's stride). ``rng``, ``seed``, ``dtype`` and ``layer_types`` say how to build, not what: never in a config.
- ``check_head(last, loss)``: whether a loss may follow the last layer (by class names): a loss that takes
  probabilities follows the layer that makes them, a fused loss (logits) follows none that squashes.
- ``ACTIVATIONS``: the hidden activations by the library's names; ``SKLEARN_ACTIVATIONS`` by scikit-learn's.
"""

import functools
import inspect
from collections.abc import Mapping

import layers
from layers.standardize import Standardize

WIDTH, COUNT, OPTIONAL, NUMBER, FLAG, WEIGHTS = "width", "count", "optional width", "number", "flag", "weights"
#: the widest layer a network may have (built or read from a file): beyond it the weights would not fit in memory
MAX_WIDTH = 1_000_000
#: constructor arguments that say how to build an object, not what it is
HOW_TO_BUILD = ("rng", "seed", "dtype", "layer_types")

#: the hidden activations by the names the command lines and the engine use -> their classes' names
ACTIVATIONS = {"relu": "ReLU", "tanh": "Tanh", "sigmoid": "Sigmoid", "leaky_relu": "LeakyReLU"}
#: scikit-learn's activation names (and this library's leaky ReLU) -> a class name, None for no layer
SKLEARN_ACTIVATIONS = {"identity": None, "logistic": "Sigmoid", "tanh": "Tanh", "relu": "ReLU",
                       "leaky_relu": "LeakyReLU"}
#: a loss that takes probabilities -> the layer that makes them, and its fused twin that takes logits instead
SQUASHED = {"BCELoss": ("Sigmoid", "SigmoidBCELoss"), "CrossEntropyLoss": ("Softmax", "SoftmaxCrossEntropyLoss")}


class _Library(Mapping):
    """Class name -> class, for every class of ``layers.__all__`` (not ``Layer``) and ``Standardize``, read live."""

    def _classes(self):
        found = {name: getattr(layers, name, None) for name in layers.__all__}
        found = {name: cls for name, cls in found.items() if isinstance(cls, type) and cls is not layers.Layer}
        return {**found, "Standardize": Standardize}

    def __getitem__(self, name):
        return self._classes()[name]

    def items(self):  # one reading of ``layers`` for the whole walk, not one per key
        return self._classes().items()

    def __iter__(self):
        return iter(self._classes())

    def __len__(self):
        return len(self._classes())


LIBRARY = _Library()


@functools.cache  # a class's methods do not change: read its signatures once
def role(cls):
    """``"loss"``, ``"layer"`` or None (a class that cannot stand in a chain: a gate)."""
    if getattr(cls, "target", None) is not None:
        return "loss"
    ones = [_inputs(getattr(cls, method, None)) for method in ("forward", "backward")]
    return "layer" if ones == [1, 1] else None


def _inputs(method):
    """How many arguments ``method`` (unbound) takes beyond ``self`` without a default."""
    try:
        params = list(inspect.signature(method).parameters.values())[1:]
    except (TypeError, ValueError):
        return None
    return sum(p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def is_library(cls):
    """Whether ``cls`` is the library's own class of its name (not a learner's, nor a subclass of the library's)."""
    return LIBRARY.get(cls.__name__) is cls


def library_class(obj, wanted_role):
    """The name of ``obj``'s class when it is the library's own of that name and has ``wanted_role``, else None."""
    cls = type(obj)
    return cls.__name__ if is_library(cls) and role(cls) == wanted_role else None


def named(wanted_role):
    """The names of the library's classes of ``wanted_role`` (``"layer"`` or ``"loss"``)."""
    return [name for name, cls in LIBRARY.items() if role(cls) == wanted_role]


def config_kinds(cls):
    """``{key: kind}`` for every key ``cls``'s ``config()`` may hold, from its constructor's signature."""
    kinds = {}
    for p in inspect.signature(cls).parameters.values():
        if p.name in HOW_TO_BUILD or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            continue
        default = p.default
        kinds[p.name] = (FLAG if isinstance(default, bool) else NUMBER if isinstance(default, float)
                         else WEIGHTS if p.name == "class_weight" else OPTIONAL if default is None
                         else COUNT if default == 0 else WIDTH)
    return kinds


def feeds(last, loss):
    """Whether ``last``, a layer, always gives ``loss`` an input it takes, both of the library's own classes: a
    Sigmoid's probabilities for ``BCELoss``, a Softmax's for ``CrossEntropyLoss``, any layer's output for the others."""
    names = library_class(last, "layer"), library_class(loss, "loss")
    return None not in names and SQUASHED.get(names[1], names)[0] == names[0]


def check_head(last, loss):
    """``ValueError`` unless the class named ``last`` (the last layer) gives what the loss named ``loss`` takes:
    ``BCELoss`` follows ``Sigmoid``, ``CrossEntropyLoss`` ``Softmax``, their fused twins neither."""
    for plain, (squash, fused) in SQUASHED.items():
        if loss == plain and last != squash:
            raise ValueError(f"{last} followed by {loss}: {loss} takes probabilities, which only a {squash} layer "
                             f"before it gives (or {fused} takes logits)")
        if loss == fused and last in (s for s, _ in SQUASHED.values()):
            raise ValueError(f"{last} followed by {loss}: {loss} takes logits and squashes them itself, so no "
                             f"{last} may stand before it (or {plain} follows a {squash})")
