"""``train.py --predict``: every number and word of the prediction file is the saved model's own.

For a binary model (one sigmoid output) the file's ``p_<first>`` and ``p_<second>`` columns are
``1 − predict_proba`` and ``predict_proba`` — the probability of the model's class 0 and class 1 —
and ``predicted`` is the word of ``predict``'s class. Swapped columns, or words read off the wrong
column, would pass a check of the header alone.
"""

import csv

import numpy as np
import pytest

import train
from data import make_moons
from model import load

from .conftest import call_main


def write_moons(path, labels, n=120, seed=0):
    X, y = make_moons(n, seed=seed)
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["a", "b", "label"])
        writer.writerows([a, b, labels[c]] for (a, b), c in zip(X.tolist(), y, strict=True))
    return X, y


def read_predictions(path):
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], [r[0] for r in rows[1:]], np.array([[float(v) for v in r[1:]] for r in rows[1:]])


@pytest.mark.parametrize("labels", [("no", "yes"), ("yes", "no")], ids=["no-yes", "yes-no"])
def test_a_binary_prediction_file_holds_the_models_probabilities_and_words(tmp_path, capsys, labels):
    # ("yes", "no"): class 0 is "yes" in the file, so the columns follow the model's classes, not the alphabet
    data, model, out = tmp_path / "moons.csv", tmp_path / "m.npz", tmp_path / "p.csv"
    X, y = write_moons(data, labels)
    assert call_main(train.main, capsys, "--data", data, "--epochs", "20", "--quiet", "--save", model).code == 0
    result = call_main(train.main, capsys, "--predict", model, "--data", data, "--out", out)
    assert result.code == 0, result.err
    header, words, p = read_predictions(out)
    net = load(model)
    classes = [str(c) for c in net.classes]
    assert header == ["predicted", *(f"p_{c}" for c in classes)]
    proba = net.predict_proba(X)  # (N,): P(class 1)
    assert proba.min() < 0.2 and proba.max() > 0.8  # confident both ways: a swap of columns would show
    np.testing.assert_allclose(p[:, 1], proba, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(p[:, 0], 1 - proba, rtol=1e-5, atol=1e-6)
    assert words == [classes[k] for k in net.predict(X)]
    assert set(words) == set(labels)
    assert np.mean(np.array(words) == np.array(labels)[y]) > 0.8  # and the words are the labels' own meaning


def test_a_multiclass_prediction_file_holds_the_models_words(tmp_path, capsys):
    data, model, out = tmp_path / "blobs.csv", tmp_path / "m.npz", tmp_path / "p.csv"
    rng = np.random.default_rng(0)
    names = np.array(["c", "a", "b"])  # first seen is not first in order
    y = rng.integers(0, 3, 90)
    X = rng.normal(size=(90, 2)) * 0.3 + np.array([[0, 0], [3, 0], [0, 3]])[y]
    with open(data, "w", newline="") as fh:
        rows = ([a, b, names[k]] for (a, b), k in zip(X.tolist(), y, strict=True))
        csv.writer(fh).writerows([["a", "b", "label"], *rows])
    assert call_main(train.main, capsys, "--data", data, "--epochs", "20", "--quiet", "--save", model).code == 0
    assert call_main(train.main, capsys, "--predict", model, "--data", data, "--out", out).code == 0
    header, words, p = read_predictions(out)
    net = load(model)
    classes = [str(c) for c in net.classes]
    assert header == ["predicted", *(f"p_{c}" for c in classes)]
    np.testing.assert_allclose(p, net.predict_proba(X), rtol=1e-5, atol=1e-6)
    assert words == [classes[k] for k in net.predict(X)]
    assert np.mean(np.array(words) == names[y]) > 0.9
