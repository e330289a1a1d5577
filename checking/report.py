"""Rows, reports and verdicts: how one analytic gradient is judged against its numerical estimate.

Verdicts of a row (one tensor): ``pass``, every judged element within ``tol`` (relative error, 1e-7 by
default); ``warn``, the worst within ``warn_tol`` (1e-4), suspicious, a failure only with ``strict``; ``fail``,
at least one element beyond ``warn_tol``, and the row then carries ``ratio`` and a ``hint``; ``unchecked``, no
element could be judged (e.g. every Taylor direction crossed a kink), never a pass; ``exact``, Taylor mode only:
``f`` is linear in the tensor, the remainder stays at round-off for every ε.

An element at a kink (see ``checking.numeric``) is *verified*, not skipped: its analytic value is
compared with the nearest point of the interval between the two one-sided slopes (0 if it lies
inside), with the same tolerances. ``n_kinks`` counts those elements.

Equal within round-off. Where the analytic value and the centred difference differ by no more than the
difference's round-off bound (``Probes.noise``), finite differences cannot tell them apart, and the
element agrees: a relative error of 1 between 1e-18 and 1e-11 says nothing (a Linear bias just before a
BatchNorm has exactly zero gradient), and neither does 6e-2 between 9.4e-12 and 8.3e-12 at a trained
point whose loss is tiny. Such an element, which would otherwise not pass, has its error measured against
the smallest values the differences can resolve (so it stays under half the tolerance); every other
element's error is the plain relative error shown beside its two values, and a value off by more than
the bound is judged like any other.

Resolved, or no verdict. That allowance is a promise only while it is small against the gradient's own scale
(``tol`` times the check's largest slope): where it is not (``f`` carries a large constant, say), the element is
measured again at a larger step by Richardson's extrapolation (``resolved``), and if round-off still blurs it, an
element that does not plainly fail beyond the allowance is not judged: the row is ``unchecked`` and says why.
"""

import math
import os
import sys
import textwrap
from dataclasses import dataclass, field, replace
from html import escape

import numpy as np

from layers.shape_errors import likely_fix

from .diagnosis import NO_CLUES, diagnose, transposed
from .numeric import Probes, rel_errors
from .settings import DEFAULT_SETTINGS, PASS_TOL, WARN_TOL

VERDICTS = ("pass", "warn", "fail", "exact", "unchecked")
RETRY_STEP = 1e-2  # where round-off blurs the differences, the largest step they are taken again with, per unit


@dataclass
class Row:
    """One checked tensor: the verdict, counts, where it disagrees most and, if it fails, why.

    Attributes
    ----------
    check, name : str, the check (layer) and the tensor
    shape : tuple, the tensor's shape (for a directional row: (directions,))
    verdict : one of ``VERDICTS``
    n_checked, n_failed, n_kinks : int, elements judged, beyond ``warn_tol``, verified at a kink
    max_abs_error, max_rel_error : float or None (None in Taylor mode)
    worst_index : tuple; analytic, numeric : float, the worst element's values (at a kink,
        ``numeric`` is the nearest end of ``interval``)
    interval : (lo, hi) or None, the one-sided slopes, when the worst element was judged by them (at a
        kink or a steep bend)
    ratio : float or None, median analytic/numeric over the failing elements
    hint : str or None, the likely cause of a failure
    mode : "elementwise", "directional" or "taylor"
    order : float or None, Taylor mode: the fitted order of the remainder
    remainders : list of float or None, Taylor mode: |f(θ+εv) − f(θ) − ε∇f·v| per ε in ``epsilons``
    epsilons : list of float or None, Taylor mode
    analytic_shape : tuple or None, the analytic gradient's shape when it is not the tensor's
    sampled : bool, only ``n_checked`` elements, sampled, were probed (``CheckSettings.max_elements``)
    """

    check: str
    name: str
    shape: tuple
    verdict: str
    n_checked: int = 0
    n_failed: int = 0
    n_kinks: int = 0
    max_abs_error: float = 0.0
    max_rel_error: float = 0.0
    worst_index: tuple = ()
    analytic: float = 0.0
    numeric: float = 0.0
    interval: tuple = None
    ratio: float = None
    hint: str = None
    mode: str = "elementwise"
    order: float = None
    remainders: list = None
    epsilons: list = None
    analytic_shape: tuple = None
    sampled: bool = False

    def to_dict(self):
        """A JSON-ready dict (lists for tuples; non-finite floats are left for ``Report.to_dict``)."""
        return {key: list(value) if isinstance(value, tuple) else value for key, value in self.__dict__.items()}

    def worst_text(self):
        """The table cell describing the worst element (or the Taylor fit)."""
        if self.mode == "taylor":
            if not self.remainders:
                return "no remainder measured"
            order = "" if self.order is None else f"order {self.order:.2f}, "
            return f"{order}remainder {self.remainders[0]:.1e} … {self.remainders[-1]:.1e}"
        if self.analytic_shape is not None:
            return f"wrong shape: analytic {self.analytic_shape}"
        idx = ",".join(map(str, self.worst_index))
        a = self.analytic + 0.0  # + 0.0: show -0.0 (a killed gradient) as 0
        if self.interval is not None:
            lo, hi = self.interval
            return f"[{idx}]: {a:+.5e} / one-sided [{lo + 0.0:+.3e}, {hi + 0.0:+.3e}]"
        return f"[{idx}]: {a:+.5e} / {self.numeric + 0.0:+.5e}"


