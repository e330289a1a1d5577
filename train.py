"""Train a network with hand-derived backprop: ``python train.py --help``.

A thin shell: the options are parsed here and carried out by ``app.train_cli``; all math lives in the
library. With no options it trains the handout's network, ``p = sigmoid(relu(X @ w1) @ w2 + b)``, on circles.
"""

import sys

from app.cli import OneLineParser, run_main
from app.train_cli import USER_ERRORS, run
from data import DATASETS
from model.registry import ACTIVATIONS
from model.optim import OPTIMIZERS
from model.training import TrainingConfig

PROG = "train.py"


def build_parser():
    p = OneLineParser(prog=PROG, description="Train a network with hand-derived backprop; by default the "
                                             "handout's p = sigmoid(relu(X @ w1) @ w2 + b).")
    _data_options(p.add_argument_group("data"))
    _model_options(p.add_argument_group("model"))
    _optimisation_options(p.add_argument_group("optimisation"))
    _output_options(p.add_argument_group("output"))
    return p


def _data_options(d):
    d.add_argument("--dataset", choices=list(DATASETS), default=None, help="toy dataset (default: circles)")
    d.add_argument("--data", metavar="PATH.csv", help="CSV file of numeric features and a label (any column, "
                                                      "default the last), instead of --dataset")
    d.add_argument("--label", metavar="COL", help="the label column of --data: a header name or a 0-based index "
                                                  "(default: the last column)")
    d.add_argument("--features", metavar="A,B,...", help="the feature columns of --data, names or 0-based indices "
                                                         "(default: every column but the label)")
    d.add_argument("--task", choices=["classification", "regression"], default=None,
                   help="what the label is: classes (default) or values to predict (linear output, MSELoss)")
    d.add_argument("--val-data", metavar="PATH.csv", help="validate on this file instead of a split of --data")
    d.add_argument("--n-samples", type=int, default=None, help="points to generate (default: 1000)")
    d.add_argument("--noise", type=float, default=None, help="dataset noise (default: the generator's own)")
    d.add_argument("--classes", type=int, default=None, help="classes K for spiral and blobs (default: 2)")
    d.add_argument("--val-fraction", type=float, default=None, help="held out, stratified (default: 0.2)")


def _model_options(m):
    m.add_argument("--hidden", default=None, metavar="H[,H...]",
                   help="hidden widths, comma-separated (default: 3, the handout's; 64 for --data; 16,16 = two "
                        "layers)")
    m.add_argument("--activation", choices=ACTIVATIONS, default="relu", help="hidden activation (default: relu)")
    m.add_argument("--hidden-bias", action="store_true", default=None,
                   help="biases on the hidden layers (the handout's has none; on by default for --data)")
    m.add_argument("--no-hidden-bias", dest="hidden_bias", action="store_false", help="no hidden biases")
    m.add_argument("--weight-decay", type=float, default=0.0, metavar="λ",
                   help="L2 penalty (λ/2)·Σ‖W‖² on the weights (default: 0)")
    m.add_argument("--dropout", type=float, default=0.0, metavar="P",
                   help="inverted dropout after each hidden activation, dropping a unit with probability P")
    m.add_argument("--batchnorm", action="store_true", help="batch normalisation after each hidden Linear")
    m.add_argument("--fused", action="store_true",
                   help="binary: SigmoidBCELoss on logits instead of Sigmoid + BCELoss")
    m.add_argument("--no-standardize", action="store_true", help="feed raw inputs (no Standardize layer)")
    m.add_argument("--dtype", choices=["float64", "float32"], default="float64", help="training precision")
    m.add_argument("--use", action="append", default=[], metavar="PATH.py:Class",
                   help="your class in place of the library's of that name (repeatable), e.g. "
                        "exercises/sigmoid.py:Sigmoid")


def _optimisation_options(o):
    o.add_argument("--optimizer", choices=list(OPTIMIZERS), default=None,
                   help="default: sgd, the handout's update (adam for --data)")
    o.add_argument("--lr", type=float, default=None, help="learning rate (default: " + ", ".join(
        f"{k} {v.default_lr:g}" for k, v in OPTIMIZERS.items() if v.default_lr) + "; adam 0.003 for --data; "
        "lbfgs takes none)")
    o.add_argument("--epochs", type=int, default=TrainingConfig.epochs,
                   help="passes over the data, or L-BFGS iterations (default: 200)")
    o.add_argument("--batch-size", type=int, default=TrainingConfig.batch_size,
                   help="mini-batch size (default: 32, robust across seeds; 0 = full batch)")
    o.add_argument("--patience", type=int, default=None,
                   help="early stopping on validation loss, best weights restored (default: none; 10 for --data)")
    o.add_argument("--seed", type=int, default=0, help="one seed for data, split, initialisation and shuffling")
    o.add_argument("--engine", choices=["auto", "layers"], default=TrainingConfig.engine,
                   help="auto: the fast training engine where it supports the network; layers: always the "
                        "layer objects (default: auto)")


def _output_options(out):
    out.add_argument("--save", metavar="PATH.npz", default="runs/model.npz",
                     help="model file (default: runs/model.npz)")
    out.add_argument("--plot", metavar="PATH.png", help="decision regions and curves (needs the plot extra)")
    out.add_argument("--history", metavar="PATH", help="per-epoch metrics as .csv or .json")
    out.add_argument("--evaluate", metavar="MODEL.npz", help="no training: load a model, report its scores")
    out.add_argument("--predict", metavar="MODEL.npz", help="no training: predict the rows of --data into --out")
    out.add_argument("--out", metavar="PRED.csv", help="where --predict writes its predictions")
    out.add_argument("--json", action="store_true", help="stdout is one JSON object; logs go to stderr")
    out.add_argument("--quiet", action="store_true", help="no progress or picture")
    out.add_argument("--debug", action="store_true", help="show tracebacks")


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    return run_main(PROG, build_parser(), lambda a: run(a, argv), argv, USER_ERRORS)


if __name__ == "__main__":
    sys.exit(main())
