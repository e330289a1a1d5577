"""Finite-difference gradient checking: the yardstick every backward pass here is held to.

Everything runs in float64, on copies (the caller's object is never touched; the report says when it cast). The
verdict follows the CS231n notes (``checking.report``): a relative error below ``tol`` (1e-7) passes, up to
``warn_tol`` (1e-4) warns, above it fails. Three modes: ``elementwise``, a centred difference per element, kinks
verified by their one-sided slopes (``checking.numeric``); ``directional``, the same along a few random directions
of all tensors at once, for big models (``checking.directional``); ``taylor``, the order of the Taylor remainder,
which does not depend on a step (``checking.taylor``). A failing row says what its pattern suggests
(``checking.diagnosis``).

Every NumPy generator reachable from the layer or model is rewound before each evaluation, so a Dropout mask
is the same at every probe (``checking.randomness``). Calls into user code go through ``layers.protocol``:
whatever it does wrong is one ``LayerError``, and a forward that changes its inputs in place is refused (it would
move the very point being probed).

The entry points are ``check_function``, ``check_layer`` and ``check_model``; the package's public names are
importable from here too (``__all__``).
"""

import copy
import functools
from dataclasses import replace

import numpy as np

from layers.protocol import (LayerError, as_gradient, call_on_copies, call_user, describe_exception, float64_copy,
                             float64_input, gradient_shapes, guard_layers, not_a_function, parameter_gradients,
                             real_output, real_scalar)
from layers.validation import ParameterError, is_integer

from .diagnosis import NO_CLUES, Clues, diagnose
from .directional import directional_check
from .numeric import (KINK_REL, REL_FLOOR, Probes, element_pair, kink_mask, numerical_gradient,
                      numerical_gradient_kinks, probe_elements, rel_error, rel_errors)
from .randomness import FrozenRandomness, find_generators
from .report import VERDICTS, Report, Row, compare, compare_probes, gradient_scale, resolved
from .settings import MAX_ELEMENTS, MODES, PASS_TOL, WARN_TOL, CheckSettings
from .taylor import EPSILONS, PASS_ORDER, kink_free, taylor_row

__all__ = [  # the checks; numbers; verdicts; user code
    "check_function", "check_arrays", "check_layer", "check_model", "CheckSettings",
    "directional_check", "taylor_row", "MODES", "ELEMENTWISE_FALLBACK",
    "numerical_gradient", "numerical_gradient_kinks", "probe_elements", "Probes", "kink_mask", "kink_free",
    "rel_error", "rel_errors", "KINK_REL", "REL_FLOOR", "EPSILONS", "PASS_ORDER",
    "Report", "Row", "compare", "compare_probes", "diagnose", "Clues", "PASS_TOL", "WARN_TOL", "VERDICTS",
    "LayerError", "describe_exception", "FrozenRandomness", "find_generators",
]

UPSTREAM_STREAM = 0x5EED  # spawn key of the default upstream's random stream (see check_layer)

#: In Taylor mode, a tensor whose every direction crosses a kink is judged element-wise instead, up to
#: this many elements (two forward passes each); a bigger one stays ``unchecked``.
ELEMENTWISE_FALLBACK = 10_000


def check_function(f, arrays, analytic, check="function", h=1e-5, tol=PASS_TOL, warn_tol=WARN_TOL,
                   mode="elementwise", directions=8, seed=0, state=None, max_elements=MAX_ELEMENTS):
    """Compare ``analytic[name]`` with finite differences of ``f()`` w.r.t. ``arrays[name]``.

    Parameters
    ----------
    f : callable ``f() -> float`` that reads the current values of ``arrays``
    arrays : dict of str -> float64 ndarray, perturbed in place (and restored)
    analytic : dict of str -> ndarray, the hand-derived gradients, same keys and shapes
    check : str, the check's name in the report's rows
    h, tol, warn_tol : the step, and the relative errors that pass and that only warn
    mode : "elementwise" (one row per array), "directional" (one row for all arrays together; see
        ``directional_check``) or "taylor" (one row per array; see ``checking.taylor``). An array
        whose gradient has the wrong shape is always checked element-wise, for the hint.
    directions, seed : directional and Taylor modes: number of directions, and their seed
    state : optional kink hint (see ``probe_elements``); kinks are detected without it too
    max_elements : the most elements probed per tensor, sampled with ``seed`` (the row says so); None: every one

    Returns a ``Report``; raises ``ParameterError`` (a ``ValueError``) for settings ``CheckSettings`` refuses.
    """
    settings = CheckSettings(h, tol, warn_tol, mode, directions, seed, max_elements)
    return check_arrays(f, arrays, analytic, check, settings, state)


