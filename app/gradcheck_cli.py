"""What ``gradcheck.py``'s options do: the checks and traces they ask for, and every refusal in its words.

The library (``checking``, ``model.builders``) validates its own arguments and raises a
``ParameterError`` naming the parameter; ``FLAGS`` is the one place where those names become this
command line's flags. Checked here are only the command line's own concerns: flag combinations, the
picture's path, and the budgets that must hold before any work starts.
"""

import json
import math

from app.cli import UsageError, flag_errors, parse_widths
from app.outputs import check_outputs
from checking.checker import LayerError, Report, check_settings
from checking.suites import default_suite
from checking.svg import write_svg
from checking.trace import chain_graph, graph_text, network_graph, trace_backward, trace_warmup, warmup_graph
from checking.user_layer import check_user_layer, load_layer
from model.builders import Architecture

#: the library's parameter names, as this command line spells them
FLAGS = {
    "spec": "--layer", "args": "--layer-args", "labels": "--labels", "shape": "--input-shape",
    "h": "--h", "tol": "--tol", "warn_tol": "--warn-tol", "mode": "--mode", "directions": "--directions",
    "seed": "--seed", "batch": "--batch", "burn_in": "--burn-in",
    "hidden": "--hidden", "activation": "--activation", "dropout": "--dropout", "p": "--dropout",
    "batchnorm": "--batchnorm", "classes": "--classes",
}

#: the exceptions that are the user's to fix: one line on stderr, exit status 2
USER_ERRORS = (UsageError, LayerError, ValueError, OSError, MemoryError)

MAX_ELEMENTS = 10_000_000  # --input-shape budget: an element-wise check runs two forward passes per element
MAX_BATCH = 10_000  # rows of random data: the element-wise check probes every one of them
MAX_DIRECTIONS = 10_000
MAX_BURN_IN = 100_000
TRACES = ("net", "warmup", "chain")


def run(args):
    """Do what the parsed command line asks; return the exit status (0 pass, 1 a gradient fails)."""
    with flag_errors(FLAGS):
        return _run(args)


def _run(a):
    check_command_line(a)
    settings = dict(h=a.h, tol=a.tol, warn_tol=a.warn_tol, mode=a.mode, directions=a.directions)
    check_settings(seed=a.seed, **settings)
    composed = Architecture(hidden=(8,) if a.hidden is None else parse_widths(a.hidden), activation=a.activation,
                            hidden_bias=True, dropout=a.dropout, batchnorm=a.batchnorm, standardize=False)
    if a.trace:
        net = composed.build(2, a.classes, seed=a.seed) if a.trace == "chain" else None
        text, ok = run_trace(a.trace, seed=a.seed, batch=4 if a.batch is None else a.batch, svg=a.svg, net=net)
        print(text)
        return 0 if ok else 1
    if a.layer:
        report = check_user_layers(a.layer, input_shape(a.input_shape), a.seed, settings)
    else:
        report = default_suite(seed=a.seed, batch=8 if a.batch is None else a.batch, architecture=composed,
                               classes=a.classes, burn_in=a.burn_in, **settings)
    report.strict = a.strict
    if a.json:
        print(json.dumps(report.to_dict(), allow_nan=False))
    else:
        print(report.table())
        print(report.summary())
    return 0 if report.passed else 1


def check_command_line(a):
    """The command line's own rules: which flags go together, the picture's path, the budgets."""
    if a.svg and not a.trace:
        raise UsageError("--svg draws a traced graph: add --trace (net, warmup or chain)")
    if a.trace and (a.layer or a.json):
        raise UsageError("--trace prints a trace; it does not take --layer or --json")
    if a.svg:
        check_outputs([("--svg", a.svg, (".svg",))])
    if a.batch is not None and a.batch > MAX_BATCH:
        raise UsageError(f"--batch takes at most {MAX_BATCH:,} rows (the element-wise check probes every one), "
                         f"got {a.batch}")
    if a.directions > MAX_DIRECTIONS:
        raise UsageError(f"--directions takes at most {MAX_DIRECTIONS:,}, got {a.directions}")
    if a.burn_in > MAX_BURN_IN:
        raise UsageError(f"--burn-in takes at most {MAX_BURN_IN:,} steps, got {a.burn_in}")


def input_shape(text):
    """``--input-shape 8,5`` -> (8, 5), within the checker's budget of ``MAX_ELEMENTS``."""
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


def layer_arguments(text):
    """``--layer-args JSON`` as Python values (None when not given)."""
    if text is None:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise UsageError(f"--layer-args is not valid JSON: {exc}") from None


def check_user_layers(entries, shape, seed, settings):
    """Load and check each ``--layer`` entry (``{"spec", "args", "labels"}``) in turn; one report."""
    report = Report()
    for entry in entries:
        layer = load_layer(entry["spec"], layer_arguments(entry["args"]))
        report.extend(check_user_layer(layer, shape, entry["labels"], seed, **settings))
    return report


def run_trace(kind="net", seed=0, batch=4, svg=None, net=None):
    """What ``--trace [net|warmup|chain] [--svg PATH] [--seed S] [--batch N]`` does.

    Parameters
    ----------
    kind : "net" (the handout's network), "warmup" (the warm-up graph; seed and batch unused) or
        "chain" (the network ``net``, layer by layer, on seeded random data)
    seed, batch : the random data (and, for "net", the weights)
    svg : path or None; if given, the same traced graph is drawn there as SVG (written atomically)

    Returns
    -------
    (text, ok) : the trace (with a last line naming the picture, if one was written) and whether its
    checks held (shape checks for "net" and "chain", the gates against centred differences for "warmup").
    """
    if kind == "warmup":
        graph = warmup_graph()
        text, ok = trace_warmup(graph=graph)
    elif kind == "net":
        graph = network_graph(seed=seed, batch=batch)[0]
        text, ok = trace_backward(graph=graph)
    elif kind == "chain":
        graph = chain_graph(net, seed=seed, batch=batch)
        text, ok = graph_text(graph)
    else:
        raise UsageError(f"--trace takes one of {', '.join(TRACES)}, got {kind!r}")
    if svg is not None:
        write_svg(graph, svg)
        text += f"\n\nPicture of this graph (green: forward values, red: gradients) written to {svg}"
    return text, ok
