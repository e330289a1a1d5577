"""One CS231n forward/backward pair (or loss) checked against finite differences of its own forward.

The scalar is ``sum(NAME_forward(x, ...)[0] * upstream)`` (a loss: the loss itself), and ``NAME_backward(upstream,
cache)`` must return its gradients; the rows are ``check_arrays``'s, so verdicts, kinks and hints are those of every
other check. Held to what real assignment files do:

- every call gets fresh copies of its arrays and parameter dicts, ``dout`` included: a backward that writes into
  ``dout`` (or a forward into ``x``, or into ``bn_param``) changes nothing the check relies on;
- NumPy's global generator is seeded afresh before every call (and given back as it was): a dropout mask is the
  same at every probe whether or not the forward seeds it, and with the forward's own seed either meaning of ``p``
  (keep or drop) is what its backward must match;
- each pair is checked at inputs of two scales (``SCALES``, the step scaled down too, to ``STEP_FLOOR``): a
  normalisation's ``eps`` outside the square root, or a ``var**-1.5`` without it, shows only where the variance is
  small beside ``eps``;
  a gradient's row is the one of the two where it is worse;
- a forward (or loss) is called twice at the same inputs: one whose output changes is random (its own unseeded
  generator), a failing row in the layer check's words (``layers.protocol.not_a_function``);
- an unfinished function (``NotImplementedError``, ``None`` returned or left in, all zeros, a crash on a ``None``
  the skeleton left) is an ``unchecked`` row saying *not implemented*; one that needs a name its file's imports
  could not bind (CS231n's compiled ``im2col_cython``) is ``unchecked``, *not importable*; a Python 2 built-in,
  a typo, a crash on a ``None`` of its own, anything else it raises or returns wrongly is a failing row saying so,
  at its line (``checking.assignment_causes`` tells which).
- a function calling ``os._exit`` is a failing row too (``layers.protocol.no_process_exit``), not the checker
  ending with the status the function chose.
"""

import contextlib
import copy
import zlib
from dataclasses import replace

import numpy as np

from layers.protocol import LayerError, call_user, no_process_exit, not_a_function, real_output, real_scalar

from .assignment_causes import imported_names, location, python2_name, skeletons_none
from .checker import check_arrays
from .diagnosis import Clues
from .report import Report, Row

SCALES = (1.0, 1e-3)  # the inputs' scales: at 1e-3 a batch's variance (1e-6) is small beside CS231n's eps (1e-5)
STEP_FLOOR = 0.1  # at a smaller scale the step shrinks with it, down to this fraction of h (sigmoid's curvature
# does not shrink with its input; a normalisation's, sqrt(var + eps), shrinks only down to sqrt(eps))
GLOBAL_SEED = 231  # NumPy's global generator is seeded with it before every call


class Unfinished(Exception):
    """The function is not written yet, or cannot be run here: its pair is not judged (an ``unchecked`` row)."""


class Broken(Exception):
    """The function raised, or returned something that is not what CS231n's convention says: a failing row."""


def check_pair(pair, settings):
    """The ``Report`` of ``pair`` (an ``assignment_pairs.Pair`` with ``inputs``): one row per gradient, or one
    row for the pair when it is unfinished or broken. ``settings``: a ``CheckSettings``, its seed the inputs'."""
    saved = np.random.get_state()
    try:
        # the user's overflow shows as a failing row, not as NumPy's warnings; an os._exit as a failing row too
        with np.errstate(all="ignore"), no_process_exit():
            reports = [_at_scale(pair, settings, scale) for scale in SCALES]
    except Unfinished as exc:
        return Report(rows=[_pair_row(pair, "unchecked", str(exc))])
    except Broken as exc:
        return Report(rows=[_pair_row(pair, "fail", str(exc))])
    finally:
        np.random.set_state(saved)
    return _worst(reports)


RANK = {"fail": 3, "unchecked": 2, "warn": 1}


def _worst(reports):
    """One report: each gradient's row from the scale where it is worst (its verdict, then its relative error); the
    row's check names that scale."""
    def badness(row):
        return RANK.get(row.verdict, 0), row.max_rel_error or 0.0

    rows = [max(same, key=badness) for same in zip(*(r.rows for r in reports), strict=True)]
    return Report(rows=rows, notes=list(dict.fromkeys(n for r in reports for n in r.notes)))


