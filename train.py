"""Train a network with hand-derived backprop: ``python train.py --help``.

A thin shell: it parses options and calls ``app.experiment``; all math lives in the library, and so do
the rules on its arguments (a ``ParameterError`` naming the parameter, said here with its flag through
``FLAGS``). What this file checks itself is the command line's own business: paths and outputs, flags
that make no sense together, the size of generated data, and whether ``--plot`` can draw.
With no options it trains the handout's network, ``p = sigmoid(relu(X @ w1) @ w2 + b)``, on circles.
"""

import math
import sys

from app.cli import OneLineParser, UsageError, dumps_strict, flag_errors, parse_widths, run_main
from app.experiment import check_seed, labels_for, load_dataset, prepare
from app.outputs import check_outputs
from app.pictures import ascii_regions, plot_run
from data import DATASETS, check_val_fraction
from model import load
from model.builders import ACTIVATIONS, Architecture
from model.optim import OPTIMIZERS
from model.training import TrainingConfig, TrainingDiverged

PROG = "train.py"
#: absurd requests are refused before any memory is spent on them
MAX_SAMPLES = 10_000_000
#: the library's parameter names and the flags that set them: how its ``ParameterError`` is said here
FLAGS = {
    "n_samples": "--n-samples", "noise": "--noise", "classes": "--classes", "val_fraction": "--val-fraction",
    "hidden": "--hidden", "activation": "--activation", "hidden_bias": "--hidden-bias",
    "weight_decay": "--weight-decay", "dropout": "--dropout", "p": "--dropout", "batchnorm": "--batchnorm",
    "fused": "--fused", "dtype": "--dtype",
    "optimizer": "--optimizer", "lr": "--lr", "epochs": "--epochs", "batch_size": "--batch-size",
    "patience": "--patience", "seed": "--seed", "engine": "--engine",
}
#: options that only a training run uses: refused with --evaluate rather than silently ignored
TRAINING_ONLY = ("save", "plot", "history", "patience")
USER_ERRORS = (ValueError, OSError, TrainingDiverged, UsageError)


def build_parser():
    p = OneLineParser(prog=PROG, description="Train a network with hand-derived backprop; by default the "
                                             "handout's p = sigmoid(relu(X @ w1) @ w2 + b).")
    d = p.add_argument_group("data")
    d.add_argument("--dataset", choices=list(DATASETS), default="circles", help="toy dataset (default: circles)")
    d.add_argument("--data", metavar="PATH.csv", help="CSV file: features..., label (any D; 2+ classes, "
                                                      "integer or string labels); overrides --dataset")
    d.add_argument("--n-samples", type=int, default=1000, help="points to generate (default: 1000)")
    d.add_argument("--noise", type=float, default=None, help="dataset noise (default: the generator's own)")
    d.add_argument("--classes", type=int, default=2, help="classes K for spiral and blobs (default: 2)")
    d.add_argument("--val-fraction", type=float, default=0.2, help="held out, stratified (default: 0.2)")
    m = p.add_argument_group("model")
    m.add_argument("--hidden", default="3", metavar="H[,H...]",
                   help="hidden widths, comma-separated (default: 3, the handout's; 16,16 = two layers)")
    m.add_argument("--activation", choices=ACTIVATIONS, default="relu", help="hidden activation (default: relu)")
    m.add_argument("--hidden-bias", action="store_true", help="biases on the hidden layers (the handout's has none)")
    m.add_argument("--weight-decay", type=float, default=0.0, metavar="λ",
                   help="L2 penalty (λ/2)·Σ‖W‖² on the weights (default: 0)")
    m.add_argument("--dropout", type=float, default=0.0, metavar="P",
                   help="inverted dropout after each hidden activation, dropping a unit with probability P")
    m.add_argument("--batchnorm", action="store_true", help="batch normalisation after each hidden Linear")
    m.add_argument("--fused", action="store_true",
                   help="binary: SigmoidBCELoss on logits instead of Sigmoid + BCELoss")
    m.add_argument("--no-standardize", action="store_true", help="feed raw inputs (no Standardize layer)")
    m.add_argument("--dtype", choices=["float64", "float32"], default="float64", help="training precision")
    o = p.add_argument_group("optimisation")
    o.add_argument("--optimizer", choices=list(OPTIMIZERS), default="sgd", help="default: sgd, the handout's update")
    o.add_argument("--lr", type=float, default=None, help="learning rate (default: " + ", ".join(
        f"{k} {v.default_lr:g}" for k, v in OPTIMIZERS.items() if v.default_lr) + "; lbfgs takes none)")
    o.add_argument("--epochs", type=int, default=200,
                   help="passes over the data, or L-BFGS iterations (default: 200)")
    o.add_argument("--batch-size", type=int, default=32,
                   help="mini-batch size (default: 32, robust across seeds; 0 = full batch)")
    o.add_argument("--patience", type=int, default=None,
                   help="early stopping on validation loss, best weights restored")
    o.add_argument("--seed", type=int, default=0, help="one seed for data, split, initialisation and shuffling")
    o.add_argument("--engine", choices=["auto", "layers"], default="auto",
                   help="auto: the fast training engine where it supports the network; layers: always the "
                        "layer objects (default: auto)")
    out = p.add_argument_group("output")
    out.add_argument("--save", metavar="PATH.npz", default="runs/model.npz",
                     help="model file (default: runs/model.npz)")
    out.add_argument("--plot", metavar="PATH.png", help="decision regions and curves (needs the plot extra)")
    out.add_argument("--history", metavar="PATH", help="per-epoch metrics as .csv or .json")
    out.add_argument("--evaluate", metavar="MODEL.npz", help="no training: load a model, report accuracy and loss")
    out.add_argument("--json", action="store_true", help="stdout is one JSON object; logs go to stderr")
    out.add_argument("--quiet", action="store_true", help="no progress or picture")
    out.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


