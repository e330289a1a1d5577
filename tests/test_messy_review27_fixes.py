"""Issue 27's review fixes, beyond the pinned findings (tests/test_review27_messy_tables.py): where each new rule
stops — a column of gaps only, a category with inner spaces, an id named like no output column."""

import json

import numpy as np
import pytest

import train
from app.cli import EXIT_USAGE
from data.csv_layout import is_header
from data.encoding import Encoding
from model import load

from .conftest import call_main


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


@pytest.mark.parametrize("gap", ["", "NA"])
def test_a_gap_in_the_first_row_is_no_name(gap):
    """Broken case: counted as a name, a first-row gap over a column of numbers made data a header (then refused
    as a header with an empty name)."""
    assert not is_header([gap, "red", "x"], [["5", "blue", "y"], ["7", "red", "x"]], [], 2)
    assert not is_header(["1", gap, "x"], [["5", "2", "y"], ["7", "3", "x"]], [], 2)


def test_a_headerless_table_with_a_gap_in_its_first_row_trains(tmp_path, capsys):
    data = tmp_path / "h.csv"
    data.write_text(",red,x\n5,blue,y\n7,red,x\n2,blue,y\n")
    code, _, err = call_main(train.main, capsys, "--data", data, "--epochs", 1, "--quiet", "--save", tmp_path / "m.npz")
    assert code == 0, err
    assert load(tmp_path / "m.npz").encoding.categories == [None, ["blue", "red"]]


def _encoding(categories):
    return {"names": ["a", "colour"], "medians": [1.0, 0.0], "indicators": [False, False],
            "categories": [None, categories]}


def test_a_category_with_inner_spaces_is_one_a_cell_can_have():
    encoding = Encoding.from_config(_encoding(["dark red", "red"]), 3)
    assert encoding.categories[1] == ["dark red", "red"]


@pytest.mark.parametrize("bad", ["NA", "red ", "\tred", "NaN", "-nan"])
def test_a_category_no_cell_can_have_is_refused_naming_column_and_text(bad):
    with pytest.raises(ValueError, match="colour") as info:
        Encoding.from_config(_encoding(sorted([bad, "red"])), 3)
    assert repr(bad) in str(info.value) and "\n" not in str(info.value)


def _trained(tmp_path, capsys):
    data = tmp_path / "t.csv"
    data.write_text("a,colour,species\n1,red,x\n,blue,y\n5,red,x\n7,blue,y\n2,red,x\n6,blue,y\n")
    model = tmp_path / "m.npz"
    code, _, err = call_main(train.main, capsys, "--data", data, "--label", "species", "--epochs", 1, "--quiet",
                             "--save", model)
    assert code == 0, err
    return model


def test_encoding_names_differing_from_feature_names_are_refused_naming_the_column(tmp_path, capsys):
    model = _trained(tmp_path, capsys)
    members = dict(np.load(model, allow_pickle=False))
    arch = json.loads(str(members["architecture"]))
    arch["feature_names"][0] = "b"
    members["architecture"] = np.array(json.dumps(arch))
    np.savez(tmp_path / "d.npz", **members)
    with pytest.raises(ValueError, match="names") as info:
        load(tmp_path / "d.npz")
    assert "column 0" in str(info.value) and "'a'" in str(info.value) and "'b'" in str(info.value)


@pytest.mark.parametrize("name", ["predicted", "p_x"])
def test_an_id_named_as_an_output_column_exits_2_and_writes_nothing(tmp_path, capsys, name):
    model = _trained(tmp_path, capsys)
    new = tmp_path / "new.csv"
    new.write_text(f"{name},a,colour\nr1,1,red\nr2,,blue\n")
    out = tmp_path / "out.csv"
    code, _, err = call_main(train.main, capsys, "--predict", model, "--data", new, "--id", name, "--out", out)
    assert code == EXIT_USAGE and len(err.strip().splitlines()) == 1
    assert repr(name) in err and "'p_y'" in err and not out.exists()


@pytest.mark.parametrize("name", ["Predicted", "p_z", "id"])
def test_an_id_named_like_no_output_column_is_written_first(tmp_path, capsys, name):
    model = _trained(tmp_path, capsys)
    new = tmp_path / "new.csv"
    new.write_text(f"{name},a,colour\nr1,1,red\nr2,,blue\n")
    out = tmp_path / "out.csv"
    code, _, err = call_main(train.main, capsys, "--predict", model, "--data", new, "--id", name, "--out", out)
    assert code == 0, err
    assert out.read_text().splitlines()[0].split(",") == [name, "predicted", "p_x", "p_y"]
