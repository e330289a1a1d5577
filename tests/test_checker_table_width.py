"""The default check table fits 120 columns, and $COLUMNS on a terminal: notes and hints wrap, and a narrow
table leaves out the columns the JSON still has."""

import io

import numpy as np
import pytest

import checking.report
from checking.checker import check_layer, numerical_gradient
from checking.report import NARROW, table_width
from checking.suites import default_suite
from layers import ReLU
from .test_checker_several_calls import Affine


@pytest.fixture(scope="module")
def report():
    return default_suite()


def test_the_default_table_fits_120_columns(report):
    lines = report.table().splitlines()
    assert max(map(len, lines)) <= 120
    assert "rel err" in lines[0] and "shape" in lines[0] and any(line.startswith("note:") for line in lines)


def test_a_narrower_width_wraps_notes_and_drops_columns_in_order(report):
    lines = report.table(width=100).splitlines()
    assert max(map(len, lines)) <= 100 and not any(column in lines[0] for column in NARROW)
    assert lines[2].startswith("Linear ") and lines[2].endswith("pass")


def test_hints_wrap_too():
    class Accumulating(Affine):
        def __init__(self):
            super().__init__(store="accumulate")

    text = check_layer(Accumulating(), np.ones((4, 5))).table(width=90)
    assert max(map(len, text.splitlines())) <= 90 and "    ↳ " in text


def test_columns_is_read_on_a_terminal_only(monkeypatch):
    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setenv("COLUMNS", "100")
    assert table_width() == 120  # captured output is no terminal
    monkeypatch.setattr(checking.report.sys, "stdout", Terminal())
    assert table_width() == 100
    monkeypatch.setenv("COLUMNS", "abc")
    assert table_width() == 120


def test_integer_inputs_are_checked_as_float_copies_and_numerical_gradient_refuses_them():
    """docs/gradcheck.md, as the behaviour is: check_layer casts (with a note); the in-place primitive refuses."""
    report = check_layer(ReLU(), np.array([[1, -2], [3, 5]]))
    assert report.passed and any("int64" in n and "float64" in n for n in report.notes)
    with pytest.raises(TypeError, match="truncated"):
        numerical_gradient(lambda v: float(v.sum()), np.array([1, 2]))
