"""The layer protocol, held in one place: what a network and the gradient checker hold user code to.

A layer is someone's code: it may raise anything, return a gradient of the wrong shape or of complex
numbers, or not be written yet. Where a network (``backward_layers``, ``backward_checked``) or
the checker (``call_user``, ``as_gradient``, ...) calls it, each of those becomes one ``LayerError``
line naming the method, the shapes and the likely fix (``layers.shape_errors``), never NumPy's words.
The layers themselves stay plain: ``forward``/``backward`` are their own code and check nothing.

The protocol: ``backward`` returns dℓ/d(input) of the input's shape and fills ``grads`` under the keys and
in the shapes of ``params`` (a gradient has the shape of what it is taken with respect to); ``forward``
leaves its inputs as it found them.
"""

import contextlib
import copy
import functools
import math
import os

import numpy as np

from .shape_errors import explain_numpy_error, likely_fix, relative_path, shape_text


class LayerError(ValueError):
    """A layer or model broke the protocol: it raised, returned a gradient of the wrong shape or of
    values that are not real numbers, changed its input, or has a method that is not implemented yet."""

    def _render_traceback_(self):
        """In Jupyter, the one line: the frames of the network or the checker tell a learner nothing."""
        return [f"{type(self).__name__}: {self}"]


class ProcessExit(BaseException):  # noqa: N818 — named after what was called, as SystemExit is
    """Raised in place of ``os._exit(status)`` while ``no_process_exit`` guards user code: an ``os._exit`` ends
    the process with no ``except`` or ``finally`` run, so a check would end silently, its status the code's
    choice (0: read as a pass). A ``BaseException``, as ``SystemExit`` is: an ``except Exception`` around the
    call in user code does not swallow it."""

    def __init__(self, status):
        super().__init__(status)
        self.status = status


@contextlib.contextmanager
def no_process_exit():
    """While inside, ``os._exit(status)`` raises ``ProcessExit(status)`` instead of ending the process; the real
    ``os._exit`` is back on leaving, however the block ends."""
    real = os._exit

    def refused(status):
        raise ProcessExit(status)

    os._exit = refused
    try:
        yield
    finally:
        os._exit = real


def describe_exception(exc):
    """One line for an exception raised by user code (a ``SystemExit`` or ``os._exit`` is named as one)."""
    if isinstance(exc, SystemExit):
        return f"SystemExit({exc.code!r}): a layer must not exit the program"
    if isinstance(exc, ProcessExit):
        return f"os._exit({exc.status!r}): user code must not end the process"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def explained(exc, what, shapes, batch_size=None):
    """``exc`` raised by ``what`` in one line: a NumPy shape error with the ``shapes`` the gradients need."""
    return (shapes and explain_numpy_error(exc, what, shapes, batch_size)) or f"{what} raised {describe_exception(exc)}"


def gradient_shapes(obj, input_shape=None):
    """``{label: shape}`` of every gradient a backward must produce: the input's (when known), each ``grads[key]``."""
    shapes = {} if input_shape is None else {"the input's": tuple(input_shape)}
    shapes.update({f"grads[{key!r}]": np.shape(p) for key, p in getattr(obj, "params", {}).items()})
    return shapes


#: what a layer's own code raises on a shape mistake (NumPy's errors), which a network says in its words
NETWORK_ERRORS = (ValueError, TypeError, IndexError)


def failed(exc, layer, name, input_shape=None):
    """The ``LayerError`` saying ``exc``, which ``layer.backward`` raised inside a network."""
    batch = input_shape[0] if input_shape else None
    return LayerError(explained(exc, f"{name}.backward", gradient_shapes(layer, input_shape), batch))


def forward_checked(layers, x, finite):
    """Each layer's ``forward``, left to right, held to the protocol: returns the output and each layer's input
    shape (what its dℓ/dx must be shaped like). With ``finite`` (a network's first pass, before training can
    have diverged) no layer may turn a finite input into NaN or infinity."""
    shapes, finite = [], finite and _all_finite(x)  # then each layer's input is finite: its output must be too
    for i, layer in enumerate(layers):
        shapes.append(np.shape(x))
        x = layer.forward(x)
        if finite:
            must_be_finite(f"{_name(layer, i)}.forward", "input", x)
    return x, tuple(shapes)


