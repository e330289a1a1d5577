"""What ``train.py``'s options do: train, evaluate or predict, save and report, and every refusal in its words.

The library validates its own arguments and raises a ``ParameterError`` naming the parameter; ``FLAGS`` is
the one place where those names become this command line's flags. Checked here are only the command line's
own concerns: paths and outputs, flags that make no sense together or would be ignored, the size of
generated data, and whether ``--plot`` can draw. On a CSV table (``--data``) the options not given follow a
recipe that suits real tables (``TABLE_RECIPE``). Ctrl-C and SIGTERM stop a run after the current step, and
the best model so far is saved.
"""

import math
import sys
from dataclasses import dataclass, replace

from app.cli import UsageError, dumps_strict, flag_errors, parse_widths, print_json
from app.experiment import check_seed, labels_for, load_dataset, prepare
from app.learner import load_learner_classes, unused, whose
from app.outcome import Keeper, divergence_advice, path_line, poor_fit_line, result_object, summary_line
from app.outputs import check_outputs
from app.pictures import ascii_regions, plot_run
from app.predictions import write_predictions
from app.progress import Progress
from app.regression import regression_metrics
from app.signals import stoppable
from app.tables import evaluation_targets, model_columns, read_validation, training_dataset
from data import check_val_fraction, read_table
from data.csv_loader import LAST
from model import load
from model.builders import Architecture
from model.training import TrainingConfig, TrainingDiverged, TrainingInterrupted

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
#: the defaults of the options a recipe sets: the handout's on the generated sets; on a CSV table, where
#: 3 hidden units and SGD at lr 1 diverge, a wider network, Adam and early stopping (reaches val acc >= 0.9 on
#: scikit-learn's digits, wine and breast-cancer data, >= 0.85 on iris); an option given always wins
HANDOUT_RECIPE = {"hidden": "3", "hidden_bias": False, "optimizer": "sgd", "lr": None, "patience": None}
TABLE_RECIPE = {"hidden": "64", "hidden_bias": True, "optimizer": "adam", "lr": 0.003, "patience": 10}
#: options that only a training run uses: refused with --evaluate or --predict rather than silently ignored
TRAINING_ONLY = ("--save", "--plot", "--history", "--patience", "--hidden", "--activation", "--hidden-bias",
                 "--no-hidden-bias", "--weight-decay", "--dropout", "--batchnorm", "--fused", "--no-standardize",
                 "--dtype", "--optimizer", "--lr", "--epochs", "--batch-size", "--engine", "--val-fraction",
                 "--val-data", "--features", "--task", "--use")
#: options that describe the generated data sets, ignored with --data: refused there
GENERATOR_ONLY = ("--dataset", "--n-samples", "--noise", "--classes")
#: options that describe a CSV file: they need --data
CSV_ONLY = ("--label", "--features", "--val-data")
USER_ERRORS = (ValueError, OSError, TrainingDiverged, UsageError)


# ---------------------------------------------------------------- before any work


def given_flags(argv):
    """The options spelled on the command line (abbreviations are off, so they are exact)."""
    return {arg.split("=")[0] for arg in argv if arg.startswith("--")}


def check_command_line(a, given):
    """The command line's own rules, before any work: one line, exit 2."""
    if a.n_samples is not None and a.n_samples > MAX_SAMPLES:
        raise UsageError(f"--n-samples must be at most {MAX_SAMPLES:,}, got {a.n_samples}")
    check_modes(a, given)
    check_data_options(a, given)
    if a.plot:
        try:
            import matplotlib  # noqa: F401 -- imported only to learn whether the plot extra is installed
        except ImportError:
            raise UsageError("--plot needs matplotlib: pip install -e '.[plot]'") from None
    check_outputs_of(a)


def check_modes(a, given):
    """``--evaluate`` and ``--predict`` take a model file, train nothing and take no training option."""
    if a.evaluate and a.predict:
        raise UsageError("--evaluate and --predict are two different runs; give one")
    if a.out and not a.predict:
        raise UsageError("--out is where --predict writes; without --predict it would be ignored")
    for flag, model in (("--evaluate", a.evaluate), ("--predict", a.predict)):
        if not model:
            continue
        if not model.endswith(".npz"):
            raise UsageError(f"{flag} wants a model file written by train.py (.npz), got {model!r}")
        ignored = [f for f in TRAINING_ONLY if f in given]
        if ignored:
            raise UsageError(f"{flag} trains nothing, so {', '.join(ignored)} would be ignored; leave them out")
    if a.predict and not (a.data and a.out):
        raise UsageError("--predict needs --data NEW.csv (the rows to predict) and --out PRED.csv")


