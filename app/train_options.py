"""``train.py``'s options, each declared once in ``OPTIONS``, and the one ``Settings`` object made from them.

From that table come the parser (``build_parser``), the flag that says each library parameter in an error
(``FLAGS``), the groups of flags refused together (``flags_given``) and the recipe's first line
(``recipe_text``); ``read_settings`` makes the ``Settings``.
"""

import argparse
import math
from types import SimpleNamespace

import numpy as np

from data import DATASETS, check_val_fraction
from data.split import DEFAULT_VAL_FRACTION
from data.table import label_key, shown
from layers.user_code import split_spec
from model.builders import Architecture
from model.experiment import check_seed
from model.metrics import balanced_class_weight
from model.onnx_export import require_onnx
from model.optim import OPTIMIZERS
from model.registry import ACTIVATIONS
from model.training import TrainingConfig

from .cli import OneLineParser, UsageError, flag_errors, parse_widths
from .outputs import check_outputs

#: the tags of the options refused in some runs: those only a training run uses (refused with --evaluate or
#: --predict), those that describe the generated data sets (refused with --data), those of a CSV file (need it)
TRAINING, GENERATOR, CSV = "training", "generator", "csv"
#: absurd requests are refused before any memory is spent on them
MAX_SAMPLES = 10_000_000


class Option:
    """One flag: its help, its value when not given, its tags, further names the library gives it in a
    ``ParameterError`` (``params``; its ``dest`` is one) and ``argparse``'s keywords for it."""

    def __init__(self, flag, help, default=None, tags=(), params=(), **argparse_keywords):
        self.flag, self.help, self.default, self.tags, self.params = flag, help, default, tags, params
        self.keywords = argparse_keywords
        self.dest = argparse_keywords.get("dest", flag[2:].replace("-", "_"))

    def given(self, namespace):
        """Whether the command line spelled this flag (a pair such as ``--hidden-bias`` /
        ``--no-hidden-bias`` shares one value: the one given is the one whose value it holds)."""
        const = {"store_true": True, "store_false": False}.get(self.keywords.get("action"))
        return hasattr(namespace, self.dest) and (const is None or getattr(namespace, self.dest) is const)


def epochs_or_off(text):
    """``--patience``'s value: a number of epochs, or ``off`` (None: no early stopping)."""
    if text != "off" and not text.lstrip("-").isdigit():
        raise argparse.ArgumentTypeError(f"wants a number of epochs or off, got {text!r}")
    return None if text == "off" else int(text)


def image_shape(text):
    """``--image``'s value: ``"1x8x8"`` -> (1, 8, 8), three whole numbers (their range is ``Architecture``'s rule)."""
    sizes = str(text).lower().split("x")
    if len(sizes) != 3 or not all(size.strip().isdigit() for size in sizes):
        raise argparse.ArgumentTypeError(f"wants C x H x W sizes like 1x8x8, got {text!r}")
    return tuple(int(size) for size in sizes)


