"""Finite-difference gradient checking: the yardstick every backward pass here is held to.

Everything runs in float64: a float32 check makes a correct gradient look wrong, so inputs and
parameters are cast (on copies) and the report says so. The verdict follows the CS231n notes:
relative error below ``tol`` (1e-7) passes, up to ``warn_tol`` (1e-4) warns, above it fails.

Kinks. A centred difference whose two probes fall on different sides of a ReLU kink measures a
secant, not a derivative. A layer or model that exposes ``kink_state()`` (ReLU and ``TwoLayerNet``
do) lets the checker see that the pattern of active units differs between ``x + h`` and ``x - h``;
those elements are counted as kinks and left out of the verdict.
"""

import copy
from dataclasses import dataclass, field

import numpy as np

PASS_TOL = 1e-7
WARN_TOL = 1e-4
REL_FLOOR = 1e-12


# ---------------------------------------------------------------- the two numerical primitives


def rel_error(a, b, floor=REL_FLOOR):
    """Largest element-wise relative error ``|a - b| / max(|a| + |b|, floor)``.

    Parameters
    ----------
    a, b : array_like of the same shape
    floor : float
        Lower bound of the denominator, so two exact zeros compare as equal instead of 0/0.

    Returns
    -------
    float
    """
    return float(np.max(_rel_errors(a, b, floor), initial=0.0))


def _rel_errors(a, b, floor=REL_FLOOR):
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare gradients of shapes {a.shape} and {b.shape}")
    return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)


def numerical_gradient(f, x, h=1e-5):
    """Centred-difference gradient of a scalar function, ``(f(x+h) - f(x-h)) / 2h`` per element.

    Parameters
    ----------
    f : callable
        ``f(x) -> float``. It may read ``x`` directly (or through an object holding it).
    x : ndarray of floats, any shape
        Perturbed **in place**, one element at a time, and restored exactly afterwards, also when
        ``f`` raises. Integer arrays are refused: ``x ± h`` would be truncated.
    h : float

    Returns
    -------
    ndarray of float64, shape of ``x``
    """
    grad, _ = numerical_gradient_kinks(f, x, h)
    return grad


