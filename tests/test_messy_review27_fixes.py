"""Issue 27's review fixes, beyond the pinned findings (tests/test_review27_messy_tables.py): where each new rule
stops — a column of gaps only, a category with inner spaces, an id named like no output column."""

import pytest

from data.csv_layout import is_header


@pytest.mark.parametrize("gap", ["", "NA", "?", "nan", " "])
def test_a_gap_below_a_name_still_votes_for_a_header(gap):
    assert is_header(["a", "b"], [["1", "2"], [gap, "3"], ["4", "5"]], [], None)


def test_a_column_of_gaps_only_is_no_column_of_numbers():
    """Broken case: were missing cells numbers, a column of gaps under a name would make any first row a header."""
    assert not is_header(["a", "b", "1"], [["", "2", "3"], ["NA", "4", "5"]], [], None)  # one name, one number: data
    assert is_header(["a", "b"], [["", "2"], ["NA", "3"]], [], None)  # 'b' over numbers decides


def test_a_text_cell_under_the_first_row_still_says_data():
    """The gap rule does not make text numbers: a first row over a text column is data when the rest are numbers."""
    assert not is_header(["1", "red"], [["2", "blue"], ["", "red"]], [], None)