@dataclass
class Report:
    """A list of rows and notes; ``passed`` unless a row fails or is unchecked (or warns, when ``strict``)."""

    rows: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    strict: bool = False

    @property
    def passed(self):
        bad = {"fail", "unchecked", "warn"} if self.strict else {"fail", "unchecked"}
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

    def counts(self):
        return {v: sum(r.verdict == v for r in self.rows) for v in VERDICTS}

    def summary(self):
        """One line: PASSED only when no row fails or is unchecked; counts, kinks, worst error, lowest order."""
        c = self.counts()
        failed = c["fail"] or (self.strict and c["warn"])
        word = "FAILED" if failed else "NOT VERIFIED" if c["unchecked"] else "PASSED"
        counts = f"{len(self.rows)} tensors, {c['pass']} pass, {c['warn']} warn, {c['fail']} fail"
        counts += "".join(f", {c[v]} {v}" for v in ("exact", "unchecked") if c[v])
        return f"{word}: " + "; ".join([counts, *_measures(self.rows)])

    def table(self, width=None):
        """The rows as an aligned text table, a failing row followed by its hint, all within ``width`` columns
        (default ``$COLUMNS``, else 120): notes and hints are wrapped, and ``NARROW`` columns left out as needed."""
        width = width or table_width()
        lines, hints = [HEAD], {}
        for r in self.rows:
            lines.append(_cells(r))
            if _hint_text(r):
                hints[len(lines) - 1] = textwrap.wrap(f"↳ {_hint_text(r)}", width, initial_indent="    ",
                                                      subsequent_indent="      ")
        widths = [max(len(line[i]) for line in lines) for i in range(len(HEAD))]
        shown = list(range(len(HEAD)))
        for column in NARROW:
            if sum(widths[i] + 2 for i in shown) - 2 > width:
                shown.remove(HEAD.index(column))
        out = []
        for i, line in enumerate(lines):
            out.append("  ".join(line[c].ljust(widths[c]) for c in shown).rstrip())
            out += hints.get(i, [])
        out.insert(1, "  ".join("-" * widths[c] for c in shown))
        return "\n".join(out + [w for n in self.notes for w in textwrap.wrap(f"note: {n}", width,
                                                                           subsequent_indent="      ")])

    def to_dict(self):
        """A dict that strict JSON can hold: NaN and infinities become None, and a note says so."""
        rows, replaced = [], []
        for i, r in enumerate(self.rows):
            d = r.to_dict()
            for key, value in d.items():
                d[key], bad = _finite(value)
                replaced += [f"rows[{i}].{key}"] if bad else []
            rows.append(d)
        notes = list(self.notes)
        if replaced:
            notes.append("non-finite numbers (NaN or infinity) are written as null: " + ", ".join(replaced))
        return {"passed": self.passed, "summary": self.summary(), "notes": notes, "rows": rows}

    def __str__(self):
        return self.table() + "\n" + self.summary()

    def _repr_html_(self):
        """The report as an HTML table for Jupyter: verdicts coloured, each failing row's hint under it."""
        cell = 'style="text-align:left; padding:2px 8px; font-family:monospace"'
        out = ['<table style="border-collapse:collapse">',
               "<tr>" + "".join(f"<th {cell}>{escape(h)}</th>" for h in HEAD) + "</tr>"]
        for r in self.rows:
            cells = [escape(c) for c in _cells(r)]
            colour = VERDICT_COLOURS.get(r.verdict, "#222222")
            cells[-1] = f'<b style="color:{colour}">{cells[-1]}</b>'
            out.append("<tr>" + "".join(f"<td {cell}>{c}</td>" for c in cells) + "</tr>")
            if _hint_text(r):
                out.append(f'<tr><td colspan="{len(HEAD)}" style="padding:0 8px 4px 32px; font-family:monospace; '
                           f'color:{colour}">↳ {escape(_hint_text(r))}</td></tr>')
        out.append("</table>")
        out += [f'<p style="margin:2px 0; color:#666666">note: {escape(n)}</p>' for n in self.notes]
        colour = VERDICT_COLOURS["pass" if self.passed else "unchecked" if not self.counts()["fail"] else "fail"]
        out.append(f'<p style="margin:4px 0"><b style="color:{colour}">{escape(self.summary())}</b></p>')
        return "\n".join(out)


