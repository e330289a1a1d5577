"""Hints on demand (issue 25, item 14): an exercise file keeps its TODO, its shapes and the shape rule, and no
answer; the three tiers (the pattern, the shape, the formula and where the worked solution is) come one at a
time from ``gradcheck.py --layer FILE:Class --hint N`` or, in the notebook, ``hint(name, N)``."""

import re

import pytest

import gradcheck
from app.cli import UsageError
from app.gradcheck_cli import run
from app.hints import HINTS_FILE, hint, read_hints
from layers.validation import ParameterError

from .conftest import ROOT
from .test_exercises import CASES, EXERCISES

#: a piece of each answer's formula, which tier 3 gives and the exercise file must not
FORMULAS = {"Sigmoid": "y * (1 - y)", "BCELoss": "(1 - y) / (1 - p)", "ReLU": "upstream * (x > 0)",
            "Tanh": "1 - y ** 2", "Linear": "x.T @ upstream", "SoftmaxCrossEntropyLoss": "-= 1",
            "BatchNorm": "dx_hat.sum(axis=0)"}


@pytest.mark.parametrize("file, name", [c[:2] for c in CASES])
def test_an_exercise_keeps_its_todo_and_shapes_and_asks_for_hints_instead_of_showing_them(file, name):
    text = (EXERCISES / file).read_text(encoding="utf-8")
    assert "TODO" in text and "Shapes" in text and "Shape rule" in text
    assert FORMULAS[name] not in text and "worked solution: the library's" not in text and "Hints." not in text
    assert f"python gradcheck.py --layer exercises/{file}:{name} --hint 1" in text


@pytest.mark.parametrize("name", FORMULAS)
def test_each_exercise_has_three_tiers_and_the_third_names_the_formula_and_the_solutions_file(name):
    tiers = read_hints()[name]
    assert sorted(tiers) == [1, 2, 3]
    assert tiers[1].startswith("The pattern") and tiers[2].startswith("The shape")
    assert FORMULAS[name] in tiers[3] and FORMULAS[name] not in tiers[1] + tiers[2]
    solution = re.search(r"in (layers/\w+\.py)", tiers[3])
    assert solution and (ROOT / solution[1]).is_file()


def test_the_notebooks_hint_gives_one_tier_at_a_time():
    text = hint("Sigmoid", 2)
    assert text.startswith("Hint 2 of 3 for Sigmoid") and "The shape" in text and "The formula" not in text
    with pytest.raises(ParameterError, match="tier"):
        hint("Sigmoid", 4)
    with pytest.raises(ParameterError, match="MySigmoid.*Sigmoid") as info:
        hint("MySigmoid")
    assert info.value.param == "class_name"


def parsed(*argv, tier):
    """``gradcheck.py argv --hint tier`` as parsed (``--hint`` set on the namespace its parser fills)."""
    a = gradcheck.build_parser().parse_args(list(argv))
    a.hint = tier
    return a


def test_gradcheck_layer_hint_prints_that_tier_and_checks_nothing(capsys):
    assert run(parsed("--layer", "exercises/relu.py:ReLU", tier=3)) == 0
    out = capsys.readouterr().out
    assert out.startswith("Hint 3 of 3 for ReLU") and FORMULAS["ReLU"] in out and "layers/activations.py" in out
    assert "pass" not in out and "not implemented" not in out


def test_a_class_under_your_name_gets_the_hints_of_the_class_it_stands_for(capsys):
    assert run(parsed("--layer", "mine.py:MyReLU=ReLU", tier=1)) == 0
    assert capsys.readouterr().out.startswith("Hint 1 of 3 for ReLU")


@pytest.mark.parametrize("argv", [(), ("--layer", "exercises/relu.py:ReLU", "--json"),
                                  ("--layer", "mine.py:MyReLU"), ("--layer", "relu:ReLU")])
def test_a_hint_without_an_exercise_class_is_one_usage_error(argv):
    with pytest.raises((UsageError, ValueError)) as info:
        run(parsed(*argv, tier=1))
    assert "\n" not in str(info.value) and ("--hint" in str(info.value) or "--layer" in str(info.value))


def test_the_hints_file_is_where_the_exercises_are():
    assert HINTS_FILE == EXERCISES / "hints.md"
