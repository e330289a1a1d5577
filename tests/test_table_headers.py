"""Which first row is a header (by the columns asked for by name, by its types against the rows below, or as
``header=`` says), and saved feature names as names: a model reads a headed file by name, whatever the names."""

from types import SimpleNamespace

import numpy as np
import pytest

import train
from data import iter_feature_blocks, read_table
from model import load
from model.experiment import load_dataset, prepare
from model.table_columns import model_columns

from .conftest import call_main


def write(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def numeric_table(rows, d=4, label=True, seed=0):
    """What pandas writes for a NumPy array: the header ``0,1,…,d-1[,label]``, then float features and 0/1."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, d)).round(4)
    y = (X[:, 0] > 0).astype(int)
    header = ",".join(map(str, range(d))) + (",label" if label else "")
    lines = [",".join(map(repr, row)) + (f",{t}" if label else "") for row, t in zip(X.tolist(), y.tolist(),
                                                                                     strict=True)]
    return "\n".join([header, *lines]) + "\n", X, y


# ------------------------------------------------------------------ the header rule


def test_numeric_column_names_above_numbers_are_a_header(tmp_path):
    text, X, y = numeric_table(30)
    table = read_table(write(tmp_path, text))
    assert table.feature_names == ["0", "1", "2", "3"] and table.label_name == "label"
    np.testing.assert_array_equal(table.X, X)
    np.testing.assert_array_equal(table.classification().y, y)  # 30 rows, two classes: no class "label"


@pytest.mark.parametrize("labels", ["0,1", "no,yes"])
def test_one_numeric_name_among_names_is_a_header(tmp_path, labels):
    no, yes = labels.split(",")
    table = read_table(write(tmp_path, f"alcohol,2020,acid,label\n1.5,2,3,{no}\n4,5.5,6,{yes}\n7,8,9.5,{no}\n"))
    assert table.feature_names == ["alcohol", "2020", "acid"] and table.X.shape == (3, 3)


def test_a_bad_cell_in_a_first_row_of_numbers_is_refused_not_taken_for_a_header(tmp_path):
    path = write(tmp_path, "1,x,0\n1,2,0\n3,4,1\n")
    with pytest.raises(ValueError) as info:
        read_table(path)
    assert "line 1, column 1" in str(info.value) and "'x'" in str(info.value)
    with pytest.raises(ValueError, match="line 1, column 0"):
        read_table(write(tmp_path, "x,0\n1,0\n2,1\n", "two.csv"))


def test_header_true_or_false_says_it_outright(tmp_path):
    numbers = write(tmp_path, "1,2,0\n3,4,1\n5,6,0\n")
    assert read_table(numbers).X.shape == (3, 2)
    table = read_table(numbers, header=True)
    assert table.feature_names == ["1", "2"] and table.X.shape == (2, 2)
    names = write(tmp_path, "a,b,label\n1,2,0\n", "names.csv")
    with pytest.raises(ValueError) as info:
        read_table(names, header=False)
    assert "line 1, column 0" in str(info.value) and "'a'" in str(info.value) and "header" in str(info.value)


def test_a_saved_models_names_mark_a_header_of_numbers(tmp_path):
    text, X, _ = numeric_table(10, label=False)  # no label column: nothing in the types tells
    net = SimpleNamespace(input_dim=4, feature_names=["0", "1", "2", "3"], encoding=None)
    blocks = iter_feature_blocks(write(tmp_path, text), choose=model_columns(net, need_label=False))
    assert next(blocks).header == 1
    np.testing.assert_array_equal(np.concatenate([block.X for block in blocks]), X)


def test_predictions_have_one_row_per_input_row_under_a_numeric_header(tmp_path, capsys):
    train_text, _, _ = numeric_table(120)
    new_text, _, _ = numeric_table(10, seed=1)
    model, out = tmp_path / "m.npz", tmp_path / "p.csv"
    result = call_main(train.main, capsys, "--data", write(tmp_path, train_text, "train.csv"), "--epochs", 2,
                       "--save", model, "--quiet")
    assert result.code == 0
    assert load(model).feature_names == ["0", "1", "2", "3"] and load(model).classes == [0, 1]
    result = call_main(train.main, capsys, "--predict", model, "--data", write(tmp_path, new_text, "new.csv"),
                       "--out", out)
    assert result.code == 0 and len(out.read_text().splitlines()) == 1 + 10


# ------------------------------------------------------------------ saved names are names


def test_a_model_reads_a_headed_file_by_its_saved_names_even_x0_x1(tmp_path):
    net = SimpleNamespace(input_dim=2, feature_names=["x0", "x1"], encoding=None)
    table = read_table(write(tmp_path, "x1,x0,y\n1,2,0\n3,4,1\n"), choose=model_columns(net))
    np.testing.assert_array_equal(table.X, [[2, 1], [4, 3]])


def test_columns_without_names_give_a_model_without_names(tmp_path):
    table = read_table(write(tmp_path, "1,2,0\n3,4,1\n5,6,0\n7,8,1\n"))
    assert table.feature_names == ["x0", "x1"]  # for messages
    assert prepare(table.classification(), val_fraction=0).net.feature_names is None
    assert prepare(load_dataset("circles", 40), val_fraction=0).net.feature_names is None
    named = read_table(write(tmp_path, "x0,x1,y\n1,2,0\n3,4,1\n5,6,0\n7,8,1\n", "named.csv")).classification()
    assert prepare(named, val_fraction=0).net.feature_names == ["x0", "x1"]