HEAD = ("check", "tensor", "shape", "rel err", "worst [index]: analytic / numeric", "checked", "failed", "verdict")
NARROW = ("failed", "shape", "rel err")  # the columns a narrow table leaves out, in this order (the JSON has them)


def table_width():
    """The width a table fits in: on a terminal, ``$COLUMNS`` when it is a number of at least 40; else 120."""
    columns = os.environ.get("COLUMNS", "") if sys.stdout.isatty() else ""
    return int(columns) if columns.isdigit() and int(columns) >= 40 else 120

#: the colour of each verdict in the HTML report: green passes, orange warns, red fails, grey is unverified
VERDICT_COLOURS = {"pass": "#008000", "exact": "#008000", "warn": "#b36b00", "fail": "#cc0000",
                   "unchecked": "#666666"}


def _measures(rows):
    """The summary's numbers beyond the counts: kinks verified (unless every row is Taylor's), the worst relative
    error, the lowest Taylor order."""
    parts = []
    kinks = sum(r.n_kinks for r in rows)
    if kinks or any(r.mode != "taylor" for r in rows):
        parts.append(f"{kinks} element{'s' if kinks != 1 else ''} verified at a kink")
    rels = [r.max_rel_error for r in rows if r.max_rel_error is not None]
    if rels:
        parts.append(f"worst relative error {max(rels):.2e}")
    orders = [r.order for r in rows if r.order is not None]
    if orders:
        parts.append(f"lowest Taylor order {min(orders):.2f}")
    return parts


def _cells(r):
    """The table cells of row ``r``, as text."""
    rel = "-" if r.max_rel_error is None else f"{r.max_rel_error:.2e}"
    kinks = f", {r.n_kinks} kink{'s' * (r.n_kinks > 1)}" if r.n_kinks else ""
    checked = f"{r.n_checked}{' sampled' if r.sampled else ''}{kinks}"
    return (r.check, r.name, "x".join(map(str, r.shape)) or "scalar", rel, r.worst_text(), checked, str(r.n_failed),
            r.verdict)


def _hint_text(r):
    """The line under a failing (or unchecked) row: the median ratio and the hint; None for other rows."""
    if not (r.hint and r.verdict in ("fail", "unchecked")):
        return None
    what = "analytic/numeric along v" if r.mode == "taylor" else "median analytic/numeric"
    ratio = "" if r.ratio is None else f"{what} {r.ratio:.4g}; "
    return f"{ratio}{r.hint}"


def _finite(value):
    """(value with non-finite floats replaced by None, whether one was)."""
    if isinstance(value, (list, tuple)):
        items = [_finite(v) for v in value]
        return [v for v, _ in items], any(b for _, b in items)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return (value, False) if math.isfinite(value) else (None, True)
    if isinstance(value, np.integer):
        return int(value), False
    return value, False


