"""The record numpy's parser refuses is found by bisection whose bounds start around the row numpy's message names:
a hint, checked by parsing, so a wrong or missing hint still finds the right record (only more slowly)."""

import re

import numpy as np
import pytest

import data.csv_loader as loader
from data import read_table
from data.csv_loader import Cells


def _table(tmp_path, gaps, n=60):
    """n rows of 3 features and a label, feature j empty at row gaps[j] (None: no gap)."""
    X = np.arange(n * 3, dtype=float).reshape(n, 3) + 0.5
    lines = ["a,b,c,y"]
    for i, row in enumerate(X.tolist()):
        cells = ["" if gaps[j] == i else repr(v) for j, v in enumerate(row)]
        lines.append(",".join(cells) + f",{i % 2}")
    path = tmp_path / "t.csv"
    path.write_text("\n".join(lines) + "\n")
    return path, X


@pytest.mark.parametrize("hint", ["numpy's", "0", "1000000", None])
@pytest.mark.parametrize("gaps", [(0, None, None), (1, 2, 59), (30, 31, 1), (59, 0, 29)])
def test_each_first_gap_is_read_where_it_is_whatever_the_hint(tmp_path, monkeypatch, hint, gaps):
    """numpy's own hint, one naming row 0 or a row past the batch, and none at all: the same table."""
    if hint != "numpy's":
        monkeypatch.setattr(loader, "ROW_IN_MESSAGE", _Naming(hint))
    path, X = _table(tmp_path, gaps)
    table = read_table(path, cells=Cells(gaps=True, text="auto"))
    expected = X.copy()
    for j, i in enumerate(gaps):
        if i is not None:
            expected[i, j] = np.nan
    np.testing.assert_array_equal(table.X, expected)


class _Naming:
    """A stand-in for ``ROW_IN_MESSAGE`` whose every match names ``row`` (None: nothing matches)."""

    def __init__(self, row):
        self.row = row

    def search(self, text):
        return None if self.row is None else re.match(r"(\d+)", self.row)
