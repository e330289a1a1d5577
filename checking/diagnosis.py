"""What a failing row most likely means: one line, from the pattern of its failing elements.

``diagnose`` looks only at the elements beyond the fail threshold and tries, in this order:
non-finite values; a step lost to float64 resolution or drowned in round-off (the check, not the
gradient, is at fault); the analytic array being the numeric one transposed; the local derivative
returned alone (analytic × upstream = numeric: the upstream was left out); a mask on the wrong side
(the gradient flows exactly where the numeric one is 0 and is 0 where it flows); analytic 0 where the
numeric gradient is not (a missing path); a constant ratio analytic/numeric (−1: a flipped sign; N or
1/N with N the batch size: a mean/sum or 1/N slip; any other k: a constant factor); failures confined
to negative, positive or zero inputs, or to the rows of one label (a label-dependent term wrong); every
element the sum of all the numeric ones (summed over every axis); a ratio that is a function of the input
naming a factor left out (σ's (1 − y), tanh's 1 − y²) or BCE's p − y; a difference affine in the input,
column by column (a normalisation's paths through μ and σ² missing); failures only on the pixels that several of
a conv's or pool's overlapping windows cover, smaller there than the numeric ones (``=`` where the windows'
gradients must add, ``+=``). Each is a hint, not a proof: it
names the simplest explanation that fits every failing element.
"""

from dataclasses import dataclass, field

import numpy as np

from .numeric import rel_error, rel_errors

RATIO_RTOL = 1e-3  # how close to constant the ratios must be to call them "a constant factor"
RATIO_SHARE = 0.9  # ... for this share of the failing elements
SHARE_SIZE = 0.9  # one window's share: sum |analytic| at most this much of sum |numeric| over the failing elements
SHARE_ENERGY = 2.5  # ... and sum analytic² × (windows covering the pixel) at most this much of sum numeric²


@dataclass(frozen=True)
class Clues:
    """What a check knows beyond the gradients, for the hints: the batch size N (the mean/sum hint), a loss's
    labels, of the tensor's shape or one per row ("only rows with label 0 fail"), and by tensor name the input
    values behind a tensor (the sign hint) and the upstream gradient a backward multiplied into it ("upstream
    left out"), each only when of the tensor's shape, and the windows ``(kernel_size, stride, padding)`` a conv or
    pool slides over an image tensor (N, C, H, W) (the overlapping-windows hint)."""

    batch_size: int = None
    labels: object = None
    inputs: dict = field(default_factory=dict)
    upstreams: dict = field(default_factory=dict)
    windows: dict = field(default_factory=dict)

    def about(self, name):
        """The clues ``diagnose`` takes about tensor ``name``, as its keywords."""
        return dict(inputs=self.inputs.get(name), upstream=self.upstreams.get(name), labels=self.labels,
                    batch_size=self.batch_size, windows=self.windows.get(name))


NO_CLUES = Clues()


def diagnose(analytic, reference, failed, probes=None, judged=None, kinks=None, inputs=None, batch_size=None,
             upstream=None, labels=None, windows=None):
    """Median ratio and a one-line hint for the failing elements of one tensor.

    Parameters
    ----------
    analytic, reference : ndarray (S,), the analytic gradient and what it was compared with (the
        centred difference, or the nearest end of the one-sided interval at a kink)
    failed : bool ndarray (S,), elements beyond the fail threshold
    probes : ``checking.numeric.Probes`` or None, what the numeric side measured: the centred difference
        everywhere (for the transposition test; default ``reference``), its round-off bound and lost steps
    judged : bool ndarray (S,) or None, elements that were judged at all (default: every element)
    kinks : bool ndarray (S,) or None, elements judged by the one-sided interval (kinks, steep bends)
    inputs, batch_size, upstream, labels, windows : the ``Clues`` about this tensor (``Clues.about``), each optional

    Returns ``(ratio, hint)``: the median of analytic/reference over failing elements with a finite, non-zero
    reference (or None), and the hint.
    """
    a, ref = np.asarray(analytic, np.float64), np.asarray(reference, np.float64)
    failed = np.asarray(failed, bool)
    judged = np.ones(a.shape, bool) if judged is None else judged
    ratios = _ratios(a[failed], ref[failed])
    ratio = float(np.median(ratios)) if ratios.size else None
    hint = _check_at_fault(a, ref, failed, probes) or _misplaced(a, ref, failed, probes, inputs, upstream)
    if hint:
        return ratio, hint
    where = _where(inputs, failed, judged, a.shape) or _label_where(labels, failed, judged, a.shape)
    hint = (_at_kinks(failed, kinks) or _pattern(a, ref, failed, ratios, batch_size)
            or _local_factor(a, ref, failed, inputs, batch_size) or _batch_statistics(a, ref, inputs)
            or _overwritten(a, ref, failed, windows))
    return ratio, "; ".join(h for h in (hint, where) if h) or _spread(ratios, int(failed.sum()), a.size)


