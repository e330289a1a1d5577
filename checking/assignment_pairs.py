"""CS231n's forward/backward pairs, by name: which functions of an assignment file are checked, and on what.

CS231n's layers are pairs of plain functions, ``out, cache = NAME_forward(x, *params, *param_dicts)`` and
``dx, dw, ... = NAME_backward(dout, cache)``, NAME one of ``FAMILIES`` with an optional suffix shared by both
(``conv_forward_naive``/``conv_backward_naive``, ``max_pool_forward_fast``/``max_pool_backward_fast``; a
``NAME_backward_alt`` is checked against ``NAME_forward`` too), and the losses ``LOSSES``, ``loss, dx = NAME(x, y)``.
``find_pairs`` reads only the names a module defines: nothing in it is called here. A pair of another NAME is
``unknown``; ``described`` builds it from the shapes of its forward's array arguments, given on the command line
(``parse_shapes``).

Each family's ``Inputs`` are the shapes and parameter dicts CS231n's own notebooks check with, kept small, with one
change: images are never square (5x7 for a convolution; 4x6 pooled by overlapping 2x3 windows at stride 1, or, for
the fast pooling, ``SUFFIXED``, by 2x2 at stride 2), so a backward that reads H where W belongs, or a pool's height
where its width does, fails.
"""

import inspect
import re
from dataclasses import dataclass

import numpy as np

FORWARD = re.compile(r"^(?P<base>[a-z]\w*?)_forward(?P<suffix>(_\w+)?)$")
BN_PARAM = {"mode": "train", "eps": 1e-5, "momentum": 0.9}


@dataclass(frozen=True)
class Inputs:
    """What one pair is called with. ``arrays``: name -> shape of each array argument, in call order (float64,
    standard normal); ``extra``: the arguments after them (ints, parameter dicts, copied afresh for every call);
    ``grads``: the names of what the backward returns, one per array, in order; ``classes``: a loss's labels are
    (N,) integers in [0, classes), passed after the scores."""

    arrays: dict
    extra: tuple = ()
    grads: tuple = None
    classes: int = None

    def __post_init__(self):
        if self.grads is None:
            object.__setattr__(self, "grads", tuple(f"d{name}" for name in self.arrays))


NORM_GRADS = ("dx", "dgamma", "dbeta")

#: CS231n's layer families and their inputs (x of shape (N, D), (N, d1, d2) for affine, or (N, C, H, W))
FAMILIES = {
    "affine": Inputs({"x": (4, 2, 3), "w": (6, 5), "b": (5,)}),
    "relu": Inputs({"x": (4, 5)}),
    "sigmoid": Inputs({"x": (4, 5)}),
    "batchnorm": Inputs({"x": (4, 5), "gamma": (5,), "beta": (5,)}, (BN_PARAM,), NORM_GRADS),
    "layernorm": Inputs({"x": (4, 5), "gamma": (5,), "beta": (5,)}, ({"eps": 1e-5},), NORM_GRADS),
    "dropout": Inputs({"x": (4, 5)}, ({"p": 0.6, "mode": "train", "seed": 123},)),
    "conv": Inputs({"x": (2, 3, 5, 7), "w": (2, 3, 3, 3), "b": (2,)}, ({"stride": 2, "pad": 1},)),
    "max_pool": Inputs({"x": (2, 3, 4, 6)}, ({"pool_height": 2, "pool_width": 3, "stride": 1},)),
    "spatial_batchnorm": Inputs({"x": (2, 3, 4, 5), "gamma": (3,), "beta": (3,)}, (BN_PARAM,), NORM_GRADS),
    "spatial_groupnorm": Inputs({"x": (2, 4, 3, 4), "gamma": (1, 4, 1, 1), "beta": (1, 4, 1, 1)},
                                (2, {"eps": 1e-5}), NORM_GRADS),
}

#: a family's inputs for one suffix: CS231n's max_pool_forward_fast pools by a reshape only when square windows tile
#: the image at their own stride (any other pooling goes through its compiled im2col)
SUFFIXED = {("max_pool", "_fast"): Inputs({"x": (2, 3, 4, 6)}, ({"pool_height": 2, "pool_width": 2, "stride": 2},))}

#: CS231n's losses, ``loss, dx = NAME(x, y)``: scores x of shape (N, C), labels y of shape (N,)
LOSSES = {"svm_loss": Inputs({"x": (5, 4)}, classes=4), "softmax_loss": Inputs({"x": (5, 4)}, classes=4)}


@dataclass(frozen=True)
class Pair:
    """A forward and a backward to check together: ``name`` is the backward's (the loss's) and heads its rows;
    ``inputs`` is None for a pair of unknown ``base`` (listed, not checked, until its shapes are given)."""

    name: str
    base: str
    forward: object
    backward: object = None
    inputs: Inputs = None


