"""What ``train.py``'s options do: train, evaluate, predict or export, save and report, and every refusal in its words.

The options are read once into ``app.train_options.Settings`` (checked there, and by the library, which
raises a ``ParameterError`` that ``FLAGS`` turns into the flag's words). Ctrl-C and SIGTERM stop a training
after the current step, and the best model so far is saved.
"""

import math
import sys
from dataclasses import dataclass, replace

import numpy as np

from app.cli import UsageError, dumps_strict, flag_errors, print_json
from app.learner import check_command, load_learner_classes, unused, whose
from app.outcome import (divergence_advice, path_line, poor_fit_line, r2_text, result_object, scores_of, scores_text,
                         summary_line, validation_scores)
from app.pictures import ascii_regions, plot_run
from app.predictions import write_predictions
from app.progress import Progress
from app.signals import stoppable
from app.train_options import DEFAULTS, FLAGS, class_weights, read_settings, recipe_text
from data import read_table
from data.csv_loader import LAST, Cells
from data.synthetic import SYMMETRIC
from data.table import shown
from layers.conv import sizes_text
from model import load, onnx_export, to_onnx
from model.builders import odd_logits
from model.experiment import load_dataset, prepare
from model.optim import OPTIMIZERS
from model.regression import regression_metrics
from model.table_columns import (evaluation_targets, labels_in, model_cells, model_columns, model_inputs,
                                 read_validation)
from model.training import TrainingConfig, TrainingDiverged, TrainingInterrupted

PROG = "train.py"
USER_ERRORS = (ValueError, OSError, TrainingDiverged, UsageError)
#: a label column holding more distinct numbers than this looks like values to predict, not classes
VALUES_AT = 50


def make_log(s):
    """``log(message)``: progress lines on stdout (stderr with ``--json``); with ``--quiet`` only the ``result`` line,
    and not even that with ``--json``, whose object holds the result."""
    stream = sys.stderr if s.json else sys.stdout

    def log(message="", result=False):
        if not s.quiet or (result and not s.json):
            print(message, file=stream, flush=True)

    log.stream = stream
    return log


def generated_data(s):
    return load_dataset(s.dataset, s.n_samples, s.noise, s.seed, s.classes)


def training_data(s):
    """``(Dataset, label name)`` from ``--data`` (label, features and task as asked) or a generator."""
    if not s.data:
        return generated_data(s), None
    features = None if s.features is None else [f.strip() for f in s.features.split(",")]
    label = LAST if s.label is None else s.label
    table = read_table(s.data, label=label, features=features, header=s.header, cells=Cells(gaps=True, text="auto"))
    if s.image and (table.gaps or table.column_texts):
        refuse_image_cells(s, label, features)
    return training_dataset(table, s.task), table.label_name


def refuse_image_cells(s, label, features):
    """Refuse an ``--image`` table with a missing or text cell, in one line naming its line and column: each cell
    is a pixel, and the encoding's missing-indicator and one-hot columns would make the rows no C·H·W images
    (imputing a pixel silently is a modelling choice left to the user). The reader, asked for numbers only,
    names the first such cell."""
    try:
        read_table(s.data, label=label, features=features, header=s.header, cells=Cells())
    except ValueError as exc:
        raise ValueError(f"--image {sizes_text(s.image)} reads every feature cell as a pixel, a number: "
                         f"{exc} (a missing or text cell; fill it, or drop its row)") from None


def training_dataset(table, task=None):
    """The ``Dataset`` ``task`` asks of ``table`` ("classification", "regression", or None: classes, unless the
    labels look like values — many distinct numbers, or numbers that are not integers — which is refused
    with a message that names ``--task``)."""
    if task == "regression":
        return table.regression()
    if task is None and table.labels_are_numbers:
        k = table.distinct_labels()
        if k > VALUES_AT or table.non_integral is not None:
            what = "numbers that are not all integers" if table.non_integral is not None else f"{k} distinct numbers"
            raise ValueError(f"{table.source}: the label column {table.label_name!r} holds {what}: values to "
                             f"predict rather than classes; add --task regression (or --task classification "
                             f"to train {k} classes anyway)")
    return table.classification()