def _check_at_fault(a, ref, failed, probes):
    """Non-finite values, or a step the differences could not resolve: the check, not the gradient, is at fault."""
    return _non_finite(a, ref, failed) or (probes and _step(a, ref, failed, probes.noise, probes.step_lost))


def _misplaced(a, ref, failed, probes, inputs, upstream):
    """The right numbers in the wrong places: transposed, the upstream left out, a mask on the wrong side."""
    numeric, noise = (ref, None) if probes is None else (probes.centred, probes.noise)
    return (transposed(a, numeric) or _without_upstream(a, ref, failed, upstream) or _summed_everywhere(a, ref)
            or _wrong_side(a, ref, failed, noise, inputs))


def _at_kinks(failed, kinks):
    if kinks is None or not kinks[failed].all():
        return None
    return (f"every failing element ({_count(int(failed.sum()))}) is at a kink, where the analytic value must lie "
            "between the two one-sided slopes, and lies outside: the backward is wrong exactly at the kink")


def _ratios(a, ref):
    ok = np.isfinite(a) & np.isfinite(ref) & (ref != 0)
    return a[ok] / ref[ok]


def _non_finite(a, ref, failed):
    bad_a = int((~np.isfinite(a) & failed).sum())
    if bad_a:
        return f"the analytic gradient is NaN or infinite at {_count(bad_a)}"
    bad_f = int((~np.isfinite(ref) & failed).sum())
    if bad_f:
        return (f"f itself is NaN or infinite near this point ({_count(bad_f)}): the forward pass "
                "overflows or divides by zero at a probe")
    return None


def _step(a, ref, failed, noise, step_lost):
    if step_lost is not None and step_lost[failed].all():
        return "the step h is below float64's resolution here (x ± h == x): use a larger h, or the Taylor mode"
    if noise is not None and (np.abs(a - ref) <= noise)[failed].all():
        return ("the numeric estimate is round-off noise at this step: every failing error is within "
                "round-off; use a larger h (1e-5 suits float64), or the Taylor mode")
    return None


def transposed(a, numeric):
    """The hint when ``a`` holds the values of ``numeric`` transposed (and, of its shape, not its own); else None."""
    if a.shape[::-1] != numeric.shape or rel_error(a.T, numeric) >= 1e-6:
        return None
    if a.shape == numeric.shape and rel_error(a, numeric) <= 1e-4:
        return None
    return "the analytic gradient is the numeric one transposed: return its .T (check the order of a matrix product)"


def _without_upstream(a, ref, failed, upstream):
    """Analytic × upstream = numeric on every failing element: the local derivative was returned alone."""
    if upstream is None or np.shape(upstream) != a.shape or not failed.any():
        return None
    u = np.asarray(upstream, np.float64)
    if (rel_errors(a[failed] * u[failed], ref[failed]) < 1e-6).all():
        return "matches the local derivative alone: multiply by the upstream gradient (downstream = upstream × local)"
    return None


def _summed_everywhere(a, ref):
    """Every element is the sum of all the numeric ones: a sum over every axis where only the batch's belongs."""
    if a.size < 2 or np.ptp(ref) == 0 or not np.abs(a - ref.sum()).max() <= 1e-6 * np.abs(ref).sum():
        return None
    hint = ("each element is the sum of every numeric element: summed over every axis, where only the batch axis "
            "is summed (a bias broadcast over the batch: upstream.sum(axis=0))")
    if (a == 0).all():  # the numeric elements sum to 0, as a softmax's gradients do over its classes
        hint = f"analytic 0 everywhere, and the numeric elements sum to 0: {hint}; or a path's gradient is missing"
    return hint


