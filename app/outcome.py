"""What ``train.py`` says about a run: the path that trained it, the summary, the JSON object, the advice after a
divergence. The weights a run falls back on are the training loop's (``model.keeper``)."""

from .learner import whose


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


def summary_line(run, metrics):
    """``done: 5000 steps in 0.070 s; train acc 1.0000, val acc 1.0000, …`` (the parts that apply)."""
    h = run.history
    stop = (f", stopped early at epoch {h.epoch[-1]}; the model is epoch {h.final.get('epoch')}'s (best "
            f"validation loss)" if h.stopped_early and h.restored_best else
            f", stopped early at epoch {h.epoch[-1]}" if h.stopped_early else "")
    parts, losses = [], []
    for part in ("train", "val") if run.has_validation else ("train",):
        if run.regression:
            parts.append(f"{part} rmse {metrics[f'{part}_rmse']:.4g}, {part} r2 {metrics[f'{part}_r2']:.4f}")
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


def result_object(run, metrics, model_path, label=None, settings=None):
    """The one JSON object ``train.py --json`` prints (before strict-JSON cleaning)."""
    h = run.history
    result = {"task": "regression" if run.regression else "classification", **metrics,
              "epoch": h.final.get("epoch", 0) if h.final else 0, "epochs": h.epoch[-1] if h.epoch else 0,
              "stopped_early": h.stopped_early, "steps": h.steps, "seconds": h.seconds, "engine": h.engine,
              "engine_note": h.engine_note, "classes": run.data.classes, "label": label, "model": str(model_path)}
    if h.interrupted:
        result["interrupted"] = True
    if settings:
        result["settings"] = settings
    return result


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
