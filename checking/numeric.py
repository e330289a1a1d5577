"""The numerical primitives of the checker: relative errors, centred and one-sided differences, kinks.

Kinks are found for any function, with no help from the layer. Probing element ``i`` at ``x ± h``
gives, besides the centred difference, the two one-sided slopes

    s₊ = (f(x + h) − f(x)) / h        s₋ = (f(x) − f(x − h)) / h

(``f(x)`` is evaluated once per tensor). Their gap ``D(h) = |s₊ − s₋|`` tells a kink from a smooth
bend: for a smooth ``f`` it is ``h |f''|`` (plus round-off), so it shrinks with the step; across a
kink it is the jump of the derivative, whatever the step. Two stages:

1. *Screen* (every element, free): the element is suspect when
   ``D(h) > KINK_REL · max(|s₊|, |s₋|) + 4δ/h``, ``δ`` being the round-off of one evaluation of
   ``f`` (``ROUND_OFF · eps · |f|``, so ``4δ/h`` bounds the round-off in ``D``). ``KINK_REL`` = 1 %:
   smooth curvature gets there only where the slope changes by its own size within 100 steps.
2. *Confirm* (suspects only, two more evaluations each): probe again at ``x ± h/2``. Curvature
   halves the gap, a kink keeps it: the suspect is a kink when ``D(h/2) > KINK_PERSIST · D(h)``
   (0.75, between the 0.5 of curvature and the 1 of a kink at ``x``). An optional ``kink_state()``
   hint (ReLU's pattern of active units changing between ``x + h`` and ``x − h``) marks kinks too.

Every suspect, kink or steep bend, is judged by the subgradient test (``compare`` in
``checking.report``): the analytic value passes if it lies in the closed interval between ``s₋`` and
``s₊``. That is sound wherever ``f'`` is monotone across ``[x − h, x + h]`` — a kink of a convex or
concave piece (ReLU, LeakyReLU, ``abs``, ``max``) or a smooth bend — since the mean-value theorem
puts ``f'(x)`` (and at a kink every subgradient) between the two one-sided slopes. It is also sharp:
a backward that returns a value outside the interval fails like any other element. Only confirmed
kinks are counted (``n_kinks``); a steep bend is a place where the centred difference itself is
unreliable (its relative error grows like ``(h f''/f')²``), so the interval is the honest test there.
"""

from dataclasses import dataclass, replace

import numpy as np

REL_FLOOR = 1e-12
KINK_REL = 1e-2
KINK_PERSIST = 0.75
ROUND_OFF = 64.0  # one evaluation of f is a sum of many terms: allow for that many ulps of |f|
EPS = float(np.finfo(np.float64).eps)


def rel_error(a, b, floor=REL_FLOOR):
    """Largest element-wise relative error ``|a - b| / max(|a| + |b|, floor)`` of two arrays of the same shape,
    as a float; ``floor`` bounds the denominator, so two exact zeros compare as equal instead of 0/0."""
    return float(np.max(rel_errors(a, b, floor), initial=0.0))