def _wrong_side(a, ref, failed, noise, inputs):
    """The gradient flows exactly where the numeric one is 0, and is 0 exactly where it flows: a mask
    (an indicator such as ``x > 0``) on the wrong side."""
    n_failed = int(failed.sum())
    if n_failed < 2:
        return None
    floor = np.zeros(a.shape) if noise is None else np.asarray(noise, np.float64)
    zero_a, zero_n = a == 0, np.abs(ref) <= floor
    flows_wrongly, killed_wrongly = failed & ~zero_a & zero_n, failed & zero_a & ~zero_n
    if not (flows_wrongly.any() and killed_wrongly.any()) or (flows_wrongly | killed_wrongly).sum() != n_failed:
        return None
    hint = (f"a mask on the wrong side: the gradient flows where the numeric one is 0 "
            f"({_count(int(flows_wrongly.sum()))}) and is 0 where it flows ({_count(int(killed_wrongly.sum()))})")
    if inputs is not None and np.shape(inputs) == a.shape:
        x = np.asarray(inputs)
        if (x[flows_wrongly] <= 0).all() and (x[killed_wrongly] > 0).all():
            hint += "; it must flow where the input is > 0, not where it is ≤ 0"
        elif (x[flows_wrongly] > 0).all() and (x[killed_wrongly] <= 0).all():
            hint += "; it must flow where the input is ≤ 0, not where it is > 0"
    return hint


def _label_where(labels, failed, judged, shape):
    """'only rows with label 0 fail' (or the entries at each row's class), when the other labels' pass."""
    per_element = _labels_like(labels, shape)
    if per_element is None or not failed.any():
        return None
    passed = judged & ~failed
    rows = "rows" if len(shape) == 1 or shape[1:] == (1,) * (len(shape) - 1) else "elements"
    value = _only(((per_element == v, v) for v in np.unique(per_element)), failed, passed)
    if value is not None:
        return f"only {rows} with label {_label_text(value)} fail: the term for that label is wrong"
    return _own_class_where(np.asarray(labels), failed, passed, shape)


def _own_class_where(labels, failed, passed, shape):
    """'only the entries at (or off) each row's own class fail', for class indices and a tensor of (N, K)."""
    if not (labels.ndim == 1 and len(shape) == 2 and labels.shape[0] == shape[0]
            and np.issubdtype(labels.dtype, np.integer)):
        return None
    own = np.arange(shape[1]) == labels[:, None]
    where = _only(((own, "at"), (~own, "off")), failed, passed)
    return where and f"only the entries {where} each row's own class fail: the one-hot term of the label is wrong there"


def _only(sides, failed, passed):
    """The ``what`` of the first ``(side, what)`` of ``sides`` holding every failure while some element off it
    passes; None when none does."""
    return next((what for side, what in sides if side[failed].all() and (passed & ~side).any()), None)


def _labels_like(labels, shape):
    """Labels per element of a tensor of ``shape``: as they are, or one per row spread along the row."""
    if labels is None:
        return None
    labels = np.asarray(labels)
    if labels.shape == shape:
        return labels
    if labels.ndim == 1 and len(shape) >= 1 and shape[0] == labels.shape[0]:
        return np.broadcast_to(labels.reshape(-1, *[1] * (len(shape) - 1)), shape)
    return None


def _label_text(value):
    return str(int(value)) if float(value).is_integer() else f"{float(value):g}"


def _pattern(a, ref, failed, ratios, batch_size):
    n_failed = int(failed.sum())
    zero = failed & (a == 0) & (ref != 0)
    if n_failed and zero.sum() == n_failed:
        return f"analytic 0 where the numeric gradient is not ({_count(n_failed)}): a path's gradient is missing"
    if ratios.size < max(1, RATIO_SHARE * n_failed):
        return None
    k = float(np.median(ratios))
    if k == 0 or np.mean(np.abs(ratios / k - 1) <= RATIO_RTOL) < RATIO_SHARE:
        return None
    return named_slip(k, batch_size) or f"off by a constant factor: analytic = {_factor(k)} × numeric"


