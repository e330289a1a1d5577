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
    the same along a few random unit directions of all tensors at once, for big models
    (``checking.directional``).
``taylor``
    the order of the first-order Taylor remainder along a random direction per tensor, which does
    not depend on a step size (``checking.taylor``, after dolfin-adjoint's Taylor test).

Randomness is held still (``checking.randomness``): every NumPy generator reachable from the layer
or model is rewound before each evaluation, so a Dropout mask is the same for every probe. Calls into
the layer go through ``checking.protocol``, which turns whatever user code does wrong into one
``LayerError``: every ``forward`` gets a private copy of its inputs at every probe and is refused if it
changes them (an in-place forward would otherwise move the very point being probed), and a NumPy shape
error inside ``backward`` is said with the shapes the gradients must have (``checking.shapes``).

This module holds the three entry points (``check_function``, ``check_layer``, ``check_model``); the
package's public names are importable from here too (see ``__all__``).
"""

import math

import numpy as np

from layers.protocol import (LayerError, as_gradient, call_on_copies, call_user, describe_exception, float64_copy,
                             float64_input, gradient_shapes, guard_layers, parameter_gradients, real_output,
                             real_scalar)
from layers.validation import ParameterError

from .diagnosis import diagnose
from .directional import directional_check
from .numeric import (KINK_REL, REL_FLOOR, Probes, kink_mask, numerical_gradient, numerical_gradient_kinks,
                      probe_elements, rel_error, rel_errors)
from .randomness import FrozenRandomness, find_generators
from .report import PASS_TOL, VERDICTS, WARN_TOL, Report, Row, compare, compare_probes
from .taylor import EPSILONS, PASS_ORDER, kink_free, taylor_row

__all__ = [
    # the checks
    "check_function", "check_layer", "check_model", "check_settings", "directional_check", "taylor_row",
    "MODES", "ELEMENTWISE_FALLBACK",
    # numbers
    "numerical_gradient", "numerical_gradient_kinks", "probe_elements", "Probes", "kink_mask", "kink_free",
    "rel_error", "rel_errors", "KINK_REL", "REL_FLOOR", "EPSILONS", "PASS_ORDER",
    # verdicts
    "Report", "Row", "compare", "compare_probes", "diagnose", "PASS_TOL", "WARN_TOL", "VERDICTS",
    # user code
    "LayerError", "describe_exception", "FrozenRandomness", "find_generators",
]

MODES = ("elementwise", "directional", "taylor")
MAX_STEP = 1.0  # beyond it a centred difference is a secant across the function, not a derivative
UPSTREAM_STREAM = 0x5EED  # spawn key of the default upstream's random stream (see check_layer)

#: The report's note on the random upstream gradient ``check_layer`` feeds each ``backward``.
UPSTREAM_NOTE = ("the upstream gradient each backward receives is random (standard normal, drawn from seed {seed}), "
                 "not ones, and the scalar checked is sum(forward(x) · upstream): "
                 "the same seed repeats this run exactly")

#: In Taylor mode, a tensor whose every direction crosses a kink is judged element-wise instead, up to
#: this many elements (two forward passes each); a bigger one stays ``unchecked``.
ELEMENTWISE_FALLBACK = 10_000


def check_settings(h=1e-5, tol=PASS_TOL, warn_tol=WARN_TOL, mode="elementwise", directions=8, seed=0):
    """Refuse settings no check can run with, each by a ``ParameterError`` naming the parameter.

    ``h`` finite, > 0 and at most ``MAX_STEP``; ``tol`` finite and > 0; ``warn_tol`` finite and >= ``tol``;
    ``mode`` one of
    ``MODES``; ``directions`` an integer >= 1; ``seed`` an integer >= 0.
    """
    owner = "gradient check"
    if not (_is_number(h) and math.isfinite(h) and h > 0):
        raise ParameterError(owner, "h", f"must be a finite step > 0, got {h}")
    if h > MAX_STEP:
        raise ParameterError(owner, "h", f"must be a small step, at most {MAX_STEP:g}, got {h:g}: a centred difference "
                                         "measures the derivative only over a step small beside the inputs "
                                         "(1e-5 suits float64)")
    if not (_is_number(tol) and math.isfinite(tol) and tol > 0):
        raise ParameterError(owner, "tol", f"must be a finite relative error > 0, got {tol}")
    if not (_is_number(warn_tol) and math.isfinite(warn_tol) and warn_tol >= tol):
        raise ParameterError(owner, "warn_tol", f"must be finite and at least the passing error {tol:g}, "
                                                f"got {warn_tol}")
    if mode not in MODES:
        raise ParameterError(owner, "mode", f"must be one of {', '.join(MODES)}, got {mode!r}")
    if not (_is_integer(directions) and directions >= 1):
        raise ParameterError(owner, "directions", f"must be an integer >= 1, got {directions!r}")
    if _is_integer(seed) and seed < 0:  # (a SeedSequence is fine too)
        raise ParameterError(owner, "seed", f"must be >= 0, got {seed}")


def _is_number(value):
    return isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)


def _is_integer(value):
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


# ---------------------------------------------------------------- a function of arrays


def check_function(f, arrays, analytic, check="function", h=1e-5, state=None, tol=PASS_TOL,
                   warn_tol=WARN_TOL, notes=(), mode="elementwise", directions=8, seed=0, inputs=None,
                   batch_size=None, upstreams=None, labels=None):
    """Compare ``analytic[name]`` with finite differences of ``f()`` w.r.t. ``arrays[name]``.

    Parameters
    ----------
    f : callable ``f() -> float`` that reads the current values of ``arrays``
    arrays : dict of str -> float64 ndarray, perturbed in place (and restored)
    analytic : dict of str -> ndarray, the hand-derived gradients, same keys and shapes
    state : optional kink hint (see ``probe_elements``); kinks are detected without it too
    mode : "elementwise" (one row per array), "directional" (one row for all arrays together; see
        ``directional_check``) or "taylor" (one row per array; see ``checking.taylor``). An array
        whose gradient has the wrong shape is always checked element-wise, for the hint.
    directions, seed : directional and Taylor modes: number of directions, and their seed
    inputs : dict of str -> ndarray or None, the input values behind an array of the same shape
        (for the "failures only where the input is negative" hint); batch_size : int or None (hints)
    upstreams : dict of str -> ndarray or None, the upstream gradient a backward multiplied into the array of
        that name, when of its shape (the "upstream left out" hint); labels : a loss's labels or None (hints)

    Returns
    -------
    Report

    Raises
    ------
    ParameterError (a ``ValueError``) for settings ``check_settings`` refuses.
    """
    check_settings(h, tol, warn_tol, mode, directions, seed)
    report = Report(notes=list(notes))
    inputs, upstreams = inputs or {}, upstreams or {}
    misshapen = {k for k in arrays if np.shape(analytic[k]) != arrays[k].shape}

    def elementwise(name):
        probes = probe_elements(lambda _: f(), arrays[name], h, state)
        return compare_probes(check, name, analytic[name], probes, tol, warn_tol, inputs=inputs.get(name),
                              batch_size=batch_size, upstream=upstreams.get(name), labels=labels)

    def taylor(name, stream):
        row = taylor_row(f, arrays[name], analytic[name], check, name, stream, batch_size, report.notes)
        if row.verdict != "unchecked" or arrays[name].size > ELEMENTWISE_FALLBACK:
            return row
        report.notes.append(f"{check} {name} (taylor): every direction crossed a kink, so this tensor is "
                            "judged element-wise, kinks verified by their one-sided slopes")
        return elementwise(name)

    fine = {k: a for k, a in arrays.items() if k not in misshapen}
    if mode == "directional" and fine:
        report.rows.append(directional_check(f, fine, analytic, check, h, state, directions, seed, tol, warn_tol,
                                             batch_size=batch_size))
    streams = np.random.SeedSequence(seed).spawn(len(arrays))
    for name, stream in zip(arrays, streams, strict=True):
        if name in misshapen or mode == "elementwise":
            report.rows.append(elementwise(name))
        elif mode == "taylor":
            report.rows.append(taylor(name, stream))
    return report


# ---------------------------------------------------------------- a layer


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
    Report, one row for ``x`` and one per parameter (one row in all in directional mode); with a random
    upstream, a note says so and that the same ``seed`` repeats the run.

    Raises
    ------
    LayerError
        If ``forward`` or ``backward`` raises (anything but ``MemoryError``) or is not implemented,
        ``forward`` changes its input (or labels) in place, or a gradient is not real numbers of the
        right shape.
    ParameterError
        For settings ``check_settings`` refuses, or an ``upstream`` not of the output's shape.
    """
    check_settings(h, tol, warn_tol, mode, directions, seed)
    notes = []
    name = type(layer).__name__
    layer = float64_copy(layer, notes, name)
    x = float64_input(x, notes, "input")
    x_seen = x.copy()  # the input as given, for the hints (x itself is perturbed)
    frozen = FrozenRandomness(layer)
    labels = None if y is None else np.array(y, copy=True)
    args = (x,) if y is None else (x, labels)

    def forward():  # on private copies, every time: a forward that writes into its input is refused
        frozen.restore()
        return call_on_copies(f"{name}.forward", layer.forward, *args)

    out = real_output(forward(), f"{name}.forward")
    if upstream is None and y is None:
        notes.append(UPSTREAM_NOTE.format(seed=seed))
    upstream = _upstream(upstream, y, out.shape, seed, name)
    batch = _batch_size(x)
    dx = call_user(f"{name}.backward", layer.backward, np.array(upstream, copy=True),
                   shapes=gradient_shapes(layer, x.shape), batch_size=batch)
    analytic = {"x": _input_gradient(dx, f"{name}.backward", x.shape, batch), **parameter_gradients(layer, name, batch)}

    def f():
        return real_scalar(np.sum(forward() * upstream), f"{name}.forward")

    elementwise = {"x": upstream} if y is None and upstream.shape == x.shape else {}
    return check_function(f, {"x": x, **layer.params}, analytic, check or name, h, getattr(layer, "kink_state", None),
                          tol, warn_tol, notes, mode, directions, seed, inputs={"x": x_seen}, batch_size=batch,
                          upstreams=elementwise, labels=labels)


def _upstream(upstream, y, shape, seed, name):
    """The upstream gradient ``backward`` gets: 1 for a loss, a seeded random one by default."""
    if y is not None:
        return np.asarray(1.0)
    if upstream is None:  # its own stream: an input drawn from default_rng(seed) must not equal it
        stream = np.random.SeedSequence(seed, spawn_key=(UPSTREAM_STREAM,))
        return np.random.default_rng(stream).standard_normal(shape)
    upstream = np.asarray(upstream, dtype=np.float64)
    if upstream.shape != shape:
        raise ParameterError("check_layer", "upstream",
                             f"has shape {upstream.shape}, expected {shape} (the shape of {name}'s output)")
    return upstream


def _input_gradient(dx, who, shape, batch_size=None):
    return as_gradient(dx, who, "returned", shape, "the input's", batch_size)


def _batch_size(x):
    return int(x.shape[0]) if x.ndim >= 1 else None


# ---------------------------------------------------------------- a model


def check_model(net, X, y, h=1e-5, tol=PASS_TOL, warn_tol=WARN_TOL, check=None, with_input=True,
                mode="elementwise", directions=8, seed=0):
    """Check a whole model's loss gradients: one row per parameter (and one for the input ``X``).

    Parameters
    ----------
    net : object with ``loss(X, y) -> float``, ``backward() -> dℓ/dX``, ``params`` and ``grads``
        (mappings of arrays with the same keys and shapes, ``params`` holding the arrays the model
        computes with), and optionally ``kink_state()``. Checked on a float64 copy (``astype``, or a
        deep copy); random generators reachable from it are rewound before every ``loss``.
    X : array_like (N, D), N the batch size for the hints; y : array_like (N,) labels
    with_input : bool, also check dℓ/dX (``backward()`` must then return it)
    h, tol, warn_tol, check, mode, directions, seed : as for ``check_layer``

    Returns
    -------
    Report

    Raises
    ------
    LayerError, ParameterError, as ``check_layer``.
    """
    check_settings(h, tol, warn_tol, mode, directions, seed)
    notes = []
    name = type(net).__name__
    net = float64_copy(net, notes, name)
    guard_layers(net)  # each layer runs on private copies of its inputs; its shape errors are said plainly
    X = float64_input(X, notes, "X")
    X_seen = X.copy()
    y = np.array(y, copy=True)
    frozen = FrozenRandomness(net)

    def loss():
        frozen.restore()
        return real_scalar(call_on_copies(f"{name}.loss", net.loss, X, y, names=("X", "y")), f"{name}.loss")

    loss()
    dX = call_user(f"{name}.backward", net.backward)
    batch = _batch_size(X)
    analytic, arrays = parameter_gradients(net, name, batch), dict(net.params)
    if with_input:
        analytic = {"X": _input_gradient(dX, f"{name}.backward", X.shape, batch), **analytic}
        arrays = {"X": X, **arrays}
    return check_function(loss, arrays, analytic, check or name, h, getattr(net, "kink_state", None),
                          tol, warn_tol, notes, mode, directions, seed, inputs={"X": X_seen}, batch_size=batch)
