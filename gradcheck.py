"""Gradient checking: ``python gradcheck.py --help``, or ``import gradcheck`` for the library.

The library (centred differences, relative errors, reports) lives in ``checking.checker`` and
is re-exported here; the checks the command runs live in ``checking.suites`` and ``checking.trace``. This
file only parses options and prints.
"""

import json
import sys

import numpy as np

from checking.checker import (  # noqa: F401  (the public library, re-exported)
    PASS_TOL,
    WARN_TOL,
    LayerError,
    Report,
    Row,
    check_function,
    check_layer,
    check_model,
    compare,
    directional_check,
    numerical_gradient,
    numerical_gradient_kinks,
    rel_error,
)

PROG = "gradcheck.py"


def build_parser():
    from app.cli import OneLineParser

    p = OneLineParser(prog=PROG, description=(
        "Check every hand-derived gradient against centred finite differences in float64. "
        "Exit status 0 if every check passes, 1 if one fails, 2 for a bad command line or layer."))
    p.add_argument("--layer", action="append", default=[], metavar="PATH.py:ClassName",
                   help="check your own layer instead of the built-in suite (repeatable)")
    p.add_argument("--layer-args", metavar="JSON", help="constructor arguments for --layer: a JSON list or object")
    p.add_argument("--input-shape", default="8,5", help="input shape for --layer (default: 8,5)")
    p.add_argument("--mode", choices=["elementwise", "directional"], default="elementwise",
                   help="directional: compare ∇f·v with (f(θ+hv) − f(θ−hv))/2h on random unit v (big models)")
    p.add_argument("--directions", type=int, default=8, help="random directions in directional mode (default: 8)")
    p.add_argument("--trace", action="store_true", help="print the seed network's backward pass node by node")
    p.add_argument("--json", action="store_true", help="print the report as one JSON object")
    p.add_argument("--burn-in", type=int, default=0, metavar="K",
                   help="take K SGD steps on circles before checking the whole network")
    p.add_argument("--seed", type=int, default=0, help="seed of the random data and weights (default: 0)")
    p.add_argument("--batch", type=int, default=8, help="rows of random data (default: 8)")
    p.add_argument("--hidden", type=int, default=8, help="hidden width of the second network checked (default: 8)")
    p.add_argument("--h", type=float, default=1e-5, help="finite-difference step (default: 1e-5)")
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
    return shape


def run(a):
    from checking.suites import default_suite
    from checking.user_layer import load_layer
    from app.cli import UsageError
    from checking.trace import trace_backward

    if min(a.batch, a.hidden, a.directions) < 1 or a.burn_in < 0 or not a.h > 0 or not 0 < a.tol <= a.warn_tol:
        raise UsageError("--batch, --hidden, --directions must be >= 1, --burn-in >= 0, --h > 0, 0 < --tol <= --warn-tol")
    if a.trace:
        text, ok = trace_backward(seed=a.seed)
        print(text)
        return 0 if ok else 1
    opts = dict(h=a.h, tol=a.tol, warn_tol=a.warn_tol, mode=a.mode, directions=a.directions)
    if a.layer:
        shape = _input_shape(a.input_shape)
        report = Report()
        for spec in a.layer:
            layer = load_layer(spec, a.layer_args)
            x = np.random.default_rng(a.seed).standard_normal(shape)
            try:
                report.extend(check_layer(layer, x, seed=a.seed, check=spec.rpartition(":")[2], **opts))
            except LayerError:
                raise
            except Exception as exc:  # the user's code failed somewhere inside the check
                raise LayerError(f"{spec}: {type(exc).__name__}: {exc}") from exc
    else:
        report = default_suite(seed=a.seed, batch=a.batch, hidden=a.hidden, burn_in=a.burn_in, **opts)
    report.strict = a.strict
    if a.json:
        print(json.dumps(report.to_dict()))
    else:
        print(report.table())
        print(report.summary())
    return 0 if report.passed else 1


def main(argv=None):
    from app.cli import UsageError, run_main

    # exit 1 means "a gradient is wrong"; anything the user must fix first is 2
    return run_main(PROG, build_parser(), run, argv, (UsageError, LayerError, ValueError, OSError), error_status=2)


if __name__ == "__main__":
    sys.exit(main())