OPTIONS = {
    "data": (
        Option("--dataset", "toy dataset (default: circles)", "circles", (GENERATOR,), choices=list(DATASETS)),
        Option("--data", "CSV file of numeric features and a label (any column, default the last), instead of "
               "--dataset", metavar="PATH.csv"),
        Option("--label", "the label column of --data: a header name or a 0-based index (default: the last "
               "column)", tags=(CSV,), metavar="COL"),
        Option("--features", "the feature columns of --data, names or 0-based indices (default: every column but "
               "the label)", tags=(TRAINING, CSV), metavar="A,B,..."),
        Option("--header", "the first row of each CSV file is a header (default: recognised by the names --label and "
               "--features ask for, or by its types against the rows below)", tags=(CSV,), action="store_true"),
        Option("--no-header", "no CSV file has a header row", tags=(CSV,), dest="header", action="store_false"),
        Option("--task", "what the label is: classes (default) or values to predict (linear output, MSELoss)",
               tags=(TRAINING,), choices=["classification", "regression"]),
        Option("--val-data", "validate on this file instead of a split of --data", tags=(TRAINING, CSV),
               metavar="PATH.csv"),
        Option("--n-samples", "points to generate (default: 1000)", 1000, (GENERATOR,), type=int),
        Option("--noise", "dataset noise (default: the generator's own)", None, (GENERATOR,), type=float),
        Option("--classes", "classes K for spiral and blobs (default: 2)", 2, (GENERATOR,), type=int),
        Option("--val-fraction", f"held out, stratified (default: {DEFAULT_VAL_FRACTION:g})", DEFAULT_VAL_FRACTION,
               (TRAINING,), type=float),
    ),
    "model": (
        Option("--hidden", "hidden widths, comma-separated (default: 3, the handout's; 64 for --data; 16,16 = two "
               "layers)", "3", (TRAINING,), metavar="H[,H...]"),
        Option("--activation", "hidden activation (default: relu)", "relu", (TRAINING,), choices=ACTIVATIONS),
        Option("--hidden-bias", "biases on the hidden layers (the handout's has none; on by default for --data)",
               False, (TRAINING,), action="store_true"),
        Option("--no-hidden-bias", "no hidden biases", False, (TRAINING,), dest="hidden_bias", action="store_false"),
        Option("--weight-decay", "L2 penalty (λ/2)·Σ‖W‖² on the weights (default: 0)", 0.0, (TRAINING,),
               type=float, metavar="λ"),
        Option("--dropout", "inverted dropout after each hidden activation, dropping a unit with probability P",
               0.0, (TRAINING,), ("p",), type=float, metavar="P"),
        Option("--class-weight", "weigh each row's loss by its class: balanced (N / (K · count) per class, on the "
               "training rows) or LABEL=W,... (labels as the data writes them; a class not named weighs 1)",
               tags=(TRAINING,), metavar="balanced|K=W,..."),
        Option("--batchnorm", "batch normalisation after each hidden Linear", False, (TRAINING,), action="store_true"),
        Option("--fused", "binary: SigmoidBCELoss on logits instead of Sigmoid + BCELoss", False, (TRAINING,),
               action="store_true"),
        Option("--no-standardize", "feed raw inputs (no Standardize layer)", False, (TRAINING,), action="store_true"),
        Option("--image", "read each row of --data as a C x H x W image, in PyTorch's order (channel, row, column), "
               "for --conv", tags=(TRAINING, CSV), type=image_shape, metavar="CxHxW"),
        Option("--conv", "after --image, a block per channel count: 3x3 convolution (padding 1), the activation, 2x2 "
               "max pooling; then Flatten, the --hidden layers only if given, and the output", tags=(TRAINING,),
               metavar="C1[,C2...]"),
        Option("--dtype", "training precision", "float64", (TRAINING,), choices=["float64", "float32"]),
        Option("--use", "your class in place of the library's of that name (repeatable), e.g. "
               "exercises/sigmoid.py:Sigmoid", (), (TRAINING,), action="append", metavar="PATH.py:Class"),
        Option("--no-layer-check", "train your --use classes without first checking their gradients on one batch",
               False, (TRAINING,), action="store_true"),
    ),
    "optimisation": (
        Option("--optimizer", "default: sgd, the handout's update (adam for --data)", "sgd", (TRAINING,),
               choices=list(OPTIMIZERS)),
        Option("--lr", "learning rate (default: " + ", ".join(f"{k} {v.default_lr:g}" for k, v in OPTIMIZERS.items()
               if v.default_lr) + "; adam 0.003 for --data; lbfgs takes none)", None, (TRAINING,), type=float),
        Option("--epochs", "passes over the data, or L-BFGS iterations (default: 200)", TrainingConfig.epochs,
               (TRAINING,), type=int),
        Option("--batch-size", "mini-batch size (default: 32, robust across seeds; 0 = full batch)",
               TrainingConfig.batch_size, (TRAINING,), type=int),
        Option("--patience", "early stopping after N epochs without a lower validation loss, best weights restored "
               "(default: none; 10 for --data; off: none, even for --data)", None, (TRAINING,), type=epochs_or_off,
               metavar="N|off"),
        Option("--seed", "one seed for data, split, initialisation and shuffling", 0, type=int),
        Option("--engine", "auto: the fast training engine where it supports the network; layers: always the "
               "layer objects (default: auto)", TrainingConfig.engine, (TRAINING,), choices=["auto", "layers"]),
    ),
    "output": (
        Option("--save", "model file (default: runs/model.npz)", "runs/model.npz", (TRAINING,), metavar="PATH.npz"),
        Option("--plot", "what the model predicts, and its curves (needs the plot extra)", tags=(TRAINING,),
               metavar="PATH.png"),
        Option("--history", "per-epoch metrics as .csv or .json", tags=(TRAINING,), metavar="PATH"),
        Option("--evaluate", "no training: load a model, report its scores", metavar="MODEL.npz"),
        Option("--predict", "no training: predict the rows of --data into --out", metavar="MODEL.npz"),
        Option("--export", "no training: write a saved model as ONNX into --out (needs the onnx extra)",
               metavar="MODEL.npz"),
        Option("--out", "where --predict writes its predictions, --export its ONNX model", metavar="PRED.csv"),
        Option("--id", "with --predict: a column of --data (a header name or a 0-based index) carried through as the "
               "predictions' first column, not read as a feature", metavar="COL"),
        Option("--json", "stdout is one JSON object; logs go to stderr", False, action="store_true"),
        Option("--quiet", "only the result line: no settings, progress or picture", False, action="store_true"),
        Option("--debug", "a traceback before an error's line (the same exit status)", False, action="store_true"),
    ),
}
EVERY_OPTION = tuple(option for group in OPTIONS.values() for option in group)
#: each option's value when not given: on the generated sets, the handout's network and update
DEFAULTS = {option.dest: option.default for option in reversed(EVERY_OPTION)}
#: the library's parameter names and the flags that set them: how its ``ParameterError`` is said here
FLAGS = {name: option.flag for option in reversed(EVERY_OPTION) for name in (option.dest, *option.params)}
#: on a CSV table, where 3 hidden units and SGD at lr 1 diverge, a wider network, Adam and early stopping
#: (reaches val acc >= 0.9 on scikit-learn's digits, wine and breast-cancer data, >= 0.85 on iris); the
#: generated sets keep the handout's defaults; an option given always wins
TABLE_RECIPE = {"hidden": "64", "hidden_bias": True, "optimizer": "adam", "lr": 0.003, "patience": 10}


