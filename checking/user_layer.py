"""Load the user's own layer class from ``PATH.py:ClassName`` for ``gradcheck.py --layer``, and make
labels for one that is a loss (``--labels``)."""

import importlib.util
import inspect
import json
import sys
from pathlib import Path

import numpy as np

from .checker import describe_exception

LABELS = ("binary", "classes")


def load_layer(spec, args_json=None):
    """Build a layer from ``"path/to/file.py:ClassName"``, with ``args_json`` a JSON list or object.

    Raises ``ValueError`` with one readable sentence for every way this can go wrong, including
    the user's module or constructor raising ``SystemExit`` or ``KeyboardInterrupt`` (only
    ``MemoryError`` passes through).
    """
    path, sep, cls_name = str(spec).rpartition(":")
    if not sep or not path or not cls_name:
        raise ValueError(f"--layer wants PATH.py:ClassName, got {spec!r}")
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"{path}: no such file")
    module_name = f"_user_layer_{abs(hash(str(file.resolve())))}"
    try:
        module_spec = importlib.util.spec_from_file_location(module_name, file)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        module_spec.loader.exec_module(module)
    except MemoryError:
        raise
    except BaseException as exc:  # noqa: B036 — a module calling sys.exit() at import is the user's error too
        raise ValueError(f"{path}: could not import it: {describe_exception(exc)}") from exc
    cls = getattr(module, cls_name, None)
    if cls is None:
        raise ValueError(f"{path} has no class {cls_name!r}")
    missing = [m for m in ("forward", "backward") if not callable(getattr(cls, m, None))]
    if missing:
        raise ValueError(f"{cls_name} in {path} has no {' or '.join(missing)} method; a layer needs both")
    try:
        args = json.loads(args_json) if args_json else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"--layer-args is not valid JSON: {exc}") from None
    try:
        return cls(**args) if isinstance(args, dict) else cls(*args) if isinstance(args, list) else cls(args)
    except MemoryError:
        raise
    except BaseException as exc:  # noqa: B036
        raise ValueError(f"could not construct {cls_name}({args_json or ''}): {describe_exception(exc)}") from exc


def takes_labels(layer):
    """True if ``layer.forward`` requires two positional arguments ``(x, y)`` (a loss), False if one,
    None if its signature does not say (``*args``, or no signature)."""
    try:
        sig = inspect.signature(layer.forward)
    except (TypeError, ValueError):
        return None
    params = list(sig.parameters.values())
    if any(p.kind is p.VAR_POSITIONAL for p in params):
        return None
    required = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    return len(required) >= 2


def make_labels(kind, shape, rng):
    """Labels for a loss checked on an input of ``shape``.

    Parameters
    ----------
    kind : "binary" -> 0/1 integers of the input's shape; "classes" -> (N,) integers in [0, K) for an
        input of shape (N, K), K >= 2
    shape : tuple, the input's shape
    rng : numpy.random.Generator

    Raises ``ValueError`` when ``classes`` is asked for an input that is not (N, K) with K >= 2.
    """
    if kind == "binary":
        return rng.integers(0, 2, shape)
    if kind == "classes":
        if len(shape) != 2 or shape[1] < 2:
            raise ValueError(f"--labels classes needs --input-shape N,K (scores of N samples over K >= 2 classes), "
                             f"got {','.join(map(str, shape))}")
        return rng.integers(0, shape[1], shape[0])
    raise ValueError(f"--labels must be one of {', '.join(LABELS)}, got {kind!r}")