def evaluate(s):
    """``--evaluate``: the saved model's scores on the data, columns by name where the model saved them: its
    loss and accuracy (a regression's rmse, r2 and mse) in one line, then the scores ``app.outcome.scores_text``
    shows (in ``--json``, under ``metrics``)."""
    net = load(s.evaluate)
    if s.data:
        table = read_table(s.data, choose=model_columns(net, s.label), header=s.header, cells=model_cells(net))
        X, y, source = model_inputs(net, table.X, table.column_texts), evaluation_targets(net, table), s.data
    else:
        data = generated_data(s)
        X, y, source = data.X, labels_in(net, data), data.source
    with np.errstate(all="ignore"):  # an overflow is refused below, in one line, not warned about
        metrics = regression_metrics(net, X, y) if net.target == "values" else net.evaluate(X, y)
    if not math.isfinite(metrics["loss"]):
        raise ValueError(f"{s.evaluate}: the loss on {source} is not finite (the data is far outside "
                         "what the model was trained on)")
    regression = metrics if net.target == "values" else None
    scores = scores_of(net, X, y, regression) if s.json or not s.quiet else None  # --quiet: its one line only
    if s.json:
        print_json(s, dumps_strict({"model": s.evaluate, "data": source, **metrics, "metrics": scores}))
        return 0
    if net.target == "values":
        print(f"{s.evaluate} on {source}: rmse {metrics['rmse']:.4g}, r2 {r2_text(metrics['r2'])}, "
              f"mse {metrics['loss']:.4g}, n {metrics['n']}")
    else:
        print(f"{s.evaluate} on {source}: accuracy {metrics['accuracy']:.4f}, loss {metrics['loss']:.4f}, "
              f"n {metrics['n']}")
    if scores is not None:
        print("\n".join(scores_text(scores)))
    return 0


def predict(s):
    """``--predict``: the saved model's predictions for every row of ``--data``, written to ``--out``."""
    net = load(s.predict)
    count = write_predictions(net, s.data, s.out, s.label, s.header, s.id)
    if s.json:
        print_json(s, dumps_strict({"model": s.predict, "data": s.data, "out": s.out, "n": count}))
    else:
        print(f"{s.predict} on {s.data}: predicted {count} rows into {s.out}")
    return 0


def export(s):
    """``--export``: the saved model as an ONNX model in ``--out`` (``model.to_onnx``), said in one line."""
    written = to_onnx(load(s.export), s.out)
    if s.json:
        print_json(s, dumps_strict({"model": s.export, "out": s.out, "onnx": onnx_export.describe(written)}))
    else:
        print(f"{s.export}: exported to {s.out} (ONNX: {onnx_export.describe(written)})")
    return 0


def describe_data(s, experiment, label_name, log):
    """The lines about the data, the split and the model."""
    data = experiment.data
    n, d = data.X.shape
    what = "real targets" if data.classes is None else f"{data.n_classes} classes"
    label = f" (label {label_name!r})" if label_name else ""
    log(f"data: {data.source}, {n} points, {d} features, {what}{label}")
    if experiment.net.encoding is not None:
        log(experiment.net.encoding.describe())
    if s.val_data:
        log(f"validation: {s.val_data}, {len(experiment.y_val)} rows")
    elif experiment.has_validation:
        how = "stratified" if data.classes is not None else "at random"
        log(f"split: {len(experiment.y_train)} training rows, {len(experiment.y_val)} validation ({how})")
    if experiment.scaling is not None:
        log(f"targets standardised for training (mean {experiment.scaling.mean:.4g}, sd "
            f"{experiment.scaling.scale:.4g}): the per-epoch losses are in those units")
    lr = "" if s.config.learning_rate is None else f" lr {s.config.learning_rate:g}"
    log(f"model: {s.architecture.describe(experiment.net)}; {s.optimizer}{lr}, {s.dtype}")


def weigh_classes(s, experiment):
    """``--class-weight``: its weights (``app.train_options.class_weights``) become the loss's ``class_weight``,
    saved with the model. Returns the line that says them, or None without the option."""
    if s.class_weight is None:
        return None
    criterion, classes = experiment.net.criterion, experiment.data.classes
    if not callable(getattr(criterion, "weigh", None)):
        raise UsageError(f"--class-weight: the loss {type(criterion).__name__} takes no class_weight")
    criterion.weigh(class_weights(s.class_weight, classes, experiment.y_train))
    return "class weights: " + ", ".join(f"{shown(c)}={w:.4g}" for c, w in zip(classes, criterion.class_weight,
                                                                                strict=True))


def without_validation(s, experiment):
    """A split that leaves no validation rows (a tiny file) trains without them: returns the training settings
    (the recipe's early stopping dropped), the recipe's choices left, and the line that says so (None when
    there is validation, or none was asked for)."""
    if experiment.has_validation or (s.val_fraction == 0 and not s.val_data):
        return s.config, s.chosen, None
    per_class = " per class" if experiment.data.classes is not None else ""
    note = (f"no validation rows: {s.val_fraction:g} of {len(experiment.data.y)} rows rounds to none{per_class}; "
            f"training without validation")
    config = replace(s.config, patience=None) if "patience" in s.chosen else s.config
    return config, tuple(k for k in s.chosen if k != "patience"), note