def build_parser(prog, description):
    """The ``argparse`` parser of ``OPTIONS``: an option not given is left out of the namespace."""
    parser = OneLineParser(prog=prog, description=description, argument_default=argparse.SUPPRESS)
    for title, options in OPTIONS.items():
        group = parser.add_argument_group(title)
        for option in options:
            group.add_argument(option.flag, help=option.help, **option.keywords)
    return parser


class Settings(SimpleNamespace):
    """The command line, read once: every option's value (given, chosen by the recipe, or the default) as an
    attribute (``settings.epochs``); ``given``, the flags spelled; ``chosen``, what the recipe chose; and the
    model and training settings as the library's objects, validated: ``architecture``, ``config``."""

    def flags_given(self, tag):
        """The flags of ``tag`` spelled on the command line, in the order of ``--help``."""
        return [option.flag for option in EVERY_OPTION if option.flag in self.given and tag in option.tags]


def read_settings(namespace):
    """``Settings`` from the parsed command line (see ``build_parser``): the command line's own rules checked
    first (``check_command_line``), then the library's objects built, which check their values. Every
    refusal is a ``UsageError`` (exit 2), a value out of range said with its flag."""
    values = DEFAULTS | vars(namespace)
    chosen = _recipe_choices(values, set(vars(namespace))) if values["data"] else {}
    s = Settings(**values | chosen, chosen=tuple(chosen),
                 given=tuple(option.flag for option in EVERY_OPTION if option.given(namespace)))
    check_command_line(s)
    with flag_errors(FLAGS):
        check_seed(s.seed)
        conv = parse_widths(s.conv, "--conv", "positive channel counts like 8,16") if s.conv is not None else ()
        hidden = () if conv and "--hidden" not in s.given else parse_widths(s.hidden)  # images: hidden if asked
        s.architecture = Architecture(hidden=hidden, activation=s.activation,
                                      hidden_bias=s.hidden_bias, fused=s.fused, weight_decay=s.weight_decay,
                                      standardize=not s.no_standardize, dropout=s.dropout, batchnorm=s.batchnorm,
                                      dtype=s.dtype, image=s.image, conv=conv)
        s.config = TrainingConfig(optimizer=s.optimizer, lr=s.lr, epochs=s.epochs, batch_size=s.batch_size or None,
                                  patience=s.patience, engine=s.engine,  # shuffled by the experiment's seed stream
                                  check_layers=not s.no_layer_check)
        check_val_fraction(s.val_fraction)
    return s


