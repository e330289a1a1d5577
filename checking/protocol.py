"""The layer protocol, as the checker holds user code to it.

A layer (or model) under check is someone's code: it may raise anything, exit the program, return a
gradient of the wrong shape or of complex numbers, or not be written yet. Every call into it goes
through ``call_user``, which turns each of those into one ``LayerError`` sentence naming the method;
``as_gradient`` refuses what is not a gradient of the right shape. The checker never touches the
caller's object: it works on a float64 copy (``float64_copy``).
"""

import contextlib
import copy
import functools
import os

import numpy as np

from .shapes import explain_numpy_error, likely_fix, shape_text


class LayerError(ValueError):
    """A layer or model under check broke the protocol.

    It raised (anything, ``SystemExit`` and ``KeyboardInterrupt`` included: only ``MemoryError``
    passes through), returned a gradient of the wrong shape or of a type that is not real numbers,
    or has a method that is not implemented yet.
    """

    def _render_traceback_(self):
        """In Jupyter, the one line: the checker's own frames tell a learner nothing."""
        return [f"{type(self).__name__}: {self}"]


def call_user(what, fn, *args, shapes=None, batch_size=None):
    """``fn(*args)``, with every exception the user's code raises turned into one ``LayerError``.

    ``what`` names the call in the message (``"Tanh.backward"``). ``shapes`` (label -> shape, e.g.
    ``{"the input's": (8, 5), "grads['W']": (5, 3)}``) are the gradients' shapes: a shape error NumPy
    raises inside ``fn`` is then said with the shapes and the likely fix (``checking.shapes``), never in
    NumPy's words; ``batch_size`` helps name the fix.
    """
    try:
        return fn(*args)
    except (MemoryError, LayerError):
        raise
    except NotImplementedError as exc:
        raise LayerError(f"{what} is not implemented yet (TODO in {source_file(fn)})") from exc
    except BaseException as exc:  # noqa: B036 — a SystemExit in user code must not end the check silently
        explained = explain_numpy_error(exc, what, shapes, batch_size) if shapes else None
        raise LayerError(explained or f"{what} raised {describe_exception(exc)}") from exc


def call_on_copies(what, fn, *args, names=("input", "labels")):
    """``fn`` called on a private copy of every array in ``args``; a ``LayerError`` if it changed one.

    A ``forward`` that writes into its input (``x *= 3``, ``x[x < 0] = 0``) changes an array that is not
    its own: in a network, the previous layer's output, which that layer may keep for its backward; in
    a check, the point being probed, so every probe would measure something else. It is refused, in one
    line naming the method; ``names`` name the arguments in that line.
    """
    copies = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args]
    out = call_user(what, fn, *copies)
    for i, (mine, given) in enumerate(zip(copies, args, strict=True)):
        if isinstance(given, np.ndarray) and not _unchanged(mine, given):
            which = names[i] if i < len(names) else f"argument {i + 1}"
            changed = int(np.sum(mine != given)) if mine.shape == given.shape else given.size
            raise LayerError(f"{what} changes its {which} in place ({changed} of {given.size} elements): a layer must "
                             f"leave its {which} as it found it (it is the previous layer's output, which that layer "
                             "may keep for its backward); compute a new array: y = x * 3 or np.maximum(0, x), "
                             "not x *= 3 or x[x < 0] = 0")
    return out


def _unchanged(mine, given):
    if mine.shape != given.shape:
        return False
    return bool(np.array_equal(mine, given, equal_nan=mine.dtype.kind in "fc"))


def guard_layers(model):
    """Hold every layer of ``model`` (``model.layers`` and ``model.criterion``) to the protocol as ``check_layer``
    does: ``forward`` runs on private copies of its inputs and is refused if it changes them
    (``call_on_copies``); ``backward``'s NumPy shape errors are said with the shapes its gradients must have
    (``call_user``). ``model`` is the checker's own copy; a layer that takes no attributes is left as it is."""
    for obj in [*getattr(model, "layers", []), getattr(model, "criterion", None)]:
        forward, backward = getattr(obj, "forward", None), getattr(obj, "backward", None)
        if not (callable(forward) and callable(backward)):
            continue
        name, seen = type(obj).__name__, {}

        def guarded_forward(*args, _forward=forward, _name=name, _seen=seen, **options):
            _seen["shape"] = np.shape(args[0]) if args else ()
            call = functools.partial(_forward, **options) if options else _forward
            return call_on_copies(f"{_name}.forward", call, *args)

        def guarded_backward(*args, _backward=backward, _name=name, _seen=seen, _obj=obj, **options):
            shapes = gradient_shapes(_obj, _seen.get("shape", ()))
            call = functools.partial(_backward, **options) if options else _backward
            return call_user(f"{_name}.backward", call, *args, shapes=shapes,
                             batch_size=_seen["shape"][0] if _seen.get("shape") else None)

        with contextlib.suppress(AttributeError, TypeError):
            obj.forward, obj.backward = guarded_forward, guarded_backward


