"""What ``gradcheck.py``'s options do: the checks and traces they ask for, and every refusal in its words.

The library (``checking``, ``model.builders``) validates its own arguments and raises a
``ParameterError`` naming the parameter; ``FLAGS`` is the one place where those names become this
command line's flags. Checked here are only the command line's own concerns: flag combinations, the
picture's path, and the budgets that must hold before any work starts.
"""

import json
import math
import shlex

from app.cli import UsageError, flag_errors, parse_widths, print_json
from app.hints import hint, read_hints
from app.learner import load_learner_classes
from app.outputs import check_outputs
from checking.assignment_file import check_assignment_file
from checking.assignment_pairs import parse_shapes
from checking.checker import CheckSettings, LayerError, Report
from checking.suites import default_suite, layer_suite
from checking.user_layer import check_user_layer, load_layer
from layers.user_code import source_of, split_spec
from model.builders import Architecture
from traces.chain_text import graph_text
from traces.conv import conv_graph, trace_conv
from traces.gate_patterns import trace_gates
from traces.side_by_side import trace_beside
from traces.svg import write_svg
from traces.trace import (chain_batch, chain_graph, handout_network, network_graph, routing_batch, trace_backward,
                          trace_warmup, warmup_graph)

#: the library's parameter names, as this command line spells them
FLAGS = {
    "labels": "--labels", "shape": "--input-shape",
    "h": "--h", "tol": "--tol", "warn_tol": "--warn-tol", "mode": "--mode", "directions": "--directions",
    "seed": "--seed", "batch": "--batch", "burn_in": "--burn-in",
    "hidden": "--hidden", "activation": "--activation", "dropout": "--dropout", "p": "--dropout",
    "batchnorm": "--batchnorm", "classes": "--classes", "tier": "--hint", "class_name": "--layer",
}

#: the exceptions that are the user's to fix: one line on stderr, exit status 2
USER_ERRORS = (UsageError, LayerError, ValueError, OSError)  # (app.cli.run_main says a MemoryError itself)

MAX_INPUT_ELEMENTS = 10_000_000  # --input-shape budget: an element-wise check runs two forward passes per element
MAX_INPUT = 1e6  # the warm-up's inputs: beyond this the centred-difference check loses its digits
TRACES = ("net", "warmup", "gates", "chain", "conv")
#: the traces of a network whose layers ``--use`` can replace (the others trace fixed gates or one layer)
TRACES_WITH_USE = ("net", "chain")


def run(a, argv=None):
    """Do what the parsed command line asks; return the exit status (0 pass, 1 a gradient fails).

    ``argv`` (the command line as typed, without the program) is repeated after a failure, so the run can be
    reproduced exactly: its random input and upstream come from ``--seed``.
    """
    with flag_errors(FLAGS):
        check_command_line(a, argv or ())
        if a.hint:  # --hint N, declared by gradcheck.py
            return print_hints(a)
        settings = dict(h=a.h, tol=a.tol, warn_tol=a.warn_tol, mode=a.mode, directions=a.directions)
        CheckSettings(seed=a.seed, **settings)
        if a.functions:  # a CS231n assignment file's pairs
            report = check_assignment_file(a.functions, CheckSettings(seed=a.seed, **settings), shapes_of(a.shapes))
            return print_report(report, a, argv)
        composed = Architecture(hidden=(8,) if a.hidden is None else parse_widths(a.hidden), activation=a.activation,
                                hidden_bias=True, dropout=a.dropout, batchnorm=a.batchnorm, standardize=False)
        types = {name: used.cls for name, used in load_learner_classes(a.use).items()} or None  # --use
        if a.trace:
            text, ok = run_trace(a.trace, seed=a.seed, batch=4 if a.batch is None else a.batch, svg=a.svg,
                                 architecture=composed, classes=a.classes, inputs=warmup_inputs(a.inputs),
                                 layer_types=types, settings=settings)
            print(text)
            return 0 if ok else 1
        if a.layer:
            report = check_user_layers(a.layer, input_shape(a.input_shape), a.seed,
                                       {**settings, "max_elements": None} if a.every_element else settings)
        else:
            report = default_suite(seed=a.seed, batch=8 if a.batch is None else a.batch, architecture=composed,
                                   classes=a.classes, burn_in=a.burn_in, layer_types=types, **settings)
    return print_report(report, a, argv)


