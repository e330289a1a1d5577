"""``train.py --data FILE.csv --image CxHxW --conv C1[,C2…]``: a table whose rows are flattened images, trained by
blocks of convolution and pooling; its refusals, its settings lines, its model file with ``--evaluate`` and
``--predict``, and scikit-learn's 8×8 digits past 0.96 test accuracy on rows it never saw."""

import csv
import json

import numpy as np
import pytest

import train
from model import load

from .conftest import call_main
from .test_train_tables import read_rows, sklearn_csv, write_rows

BLOCKS = ["--image", "1x4x4", "--conv", "4"]


def run(capsys, *argv):
    return call_main(train.main, capsys, *argv)


def bars_csv(path, n=24, seed=7):
    """Rows of 4×4 images (p00 … p33) holding a bar of 7–9 across or down on a 0–2 background, labelled in words."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        image, k = rng.integers(0, 3, (4, 4)), rng.integers(0, 4)
        if i % 2:
            image[:, k] = rng.integers(7, 10, 4)
        else:
            image[k, :] = rng.integers(7, 10, 4)
        rows.append([*image.ravel(), "down" if i % 2 else "across"])
    return write_rows(path, [f"p{r}{c}" for r in range(4) for c in range(4)] + ["bar"], rows)


# ---------------------------------------------------------------- refusals: one line, exit 2


@pytest.mark.parametrize("argv, words", [
    (["--image", "1x4x5", "--conv", "4"], ["--image", "20", "16"]),  # C·H·W against the feature count
    (["--image", "2x4x4", "--conv", "4"], ["--image", "32", "16"]),
    (["--conv", "4"], ["--image"]),  # --conv without --image
    (["--image", "1x4x4"], ["--conv"]),  # an image read for no convolution
    (["--image", "1x4x4", "--conv", "4,4,4"], ["--conv", "3 blocks", "below 1x1", "at most 2"]),
    (["--image", "1x4", "--conv", "4"], ["--image", "1x4"]),
    (["--image", "axbxc", "--conv", "4"], ["--image", "axbxc"]),
    (["--image", "1x4x4x1", "--conv", "4"], ["--image"]),
    (["--image", "0x4x4", "--conv", "4"], ["--image", "0"]),
    (["--image", "1x4x4", "--conv", "four"], ["--conv", "four"]),
    (["--image", "1x4x4", "--conv", "4,0"], ["--conv", "0"]),
    (["--image", "1x4x4", "--conv", "4", "--dropout", "0.2"], ["--dropout", "hidden"]),
])
def test_what_cannot_be_built_is_refused_in_one_line_with_exit_2(tmp_path, capsys, argv, words):
    data = bars_csv(tmp_path / "bars.csv")
    code, out, err = run(capsys, "--data", data, *argv, "--save", tmp_path / "m.npz")
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert all(word in err for word in words), err
    assert not (tmp_path / "m.npz").exists()


def test_an_image_is_a_table_option_and_a_training_option(tmp_path, capsys):
    code, _, err = run(capsys, *BLOCKS, "--save", tmp_path / "m.npz")  # the generated sets have no images
    assert code == 2 and "--image" in err and "--data" in err
    data = bars_csv(tmp_path / "bars.csv")
    code, _, _ = run(capsys, "--data", data, *BLOCKS, "--epochs", "2", "--save", tmp_path / "m.npz", "--quiet")
    assert code == 0
    for mode in (["--evaluate", tmp_path / "m.npz"], ["--predict", tmp_path / "m.npz", "--out", tmp_path / "p.csv"]):
        code, _, err = run(capsys, *mode, "--data", data, *BLOCKS)
        assert code == 2 and "--image" in err and "--conv" in err and "ignored" in err


# ---------------------------------------------------------------- what is said, what is saved


def test_the_settings_lines_say_the_architecture_and_the_path(tmp_path, capsys):
    code, out, err = run(capsys, "--data", bars_csv(tmp_path / "bars.csv"), *BLOCKS, "--epochs", "3",
                         "--save", tmp_path / "m.npz")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].startswith("settings for a table: --optimizer adam --lr 0.003 --patience 10 (")  # no --hidden 64
    model = next(line for line in lines if line.startswith("model: "))
    assert model.startswith("model: 1x4x4 images, conv 4 (each Conv2d 3x3 padding 1, ReLU, MaxPool2d 2) to 4x2x2, "
                            "then 16-1 Sigmoid, BCELoss; adam lr 0.003")
    assert any(line.startswith("path: the layer objects") and "Unflatten" in line for line in lines)


def test_hidden_layers_follow_the_blocks_only_when_asked_for(tmp_path, capsys):
    data = bars_csv(tmp_path / "bars.csv")
    code, out, _ = run(capsys, "--data", data, "--image", "1x4x4", "--conv", "4,2", "--hidden", "8",
                       "--activation", "tanh", "--epochs", "2", "--save", tmp_path / "m.npz")
    assert code == 0 and out.startswith("settings for a table: --hidden-bias --optimizer adam")
    assert "conv 4,2 (each Conv2d 3x3 padding 1, Tanh, MaxPool2d 2) to 2x1x1, then 2-8-1 Tanh/Sigmoid" in out
    names = [type(layer).__name__ for layer in load(tmp_path / "m.npz").layers]
    assert names == ["Standardize", "Unflatten", "Conv2d", "Tanh", "MaxPool2d", "Conv2d", "Tanh", "MaxPool2d",
                     "Flatten", "Linear", "Tanh", "Linear", "Sigmoid"]


def test_the_model_file_evaluates_and_predicts_on_the_table_as_it_is(tmp_path, capsys):
    data, model = bars_csv(tmp_path / "bars.csv"), tmp_path / "m.npz"
    code, out, err = run(capsys, "--data", data, *BLOCKS, "--json", "--save", model)
    assert code == 0, err
    trained = json.loads(out)
    net = load(model)
    assert [type(layer).__name__ for layer in net.layers][:3] == ["Standardize", "Unflatten", "Conv2d"]
    code, out, _ = run(capsys, "--evaluate", model, "--data", data, "--json")
    evaluated = json.loads(out)
    assert code == 0 and evaluated["n"] == 24 and evaluated["accuracy"] >= 0.9
    code, _, _ = run(capsys, "--predict", model, "--data", data, "--out", tmp_path / "p.csv")
    rows = read_rows(tmp_path / "p.csv")
    assert code == 0 and rows[0] == ["predicted", "p_across", "p_down"] and len(rows) == 25
    with open(data, newline="") as fh:
        labels = [row["bar"] for row in csv.DictReader(fh)]
    assert np.mean([row[0] == label for row, label in zip(rows[1:], labels, strict=True)]) == evaluated["accuracy"]
    assert trained["train_acc"] >= 0.9


# ---------------------------------------------------------------- scikit-learn's 8×8 digits


def test_scikit_learns_digits_pass_096_on_rows_never_seen(tmp_path, capsys, monkeypatch):
    """1,437 rows to train on (a fifth of them for early stopping), 360 held out; one conv block, about 1 s."""
    rows = read_rows(sklearn_csv(tmp_path / "digits.csv", "digits"))
    header, rows = rows[0], rows[1:]
    order = np.random.default_rng(0).permutation(len(rows))
    write_rows(tmp_path / "train.csv", header, [rows[i] for i in order[360:]])
    write_rows(tmp_path / "test.csv", header, [rows[i] for i in order[:360]])
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "--data", "train.csv", "--image", "1x8x8", "--conv", "16", "--epochs", "8",
                         "--save", "digits.npz", "--quiet")
    assert code == 0, err
    code, out, err = run(capsys, "--evaluate", "digits.npz", "--data", "test.csv", "--json")
    assert code == 0, err
    result = json.loads(out)
    assert result["n"] == 360 and result["accuracy"] >= 0.96
