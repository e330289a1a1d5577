"""A failing ``gradcheck.py --layer FILE:Class`` run of an exercise class points to its ``--hint`` tiers.

One line per failing class that ``--hint`` knows (``app.hints``), with the exact command, before the last line (which
repeats the run); none for a passing class, a class without hints, or under ``--json``.
"""

import json
import re
import shlex
import textwrap

import gradcheck

from .conftest import call_main

#: a Sigmoid whose backward leaves out the factor (1 − y), under two names
SLIPS = textwrap.dedent("""
    import numpy as np

    class Sigmoid:
        params, grads = {}, {}

        def forward(self, x):
            self.y = 1 / (1 + np.exp(-x))
            return self.y

        def backward(self, upstream):
            return upstream * self.y


    class Squash(Sigmoid):
        pass
    """)

POINTER = re.compile(r"python gradcheck\.py (--layer \S+ --hint 1)\b")


def _run(tmp_path, capsys, *specs, extra=()):
    path = tmp_path / "mine.py"
    path.write_text(SLIPS)
    argv = [w for spec in specs for w in ("--layer", f"{path}:{spec}")]
    return call_main(gradcheck.main, capsys, *argv, *extra)


def test_a_failing_exercise_class_gets_the_command_of_its_first_hint(tmp_path, capsys):
    code, out, _ = _run(tmp_path, capsys, "Sigmoid")
    lines = out.splitlines()
    pointers = [line for line in lines if POINTER.search(line)]
    assert code == 1 and len(pointers) == 1 and "Sigmoid" in pointers[0]
    assert "--hint 2" in pointers[0] and "--hint 3" in pointers[0]
    assert lines[-1].startswith("To repeat this run exactly")  # the repeat line stays the last
    command = shlex.split(POINTER.search(pointers[0]).group(1))
    code, out, _ = call_main(gradcheck.main, capsys, *command)  # the command shown runs, and gives hint 1
    assert code == 0 and out.startswith("Hint 1 of 3 for Sigmoid")


def test_a_class_standing_for_an_exercise_gets_that_exercises_hint(tmp_path, capsys):
    code, out, _ = _run(tmp_path, capsys, "Squash=Sigmoid")
    assert code == 1 and re.search(r"Sigmoid\? python gradcheck\.py --layer \S+:Squash=Sigmoid --hint 1", out)


def test_a_class_without_hints_gets_no_pointer(tmp_path, capsys):
    code, out, _ = _run(tmp_path, capsys, "Squash")
    assert code == 1 and "--hint" not in out


def test_a_passing_exercise_class_gets_no_pointer(tmp_path, capsys):
    path = tmp_path / "right.py"
    path.write_text("from layers import Sigmoid\n")
    code, out, _ = call_main(gradcheck.main, capsys, "--layer", f"{path}:Sigmoid")
    assert code == 0 and "--hint" not in out


def test_only_the_failing_entry_of_several_gets_a_pointer(tmp_path, capsys):
    right = tmp_path / "right.py"
    right.write_text("from layers import ReLU\n")
    path = tmp_path / "mine.py"
    path.write_text(SLIPS)
    code, out, _ = call_main(gradcheck.main, capsys, "--layer", f"{right}:ReLU", "--layer", f"{path}:Sigmoid")
    pointers = [line for line in out.splitlines() if POINTER.search(line)]
    assert code == 1 and len(pointers) == 1 and ":Sigmoid --hint 1" in pointers[0]


def test_json_stays_one_object(tmp_path, capsys):
    code, out, _ = _run(tmp_path, capsys, "Sigmoid", extra=("--json",))
    assert code == 1 and json.loads(out)["rows"]