def compare(check, name, analytic, numeric, kinks=None, tol=PASS_TOL, warn_tol=WARN_TOL, *, bounds=None,
            suspect=None, mode="elementwise"):
    """The ``Row`` judging one analytic gradient against a numeric one computed elsewhere, of the same shape.

    ``kinks``, ``bounds`` and ``suspect`` are as ``checking.numeric.Probes`` holds them: without ``bounds`` an
    element at a kink cannot be judged (and a row with nothing judged is ``unchecked``); with them, kinks and
    ``suspect`` elements are judged against the interval ``[lo, hi]``. ``mode`` is recorded in the row.
    """
    settings = replace(DEFAULT_SETTINGS, tol=tol, warn_tol=warn_tol)
    return compare_probes(check, name, analytic, Probes(numeric, kinks, bounds, suspect), settings, mode)


def compare_probes(check, name, analytic, probes, settings=DEFAULT_SETTINGS, mode="elementwise", clues=NO_CLUES):
    """The ``Row`` judging ``analytic`` against what ``probes`` (a ``checking.numeric.Probes``) measured, as the
    module docstring says; ``settings`` gives ``tol`` and ``warn_tol``, ``clues`` (``diagnosis.Clues``) the hints."""
    analytic, numeric, bounds = np.asarray(analytic), probes.centred, probes.bounds
    if analytic.shape != numeric.shape:
        return _misshapen_row(check, name, analytic, numeric, mode, clues.batch_size)
    analytic = analytic.astype(np.float64)
    judged = (~probes.kinks if bounds is None else np.ones(numeric.shape, bool)) & probes.probed
    interval = probes.kinks if bounds is None else probes.kinks | probes.suspect
    reference = numeric if bounds is None else _nearest_allowed(analytic, numeric, interval, bounds)
    rel, ab = _errors(analytic, reference, judged)
    unresolved = np.zeros(rel.shape, bool)
    if probes.noise is not None:
        rel, unresolved = _within_round_off(analytic, reference, rel, ab, probes, settings)
        judged, rel, ab = judged & ~unresolved, np.where(unresolved, 0.0, rel), np.where(unresolved, 0.0, ab)
    failed = rel > settings.warn_tol
    row = _judged_row(check, name, rel, ab, judged, settings, mode)
    row.n_failed, row.n_kinks = int(failed.sum()), int((probes.kinks & judged).sum())
    row.sampled = not probes.probed.all()
    if rel.size:
        worst = row.worst_index
        row.analytic, row.numeric = float(analytic[worst]), float(reference[worst])
        if bounds is not None and interval[worst]:
            row.interval = (float(bounds[0][worst]), float(bounds[1][worst]))
    if row.verdict == "fail":
        row.ratio, row.hint = diagnose(analytic, reference, failed, probes, judged, interval & judged,
                                       **clues.about(name))
    elif unresolved.any():
        row.verdict, row.hint = "unchecked", _unresolved_hint(unresolved, probes)
    elif row.verdict == "unchecked":
        row.hint = "no element could be judged: every one is at a kink whose one-sided slopes are unknown"
    return row


def _misshapen_row(check, name, analytic, numeric, mode, batch_size):
    """The failing row of an analytic gradient whose shape is not the tensor's: the shape rule's likely fix and,
    for a transposed one, whether its values are the numeric gradient's transposed."""
    fix = likely_fix(analytic.shape, numeric.shape, batch_size)
    hint = f"the analytic gradient has shape {analytic.shape}, the tensor {numeric.shape}" + (f"; {fix}" if fix else "")
    if transposed(analytic, numeric):
        hint += "; its values match the numeric gradient transposed"
    return Row(check, name, numeric.shape, "fail", n_checked=numeric.size, n_failed=numeric.size,
               max_abs_error=math.inf, max_rel_error=math.inf, analytic=math.nan, numeric=math.nan,
               hint=hint, mode=mode, analytic_shape=analytic.shape)


def _judged_row(check, name, rel, ab, judged, settings, mode):
    """The row's verdict, count of judged elements, worst element and largest errors."""
    n_checked = int(judged.sum())
    worst = np.unravel_index(int(np.argmax(rel)) if n_checked else 0, rel.shape) if rel.size else ()
    max_rel = float(rel[worst]) if rel.size else 0.0
    verdict = "pass" if max_rel < settings.tol else "warn" if max_rel <= settings.warn_tol else "fail"
    if rel.size and not n_checked:
        verdict = "unchecked"
    return Row(check, name, rel.shape, verdict, n_checked=n_checked, max_abs_error=float(np.max(ab, initial=0.0)),
               max_rel_error=max_rel, worst_index=tuple(int(i) for i in worst), mode=mode)


