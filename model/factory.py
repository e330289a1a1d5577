"""Making a layer by its class name, so a learner's class can stand where the library's does.

``make(types, "Linear", 2, 3, bias=False, rng=rng, dtype=dtype)`` builds ``types["Linear"]`` if the caller
gave one (a learner's ``Linear`` from an exercise file), else the library's. A class gets only the keyword
arguments its constructor takes: the library's layers draw their weights from ``rng``; an exercise
skeleton's take ``seed=`` (an integer drawn from the same ``rng``) and no ``dtype``.
"""

import inspect

import layers
from layers.standardize import Standardize

#: every class a network may be built from, by name
LIBRARY = {name: getattr(layers, name) for name in layers.__all__
           if isinstance(getattr(layers, name), type) and name != "Layer"}  # the base class stands nowhere
LIBRARY["Standardize"] = Standardize


def make(types, name, *args, rng=None, dtype=None, **kwargs):
    """An instance of ``types.get(name)`` or of the library's class ``name``, built with what it accepts."""
    cls = (types or {}).get(name) or LIBRARY[name]
    accepted = _keywords(cls)
    if rng is not None:
        if "rng" in accepted:
            kwargs["rng"] = rng
        elif "seed" in accepted:
            kwargs["seed"] = int(rng.integers(2**32))
    if dtype is not None and "dtype" in accepted:
        kwargs["dtype"] = dtype
    kwargs = {k: v for k, v in kwargs.items() if k in accepted or "**" in accepted}
    layer = cls(*args, **kwargs)
    if dtype is not None and "dtype" not in accepted and callable(getattr(layer, "astype", None)) and getattr(
            layer, "params", None):
        layer = layer.astype(dtype)
    return layer


def _keywords(cls):
    """The keyword parameter names of ``cls``'s constructor (``"**"`` if it takes any)."""
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return {"**"}
    return {"**" if p.kind is p.VAR_KEYWORD else p.name for p in params}


def substituted(types):
    """The names in ``types`` whose class is not the library's own (what a learner replaced)."""
    return sorted(name for name, cls in (types or {}).items() if LIBRARY.get(name) is not cls)


def check_types(types):
    """Refuse a replacement for a name the library has no class of."""
    unknown = sorted(set(types or {}) - set(LIBRARY))
    if unknown:
        raise ValueError(f"no library class is named {', '.join(unknown)}; a replacement takes the place of one of "
                         f"{', '.join(sorted(LIBRARY))}")
    return dict(types or {})

