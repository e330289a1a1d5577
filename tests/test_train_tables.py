"""train.py on real tables: the label anywhere, regression, predicting new rows, columns by name, a validation
file, defaults that learn real tables, and what is said (the path that ran, settings chosen, no validation)."""

import csv
import gzip
import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

import train
from app import train_cli
from data import csv_loader, make_moons
from model import load

from .conftest import call_main

SPECIES = ("setosa", "versicolor", "virginica")
CENTRES = {"setosa": [5.0, 3.4, 1.5, 0.25], "versicolor": [5.9, 2.8, 4.3, 1.3], "virginica": [6.6, 3.0, 5.5, 2.0]}
FEATURES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def run(capsys, *argv):
    return call_main(train.main, capsys, *argv)


def write_rows(path, header, rows):
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        if header:
            writer.writerow(header)
        writer.writerows(rows)
    return path


def read_rows(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def iris_like(per_class=40, seed=0):
    """(rows of 4 measurements, species names), shuffled."""
    rng = np.random.default_rng(seed)
    X = np.vstack([rng.normal(CENTRES[s], 0.25, size=(per_class, 4)) for s in SPECIES]).round(2)
    y = np.repeat(SPECIES, per_class)
    order = rng.permutation(len(y))
    return X[order], y[order]


def iris_csv(path, columns=(*FEATURES, "species"), per_class=40, seed=0):
    X, y = iris_like(per_class, seed)
    table = {**{f: X[:, j] for j, f in enumerate(FEATURES)}, "species": y}
    return write_rows(path, list(columns), zip(*(table[c] for c in columns), strict=True))


def regression_csv(path, n=240, seed=0):
    """y = 40 + 25·x0 − 10·x1 + noise: hundreds of distinct values, none an integer class."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    y = 40 + 25 * X[:, 0] - 10 * X[:, 1] + rng.normal(scale=2.0, size=n)
    rows = [[*map(repr, row), f"{t:.3f}"] for row, t in zip(X.tolist(), y.tolist(), strict=True)]
    return write_rows(path, ["a", "b", "c", "target"], rows)


def moons_csv(path, n=120, seed=0, labels=(0, 1)):
    X, y = make_moons(n, seed=seed)
    return write_rows(path, ["a", "b", "label"], [[a, b, labels[c]] for (a, b), c in zip(X, y, strict=True)])


# ------------------------------------------------------------------ defaults that learn real tables


#: scikit-learn's bundled data sets, as files in its package (first line: row count, column count, class names)
SKLEARN_FILES = {"digits": "digits.csv.gz", "wine": "wine_data.csv", "breast_cancer": "breast_cancer.csv",
                 "iris": "iris.csv"}


def sklearn_csv(path, name):
    """scikit-learn's data set ``name`` as a CSV with a header (features f0.., the label last), read from the
    package's own data files so that scikit-learn (seconds to import) is not imported."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        pytest.skip("scikit-learn is not installed: pip install -e '.[test]'")
    source = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / SKLEARN_FILES[name]
    if source.exists():
        text = (gzip.decompress(source.read_bytes()) if source.suffix == ".gz" else source.read_bytes()).decode()
        rows = [line.split(",") for line in text.splitlines() if line.strip()]
        rows = rows if name == "digits" else rows[1:]  # the others open with a line of counts and names
    else:  # another layout of the package: its loader
        from sklearn import datasets

        bunch = getattr(datasets, f"load_{name}")()
        rows = [[*map(repr, x), str(t)] for x, t in zip(bunch.data.tolist(), bunch.target.tolist(), strict=True)]
    return write_rows(path, [f"f{j}" for j in range(len(rows[0]) - 1)] + ["target"], rows)


@pytest.mark.parametrize("name,bar", [("digits", 0.9), ("wine", 0.9), ("breast_cancer", 0.9), ("iris", 0.85)])
def test_the_defaults_learn_scikit_learns_tables(tmp_path, capsys, monkeypatch, name, bar):
    sklearn_csv(tmp_path / "t.csv", name)
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "--data", "t.csv", "--json")  # no other option
    assert code == 0, err
    result = json.loads(out)
    assert result["val_acc"] >= bar and result["settings"].startswith("--hidden 64 --hidden-bias --optimizer adam")
    assert err.splitlines()[0].startswith("settings for a table: --hidden 64")