# ---------------------------------------------------------------- before any work


def check_command_line(a, argv):
    """The command line's own rules, before any work: one line, exit 2."""
    if a.n_samples > MAX_SAMPLES:
        raise UsageError(f"--n-samples must be at most {MAX_SAMPLES:,}, got {a.n_samples}")
    if a.evaluate:
        check_evaluate_alone(a.evaluate, argv)
    if a.plot:
        try:
            import matplotlib  # noqa: F401 -- imported only to learn whether the plot extra is installed
        except ImportError:
            raise UsageError("--plot needs matplotlib: pip install -e '.[plot]'") from None
    check_outputs_of(a)


def check_evaluate_alone(model, argv):
    """``--evaluate`` takes a model file and no option that only training uses."""
    if not model.endswith(".npz"):
        raise UsageError(f"--evaluate wants a model file written by train.py (.npz), got {model!r}")
    given = [f"--{name}" for name in TRAINING_ONLY if any(arg.split("=")[0] == f"--{name}" for arg in argv)]
    if given:
        raise UsageError(f"--evaluate trains nothing, so {', '.join(given)} would be ignored; leave them out")


def check_outputs_of(a):
    """Resolve every output before any work: none may be an input, another output, or a non-file."""
    inputs = [("--data", a.data), ("--evaluate", a.evaluate)]
    if a.evaluate:
        return check_outputs([], inputs)
    return check_outputs([("--save", a.save, (".npz",)), ("--plot", a.plot, (".png",)),
                          ("--history", a.history, (".csv", ".json"))], inputs)


def settings_of(a):
    """The model and training flags as the library's objects, which check their own values.

    Returns ``(Architecture, TrainingConfig)``; built before the data is loaded, so a bad value fails
    before any work. A ``ParameterError`` is said with its flag by the caller.
    """
    architecture = Architecture(hidden=parse_widths(a.hidden), activation=a.activation, hidden_bias=a.hidden_bias,
                                fused=a.fused, weight_decay=a.weight_decay, standardize=not a.no_standardize,
                                dropout=a.dropout, batchnorm=a.batchnorm, dtype=a.dtype)
    config = TrainingConfig(optimizer=a.optimizer, lr=a.lr, epochs=a.epochs, batch_size=a.batch_size or None,
                            patience=a.patience, engine=a.engine)  # shuffled by the run's stream of --seed
    check_val_fraction(a.val_fraction)
    check_seed(a.seed)
    return architecture, config


# ---------------------------------------------------------------- the work


