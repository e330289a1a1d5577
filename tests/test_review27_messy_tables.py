"""Review of issue 27 (messy tables in ``train.py --data``): findings about the header of a table with gaps, and
about model files whose stored encoding holds what training can never produce.

Each finding was pinned as ``xfail(strict=True)`` and now passes (its mark removed with the fix); the
finding each test checks is named in its docstring.
"""

import json

import numpy as np
import pytest

import train
from model import load

from .conftest import call_main

#: a numeric column with a gap in the first rows, a text column and a text label, under a header
GAPPY = "a,colour,species\n1,red,x\n,blue,y\n5,red,x\n7,blue,y\n2,red,x\n6,blue,y\n"
#: the same table without the gap: the header is recognised by its types
CLEAN = "a,colour,species\n1,red,x\n3,blue,y\n5,red,x\n7,blue,y\n2,red,x\n6,blue,y\n"


def _write(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_clean_table_is_read_with_its_header(tmp_path, capsys):
    """The baseline the findings below compare with: without a gap, the header is found by its types."""
    data = _write(tmp_path, CLEAN)
    code, _, err = call_main(train.main, capsys, "--data", data, "--epochs", 1, "--quiet", "--save", tmp_path / "m.npz")
    assert code == 0, err


def test_a_gap_does_not_hide_the_header(tmp_path, capsys):
    """Finding 1: a gap in a numeric column does not hide the header (data.csv_layout.is_header)."""
    data = _write(tmp_path, GAPPY)
    code, _, err = call_main(train.main, capsys, "--data", data, "--epochs", 1, "--quiet", "--save", tmp_path / "m.npz")
    assert code == 0, err


def test_a_misspelt_feature_is_named_on_a_table_with_gaps(tmp_path, capsys):
    """Finding 1: a --features typo on a table with gaps is named, not reported as a missing header."""
    data = _write(tmp_path, GAPPY)
    code, _, err = call_main(train.main, capsys, "--data", data, "--label", "species", "--features", "a,colr",
                             "--quiet", "--save", tmp_path / "m.npz")
    assert code != 0
    assert "'colr'" in err and "no header" not in err


def test_a_misspelt_feature_is_named_on_a_clean_table(tmp_path, capsys):
    """The same typo on the table without gaps names it (what the finding above asks for)."""
    data = _write(tmp_path, CLEAN)
    code, _, err = call_main(train.main, capsys, "--data", data, "--label", "species", "--features", "a,colr",
                             "--quiet", "--save", tmp_path / "m.npz")
    assert code != 0 and "'colr'" in err and "no header" not in err


# ------------------------------------------------------------------ damaged encodings in a model file


@pytest.fixture
def messy_model(tmp_path, capsys):
    """A model trained on a table with a text column and a gap (named with --label, so the header is found)."""
    data = _write(tmp_path, GAPPY)
    path = tmp_path / "m.npz"
    code, _, err = call_main(train.main, capsys, "--data", data, "--label", "species", "--epochs", 1, "--quiet",
                             "--save", path)
    assert code == 0, err
    assert load(path).encoding.categories[1] == ["blue", "red"]
    return path


def _edited(path, out, edit):
    members = dict(np.load(path, allow_pickle=False))
    arch = json.loads(str(members["architecture"]))
    edit(arch)
    members["architecture"] = np.array(json.dumps(arch))
    np.savez(out, **members)
    return out


@pytest.mark.parametrize("marker", ["", "NA", "?", "nan", " red"])
def test_a_category_no_cell_can_have_is_refused(messy_model, tmp_path, marker):
    """Finding 4 (5 in the brief): a stored category no cell can have shifts no one-hot column: refused."""
    def edit(arch):
        arch["encoding"]["categories"][1] = sorted([marker, "red"])
    damaged = _edited(messy_model, tmp_path / "d.npz", edit)
    with pytest.raises(ValueError, match="colour"):
        load(damaged)


def test_encoding_names_must_be_the_feature_names(messy_model, tmp_path):
    """Finding 4 (5 in the brief): a stored encoding names its columns as feature_names does."""
    def edit(arch):
        arch["encoding"]["names"][1] = "flavour"
    damaged = _edited(messy_model, tmp_path / "d.npz", edit)
    with pytest.raises(ValueError, match="names"):
        load(damaged)


def test_a_stored_category_list_that_is_not_sorted_is_refused(messy_model, tmp_path):
    """What holds: the existing check refuses unsorted categories (the same check the finding above extends)."""
    def edit(arch):
        arch["encoding"]["categories"][1] = ["red", "blue"]
    damaged = _edited(messy_model, tmp_path / "d.npz", edit)
    with pytest.raises(ValueError, match="colour"):
        load(damaged)


# ------------------------------------------------------------------ --id in --predict


@pytest.mark.parametrize("name", ["predicted", "p_red"])
def test_the_output_header_names_each_column_once(tmp_path, capsys, name):
    """Finding 7: --id cannot make the output header name a column twice (refused, app.predictions)."""
    data = _write(tmp_path, "x,y\n1,red\n2,blue\n3,red\n4,blue\n5,red\n6,blue\n")
    model = tmp_path / "m.npz"
    code, _, err = call_main(train.main, capsys, "--data", data, "--epochs", 1, "--quiet", "--save", model)
    assert code == 0, err
    new = _write(tmp_path, f"{name},x\nrow1,1.5\nrow2,2.5\n", "new.csv")
    out = tmp_path / "out.csv"
    code, _, err = call_main(train.main, capsys, "--predict", model, "--data", new, "--id", name, "--out", out)
    if code == 0:
        header = out.read_text().splitlines()[0].split(",")
        assert len(set(header)) == len(header), header
    else:  # or refused in one line naming the clash
        assert len(err.strip().splitlines()) == 1 and name in err