class PairRow(Row):
    """The one row of a pair that could not be checked gradient by gradient: no element was compared."""

    def worst_text(self):
        return "-"


def _pair_row(pair, verdict, hint):
    """The ``PairRow`` of ``pair``, named by all its gradients, shaped like its first input."""
    inputs = pair.inputs
    return PairRow(pair.name, ", ".join(inputs.grads), next(iter(inputs.arrays.values())), verdict,
                   max_rel_error=None, hint=hint)


def _at_scale(pair, settings, scale):
    """The check of ``pair`` at inputs drawn at ``scale`` (and the step scaled down, at most to ``STEP_FLOOR``)."""
    inputs = pair.inputs
    rng = np.random.default_rng([settings.seed, zlib.crc32(pair.name.encode())])
    arrays = {name: scale * rng.standard_normal(shape) for name, shape in inputs.arrays.items()}
    labels = None if inputs.classes is None else rng.integers(0, inputs.classes, inputs.arrays["x"][0])
    check = pair.name if scale == 1 else f"{pair.name} (inputs × {scale:g})"
    settings = replace(settings, h=settings.h * max(scale, STEP_FLOOR))
    first = next(iter(arrays.values()))
    if labels is not None:
        return _check_loss(pair, arrays, labels, check, settings)
    out, cache = _forward(pair, arrays)
    _same_again(out, _forward(pair, arrays)[0], pair.forward.__name__)
    upstream = rng.standard_normal(out.shape)
    analytic = _backward(pair, upstream, cache)

    def f():
        out = _forward(pair, arrays)[0]
        if out.shape != upstream.shape:
            raise Broken(f"{pair.forward.__name__} returned out of shape {out.shape} at one probe and {upstream.shape} "
                         "at another: its output's shape must not depend on the input's values")
        return real_scalar(np.sum(out * upstream), pair.forward.__name__)

    clues = Clues(len(first), inputs={"dx": first.copy()},
                  upstreams={"dx": upstream} if upstream.shape == first.shape else {})
    return _judged(f, arrays, analytic, check, settings, clues)


def _same_again(first, again, what):
    """A ``Broken`` when ``what``, called twice at the same inputs (NumPy's global generator seeded the same), gave
    ``first`` and then ``again``: finite differences of a random function mean nothing (``protocol.not_a_function``)."""
    try:
        first, again = np.asarray(first), np.asarray(again)
    except (ValueError, TypeError):  # no array: what is wrong with it is said where it is used
        return
    if first.dtype.kind not in "fiub" or again.dtype.kind not in "fiub":
        return
    if first.shape != again.shape or not np.array_equal(first, again, equal_nan=True):
        exc = not_a_function(what, "at a second call (NumPy's global generator seeded the same for both: a generator "
                             "of its own made without a seed, np.random.default_rng(), draws anew at every call)")
        raise Broken(str(exc))


def _check_loss(pair, arrays, labels, check, settings):
    """A loss, ``loss, dx = NAME(x, y)``: the loss is the scalar, ``dx`` its gradient."""
    def f():
        return real_scalar(_loss(pair, arrays, labels)[0], pair.name)

    loss, dx = _loss(pair, arrays, labels)
    _same_again(loss, _loss(pair, arrays, labels)[0], pair.name)
    dx = _gradient(dx, f"{pair.name}'s dx")
    x = arrays["x"]
    return _judged(f, arrays, {"dx": dx}, check, settings, Clues(len(x), labels, inputs={"dx": x.copy()}))


def _judged(f, arrays, analytic, check, settings, clues):
    """``check_arrays`` with the arrays under their gradients' names (the rows say ``dx``, ``dgamma``, ...)."""
    named = dict(zip(analytic, arrays.values(), strict=True))
    try:
        return check_arrays(f, named, analytic, check, settings, clues=clues)
    except LayerError as exc:  # the forward broke at a probe: at a point it was not called at before
        raise Broken(str(exc)) from exc