def defined_functions(module):
    """``{name: function}`` of the functions ``module``'s own file defines (not those it imports), in file order."""
    own = {name: f for name, f in vars(module).items()
           if inspect.isfunction(f) and getattr(f, "__module__", None) == module.__name__}
    return dict(sorted(own.items(), key=lambda item: item[1].__code__.co_firstlineno))


def find_pairs(functions):
    """The pairs among ``functions`` (name -> function): known ones with their ``inputs``, unknown ones without;
    a forward without its backward is not a pair. In the file's order."""
    pairs = []
    for name, f in functions.items():
        if name in LOSSES:
            pairs.append(Pair(name, name, f, inputs=LOSSES[name]))
            continue
        match = FORWARD.match(name)
        if not match:
            continue
        base, suffix = match["base"], match["suffix"]
        for backward in (f"{base}_backward{suffix}", f"{base}_backward{suffix}_alt"):
            if backward in functions:
                inputs = SUFFIXED.get((base, suffix), FAMILIES.get(base))
                pairs.append(Pair(backward, base + suffix, f, functions[backward], inputs))
    return pairs


def parse_shapes(text):
    """``"rnn_step=3x4,3x5,4x5,5x5,5"`` -> ``("rnn_step", [(3, 4), (3, 5), ...])``: a pair's NAME (its forward is
    ``NAME_forward``) and the shapes of its forward's array arguments, in order; a ``ValueError`` saying what was
    expected and what was got otherwise."""
    name, sep, shapes = str(text).partition("=")
    try:
        parsed = [tuple(int(n) for n in shape.split("x")) for shape in shapes.split(",")] if sep else None
    except ValueError:
        parsed = None
    if not (name.isidentifier() and parsed and all(n >= 1 for shape in parsed for n in shape)):
        raise ValueError(f"--shapes wants NAME=SHAPE,SHAPE,... with each SHAPE sizes >= 1 joined by x, e.g. "
                         f"rnn_step=3x4,3x5,4x5,5x5,5, got {text!r}")
    if sum(int(np.prod(shape)) for shape in parsed) > 10_000:
        raise ValueError(f"--shapes {text}: at most 10,000 elements in all (two forwards are run per element)")
    return name, parsed


def arity(forward):
    """``(fewest, most)`` arrays ``forward`` takes: its positional parameters without defaults, and all of them
    (``None``: no limit, a ``*args``)."""
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    params = list(inspect.signature(forward).parameters.values())
    positional = [p for p in params if p.kind in kinds]
    fewest = sum(p.default is inspect.Parameter.empty for p in positional)
    varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params)
    return fewest, None if varargs else len(positional)


def described(pair, shapes):
    """``pair`` (of unknown family) with ``Inputs`` for the given shapes: its forward's first parameters name the
    arrays (``x``, ``prev_h``, ...), and the backward returns their gradients in that order. A ``ValueError`` when
    the forward takes another number of arrays (``arity``)."""
    fewest, most = arity(pair.forward)
    if len(shapes) < fewest or (most is not None and len(shapes) > most):
        takes = fewest if most == fewest else f"{fewest} to {'any number' if most is None else most}"
        raise ValueError(f"--shapes {pair.base}: {pair.base}_forward{_signature(pair)} takes {takes} arrays, got "
                         f"{len(shapes)} shape{'s' * (len(shapes) != 1)}")
    names = list(inspect.signature(pair.forward).parameters)
    names += [f"arg{i}" for i in range(len(names), len(shapes))]
    return Pair(pair.name, pair.base, pair.forward, pair.backward, Inputs(dict(zip(names, shapes, strict=False))))


#: the example shapes of the note's --shapes, as many as the forward's arrays (an affine's x, w, b, then more)
EXAMPLE_SHAPES = ("4x5", "5x3", "3")


def how_to_describe(pair):
    """The note listing an unknown pair, with how to describe its inputs: an example of as many shapes as its
    forward takes arrays."""
    count = max(1, arity(pair.forward)[0])
    example = ",".join((*EXAMPLE_SHAPES, *["3"] * count)[:count])
    return (f"{pair.base}_forward{_signature(pair)} and {pair.name} are not a pair CS231n's names tell the inputs of: "
            f"not checked. If its forward takes only arrays, give their shapes in order, e.g. --shapes "
            f"{pair.base}={example} (its backward must return their gradients in that order)")


def _signature(pair):
    """``"(x, w, b)"``: the forward's parameters, as the messages name them."""
    return f"({', '.join(inspect.signature(pair.forward).parameters)})"
