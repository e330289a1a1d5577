"""With ``--data`` the table recipe stops early (patience 10); ``--patience off`` switches that off (issue 26,
item 16), and what it accepts is a number of epochs or ``off``."""

import json

import numpy as np
import pytest

import train

from .conftest import call_main


@pytest.fixture
def table(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((100, 2))
    rows = "\n".join(f"{a:.6g},{b:.6g},{int(a > 0)}" for a, b in X)
    path = tmp_path / "t.csv"
    path.write_text("a,b,y\n" + rows + "\n")
    return path


def result(capsys, table, *argv):
    code, out, err = call_main(train.main, capsys, "--data", table, "--epochs", "300", "--json", "--quiet",
                               "--save", table.with_suffix(".npz"), *argv)
    assert code == 0, err
    return json.loads(out)


def test_patience_off_trains_every_epoch_where_the_table_recipe_stops_early(capsys, table):
    assert result(capsys, table)["stopped_early"] is True  # the recipe's patience 10
    off = result(capsys, table, "--patience", "off")
    assert off["stopped_early"] is False and off["epochs"] == 300 and "--patience" not in off["settings"]


@pytest.mark.parametrize(("value", "words"), [("x", "or off"), ("0", "--patience must be")])
def test_patience_wants_a_number_of_epochs_or_off(capsys, value, words):
    code, _, err = call_main(train.main, capsys, "--patience", value)
    assert code == 2 and words in err and len(err.splitlines()) == 1