def print_report(report, a, argv):
    """The report as the options ask (its table and verdict, or ``--json``); returns the exit status."""
    report.strict = a.strict
    if a.json:
        print_json(a, json.dumps(report.to_dict(), allow_nan=False))
    else:
        print(report.table())
        print(report.summary())
        if not report.passed and argv is not None:  # the seed made explicit, so the run can be repeated exactly
            again = shlex.join(["python", "gradcheck.py", *argv, *([] if given(argv, "--seed") else
                                                                   ["--seed", str(a.seed)])])
            for line in hint_lines(a.layer or (), report):  # before the last line, which repeats the run
                print(line)
            print(f"To repeat this run exactly (the same random inputs and upstream gradients): {again}")
    return 0 if report.passed else 1


def hint_lines(entries, report):
    """For each ``--layer`` entry (``{"spec", ...}``) of an exercise class (one ``--hint`` knows, ``app.hints``)
    whose rows fail or are unchecked in ``report``: one line giving the ``--hint`` command for it."""
    failing = {row.check for row in report.rows if row.verdict in ("fail", "unchecked")}
    exercises = read_hints()
    lines = {}
    for entry in entries:
        _, cls_name, stands_for = split_spec(entry["spec"])
        if cls_name in failing and stands_for in exercises:
            command = shlex.join(["python", "gradcheck.py", "--layer", str(entry["spec"]), "--hint", "1"])
            lines[f"Stuck on {stands_for}? {command} prints its first hint (--hint 2, --hint 3: the next two)"] = None
    return list(lines)


def print_hints(a):
    """``--layer PATH.py:Class --hint N``: hint N for each ``--layer``'s exercise class (nothing is checked)."""
    try:
        names = [split_spec(entry["spec"])[2] for entry in a.layer]  # MySigmoid=Sigmoid: the Sigmoid exercise's
    except ValueError as exc:
        raise UsageError(f"--layer {exc}") from None
    print("\n\n".join(hint(name, a.hint) for name in names))
    return 0


#: flags that do not go together: (refused when, what to say instead)
CONFLICTS = (
    (lambda a: a.svg and not a.trace, "--svg draws a traced graph: add --trace (net, warmup, chain or conv)"),
    (lambda a: a.trace and (a.layer or a.json), "--trace prints a trace; it does not take --layer or --json"),
    (lambda a: a.svg and a.trace == "gates",
     "--svg draws net, warmup, chain or conv; --trace gates prints its four patterns as text"),
    (lambda a: a.use and a.layer,
     "--use puts your class into the networks and --layer checks a layer alone: give one or the other"),
    (lambda a: a.use and a.trace and a.trace not in TRACES_WITH_USE,
     "--use replaces layers of a network: it goes with --trace net or chain, not {a.trace}"),
    (lambda a: a.use and a.svg, "--svg draws the reference's graph; trace your layers beside it without --svg"),
    (lambda a: a.inputs is not None and a.trace != "warmup",
     "--inputs sets the warm-up's x, y and z: it goes with --trace warmup"),
    (lambda a: a.functions and (a.layer or a.use or a.trace), "--functions checks the functions of a CS231n "
     "assignment file: it does not go with --layer, --use or --trace"),
    (lambda a: a.shapes and not a.functions, "--shapes describes a pair of the --functions file: give --functions "
     "FILE.py"),
    (lambda a: a.every_element and not a.layer, "--every-element probes every element of --layer's tensors: give "
     "--layer PATH.py:ClassName"),
    (lambda a: a.hint and (not a.layer or a.use or a.trace or a.json),
     "--hint N prints hint N for the exercise class of --layer PATH.py:ClassName: give --layer, and no --use, --trace "
     "or --json"),
)

#: the flags --functions has no use for: each pair gets CS231n's inputs (or --shapes'), no network is composed
NOT_WITH_FUNCTIONS = ("--input-shape", "--batch", "--hidden", "--activation", "--dropout", "--batchnorm", "--classes",
                      "--burn-in")

#: the budgets that must hold before any work starts: (flag, option, at most, what it counts)
BUDGETS = (("--batch", "batch", 10_000, " rows (the element-wise check probes every one)"),
           ("--directions", "directions", 10_000, ""), ("--burn-in", "burn_in", 100_000, " steps"))


