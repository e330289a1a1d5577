"""``--quiet`` leaves out the settings, the progress and the picture, and keeps the result line (issue 26,
item 15); with ``--json`` the one object is the result and nothing else is printed."""

import json

import train

from .conftest import call_main

RUN = ("--n-samples", "60", "--epochs", "2", "--quiet")


def test_quiet_prints_the_result_line_alone(tmp_path, capsys):
    code, out, err = call_main(train.main, capsys, *RUN, "--save", tmp_path / "m.npz")
    assert code == 0 and err == ""
    assert len(out.splitlines()) == 1 and out.startswith("done: ") and "val acc" in out and "train loss" in out


def test_quiet_with_json_prints_the_object_alone(tmp_path, capsys):
    code, out, err = call_main(train.main, capsys, *RUN, "--json", "--save", tmp_path / "m.npz")
    assert code == 0 and err == "" and "val_acc" in json.loads(out)
