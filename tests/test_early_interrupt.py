"""Ctrl-C from train.py's first instruction on ends the run with status 130 and one line, never a
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


@pytest.mark.skipif(not MAPS.exists(), reason="needs /proc/PID/maps to see that train.py has begun its imports")
def test_ctrl_c_while_the_modules_load_ends_in_one_line_with_status_130(tmp_path):
    """NumPy is loaded only by train.py's own imports, after its first instruction: from the moment its library is
    mapped, SIGINT is sent again and again until the process ends, so the first lands among the imports."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, str(ROOT / "train.py"), "--epochs", "100000", "--save",
                             str(tmp_path / "m.npz")], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
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
    assert "Traceback" not in err and "KeyboardInterrupt" not in err and out == ""
    assert err.splitlines()[0] == "train.py: error: interrupted"  # said while the modules load, as later
    assert all(line.startswith("train.py: error: ") for line in err.splitlines())
