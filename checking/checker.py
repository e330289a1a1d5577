"""Finite-difference gradient checking: the yardstick every backward pass here is held to.

Everything runs in float64: a float32 check makes a correct gradient look wrong, so inputs and
parameters are cast (on copies: the caller's object is never touched) and the report says so. The
verdict follows the CS231n notes: relative error below ``tol`` (1e-7) passes, up to ``warn_tol``
(1e-4) warns, above it fails. Three modes:

``elementwise``
    a centred difference per element (two evaluations of ``f`` each, plus one of ``f(θ)`` per
    tensor); elements at a kink are found and verified by the subgradient test (``checking.numeric``);
    a failing row says how many elements fail and what the pattern suggests (``checking.diagnosis``).
``directional``
    the same along a few random unit directions of all tensors at once, for big models.
``taylor``
    the order of the first-order Taylor remainder along a random direction per tensor, which does
    not depend on a step size (``checking.taylor``, after dolfin-adjoint's Taylor test).

Randomness is held still (``checking.randomness``): every NumPy generator reachable from the layer
or model is rewound before each evaluation, so a Dropout mask is the same for every probe.

The module splits into ``numeric`` (differences, kinks), ``report`` (rows, verdicts), ``diagnosis``
(hints), ``taylor`` and ``randomness``; their public names are importable from here.
"""

import copy
import os

import numpy as np

from .diagnosis import diagnose  # noqa: F401  (public)
from .numeric import (  # noqa: F401  (public)
    KINK_REL,
    REL_FLOOR,
    Probes,
    kink_mask,
    numerical_gradient,
    numerical_gradient_kinks,
    probe_elements,
    rel_error,
    rel_errors,
    _same,
    _snapshot,
)
from .randomness import FrozenRandomness, find_generators  # noqa: F401  (public)
from .report import PASS_TOL, VERDICTS, WARN_TOL, Report, Row, compare, compare_probes  # noqa: F401  (public)
from .taylor import EPSILONS, PASS_ORDER, kink_free, taylor_row  # noqa: F401  (public)

MODES = ("elementwise", "directional", "taylor")
UPSTREAM_STREAM = 0x5EED  # spawn key of the default upstream's random stream (see check_layer)


# ---------------------------------------------------------------- checking functions


#: In Taylor mode, a tensor whose every direction crosses a kink is judged element-wise instead, up to
#: this many elements (two forward passes each); a bigger one stays ``unchecked``.
ELEMENTWISE_FALLBACK = 10_000