def numerical_gradient_kinks(f, x, h=1e-5, state=None):
    """``numerical_gradient`` that also marks the elements whose probes straddle a kink.

    Parameters
    ----------
    state : callable or None
        Called after each evaluation of ``f``; returns an array (or tuple of arrays) describing which
        piece of a piecewise function was used, e.g. ReLU's ``x > 0`` mask.

    Returns
    -------
    grad : ndarray of float64, shape of ``x``
    kinks : ndarray of bool, shape of ``x``; True where ``state`` differed between ``x+h`` and ``x-h``
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a numpy array to perturb in place, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"x has dtype {x.dtype}: x ± h would be truncated; pass a float64 array")
    grad = np.zeros(x.shape, dtype=np.float64)
    kinks = np.zeros(x.shape, dtype=bool)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        try:
            x[idx] = old + h
            f_plus = float(f(x))
            s_plus = _snapshot(state)
            x[idx] = old - h
            f_minus = float(f(x))
            s_minus = _snapshot(state)
        finally:
            x[idx] = old
        grad[idx] = (f_plus - f_minus) / (2 * h)
        kinks[idx] = not _same(s_plus, s_minus)
    return grad, kinks


def _snapshot(state):
    if state is None:
        return None
    s = state()
    return tuple(np.array(a, copy=True) for a in s) if isinstance(s, (tuple, list)) else np.array(s, copy=True)


def _same(s1, s2):
    if s1 is None:
        return True
    if isinstance(s1, tuple):
        return all(np.array_equal(a, b) for a, b in zip(s1, s2))
    return np.array_equal(s1, s2)


# ---------------------------------------------------------------- the report


@dataclass
class Row:
    """One checked tensor: where it disagrees most, and the verdict."""

    check: str
    name: str
    shape: tuple
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple
    analytic: float
    numeric: float
    kinks: int
    verdict: str  # "pass", "warn", "fail", or "kink" when every element straddled a kink

    def to_dict(self):
        d = dict(self.__dict__)
        d["shape"], d["worst_index"] = list(self.shape), list(self.worst_index)
        return d


@dataclass
class Report:
    """A list of rows; ``passed`` is False if any row fails (or warns, when ``strict``)."""

    rows: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    strict: bool = False

    @property
    def passed(self):
        bad = {"fail", "warn"} if self.strict else {"fail"}
        return not any(r.verdict in bad for r in self.rows)

    def extend(self, other):
        self.rows += other.rows
        self.notes += [n for n in other.notes if n not in self.notes]
        return self

    def row(self, name, check=None):
        """The row for tensor ``name`` (and ``check``, if several checks share tensor names)."""
        for r in self.rows:
            if r.name == name and (check is None or r.check == check):
                return r
        raise KeyError(name)

    def summary(self):
        counts = {v: sum(r.verdict == v for r in self.rows) for v in ("pass", "warn", "fail", "kink")}
        kinks = sum(r.kinks for r in self.rows)
        worst = max((r.max_rel_error for r in self.rows), default=0.0)
        verdict = "PASSED" if self.passed else "FAILED"
        all_kink = f", {counts['kink']} all-kink" if counts["kink"] else ""
        return (
            f"{verdict}: {len(self.rows)} tensors, {counts['pass']} pass, {counts['warn']} warn, "
            f"{counts['fail']} fail{all_kink}; {kinks} kink elements left out; worst relative error {worst:.2e}"
        )

    def table(self):
        head = ("check", "tensor", "shape", "max rel err", "worst element (index: analytic / numeric)", "kinks", "verdict")
        lines = [head]
        for r in self.rows:
            idx = ",".join(map(str, r.worst_index))
            lines.append((r.check, r.name, "x".join(map(str, r.shape)) or "scalar", f"{r.max_rel_error:.2e}",
                          f"[{idx}]: {r.analytic:+.6e} / {r.numeric:+.6e}", str(r.kinks), r.verdict))
        widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
        out = ["  ".join(c.ljust(w) for c, w in zip(line, widths)).rstrip() for line in lines]
        out.insert(1, "  ".join("-" * w for w in widths))
        return "\n".join(out + [f"note: {n}" for n in self.notes])

    def to_dict(self):
        return {"passed": self.passed, "summary": self.summary(), "notes": list(self.notes),
                "rows": [r.to_dict() for r in self.rows]}

    def __str__(self):
        return self.table() + "\n" + self.summary()


def compare(check, name, analytic, numeric, kinks=None, tol=PASS_TOL, warn_tol=WARN_TOL):
    """Build the ``Row`` comparing one analytic gradient with its numerical estimate.

    Elements flagged in ``kinks`` are reported (counted) but left out of the errors and verdict.
    """
    analytic = np.asarray(analytic, dtype=np.float64)
    numeric = np.asarray(numeric, dtype=np.float64)
    if analytic.shape != numeric.shape:
        return Row(check, name, numeric.shape, np.inf, np.inf, (), np.nan, np.nan, 0,
                   "fail")  # a gradient of the wrong shape is wrong, whatever its values
    kinks = np.zeros(analytic.shape, bool) if kinks is None else kinks
    rel = np.where(kinks, 0.0, _rel_errors(analytic, numeric))
    rel = np.where(np.isnan(rel), np.inf, rel)
    ab = np.where(kinks, 0.0, np.abs(analytic - numeric))
    worst = np.unravel_index(int(np.argmax(rel)), rel.shape) if rel.size else ()
    max_rel = float(rel[worst]) if rel.size else 0.0
    if kinks.size and kinks.all():
        verdict = "kink"  # nothing left to judge: neither a pass nor a failure
    else:
        verdict = "pass" if max_rel < tol else "warn" if max_rel <= warn_tol else "fail"
    return Row(check, name, analytic.shape, float(np.max(ab, initial=0.0)), max_rel,
               tuple(int(i) for i in worst), float(analytic[worst]) if rel.size else 0.0,
               float(numeric[worst]) if rel.size else 0.0, int(kinks.sum()), verdict)


# ---------------------------------------------------------------- checking layers and models


def check_function(f, arrays, analytic, check="function", h=1e-5, state=None, tol=PASS_TOL,
                   warn_tol=WARN_TOL, notes=(), mode="elementwise", directions=8, seed=0):
    """Compare ``analytic[name]`` with the centred difference of ``f()`` w.r.t. ``arrays[name]``.

    Parameters
    ----------
    f : callable ``f() -> float`` that reads the current values of ``arrays``
    arrays : dict of str -> float64 ndarray, perturbed in place (and restored)
    analytic : dict of str -> ndarray, the hand-derived gradients, same keys
    state : optional kink-state callable (see ``numerical_gradient_kinks``)
    mode : "elementwise" (two evaluations of ``f`` per element, one row per array) or
        "directional" (two per direction, one row for all arrays together; see
        ``directional_check``)

    Returns
    -------
    Report
    """
    report = Report(notes=list(notes))
    if mode == "directional":
        report.rows.append(directional_check(f, arrays, analytic, check, h, state, directions, seed, tol, warn_tol))
        return report
    if mode != "elementwise":
        raise ValueError(f"mode must be 'elementwise' or 'directional', got {mode!r}")
    for name, arr in arrays.items():
        numeric, kinks = numerical_gradient_kinks(lambda _: f(), arr, h, state)
        report.rows.append(compare(check, name, analytic[name], numeric, kinks, tol, warn_tol))
    return report


def directional_check(f, arrays, analytic, check="function", h=1e-5, state=None, directions=8, seed=0,
                      tol=PASS_TOL, warn_tol=WARN_TOL):
    """Compare ``∇f·v`` with ``(f(θ + h v) − f(θ − h v)) / 2h`` for random unit directions ``v``.

    ``θ`` is all of ``arrays`` together. Two evaluations of ``f`` per direction instead of two per
    element: the check for big models, where the element-wise one would take thousands of passes.
    A wrong gradient almost surely shows in a random direction; it does not say *which* element is
    wrong, so follow a failure with an element-wise check on a smaller model.

    Returns
    -------
    Row, one entry per direction (``worst_index`` is the worst direction's number).
    """
    names = list(arrays)
    grad = np.concatenate([np.asarray(analytic[k], dtype=np.float64).ravel() for k in names])
    saved = {k: arrays[k].copy() for k in names}
    rng = np.random.default_rng(seed)
    exact, numeric, kinks = np.empty(directions), np.empty(directions), np.zeros(directions, bool)
    try:
        for d in range(directions):
            v = rng.standard_normal(grad.size)
            v /= np.linalg.norm(v)
            exact[d] = grad @ v
            pieces = np.split(v, np.cumsum([arrays[k].size for k in names])[:-1])
            values = []
            for sign in (1.0, -1.0):
                for k, piece in zip(names, pieces):
                    arrays[k][...] = saved[k] + sign * h * piece.reshape(arrays[k].shape)
                values.append((float(f()), _snapshot(state)))
            numeric[d] = (values[0][0] - values[1][0]) / (2 * h)
            kinks[d] = not _same(values[0][1], values[1][1])
    finally:
        for k in names:
            arrays[k][...] = saved[k]
    return compare(check, f"{'+'.join(names)} ({directions} directions)", exact, numeric, kinks, tol, warn_tol)


class LayerError(ValueError):
    """A layer under check broke the protocol: it raised, or returned a gradient of the wrong shape."""


def _call(what, fn, *args):
    try:
        return fn(*args)
    except Exception as exc:
        raise LayerError(f"{what} raised {type(exc).__name__}: {exc}") from exc


def _float64_copy(obj, notes, what):
    """A float64 copy of a layer or model (the original is never touched).

    A parameterless layer need not define ``params``/``grads``; its copy gets empty ones.
    """
    params = getattr(obj, "params", {})
    dtypes = {np.asarray(p).dtype for p in params.values()}
    if dtypes <= {np.dtype(np.float64)}:
        new = copy.deepcopy(obj)
        if not hasattr(new, "params"):
            new.params, new.grads = {}, {}
        return new
    notes.append(f"{what} parameters cast from {', '.join(sorted(map(str, dtypes)))} to float64 for the check")
    if hasattr(obj, "astype"):
        return obj.astype(np.float64)
    new = copy.deepcopy(obj)
    for k in new.params:
        new.params[k] = new.params[k].astype(np.float64)
        new.grads[k] = np.zeros_like(new.params[k])
    return new


def _float64_input(x, notes, name):
    arr = np.asarray(x)
    if arr.dtype != np.float64:
        notes.append(f"{name} cast from {arr.dtype} to float64 for the check")
    return np.array(arr, dtype=np.float64)  # always a copy: the checker perturbs it


def check_layer(layer, x, upstream=None, y=None, h=1e-5, seed=0, tol=PASS_TOL, warn_tol=WARN_TOL,
                check=None, mode="elementwise", directions=8):
    """Check a layer's input gradient and every parameter gradient against centred differences.

    The scalar checked is ``sum(forward(x) * upstream)``, whose gradient is exactly what
    ``backward(upstream)`` must return. For a loss layer pass the labels ``y``: then the scalar is
    the loss itself and the upstream is 1.

    Parameters
    ----------
    layer : object with ``forward``, ``backward``, ``params``, ``grads`` (works on a float64 copy)
    x : array_like, the input (cast to float64)
    upstream : array_like of the output's shape, or None for a seeded standard-normal one
    y : array_like or None, labels for a loss layer
    h : float, finite-difference step
    seed : int, seeds the random upstream
    tol, warn_tol : float, verdict thresholds on the relative error
    mode, directions : see ``check_function``

    Returns
    -------
    Report, one row for ``x`` and one per parameter.

    Raises
    ------
    LayerError
        If ``forward`` or ``backward`` raises, or a returned gradient breaks the shape rule.
    """
    notes = []
    name = type(layer).__name__
    layer = _float64_copy(layer, notes, name)
    x = _float64_input(x, notes, "input")
    args = (x,) if y is None else (x, np.asarray(y))
    out = _call(f"{name}.forward", layer.forward, *args)
    if y is not None:
        upstream = 1.0
    elif upstream is None:
        upstream = np.random.default_rng(seed).standard_normal(np.shape(out))
    upstream = np.asarray(upstream, dtype=np.float64)
    dx = _call(f"{name}.backward", layer.backward, upstream)
    if np.shape(dx) != x.shape:
        raise LayerError(f"{name}.backward returned a gradient of shape {np.shape(dx)}; "
                         f"it must have the input's shape {x.shape}")
    for k, p in layer.params.items():
        if k not in layer.grads:
            raise LayerError(f"{name}.grads has no entry for parameter {k!r}")
        if np.shape(layer.grads[k]) != p.shape:
            raise LayerError(f"{name}.grads[{k!r}] has shape {np.shape(layer.grads[k])}; "
                             f"it must have the parameter's shape {p.shape}")
    analytic = {"x": dx, **{k: np.array(layer.grads[k], copy=True) for k in layer.params}}

    def f():
        return float(np.sum(_call(f"{name}.forward", layer.forward, *args) * upstream))

    state = getattr(layer, "kink_state", None)
    return check_function(f, {"x": x, **layer.params}, analytic, check or name, h, state,
                          tol, warn_tol, notes, mode, directions, seed)


def check_model(net, X, y, h=1e-5, tol=PASS_TOL, warn_tol=WARN_TOL, check=None, with_input=True,
                mode="elementwise", directions=8, seed=0):
    """Check a whole model's loss gradients: one row per parameter (and one for the input ``X``).

    Parameters
    ----------
    net : object with ``loss(X, y) -> float``, ``backward() -> dℓ/dX``, ``params``, ``grads``
        and optionally ``kink_state()``. Works on a float64 copy.
    X : array_like (N, D); y : array_like (N,)

    Returns
    -------
    Report
    """
    notes = []
    net = _float64_copy(net, notes, type(net).__name__)
    X = _float64_input(X, notes, "X")
    net.loss(X, y)
    dX = net.backward()
    analytic = {k: np.array(g, copy=True) for k, g in net.grads.items()}
    arrays = dict(net.params)
    if with_input:
        analytic, arrays = {"X": dX, **analytic}, {"X": X, **arrays}
    state = getattr(net, "kink_state", None)
    return check_function(lambda: net.loss(X, y), arrays, analytic, check or type(net).__name__, h, state,
                          tol, warn_tol, notes, mode, directions, seed)
