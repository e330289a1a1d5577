"""Ctrl-C from train.py's (and gradcheck.py's) first instruction on ends the run with status 130 and one line, never a
``KeyboardInterrupt`` traceback from inside the imports (issue 26, item 12)."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import ROOT

MAPS = Path("/proc/self/maps")


def mapped(pid):
    """The files the process has mapped (its shared libraries), or "" once it is gone."""
    try:
        return Path(f"/proc/{pid}/maps").read_text()
    except OSError:
        return ""


@pytest.mark.skipif(not MAPS.exists(), reason="needs /proc/PID/maps to see that the script has begun its imports")
@pytest.mark.parametrize("script", ["train.py", "gradcheck.py"])
def test_ctrl_c_while_the_modules_load_ends_in_one_line_with_status_130(tmp_path, script):
    """NumPy is loaded only by train.py's own imports, after its first instruction: from the moment its library is
    mapped, SIGINT is sent again and again until the process ends, so the first lands among the imports."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    argv = ["--epochs", "100000", "--save", str(tmp_path / "m.npz")] if script == "train.py" else ["--burn-in", "50"]
    proc = subprocess.Popen([sys.executable, str(ROOT / script), *argv], cwd=tmp_path, env=env,
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        while proc.poll() is None and "numpy" not in mapped(proc.pid):
            time.sleep(0.0005)
        while proc.poll() is None:
            os.kill(proc.pid, signal.SIGINT)
            time.sleep(0.002)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "KeyboardInterrupt" not in err
    first = err.splitlines()[0]  # said while the modules load, as later (a busy machine may deliver it later)
    assert first == f"{script}: error: interrupted" or first.startswith(f"{script}: error: stopped by SIGINT"), err
    assert all(line.startswith(f"{script}: error: ") for line in err.splitlines())


LATE = '''import os, signal, time
import numpy as np


class Late:
    """A Sigmoid during whose 20th forward Ctrl-C arrives."""
    calls = 0

    def forward(self, x):
        Late.calls += 1
        if Late.calls == 20:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.5)
        self.y = 1 / (1 + np.exp(-x))
        return self.y

    def backward(self, upstream):
        return upstream * self.y * (1 - self.y)
'''


@pytest.mark.parametrize(("script", "argv"), [("train.py", ["--use", "late.py:Late=Sigmoid", "--save", "m.npz"]),
                                              ("gradcheck.py", ["--use", "late.py:Late=Sigmoid"]),
                                              ("gradcheck.py", ["--layer", "late.py:Late"])])
def test_ctrl_c_inside_a_learners_layer_stops_the_run_and_does_not_fail_the_layer(tmp_path, script, argv):
    (tmp_path / "late.py").write_text(LATE)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(ROOT / script), *argv], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 130, done.stderr
    assert done.stderr.splitlines() == [f"{script}: error: interrupted"]
