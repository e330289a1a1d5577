"""Check the user's own layer: load its class from ``PATH.py:ClassName``, draw an input (and labels, for a
loss) and run ``check_layer`` on it. What ``gradcheck.py`` does with a user's layer, in the library's words."""

import importlib.util
import inspect
import sys
from pathlib import Path

import numpy as np

from layers.protocol import LayerError, describe_exception
from layers.validation import ParameterError

from .checker import check_layer

#: the kinds of labels a loss can be checked with
LABELS = ("binary", "classes")


def load_layer(spec, args=None):
    """Build a layer from ``"path/to/file.py:ClassName"``.

    Parameters
    ----------
    spec : str, the file and the class
    args : None, a list (positional arguments), a dict (keyword arguments) or one value (the only
        argument) for the class's constructor

    Raises ``ValueError`` with one readable sentence for every way this can go wrong (a
    ``ParameterError`` naming ``spec`` when it is not ``PATH.py:ClassName``), including the user's
    module or constructor raising ``SystemExit`` or ``KeyboardInterrupt`` (only ``MemoryError``
    passes through).
    """
    cls = load_class(spec)
    cls_name = cls.__name__
    try:
        return _construct(cls, args)
    except MemoryError:
        raise
    except BaseException as exc:  # noqa: B036 — a constructor calling sys.exit() is the user's error too
        raise ValueError(f"could not construct {cls_name}({_arguments_text(args)}): "
                         f"{describe_exception(exc)}") from exc


def load_class(spec, param="spec", owner="load_layer"):
    """The class ``ClassName`` of the file in ``"path/to/file.py:ClassName"``; it must have ``forward`` and
    ``backward``. A ``ValueError`` in one sentence otherwise (a ``ParameterError`` naming ``param`` when
    ``spec`` is not ``PATH.py:ClassName``)."""
    path, sep, cls_name = str(spec).rpartition(":")
    if not sep or not path or not cls_name:
        raise ParameterError(owner, param, f"must be PATH.py:ClassName, got {spec!r}")
    return _layer_class(_import_file(Path(path)), path, cls_name)


def source_of(cls):
    """The file a class was loaded from, relative to the working directory when inside it."""
    try:
        path = Path(inspect.getfile(cls)).resolve()
    except (TypeError, OSError):
        return "this notebook" if cls.__module__ == "__main__" else "its module"
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _construct(cls, args):
    if args is None:
        return cls()
    if isinstance(args, dict):
        return cls(**args)
    return cls(*args) if isinstance(args, list) else cls(args)


def _import_file(file):
    """The module in ``file``, imported under a name of its own."""
    if not file.is_file():
        raise ValueError(f"{file}: no such file")
    module_name = f"_user_layer_{abs(hash(str(file.resolve())))}"
    try:
        module_spec = importlib.util.spec_from_file_location(module_name, file)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        module_spec.loader.exec_module(module)
    except MemoryError:
        raise
    except BaseException as exc:  # noqa: B036 — a module calling sys.exit() at import is the user's error too
        raise ValueError(f"{file}: could not import it: {describe_exception(exc)}") from exc
    return module


def _layer_class(module, path, cls_name):
    """The class ``cls_name`` of ``module``, which must have ``forward`` and ``backward``."""
    cls = getattr(module, cls_name, None)
    if cls is None:
        raise ValueError(f"{path} has no class {cls_name!r}")
    missing = [m for m in ("forward", "backward") if not callable(getattr(cls, m, None))]
    if missing:
        raise ValueError(f"{cls_name} in {path} has no {' or '.join(missing)} method; a layer needs both")
    return cls


def _arguments_text(args):
    """Constructor arguments as they read in a call: ``2.5``, ``1, 2`` or ``d=3, start=1.5``."""
    if args is None:
        return ""
    if isinstance(args, dict):
        return ", ".join(f"{k}={v!r}" for k, v in args.items())
    return ", ".join(map(repr, args)) if isinstance(args, list) else repr(args)


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


