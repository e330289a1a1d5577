"""Gradient checking: ``python gradcheck.py --help``, or ``import gradcheck`` for the library.

The library (centred and one-sided differences, kinks, the Taylor test, reports and hints) lives in
``checking.checker`` and is re-exported here; the checks the command runs live in ``checking.suites``
and ``checking.trace``. This file only parses options and prints.
"""

import argparse
import json
import math
import sys

import numpy as np

from checking.checker import (  # noqa: F401  (the public library, re-exported)
    EPSILONS,
    KINK_REL,
    MODES,
    PASS_ORDER,
    PASS_TOL,
    VERDICTS,
    WARN_TOL,
    FrozenRandomness,
    LayerError,
    Probes,
    Report,
    Row,
    check_function,
    check_layer,
    check_model,
    compare,
    compare_probes,
    diagnose,
    directional_check,
    find_generators,
    kink_mask,
    numerical_gradient,
    numerical_gradient_kinks,
    probe_elements,
    rel_error,
    taylor_row,
)

PROG = "gradcheck.py"
MAX_ELEMENTS = 10_000_000  # --input-shape budget: an element-wise check runs two forward passes per element
MAX_BATCH = 10_000  # rows of random data: the element-wise check probes every one of them


class _LayerAction(argparse.Action):
    """``--layer SPEC``: start a new entry; the ``--layer-args`` and ``--labels`` after it belong to it."""

    def __call__(self, parser, namespace, value, option_string=None):
        namespace.layer = list(namespace.layer or []) + [{"spec": value, "args": None, "labels": None}]


class _PerLayerAction(argparse.Action):
    """``--layer-args`` / ``--labels``: an option of the ``--layer`` given before it."""

    def __call__(self, parser, namespace, value, option_string=None):
        if not namespace.layer:
            parser.error(f"{option_string} belongs to the --layer before it: give --layer PATH.py:ClassName first")
        entry = namespace.layer[-1]
        if entry[self.dest] is not None:
            parser.error(f"{option_string} given twice for --layer {entry['spec']}")
        entry[self.dest] = value


