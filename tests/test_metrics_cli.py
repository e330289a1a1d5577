"""The metrics train.py reports: --evaluate and the end of training, as text and under stable --json keys,
equal to sklearn.metrics on the saved model's own predictions."""

import json

import numpy as np
import pytest

import train
from app.outcome import MAX_TABLE_CLASSES, scores_text
from model import load

from .conftest import call_main
from .test_multiclass_cli import iris_like_csv

sk = pytest.importorskip("sklearn.metrics", reason="the comparison needs scikit-learn (the test extra)")
SPECIES = ["setosa", "versicolor", "virginica"]
CLASS_KEYS = {"n", "classes", "precision", "recall", "f1", "support", "macro_f1", "weighted_f1", "confusion_matrix",
              "roc_auc"}


def run(capsys, *argv):
    return call_main(train.main, capsys, *argv)


def read_rows(path):
    """Features (N, 4) and species indices (N,) of an ``iris_like_csv`` file."""
    rows = [line.split(",") for line in path.read_text().splitlines()[1:]]
    return np.array([[float(v) for v in r[:-1]] for r in rows]), np.array([SPECIES.index(r[-1]) for r in rows])


def assert_equal_to_sklearn(scores, net, X, y):
    pred, proba = net.predict(X), net.predict_proba(X)
    k = len(scores["classes"])
    labels = list(range(k))
    precision, recall, f1, support = sk.precision_recall_fscore_support(y, pred, labels=labels, zero_division=0)
    np.testing.assert_allclose(scores["precision"], precision, atol=1e-12)
    np.testing.assert_allclose(scores["recall"], recall, atol=1e-12)
    np.testing.assert_allclose(scores["f1"], f1, atol=1e-12)
    assert scores["support"] == support.tolist() and scores["n"] == len(y)
    assert scores["macro_f1"] == pytest.approx(sk.f1_score(y, pred, average="macro", zero_division=0), abs=1e-12)
    assert scores["weighted_f1"] == pytest.approx(sk.f1_score(y, pred, average="weighted", zero_division=0),
                                                  abs=1e-12)
    assert scores["confusion_matrix"] == sk.confusion_matrix(y, pred, labels=labels).tolist()
    auc = (sk.roc_auc_score(y, proba if proba.ndim == 1 else proba[:, 1]) if k == 2
           else sk.roc_auc_score(y, proba, multi_class="ovr", average="macro", labels=labels))
    assert scores["roc_auc"] == pytest.approx(auc, abs=1e-12)


@pytest.fixture
def iris_model(tmp_path, capsys):
    """A model trained briefly (so that it still errs) on an iris-like file, and a second file to score."""
    csv, model = iris_like_csv(tmp_path / "iris.csv"), tmp_path / "m.npz"
    other = iris_like_csv(tmp_path / "other.csv", per_class=20, seed=1)
    code, _, err = run(capsys, "--data", csv, "--epochs", "3", "--hidden", "4", "--quiet", "--save", model)
    assert code == 0, err
    return model, other


def test_evaluate_json_metrics_equal_sklearns_on_the_models_predictions(iris_model, capsys):
    model, other = iris_model
    code, out, err = run(capsys, "--evaluate", model, "--data", other, "--json")
    assert code == 0, err
    result = json.loads(out)
    assert {"accuracy", "loss", "n"} <= set(result) and set(result["metrics"]) == CLASS_KEYS
    assert result["metrics"]["classes"] == SPECIES
    assert_equal_to_sklearn(result["metrics"], load(model), *read_rows(other))


def test_training_json_reports_the_validation_files_metrics(tmp_path, capsys):
    csv, val, model = iris_like_csv(tmp_path / "i.csv"), iris_like_csv(tmp_path / "v.csv", 15, 2), tmp_path / "m.npz"
    code, out, err = run(capsys, "--data", csv, "--val-data", val, "--epochs", "3", "--hidden", "4", "--json",
                         "--quiet", "--save", model)
    assert code == 0, err
    scores = json.loads(out)["val_metrics"]
    assert scores["n"] == 45
    assert_equal_to_sklearn(scores, load(model), *read_rows(val))


def test_binary_auc_is_the_probabilities_area(tmp_path, capsys):
    model = tmp_path / "m.npz"
    code, out, err = run(capsys, "--dataset", "moons", "--noise", "0.4", "--epochs", "2", "--json", "--quiet",
                         "--save", model)
    assert code == 0, err
    code, out, err = run(capsys, "--evaluate", model, "--dataset", "moons", "--noise", "0.4", "--seed", "4", "--json")
    scores = json.loads(out)["metrics"]
    from model.experiment import load_dataset

    data = load_dataset("moons", 1000, 0.4, 4)
    assert len(scores["classes"]) == 2 and 0.5 < scores["roc_auc"] < 1
    assert_equal_to_sklearn(scores, load(model), data.X, data.y)


def test_the_text_block_heads_the_confusion_matrix_with_the_class_names(iris_model, capsys):
    model, other = iris_model
    code, out, err = run(capsys, "--evaluate", model, "--data", other)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith(f"{model} on {other}: accuracy ")  # the line as before, first
    assert lines[1].startswith("macro f1 ") and "roc auc" in lines[1] and "one-vs-rest" in lines[1]
    at = lines.index("confusion matrix (rows: true class, columns: predicted):")
    assert lines[at + 1].split() == SPECIES
    rows = [line.split() for line in lines[at + 2:at + 5]]
    assert [r[0] for r in rows] == SPECIES
    counts = np.array([[int(v) for v in r[1:]] for r in rows])
    X, y = read_rows(other)
    assert counts.tolist() == sk.confusion_matrix(y, load(model).predict(X)).tolist()
    per_class = {line.split()[0]: line.split()[1:] for line in lines[3:6]}
    assert set(per_class) == set(SPECIES) and all(v[-1] == "20" for v in per_class.values())


