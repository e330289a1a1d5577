"""The Taylor test: a verdict that does not depend on a step size.

The idea is dolfin-adjoint's Taylor test (Farrell, Ham, Funke and Rognes, "Automated derivation of
the adjoint of high-level transient finite element programs", SIAM J. Sci. Comput. 2013, and
``taylor_test`` in dolfin-adjoint / pyadjoint). Along a random unit direction ``v`` in one tensor θ,

    r(ε) = |f(θ + εv) − f(θ) − ε ∇f·v|

is ``O(ε²)`` when ``∇f`` is right and only ``O(ε)`` when it is wrong (the first-order terms no longer
cancel). So instead of comparing two numbers at one step, we measure ``r`` for ε = 10⁻¹ … 10⁻⁶ and
fit the slope of ``log r`` against ``log ε``: the *order*. A right gradient gives about 2, a wrong one
about 1, whatever the scale of the numbers; ``PASS_ORDER`` = 1.8 passes.

Round-off. ``r`` cannot fall below the round-off of ``f`` (``NOISE_REL`` times the size of the values
involved); only the ε whose remainder lies above ``FIT_NOISE`` times that floor enter the fit. Where
``f`` is linear in θ (Linear's parameters and input, Add, Copy, Multiply in each input, Dropout with
its mask held fixed), ``r`` is round-off at every ε: the verdict is ``exact``, a pass with no order.

Kinks. A direction that crosses a kink of a piecewise function (ReLU, max) at distance ``t`` adds a
term of order ``ε − t`` for every ε > t, which would pass for a wrong gradient's signature. The test
also evaluates ``f(θ − εv)`` and watches the symmetric part ``S(ε) = (f(θ+εv) − 2f(θ) + f(θ−εv)) / 2``,
which does not involve the gradient at all: smooth, it grows like ε² (a factor 100 per decade);
across a kink it jumps from round-off, or grows like ε. The ε from the first such sign upward are
left out of the fit and a note says so; if fewer than two ε remain, another direction is drawn (up to
``TRIES``), and a tensor where every direction crosses a kink (an element sitting exactly on one) is
``unchecked`` — the element-wise mode verifies such kinks.
"""

import math
from dataclasses import dataclass

import numpy as np

from .diagnosis import directional_hint
from .numeric import Mover
from .report import Row

EPSILONS = tuple(10.0 ** -k for k in range(1, 7))
PASS_ORDER = 1.8
NOISE_REL = 1e-12  # round-off floor of f, relative to the size of the values involved
FIT_NOISE = 10.0  # a remainder enters the fit only above this many noise floors
TRIES = 4
EXACT_REL = 1e-7  # "exact" only when round-off hides less than this share of ε·scale at the largest ε


def taylor_row(f, theta, grad, check, name, seed=0, batch_size=None, notes=None, scale=0.0):
    """Taylor-test one tensor and return its ``Row`` (``mode="taylor"``).

    Parameters
    ----------
    f : callable ``f() -> float`` reading the current value of ``theta``
    theta : float64 ndarray, perturbed in place and restored exactly (also when ``f`` raises)
    grad : ndarray of ``theta``'s shape, the analytic gradient
    check, name : str, for the row
    seed : int or SeedSequence, seeds the random directions
    batch_size : int or None, for the hint on a failure
    notes : list or None; a note is appended when a direction crossed a kink
    scale : float, the check's gradient scale (its largest analytic element; this tensor's when larger): ``exact``
        needs the round-off floor to be small against it (``EXACT_REL``), else the row is ``unchecked``

    Returns the ``Row``, with ``order`` (None when ``exact`` or ``unchecked``), ``remainders`` and ``epsilons``.
    """
    grad = np.asarray(grad, np.float64)
    row = Row(check, name, theta.shape, "pass", n_checked=1, max_abs_error=None, max_rel_error=None,
              mode="taylor", epsilons=list(EPSILONS))
    if theta.size == 0:
        row.n_checked = 0
        return row
    if not np.isfinite(grad).all():
        row.verdict, row.n_failed = "fail", 1
        row.hint = f"the analytic gradient is NaN or infinite at {int((~np.isfinite(grad)).sum())} element(s)"
        return row
    f0 = float(f())
    line = _line_without_kink(f, theta, grad, f0, seed)
    row.remainders = [float(r) for r in line.remainders]
    row.analytic = line.slope
    if not np.isfinite(line.remainders).all() or not math.isfinite(f0):
        row.verdict, row.n_failed = "fail", 1
        row.hint = "f itself is NaN or infinite along the direction: the forward pass overflows or divides by zero"
        return row
    if line.free.sum() < 2:
        row.verdict, row.n_checked = "unchecked", 0
        row.hint = (f"each of {TRIES} random directions crossed a kink within ε = {EPSILONS[-2]:g}: an element lies "
                    "on a kink or very near one; the element-wise mode verifies kinks")
        return row
    if notes is not None:
        _note_kinks(notes, check, name, line.redrawn, line.free)
    _judge_order(row, line, batch_size, max(scale, abs(line.slope), float(np.max(np.abs(grad)))))
    return row


@dataclass
class _Line:
    """What was measured along one direction ``v``: ``f(θ ± εv)`` for every ε of ``EPSILONS``."""

    slope: float  # ∇f·v, the analytic directional derivative
    plus: np.ndarray  # f(θ + εv)
    minus: np.ndarray  # f(θ − εv)
    remainders: np.ndarray  # |f(θ + εv) − f(θ) − ε ∇f·v|
    floor: float  # the round-off floor of f
    free: np.ndarray  # bool, the ε below every sign of a kink crossing
    redrawn: int  # directions drawn before this one (they crossed kinks)


