"""``train.py --export MODEL.npz --out MODEL.onnx``: the exported file, run in onnxruntime, gives what
``--predict`` writes for the same rows; the mode's refusals are one line, exit 2."""

import csv
import json
import os
import sys

import numpy as np
import pytest

import train
from model import load

from .conftest import call_main

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

#: the agreement asked of the float32 graph with --predict's probabilities (and values, relative)
TOL = 1e-5


def run(capsys, *argv):
    return call_main(train.main, capsys, *argv)


def table(path, rng, labels, n=60):
    """A CSV of three features on different scales and a label column ``labels(X)``."""
    X = rng.normal(size=(n, 3)) * [1.0, 20.0, 300.0] + [0.0, 50.0, 1000.0]
    y = labels(X)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["a", "b", "c", "label"])
        writer.writerows([*(repr(float(v)) for v in row), label] for row, label in zip(X, y, strict=True))
    return path, X


def onnx_outputs(path, X):
    onnx.checker.check_model(str(path), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, {"input": X.astype(np.float32)}), strict=True))


def predicted(path):
    """``(predicted column, the other columns as an (N, K) array)`` of a --predict output."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    return [r[0] for r in rows], np.array([[float(v) for v in r[1:]] for r in rows])


def train_export_predict(tmp_path, capsys, data, *options):
    """Train on ``data`` with ``options``, export the model and predict ``data``: ``(model, onnx path, the
    --predict output)``."""
    model, out, pred = tmp_path / "m.npz", tmp_path / "m.onnx", tmp_path / "pred.csv"
    code, _, err = run(capsys, "--data", data, "--epochs", "15", "--quiet", "--save", model, *options)
    assert code == 0, err
    code, said, err = run(capsys, "--export", model, "--out", out)
    assert code == 0, err
    assert said.count("\n") == 1 and str(out) in said and ("probabilities" in said or "values" in said)
    code, _, err = run(capsys, "--predict", model, "--data", data, "--out", pred)
    assert code == 0, err
    return load(model), out, pred


CASES = {
    "multiclass": (lambda X: np.array(["low", "mid", "high"])[np.digitize(X[:, 0], [-0.4, 0.4])], ()),
    "binary sigmoid head": (lambda X: (X[:, 1] > 50).astype(int), ("--hidden", "8,8")),
    "fused binary head": (lambda X: np.where(X[:, 2] > 1000, "yes", "no"), ("--hidden", "8,8", "--fused")),
    "handout's family": (lambda X: (X[:, 0] + X[:, 1] / 20 > 2.5).astype(int), ("--hidden", "4")),
    "batchnorm and dropout": (lambda X: (X[:, 0] > 0).astype(int) + (X[:, 1] > 50),
                              ("--hidden", "8,8", "--batchnorm", "--dropout", "0.2", "--batch-size", "8")),
}


@pytest.mark.parametrize("case", CASES)
def test_the_exported_classifier_gives_what_predict_writes(tmp_path, capsys, rng, case):
    labels, options = CASES[case]
    data, X = table(tmp_path / "t.csv", rng, labels)
    net, out, pred = train_export_predict(tmp_path, capsys, data, *options)
    got = onnx_outputs(out, X)
    words, probabilities = predicted(pred)
    np.testing.assert_allclose(got["probabilities"], probabilities, atol=TOL)
    assert [str(v) for v in got["label"].tolist()] == words
    proba = net.predict_proba(X)
    np.testing.assert_allclose(got["probabilities"], np.column_stack([1 - proba, proba]) if proba.ndim == 1 else proba,
                               atol=TOL)


def test_the_exported_regression_gives_the_values_predict_writes(tmp_path, capsys, rng):
    data, X = table(tmp_path / "t.csv", rng, lambda X: 3 * X[:, 0] + X[:, 1] / 10 + 200)
    net, out, pred = train_export_predict(tmp_path, capsys, data, "--task", "regression")
    got = onnx_outputs(out, X)
    np.testing.assert_allclose(got["values"].ravel(), [float(v) for v in predicted(pred)[0]], rtol=TOL)
    np.testing.assert_allclose(got["values"], net.predict(X), rtol=TOL)


def test_the_default_run_exports_the_handouts_network(tmp_path, capsys):
    model, out = tmp_path / "m.npz", tmp_path / "m.onnx"
    assert run(capsys, "--epochs", "20", "--quiet", "--save", model).code == 0
    code, said, _ = run(capsys, "--export", model, "--out", out, "--json")
    assert code == 0
    assert json.loads(said) == {"model": str(model), "out": str(out),
                                "onnx": "input (N, 2) float32 -> probabilities (N, 2) float32, label (N,) int64"}
    X = np.random.default_rng(0).normal(size=(50, 2))
    rows, pred = tmp_path / "rows.csv", tmp_path / "pred.csv"
    rows.write_text("".join(f"{a!r},{b!r}\n" for a, b in X.tolist()))
    assert run(capsys, "--predict", model, "--data", rows, "--out", pred).code == 0
    got = onnx_outputs(out, X)
    words, probabilities = predicted(pred)
    np.testing.assert_allclose(got["probabilities"], probabilities, atol=TOL)
    assert [str(v) for v in got["label"].tolist()] == words
    np.testing.assert_allclose(got["probabilities"][:, 1], load(model).predict_proba(X), atol=TOL)


# ---------------------------------------------------------------- refusals


@pytest.fixture
def model(tmp_path, capsys):
    path = tmp_path / "m.npz"
    assert run(capsys, "--epochs", "2", "--quiet", "--save", path).code == 0
    return path


@pytest.mark.parametrize(("extra", "named"), [
    ((), "--out"),
    (("--out", "x.onnx", "--predict", "{model}"), "--predict and --export"),
    (("--out", "x.onnx", "--evaluate", "{model}"), "--evaluate and --export"),
    (("--out", "x.onnx", "--epochs", "3"), "--epochs"),
    (("--out", "x.onnx", "--dataset", "moons"), "--dataset"),
    (("--out", "x.onnx", "--data", "t.csv"), "--data"),
    (("--out", "x.csv"), ".onnx"),
    (("--out", "{model}"), ".onnx"),
])
def test_a_bad_export_command_line_is_one_line_exit_2(tmp_path, capsys, model, extra, named):
    argv = [arg.format(model=model) for arg in extra]
    code, out, err = run(capsys, "--export", model, *argv)
    assert code == 2 and named in err and err.count("\n") == 1 and out == ""


def test_out_without_a_mode_that_writes_it_is_refused(capsys, model):
    code, _, err = run(capsys, "--evaluate", model, "--out", "x.onnx")
    assert code == 2 and "--out" in err and "--export" in err


def test_an_out_that_is_the_model_file_is_refused(tmp_path, capsys, model):
    link = tmp_path / "same.onnx"
    os.link(model, link)  # another name of the model file
    before = model.read_bytes()
    code, _, err = run(capsys, "--export", model, "--out", link)
    assert code == 2 and "same file" in err and "--export" in err
    assert model.read_bytes() == before


def test_a_model_file_that_is_not_npz_is_refused(tmp_path, capsys):
    code, _, err = run(capsys, "--export", tmp_path / "m.onnx", "--out", tmp_path / "x.onnx")
    assert code == 2 and ".npz" in err


def test_a_missing_onnx_extra_is_one_line_naming_it(tmp_path, capsys, model, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # importing onnx now raises ImportError
    code, _, err = run(capsys, "--export", model, "--out", tmp_path / "x.onnx")
    assert code == 2 and "pip install -e '.[onnx]'" in err and err.count("\n") == 1
    assert not (tmp_path / "x.onnx").exists()


def test_a_model_that_cannot_be_exported_is_one_line_exit_1(tmp_path, capsys):
    from layers import Linear, SoftmaxCrossEntropyLoss
    from model import Sequential, save

    path = tmp_path / "big.npz"
    net = Sequential([Linear(2, 3, rng=0)], SoftmaxCrossEntropyLoss())
    net.layers[0].params["W"][0, 0] = 1e300  # finite in float64, beyond float32's range: the graph's precision
    save(net, path)
    code, _, err = run(capsys, "--export", path, "--out", tmp_path / "x.onnx")
    assert code == 1 and "not finite in float32" in err and err.count("\n") == 1
    assert not (tmp_path / "x.onnx").exists()