def check_function(f, arrays, analytic, check="function", h=1e-5, state=None, tol=PASS_TOL,
                   warn_tol=WARN_TOL, notes=(), mode="elementwise", directions=8, seed=0, inputs=None,
                   batch_size=None):
    """Compare ``analytic[name]`` with finite differences of ``f()`` w.r.t. ``arrays[name]``.

    Parameters
    ----------
    f : callable ``f() -> float`` that reads the current values of ``arrays``
    arrays : dict of str -> float64 ndarray, perturbed in place (and restored)
    analytic : dict of str -> ndarray, the hand-derived gradients, same keys and shapes
    state : optional kink hint (see ``probe_elements``); kinks are detected without it too
    mode : "elementwise" (one row per array), "directional" (one row for all arrays together; see
        ``directional_check``) or "taylor" (one row per array; see ``checking.taylor``)
    directions, seed : directional and Taylor modes: number of directions, and their seed
    inputs : dict of str -> ndarray or None, the input values behind an array of the same shape
        (for the "failures only where the input is negative" hint); batch_size : int or None (hints)

    Returns
    -------
    Report
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    report = Report(notes=list(notes))
    inputs = inputs or {}
    misshapen = [k for k in arrays if np.shape(analytic[k]) != arrays[k].shape]
    if mode == "directional":
        fine = {k: a for k, a in arrays.items() if k not in misshapen}
        if fine:
            report.rows.append(directional_check(f, fine, analytic, check, h, state, directions, seed, tol, warn_tol,
                                                 batch_size=batch_size))
    seeds = np.random.SeedSequence(seed).spawn(len(arrays))
    for (name, arr), s in zip(arrays.items(), seeds):
        if mode == "taylor" and name not in misshapen:
            row = taylor_row(f, arr, analytic[name], check, name, s, batch_size, report.notes)
            if row.verdict != "unchecked" or arr.size > ELEMENTWISE_FALLBACK:
                report.rows.append(row)
                continue
            # every direction crossed a kink: the element-wise check verifies kinks, so it judges this tensor
            report.notes.append(f"{check} {name} (taylor): every direction crossed a kink, so this tensor is "
                                "judged element-wise, kinks verified by their one-sided slopes")
        if mode == "elementwise" or name in misshapen or mode == "taylor":  # misshapen: element-wise, for the hint
            probes = probe_elements(lambda _: f(), arr, h, state)
            report.rows.append(compare_probes(check, name, analytic[name], probes, tol, warn_tol,
                                              inputs=inputs.get(name), batch_size=batch_size))
    return report


def directional_check(f, arrays, analytic, check="function", h=1e-5, state=None, directions=8, seed=0,
                      tol=PASS_TOL, warn_tol=WARN_TOL, batch_size=None):
    """Compare ``∇f·v`` with ``(f(θ + h v) − f(θ − h v)) / 2h`` for random unit directions ``v``.

    ``θ`` is all of ``arrays`` together. Two evaluations of ``f`` per direction (and one of ``f(θ)``)
    instead of two per element: the check for big models, where the element-wise one would take
    thousands of passes. A wrong gradient almost surely shows in a random direction; it does not say
    *which* element is wrong, so follow a failure with an element-wise check on a smaller model. A
    direction through a kink is verified by its one-sided slopes, as an element is.

    Returns
    -------
    Row, one entry per direction (``worst_index`` is the worst direction's number).
    """
    names = list(arrays)
    grad = np.concatenate([np.asarray(analytic[k], dtype=np.float64).ravel() for k in names])
    saved = {k: arrays[k].copy() for k in names}
    rng = np.random.default_rng(seed)
    vs = [rng.standard_normal(grad.size) for _ in range(directions)]
    vs = [v / np.linalg.norm(v) for v in vs]
    exact = np.array([grad @ v for v in vs])

    def along(v, step):
        for k, piece in zip(names, np.split(v, np.cumsum([arrays[k].size for k in names])[:-1])):
            arrays[k][...] = saved[k] + step * piece.reshape(arrays[k].shape)
        return float(f())

    f_plus, f_minus, changed = np.empty(directions), np.empty(directions), np.zeros(directions, bool)
    try:
        f0 = float(f())
        for d, v in enumerate(vs):
            f_plus[d] = along(v, h)
            s_plus = _snapshot(state)
            f_minus[d] = along(v, -h)
            changed[d] = not _same(s_plus, _snapshot(state))
        probes = Probes(f0, f_plus, f_minus, h, changed).confirm(lambda d: (along(vs[d], h / 2), along(vs[d], -h / 2)))
    finally:
        for k in names:
            arrays[k][...] = saved[k]
    return compare_probes(check, f"{'+'.join(names)} ({directions} directions)", exact, probes, tol, warn_tol,
                          batch_size=batch_size, mode="directional")


# ---------------------------------------------------------------- calling the user's code


class LayerError(ValueError):
    """A layer or model under check broke the protocol.

    It raised (anything, ``SystemExit`` and ``KeyboardInterrupt`` included: only ``MemoryError``
    passes through), returned a gradient of the wrong shape or of a type that is not real numbers,
    or has a method that is not implemented yet.
    """


def _call(what, fn, *args):
    """``fn(*args)``, with every exception the user's code raises turned into one ``LayerError``."""
    try:
        return fn(*args)
    except (MemoryError, LayerError):
        raise
    except NotImplementedError as exc:
        raise LayerError(f"{what} is not implemented yet (TODO in {_source_file(fn)})") from exc
    except BaseException as exc:  # noqa: B036 — a SystemExit in user code must not end the check silently
        raise LayerError(f"{what} raised {describe_exception(exc)}") from exc


def describe_exception(exc):
    """One line for an exception raised by user code (a ``SystemExit`` is named as one)."""
    if isinstance(exc, SystemExit):
        return f"SystemExit({exc.code!r}): a layer must not exit the program"
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _source_file(fn):
    """The file defining ``fn`` (a bound method), relative to the working directory when inside it."""
    code = getattr(getattr(fn, "__func__", fn), "__code__", None)
    path = code.co_filename if code is not None else "its module"
    try:
        rel = os.path.relpath(path)
    except ValueError:  # another drive on Windows
        return path
    return path if rel.startswith("..") else rel


def _as_gradient(g, who, verb, shape, of):
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
        kind = {"c": "complex numbers", "b": "booleans", "O": "Python objects", "U": "strings",
                "S": "bytes"}.get(arr.dtype.kind, "values")
        raise LayerError(f"{who} {verb} {kind} ({arr.dtype}); a gradient must be real floating-point numbers")
    if arr.shape != shape and not (arr.ndim == 2 and arr.shape[::-1] == shape):
        raise LayerError(f"{who} {verb} a gradient of shape {arr.shape}; it must have {of} shape {shape}")
    return np.array(arr, dtype=np.float64)  # a copy: the layer may reuse its buffers


def _float64_copy(obj, notes, what):
    """A float64 copy of a layer or model (the original is never touched).

    A parameterless layer need not define ``params``/``grads``; its copy gets empty ones.
    """
    params = getattr(obj, "params", {})
    dtypes = {np.asarray(p).dtype for p in params.values()}
    if dtypes <= {np.dtype(np.float64)}:
        new = _call(f"copying {what}", copy.deepcopy, obj)
        if not hasattr(new, "params"):
            new.params, new.grads = {}, {}
        return new
    notes.append(f"{what} parameters cast from {', '.join(sorted(map(str, dtypes)))} to float64 for the check")
    if hasattr(obj, "astype"):
        return _call(f"{what}.astype", obj.astype, np.float64)
    new = _call(f"copying {what}", copy.deepcopy, obj)
    for k in new.params:
        new.params[k] = new.params[k].astype(np.float64)
        new.grads[k] = np.zeros_like(new.params[k])
    return new


def _float64_input(x, notes, name):
    arr = np.asarray(x)
    if arr.dtype.kind not in "fiub":
        raise ValueError(f"{name} must be real numbers, got an array of dtype {arr.dtype}")
    if arr.dtype != np.float64:
        notes.append(f"{name} cast from {arr.dtype} to float64 for the check")
    return np.array(arr, dtype=np.float64)  # always a copy: the checker perturbs it


def _scalar(value, what):
    arr = np.asarray(value)
    if arr.dtype.kind not in "fiub":
        raise LayerError(f"{what} is {arr.dtype}, not real numbers")
    return float(arr)


def _batch_size(x):
    return int(x.shape[0]) if x.ndim >= 1 else None


# ---------------------------------------------------------------- checking layers and models


def check_layer(layer, x, upstream=None, y=None, h=1e-5, seed=0, tol=PASS_TOL, warn_tol=WARN_TOL,
                check=None, mode="elementwise", directions=8):
    """Check a layer's input gradient and every parameter gradient against finite differences.

    The scalar checked is ``sum(forward(x) * upstream)``, whose gradient is exactly what
    ``backward(upstream)`` must return. For a loss layer pass the labels ``y``: then the scalar is
    the loss itself and the upstream is 1. Random generators reachable from the layer (a Dropout's
    ``rng``) are rewound before every forward, so every probe sees the same mask.

    Parameters
    ----------
    layer : object with ``forward``, ``backward`` and, if it has parameters, ``params``/``grads``
        (checked on a float64 copy; the caller's object is left exactly as it was)
    x : array_like, the input, shape (N, ...) (cast to float64; N is the batch size for the hints)
    upstream : array_like of the output's shape, or None for a seeded standard-normal one (drawn from
        a stream of its own, so that it never equals an input drawn with ``default_rng(seed)``: for
        BatchNorm, an upstream equal to x̂ makes the input gradient vanish and hides a wrong backward)
    y : array_like or None, labels for a loss layer
    h : float, finite-difference step
    seed : int, seeds the random upstream and the random directions
    tol, warn_tol : float, verdict thresholds on the relative error
    mode, directions : see ``check_function``

    Returns
    -------
    Report, one row for ``x`` and one per parameter (one row in all in directional mode).

    Raises
    ------
    LayerError
        If ``forward`` or ``backward`` raises (anything but ``MemoryError``) or is not implemented,
        or a gradient is not real numbers of the right shape.
    """
    notes = []
    name = type(layer).__name__
    layer = _float64_copy(layer, notes, name)
    x = _float64_input(x, notes, "input")
    x_seen = x.copy()
    frozen = FrozenRandomness(layer)
    args = (x,) if y is None else (x, np.asarray(y))

    def forward():
        frozen.restore()
        return _call(f"{name}.forward", layer.forward, *args)

    out = np.asarray(forward())
    if out.dtype.kind not in "fiub":
        raise LayerError(f"{name}.forward returned {out.dtype} values; a layer's output must be real numbers")
    if y is not None:
        upstream = 1.0
    elif upstream is None:  # its own stream: an input drawn from default_rng(seed) must not equal it
        upstream = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(UPSTREAM_STREAM,))).standard_normal(
            out.shape)
    upstream = np.asarray(upstream, dtype=np.float64)
    if y is None and upstream.shape != out.shape:
        raise ValueError(f"upstream has shape {upstream.shape}, expected {out.shape} (the shape of {name}'s output)")
    dx = _as_gradient(_call(f"{name}.backward", layer.backward, upstream), f"{name}.backward", "returned",
                      x.shape, "the input's")
    analytic = {"x": dx, **_param_grads(layer, name)}

    def f():
        return _scalar(np.sum(forward() * upstream), f"{name}.forward")

    return check_function(f, {"x": x, **layer.params}, analytic, check or name, h, getattr(layer, "kink_state", None),
                          tol, warn_tol, notes, mode, directions, seed, inputs={"x": x_seen},
                          batch_size=_batch_size(x))


