"""Check every hand-derived gradient against finite differences: ``python gradcheck.py --help``.

The gradient-check utility: ``from gradcheck import check_layer, check_model, numerical_gradient`` gives its three
functions. A thin shell: it declares the options and hands them to ``app.gradcheck_cli``. The checks live in the
library: ``checking.checker`` (``check_layer``, ``check_model``, ``check_function``, reports),
``checking.suites`` (what runs by default); ``traces`` (``--trace``: the worked examples and their pictures).
"""

import argparse
import functools
import sys

from app.signals import quiet_early_interrupts

with quiet_early_interrupts("gradcheck.py", __name__ == "__main__"):  # first: Ctrl-C while these load is one line
    from app.cli import OneLineParser, run_main
    from app.gradcheck_cli import TRACES, USER_ERRORS, run
    from checking.checker import MODES, PASS_ORDER, PASS_TOL, WARN_TOL, check_layer, check_model, numerical_gradient
    from checking.settings import MAX_ELEMENTS
    from checking.user_layer import LABELS
    from model.registry import ACTIVATIONS

__all__ = ["check_layer", "check_model", "numerical_gradient", "main"]
PROG = "gradcheck.py"


class _LayerOption(argparse.Action):
    """``--layer SPEC`` starts a new entry; the ``--layer-args`` and ``--labels`` after it belong to it."""

    def __call__(self, parser, namespace, value, option_string=None):
        if self.dest == "layer":
            namespace.layer = [*namespace.layer, {"spec": value, "args": None, "labels": None}]
            return
        if not namespace.layer:
            parser.error(f"{option_string} belongs to the --layer before it: give --layer PATH.py:ClassName first")
        entry = namespace.layer[-1]
        if entry[self.dest] is not None:
            parser.error(f"{option_string} given twice for --layer {entry['spec']}")
        entry[self.dest] = value


def build_parser():
    p = OneLineParser(prog=PROG, description=(
        "Check every hand-derived gradient against finite differences in float64. "
        "Exit status 0 if every check passes, 1 if one fails (or cannot be verified), "
        "2 for a bad command line or a layer that breaks the protocol."))
    p.add_argument("--layer", action=_LayerOption, default=[], metavar="PATH.py:ClassName",
                   help="check your own layer instead of the built-in suite (repeatable)")
    p.add_argument("--layer-args", dest="args", action=_LayerOption, metavar="JSON",
                   help="constructor arguments of the --layer before it: a JSON list or object")
    p.add_argument("--labels", dest="labels", action=_LayerOption, choices=LABELS,
                   help="the --layer before it is a loss, forward(x, y): binary = 0/1 labels of x's shape, "
                        "classes = (N,) integers in [0, K) for x of shape N,K")
    p.add_argument("--input-shape", default="8,5", help="input shape for --layer (default: 8,5)")
    p.add_argument("--every-element", action="store_true", help="with --layer: probe every element (by default a "
                   f"tensor beyond {MAX_ELEMENTS} elements is probed at {MAX_ELEMENTS}, sampled from --seed)")
    p.add_argument("--hint", type=int, nargs="?", const=1, choices=(1, 2, 3), metavar="1|2|3",
                   help="print hint 1 (the pattern), 2 (the shape) or 3 (the formula and where the worked solution "
                        "is) for the exercise class of --layer, instead of checking it")
    p.add_argument("--functions", metavar="FILE.py", help="check a CS231n assignment file as it is: each "
                   "NAME_forward/NAME_backward pair of CS231n's layers (affine, relu, batchnorm, conv_..._naive, "
                   "max_pool_..._fast, ...) and svm_loss/softmax_loss, on inputs of CS231n's shapes; nothing else "
                   "in it is called (importing it runs its top level)")
    p.add_argument("--shapes", action="append", default=[], metavar="NAME=SHAPE,SHAPE",
                   help="with --functions: the shapes of the array arguments of NAME_forward, a pair of no CS231n "
                        "family, in order, e.g. rnn_step=3x4,3x5,4x5,5x5,5 (repeatable)")
    p.add_argument("--use", action="append", default=[], metavar="PATH.py:ClassName",
                   help="your class takes the place of the library's class of the same name (repeatable): checked "
                        "alone and inside every network that holds it, or with --trace, traced beside the reference")
    p.add_argument("--mode", choices=MODES, default="elementwise",
                   help="elementwise (default); directional: compare ∇f·v with (f(θ+hv) − f(θ−hv))/2h on random "
                        "unit v (big models); taylor: the order of |f(θ+εv) − f(θ) − ε∇f·v| over ε = 1e-1…1e-6, "
                        f"which does not depend on --h (passes at order ≥ {PASS_ORDER})")
    p.add_argument("--directions", type=int, default=8, help="random directions in directional mode (default: 8)")
    p.add_argument("--trace", nargs="?", const="net", choices=TRACES, help="print a backward pass node by node: "
                   "the handout's network (net, the default), its warm-up (x+y)*z, the four gate patterns (gates), "
                   "the network --hidden/--activation/--classes describe (chain), or a 2×2 filter over a 4×4 image, "
                   "Conv2d's gates (conv)")
    p.add_argument("--inputs", metavar="x=X,y=Y,z=Z", help="with --trace warmup: the inputs (default: the "
                                                           "handout's x=-2,y=5,z=-4)")
    p.add_argument("--svg", metavar="PATH.svg", help="with --trace: draw the traced graph (green forward values, "
                                                    "red gradients), as the handout does")
    p.add_argument("--json", action="store_true", help="print the report as one (strict) JSON object")
    p.add_argument("--burn-in", type=int, default=0, metavar="K",
                   help="take K SGD steps on circles before checking the whole network")
    p.add_argument("--seed", type=int, default=0, help="seed of the random data and weights, >= 0 (default: 0)")
    p.add_argument("--batch", type=int, default=None, help="rows of random data (default: 8; 4 for --trace)")
    p.add_argument("--hidden", default=None, metavar="H[,H...]", help="hidden widths of the composed network "
                   "checked beside the handout's (default: 8; 16,16 = two layers), as in train.py")
    p.add_argument("--activation", choices=ACTIVATIONS, default="relu", help="its hidden activation (default: relu)")
    p.add_argument("--dropout", type=float, default=0.0, metavar="P",
                   help="its dropout after each hidden activation (checked in training mode, one mask per probe)")
    p.add_argument("--batchnorm", action="store_true", help="its batch normalisation after each hidden Linear")
    p.add_argument("--classes", type=int, default=2, help="its classes K: 2 = sigmoid + BCE, more = softmax "
                                                          "cross-entropy (default: 2)")
    p.add_argument("--h", type=float, default=1e-5, help="finite-difference step, finite and > 0 (default: 1e-5)")
    p.add_argument("--tol", type=float, default=PASS_TOL,
                   help=f"relative error that passes, < 0.1 (default: {PASS_TOL:g})")
    p.add_argument("--warn-tol", type=float, default=WARN_TOL,
                   help=f"relative error up to which a check only warns, < 0.1 (default: {WARN_TOL:g})")
    p.add_argument("--strict", action="store_true", help="a warning fails too")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def main(argv=None):
    # exit 1 means "a gradient is wrong"; anything the user must fix first is 2
    argv = sys.argv[1:] if argv is None else list(argv)
    return run_main(PROG, build_parser(), functools.partial(run, argv=argv), argv, USER_ERRORS, error_status=2)


if __name__ == "__main__":
    sys.exit(main())