def train_command(s, stop):
    """Build, train, save and report; an interruption or a divergence still saves what can be kept."""
    log = make_log(s)
    learner = load_learner_classes(s.use)  # loaded (not built) before any data
    if learner and not s.config.check_layers:
        log(f"note: your {whose(learner)} train unchecked (--no-layer-check): a wrong backward trains wrong")
    with flag_errors(FLAGS):
        data, label_name = training_data(s)
        validation = read_validation(s.val_data, data, label_name, s.label, s.header) if s.val_data else None
        experiment = prepare(data, s.architecture, s.val_fraction, s.seed, validation,
                             {name: c.cls for name, c in learner.items()})
    if data.raw:  # the network reads the encoded rows: the raw table need not stay beside them
        data.release_rows()
    for c in unused(learner, experiment.net):
        raise UsageError(f"--use {c.spec}: the network has no {c.name} to replace ({experiment.net.describe()})")
    weighted = weigh_classes(s, experiment)
    config, chosen, note = without_validation(s, experiment)
    recipe = recipe_text(s, chosen)
    if recipe:
        optimizer = DEFAULTS["optimizer"]
        log(f"settings for a table: {recipe} (options given win; the generated data sets keep the handout's "
            f"{DEFAULTS['hidden']} hidden units and {optimizer} at lr {OPTIMIZERS[optimizer].default_lr:g})")
    if not s.data and not learner and s.dataset in SYMMETRIC and odd_logits(experiment.net):
        log(f"note: {s.dataset} puts the same class at x and -x, and with {s.architecture.activation} and no hidden "
            "biases this network's logits have z(x) + z(-x) the same for every x: it cannot separate them "
            "(add --hidden-bias, or use --activation relu)")
    describe_data(s, experiment, label_name, log)
    if weighted:
        log(weighted)
    if note:
        log(note)
    return Training(s, experiment, config, learner, log, stop, label_name, recipe).train_and_save()