def _param_grads(obj, name):
    grads = getattr(obj, "grads", {})
    out = {}
    for k, p in obj.params.items():
        if k not in grads:
            raise LayerError(f"{name}.grads has no entry for parameter {k!r}")
        out[k] = _as_gradient(grads[k], f"{name}.grads[{k!r}]", "holds", np.shape(p), "the parameter's")
    return out


def check_model(net, X, y, h=1e-5, tol=PASS_TOL, warn_tol=WARN_TOL, check=None, with_input=True,
                mode="elementwise", directions=8, seed=0):
    """Check a whole model's loss gradients: one row per parameter (and one for the input ``X``).

    Parameters
    ----------
    net : object with ``loss(X, y) -> float``, ``backward() -> dℓ/dX``, ``params`` and ``grads``
        (dicts of arrays with the same keys and shapes), and optionally ``kink_state()``. Checked on
        a float64 copy; random generators reachable from it are rewound before every ``loss``.
    X : array_like (N, D), N the batch size for the hints; y : array_like (N,) labels
    with_input : bool, also check dℓ/dX (``backward()`` must then return it)
    h, tol, warn_tol, check, mode, directions, seed : as for ``check_layer``

    Returns
    -------
    Report

    Raises
    ------
    LayerError, as ``check_layer``.
    """
    notes = []
    name = type(net).__name__
    net = _float64_copy(net, notes, name)
    X = _float64_input(X, notes, "X")
    X_seen = X.copy()
    y = np.array(y, copy=True)
    frozen = FrozenRandomness(net)

    def loss():
        frozen.restore()
        return _scalar(_call(f"{name}.loss", net.loss, X, y), f"{name}.loss")

    loss()
    dX = _call(f"{name}.backward", net.backward)
    analytic, arrays = _param_grads(net, name), dict(net.params)
    if with_input:
        dX = _as_gradient(dX, f"{name}.backward", "returned", X.shape, "the input's")
        analytic, arrays = {"X": dX, **analytic}, {"X": X, **arrays}
    return check_function(loss, arrays, analytic, check or name, h, getattr(net, "kink_state", None),
                          tol, warn_tol, notes, mode, directions, seed, inputs={"X": X_seen},
                          batch_size=_batch_size(X))
