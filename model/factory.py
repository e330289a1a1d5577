"""Making a layer by its class name, so a learner's class can stand where the library's does (``make``), and
start where the library's would: one seed trains one network, whoever wrote its layers.
"""

import copy
import inspect

import numpy as np

from layers.user_code import source_of
from layers.validation import ParameterError

from .registry import LIBRARY, WIDTH, config_kinds, is_library


def make(types, name, *args, rng=None, dtype=None, **kwargs):
    """An instance of ``types.get(name)`` (a learner's class) or of the library's class ``name``.

    ``make(types, "Linear", 2, 3, bias=False, rng=rng, dtype=dtype)``: a class gets only the keyword arguments
    its constructor takes. A learner's layer is built beside the library's (which draws from ``rng`` as without
    it; an exercise skeleton gets ``seed=`` from a copy), and the library's initial values are copied into its
    arrays (in place) and its widths (``in_features``, …) declared on it where it declares none. A
    ``ParameterError`` says when its ``params`` cannot be the library's (e.g. no ``bias`` switch for bias=False).
    """
    reference = _build(LIBRARY[name], args, kwargs, rng, dtype)
    cls = (types or {}).get(name)
    if cls is None or cls is LIBRARY[name]:
        return reference
    layer = _build(cls, args, kwargs, None if rng is None else copy.deepcopy(rng), dtype)
    _hand_over(reference, layer, f"{name}({', '.join([*map(repr, args), *(f'{k}={v!r}' for k, v in kwargs.items())])})",
               [k for k in kwargs if not {k, "**"} & _keywords(cls)])
    return layer


def _hand_over(reference, layer, call, dropped):
    """The library's initial values into the learner's arrays, in place, and its declared widths; or the
    ``ParameterError`` saying why they cannot be (``call`` made the library's; ``dropped``, keywords it took not)."""
    theirs, mine = getattr(reference, "params", {}), getattr(layer, "params", None) or {}
    if {k: np.shape(v) for k, v in mine.items()} != {k: np.shape(v) for k, v in theirs.items()}:
        cls = type(layer)
        raise ParameterError(f"{cls.__name__} ({source_of(cls)})", ", ".join(dropped) or "params",
                             (f"is not a parameter of its constructor {inspect.signature(cls)}, so it holds "
                              if dropped else "hold ") + f"{_shapes(mine)} where the library's {call} holds "
                             f"{_shapes(theirs)}")
    for key, value in theirs.items():
        np.copyto(mine[key], value)
    for width in (k for k, kind in config_kinds(type(reference)).items() if kind == WIDTH):
        if not hasattr(layer, width):
            setattr(layer, width, getattr(reference, width))


def _build(cls, args, kwargs, rng, dtype):
    """``cls(*args, **kwargs)`` with the keywords it takes, seeded from ``rng``, in ``dtype``."""
    accepted = _keywords(cls)
    kwargs = dict(kwargs)
    if rng is not None:
        if "rng" in accepted:
            kwargs["rng"] = rng
        elif "seed" in accepted:
            kwargs["seed"] = int(rng.integers(2**32))
    if dtype is not None and "dtype" in accepted:
        kwargs["dtype"] = dtype
    layer = cls(*args, **{k: v for k, v in kwargs.items() if k in accepted or "**" in accepted})
    if dtype is not None and "dtype" not in accepted and getattr(layer, "params", None) and callable(
            getattr(layer, "astype", None)):
        layer = layer.astype(dtype)
    return layer


def _shapes(params):
    return ", ".join(f"{k} {np.shape(v)}" for k, v in params.items()) or "no parameters"


def _keywords(cls):
    """The keyword parameter names of ``cls``'s constructor (``"**"`` if it takes any)."""
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return {"**"}
    return {"**" if p.kind is p.VAR_KEYWORD else p.name for p in params}


def learners(net):
    """Where ``net`` holds a learner's class (not the library's of that name): indices into ``net.layers``, and
    ``len(net.layers)`` for its loss."""
    return [i for i, obj in enumerate([*net.layers, net.criterion]) if not is_library(type(obj))]


def check_types(types):
    """Refuse a replacement for a name the library has no class of."""
    unknown = sorted(set(types or {}) - set(LIBRARY))
    if unknown:
        raise ValueError(f"no library class is named {', '.join(unknown)}; a replacement takes the place of one of "
                         f"{', '.join(sorted(LIBRARY))}")
    return dict(types or {})