def _within_round_off(analytic, reference, rel, ab, probes, settings):
    """``(rel, unresolved)``, as the module docstring says ("Equal within round-off", "Resolved, or no verdict").
    A bound above sqrt(eps)·|f| is blamed on the step, not trusted: there only exact equality agrees."""
    noise, sound = probes.noise, _sound(probes) & (gradient_scale(probes) > 0)
    unresolved = blurred(probes, settings.tol) & ~((ab > noise) & (rel > settings.warn_tol))
    zero_tol = np.where(sound, noise, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        rescued = (np.abs(analytic - reference) <= zero_tol) & (rel >= settings.tol)
        resolved = ab / np.maximum(np.abs(analytic) + np.abs(reference), 2 * zero_tol / settings.tol)
    return np.where(rescued, np.minimum(rel, np.nan_to_num(resolved)), rel), unresolved


def _sound(probes):
    return probes.noise <= np.sqrt(np.finfo(np.float64).eps) * max(abs(probes.f0), 1.0)


def blurred(probes, tol):
    """The elements whose round-off bound is trusted (not blamed on a tiny step) but not small against the
    gradient's scale, ``tol`` times it: there the differences cannot resolve the gradient. (Where ``f`` never
    changed at all, the scale is 0 and nothing is blurred: its gradient is 0 as float64 computes it.)"""
    scale = gradient_scale(probes)
    with np.errstate(invalid="ignore"):
        return _sound(probes) & ~(probes.noise <= tol * scale) & (scale > 0) & probes.probed


def resolved(probes, pair, settings, size):
    """``probes`` with every element they could not resolve (``blurred``) measured again, by Richardson's
    extrapolation (``Probes.refined``), at a step large enough for round-off to be small against the gradient's
    scale, but at most ``RETRY_STEP`` times the values' ``size`` (or 1); as they were when all are resolved."""
    mask = blurred(probes, settings.tol) & np.isfinite(probes.centred)
    if not mask.any():
        return probes
    needed = 6 * float(np.max(probes.noise[mask])) * probes.h / (settings.tol * gradient_scale(probes))
    return probes.refined(pair, mask, max(min(needed, RETRY_STEP * max(1.0, size)), 2 * probes.h))


def gradient_scale(probes):
    """The scale an allowance must be small against: ``probes.scale``, else the largest finite centred difference
    or one-sided slope."""
    if probes.scale is not None:
        return probes.scale
    slopes = [probes.centred, *(probes.bounds or ())]
    return max(float(np.max(np.abs(s), initial=0.0, where=np.isfinite(s))) for s in slopes)


def _unresolved_hint(unresolved, probes):
    """Why a row is ``unchecked``: the round-off of f blurs the differences beyond the gradient's own scale."""
    n, noise = int(unresolved.sum()), float(np.max(probes.noise[unresolved]))
    return (f"not resolved at {n} element{'s' if n != 1 else ''}: f ≈ {probes.f0:.3g} carries so much round-off that "
            f"even at a step of {probes.h:g} a difference is blurred by up to {noise:.1e}, not small against the "
            f"gradient's scale {gradient_scale(probes):.1e}; no verdict can be given here (check the layer where its "
            "outputs are not dominated by a large constant)")


def _nearest_allowed(analytic, numeric, interval, bounds):
    """The value each element is compared with: the centred difference, or at an interval-judged
    element the point of ``[lo, hi]`` nearest to the analytic value (the analytic value itself if inside)."""
    lo, hi = (np.asarray(b, np.float64) for b in bounds)
    with np.errstate(invalid="ignore"):
        return np.where(interval, np.clip(analytic, lo, hi), numeric)


def _errors(analytic, reference, judged):
    """Relative and absolute errors, 0 where not judged and infinite where anything is NaN."""
    with np.errstate(invalid="ignore"):
        errors = rel_errors(analytic, reference), np.abs(analytic - reference)
    return tuple(np.where(judged, np.where(np.isnan(e), np.inf, e), 0.0) for e in errors)