def named_slip(k, batch_size, analytic="analytic", numeric="numeric"):
    """The slip a ratio ``k`` = analytic/numeric names on its own — −1 (a flipped sign), 1/N or N (the
    batch size) — as a sentence using the given names for both sides; None for any other ratio."""
    if abs(k + 1) <= RATIO_RTOL:
        return f"the sign is flipped: {analytic} = −{numeric}"
    if batch_size and batch_size > 1:
        if abs(k * batch_size - 1) <= RATIO_RTOL:
            return (f"{analytic} = {numeric} / {batch_size}, and N = {batch_size} is the batch size: "
                    "a mean where a sum belongs, or an extra 1/N")
        if abs(k / batch_size - 1) <= RATIO_RTOL:
            return (f"{analytic} = {batch_size} × {numeric}, and N = {batch_size} is the batch size: "
                    "a missing 1/N, or a sum where a mean belongs")
    return None


#: a local derivative with a factor left out, or another node's: (analytic/numeric as a function of the input x,
#: what it means); also tried times N or 1/N (a 1/N slip besides). 1/(1 − σ(x)) = 1 + eˣ, 1/σ(x) = 1 + e⁻ˣ.
LOCAL_FACTORS = (
    (lambda x: 1 + np.exp(x), "analytic = numeric / (1 − y), y = σ(x) the output: the factor (1 − y) of σ'(x) = "
                              "y(1 − y) is missing"),
    (lambda x: 1 + np.exp(-x), "analytic = numeric / y, y = σ(x) the output: the factor y of σ'(x) = y(1 − y) is "
                               "missing"),
    (lambda x: np.cosh(x) ** 2, "analytic = numeric / (1 − y²), y = tanh(x): the local derivative 1 − y² is missing"),
    (lambda p: p * (1 - p), "analytic = numeric × p(1 − p), p the input: that is p − y = dℓ/dz, the gradient at the "
                            "sigmoid's input, not dℓ/dp = (p − y) / (p(1 − p))"),
)


def _local_factor(a, ref, failed, inputs, batch_size):
    """analytic/numeric = a function of the input on every failing element: one of ``LOCAL_FACTORS``."""
    ok = failed & np.isfinite(a) & np.isfinite(ref) & (ref != 0)
    if inputs is None or np.shape(inputs) != a.shape or not ok.any() or ok.sum() < RATIO_SHARE * failed.sum():
        return None
    for factor, meaning in LOCAL_FACTORS:
        with np.errstate(all="ignore"):
            k = a[ok] / ref[ok] / factor(np.asarray(inputs, np.float64)[ok])
        if np.isfinite(k).all() and np.ptp(k) <= RATIO_RTOL * abs(np.median(k)):
            besides = _batch_factor(float(np.median(k)), batch_size)
            if besides is not None:
                return meaning + besides
    return None


def _batch_factor(k, batch_size):
    """"" for k = 1, a clause naming N for k = N or 1/N (the batch size), None for any other k."""
    if abs(k - 1) <= RATIO_RTOL:
        return ""
    if batch_size and batch_size > 1 and min(abs(k * batch_size - 1), abs(k / batch_size - 1)) <= RATIO_RTOL:
        return f"; and a factor N = {batch_size} (the batch size) besides: a 1/N missing or extra"
    return None


def _batch_statistics(a, ref, inputs):
    """analytic − numeric is, column by column, α + β·(x − mean x): the paths through a batch's mean (α) and
    variance (β), which a normalisation's gradient adds to the direct one, are missing."""
    if np.shape(inputs) != a.shape or a.ndim != 2 or a.shape[0] < 4:
        return None
    centred = np.asarray(inputs, np.float64) - np.mean(inputs, axis=0)
    diff, scale = a - ref, 1e-6 * np.abs(ref).max()
    alpha, beta = diff.mean(axis=0), (diff * centred).sum(axis=0) / np.maximum((centred ** 2).sum(axis=0), 1e-300)
    if not np.isfinite(diff).all() or np.abs(diff - alpha - beta * centred).max() > scale:
        return None
    paths = [name for name, part in (("the mean μ", alpha), ("the variance σ²", beta * centred.std(axis=0)))
             if np.abs(part).max() > scale]
    return paths and (f"analytic − numeric is, in each column, a + b·(x − μ): the path through {' and '.join(paths)} "
                      "of the batch is missing; the gradients of the three paths to x (direct, through μ, through σ²) "
                      "add up")