def check_command_line(a, argv=()):
    """The command line's own rules: which flags go together, the picture's path, the budgets. ``argv`` (the
    command line as typed) tells a flag given from one left at its default."""
    for refused, message in CONFLICTS:
        if refused(a):
            raise UsageError(message.format(a=a))
    unused = [flag for flag in NOT_WITH_FUNCTIONS if a.functions and given(argv, flag)]
    if unused:
        raise UsageError(f"--functions checks each pair on CS231n's inputs (or --shapes'): it does not take "
                         f"{unused[0]}")
    if a.svg:
        check_outputs([("--svg", a.svg, (".svg",))])
    for flag, option, most, unit in BUDGETS:
        value = getattr(a, option)
        if value is not None and value > most:
            raise UsageError(f"{flag} takes at most {most:,}{unit}, got {value}")


def given(argv, flag):
    """Whether ``flag`` is on the command line ``argv`` (as ``--flag VALUE`` or ``--flag=VALUE``)."""
    return any(str(w) == flag or str(w).startswith(f"{flag}=") for w in argv)


def warmup_inputs(text):
    """``--inputs x=1,y=2,z=3`` -> {"x": 1.0, "y": 2.0, "z": 3.0} (any of the three; None when not given)."""
    if text is None:
        return None
    values = {}
    for item in text.split(","):
        name, sep, number = item.partition("=")
        name = name.strip()
        if not sep or name not in ("x", "y", "z"):
            raise UsageError(f"--inputs wants x=NUMBER,y=NUMBER,z=NUMBER (any of the three), got {text!r}")
        if name in values:
            raise UsageError(f"--inputs gives {name} twice")
        try:
            values[name] = float(number)
        except ValueError:
            raise UsageError(f"--inputs: {name} must be a number, got {number.strip()!r}") from None
        if not math.isfinite(values[name]) or abs(values[name]) > MAX_INPUT:
            raise UsageError(f"--inputs: {name} must be a finite number of size at most {MAX_INPUT:g}, got {number}")
    return values


def input_shape(text):
    """``--input-shape 8,5`` -> (8, 5), within the checker's budget of ``MAX_INPUT_ELEMENTS``."""
    shape = parse_widths(text, "--input-shape", "sizes like 8,5")
    if min(shape) < 1:
        raise UsageError(f"--input-shape sizes must be >= 1, got {text!r}")
    if math.prod(shape) > MAX_INPUT_ELEMENTS:
        raise UsageError(f"--input-shape {text} has {math.prod(shape):.3g} elements; the checker takes at most "
                         f"{MAX_INPUT_ELEMENTS:,} (an element-wise check runs two forward passes per element)")
    return shape


def shapes_of(texts):
    """``--shapes NAME=SHAPE,...`` (each given once) -> {NAME: [shape, ...]} (``assignment_pairs.parse_shapes``)."""
    shapes = {}
    for text in texts:
        name, parsed = parse_shapes(text)
        if name in shapes:
            raise UsageError(f"--shapes gives {name} twice")
        shapes[name] = parsed
    return shapes


def check_user_layers(entries, shape, seed, settings):
    """Load and check each ``--layer`` entry (``{"spec", "args", "labels"}``, args the ``--layer-args`` JSON or
    None) in turn; one report."""
    report = Report()
    for entry in entries:
        try:  # the JSON is read first; load_layer says any failure of its own as a plain ValueError
            layer = load_layer(entry["spec"], None if entry["args"] is None else json.loads(entry["args"]))
        except json.JSONDecodeError as exc:
            raise UsageError(f"--layer-args is not valid JSON: {exc}") from None
        except ValueError as exc:
            raise UsageError(f"--layer {exc}") from exc
        report.extend(check_user_layer(layer, shape, entry["labels"], seed, **settings))
    return report