def build_parser():
    from app.cli import OneLineParser

    p = OneLineParser(prog=PROG, description=(
        "Check every hand-derived gradient against finite differences in float64. "
        "Exit status 0 if every check passes, 1 if one fails (or cannot be verified), "
        "2 for a bad command line or a layer that breaks the protocol."))
    p.add_argument("--layer", action=_LayerAction, default=[], metavar="PATH.py:ClassName",
                   help="check your own layer instead of the built-in suite (repeatable)")
    p.add_argument("--layer-args", dest="args", action=_PerLayerAction, metavar="JSON",
                   help="constructor arguments of the --layer before it: a JSON list or object")
    p.add_argument("--labels", dest="labels", action=_PerLayerAction, choices=["binary", "classes"],
                   help="the --layer before it is a loss, forward(x, y): binary = 0/1 labels of x's shape, "
                        "classes = (N,) integers in [0, K) for x of shape N,K")
    p.add_argument("--input-shape", default="8,5", help="input shape for --layer (default: 8,5)")
    p.add_argument("--mode", choices=list(MODES), default="elementwise",
                   help="elementwise (default); directional: compare ∇f·v with (f(θ+hv) − f(θ−hv))/2h on random "
                        "unit v (big models); taylor: the order of |f(θ+εv) − f(θ) − ε∇f·v| over ε = 1e-1…1e-6, "
                        f"which does not depend on --h (passes at order ≥ {PASS_ORDER})")
    p.add_argument("--directions", type=int, default=8, help="random directions in directional mode (default: 8)")
    p.add_argument("--trace", nargs="?", const="net", choices=["net", "warmup", "chain"],
                   help="print a backward pass node by node: the handout's network (net, the default), its "
                        "warm-up (x+y)*z, or the network --hidden/--activation/--classes describe (chain)")
    p.add_argument("--svg", metavar="PATH.svg", help="with --trace: draw the traced graph (green forward values, "
                                                    "red gradients), as the handout does")
    p.add_argument("--json", action="store_true", help="print the report as one (strict) JSON object")
    p.add_argument("--burn-in", type=int, default=0, metavar="K",
                   help="take K SGD steps on circles before checking the whole network")
    p.add_argument("--seed", type=int, default=0, help="seed of the random data and weights, >= 0 (default: 0)")
    p.add_argument("--batch", type=int, default=None, help="rows of random data (default: 8; 4 for --trace)")
    p.add_argument("--hidden", default=None, metavar="H[,H...]",
                   help="hidden widths of the composed network checked beside the handout's (default: 8; "
                        "16,16 = two layers), as in train.py")
    p.add_argument("--activation", choices=["relu", "tanh", "sigmoid", "leaky_relu"], default="relu",
                   help="its hidden activation (default: relu)")
    p.add_argument("--dropout", type=float, default=0.0, metavar="P",
                   help="its dropout after each hidden activation (checked in training mode, one mask per probe)")
    p.add_argument("--batchnorm", action="store_true", help="its batch normalisation after each hidden Linear")
    p.add_argument("--classes", type=int, default=2, help="its classes K: 2 = sigmoid + BCE, more = softmax "
                                                          "cross-entropy (default: 2)")
    p.add_argument("--h", type=float, default=1e-5, help="finite-difference step, finite and > 0 (default: 1e-5)")
    p.add_argument("--tol", type=float, default=PASS_TOL, help=f"relative error that passes (default: {PASS_TOL:g})")
    p.add_argument("--warn-tol", type=float, default=WARN_TOL,
                   help=f"relative error up to which a check only warns (default: {WARN_TOL:g})")
    p.add_argument("--strict", action="store_true", help="a warning fails too")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def _input_shape(text):
    from app.cli import UsageError

    try:
        shape = tuple(int(s) for s in text.split(","))
    except ValueError:
        raise UsageError(f"--input-shape wants comma-separated sizes like 8,5, got {text!r}") from None
    if not shape or min(shape) < 1:
        raise UsageError(f"--input-shape sizes must be >= 1, got {text!r}")
    if math.prod(shape) > MAX_ELEMENTS:
        raise UsageError(f"--input-shape {text} has {math.prod(shape):.3g} elements; the checker takes at most "
                         f"{MAX_ELEMENTS:,} (an element-wise check runs two forward passes per element)")
    return shape


def _hidden(text):
    """``--hidden 16,16`` -> (16, 16), parsed as train.py parses it; the default is one hidden layer of 8."""
    from app.cli import parse_widths

    return (8,) if text is None else parse_widths(text)


def _check_options(a):
    from app.cli import UsageError

    if a.batch is not None and not 2 <= a.batch <= MAX_BATCH:
        raise UsageError(f"--batch must be between 2 (BatchNorm needs two rows) and {MAX_BATCH:,}, got {a.batch}")
    if not 1 <= a.directions <= 10_000 or not 0 <= a.burn_in <= 100_000:
        raise UsageError("--directions must be between 1 and 10,000, --burn-in between 0 and 100,000")
    if a.classes < 2:
        raise UsageError(f"--classes must be >= 2, got {a.classes}")
    if not 0 <= a.dropout < 1:
        raise UsageError(f"--dropout must be in [0, 1), got {a.dropout}")
    if a.svg and not a.trace:
        raise UsageError("--svg draws a traced graph: add --trace (net, warmup or chain)")
    if a.trace and (a.layer or a.json):
        raise UsageError("--trace prints a trace; it does not take --layer or --json")
    if a.svg:
        from app.outputs import check_outputs

        check_outputs([("--svg", a.svg, (".svg",))])
    if a.seed < 0:
        raise UsageError(f"--seed must be >= 0, got {a.seed}")
    if not (math.isfinite(a.h) and a.h > 0):
        raise UsageError(f"--h must be a finite step > 0, got {a.h}")
    if not (math.isfinite(a.tol) and math.isfinite(a.warn_tol) and 0 < a.tol <= a.warn_tol):
        raise UsageError(f"need finite 0 < --tol <= --warn-tol, got --tol {a.tol} and --warn-tol {a.warn_tol}")