def test_evaluate_quiet_keeps_its_one_line(iris_model, capsys):
    model, other = iris_model
    code, out, err = run(capsys, "--evaluate", model, "--data", other, "--quiet")
    assert code == 0 and len(out.splitlines()) == 1 and out.startswith(f"{model} on {other}: accuracy "), err


def test_the_end_of_training_says_its_scores_are_the_validation_splits(tmp_path, capsys):
    code, out, err = run(capsys, "--data", iris_like_csv(tmp_path / "i.csv"), "--epochs", "3", "--save",
                         tmp_path / "m.npz")
    assert code == 0, err
    assert "validation split (30 rows): macro f1 " in out
    assert "confusion matrix (rows: true class, columns: predicted):" in out
    code, out, err = run(capsys, "--data", iris_like_csv(tmp_path / "i.csv"), "--epochs", "3", "--quiet", "--save",
                         tmp_path / "m.npz")
    assert out.startswith("done: ") and len(out.splitlines()) == 1  # --quiet: only the result line


def test_without_validation_there_are_no_validation_scores(tmp_path, capsys):
    code, out, err = run(capsys, "--epochs", "2", "--val-fraction", "0", "--json", "--quiet", "--save",
                         tmp_path / "m.npz")
    assert code == 0, err
    assert json.loads(out)["val_metrics"] is None


def test_a_one_class_file_evaluates_with_an_undefined_auc(iris_model, tmp_path, capsys):
    model, other = iris_model
    lines = other.read_text().splitlines()
    one = tmp_path / "one.csv"
    one.write_text("\n".join([lines[0]] + [line for line in lines[1:] if line.endswith("setosa")]) + "\n")
    code, out, err = run(capsys, "--evaluate", model, "--data", one, "--json")
    assert code == 0, err
    scores = json.loads(out)["metrics"]
    assert scores["roc_auc"] is None and scores["support"] == [20, 0, 0]
    code, out, err = run(capsys, "--evaluate", model, "--data", one)
    assert code == 0 and "roc auc undefined" in out and "nan" not in out.lower()


def test_many_classes_leave_the_tables_out_of_the_text():
    k = MAX_TABLE_CLASSES + 1
    scores = {"classes": list(range(k)), "macro_f1": 0.5, "weighted_f1": 0.5, "roc_auc": 0.75,
              "precision": [0.5] * k, "recall": [0.5] * k, "f1": [0.5] * k, "support": [1] * k,
              "confusion_matrix": np.eye(k, dtype=int).tolist()}
    lines = scores_text(scores)
    assert len(lines) == 2 and f"{k} classes, more than {MAX_TABLE_CLASSES}" in lines[1] and "--json" in lines[1]
    scores = {**scores, "classes": list(range(MAX_TABLE_CLASSES))}
    scores.update({key: value[:MAX_TABLE_CLASSES] for key, value in scores.items() if isinstance(value, list)})
    scores["confusion_matrix"] = np.eye(MAX_TABLE_CLASSES, dtype=int).tolist()
    assert len(scores_text(scores)) == 1 + 1 + MAX_TABLE_CLASSES + 2 + MAX_TABLE_CLASSES  # every row printed


def test_long_class_names_are_cut_in_the_tables():
    scores = {"classes": ["a" * 40, "b"], "macro_f1": 1.0, "weighted_f1": 1.0, "roc_auc": 1.0, "precision": [1, 1],
              "recall": [1, 1], "f1": [1, 1], "support": [1, 1], "confusion_matrix": [[1, 0], [0, 1]]}
    text = "\n".join(scores_text(scores))
    assert "a" * 15 + "…" in text and "a" * 16 not in text


def regression_csv(path, n=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = X @ [3.0, 1.0, -2.0] + rng.normal(size=n) * 0.3
    path.write_text("a,b,c,price\n" + "".join(",".join(f"{v:.3f}" for v in (*r, t)) + "\n"
                                               for r, t in zip(X, y, strict=True)))
    return path, X.round(3), y.round(3)


def test_regression_reports_r2_rmse_and_mae_as_sklearn_computes_them(tmp_path, capsys):
    (csv, X, y), model = regression_csv(tmp_path / "h.csv"), tmp_path / "m.npz"
    code, out, err = run(capsys, "--data", csv, "--task", "regression", "--epochs", "20", "--save", model)
    assert code == 0, err
    assert "validation split (12 rows): r2 " in out and ", mae " in out
    code, out, err = run(capsys, "--evaluate", model, "--data", csv, "--json")
    result = json.loads(out)
    predicted = load(model).predict(X).ravel()
    assert set(result["metrics"]) == {"n", "r2", "rmse", "mae"}
    assert result["metrics"]["r2"] == pytest.approx(sk.r2_score(y, predicted), abs=1e-9)
    assert result["metrics"]["rmse"] == pytest.approx(sk.root_mean_squared_error(y, predicted), abs=1e-9)
    assert result["metrics"]["mae"] == pytest.approx(sk.mean_absolute_error(y, predicted), abs=1e-9)
    assert result["mae"] == result["metrics"]["mae"] and result["r2"] == result["metrics"]["r2"]