def check_data_options(a, given):
    """Options that would be ignored with or without ``--data`` are said to be."""
    if a.data:
        ignored = [f for f in GENERATOR_ONLY if f in given]
        if ignored:
            raise UsageError(f"{', '.join(ignored)} describe{'s' if len(ignored) == 1 else ''} the generated data "
                             f"sets; with --data {'it' if len(ignored) == 1 else 'they'} would be ignored: leave "
                             f"{'it' if len(ignored) == 1 else 'them'} out")
    else:
        needs = [f for f in CSV_ONLY if f in given]
        if needs:
            raise UsageError(f"{', '.join(needs)} describe{'s' if len(needs) == 1 else ''} a CSV file: add --data")
        if a.task == "regression":
            raise UsageError("--task regression needs --data: the generated data sets are classes")
    if a.plot and a.task == "regression":
        raise UsageError("--plot draws a classifier's regions and accuracy; a regression has neither")
    if a.val_data and a.val_fraction is not None:
        raise UsageError("--val-data and --val-fraction are two ways to validate; give one")


def check_outputs_of(a):
    """Resolve every output before any work: none may be an input, another output, or a non-file."""
    inputs = [("--data", a.data), ("--evaluate", a.evaluate), ("--predict", a.predict), ("--val-data", a.val_data)]
    inputs += [("--use", spec.rpartition(":")[0]) for spec in a.use if spec.rpartition(":")[0]]
    if a.evaluate:
        return check_outputs([], inputs)
    if a.predict:
        return check_outputs([("--out", a.out, (".csv",))], inputs)
    return check_outputs([("--save", a.save, (".npz",)), ("--plot", a.plot, (".png",)),
                          ("--history", a.history, (".csv", ".json"))], inputs)


def apply_recipe(a):
    """Fill in the options a recipe sets and the command line left out; returns what was chosen, as flags.

    The lr of the recipe goes with its optimizer: another optimizer given keeps its own default lr; its early
    stopping needs a validation set.
    """
    recipe = TABLE_RECIPE if a.data else HANDOUT_RECIPE
    chosen = []
    for key, value in recipe.items():
        if getattr(a, key) is not None or value is None:
            continue
        if key == "lr" and a.optimizer != recipe["optimizer"]:
            continue
        if key == "patience" and a.val_fraction == 0 and not a.val_data:
            continue  # early stopping needs the validation that --val-fraction 0 leaves out
        setattr(a, key, value)
        chosen.append(key)
    for key, default in HANDOUT_RECIPE.items():
        if getattr(a, key) is None:
            setattr(a, key, default)
    return chosen if a.data else []


def recipe_text(a, chosen):
    """``--hidden 64 --hidden-bias --optimizer adam --lr 0.003 --patience 10``: the recipe's choices as flags."""
    words = []
    for key in chosen:
        flag = "--" + key.replace("_", "-")
        value = getattr(a, key)
        words.append(flag if value is True else f"{flag} {value:g}" if isinstance(value, float) else f"{flag} {value}")
    return " ".join(words)


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
    check_val_fraction(0.2 if a.val_fraction is None else a.val_fraction)
    check_seed(a.seed)
    return architecture, config


def learner_classes(a):
    """The ``--use`` classes, loaded (not built) before any data: one line, exit 2, for any that cannot be."""
    try:
        return load_learner_classes(a.use)
    except ValueError as exc:
        raise UsageError(f"--use {exc}") from None


# ---------------------------------------------------------------- the work


def make_log(a):
    """``log(message)``: progress lines on stdout (stderr with ``--json``), none with ``--quiet``."""
    stream = sys.stderr if a.json else sys.stdout

    def log(message=""):
        if not a.quiet:
            print(message, file=stream, flush=True)

    log.stream = stream
    return log


def generated_data(a):
    return load_dataset(a.dataset or "circles", None, 1000 if a.n_samples is None else a.n_samples, a.noise,
                        a.seed, 2 if a.classes is None else a.classes)


def training_data(a):
    """``(Dataset, label name)`` from ``--data`` (label, features and task as asked) or a generator."""
    if not a.data:
        return generated_data(a), None
    features = None if a.features is None else [f.strip() for f in a.features.split(",")]
    label = LAST if a.label is None else a.label
    table = read_table(a.data, label=label, features=features)
    return training_dataset(table, a.task), table.label_name


def evaluate(a):
    """``--evaluate``: the saved model's scores on the data, columns by name where the model saved them."""
    net = load(a.evaluate)
    if a.data:
        table = read_table(a.data, choose=model_columns(net, a.label))
        X, y, source = table.X, evaluation_targets(net, table), a.data
    else:
        data = generated_data(a)
        X, y, source = data.X, labels_for(net, data), data.source
    metrics = regression_metrics(net, X, y) if net.target == "values" else net.evaluate(X, y)
    if not math.isfinite(metrics["loss"]):
        raise ValueError(f"{a.evaluate}: the loss on {source} is not finite (the data is far outside "
                         "what the model was trained on)")
    if a.json:
        print_json(a, dumps_strict({"model": a.evaluate, "data": source, **metrics}))
    elif net.target == "values":
        print(f"{a.evaluate} on {source}: rmse {metrics['rmse']:.4g}, r2 {metrics['r2']:.4f}, "
              f"mse {metrics['loss']:.4g}, n {metrics['n']}")
    else:
        print(f"{a.evaluate} on {source}: accuracy {metrics['accuracy']:.4f}, loss {metrics['loss']:.4f}, "
              f"n {metrics['n']}")
    return 0


