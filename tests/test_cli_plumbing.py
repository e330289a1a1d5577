"""``app.cli``, the plumbing both command lines share: closed pipes, impossible requests, one-line errors,
the library's parameter errors said with flags, strict JSON."""

import json
import math
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import train
from app.cli import (EXIT_BROKEN_PIPE, EXIT_INTERRUPTED, OneLineParser, UsageError, dumps_strict, flag_error,
                     flag_errors, parse_widths, run_main, strict_json)
from app.outputs import check_outputs
from layers.validation import ParameterError

from .conftest import ROOT, call_main, run_cli

# A tiny program on run_main, as train.py and gradcheck.py are: OSError is a user error there too,
# which is how "[Errno 32] Broken pipe" used to reach the user.
PROGRAM = textwrap.dedent("""
    import sys
    from app.cli import OneLineParser, run_main

    def run(args):
        for i in range(args.lines):
            print("line", i)
        return 0

    parser = OneLineParser(prog="tiny.py", description="prints lines")
    parser.add_argument("--lines", type=int, default=1)
    sys.exit(run_main("tiny.py", parser, run, None, (ValueError, OSError)))
""")


def _tiny(*argv, stdout=subprocess.PIPE, env=None):
    return subprocess.Popen([sys.executable, "-c", PROGRAM, *argv], cwd=ROOT, stdout=stdout, stderr=subprocess.PIPE,
                            env=env)


def _finish(proc):
    err = proc.stderr.read().decode()
    proc.stderr.close()
    return proc.wait(timeout=30), err


def test_a_reader_that_stops_early_ends_the_program_quietly():
    proc = _tiny("--lines", "200000")  # far more than a pipe buffer holds: the write itself fails
    assert proc.stdout.readline() == b"line 0\n"
    proc.stdout.close()
    code, err = _finish(proc)
    assert (code, err) == (EXIT_BROKEN_PIPE, "")


@pytest.mark.parametrize("unbuffered", ["", "1"])
@pytest.mark.parametrize("argv", [["--lines", "3"], ["--help"]])
def test_a_pipe_closed_before_the_program_writes_is_quiet_too(argv, unbuffered):
    # buffered, the output fails when flushed (by run_main, or at exit); unbuffered, when written
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env.update({"PYTHONUNBUFFERED": unbuffered} if unbuffered else {})
    read_end, write_end = os.pipe()
    os.close(read_end)  # nobody will ever read
    try:
        proc = _tiny(*argv, stdout=write_end, env=env)
    finally:
        os.close(write_end)
    code, err = _finish(proc)
    assert (code, err) == (EXIT_BROKEN_PIPE, "")


def test_an_open_pipe_gets_everything_and_status_0():
    proc = _tiny("--lines", "3")
    out = proc.stdout.read()
    proc.stdout.close()
    code, err = _finish(proc)
    assert (code, err, out) == (0, "", b"line 0\nline 1\nline 2\n")


def _parser():
    parser = OneLineParser(prog="p.py")
    parser.add_argument("--n", type=int, default=1)
    parser.add_argument("--debug", action="store_true")
    return parser


def _main(capsys, run, *argv, error_status=1):
    code = run_main("p.py", _parser(), run, list(argv), (ValueError, OSError, UsageError), error_status=error_status)
    out, err = capsys.readouterr()
    return code, out, err


def _raises(exc):
    def run(args):
        raise exc
    return run


@pytest.mark.parametrize("exc", [MemoryError(), MemoryError(
    "Unable to allocate 7.28 TiB for an array with shape (1000000000000, 1000) and data type float64")])
def test_memory_error_is_one_line_and_status_2(capsys, exc):
    code, out, err = _main(capsys, _raises(exc), error_status=1)
    assert code == 2 and out == "" and "Traceback" not in err and len(err.splitlines()) == 1
    assert err.startswith("p.py: error: not enough memory for this request")
    assert str(exc) in err


def test_memory_error_from_numpy_is_caught(capsys):
    def run(args):  # 2**60 bytes: more than any 64-bit address space, so NumPy fails at once
        return np.empty(2**57).size

    code, _, err = _main(capsys, run, error_status=1)
    assert code == 2 and "not enough memory" in err and "Unable to allocate" in err and len(err.splitlines()) == 1