def make_log(a):
    """``log(message)``: progress lines on stdout (stderr with ``--json``), none with ``--quiet``."""
    stream = sys.stderr if a.json else sys.stdout

    def log(message=""):
        if not a.quiet:
            print(message, file=stream)

    return log


def evaluate(a, data):
    """``--evaluate``: the saved model's metrics on the data, in the model's own classes."""
    net = load(a.evaluate)
    metrics = net.evaluate(data.X, labels_for(net, data))
    if not math.isfinite(metrics["loss"]):
        raise ValueError(f"{a.evaluate}: the loss on {data.source} is not finite (the data is far outside "
                         "what the model was trained on)")
    if a.json:
        print(dumps_strict({"model": a.evaluate, "data": data.source, **metrics}))
    else:
        print(f"{a.evaluate} on {data.source}: accuracy {metrics['accuracy']:.4f}, loss {metrics['loss']:.4f}, "
              f"n {metrics['n']}")
    return 0


def train_run(a, data, architecture, config, log):
    """Split, build and train, logging progress about ten times; returns the trained ``Run``."""
    every = max(1, a.epochs // 10)

    def progress(epoch, history):
        if epoch % every == 0 or epoch == 1:
            m = history.last()
            log(f"epoch {epoch:4d}  loss {m['train_loss']:.4f}  train acc {m['train_acc']:.3f}  "
                f"val loss {m['val_loss']:.4f}  val acc {m['val_acc']:.3f}")

    run = prepare(data, architecture, a.val_fraction, a.seed)
    n, d = data.X.shape
    log(f"data: {data.source}, {n} points, {d} features, {data.n_classes} classes; "
        f"model {run.net.describe()}; {a.optimizer}, {a.dtype}")
    try:
        return run.train(config, on_epoch=progress)
    except TrainingDiverged as exc:
        raise TrainingDiverged(f"{exc}; no model was saved", exc.history) from None


def save_outputs(a, run):
    """The model, and the history and the plot if asked for (each written atomically)."""
    run.net.save(a.save)
    if a.history:
        run.history.save(a.history)
    if a.plot:
        data = run.data
        plot_run(run.net, data.X, data.y, run.history, a.plot, feature_names=data.feature_names,
                 classes=data.classes, title=f"{run.net.describe()}; {a.optimizer}, {a.epochs} epochs")


def report(a, run, log):
    """The summary lines, the picture of 2-D regions, and with ``--json`` the one result object."""
    h, m = run.history, run.history.final
    stop = (f", stopped early at epoch {h.epoch[-1]}; the model is epoch {m['epoch']}'s (best validation loss)"
            if h.stopped_early else "")
    log(f"done: {h.steps} steps in {h.seconds:.3f} s{stop}; train acc {m['train_acc']:.4f}, "
        f"val acc {m['val_acc']:.4f}, train loss {m['train_loss']:.4f}, val loss {m['val_loss']:.4f}")
    log(f"saved model to {a.save}" + (f", history to {a.history}" if a.history else "")
        + (f", plot to {a.plot}" if a.plot else ""))
    if run.data.X.shape[1] == 2 and not a.json:
        log(ascii_regions(run.net, run.data.X, run.data.y))
    if a.json:
        print(dumps_strict({"train_acc": m["train_acc"], "val_acc": m["val_acc"], "train_loss": m["train_loss"],
                            "val_loss": m["val_loss"], "epoch": m["epoch"], "epochs": h.epoch[-1],
                            "stopped_early": h.stopped_early, "steps": h.steps, "seconds": h.seconds,
                            "engine": h.engine, "classes": run.data.classes, "model": str(a.save)}))


def run(a, argv=()):
    """Check the command line, load the data, then evaluate a saved model or train, save and report."""
    check_command_line(a, argv)
    with flag_errors(FLAGS):
        architecture, config = settings_of(a)
        data = load_dataset(a.dataset, a.data, a.n_samples, a.noise, a.seed, a.classes)
    if a.evaluate:
        return evaluate(a, data)
    log = make_log(a)
    with flag_errors(FLAGS):
        trained = train_run(a, data, architecture, config, log)
    save_outputs(a, trained)
    report(a, trained, log)
    return 0


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    return run_main(PROG, build_parser(), lambda a: run(a, argv), argv, USER_ERRORS)


if __name__ == "__main__":
    sys.exit(main())
