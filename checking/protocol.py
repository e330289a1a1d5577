"""The layer protocol, as the checker holds user code to it.

A layer (or model) under check is someone's code: it may raise anything, exit the program, return a
gradient of the wrong shape or of complex numbers, or not be written yet. Every call into it goes
through ``call_user``, which turns each of those into one ``LayerError`` sentence naming the method;
``as_gradient`` refuses what is not a gradient of the right shape. The checker never touches the
caller's object: it works on a float64 copy (``float64_copy``).
"""

import copy
import os

import numpy as np


class LayerError(ValueError):
    """A layer or model under check broke the protocol.

    It raised (anything, ``SystemExit`` and ``KeyboardInterrupt`` included: only ``MemoryError``
    passes through), returned a gradient of the wrong shape or of a type that is not real numbers,
    or has a method that is not implemented yet.
    """


def call_user(what, fn, *args):
    """``fn(*args)``, with every exception the user's code raises turned into one ``LayerError``.

    ``what`` names the call in the message (``"Tanh.backward"``).
    """
    try:
        return fn(*args)
    except (MemoryError, LayerError):
        raise
    except NotImplementedError as exc:
        raise LayerError(f"{what} is not implemented yet (TODO in {source_file(fn)})") from exc
    except BaseException as exc:  # noqa: B036 — a SystemExit in user code must not end the check silently
        raise LayerError(f"{what} raised {describe_exception(exc)}") from exc


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
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if rel.startswith("..") else rel


#: what an array of each refused dtype kind holds, for the message
_NOT_REAL = {"c": "complex numbers", "b": "booleans", "O": "Python objects", "U": "strings", "S": "bytes"}


def as_gradient(g, who, verb, shape, of):
    """``g`` as a float64 array, or a ``LayerError`` saying why it is not a gradient of ``shape``.

    ``who verb ...`` starts the message ("Tanh.backward returned ..."); ``of`` names the tensor
    ("the input's"). A 2-D gradient of the transposed shape is let through: its row then fails with
    a hint.
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
        raise LayerError(f"{who} {verb} a gradient of shape {arr.shape}; it must have {of} shape {shape}")
    return np.array(arr, dtype=np.float64)  # a copy: the layer may reuse its buffers


def parameter_gradients(obj, name):
    """``{key: obj.grads[key]}`` for every key of ``obj.params``, each checked by ``as_gradient``."""
    grads = getattr(obj, "grads", {})
    out = {}
    for key, param in obj.params.items():
        if key not in grads:
            raise LayerError(f"{name}.grads has no entry for parameter {key!r}")
        out[key] = as_gradient(grads[key], f"{name}.grads[{key!r}]", "holds", np.shape(param), "the parameter's")
    return out


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
