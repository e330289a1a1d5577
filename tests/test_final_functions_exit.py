"""Final review of issue 28 (``gradcheck.py --functions FILE.py`` on a file whose top level ends the process).

Importing the file runs its top level (documented). ``sys.exit`` there is caught ("could not import it", exit 2),
but ``os._exit(0)`` — which no ``except`` sees — ended the checker itself with status 0 and no output: a CI step
read that as "every gradient passed". Now ``layers.protocol.no_process_exit`` turns it into one line, exit 2, while
the file is imported, and into a failing row while its functions are called. The runs are subprocesses: a slip
here would end the test run itself.
"""

import contextlib
import os

import pytest

from layers.protocol import ProcessExit, no_process_exit

from .conftest import ROOT, run_cli, run_in_process

FILE = (ROOT / "tests" / "fixtures" / "cs231n" / "doc_layers.py")


def test_sys_exit_at_the_top_level_is_one_line_and_status_2(tmp_path):
    """What held before (SystemExit is an exception: in process)."""
    path = tmp_path / "layers.py"
    path.write_text(FILE.read_text() + "\nimport sys\nsys.exit(0)\n")
    run = run_in_process("gradcheck.py", "--functions", path)
    assert run.returncode == 2 and "layers.py" in run.stderr


def test_os_exit_at_the_top_level_is_not_a_pass_but_one_line_naming_it(tmp_path):
    path = tmp_path / "layers.py"
    path.write_text(FILE.read_text() + "\nimport os\nos._exit(0)\n")
    run = run_cli("gradcheck.py", "--functions", path)
    assert run.returncode == 2 and run.stdout == "" and len(run.stderr.strip().splitlines()) == 1
    assert "os._exit(0)" in run.stderr and "layers.py" in run.stderr


def test_os_exit_in_a_checked_function_is_its_failing_row(tmp_path):
    path = tmp_path / "layers.py"
    path.write_text(FILE.read_text().replace("def affine_backward(dout, cache):\n",
                                             "def affine_backward(dout, cache):\n    import os\n    os._exit(0)\n"))
    assert "os._exit" in path.read_text()
    run = run_cli("gradcheck.py", "--functions", path)
    row = next(line for line in run.stdout.splitlines() if line.startswith("affine"))
    assert run.returncode == 1 and "fail" in row and "os._exit(0)" in run.stdout


def test_os_exit_in_a_layer_file_and_in_its_backward_is_one_line(tmp_path):
    """``--layer`` loads its file with the same loader, and checks the class under the same guard."""
    top = tmp_path / "top.py"
    top.write_text("import os\nos._exit(0)\n")
    calls = tmp_path / "calls.py"
    calls.write_text("import os\n\nfrom layers import Sigmoid as Library\n\n\nclass Sigmoid(Library):\n"
                     "    def backward(self, upstream):\n        os._exit(0)\n")
    for spec in (f"{top}:Sigmoid", f"{calls}:Sigmoid"):
        run = run_cli("gradcheck.py", "--layer", spec)
        assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1 and "os._exit(0)" in run.stderr


def test_the_guard_raises_in_place_of_os_exit_and_gives_it_back(monkeypatch):
    class Ended(BaseException):
        pass

    def fake(status):  # stands for the real os._exit, so a broken guard cannot end the test run
        raise Ended(status)

    monkeypatch.setattr(os, "_exit", fake)
    # user code's catch-all (suppress(Exception)) does not swallow it
    with pytest.raises(ProcessExit) as raised, no_process_exit(), contextlib.suppress(Exception):
        os._exit(3)
    assert raised.value.status == 3 and os._exit is fake
    with pytest.raises(ZeroDivisionError), no_process_exit():
        raise ZeroDivisionError
    assert os._exit is fake
