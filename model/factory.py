"""Making a layer by its class name, so a learner's class can stand where the library's does.

``make(types, "Linear", 2, 3, bias=False, rng=rng, dtype=dtype)`` builds ``types["Linear"]`` if the caller
gave one (a learner's ``Linear`` from an exercise file), else the library's (``model.registry.LIBRARY``).

A learner's layer starts where the library's would, so the same seed trains the same network: the library's
layer is built from the same arguments and random stream, its initial values are copied into the learner's
arrays (in place, whatever the learner's constructor drew) and the widths it declares (``in_features``, …) are
declared on the learner's layer where it says none. Parameters of other names or shapes are refused up front.
"""

import copy
import inspect

import numpy as np

from layers.user_code import source_of
from layers.validation import ParameterError

from .registry import LIBRARY, WIDTH, config_kinds


def make(types, name, *args, rng=None, dtype=None, **kwargs):
    """An instance of ``types.get(name)`` or of the library's class ``name``, built with what it accepts.

    ``make(types, "Linear", 2, 3, bias=False, rng=rng, dtype=dtype)``: a class gets only the keyword arguments
    its constructor takes. The library's layers draw their weights from ``rng``; an exercise skeleton's take
    ``seed=`` (an integer drawn from a copy of ``rng``: the library's stream moves as without it) and no ``dtype``.

    Raises ``ParameterError`` when a learner's layer cannot be the library's ``name(*args, **kwargs)``: its
    constructor does not take those arguments, or its ``params`` are not the library's layer's (names, shapes).
    """
    reference = _build(LIBRARY[name], args, kwargs, rng, dtype)
    cls = (types or {}).get(name)
    if cls is None or cls is LIBRARY[name]:
        return reference
    call = f"{name}({_arguments(args, kwargs)})"
    layer = _build(cls, args, kwargs, None if rng is None else copy.deepcopy(rng), dtype, call)
    _hand_over(reference, layer, call, kwargs)
    return layer


def _build(cls, args, kwargs, rng, dtype, call=None):
    """``cls(*args, **kwargs)`` with the keywords it takes, seeded from ``rng``, in ``dtype``; a learner's class
    (``call``: what the library builds in its place) is refused when its constructor cannot take them."""
    accepted = _keywords(cls)
    kwargs = dict(kwargs)
    if rng is not None:
        if "rng" in accepted:
            kwargs["rng"] = rng
        elif "seed" in accepted:
            kwargs["seed"] = int(rng.integers(2**32))
    if dtype is not None and "dtype" in accepted:
        kwargs["dtype"] = dtype
    kwargs = {k: v for k, v in kwargs.items() if k in accepted or "**" in accepted}
    try:
        if call is not None:
            inspect.signature(cls).bind(*args, **kwargs)
    except TypeError as exc:
        raise _refusal(cls, "arguments", f"do not fit its constructor {_signature(cls)} ({exc}): the library builds "
                                         f"{call} here") from None
    except ValueError:  # no signature to read: the call itself will say
        pass
    layer = cls(*args, **kwargs)
    if dtype is not None and "dtype" not in accepted and getattr(layer, "params", None) and callable(
            getattr(layer, "astype", None)):
        layer = layer.astype(dtype)
    return layer


def _hand_over(reference, layer, call, kwargs):
    """The library's initial values into the learner's ``layer``, in place, and its declared widths; or the
    ``ParameterError`` saying why the learner's parameters cannot be the library's (``call`` built them)."""
    theirs, mine = getattr(reference, "params", {}), getattr(layer, "params", None) or {}
    if {k: np.shape(v) for k, v in mine.items()} != {k: np.shape(v) for k, v in theirs.items()}:
        cls = type(layer)
        dropped = [k for k in kwargs if k not in _keywords(cls) and "**" not in _keywords(cls)]
        what = f"is not a parameter of its constructor {_signature(cls)}, so it holds " if dropped else "hold "
        raise _refusal(cls, ", ".join(dropped) or "params",
                       f"{what}{_shapes(mine)} where the library's {call} holds {_shapes(theirs)}")
    for key, value in theirs.items():
        np.copyto(mine[key], value)
    for width in (k for k, kind in config_kinds(type(reference)).items() if kind == WIDTH):
        if not hasattr(layer, width):
            setattr(layer, width, getattr(reference, width))


def _refusal(cls, param, reason):
    return ParameterError(f"{cls.__name__} ({source_of(cls)})", param, reason)


def _arguments(args, kwargs):
    return ", ".join([*map(repr, args), *(f"{k}={v!r}" for k, v in kwargs.items() if k not in ("rng", "seed"))])


def _shapes(params):
    return ", ".join(f"{k} {np.shape(v)}" for k, v in params.items()) or "no parameters"


def _signature(cls):
    try:
        return str(inspect.signature(cls))
    except (TypeError, ValueError):
        return "(…)"


def _keywords(cls):
    """The keyword parameter names of ``cls``'s constructor (``"**"`` if it takes any)."""
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return {"**"}
    return {"**" if p.kind is p.VAR_KEYWORD else p.name for p in params}


def learners(net):
    """The layers and the loss of ``net`` whose class is not the library's of that name: a learner's."""
    return [obj for obj in [*net.layers, net.criterion] if LIBRARY.get(type(obj).__name__) is not type(obj)]


def check_types(types):
    """Refuse a replacement for a name the library has no class of."""
    unknown = sorted(set(types or {}) - set(LIBRARY))
    if unknown:
        raise ValueError(f"no library class is named {', '.join(unknown)}; a replacement takes the place of one of "
                         f"{', '.join(sorted(LIBRARY))}")
    return dict(types or {})