def check_arrays(f, arrays, analytic, check, settings, state=None, clues=NO_CLUES):
    """``check_function`` with its settings as one ``CheckSettings``, and the ``Clues`` its hints may read."""
    report = Report()
    misshapen = {k for k in arrays if np.shape(analytic[k]) != arrays[k].shape}
    streams = dict(zip(arrays, np.random.SeedSequence(settings.seed).spawn(len(arrays)), strict=True))

    def probe(name):
        size, most = arrays[name].size, settings.max_elements
        sample = None if most is None or size <= most else np.sort(
            np.random.default_rng(streams[name]).choice(size, most, replace=False))
        return probe_elements(lambda _: f(), arrays[name], settings.h, state, elements=sample)

    probed = {k: probe(k) for k in arrays if k in misshapen or settings.mode == "elementwise"}
    scale = max((gradient_scale(p) for p in probed.values()), default=None)  # the check's: one promise for all

    def elementwise(name, probes=None):
        probes = probes or probe(name)
        probes.scale = scale if name in probed else None
        x = arrays[name]
        probes = resolved(probes, element_pair(lambda _: f(), x), settings, float(np.max(np.abs(x), initial=0.0)))
        return compare_probes(check, name, analytic[name], probes, settings, clues=clues)

    def taylor(name, stream):
        row = taylor_row(f, arrays[name], analytic[name], check, name, stream, clues.batch_size, report.notes,
                         max((float(np.max(np.abs(a), initial=0.0)) for a in analytic.values()), default=0.0))
        if row.verdict != "unchecked" or arrays[name].size > ELEMENTWISE_FALLBACK:
            return row
        report.notes.append(f"{check} {name} (taylor): every direction crossed a kink, so this tensor is "
                            "judged element-wise, kinks verified by their one-sided slopes")
        return elementwise(name)

    fine = {k: a for k, a in arrays.items() if k not in misshapen}
    if settings.mode == "directional" and fine:
        report.rows.append(directional_check(f, fine, analytic, check, settings, state, clues))
    for name, stream in streams.items():
        if name in probed:
            report.rows.append(elementwise(name, probed[name]))
        elif settings.mode == "taylor":
            report.rows.append(taylor(name, stream))
    return report