def run_trace(kind="net", seed=0, batch=4, svg=None, architecture=None, classes=2, inputs=None, layer_types=None,
              settings=None):
    """What ``--trace [net|warmup|gates|chain|conv] [--svg PATH] [--seed S] [--batch N] [--use …]`` does:
    ``(text, ok)``, the trace (its last line naming the picture, if one was written) and whether its checks held
    (shapes and centred differences; with ``layer_types``, whether yours pass alone and agree at every step).

    ``kind``: "net" (the handout's network), "warmup" (the warm-up graph at ``inputs``, a dict of any of its x, y,
    z; None: the handout's point), "gates" (the four gate patterns), "chain" (the network ``architecture`` and
    ``classes`` describe, layer by layer) or "conv" (``Conv2d`` on a 4×4 image, ``traces.conv``); ``seed`` and
    ``batch`` make the random data (and the weights); ``svg``
    (a path or None) is where the traced graph is drawn, atomically. ``layer_types`` (class name -> a learner's
    class, or None) traces the learner's layers beside the reference, after checking each class alone as
    ``gradcheck.py --use`` does (with the check's ``settings``, a dict); a class the traced network does not
    hold is refused (``UsageError``).
    """
    if kind not in TRACES:
        raise UsageError(f"--trace takes one of {', '.join(TRACES)}, got {kind!r}")
    if kind == "gates":
        return trace_gates()
    if layer_types and kind in TRACES_WITH_USE:  # the others are refused with --use (CONFLICTS)
        return _trace_yours(kind, seed, batch, architecture, classes, layer_types, settings or {})
    if kind == "warmup":
        graph = warmup_graph(**(inputs or {}))
        text, ok = trace_warmup(graph=graph)
    elif kind == "conv":
        graph = conv_graph()
        text, ok = trace_conv(graph=graph)
    elif kind == "net":
        graph = network_graph(seed=seed, batch=batch)[0]
        text, ok = trace_backward(graph=graph)
    else:
        graph = chain_graph((architecture or Architecture()).build(2, classes, seed=seed), seed=seed, batch=batch)
        text, ok = graph_text(graph)
    if svg is not None:
        write_svg(graph, svg)
        text += f"\n\nPicture of this graph (green: forward values, red: gradients) written to {svg}"
    return text, ok


def _trace_yours(kind, seed, batch, architecture, classes, layer_types, settings):
    """The learner's classes checked alone, then traced beside the reference's in the network ``kind`` names."""
    who = ", ".join(f"{name} from {source_of(cls)}" for name, cls in layer_types.items())
    if kind == "net":
        reference, learner = handout_network(seed), handout_network(seed, layer_types)
        X, y = routing_batch(reference.params["w1"], seed, batch)
        title, make_graph = "the handout's network", lambda net, X, y: network_graph(X, y, net=net)[0]
    else:
        arch = architecture or Architecture()
        reference = arch.build(2, classes, seed=seed)
        learner = arch.build(2, classes, seed=seed, layer_types=layer_types)
        X, y = chain_batch(reference, seed, batch)
        title, make_graph = reference.describe(), chain_graph
    _refuse_absent(layer_types, learner, title)
    alone, alone_ok = _checked_alone(layer_types, seed, settings)
    text, ok, _ = trace_beside(reference, learner, X, y, make_graph)
    head = f"Your layers beside the reference's in {title}: {who}; the same weights, the same batch (N = {len(X)})."
    tail = "" if alone_ok or not ok else "\n✗ but checked alone (above), your class fails: one batch is not enough"
    return f"{head}\n\n{alone}\n\n{text}{tail}", ok and alone_ok


#: the option of ``--trace chain`` that puts a class the handout's network lacks into the traced network
CHAIN_OPTIONS = {"Tanh": "--activation tanh", "LeakyReLU": "--activation leaky_relu", "BatchNorm": "--batchnorm",
                 "Dropout": "--dropout 0.5", "SoftmaxCrossEntropyLoss": "--classes 3"}


def _refuse_absent(layer_types, net, title):
    """A learner's class the traced network does not hold is refused: tracing would compare nothing of it."""
    held = [type(layer) for layer in [*net.layers, net.criterion]]
    for name, cls in layer_types.items():
        if cls not in held:
            where = (f"trace it where it stands with --trace chain {CHAIN_OPTIONS[name]}" if name in CHAIN_OPTIONS
                     else "check it with --use alone, without --trace")
            raise UsageError(f"--use {name} ({source_of(cls)}): {title} holds no {name} (it is made of "
                             f"{', '.join(dict.fromkeys(c.__name__ for c in held))}); {where}")


def _checked_alone(layer_types, seed, settings):
    """Each learner's class checked alone as ``gradcheck.py --use`` checks it: (the report's text, passed)."""
    head = "Your classes checked alone against finite differences:"
    try:
        report = layer_suite(seed, 8, layer_types, **settings)
    except LayerError as exc:
        return f"{head} ✗ {exc}", False
    return f"{head}\n{report.table()}\n{report.summary()}", report.passed