def predict(a):
    """``--predict``: the saved model's predictions for every row of ``--data``, written to ``--out``."""
    net = load(a.predict)
    count = write_predictions(net, a.data, a.out, a.label)
    if a.json:
        print_json(a, dumps_strict({"model": a.predict, "data": a.data, "out": a.out, "n": count}))
    else:
        print(f"{a.predict} on {a.data}: predicted {count} rows into {a.out}")
    return 0


def describe_data(a, run, config, label_name, log):
    """The lines about the data, the split and the model."""
    data = run.data
    n, d = data.X.shape
    what = "real targets" if data.classes is None else f"{data.n_classes} classes"
    label = f" (label {label_name!r})" if label_name else ""
    log(f"data: {data.source}, {n} points, {d} features, {what}{label}")
    if a.val_data:
        log(f"validation: {a.val_data}, {len(run.y_val)} rows")
    elif run.has_validation:
        how = "stratified" if data.classes is not None else "at random"
        log(f"split: {len(run.y_train)} training rows, {len(run.y_val)} validation ({how})")
    if run.scaling is not None:
        log(f"targets standardised for training (mean {run.scaling.mean:.4g}, sd {run.scaling.scale:.4g}): the "
            f"per-epoch losses are in those units")
    lr = "" if config.learning_rate is None else f" lr {config.learning_rate:g}"
    log(f"model: {run.net.describe()}; {a.optimizer}{lr}, {a.dtype}")


def without_validation(a, run, config, chosen):
    """A split that leaves no validation rows (a tiny file) trains without them: returns the settings (the
    recipe's early stopping dropped) and the line that says so (None when there is validation, or none asked)."""
    if run.has_validation or (a.val_fraction == 0 and not a.val_data):
        return config, None
    per_class = " per class" if run.data.classes is not None else ""
    note = (f"no validation rows: {a.val_fraction or 0.2:g} of {len(run.data.y)} rows rounds to none{per_class}; "
            f"training without validation")
    if "patience" in chosen:
        chosen.remove("patience")
        config = replace(config, patience=None)
    return config, note


def train_command(a, stop):
    """Build, train, save and report; an interruption or a divergence still saves what can be kept."""
    log = make_log(a)
    chosen = apply_recipe(a)
    with flag_errors(FLAGS):
        architecture, config = settings_of(a)
    learner = learner_classes(a)
    with flag_errors(FLAGS):
        data, label_name = training_data(a)
        validation = read_validation(a.val_data, data, label_name, a.label, None) if a.val_data else None
        run = prepare(data, architecture, 0.2 if a.val_fraction is None else a.val_fraction, a.seed, validation,
                      {name: c.cls for name, c in learner.items()})
    for c in unused(learner, run.net):
        raise UsageError(f"--use {c.spec}: the network has no {c.name} to replace ({run.net.describe()})")
    config, note = without_validation(a, run, config, chosen)
    if chosen:
        log(f"settings for a table: {recipe_text(a, chosen)} (options given win; the generated data sets keep "
            f"the handout's 3 hidden units and sgd at lr 1)")
    describe_data(a, run, config, label_name, log)
    if note:
        log(note)
    job = Training(a, run, config, architecture.weight_decay, learner, log, stop, label_name, recipe_text(a, chosen))
    return job.train_and_save()