@pytest.mark.parametrize(("exc", "status"), [(MemoryError(), 2), (ValueError("bad cell"), 1),
                                             (UsageError("--n must be >= 1"), 2), (KeyboardInterrupt(), 130)])
def test_debug_adds_the_traceback_and_keeps_the_status(capsys, exc, status):
    """``--debug`` shows where the error came from, before the same one line, and never changes the status."""
    quiet, _, line = _main(capsys, _raises(exc))
    code, _, err = _main(capsys, _raises(exc), "--debug")
    assert code == quiet == status and len(line.splitlines()) == 1
    assert err.startswith("Traceback") and err.endswith(line)


def test_debug_keeps_the_status_of_a_value_out_of_range(capsys):
    """``--lr -1`` is a bad command line (2), with or without ``--debug``."""
    assert call_main(train.main, capsys, "--lr", "-1").code == 2
    code, _, err = call_main(train.main, capsys, "--lr", "-1", "--debug")
    assert code == 2 and "Traceback" in err and err.splitlines()[-1].startswith("train.py: error: --lr ")


def test_ctrl_c_is_one_line_and_status_130(capsys):
    code, _, err = _main(capsys, _raises(KeyboardInterrupt()))
    assert code == EXIT_INTERRUPTED == 130 and err == "p.py: error: interrupted\n"


@pytest.mark.parametrize("error_status", [1, 2])
def test_a_bad_command_line_is_2_whatever_the_error_status(capsys, error_status):
    code, _, err = _main(capsys, _raises(AssertionError("not reached")), "--n", "x", error_status=error_status)
    assert code == 2 and "--n: invalid int value" in err and len(err.splitlines()) == 1
    code, _, err = _main(capsys, _raises(UsageError("--n must be >= 1")), error_status=error_status)
    assert code == 2 and err == "p.py: error: --n must be >= 1\n"


def test_a_user_error_gets_the_error_status(capsys):
    code, _, err = _main(capsys, _raises(ValueError("line 3: bad\nvalue")), error_status=1)
    assert code == 1 and err == "p.py: error: line 3: bad value\n"


def test_a_refused_output_is_one_line_and_status_2(tmp_path, capsys):
    data = tmp_path / "d.csv"
    data.write_text("1,2,0\n")

    def run(args):
        check_outputs([("--save", str(data), None)], [("--data", str(data))])
        return 0

    code, _, err = _main(capsys, run)
    assert code == 2 and err.count("\n") == 1
    assert err.startswith(f"p.py: error: --save {data} is the same file as --data {data}")


# ---- the library's words and the command line's ----

FLAGS = {"p": "--dropout", "lr": "--lr"}


def test_a_parameter_error_is_said_with_its_flag():
    exc = ParameterError("Dropout", "p", "must be in [0, 1), got 1.5")
    usage = flag_error(exc, FLAGS)
    assert isinstance(usage, UsageError) and str(usage).startswith("--dropout must ") and "1.5" in str(usage)
    unmapped = flag_error(ParameterError("Linear", "in_dim", "must be a positive integer, got 0"), FLAGS)
    assert str(unmapped).startswith("Linear: in_dim must ")  # the library's own words


def test_flag_errors_translates_parameter_errors_only(capsys):
    def run(args):
        with flag_errors(FLAGS):
            raise ParameterError("SGD", "lr", "must be a finite number > 0, got -1.0")

    code, _, err = _main(capsys, run)
    assert code == 2 and err.startswith("p.py: error: --lr must ") and "-1.0" in err and len(err.splitlines()) == 1
    with pytest.raises(ValueError, match="^plain$"), flag_errors(FLAGS):
        raise ValueError("plain")


def test_options_must_be_spelled_out(capsys):
    parser = _parser()
    parser.add_argument("--save")
    with pytest.raises(UsageError, match="unrecognized arguments: --sav"):
        parser.parse_args(["--sav", "x.npz"])
    assert parser.parse_args(["--save", "x.npz"]).save == "x.npz"