def check_layer(layer, x, upstream=None, y=None, h=1e-5, seed=0, tol=PASS_TOL, warn_tol=WARN_TOL,
                check=None, mode="elementwise", directions=8, max_elements=MAX_ELEMENTS):
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
    seed : int, seeds the random upstream and the random directions
    h, tol, warn_tol, mode, directions, check, max_elements : see ``check_function``

    Returns a ``Report``, one row for ``x`` and one per parameter (one row in all in directional mode); with a
    random upstream, a note says so and that the same ``seed`` repeats the run.

    Raises
    ------
    LayerError if ``forward`` or ``backward`` raises (anything but ``MemoryError``) or is not implemented,
        ``forward`` changes its input (or labels) in place, or a gradient is not real numbers of the right shape.
    ParameterError for settings ``CheckSettings`` refuses, or an ``upstream`` not of the output's shape.
    """
    settings = CheckSettings(h, tol, warn_tol, mode, directions, seed, max_elements)
    notes, name, original = [], type(layer).__name__, layer
    layer = _float64_twin(layer, notes, name)
    x = float64_input(x, notes, "input")
    labels = None if y is None else np.array(y, copy=True)
    at = functools.partial(_check_at, layer, name, labels=labels, settings=settings, check=check or name)
    if upstream is None and y is None:
        notes.append(f"the upstream gradient each backward receives is random (standard normal, drawn from seed "
                     f"{seed}), not ones, and the scalar checked is sum(forward(x) · upstream): the same seed repeats "
                     "this run exactly")
    other = _another_batch(x)  # other batches first: the check is not the layer's first call
    upstream = _upstream(upstream, y, np.shape(_use(layer, name, other, labels, None)), seed, name)
    _use(layer, name, other, labels, upstream)
    first, out, again = at(x, upstream)
    _use(layer, name, _another_batch(other), labels, upstream)  # and used between its two base points
    second = at(other, upstream)[0]
    if not np.array_equal(again(), out, equal_nan=True):
        raise not_a_function(f"{name}.forward", "after other calls")
    dtype_rows = _dtype_rows(original, x, labels, upstream, name, check or name, settings)
    return Report(notes=notes).extend(_worse(first, second)).extend(dtype_rows)


def _float64_twin(obj, notes, what):
    """``float64_copy``, with every attribute that held one of ``obj``'s parameters (``self.W`` beside
    ``params["W"]``, in a model's layers too) pointing at the copy's parameter: what ``forward`` reads is perturbed."""
    twin = float64_copy(obj, notes, what)
    for mine, theirs in zip([obj, *getattr(obj, "layers", [])], [twin, *getattr(twin, "layers", [])], strict=True):
        params = getattr(mine, "params", {})
        for attr, value in getattr(mine, "__dict__", {}).items():
            key = next((k for k, p in params.items() if p is value), None)
            if key is not None and getattr(theirs, attr) is not theirs.params[key]:
                setattr(theirs, attr, theirs.params[key])
    return twin


def _dtype_rows(original, x, labels, upstream, name, check, settings):
    """A layer whose parameters are not float64 against its float64 twin, both fresh, at ``x``: failing rows where
    its gradients differ by more than its dtype resolves (sqrt(eps) of the gradient's scale)."""
    dtypes = {np.asarray(p).dtype for p in getattr(original, "params", {}).values()} - {np.dtype(np.float64)}
    if len(dtypes) != 1 or next(iter(dtypes)).kind != "f":
        return Report()
    dtype, grads = dtypes.pop(), []
    for layer, cast in ((_float64_twin(original, [], name), np.float64),
                        (call_user(f"copying {name}", copy.deepcopy, original), dtype)):
        _use(layer, name, x.astype(cast), labels, None)
        grads.append(_gradients(layer, name, x.astype(cast), upstream.astype(cast), _batch_size(x)))
    report = Report()
    for key, wide in grads[0].items():
        close = np.abs(grads[1][key] - wide) <= np.sqrt(np.finfo(dtype).eps) * np.max(np.abs(wide), initial=0.0)
        hint = f"in {dtype} the layer computes other gradients than in float64; they must not depend on the dtype"
        report.rows += [] if close.all() else [
            replace(compare(f"{check} {dtype} vs float64", key, grads[1][key], wide), verdict="fail", hint=hint)]
    return report


def _check_at(layer, name, x, upstream, labels, settings, check):
    """The check at one base point ``x``: the analytic gradients (``backward`` called twice on one cache, which
    must agree), then the differences. Returns the report (its ``out``: the output at ``x``) and ``forward``."""
    x_seen, frozen = x.copy(), FrozenRandomness(layer)  # x itself is perturbed; the hints read the input as given
    args = (x,) if labels is None else (x, labels)

    def forward():  # on private copies, every time: a forward that writes into its input is refused
        frozen.restore()
        return call_on_copies(f"{name}.forward", layer.forward, *args)

    out, batch = real_output(forward(), f"{name}.forward"), _batch_size(x)
    calls = [_gradients(layer, name, x, upstream, batch) for _ in range(2)]
    report = _repeated(calls, check)

    def f():
        return real_scalar(np.sum(forward() * upstream), f"{name}.forward")

    same_shape = labels is None and upstream.shape == x.shape  # an element-wise layer: the upstream-left-out hint
    windows = windows_of(layer) if x.ndim == 4 else None  # a conv's or pool's: the overlapping-windows hint
    clues = Clues(batch, labels, inputs={"x": x_seen}, upstreams={"x": upstream} if same_shape else {},
                  windows={"x": windows} if windows else {})
    report.extend(check_arrays(f, {"x": x, **layer.params}, calls[0], check, settings,
                               getattr(layer, "kink_state", None), clues))
    return report, out, forward


def windows_of(layer):
    """``(kernel_size, stride, padding)`` of a layer sliding windows over an image, from its public attributes
    (a kernel_size, else the last size of a square ``params["W"]`` (F, C, k, k); padding 0 when it has none);
    None for a layer without them."""
    weights = getattr(layer, "params", {}).get("W") if isinstance(getattr(layer, "params", None), dict) else None
    square = np.ndim(weights) == 4 and np.shape(weights)[2] == np.shape(weights)[3]
    k = getattr(layer, "kernel_size", np.shape(weights)[3] if square else None)
    geometry = (k, getattr(layer, "stride", None), getattr(layer, "padding", 0))
    if not all(is_integer(v) for v in geometry) or min(geometry[:2]) < 1 or geometry[2] < 0:
        return None
    return tuple(int(v) for v in geometry)


def _gradients(layer, name, x, upstream, batch):
    """``{"x": backward(upstream), **grads}``, copies, after the forward just run; a gradient the call rebound to
    another array is bound back to the one it held (each call starts from the same arrays)."""
    grads = getattr(layer, "grads", None)
    held = dict(grads) if isinstance(grads, dict) else {}
    dx = call_user(f"{name}.backward", layer.backward, np.array(upstream, copy=True),
                   shapes=gradient_shapes(layer, x.shape), batch_size=batch)
    dx = as_gradient(dx, f"{name}.backward", "returned", x.shape, "the input's", batch)
    out = {"x": dx, **parameter_gradients(layer, name, batch)}
    if held:
        grads.update(held)
    return out


def _repeated(calls, check):
    """Failing rows where a second ``backward`` on the same cache returned other gradients than the first."""
    return Report(rows=[replace(compare(check, f"{key} (backward again)", calls[1][key], first), verdict="fail",
                                ratio=None, hint=_repeat_hint(key))
                        for key, first in calls[0].items() if not np.array_equal(first, calls[1][key], equal_nan=True)])


def _repeat_hint(key):
    if key == "x":
        return "a second backward on the same forward returned another input gradient: it must not change the cache"
    return (f"a second backward on the same forward gave other gradients: they accumulate across calls (grads[{key!r}] "
            f"+= ..., micrograd's habit); assign them, grads[{key!r}] = ... or grads[{key!r}][...] = ...: the network "
            "does not zero them")


def _use(layer, name, x, labels, upstream):
    """One forward (and, given an ``upstream``, one backward) of the layer on batch ``x``; returns the output."""
    out = real_output(call_on_copies(f"{name}.forward", layer.forward, *((x,) if labels is None else (x, labels))),
                      f"{name}.forward")
    if upstream is not None:
        _gradients(layer, name, x, upstream, _batch_size(x))
    return out


def _another_batch(x):
    """Another batch of ``x``'s shape and domain: its rows shifted by one (each row meets another label)."""
    return np.roll(x, 1, axis=0) if x.ndim else x


def _worse(first, second):
    """The first base point's report, each row replaced by the second's where that one is worse."""
    rank, later = {"fail": 3, "unchecked": 2, "warn": 1}, {r.name: r for r in second.rows}
    for i, row in enumerate(first.rows):
        if rank.get(later.get(row.name, row).verdict, 0) > rank.get(row.verdict, 0):
            first.rows[i] = replace(later[row.name], hint=f"at a second input: {later[row.name].hint}")
    return first


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


def _batch_size(x):
    return int(x.shape[0]) if x.ndim >= 1 else None


def check_model(net, X, y, h=1e-5, tol=PASS_TOL, warn_tol=WARN_TOL, check=None, with_input=True,
                mode="elementwise", directions=8, seed=0, max_elements=MAX_ELEMENTS):
    """Check a whole model's loss gradients: one row per parameter (and one for the input ``X``).

    Parameters
    ----------
    net : object with ``loss(X, y) -> float``, ``backward() -> dℓ/dX``, ``params`` and ``grads``
        (mappings of arrays with the same keys and shapes, ``params`` holding the arrays the model
        computes with), and optionally ``kink_state()``. Checked on a float64 copy (``astype``, or a
        deep copy); random generators reachable from it are rewound before every ``loss``.
    X : array_like (N, D), N the batch size for the hints; y : array_like (N,) labels
    with_input : bool, also check dℓ/dX (``backward()`` must then return it)
    h, tol, warn_tol, check, mode, directions, seed, max_elements : as for ``check_layer``

    Returns a ``Report``; raises ``LayerError`` and ``ParameterError`` as ``check_layer`` does.
    """
    settings = CheckSettings(h, tol, warn_tol, mode, directions, seed, max_elements)
    notes, name = [], type(net).__name__
    net = _float64_twin(net, notes, name)
    guard_layers(net)  # each layer runs on private copies of its inputs; its shape errors are said plainly
    X, y = float64_input(X, notes, "X"), np.array(y, copy=True)
    frozen = FrozenRandomness(net)

    def loss():
        frozen.restore()
        return real_scalar(call_on_copies(f"{name}.loss", net.loss, X, y, names=("X", "y")), f"{name}.loss")

    loss()
    dX = call_user(f"{name}.backward", net.backward)
    batch = _batch_size(X)
    analytic, arrays = parameter_gradients(net, name, batch), dict(net.params)
    if with_input:
        analytic = {"X": as_gradient(dX, f"{name}.backward", "returned", X.shape, "the input's", batch), **analytic}
        arrays = {"X": X, **arrays}
    clues = Clues(batch, inputs={"X": X.copy()})  # X itself is perturbed; the hints read it as given
    return Report(notes=notes).extend(check_arrays(loss, arrays, analytic, check or name, settings,
                                                   getattr(net, "kink_state", None), clues))