@dataclass
class Training:
    """One training run of the command line, from the first step to the files and the report.

    ``a`` the options; ``run`` the ``app.experiment.Run``; ``config`` its ``TrainingConfig``; ``learner`` the
    ``--use`` classes; ``log`` where progress goes; ``stop`` the ``app.signals.StopState``; ``label`` the label
    column's name; ``settings`` the recipe's choices, as flags.
    """

    a: object
    run: object
    config: TrainingConfig
    weight_decay: float
    learner: dict
    log: object
    stop: object
    label: object
    settings: str

    def train_and_save(self):
        a, run, log = self.a, self.run, self.log
        progress = None if a.quiet else Progress(log.stream, self.config.epochs, run.regression, run.has_validation)
        keeper = Keeper(run.net, run.has_validation)
        try:
            with flag_errors(FLAGS):
                run.train(self.config, on_epoch=self._on_epoch(keeper, progress))
        except TrainingInterrupted:
            _close(progress)
            return self.save_interrupted()
        except TrainingDiverged:
            _close(progress)
            return self.save_diverged(keeper)
        except Exception as exc:
            if not self.learner or isinstance(exc, UsageError):
                raise
            raise ValueError(f"training with your {whose(self.learner)} failed: {type(exc).__name__}: {exc} (check "
                             f"each class first: python gradcheck.py --layer PATH.py:Class)") from exc
        _close(progress, run.history)
        run.finish()
        metrics = run.metrics()
        log(summary_line(run, metrics))
        note = poor_fit_line(run, metrics)
        if note:
            print(f"{PROG}: {note}", file=sys.stderr)
        self.save_outputs()
        self.report(metrics)
        return 0

    def _on_epoch(self, keeper, progress):
        """The callback ``train()`` calls after each epoch: the path line once, the keeper, the progress."""
        path_said = False

        def on_epoch(epoch, history):
            nonlocal path_said
            if not path_said:
                self.log(path_line(history, self.learner))
                path_said = True
            keeper.note(epoch, history)
            if progress is not None:
                progress(epoch, history)

        return on_epoch

    def save_model(self):
        """The model and (if asked for) the history, each written atomically; a signal waits until both are."""
        with self.stop.deferred():
            self.run.network_to_save().save(self.a.save)
            if self.a.history:
                self.run.history.save(self.a.history)

    def save_outputs(self):
        """The model and the history, said as soon as they are written; then the plot if asked for."""
        a, run = self.a, self.run
        self.save_model()
        self.log(f"saved model to {a.save}" + (f", history to {a.history}" if a.history else "")
                 + (" (the library's layer classes with your trained weights: model files name only the "
                    "library's)" if run.library_build else ""))
        if a.plot:
            data = run.data
            plot_run(run.net, data.X, data.y, run.history, a.plot, feature_names=data.feature_names,
                     classes=data.classes, title=f"{run.net.describe()}; {a.optimizer}, {a.epochs} epochs")
            self.log(f"saved plot to {a.plot}")

    def save_interrupted(self):
        """Ctrl-C or SIGTERM in training: the best weights so far are saved, with the history (exit 130 / 143)."""
        a, run, stop = self.a, self.run, self.stop
        h = run.history
        if not h.epoch:
            print(f"{PROG}: error: stopped by {stop.name} before the first epoch ended; nothing was saved",
                  file=sys.stderr)
            return stop.status
        run.finish()
        metrics = run.metrics()
        self.save_model()
        kept = h.final.get("epoch", h.epoch[-1])
        why = "the best validation loss" if h.restored_best else "the last complete epoch"
        self.log(summary_line(run, metrics))
        if a.json:
            print_json(a, dumps_strict(result_object(run, metrics, a.save, self.label)))
        print(f"{PROG}: error: stopped by {stop.name} in epoch {h.epoch[-1] + 1}; saved the model of epoch {kept} "
              f"({why}) to {a.save}" + (f", history to {a.history}" if a.history else ""), file=sys.stderr)
        return stop.status

    def save_diverged(self, keeper):
        """A divergence after at least one good epoch saves the best model so far and says so (exit 1)."""
        h = self.run.history
        loss = f" (loss {h.train_loss[-1]:.3g})" if h.epoch else ""
        advice = divergence_advice(self.weight_decay, self.config.learning_rate)
        message = f"training diverged in epoch {h.epoch[-1] if h.epoch else 1}{loss}; {advice}"
        if keeper.epoch is None:
            raise TrainingDiverged(f"{message}; no model was saved", h)
        keeper.restore()
        self.run.finish()
        self.save_model()
        raise TrainingDiverged(f"{message}; saved the model of epoch {keeper.epoch} ({keeper.why}) to {self.a.save}",
                               h)

    def report(self, metrics):
        """The picture of 2-D regions, and with ``--json`` the one result object."""
        a, run = self.a, self.run
        if run.data.X.shape[1] == 2 and not a.json and not run.regression:
            self.log(ascii_regions(run.net, run.data.X, run.data.y))
        if a.json:
            print_json(a, dumps_strict(result_object(run, metrics, a.save, self.label, self.settings or None)))


def _close(progress, history=None):
    if progress is not None:
        progress.close(history)


def run(a, argv=()):
    """Check the command line, then predict, evaluate, or train, save and report; SIGINT and SIGTERM stop
    a run where it is (exit 130 / 143), keeping what training has reached."""
    given = given_flags(argv)
    check_command_line(a, given)
    with stoppable() as stop:
        with flag_errors(FLAGS):
            check_seed(a.seed)
        if a.predict:
            return predict(a)
        if a.evaluate:
            with flag_errors(FLAGS):
                return evaluate(a)
        return train_command(a, stop)