def _recipe_choices(values, given):
    """What ``TABLE_RECIPE`` sets among the options not given: its lr goes with its optimizer (another
    optimizer keeps its own default), its early stopping needs the validation ``--val-fraction 0`` leaves out."""
    chosen = {key: value for key, value in TABLE_RECIPE.items() if key not in given}
    if "conv" in given and "hidden" not in given:  # image blocks: no hidden layers, so no hidden biases, unless asked
        chosen.pop("hidden", None)
        chosen.pop("hidden_bias", None)
    if "optimizer" in given and values["optimizer"] != TABLE_RECIPE["optimizer"]:
        chosen.pop("lr", None)
    if values["val_fraction"] == 0 and not values["val_data"]:
        chosen.pop("patience", None)
    return chosen


def check_command_line(s):
    """The command line's own rules, before any work: one line, exit 2."""
    if s.n_samples > MAX_SAMPLES:
        raise UsageError(f"--n-samples must be at most {MAX_SAMPLES:,}, got {s.n_samples}")
    check_modes(s)
    if s.export:
        check_export(s)
    check_predict_only(s)
    check_data_options(s)
    if s.class_weight is not None:
        s.class_weight = parse_class_weight(s.class_weight, s.task)
    limit = math.sqrt(np.finfo(s.dtype).max) / 1e4  # beyond it λ·W, the penalty's gradient, overflows at a first step
    if s.weight_decay > limit:
        raise UsageError(f"--weight-decay must be at most {limit:.3g} in {s.dtype} (beyond it the penalty's gradient "
                         f"λ·W overflows), got {s.weight_decay:g}")
    if s.plot:
        try:
            import matplotlib  # noqa: F401 -- imported only to learn whether the plot extra is installed
        except ImportError:
            raise UsageError("--plot needs matplotlib: pip install -e '.[plot]'") from None
    check_outputs_of(s)


def check_predict_only(s):
    """``--out`` is where ``--predict`` and ``--export`` write, ``--id`` is ``--predict``'s: alone, ignored."""
    if s.out and not (s.predict or s.export):
        raise UsageError("--out is where --predict and --export write; without either it would be ignored")
    if s.id is not None and not s.predict:
        raise UsageError("--id names the column --predict carries into its output; without --predict it would be "
                         "ignored")


def check_modes(s):
    """``--evaluate``, ``--predict`` and ``--export`` take a model file, train nothing and take no training option."""
    flag, model = model_mode(s)
    if s.no_layer_check and not s.use:
        raise UsageError("--no-layer-check skips the check of your --use classes; without --use it would be ignored")
    if model and not model.endswith(".npz"):
        raise UsageError(f"{flag} wants a model file written by train.py (.npz), got {model!r}")
    ignored = s.flags_given(TRAINING)
    if model and ignored:
        raise UsageError(f"{flag} trains nothing, so {', '.join(ignored)} would be ignored; leave them out")
    if s.predict and not (s.data and s.out):
        raise UsageError("--predict needs --data NEW.csv (the rows to predict) and --out PRED.csv")


def model_mode(s):
    """``(flag, model file)`` of the one run that reads a saved model (``(None, None)`` for a training run)."""
    modes = [(flag, model) for flag, model in (("--evaluate", s.evaluate), ("--predict", s.predict),
                                               ("--export", s.export)) if model]
    if len(modes) > 1:
        raise UsageError(f"{' and '.join(flag for flag, _ in modes)} are {len(modes)} different runs; give one")
    return modes[0] if modes else (None, None)


def check_export(s):
    """``--export MODEL.npz --out MODEL.onnx`` reads no data, and needs the onnx extra."""
    if not s.out:
        raise UsageError("--export needs --out MODEL.onnx, where the ONNX model goes")
    data = (["--data"] if s.data else []) + s.flags_given(GENERATOR)
    if data:
        raise UsageError(f"--export reads no data, so {', '.join(data)} would be ignored; leave "
                         f"{'it' if len(data) == 1 else 'them'} out")
    try:
        require_onnx("--export")
    except ImportError as exc:
        raise UsageError(str(exc)) from None