@pytest.mark.parametrize("text,widths", [("3", (3,)), ("16,16", (16, 16)), (" 8 ,4", (8, 4))])
def test_widths_are_parsed(text, widths):
    assert parse_widths(text) == widths


@pytest.mark.parametrize("text", ["16,,16", "a", "1.5", ""])
def test_text_that_is_no_widths_is_refused(text):
    with pytest.raises(UsageError, match="--hidden wants comma-separated positive widths like 16,16"):
        parse_widths(text)


# ---- strict JSON ----

def _strict_loads(text):
    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")
    return json.loads(text, parse_constant=refuse)


def test_strict_json_replaces_every_non_finite_number_and_says_where():
    obj = {"loss": float("nan"), "rows": [{"analytic": 1.0}] * 3 + [{"analytic": np.float32("nan"), "n": np.int64(4)}],
           "range": (np.float64("-inf"), np.inf), "ok": np.bool_(True), "grid": np.array([[1.0, np.nan]])}
    clean, notes = strict_json(obj)
    assert clean == {"loss": None, "rows": [{"analytic": 1.0}] * 3 + [{"analytic": None, "n": 4}],
                     "range": [None, None], "ok": True, "grid": [[1.0, None]]}
    assert notes == ["loss was NaN, written as null", "rows[3].analytic was NaN, written as null",
                     "range[0] was -Infinity, written as null", "range[1] was Infinity, written as null",
                     "grid[0][1] was NaN, written as null"]
    assert type(clean["rows"][3]["n"]) is int and type(clean["ok"]) is bool
    assert math.isnan(obj["loss"]) and math.isnan(obj["rows"][3]["analytic"])  # the input is not changed


def test_strict_json_of_a_bare_number():
    assert strict_json(float("inf")) == (None, ["value was Infinity, written as null"])
    assert strict_json([1, np.float16(2.5)]) == ([1, 2.5], [])


def test_dumps_strict_adds_notes_and_extends_existing_ones():
    out = _strict_loads(dumps_strict({"loss": float("nan"), "notes": ["trained 3 epochs"]}))
    assert out == {"loss": None, "notes": ["trained 3 epochs", "loss was NaN, written as null"]}
    assert _strict_loads(dumps_strict({"loss": 1.5})) == {"loss": 1.5}  # nothing replaced, no notes key
    notes = _strict_loads(dumps_strict({"x": np.inf, "notes": "one"}))["notes"]
    assert notes == ["one", "x was Infinity, written as null"]


def test_plain_json_would_have_printed_nan():  # the failure dumps_strict exists to prevent
    with pytest.raises(AssertionError, match="NaN"):
        _strict_loads(json.dumps({"loss": float("nan")}))


finite_or_not = st.floats(allow_nan=True, allow_infinity=True) | st.integers() | st.booleans() | st.none()
nested = st.recursive(finite_or_not, lambda kids: st.lists(kids, max_size=4)
                      | st.dictionaries(st.text(max_size=3), kids, max_size=4), max_leaves=20)


@settings(max_examples=40, deadline=None)
@given(nested)
def test_dumps_strict_never_emits_nan_or_infinity(obj):
    out = _strict_loads(dumps_strict({"data": obj}))
    clean, notes = strict_json({"data": obj})
    assert out == (dict(clean, notes=notes) if notes else clean)


PRINTING_SIGMOID = '''
import numpy as np


class Sigmoid:
    def forward(self, x):
        print("debug: forward", x.shape)  # a learner's debugging print
        self.y = 1 / (1 + np.exp(-x))
        return self.y

    def backward(self, upstream):
        print("debug: backward")
        return upstream * self.y * (1 - self.y)
'''


@pytest.mark.parametrize("script,args", [
    ("train.py", ["--use", "psig.py:Sigmoid", "--json", "--quiet", "--epochs", "2", "--save", "m.npz"]),
    ("gradcheck.py", ["--layer", "psig.py:Sigmoid", "--json"]),
])
def test_with_json_stdout_stays_one_object_when_the_learners_code_prints(tmp_path, script, args):
    (tmp_path / "psig.py").write_text(PRINTING_SIGMOID)
    done = run_cli(script, *args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert isinstance(json.loads(done.stdout), dict)
    assert "debug: forward" in done.stderr
