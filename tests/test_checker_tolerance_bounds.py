"""Tolerances are bounded: with --tol 1 nothing could fail (a relative error never exceeds 1)."""

import pytest

import gradcheck
from checking.settings import MAX_TOL, CheckSettings
from layers.validation import ParameterError

from .conftest import call_main


@pytest.mark.parametrize("flag", ["--tol", "--warn-tol"])
@pytest.mark.parametrize("value", ["1", "0.5", str(MAX_TOL)])
def test_the_command_line_refuses_a_tolerance_that_lets_everything_pass(flag, value, capsys):
    code, out, err = call_main(gradcheck.main, capsys, f"{flag}={value}")
    assert code == 2 and out == "" and err.count("\n") == 1 and flag in err and "0.1" in err


@pytest.mark.parametrize("field", ["tol", "warn_tol"])
def test_check_settings_refuse_it_naming_the_field(field):
    with pytest.raises(ParameterError, match=field):
        CheckSettings(**{field: 1.0})


def test_tolerances_just_below_the_bound_are_taken():
    assert CheckSettings(tol=0.05, warn_tol=0.09).warn_tol == 0.09