def describe_exception(exc):
    """One line for an exception raised by user code (a ``SystemExit`` is named as one)."""
    if isinstance(exc, SystemExit):
        return f"SystemExit({exc.code!r}): a layer must not exit the program"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def source_file(fn):
    """The file defining ``fn`` (a bound method), relative to the working directory when inside it."""
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    path = code.co_filename if code is not None else "its module"
    if os.path.basename(os.path.dirname(path)).startswith("ipykernel_"):
        return "a notebook cell"
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if rel.startswith("..") else rel


#: what an array of each refused dtype kind holds, for the message
_NOT_REAL = {"c": "complex numbers", "b": "booleans", "O": "Python objects", "U": "strings", "S": "bytes"}


def as_gradient(g, who, verb, shape, of, batch_size=None):
    """``g`` as a float64 array, or a ``LayerError`` saying why it is not a gradient of ``shape``.

    ``who verb ...`` starts the message ("Tanh.backward returned ..."); ``of`` names the tensor
    ("the input's"). A 2-D gradient of the transposed shape is let through: its row then fails with
    a hint. A gradient of another shape is one line with both shapes and the likely fix
    (``checking.shapes.likely_fix``; ``batch_size`` helps name it).
    """
    shape = tuple(shape)
    if g is None:
        raise LayerError(f"{who} {verb} None instead of a gradient of shape {shape}")
    try:
        arr = np.asarray(g)
    except Exception as exc:
        raise LayerError(f"{who} {verb} something that is not an array: {describe_exception(exc)}") from exc
    if arr.dtype.kind not in "fiu":
        kind = _NOT_REAL.get(arr.dtype.kind, "values")
        raise LayerError(f"{who} {verb} {kind} ({arr.dtype}); a gradient must be real floating-point numbers")
    if arr.shape != shape and not (arr.ndim == 2 and arr.shape[::-1] == shape):
        fix = likely_fix(arr.shape, shape, batch_size)
        raise LayerError(f"{who} {verb} a gradient of shape {shape_text(arr.shape)}; it must have {of} shape "
                         f"{shape_text(shape)}" + (f": {fix}" if fix else " (the shape rule)"))
    return np.array(arr, dtype=np.float64)  # a copy: the layer may reuse its buffers


def parameter_gradients(obj, name, batch_size=None):
    """``{key: obj.grads[key]}`` for every key of ``obj.params``, each checked by ``as_gradient``."""
    grads = getattr(obj, "grads", {})
    out = {}
    for key, param in obj.params.items():
        if key not in grads:
            raise LayerError(f"{name}.grads has no entry for parameter {key!r}")
        out[key] = as_gradient(grads[key], f"{name}.grads[{key!r}]", "holds", np.shape(param), "the parameter's",
                               batch_size)
    return out


def gradient_shapes(obj, input_shape):
    """``{label: shape}`` of every gradient a backward must produce: the input's, then each ``grads[key]``."""
    shapes = {"the input's": tuple(input_shape)}
    shapes.update({f"grads[{key!r}]": np.shape(p) for key, p in getattr(obj, "params", {}).items()})
    return shapes


def float64_copy(obj, notes, what):
    """A float64 copy of a layer or model (the original is never touched); a note says when it was cast.

    A model casts itself (``astype``); a layer without ``astype`` is deep-copied and its parameters
    cast. A parameterless layer need not define ``params``/``grads``: its copy gets empty ones.
    """
    params = getattr(obj, "params", {})
    dtypes = {np.asarray(p).dtype for p in params.values()}
    if dtypes <= {np.dtype(np.float64)}:
        new = call_user(f"copying {what}", copy.deepcopy, obj)
        if not hasattr(new, "params"):
            new.params, new.grads = {}, {}
        return new
    notes.append(f"{what} parameters cast from {', '.join(sorted(map(str, dtypes)))} to float64 for the check")
    if hasattr(obj, "astype"):
        return call_user(f"{what}.astype", obj.astype, np.float64)
    new = call_user(f"copying {what}", copy.deepcopy, obj)
    for key in new.params:
        new.params[key] = new.params[key].astype(np.float64)
        new.grads[key] = np.zeros_like(new.params[key])
    return new


def float64_input(x, notes, name):
    """A float64 copy of an input (the checker perturbs it); a note says when it was cast."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be real numbers, got an array of dtype {arr.dtype}")
    if arr.dtype != np.float64:
        notes.append(f"{name} cast from {arr.dtype} to float64 for the check")
    return np.array(arr, dtype=np.float64)


def real_scalar(value, what):
    """``value`` as a float, or a ``LayerError`` when it is not a real number."""
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiub":
        raise LayerError(f"{what} is {arr.dtype}, not real numbers")
    return float(arr)


def real_output(out, what):
    """A layer's output as an array, or a ``LayerError`` when it is not real numbers."""
    out = np.asarray(out)
    if out.dtype.kind not in "fiub":
        raise LayerError(f"{what} returned {out.dtype} values; a layer's output must be real numbers")
    return out