def check_data_options(s):
    """Options that would be ignored with or without ``--data`` are said to be; so are clashing ones."""
    ignored, needs = s.flags_given(GENERATOR), s.flags_given(CSV)
    if s.data and ignored:
        named = ", ".join(ignored)
        raise UsageError(f"{named} describes the generated data sets; with --data it would be ignored: leave it out"
                         if len(ignored) == 1 else f"{named} describe the generated data sets; with --data they "
                         f"would be ignored: leave them out")
    if not s.data and needs:
        raise UsageError(f"{', '.join(needs)} describe{'s' if len(needs) == 1 else ''} a CSV file: add --data")
    if not s.data and s.task == "regression":
        raise UsageError("--task regression needs --data: the generated data sets are classes")
    if s.val_data and "--val-fraction" in s.given:
        raise UsageError("--val-data and --val-fraction are two ways to validate; give one")


def parse_class_weight(text, task=None):
    """``--class-weight``'s value: ``"balanced"``, or ``[(label text, weight), ...]`` from ``K=W,K=W`` (each weight a
    finite number > 0; a zero would drop the class from the loss, and a batch of it alone would weigh nothing).
    Refused in one line (``UsageError``) for a regression, a pair that is not ``K=W`` or a bad weight."""
    if task == "regression":
        raise UsageError("--class-weight weighs classes; a regression (--task regression) has none")
    if text.strip() == "balanced":
        return "balanced"
    pairs = []
    for item in text.split(","):
        label, equals, weight = item.rpartition("=")
        if not equals or not label.strip():
            raise UsageError(f"--class-weight wants balanced or LABEL=WEIGHT pairs separated by commas, got {item!r}")
        try:
            value = float(weight)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and value > 0):
            raise UsageError(f"--class-weight wants a finite weight > 0 for class {label.strip()!r}, got {weight!r}")
        pairs.append((label.strip(), value))
    return pairs


def class_weights(spec, classes, y_train):
    """One weight per class index for ``parse_class_weight``'s ``spec``: the balanced weights of the training labels
    ``y_train`` (class indices), or 1 for each class but those named, found among ``classes`` (the data's labels,
    compared as ``data.table.label_key`` compares labels). A class the data does not hold, or named twice, is a
    ``UsageError`` naming it; a balanced weight for a class without a training row is a ``ValueError``."""
    if spec == "balanced":
        return balanced_class_weight(y_train, len(classes), classes)
    index = {label_key(c): i for i, c in enumerate(classes)}
    weights = [1.0] * len(classes)
    for label, weight in spec:
        i = index.pop(label_key(label), None)
        if i is None:
            known = label_key(label) in {label_key(c) for c in classes}
            raise UsageError(f"--class-weight names class {label!r} twice" if known else
                             f"--class-weight names class {label!r}, which is not among the data's classes "
                             f"({', '.join(shown(c) for c in classes)})")
        weights[i] = weight
    return weights


def check_outputs_of(s):
    """Resolve every output before any work: none may be an input, another output, or a non-file."""
    inputs = [("--data", s.data), ("--evaluate", s.evaluate), ("--predict", s.predict), ("--export", s.export),
              ("--val-data", s.val_data)]
    try:  # a file of --use classes is an input too
        inputs += [("--use", str(split_spec(spec)[0])) for spec in s.use]
    except ValueError as exc:  # said as app.learner says it
        raise UsageError(f"--use {exc}") from None
    training = [("--save", s.save, (".npz",)), ("--plot", s.plot, (".png",)),
                ("--history", s.history, (".csv", ".json"))]
    outputs = ([] if s.evaluate else [("--out", s.out, (".csv",))] if s.predict
               else [("--out", s.out, (".onnx",))] if s.export else training)
    check_outputs(outputs, inputs)


def recipe_text(settings, keys):
    """``--hidden 64 --hidden-bias --optimizer adam --lr 0.003 --patience 10``: the recipe's choices as flags."""
    values = {key: getattr(settings, key) for key in keys}
    return " ".join(FLAGS[key] if value is True else f"{FLAGS[key]} {value:g}" if isinstance(value, float)
                    else f"{FLAGS[key]} {value}" for key, value in values.items())