def must_be_finite(who, given, returned):
    """Refuse NaN or infinity in ``returned``, which ``who`` made from a finite ``given`` ("input", ...)."""
    if not _all_finite(returned):
        raise LayerError(f"{who} gave NaN or infinity from a finite {given}: a division by zero, a log of 0 or an "
                         "overflow (an exp of a large number, inputs of a huge scale)?")


def _all_finite(a):
    a = np.asarray(a)
    if a.dtype.kind not in "fc":
        return True
    with np.errstate(over="ignore", invalid="ignore"):  # a sum of finite values may overflow: then look at each
        return math.isfinite(a.sum()) or bool(np.isfinite(a).all())


def backward_layers(layers, upstream):
    """Each layer's ``backward``, right to left, from the loss's gradient ``upstream``: the usual case, once
    a pass of this shape kept to the protocol. A NumPy error inside one is still said as ``failed`` says it."""
    last = i = len(layers) - 1
    try:
        for i in range(last, -1, -1):
            if type(upstream) is not np.ndarray:  # a list or a NumPy scalar is a gradient too, as in the checker
                upstream = np.asarray(upstream)
            upstream = layers[i].backward(upstream)
    except LayerError:
        raise
    except NETWORK_ERRORS as exc:
        raise failed(exc, layers[i], _name(layers[i], i)) from exc
    return upstream


def backward_checked(layers, upstream, inputs, output, finite, loss):
    """``backward_layers`` held to the protocol: the loss's (``loss`` names it) gradient has the ``output``'s
    shape, then each layer's gradients as ``backward_through`` checks them, ``inputs`` the layers' input shapes
    (``finite`` as in ``forward_checked``)."""
    upstream = gradient_array(upstream, f"the loss ({loss}).backward", "returned", output, "the network output's")
    finite = finite and _all_finite(upstream)  # then every gradient the layers make must be finite too
    for i in range(len(layers) - 1, -1, -1):
        upstream = backward_through(layers[i], _name(layers[i], i), upstream, inputs[i], finite)
    return upstream


def _name(layer, i):
    return f"layer {i} ({type(layer).__name__})"


def backward_through(layer, name, upstream, input_shape, finite):
    """``layer.backward(upstream)`` held to the protocol: dℓ/dx of ``input_shape``, ``grads`` like ``params``.

    ``name`` names the layer in the message (``"layer 3 (Linear)"``). A network calls this until a layer has
    passed for an input shape, then calls ``backward`` directly.
    """
    batch = input_shape[0] if input_shape else None
    try:
        downstream = layer.backward(upstream)
    except LayerError:
        raise
    except NETWORK_ERRORS as exc:
        raise failed(exc, layer, name, input_shape) from exc
    downstream = gradient_array(downstream, f"{name}.backward", "returned", input_shape, "the input's", batch)
    if finite:  # the upstream is finite (``backward_checked``): so must every gradient this backward makes be
        must_be_finite(f"{name}.backward", "upstream gradient", downstream)
    params, grads = same_keys(layer, name)
    for key, param in params.items():
        grad = gradient_array(grads[key], f"{name}.grads[{key!r}]", "holds", np.shape(param), "the parameter's", batch)
        if finite:
            must_be_finite(f"{name}.grads[{key!r}]", "upstream gradient", grad)
    return downstream


def same_keys(obj, name):
    """``obj``'s ``(params, grads)``, or the ``LayerError`` naming the keys when ``grads`` has others than ``params``
    (``grads["dW"]`` beside ``params["W"]``): the network, the checker and the trace say it in these words."""
    params, grads = getattr(obj, "params", {}), getattr(obj, "grads", {})
    if params and grads.keys() != params.keys():
        raise LayerError(f"{name}.grads has keys {sorted(grads)}, its params {sorted(params)}: a gradient stored "
                         "under another name never reaches its parameter")
    return params, grads