def make_labels(labels, shape, rng):
    """Labels for a loss checked on an input of ``shape``.

    Parameters
    ----------
    labels : "binary" -> 0/1 integers of the input's shape; "classes" -> (N,) integers in [0, K) for an
        input of shape (N, K), K >= 2
    shape : tuple, the input's shape
    rng : numpy.random.Generator

    Raises ``ParameterError`` naming ``shape`` when ``classes`` is asked for an input that is not (N, K)
    with K >= 2, or naming ``labels`` for an unknown kind.
    """
    if labels == "binary":
        return rng.integers(0, 2, shape)
    if labels == "classes":
        if len(shape) != 2 or shape[1] < 2:
            raise ParameterError("make_labels", "shape", f"must be (N, K) with K >= 2 for class labels (scores of N "
                                                         f"samples over K classes), got {tuple(shape)}")
        return rng.integers(0, shape[1], shape[0])
    raise ParameterError("make_labels", "labels", f"must be one of {', '.join(LABELS)}, got {labels!r}")


def make_input(shape, labels=None, seed=0):
    """The input ``x`` a user's layer is checked on, and the labels ``y`` (None unless ``labels``).

    A layer gets standard-normal ``x``. A loss gets ``x`` in (0.05, 0.95), valid both as probabilities
    and as logits (with class labels and a 2-D shape, each row sums to 1), and labels from a stream
    of their own (``make_labels``).
    """
    rng = np.random.default_rng(seed)
    if labels is None:
        return rng.standard_normal(shape), None
    x = rng.uniform(0.05, 0.95, shape)
    if labels == "classes" and len(shape) == 2:
        x /= x.sum(axis=1, keepdims=True)
    return x, make_labels(labels, shape, np.random.default_rng([seed, 1]))


def check_user_layer(layer, shape, labels=None, seed=0, **options):
    """Check a user's layer on seeded random input of ``shape`` (``make_input``).

    Parameters
    ----------
    layer : the layer, e.g. from ``load_layer``
    shape : tuple, the input's shape
    labels : None for a layer, ``forward(x)``; "binary" or "classes" for a loss, ``forward(x, y)``
    seed : int, the input, the labels and the checker's random draws
    options : ``h``, ``tol``, ``warn_tol``, ``mode``, ``directions``, as for ``check_layer``

    Returns
    -------
    Report

    Raises
    ------
    ParameterError naming ``labels``
        When a loss (by its signature) has none, a layer that takes only ``x`` has some, or a layer
        whose signature does not say (``forward(*args)``) fails with a ``TypeError`` without them.
    LayerError
        When the layer breaks the protocol, anywhere in the check.
    """
    name = type(layer).__name__
    is_loss = takes_labels(layer)
    if labels is None and is_loss:
        raise ParameterError("check_user_layer", "labels", f"is required: {name}.forward takes labels, forward(x, y), "
                             "so it is a loss; binary = 0/1 labels of x's shape, classes = (N,) integers in [0, K) "
                             "for x of shape (N, K)")
    if labels is not None and is_loss is False:
        raise ParameterError("check_user_layer", "labels", f"does not apply: {name}.forward takes only x; labels "
                             "are for a loss, forward(x, y)")
    x, y = make_input(shape, labels, seed)
    try:
        with np.errstate(all="ignore"):  # the user's overflow shows as a failing row, not as NumPy's warnings
            return check_layer(layer, x, y=y, seed=seed, **options)
    except LayerError as exc:
        if labels is None and is_loss is None and isinstance(exc.__cause__, TypeError):
            raise ParameterError("check_user_layer", "labels", f"may be needed: {exc}; a loss, forward(x, y), takes "
                                 "binary or classes labels") from exc
        raise
    except (MemoryError, ValueError):  # already one clear sentence
        raise
    except BaseException as exc:  # noqa: B036 — the user's code failed somewhere inside the check
        raise LayerError(f"{name}: {describe_exception(exc)}") from exc
