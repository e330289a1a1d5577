"""Check the user's own layer: build it from ``PATH.py:ClassName`` (``layers.user_code``), draw an input
(and labels, for a loss) and run ``check_layer`` on it: what ``gradcheck.py`` does with a user's layer."""

import functools
import inspect

import numpy as np

from layers.protocol import LayerError, call_user, describe_exception, no_process_exit
from layers.user_code import load_class
from layers.validation import ParameterError

from .checker import check_layer

#: the kinds of labels a loss can be checked with
LABELS = ("binary", "classes")


def load_layer(spec, args=None):
    """Build a layer from ``spec``, ``"path/to/file.py:ClassName"``, calling the class with ``args``: None, a list
    (positional arguments), a dict (keyword arguments) or one value (the only argument).

    Raises ``ValueError`` with one readable sentence for every way this can go wrong: loading the class
    (``layers.user_code.load_class``), or, naming the call, its constructor raising anything, ``SystemExit``
    included (a ``LayerError`` from ``layers.protocol.call_user``).
    """
    cls = load_class(spec)
    positional, keywords = _arguments(args)
    called = ", ".join([*map(repr, positional), *(f"{k}={v!r}" for k, v in keywords.items())])
    return call_user(f"{cls.__name__}({called})", functools.partial(cls, **keywords), *positional)


def _arguments(args):
    """The constructor's arguments as a call's (positional, keyword): from None, a list, a dict or one value."""
    if args is None:
        return [], {}
    if isinstance(args, dict):
        return [], args
    return (args if isinstance(args, list) else [args]), {}


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
    """Labels drawn with ``rng`` for a loss checked on an input of ``shape``: "binary", 0/1 integers of that shape;
    "classes", (N,) integers in [0, K) for an input of shape (N, K), K >= 2 (else a ``ParameterError`` naming
    ``shape``). Another kind is a ``ParameterError`` naming ``labels``."""
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

    Returns a ``Report``.

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
        # the user's overflow shows as a failing row, not as NumPy's warnings; an os._exit as a LayerError line
        with np.errstate(all="ignore"), no_process_exit():
            return check_layer(layer, x, y=y, seed=seed, **options)
    except LayerError as exc:
        if labels is None and is_loss is None and isinstance(exc.__cause__, TypeError):
            raise ParameterError("check_user_layer", "labels", f"may be needed: {exc}; a loss, forward(x, y), takes "
                                 "binary or classes labels") from exc
        raise
    except (MemoryError, ValueError, KeyboardInterrupt):  # already one clear sentence; Ctrl-C stops the run
        raise
    except BaseException as exc:  # noqa: B036 — the user's code failed somewhere inside the check
        raise LayerError(f"{name}: {describe_exception(exc)}") from exc