def check_user_layer(entry, shape, seed, **opts):
    """Load one ``--layer`` entry and check it; a loss gets labels from its ``--labels``.

    Raises ``UsageError`` when a loss has no ``--labels`` (or a non-loss has some), ``LayerError``
    when the user's code breaks the protocol.
    """
    from app.cli import UsageError
    from checking.user_layer import load_layer, make_labels, takes_labels

    spec, kind = entry["spec"], entry["labels"]
    layer = load_layer(spec, entry["args"])
    cls = type(layer).__name__
    is_loss = takes_labels(layer)
    if kind is None and is_loss:
        raise UsageError(_add_labels(cls))
    if kind is not None and is_loss is False:
        raise UsageError(f"{cls}.forward takes only x, so --labels {kind} does not apply; "
                         "it is for a loss, forward(x, y)")
    rng = np.random.default_rng(seed)
    if kind is None:
        x = rng.standard_normal(shape)
    else:  # a loss: inputs in (0.05, 0.95), valid as probabilities and as logits (rows sum to 1 for classes)
        x = rng.uniform(0.05, 0.95, shape)
        if kind == "classes" and len(shape) == 2:
            x /= x.sum(axis=1, keepdims=True)
    y = None if kind is None else make_labels(kind, shape, np.random.default_rng([seed, 1]))
    try:
        with np.errstate(all="ignore"):  # the user's overflow shows as a failing row, not as NumPy's warnings
            return check_layer(layer, x, y=y, seed=seed, check=spec.rpartition(":")[2], **opts)
    except LayerError as exc:
        if kind is None and isinstance(exc.__cause__, TypeError) and "required positional argument" in str(exc):
            raise UsageError(_add_labels(cls)) from exc
        raise


def _add_labels(cls):
    return (f"{cls}.forward takes labels, forward(x, y): it is a loss; add --labels binary (0/1 of x's shape) "
            "or --labels classes ((N,) integers in [0, K) for --input-shape N,K) after its --layer")


def run(a):
    from app.cli import UsageError
    from checking.suites import default_suite
    from checking.trace import run_trace

    _check_options(a)
    from model.builders import Architecture

    composed = Architecture(hidden=_hidden(a.hidden), activation=a.activation, hidden_bias=True,
                            dropout=a.dropout, batchnorm=a.batchnorm, standardize=False)
    if a.trace:
        net = composed.build(2, a.classes, seed=a.seed) if a.trace == "chain" else None
        text, ok = run_trace(a.trace, seed=a.seed, batch=a.batch or 4, svg=a.svg, net=net)
        print(text)
        return 0 if ok else 1
    opts = dict(h=a.h, tol=a.tol, warn_tol=a.warn_tol, mode=a.mode, directions=a.directions)
    if a.layer:
        shape = _input_shape(a.input_shape)
        report = Report()
        for entry in a.layer:
            try:
                report.extend(check_user_layer(entry, shape, a.seed, **opts))
            except (LayerError, UsageError, MemoryError, ValueError):  # already one clear line
                raise
            except BaseException as exc:  # noqa: B036 — the user's code failed somewhere inside the check
                raise LayerError(f"{entry['spec']}: {type(exc).__name__}: {exc}") from exc
    else:
        report = default_suite(seed=a.seed, batch=a.batch or 8, architecture=composed, classes=a.classes,
                               burn_in=a.burn_in, **opts)
    report.strict = a.strict
    if a.json:
        print(json.dumps(report.to_dict(), allow_nan=False))
    else:
        print(report.table())
        print(report.summary())
    return 0 if report.passed else 1


def main(argv=None):
    from app.cli import UsageError, run_main

    # exit 1 means "a gradient is wrong"; anything the user must fix first is 2
    return run_main(PROG, build_parser(), run, argv, (UsageError, LayerError, ValueError, OSError, MemoryError),
                    error_status=2)


if __name__ == "__main__":
    sys.exit(main())