def test_the_toy_sets_keep_the_handouts_recipe_and_options_given_win(tmp_path, capsys):
    code, out, _ = run(capsys, "--epochs", "2", "--save", tmp_path / "m.npz")
    assert code == 0 and not out.startswith("settings") and "model: 2-3-1 ReLU/Sigmoid, BCELoss; sgd" in out
    csv_path = moons_csv(tmp_path / "m.csv")
    code, out, _ = run(capsys, "--data", csv_path, "--hidden", "8", "--optimizer", "momentum", "--epochs", "3",
                       "--save", tmp_path / "m.npz")
    first = out.splitlines()[0]
    assert code == 0 and first.startswith("settings for a table: --hidden-bias --patience 10 (")  # the recipe's rest
    assert "model: 2-8-1" in out and "; momentum lr 0.1," in out  # momentum keeps its own default lr


def test_the_first_lines_name_the_path_that_ran(tmp_path, capsys):
    _, out, _ = run(capsys, "--epochs", "2", "--save", tmp_path / "m.npz")
    assert "path: the training engine (model/engine/)" in out
    _, out, _ = run(capsys, "--epochs", "2", "--engine", "layers", "--save", tmp_path / "m.npz")
    assert "path: the layer objects (layers/): asked for the layers" in out
    assert out.index("path:") < out.index("done:")


# ------------------------------------------------------------------ the label and the features


def test_the_label_named_first_and_features_chosen(tmp_path, capsys):
    path = iris_csv(tmp_path / "i.csv", columns=("species", *FEATURES))
    code, out, err = run(capsys, "--data", path, "--label", "species", "--epochs", "20", "--json", "--quiet",
                         "--save", tmp_path / "m.npz")
    assert code == 0, err
    assert json.loads(out)["classes"] == list(SPECIES) and json.loads(out)["label"] == "species"
    code, out, _ = run(capsys, "--data", path, "--label", "0", "--features", "petal_width,sepal_length",
                       "--epochs", "5", "--save", tmp_path / "m.npz")
    assert code == 0 and "2 features, 3 classes (label 'species')" in out
    assert load(tmp_path / "m.npz").feature_names == ["petal_width", "sepal_length"]
    code, _, err = run(capsys, "--data", path, "--label", "kind", "--save", tmp_path / "m.npz")
    assert code == 1 and "no column is named 'kind'" in err and len(err.splitlines()) == 1


def test_many_distinct_numbers_are_refused_before_any_work_naming_task_regression(tmp_path, capsys):
    path = regression_csv(tmp_path / "r.csv")
    code, out, err = run(capsys, "--data", path, "--save", tmp_path / "m.npz")
    assert code == 1 and "--task regression" in err and "values to predict" in err and len(err.splitlines()) == 1
    assert out == "" and not (tmp_path / "m.npz").exists()


def test_regression_trains_reports_r2_and_evaluates(tmp_path, capsys):
    path, model = regression_csv(tmp_path / "r.csv"), tmp_path / "m.npz"
    code, out, err = run(capsys, "--data", path, "--task", "regression", "--epochs", "60", "--json", "--quiet",
                         "--save", model)
    assert code == 0, err
    result = json.loads(out)
    assert result["task"] == "regression" and result["val_r2"] > 0.9 and 0 < result["val_rmse"] < 8
    net = load(model)
    assert net.target == "values" and type(net.criterion).__name__ == "MSELoss"
    code, out, err = run(capsys, "--evaluate", model, "--data", path)  # issue 20: no TypeError
    assert code == 0 and err == "" and "rmse" in out and " r2 0.9" in out
    code, out, _ = run(capsys, "--evaluate", model, "--data", path, "--json")
    assert json.loads(out)["r2"] > 0.9 and json.loads(out)["rmse"] < 8


# ------------------------------------------------------------------ predicting and evaluating by column name


