"""A header-less file whose first row has a bad cell is refused at line 1, not read as a header.

A first record with numbers in it is data: taking ``1,x,0`` for a header would silently lose the row
(and name the columns "1", "x", "0"). The loaders must refuse it as they refuse the same cell on any
later line — one line naming the file, line 1, the column and the cell — and ``train.py`` with it.
"""

import numpy as np
import pytest

import train
from data import iter_feature_blocks, load_csv, read_table

from .conftest import call_main


def write(tmp_path, text):
    path = tmp_path / "d.csv"
    path.write_text(text)
    return path


def assert_names_line_1(message, path, column, cell):
    assert message.startswith(f"{path}: ") and "\n" not in message
    assert "line 1" in message and f"column {column - 1} (" in message and repr(cell) in message


@pytest.mark.parametrize("text, column, cell", [
    ("1,x,0\n2,3,1\n4,5,0\n", 2, "x"),
    ("x,1,0\n2,3,1\n4,5,0\n", 1, "x"),
    ("1.5,2,abc,1\n2,3,4,0\n", 3, "abc"),
    ("1,nan,0\n2,3,1\n", 2, "nan"),
], ids=["middle", "first", "word", "nan"])
def test_a_first_row_with_a_bad_cell_is_refused_at_line_1(tmp_path, text, column, cell):
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as info:
        load_csv(path)
    assert_names_line_1(str(info.value), path, column, cell)


def test_the_same_cell_on_line_2_is_refused_at_line_2(tmp_path):
    # the rule is the same on every line: only the line number differs
    path = write(tmp_path, "2,3,1\n1,x,0\n4,5,0\n")
    with pytest.raises(ValueError, match=r"line 2, column 1"):
        load_csv(path)


def test_a_label_column_chosen_by_index_does_not_make_a_bad_row_a_header(tmp_path):
    path = write(tmp_path, "0,1,x\n1,3,4\n0,5,6\n")
    with pytest.raises(ValueError) as info:
        read_table(path, label=0)
    assert_names_line_1(str(info.value), path, 3, "x")


def test_predicting_from_such_a_file_is_refused_at_line_1(tmp_path):
    path = write(tmp_path, "1,x\n2,3\n")
    with pytest.raises(ValueError) as info:
        list(iter_feature_blocks(path))
    assert_names_line_1(str(info.value), path, 2, "x")


def test_train_py_refuses_it_with_one_line_and_status_1(tmp_path, capsys):
    path = write(tmp_path, "1,x,0\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(20)))
    result = call_main(train.main, capsys, "--data", path, "--epochs", "1", "--quiet", "--save", tmp_path / "m.npz")
    assert result.code == 1 and len(result.err.strip().splitlines()) == 1
    assert "line 1" in result.err and "'x'" in result.err and not (tmp_path / "m.npz").exists()


def test_a_real_header_is_still_a_header(tmp_path):
    ds = load_csv(write(tmp_path, "a,b,label\n1,2,0\n3,4,1\n"))
    assert ds.feature_names == ["a", "b"] and len(ds.X) == 2
    ds = load_csv(write(tmp_path, "1,2,0\n3,4,1\n"))  # no header: every row is data
    np.testing.assert_array_equal(ds.X, [[1, 2], [3, 4]])