def _call(what, fn, *args):
    """``fn`` on fresh copies of ``args``, NumPy's global generator seeded; what goes wrong is ``Unfinished`` or
    ``Broken``."""
    np.random.seed(GLOBAL_SEED)
    try:
        return call_user(what, fn, *(copy.deepcopy(a) for a in args))
    except LayerError as exc:
        raise _why(what, fn, exc) from exc


def _why(what, fn, exc):
    """The ``Unfinished`` or ``Broken`` saying ``exc``, the ``LayerError`` of the call ``what`` of ``fn``: not
    implemented, not importable, Python 2, or the student's code failing at its line (``assignment_causes``)."""
    cause, file = exc.__cause__, fn.__code__.co_filename
    if isinstance(cause, NotImplementedError):
        return Unfinished(f"not implemented: {what} raises NotImplementedError")
    where = location(cause, file) if cause is not None else ""
    if python2_name(cause):
        return Broken(f"{what} uses {python2_name(cause)}{where}")
    if isinstance(cause, ImportError) or (isinstance(cause, NameError) and cause.name in imported_names(file)):
        return Unfinished(f"not importable: {what} needs {_missing(cause)}, which its file could not import (a "
                          "compiled extension, as CS231n's im2col_cython, must be built first)")
    if isinstance(cause, (TypeError, AttributeError)) and "NoneType" in str(cause) and skeletons_none(cause, file):
        return Unfinished(f"not implemented: {what} computes with a None the skeleton left ({exc})")
    return Broken(f"{exc}{where}")


def _missing(exc):
    """The name a ``NameError`` or ``ImportError`` is about."""
    return repr(getattr(exc, "name", None) or str(exc))


def _forward(pair, arrays):
    """``(out, cache)`` of the pair's forward at the current ``arrays``."""
    what = pair.forward.__name__
    result = _call(what, pair.forward, *arrays.values(), *pair.inputs.extra)
    if result is None:
        raise Unfinished(f"not implemented: {what} returns None")
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise Broken(f"{what} returned {type(result).__name__}; CS231n's forward returns (out, cache)")
    if result[0] is None:
        raise Unfinished(f"not implemented: {what} returns out = None")
    try:
        out = real_output(result[0], what)
    except LayerError as exc:
        raise Broken(str(exc)) from exc
    if out.size and not np.any(out):
        raise Unfinished(f"not implemented: {what} returns zeros")
    return out, result[1]


def _backward(pair, upstream, cache):
    """``{grad name: gradient}`` of the pair's backward, given a copy of ``upstream``."""
    what, names = pair.name, pair.inputs.grads
    result = _call(what, pair.backward, upstream, cache)
    if isinstance(result, np.ndarray) and len(names) == 1:
        result = (result,)
    if result is None:
        raise Unfinished(f"not implemented: {what} returns None")
    if not (isinstance(result, (tuple, list)) and len(result) == len(names)):
        got = len(result) if isinstance(result, (tuple, list)) else type(result).__name__
        raise Broken(f"{what} returned {got}; expected {len(names)} gradient(s): {', '.join(names)}")
    grads = {name: _gradient(g, f"{what}'s {name}") for name, g in zip(names, result, strict=True)}
    if not any(np.any(g) for g in grads.values()):
        raise Unfinished(f"not implemented: {what} returns zeros")
    return grads


def _gradient(g, what):
    """``g`` as a float64 array (of any shape: a misshapen one is a failing row with the shape hint)."""
    if g is None:
        raise Unfinished(f"not implemented: {what} is None")
    with contextlib.suppress(TypeError, ValueError):
        arr = np.asarray(g)
        if arr.dtype.kind in "fiu":
            return arr.astype(np.float64)
    raise Broken(f"{what} is {type(g).__name__}, not an array of real numbers")


def _loss(pair, arrays, labels):
    """``(loss, dx)`` of a loss at the current ``arrays``."""
    result = _call(pair.name, pair.forward, arrays["x"], labels)
    if result is None or (isinstance(result, (tuple, list)) and len(result) == 2 and result[0] is None):
        raise Unfinished(f"not implemented: {pair.name} returns None")
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise Broken(f"{pair.name} returned {type(result).__name__}; CS231n's loss returns (loss, dx)")
    return result
