"""What ``train.py`` says about a run: the path that trained it, the summary, the scores practitioners read (as
text and in the JSON object), the advice after a divergence. The weights a run falls back on are the training
loop's (``model.keeper``)."""

import numpy as np

from model.metrics import classification_metrics
from model.regression import regression_metrics
from model.table_columns import classes_of

from .learner import whose

#: more classes than this: the per-class rows and the confusion matrix are left out of the text (not the JSON)
MAX_TABLE_CLASSES = 20
#: class names are cut to this many characters in the text tables
NAME_WIDTH = 16


def path_line(history, learner=None):
    """The first line about training: which path ran (the engine or the layer objects) and why; ``learner``, the
    ``--use`` classes (``app.learner.load_learner_classes``), are named with their files."""
    if learner:
        return (f"path: the layer objects, with your {whose(learner)}, {history.layer_check}; the fast engine never "
                "runs a learner's code")
    if history.engine == "engine":
        return ("path: the training engine (model/engine/), its gradient checked against the layer objects' "
                "on one batch first")
    return f"path: the layer objects (layers/): {history.engine_note or 'the engine does not run this network'}"


def r2_text(r2):
    """R² as ``train.py`` prints it: ``"0.9876"``, or ``"undefined (fewer than 2 rows)"`` for the NaN
    ``model.metrics.r2`` gives there (no NaN in what a command prints; the JSON writes null)."""
    return f"{r2:.4f}" if np.isfinite(r2) else "undefined (fewer than 2 rows)"


def summary_line(run, metrics):
    """``done: 5000 steps in 0.070 s; train acc 1.0000, val acc 1.0000, …`` (the parts that apply)."""
    h = run.history
    stop = (f", stopped early at epoch {h.epoch[-1]}; the model is epoch {h.final.get('epoch')}'s (best "
            f"validation loss)" if h.stopped_early and h.restored_best else
            f", stopped early at epoch {h.epoch[-1]}" if h.stopped_early else "")
    parts, losses = [], []
    for part in ("train", "val") if run.has_validation else ("train",):
        if run.regression:
            parts.append(f"{part} rmse {metrics[f'{part}_rmse']:.4g}, {part} r2 {r2_text(metrics[f'{part}_r2'])}")
        else:
            parts.append(f"{part} acc {metrics[f'{part}_acc']:.4f}")
        losses.append(f"{part} loss {metrics[f'{part}_loss']:.4{'g' if run.regression else 'f'}}")
    ended = "stopped" if h.interrupted else "done"
    return f"{ended}: {h.steps} steps in {h.seconds:.3f} s{stop}; {', '.join(parts + losses)}"


def poor_fit_line(run, metrics):
    """A note when a regression does worse than predicting the mean of its training targets (R² < 0), else None."""
    r2 = metrics.get("train_r2") if run.regression else None
    if r2 is None or not r2 < 0:
        return None
    return (f"note: the model predicts its training targets worse than their mean does (train r2 {r2:.4f}): it took "
            f"{run.history.steps} steps; give it more (a smaller --batch-size, more --epochs) or another --lr")


def result_object(run, metrics, model_path, label=None, settings=None, scores=None):
    """The one JSON object ``train.py --json`` prints (before strict-JSON cleaning); ``scores``, the validation
    split's ``validation_scores`` if already computed (its ``val_metrics``)."""
    h = run.history
    scores = validation_scores(run) if scores is None else scores
    result = {"task": "regression" if run.regression else "classification", **metrics, "val_metrics": scores,
              "epoch": h.final.get("epoch", 0) if h.final else 0, "epochs": h.epoch[-1] if h.epoch else 0,
              "stopped_early": h.stopped_early, "steps": h.steps, "seconds": h.seconds, "engine": h.engine,
              "engine_note": h.engine_note, "classes": run.data.classes, "label": label, "model": str(model_path)}
    if h.interrupted:
        result["interrupted"] = True
    if settings:
        result["settings"] = settings
    return result