def set_mode(layer, training):
    """Training (True) or evaluation mode for ``layer``: its ``train(mode)`` when it has one, else its ``training``
    attribute when it has that (a learner's layer need not write ``train``, as PyTorch's modules inherit it)."""
    if callable(getattr(layer, "train", None)):
        layer.train(training)
    elif hasattr(layer, "training"):
        layer.training = training


def call_user(what, fn, *args, shapes=None, batch_size=None):
    """``fn(*args)``, with every exception the user's code raises turned into one ``LayerError``.

    ``what`` names the call (``"Tanh.backward"``). ``shapes`` (label -> shape, as ``gradient_shapes``) let a
    NumPy shape error be said with the shapes and the likely fix; ``batch_size`` helps name it. Only
    ``MemoryError`` passes through: a ``SystemExit`` in user code must not end a check silently.
    """
    try:
        return fn(*args)
    except (MemoryError, LayerError, KeyboardInterrupt):  # Ctrl-C (or SIGTERM) stops the run, not the layer
        raise
    except NotImplementedError as exc:
        raise LayerError(f"{what} is not implemented yet (TODO in {source_file(fn)})") from exc
    except BaseException as exc:  # noqa: B036 — a SystemExit in user code must not end the check silently
        raise LayerError(explained(exc, what, shapes, batch_size)) from exc


def call_on_copies(what, fn, *args, names=("input", "labels")):
    """``fn`` called on a private copy of every array in ``args``; a ``LayerError`` if it changed one.

    A ``forward`` that writes into its input (``x *= 3``) changes the previous layer's output, which that
    layer may keep for its backward, or the point a check probes. ``names`` name the arguments.
    """
    copies = [np.array(a, copy=True) if isinstance(a, np.ndarray) else a for a in args]
    out = call_user(what, fn, *copies)
    for i, (mine, given) in enumerate(zip(copies, args, strict=True)):
        if not isinstance(given, np.ndarray):
            continue
        if mine.shape != given.shape or not np.array_equal(mine, given, equal_nan=mine.dtype.kind in "fc"):
            which = names[i] if i < len(names) else f"argument {i + 1}"
            changed = int(np.sum(mine != given)) if mine.shape == given.shape else given.size
            raise LayerError(f"{what} changes its {which} in place ({changed} of {given.size} elements): a layer must "
                             f"leave its {which} as it found it (it is the previous layer's output, which that layer "
                             "may keep for its backward); compute a new array: y = x * 3 or np.maximum(0, x), "
                             "not x *= 3 or x[x < 0] = 0")
    return out


def guard_layers(model):
    """Hold every layer of the checker's copy ``model`` (its ``layers`` and ``criterion``) to the protocol:
    ``forward`` runs on private copies of its inputs (``call_on_copies``); ``backward``'s NumPy shape errors
    are said with the shapes its gradients must have. A layer that takes no attributes is left as it is."""
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
            shape = _seen.get("shape", ())
            call = functools.partial(_backward, **options) if options else _backward
            return call_user(f"{_name}.backward", call, *args, shapes=gradient_shapes(_obj, shape),
                             batch_size=shape[0] if shape else None)

        with contextlib.suppress(AttributeError, TypeError):
            obj.forward, obj.backward = guarded_forward, guarded_backward


def source_file(fn):
    """The file defining ``fn`` (a bound method), relative to the working directory when inside it."""
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    if code is None:
        return "its module"
    path = code.co_filename
    if os.path.basename(os.path.dirname(path)).startswith("ipykernel_"):
        return "a notebook cell"
    return relative_path(path) or path


#: what an array of each refused dtype kind holds, for the message
_NOT_REAL = {"c": "complex numbers", "b": "booleans", "O": "Python objects", "U": "strings", "S": "bytes"}