def rel_errors(a, b, floor=REL_FLOOR):
    """Element-wise ``|a - b| / max(|a| + |b|, floor)``; a ``ValueError`` if the shapes differ."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    if a.shape != b.shape:
        raise ValueError(f"cannot compare gradients of shapes {a.shape} and {b.shape}")
    with np.errstate(invalid="ignore"):
        return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)


@dataclass
class Probes:
    """What probing a tensor element by element (or a vector direction by direction) measured; or, from
    ``compare``, a numeric gradient computed elsewhere (then only ``centred`` need be given).

    Attributes (arrays of the probed shape unless said otherwise)
    ----------
    centred : ``(f(x+h) − f(x−h)) / 2h``
    kinks : bool, the suspects confirmed as kinks (stage 2, after ``confirm``), or marked by ``state``
    bounds : ``(lo, hi)``, the interval spanned by the one-sided slopes ``s₋`` and ``s₊``; None if unknown
        (then elements at a kink cannot be judged)
    suspect : bool, elements whose one-sided slopes disagree (stage 1 of the module docstring) or whose
        ``state`` changed: judged by the one-sided interval
    noise : the round-off bound of the centred difference, ``δ / h``; None if unknown
    step_lost : bool, elements where ``x ± h`` rounded back to ``x`` (the step is below float64's
        resolution there, so the probes measured nothing); None if unknown
    probed : bool, the elements probed (by default every one); the others are not judged
    f0 : float, ``f`` at the unperturbed point; h : float, the step
    scale : float or None, the gradient's scale (the check's largest centred difference) that ``noise`` must be
        small against for an element to be resolved (``checking.report``); None: this tensor's own
    """

    centred: np.ndarray
    kinks: np.ndarray = None
    bounds: tuple = None
    suspect: np.ndarray = None
    noise: np.ndarray = None
    step_lost: np.ndarray = None
    probed: np.ndarray = None
    f0: float = 0.0
    h: float = None
    scale: float = None

    def __post_init__(self):
        self.centred = np.asarray(self.centred, np.float64)
        shape = self.centred.shape
        self.kinks = np.zeros(shape, bool) if self.kinks is None else np.asarray(self.kinks, bool)
        self.suspect = np.zeros(shape, bool) if self.suspect is None else np.asarray(self.suspect, bool)
        self.probed = np.ones(shape, bool) if self.probed is None else np.asarray(self.probed, bool)

    @classmethod
    def measured(cls, f0, f_plus, f_minus, h, state_changed=None, step_lost=None, probed=None):
        """The probes of ``f(x ± h)`` (and ``f(x)``): stage 1 of the module docstring, and ``state``'s kinks."""
        f_plus, f_minus = np.asarray(f_plus, np.float64), np.asarray(f_minus, np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            forward, backward = (f_plus - f0) / h, (f0 - f_minus) / h
            scale = np.maximum(np.maximum(np.abs(f_plus), np.abs(f_minus)), abs(f0))
            centred = (f_plus - f_minus) / (2 * h)
        delta = ROUND_OFF * EPS * scale
        changed = np.zeros(centred.shape, bool) if state_changed is None else np.asarray(state_changed, bool)
        return cls(centred, changed.copy(), (np.minimum(forward, backward), np.maximum(forward, backward)),
                   kink_mask(forward, backward, 4 * delta / h) | changed, delta / h, step_lost, probed, f0, h)

    def confirm(self, pair):
        """Stage 2: ``pair(i, h/2) -> (f at +h/2, f at −h/2)`` along flat index ``i``, for each suspect."""
        gaps = self.bounds[1] - self.bounds[0]
        half = self.h / 2
        for i in np.flatnonzero(self.suspect & ~self.kinks):
            f_plus, f_minus = pair(int(i), half)
            gap_half = abs((f_plus - self.f0) / half - (self.f0 - f_minus) / half)
            self.kinks.flat[i] = bool(gap_half > KINK_PERSIST * gaps.flat[i])
        return self

    def refined(self, pair, mask, step):
        """These probes with the elements of ``mask`` measured again by Richardson's extrapolation at ``step``
        (``richardson``): their ``noise`` becomes its allowance, and they are no longer judged by an interval."""
        centred, allowance = richardson(pair, self.centred.shape, mask, step)
        keep = ~mask
        return replace(self, centred=np.where(mask, centred, self.centred), kinks=self.kinks & keep,
                       suspect=self.suspect & keep, noise=np.where(mask, allowance, self.noise), h=step)


def richardson(pair, shape, mask, step):
    """``(4 D(step/2) − D(step)) / 3`` at the elements of ``mask`` (D the centred difference: its ``step²`` error
    cancels), and its allowance: round-off ``3δ/step`` plus the error estimate ``|D(step) − D(step/2)| / 3``.
    ``pair(i, s)`` is ``(f(θ + s e_i), f(θ − s e_i))`` along flat index ``i`` (or direction ``i``)."""
    coarse, fine, size = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for i in np.flatnonzero(mask):
        (a, b), (c, d) = pair(int(i), step), pair(int(i), step / 2)
        coarse.flat[i], fine.flat[i], size.flat[i] = (a - b) / (2 * step), (c - d) / step, max(map(abs, (a, b, c, d)))
    with np.errstate(invalid="ignore", over="ignore"):
        return (4 * fine - coarse) / 3, 3 * ROUND_OFF * EPS * size / step + np.abs(coarse - fine) / 3


def element_pair(f, x):
    """``pair(i, s)`` for ``richardson`` and ``Probes.confirm``: ``f`` at ``x ± s`` in flat element ``i``."""
    return lambda i, s: _probe_pair(f, x, np.unravel_index(i, x.shape), s)[:2]


def kink_mask(forward, backward, round_off):
    """True where one-sided slopes disagree beyond smooth curvature and round-off (see module doc)."""
    forward, backward = np.asarray(forward), np.asarray(backward)
    with np.errstate(invalid="ignore"):
        gap = np.abs(forward - backward)
        return np.isfinite(gap) & (gap > KINK_REL * np.maximum(np.abs(forward), np.abs(backward)) + round_off)


def probe_elements(f, x, h=1e-5, state=None, confirm=True, elements=None):
    """Probe ``f`` at ``x ± h`` one element at a time, and once at ``x``.

    Parameters
    ----------
    f : callable ``f(x) -> float``; it may read ``x`` directly (or through an object holding it)
    x : ndarray of floats, any shape
        Perturbed **in place**, one element at a time, and restored exactly afterwards, also when
        ``f`` raises. Integer arrays are refused: ``x ± h`` would be truncated.
    h : float, the step
    state : callable or None, optional kink hint
        Called after each evaluation of ``f``; returns an array (or tuple of arrays) describing which
        piece of a piecewise function was used (ReLU's ``kink_state()``). Elements where it differs
        between ``x + h`` and ``x − h`` count as kinks too.
    confirm : bool, run stage 2 (two more evaluations per suspect) to tell kinks from steep bends
    elements : flat indices to probe, or None for every element; the others read as a zero slope, not judged

    Returns ``Probes``, arrays of ``x``'s shape.
    """
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a numpy array to perturb in place, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"x has dtype {x.dtype}: x ± h would be truncated; pass a float64 array")
    f0 = float(f(x))
    f_plus, f_minus = np.full(x.shape, f0), np.full(x.shape, f0)
    changed, lost, probed = np.zeros(x.shape, bool), np.zeros(x.shape, bool), np.zeros(x.shape, bool)
    for i in range(x.size) if elements is None else elements:
        idx = np.unravel_index(i, x.shape)
        f_plus[idx], f_minus[idx], changed[idx], lost[idx] = _probe_pair(f, x, idx, h, state)
        probed[idx] = True
    probes = Probes.measured(f0, f_plus, f_minus, h, changed, lost, probed)
    if confirm:
        probes.confirm(element_pair(f, x))
    return probes


