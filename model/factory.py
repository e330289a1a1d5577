"""Making a layer by its class name, so a learner's class can stand where the library's does.

``make(types, "Linear", 2, 3, bias=False, rng=rng, dtype=dtype)`` builds ``types["Linear"]`` if the caller
gave one (a learner's ``Linear`` from an exercise file), else the library's (``model.registry.LIBRARY``).
"""

import inspect

from .registry import LIBRARY


def make(types, name, *args, rng=None, dtype=None, **kwargs):
    """An instance of ``types.get(name)`` or of the library's class ``name``, built with what it accepts.

    ``make(types, "Linear", 2, 3, bias=False, rng=rng, dtype=dtype)``: a class gets only the keyword arguments
    its constructor takes. The library's layers draw their weights from ``rng``; an exercise skeleton's take
    ``seed=`` (an integer drawn from the same ``rng``) and no ``dtype``.
    """
    cls = (types or {}).get(name) or LIBRARY[name]
    accepted = _keywords(cls)
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


def _keywords(cls):
    """The keyword parameter names of ``cls``'s constructor (``"**"`` if it takes any)."""
    try:
        params = inspect.signature(cls).parameters.values()
    except (TypeError, ValueError):
        return {"**"}
    return {"**" if p.kind is p.VAR_KEYWORD else p.name for p in params}


def check_types(types):
    """Refuse a replacement for a name the library has no class of."""
    unknown = sorted(set(types or {}) - set(LIBRARY))
    if unknown:
        raise ValueError(f"no library class is named {', '.join(unknown)}; a replacement takes the place of one of "
                         f"{', '.join(sorted(LIBRARY))}")
    return dict(types or {})