def test_predict_writes_labels_in_their_own_words_and_a_probability_per_class(tmp_path, capsys, monkeypatch):
    model = tmp_path / "m.npz"
    assert run(capsys, "--data", iris_csv(tmp_path / "i.csv"), "--epochs", "30", "--quiet", "--save", model)[0] == 0
    X, y = iris_like(per_class=30, seed=1)
    order = [2, 0, 3, 1]  # other columns' order, and no label column
    new = write_rows(tmp_path / "new.csv", [FEATURES[j] for j in order], X[:, order].tolist())
    monkeypatch.setattr(csv_loader, "STREAM_ROWS", 7)  # streamed in blocks of 7 rows
    monkeypatch.setattr(csv_loader, "BATCH_CHARS", 300)
    code, out, err = run(capsys, "--predict", model, "--data", new, "--out", tmp_path / "p.csv")
    assert code == 0 and "predicted 90 rows" in out, err
    rows = read_rows(tmp_path / "p.csv")
    assert rows[0] == ["predicted", "p_setosa", "p_versicolor", "p_virginica"] and len(rows) == 91
    p = np.array([[float(v) for v in r[1:]] for r in rows[1:]])
    np.testing.assert_allclose(p, load(model).predict_proba(X), rtol=1e-5)
    assert np.mean([r[0] for r in rows[1:]] == y) >= 0.9


def test_predict_ignores_a_label_column_and_needs_its_options(tmp_path, capsys):
    model = tmp_path / "m.npz"
    path = moons_csv(tmp_path / "m.csv", labels=("no", "yes"))
    assert run(capsys, "--data", path, "--epochs", "5", "--quiet", "--save", model)[0] == 0
    code, _, err = run(capsys, "--predict", model, "--data", path, "--out", tmp_path / "p.csv")
    assert code == 0, err
    rows = read_rows(tmp_path / "p.csv")
    assert rows[0] == ["predicted", "p_no", "p_yes"] and {r[0] for r in rows[1:]} <= {"no", "yes"}
    for argv, match in [(["--out", tmp_path / "p.csv", "--epochs", "3"], "--predict trains nothing, so --epochs"),
                        ([], "--predict needs --data NEW.csv"),
                        (["--out", path], "--out")]:
        code, _, err = run(capsys, "--predict", model, "--data", path, *argv)
        assert code == 2 and match in err


def test_evaluate_reads_columns_by_name_in_any_order(tmp_path, capsys):
    model = tmp_path / "m.npz"
    assert run(capsys, "--data", iris_csv(tmp_path / "i.csv"), "--epochs", "30", "--quiet", "--save", model)[0] == 0
    same = run(capsys, "--evaluate", model, "--data", iris_csv(tmp_path / "t.csv", seed=2), "--json")
    moved = run(capsys, "--evaluate", model, "--json", "--data",
                iris_csv(tmp_path / "r.csv", columns=("petal_width", "species", *FEATURES[:3]), seed=2))
    assert same.code == moved.code == 0 and json.loads(same.out)["accuracy"] >= 0.9
    assert json.loads(moved.out) == {**json.loads(same.out), "data": str(tmp_path / "r.csv")}
    code, _, err = run(capsys, "--evaluate", model, "--data",
                       iris_csv(tmp_path / "x.csv", columns=("species", *FEATURES[:3])))
    assert code == 1 and "no column is named 'petal_width'" in err and len(err.splitlines()) == 1


def test_a_validation_file_instead_of_a_split(tmp_path, capsys):
    train_csv, val_csv = iris_csv(tmp_path / "a.csv"), iris_csv(tmp_path / "b.csv", per_class=10, seed=3)
    code, out, err = run(capsys, "--data", train_csv, "--val-data", val_csv, "--epochs", "20",
                         "--save", tmp_path / "m.npz")
    assert code == 0, err
    assert f"validation: {val_csv}, 30 rows" in out and "120 points" in out
    code, _, err = run(capsys, "--data", train_csv, "--val-data", val_csv, "--val-fraction", "0.1")
    assert code == 2 and "--val-data and --val-fraction" in err


# ------------------------------------------------------------------ issue 20's small items


