"""Train the seed's two-layer network: ``python train.py --help``.

A thin shell: it parses options and calls ``app.experiment``; all math lives in the library.
"""

import json
import math
import sys

from data import DATASETS
from model import TwoLayerNet
from app.cli import OneLineParser, UsageError, run_main
from app.experiment import DEFAULT_LR, OPTIMIZERS, fit, load_dataset
from app.pictures import ascii_regions, plot_run
from model.training import TrainingDiverged

PROG = "train.py"


def build_parser():
    p = OneLineParser(prog=PROG, description="Train p = sigmoid(relu(X @ w1) @ w2 + b) with hand-derived backprop.")
    d = p.add_argument_group("data")
    d.add_argument("--dataset", choices=list(DATASETS), default="circles", help="toy dataset (default: circles)")
    d.add_argument("--data", metavar="PATH.csv", help="CSV file: features..., label 0/1 (any D); overrides --dataset")
    d.add_argument("--n-samples", type=int, default=1000, help="points to generate (default: 1000)")
    d.add_argument("--noise", type=float, default=None, help="dataset noise (default: the generator's own)")
    d.add_argument("--val-fraction", type=float, default=0.2, help="held out, stratified (default: 0.2)")
    m = p.add_argument_group("model")
    m.add_argument("--hidden", type=int, default=3, help="hidden units H (default: 3, the seed's)")
    m.add_argument("--hidden-bias", action="store_true", help="give the first layer a bias (the seed's has none)")
    m.add_argument("--fused", action="store_true", help="use SigmoidBCELoss on logits instead of Sigmoid + BCELoss")
    m.add_argument("--dtype", choices=["float64", "float32"], default="float64", help="training precision")
    o = p.add_argument_group("optimisation")
    o.add_argument("--optimizer", choices=OPTIMIZERS, default="sgd", help="default: sgd, the seed's update")
    o.add_argument("--lr", type=float, default=None,
                   help="learning rate (default: " + ", ".join(f"{k} {v}" for k, v in DEFAULT_LR.items() if v) + ")")
    o.add_argument("--epochs", type=int, default=200, help="passes over the data, or L-BFGS iterations (default: 200)")
    o.add_argument("--batch-size", type=int, default=32,
                   help="mini-batch size (default: 32, robust across seeds; 0 = full batch)")
    o.add_argument("--patience", type=int, default=None, help="early stopping on validation loss, best weights restored")
    o.add_argument("--seed", type=int, default=0, help="one seed for data, split, initialisation and shuffling")
    out = p.add_argument_group("output")
    out.add_argument("--save", metavar="PATH", default="runs/model.npz", help="model file (default: runs/model.npz)")
    out.add_argument("--plot", metavar="PATH.png", help="decision boundary and curves (needs the plot extra)")
    out.add_argument("--history", metavar="PATH", help="per-epoch metrics as .csv or .json")
    out.add_argument("--evaluate", metavar="MODEL.npz", help="no training: load a model, report accuracy and loss")
    out.add_argument("--json", action="store_true", help="stdout is one JSON object; logs go to stderr")
    out.add_argument("--quiet", action="store_true", help="no progress or picture")
    out.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def check_args(a):
    if a.n_samples < 2:
        raise UsageError(f"--n-samples must be at least 2, got {a.n_samples}")
    if a.noise is not None and not (math.isfinite(a.noise) and a.noise >= 0):
        raise UsageError(f"--noise must be >= 0, got {a.noise}")
    if not 0 <= a.val_fraction < 1:
        raise UsageError(f"--val-fraction must be in [0, 1), got {a.val_fraction}")
    for name in ("hidden", "epochs"):
        if getattr(a, name) < 1:
            raise UsageError(f"--{name} must be >= 1, got {getattr(a, name)}")
    if a.batch_size < 0:
        raise UsageError(f"--batch-size must be >= 1 (or 0 for the full batch), got {a.batch_size}")
    if a.lr is not None and not (math.isfinite(a.lr) and a.lr > 0):
        raise UsageError(f"--lr must be > 0, got {a.lr}")
    if a.patience is not None and (a.patience < 1 or a.val_fraction == 0):
        raise UsageError("--patience needs a value >= 1 and a validation set (--val-fraction > 0)")
    if a.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            raise UsageError("--plot needs matplotlib: pip install -e '.[plot]'") from None


def run(a):
    check_args(a)
    out = sys.stderr if a.json else sys.stdout

    def log(msg=""):
        if not a.quiet:
            print(msg, file=out)

    X, y = load_dataset(a.dataset, a.data, a.n_samples, a.noise, a.seed)
    source = a.data or f"{a.dataset} (n={a.n_samples}, seed={a.seed})"
    if a.evaluate:
        metrics = TwoLayerNet.load(a.evaluate).evaluate(X, y)
        print(json.dumps(metrics) if a.json else
              f"{a.evaluate} on {source}: accuracy {metrics['accuracy']:.4f}, loss {metrics['loss']:.4f}, n {metrics['n']}")
        return 0

    every = max(1, a.epochs // 10)

    def progress(epoch, h):
        if epoch % every == 0 or epoch == 1:
            m = h.last()
            log(f"epoch {epoch:4d}  loss {m['train_loss']:.4f}  train acc {m['train_acc']:.3f}  "
                f"val loss {m['val_loss']:.4f}  val acc {m['val_acc']:.3f}")

    log(f"data: {source}, {X.shape[0]} points, {X.shape[1]} features; model "
        f"{X.shape[1]}-{a.hidden}-1{' +hidden bias' if a.hidden_bias else ''}, {a.optimizer}, {a.dtype}")
    try:
        r = fit(X, y, hidden=a.hidden, hidden_bias=a.hidden_bias, fused=a.fused, optimizer=a.optimizer, lr=a.lr,
                epochs=a.epochs, batch_size=a.batch_size or None, val_fraction=a.val_fraction, patience=a.patience,
                seed=a.seed, dtype=a.dtype, on_epoch=progress)
    except TrainingDiverged as exc:
        raise TrainingDiverged(f"{exc}; no model was saved", exc.history) from None
    h, m = r.history, r.history.last()
    r.net.save(a.save)
    if a.history:
        h.save(a.history)
    if a.plot:
        plot_run(r.net, X, y, h, a.plot)
    stop = f", stopped early at epoch {h.epoch[-1]} (best {h.best_epoch})" if h.stopped_early else ""
    log(f"done: {h.steps} steps in {h.seconds:.3f} s{stop}; train acc {m['train_acc']:.4f}, "
        f"val acc {m['val_acc']:.4f}, train loss {m['train_loss']:.4f}, val loss {m['val_loss']:.4f}")
    log(f"saved model to {a.save}" + (f", history to {a.history}" if a.history else "")
        + (f", plot to {a.plot}" if a.plot else ""))
    if X.shape[1] == 2 and not a.json:
        log(ascii_regions(r.net, X, y))
    if a.json:
        print(json.dumps({"train_acc": m["train_acc"], "val_acc": _num(m["val_acc"]), "train_loss": m["train_loss"],
                          "val_loss": _num(m["val_loss"]), "epochs": h.epoch[-1], "steps": h.steps,
                          "seconds": h.seconds, "model": str(a.save)}))
    return 0


def _num(v):
    return None if isinstance(v, float) and math.isnan(v) else v


def main(argv=None):
    return run_main(PROG, build_parser(), run, argv, (ValueError, OSError, TrainingDiverged, UsageError))


if __name__ == "__main__":
    sys.exit(main())