def _line_without_kink(f, theta, grad, f0, seed):
    """Probe along random unit directions until one has at least two kink-free ε (at most ``TRIES``)."""
    rng = np.random.default_rng(seed)
    for attempt in range(TRIES):
        v = rng.standard_normal(theta.shape)
        v /= np.linalg.norm(v)
        plus, minus = _probe(f, theta, v)
        slope = float(np.sum(grad * v))
        remainders = np.abs(plus - f0 - np.array(EPSILONS) * slope)
        size = max(abs(f0), np.max(np.abs(plus)), np.max(np.abs(minus)), EPSILONS[0] * np.linalg.norm(grad))
        floor = NOISE_REL * size
        line = _Line(slope, plus, minus, remainders, floor, kink_free((plus - 2 * f0 + minus) / 2, floor), attempt)
        if line.free.sum() >= 2:
            break
    return line


def _judge_order(row, line, batch_size, scale):
    """Fit the order of the remainder on the kink-free ε above round-off; ``exact`` when none is above it and
    that floor is small against the first-order term at the gradient's ``scale``, else ``unchecked``."""
    eps = np.array(EPSILONS)
    best = int(np.argmin(np.abs(np.log10(eps) + 4) + np.where(line.free, 0, 99)))  # the kink-free ε nearest 1e-4
    row.numeric = float((line.plus[best] - line.minus[best]) / (2 * eps[best]))
    fit = line.free & (line.remainders > FIT_NOISE * line.floor)
    if not fit.any() and FIT_NOISE * line.floor > EXACT_REL * EPSILONS[0] * scale:
        row.verdict, row.n_checked = "unchecked", 0
        row.hint = (f"not resolved: f's round-off ({line.floor:.1e}) hides every remainder, even ε = {EPSILONS[0]:g} "
                    f"times a gradient of scale {scale:.1e}; no verdict can be given here (check the layer where "
                    "its outputs are not dominated by a large constant)")
        return
    if not fit.any():
        row.verdict = "exact"
        return
    row.order = _order(eps, line.remainders, fit, line.free, FIT_NOISE * line.floor)
    if row.order < PASS_ORDER:
        row.verdict, row.n_failed = "fail", 1
        row.ratio = line.slope / row.numeric if row.numeric else None
        row.hint = (f"the remainder shrinks like ε^{row.order:.2f}, not ε²: ∇f·v is wrong; "
                    + directional_hint(line.slope, row.numeric, batch_size))


def _probe(f, theta, v):
    """``f(θ + εv)`` and ``f(θ − εv)`` for every ε of ``EPSILONS``; θ is restored exactly (also when ``f`` raises)."""
    move = Mover(f, {"θ": theta})
    try:
        pairs = [(move(v.ravel(), eps), move(v.ravel(), -eps)) for eps in EPSILONS]
    finally:
        move.restore()
    return tuple(np.array(side) for side in zip(*pairs, strict=True))


def kink_free(symmetric, floor):
    """Which ε (in ``EPSILONS`` order, largest first) lie below every sign of a kink crossing.

    ``symmetric[k]`` is ``S(ε_k)`` (module docstring). Between neighbours ε_k = 10 ε_{k+1}, a smooth
    ``S`` grows by about 100; a growth beyond 150 from (near) round-off, or below 10^1.5 between
    two values well above round-off, means a kink was crossed: ε_k and every larger ε are left out.
    """
    s = np.abs(np.asarray(symmetric, np.float64))
    n = len(s)
    bad = np.zeros(n, bool)
    for k in range(n - 1):
        big, small = s[k], s[k + 1]
        if not np.isfinite(big):
            bad[k] = True
        elif big > 150 * (small + FIT_NOISE * floor):
            bad[k] = True  # a jump: more than smooth curvature explains
        elif min(big, small) > FIT_NOISE * floor and big < 10 ** 1.5 * small:
            bad[k] = bad[k + 1] = True  # grows like ε, not ε²: the kink is already inside ε_{k+1}
    return np.arange(n) > max(np.flatnonzero(bad), default=-1)


def _order(eps, remainders, fit, free, floor):
    """Least-squares slope of log r on log ε over the fitted points; with one point, a lower bound
    from the drop to the round-off floor at the next smaller kink-free ε."""
    if fit.sum() >= 2:
        return float(np.polyfit(np.log10(eps[fit]), np.log10(remainders[fit]), 1)[0])
    k = int(np.flatnonzero(fit)[0])
    smaller = np.flatnonzero(free & (np.arange(len(eps)) > k))
    if not smaller.size:
        return 0.0
    j = smaller[0]
    return float(np.log10(remainders[k] / floor) / np.log10(eps[k] / eps[j]))


def _note_kinks(notes, check, name, attempt, free):
    parts = []
    if attempt:
        many = attempt > 1
        parts.append(f"{attempt} direction{'s' if many else ''} crossed a kink and {'were' if many else 'was'} redrawn")
    if not free.all():
        first = int(np.flatnonzero(free)[0])
        parts.append(f"the direction crosses a kink for ε ≥ {EPSILONS[first - 1]:g}, so the order is fitted on "
                     f"ε ≤ {EPSILONS[first]:g}")
    if parts:
        notes.append(f"{check} {name} (taylor): " + "; ".join(parts))