def _probe_pair(f, x, idx, step, state=None):
    """Probe one element: ``f(x + step e_idx)``, ``f(x − step e_idx)``, whether ``state`` differed between
    the two, and whether the step was lost (``x ± step`` rounded back to ``x``). ``x[idx]`` is restored exactly."""
    old = x[idx]
    try:
        x[idx] = old + step
        lost = x[idx] == old
        f_plus = float(f(x))
        s_plus = snapshot_state(state)
        x[idx] = old - step
        lost |= x[idx] == old
        f_minus = float(f(x))
        changed = not same_state(s_plus, snapshot_state(state))
    finally:
        x[idx] = old
    return f_plus, f_minus, changed, lost


class Mover:
    """``move(v, step)``: set the arrays to their saved values plus ``step · v`` (``v`` split among
    them in order) and return ``f()``; ``restore()`` puts the saved values back."""

    def __init__(self, f, arrays):
        self.f, self.arrays = f, arrays
        self.saved = {k: a.copy() for k, a in arrays.items()}
        self.ends = np.cumsum([a.size for a in arrays.values()])[:-1]

    def __call__(self, v, step):
        for (k, a), piece in zip(self.arrays.items(), np.split(v, self.ends), strict=True):
            a[...] = self.saved[k] + step * piece.reshape(a.shape)
        return float(self.f())

    def restore(self):
        for k, a in self.arrays.items():
            a[...] = self.saved[k]


def numerical_gradient(f, x, h=1e-5):
    """Centred-difference gradient of a scalar function ``f(x) -> float``, ``(f(x+h) - f(x-h)) / 2h`` per element:
    float64 of ``x``'s shape. ``x`` is perturbed **in place** and restored, as by ``probe_elements``."""
    return probe_elements(f, x, h, confirm=False).centred


def numerical_gradient_kinks(f, x, h=1e-5, state=None):
    """``(grad, kinks)``: ``numerical_gradient`` and a bool array of ``x``'s shape marking the confirmed kinks (see
    the module docstring); ``state`` is an optional kink hint, e.g. ReLU's ``kink_state`` (``probe_elements``)."""
    probes = probe_elements(f, x, h, state)
    return probes.centred, probes.kinks


def snapshot_state(state):
    """A copy of what ``state()`` returns now (an array or a tuple of arrays); None without a ``state``."""
    if state is None:
        return None
    s = state()
    return tuple(np.array(a, copy=True) for a in s) if isinstance(s, (tuple, list)) else np.array(s, copy=True)


def same_state(s1, s2):
    """Whether two ``snapshot_state`` results describe the same piece of a piecewise function."""
    if isinstance(s1, tuple):
        return len(s1) == len(s2) and all(np.array_equal(a, b) for a, b in zip(s1, s2, strict=True))
    return s1 is None or np.array_equal(s1, s2)