def _overwritten(a, ref, failed, windows):
    """Every failing element on a pixel that several overlapping windows cover, the analytic values there what one
    window's share of the numeric ones would be: ``=`` where the windows' gradients add.

    A pixel's numeric gradient is the sum of the shares of the c windows it is in; one share is smaller in size
    and holds about 1/c of the sum's square (``SHARE_SIZE``, ``SHARE_ENERGY``), where a gradient wrong in another
    way is as large as the numeric one (a kernel left unflipped: about 1 and about the mean c).
    ``a``, ``ref``, ``failed`` (N, C, H, W); ``windows`` ``(k, s, p)``, the kernel size, stride and padding, or None.
    """
    if windows is None or a.ndim != 4 or not failed.any():
        return None
    k, s, p = windows
    rows, cols = _covers(a.shape[2], k, s, p), _covers(a.shape[3], k, s, p)
    if rows is None or cols is None:  # windows that do not overlap cover no pixel twice: no failure is on a shared one
        return None
    covers = np.broadcast_to(np.multiply.outer(rows, cols), a.shape)[failed]
    a, ref = a[failed], ref[failed]
    if (covers < 2).any() or not (np.abs(a).sum() <= SHARE_SIZE * np.abs(ref).sum()
                                   and (a ** 2 * covers).sum() <= SHARE_ENERGY * (ref ** 2).sum()):
        return None
    return (f"failures only on pixels that several {k}×{k} windows cover (stride {s} < {k}: they overlap), the "
            "analytic values there smaller than the numeric: a pixel got one window's share; add (+=) the gradient of "
            "every window the pixel is in, do not overwrite it (=)")


def _covers(n, k, s, p):
    """How many windows of size ``k``, stride ``s``, cover each of ``n`` positions padded by ``p`` (n,), or None
    when no window fits."""
    count = (n + 2 * p - k) // s + 1
    if count < 1:
        return None
    covered = np.zeros(n + 2 * p, int)
    for r in range(count):
        covered[r * s:r * s + k] += 1
    return covered[p:p + n]


def directional_hint(slope, numeric, batch_size=None):
    """The hint for one direction (Taylor mode): analytic ``∇f·v`` against the change of ``f`` along ``v``.

    One number cannot show a pattern, so only the ratios that name a slip on their own are read:
    −1 (a flipped sign), N or 1/N (the batch size), and 0 (a missing path).
    """
    if slope == 0 and numeric != 0:
        return "∇f·v is 0 where f changes along v: a path's gradient is missing"
    named = named_slip(slope / numeric, batch_size, "∇f·v", "(change along v)") if numeric else None
    return named or (f"∇f·v = {slope:.6g} but f changes at {numeric:.6g} along v; "
                     "the element-wise mode shows which elements")


def _factor(k):
    if abs(k) < 1 and abs(1 / k - round(1 / k)) < RATIO_RTOL * abs(1 / k):
        return f"{'-' if k < 0 else ''}1/{abs(round(1 / k))}"
    return f"{k:.4g}"


def _where(inputs, failed, judged, shape):
    """'failures only where the input is negative' (positive, zero), when the other elements pass."""
    if inputs is None or np.shape(inputs) != shape or not failed.any():
        return None
    x, passed = np.asarray(inputs), judged & ~failed
    sign = _only(((x == 0, "exactly 0 (on the kink)"), (x < 0, "negative"), (x > 0, "positive")), failed, passed)
    return sign and f"failures only where the input is {sign}"


def _spread(ratios, n_failed, size):
    if ratios.size:
        return (f"no single pattern: {n_failed} of {size} elements fail, analytic/numeric from "
                f"{ratios.min():.3g} to {ratios.max():.3g}")
    return f"no single pattern: {n_failed} of {size} elements fail where the numeric gradient is 0"


def _count(n):
    return f"{n} element{'s' if n != 1 else ''}"