def scores_of(net, X, y, regression=None):
    """The scores of ``net`` on ``X`` (N, D) with labels ``y`` (N,) — class indices, or real targets for a
    regression — as ``model.metrics`` computes them: ``{"n", "r2", "rmse", "mae"}`` for a regression (taken from
    ``regression``, ``regression_metrics``' result, when already computed);
    ``{"n", "classes", "precision", "recall", "f1", "support", "macro_f1", "weighted_f1", "confusion_matrix",
    "roc_auc"}`` for a classifier (per-class lists in the order of ``classes``, the model's). None for a
    binary head of several outputs, whose rows have no single class."""
    if net.target == "values":
        scores = regression_metrics(net, X, y) if regression is None else regression
        return {key: scores[key] for key in ("n", "r2", "rmse", "mae")}
    pred = np.asarray(net.predict(X))
    if pred.ndim != 1:
        return None
    classes = [c.item() if isinstance(c, np.generic) else c for c in classes_of(net)]
    block = classification_metrics(y, pred, net.predict_proba(X), len(classes))
    return {"n": int(len(pred)), "classes": classes, **block}


def validation_scores(run):
    """``scores_of`` the returned model on the validation split of ``run`` (an ``Experiment``); None without one."""
    return scores_of(run.net, run.X_val, run.y_val) if run.has_validation else None


def scores_text(scores, where=""):
    """``scores`` (``scores_of``'s) as lines of text: ``where`` and the averages, then for a classifier of at most
    ``MAX_TABLE_CLASSES`` classes a row of precision, recall, F1 and support per class and the confusion matrix
    (rows the true classes, columns the predicted), headed by the class names."""
    if "r2" in scores:
        return [f"{where}r2 {r2_text(scores['r2'])}, rmse {scores['rmse']:.4g}, mae {scores['mae']:.4g}"]
    auc = scores["roc_auc"]
    kind = " (one-vs-rest, macro)" if len(scores["classes"]) > 2 else ""
    auc = f", roc auc {auc:.4f}{kind}" if auc is not None else ", roc auc undefined (a class has no row, or every row)"
    lines = [f"{where}macro f1 {scores['macro_f1']:.4f}, weighted f1 {scores['weighted_f1']:.4f}{auc}"]
    k = len(scores["classes"])
    if k > MAX_TABLE_CLASSES:
        return lines + [f"{k} classes, more than {MAX_TABLE_CLASSES}: the per-class scores and the confusion matrix "
                        "are left out here (--json has them)"]
    return lines + _class_tables(scores)


def _class_tables(scores):
    """The per-class rows and the confusion matrix of ``scores``, headed by the class names (cut to ``NAME_WIDTH``)."""
    names = [_cut(str(c)) for c in scores["classes"]]
    width = max(5, *map(len, names))
    lines = [f"{'class':<{width}}  precision  recall      f1  support"]
    for i, name in enumerate(names):
        lines.append(f"{name:<{width}}  {scores['precision'][i]:9.4f}  {scores['recall'][i]:6.4f}  "
                     f"{scores['f1'][i]:6.4f}  {scores['support'][i]:7d}")
    m = scores["confusion_matrix"]
    cell = max(3, *(len(n) for n in names), *(len(str(v)) for row in m for v in row))
    lines.append("confusion matrix (rows: true class, columns: predicted):")
    lines.append(" " * width + "".join(f" {n:>{cell}}" for n in names))
    lines += [f"{name:<{width}}" + "".join(f" {v:>{cell}}" for v in row) for name, row in zip(names, m, strict=True)]
    return lines


def _cut(name):
    return name if len(name) <= NAME_WIDTH else name[:NAME_WIDTH - 1] + "…"


def divergence_advice(weight_decay, lr):
    """What to change after a divergence: the weight decay when it is what blew up, else the learning rate."""
    if weight_decay and (lr is None or weight_decay * lr >= 1):
        if lr is None:
            return f"the weight decay --weight-decay {weight_decay:g} may be too strong: try a smaller one"
        factor = 1 - weight_decay * lr
        return (f"the weight decay is too strong for this learning rate: --weight-decay {weight_decay:g} with --lr "
                f"{lr:g} multiplies every weight by 1 − λ·lr = {factor:.3g} at each step; try --weight-decay "
                f"below {1 / lr:g}")
    if lr is not None:
        return f"try a lower learning rate than --lr {lr:g}"
    return "the data may need rescaling"