def gradient_array(g, who, verb, shape, of, batch_size=None, transposed_ok=False):
    """``g`` as an array of real numbers of ``shape``, or a ``LayerError`` saying why it is not that gradient.

    The one rule for what a gradient is, for the network and the checker alike. ``who verb ...`` starts the
    message ("Tanh.backward returned ..."); ``of`` names the tensor ("the input's"). With ``transposed_ok`` a
    2-D gradient of the transposed shape is let through (the checker's row for it then fails with the hint).
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
    if arr.shape != shape and not (transposed_ok and arr.ndim == 2 and arr.shape[::-1] == shape):
        fix = likely_fix(arr.shape, shape, batch_size)
        raise LayerError(f"{who} {verb} a gradient of shape {shape_text(arr.shape)}; it must have {of} shape "
                         f"{shape_text(shape)}" + (f": {fix}" if fix else " (the shape rule)"))
    return arr


def as_gradient(g, who, verb, shape, of, batch_size=None):
    """``gradient_array`` for the checker: a transposed 2-D gradient let through, and a float64 copy returned
    (the layer may reuse its buffers)."""
    return np.array(gradient_array(g, who, verb, shape, of, batch_size, transposed_ok=True), dtype=np.float64)


def parameter_gradients(obj, name, batch_size=None):
    """``{key: obj.grads[key]}`` for every key of ``obj.params``, each checked by ``as_gradient``."""
    params, grads = same_keys(obj, name)
    return {key: as_gradient(grads[key], f"{name}.grads[{key!r}]", "holds", np.shape(param), "the parameter's",
                             batch_size) for key, param in params.items()}


def float64_copy(obj, notes, what):
    """A float64 copy of a layer or model (the original is never touched); a note says when it was cast.

    A model casts itself (``astype``); a layer without ``astype`` is deep-copied and its parameters
    cast. A parameterless layer need not define ``params``/``grads``: its copy gets empty ones.
    """
    dtypes = {np.asarray(p).dtype for p in getattr(obj, "params", {}).values()}
    cast = bool(dtypes - {np.dtype(np.float64)})
    if cast:
        notes.append(f"{what} parameters cast from {', '.join(sorted(map(str, dtypes)))} to float64 for the check")
        if hasattr(obj, "astype"):
            return call_user(f"{what}.astype", obj.astype, np.float64)
    new = call_user(f"copying {what}", copy.deepcopy, obj)
    if not hasattr(new, "params"):
        new.params, new.grads = {}, {}
    if cast:
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
    """``value`` as a float, or a ``LayerError`` when it is not one real number (an array of shape (N,), the
    per-sample losses not yet averaged, is named by its shape)."""
    arr = _array(value, what)
    if arr.dtype.kind not in "fiub":
        raise LayerError(f"{what} is {arr.dtype}, not real numbers")
    if arr.size != 1:
        raise LayerError(f"{what} gave an array of shape {arr.shape} where one number belongs: a loss is the "
                         "mean (or sum) over the batch, not one loss per sample")
    return float(arr.reshape(()))


def real_output(out, what):
    """A layer's output as an array, or a ``LayerError`` when it is not real numbers (or not one array at all: a
    ragged list of rows of different lengths)."""
    out = _array(out, what)
    if out.dtype.kind not in "fiub":
        raise LayerError(f"{what} returned {out.dtype} values; a layer's output must be real numbers")
    return out


def _array(value, what):
    """``np.asarray(value)``, or the ``LayerError`` saying ``what`` made something no array can hold."""
    try:
        return np.asarray(value)
    except (ValueError, TypeError) as exc:
        raise LayerError(f"{what} returned a {type(value).__name__} that is not one array: its rows have different "
                         "lengths, or it mixes arrays and numbers; it must be an array of one shape") from exc


def not_a_function(who, when):
    """The ``LayerError`` for a forward ``who`` whose output at the same inputs changed ``when`` ("after other
    calls"): the one wording, for the layer check and the assignment check."""
    return LayerError(f"{who} is not a function of its input: the same x gave another output {when}; its output "
                      "must depend only on its input and parameters (no counter, no state carried from call to call, "
                      "no randomness the checker cannot hold still)")