@dataclass
class Training:
    """One training of the command line, from the first step to the files and the report.

    ``s`` the ``Settings``; ``experiment`` the ``model.experiment.Experiment``; ``config`` its
    ``TrainingConfig``; ``learner`` the ``--use`` classes; ``log`` where progress goes; ``stop`` the
    ``app.signals.StopState``; ``label`` the label column's name; ``recipe`` the recipe's choices, as flags.
    """

    s: object
    experiment: object
    config: TrainingConfig
    learner: dict
    log: object
    stop: object
    label: object
    recipe: str
    progress: object = None  # the Progress of this training (None with --quiet)

    def train_and_save(self):
        s, experiment, log = self.s, self.experiment, self.log
        self.progress = None if s.quiet else Progress(log.stream, self.config.epochs, experiment.regression,
                                                      experiment.has_validation)
        try:
            with flag_errors(FLAGS):
                live = self.progress is not None and self.progress.live  # off a terminal the hook draws nothing
                experiment.train(self.config, on_epoch=self.on_epoch,
                                 on_batch=self.progress.within_epoch if live else None)
        except TrainingInterrupted as exc:
            _close(self.progress)
            return self.save_interrupted(exc.kept)
        except TrainingDiverged as exc:
            _close(self.progress)
            return self.save_diverged(exc.kept)
        except (Exception, SystemExit) as exc:  # a learner's sys.exit() too: their layer failed, not the run
            if not self.learner or isinstance(exc, UsageError):
                raise
            raise ValueError(f"with your {whose(self.learner)}: {type(exc).__name__}: {exc} (each class alone: "
                             f"{check_command(self.learner)})") from exc
        _close(self.progress, experiment.history)
        experiment.finish()
        metrics = experiment.metrics()
        log(summary_line(experiment, metrics), result=True)
        note = poor_fit_line(experiment, metrics)
        if note:
            print(f"{PROG}: {note}", file=sys.stderr)
        self.save_outputs()
        self.report(metrics)
        return 0

    def on_epoch(self, epoch, history):
        """The callback the training calls after each epoch: the path line after the first, then the progress."""
        if len(history.epoch) == 1:
            self.log(path_line(history, self.learner))
        if self.progress is not None:
            self.progress(epoch, history)

    def save_model(self):
        """The model and (if asked for) the history, each written atomically; a signal waits until both are.
        Returns where they went, as the messages say it."""
        with self.stop.deferred():
            self.experiment.network_to_save().save(self.s.save)
            if self.s.history:
                self.experiment.history.save(self.s.history)
        return self.s.save + (f", history to {self.s.history}" if self.s.history else "")

    def save_outputs(self):
        """The model and the history, said as soon as they are written; then the plot if asked for."""
        s, experiment = self.s, self.experiment
        saved = self.save_model()
        self.log(f"saved model to {saved}"
                 + (" (the library's layer classes with your trained weights: model files name only the "
                    "library's)" if experiment.library_build else ""))
        if s.plot:
            data, net = experiment.data, experiment.net
            X, y, names = network_rows(experiment)
            validation = (experiment.X_val, experiment.y_val) if experiment.has_validation else None
            plot_run(net, X, y, experiment.history, s.plot, feature_names=names,
                     classes=data.classes, title=f"{net.describe()}; {s.optimizer}, {s.epochs} epochs",
                     validation=validation)
            self.log(f"saved plot to {s.plot}")

    def save_interrupted(self, keeper):
        """Ctrl-C or SIGTERM in training: the best weights so far (``keeper``'s, the training loop's) are saved,
        with the history (exit 130 / 143)."""
        s, experiment, stop = self.s, self.experiment, self.stop.last
        h = experiment.history
        if not h.epoch:
            print(f"{PROG}: error: stopped by {stop.name} before the first epoch ended; nothing was saved",
                  file=sys.stderr)
            return stop.status
        experiment.finish()
        metrics = experiment.metrics()
        saved = self.save_model()
        kept = h.final.get("epoch", h.epoch[-1])
        self.log(summary_line(experiment, metrics), result=True)
        if s.json:
            print_json(s, dumps_strict(result_object(experiment, metrics, s.save, self.label)))
        print(f"{PROG}: error: stopped by {stop.name} in epoch {h.epoch[-1] + 1}; saved the model of epoch {kept} "
              f"({keeper.why}) to {saved}", file=sys.stderr)
        return stop.status

    def save_diverged(self, keeper):
        """A divergence after at least one good epoch saves the best model so far and says so (exit 1); ``keeper`` is
        the training loop's (``model.keeper.Keeper``), carried by the ``TrainingDiverged``."""
        h = self.experiment.history
        loss = f" (loss {h.train_loss[-1]:.3g})" if h.epoch else ""
        advice = divergence_advice(self.s.architecture.weight_decay, self.config.learning_rate)
        message = f"training diverged in epoch {h.epoch[-1] if h.epoch else 1}{loss}; {advice}"
        if keeper.epoch is None:
            raise TrainingDiverged(f"{message}; no model was saved", h)
        keeper.restore()
        self.experiment.finish()
        self.save_model()
        raise TrainingDiverged(f"{message}; saved the model of epoch {keeper.epoch} ({keeper.why}) to {self.s.save}", h)

    def report(self, metrics):
        """The picture of 2-D regions and the validation split's scores (``app.outcome.scores_text``), and with
        ``--json`` the one result object (the scores under ``val_metrics``)."""
        s, experiment = self.s, self.experiment
        X, y, _ = network_rows(experiment)
        if X.shape[1] == 2 and not s.json and not experiment.regression:
            self.log(ascii_regions(experiment.net, X, y))
        scores = validation_scores(experiment) if s.json or not s.quiet else None
        if scores is not None and not s.json:
            self.log("\n".join(scores_text(scores, f"validation split ({scores['n']} rows): ")))
        if s.json:
            print_json(s, dumps_strict(result_object(experiment, metrics, s.save, self.label, self.recipe or None,
                                                     scores)))


def network_rows(experiment):
    """``(X, y, feature names)`` of the rows as the network reads them: the data, or — when the table was encoded
    (``net.encoding``) — the encoded training rows."""
    data, encoding = experiment.data, experiment.net.encoding
    if encoding is None:
        return data.X, data.y, data.feature_names
    return experiment.X_train, experiment.y_train, encoding.output_names()


def _close(progress, history=None):
    if progress is not None:
        progress.close(history)


def run_command(namespace):
    """Read the settings (every refusal first), then predict, evaluate, or train, save and report; SIGINT and
    SIGTERM stop a training where it is (exit 130 / 143), keeping what it has reached."""
    s = read_settings(namespace)
    with stoppable() as stop:
        if s.predict:
            return predict(s)
        if s.export:
            return export(s)
        if s.evaluate:
            with flag_errors(FLAGS):
                return evaluate(s)
        return train_command(s, stop)