def test_labels_are_compared_as_the_text_they_are_in_the_file(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    labels = np.array(["1", "2", "unknown"])[np.arange(60) % 3]
    model = tmp_path / "m.npz"
    train_csv = write_rows(tmp_path / "t.csv", ["a", "b", "y"], [[*row, t] for row, t in zip(X, labels, strict=True)])
    assert run(capsys, "--data", train_csv, "--epochs", "3", "--quiet", "--save", model)[0] == 0
    numbers = write_rows(tmp_path / "n.csv", ["a", "b", "y"], [[1, 2, 1], [0, 1, 2], [3, 1, 2]])
    code, out, err = run(capsys, "--evaluate", model, "--data", numbers)
    assert code == 0 and "n 3" in out, err


def test_evaluate_on_a_test_file_of_one_class(tmp_path, capsys):
    model = tmp_path / "m.npz"
    assert run(capsys, "--data", moons_csv(tmp_path / "m.csv"), "--epochs", "5", "--quiet", "--save", model)[0] == 0
    one = write_rows(tmp_path / "one.csv", ["a", "b", "label"], [[0.1, 0.9, 1], [1.5, -0.3, 1]])
    code, out, err = run(capsys, "--evaluate", model, "--data", one, "--json")
    assert code == 0 and json.loads(out)["n"] == 2, err


@pytest.mark.usefixtures("progress_now")
def test_a_two_row_file_trains_without_validation_and_says_so(tmp_path, capsys):
    path = write_rows(tmp_path / "two.csv", ["a", "b", "label"], [[0, 0, 0], [1, 1, 1]])
    code, out, err = run(capsys, "--data", path, "--epochs", "3", "--save", tmp_path / "m.npz")
    assert code == 0, err
    assert "no validation rows: 0.2 of 2 rows rounds to none per class; training without validation" in out
    epochs = [line for line in out.splitlines() if line.startswith("epoch")]
    assert len(epochs) == 3 and "nan" not in out and not any("val" in line for line in epochs)
    assert "--patience" not in out  # the recipe's early stopping needs validation: dropped
    code, out, err = run(capsys, "--data", path, "--val-fraction", "0", "--epochs", "3", "--save", tmp_path / "m.npz")
    assert code == 0 and "--patience" not in out and "no validation rows" not in out, err


@pytest.mark.parametrize("flag,value", [("--classes", "3"), ("--n-samples", "50"), ("--noise", "0.1"),
                                        ("--dataset", "moons")])
def test_options_that_would_be_ignored_are_refused(tmp_path, capsys, flag, value):
    code, _, err = run(capsys, "--data", moons_csv(tmp_path / "m.csv"), flag, value, "--save", tmp_path / "m.npz")
    assert code == 2 and f"error: {flag} describes the generated data sets" in err and "--data" in err
    code, _, err = run(capsys, "--label", "y", "--save", tmp_path / "m.npz")
    assert code == 2 and "error: --label " in err and "add --data" in err


def test_a_huge_weight_decay_is_blamed_not_the_learning_rate(tmp_path, capsys):
    code, _, err = run(capsys, "--weight-decay", "1e10", "--quiet", "--save", tmp_path / "m.npz")
    assert code == 1 and "training diverged" in err and "the weight decay is too strong" in err
    assert "--weight-decay 1e+10 with --lr 1" in err and "lower learning rate" not in err


def test_when_the_plot_fails_the_saved_model_is_still_said(tmp_path, capsys, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("no space left on device")

    monkeypatch.setattr(train_cli, "plot_run", broken)
    code, out, err = run(capsys, "--epochs", "2", "--save", tmp_path / "m.npz", "--plot", tmp_path / "p.png")
    assert code == 1 and "no space left on device" in err
    assert f"saved model to {tmp_path / 'm.npz'}" in out and load(tmp_path / "m.npz") is not None


def test_a_regression_worse_than_the_mean_says_so(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((30, 3))
    table = tmp_path / "small.csv"
    rows = "".join(f"{a:.4f},{b:.4f},{c:.4f},{100 + 10 * a + rng.normal():.4f}\n" for a, b, c in X)
    table.write_text("a,b,c,price\n" + rows)
    code, _, err = run(capsys, "--data", table, "--task", "regression", "--epochs", "1", "--quiet",
                       "--save", tmp_path / "m.npz")
    assert code == 0 and "worse than their mean does (train r2 -" in err and "a smaller --batch-size" in err
