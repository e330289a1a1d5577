import contextlib
import importlib
import io
import os
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

#: the repository's root: where train.py and gradcheck.py are, and what the tests import from
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def rng():
    return np.random.default_rng(20261127)


@pytest.fixture
def progress_now(monkeypatch):
    """``train.py`` shows its progress from the first epoch on, however short the run (tests' runs are)."""
    from app import progress

    monkeypatch.setattr(progress, "QUIET_SECONDS", 0.0)


def away_from_zero(rng, shape, margin=1e-2):
    """Standard-normal values nudged so none lies within ``margin`` of ReLU's kink."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < margin, np.sign(x + 1e-300) * margin * 2, x)


# ---------------------------------------------------------------- running the command lines


class CliResult(NamedTuple):
    """What a command line did: its exit status and everything it wrote."""

    code: int
    out: str
    err: str


def call_main(main, capsys, *argv):
    """In-process: ``main([str(arg) for arg in argv])`` with stdout and stderr captured by ``capsys``.

    Returns a ``CliResult`` (unpacks as ``code, out, err``). ``main`` is a script's ``main`` function,
    e.g. ``train.main``; anything it writes before the call (e.g. an earlier run) is discarded first.
    """
    capsys.readouterr()
    code = main([str(arg) for arg in argv])
    out, err = capsys.readouterr()
    return CliResult(code, out, err)


def run_cli(script, *argv, cwd=None, timeout=120, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL):
    """In a subprocess: ``python ROOT/script argv...`` with the repository root on the import path.

    Parameters
    ----------
    script : str, a file name relative to the repository root (``"train.py"``)
    argv : the arguments, each turned into ``str``
    cwd : the working directory (default: the repository root); relative paths in ``argv`` are from here
    stdout : where stdout goes (default: captured); e.g. the write end of a pipe nobody reads
    stdin : default: nothing to read

    Returns
    -------
    subprocess.CompletedProcess with text ``stdout`` (if captured) and ``stderr``.
    """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, str(ROOT / script), *map(str, argv)], cwd=cwd or ROOT, env=env,
                          stdout=stdout, stderr=subprocess.PIPE, stdin=stdin, text=True, timeout=timeout,
                          check=False)


def run_in_process(script, *argv, cwd=None):
    """``run_cli``'s in-process twin, for tests of what a command says and writes rather than of the process
    around it: ``script``'s ``main`` called in ``cwd`` (default: the repository root) with stdout and stderr
    caught, with no interpreter to start. Returns a ``subprocess.CompletedProcess`` as ``run_cli`` does
    (``returncode``, text ``stdout`` and ``stderr``)."""
    main = importlib.import_module(Path(script).stem).main
    out, err, before = io.StringIO(), io.StringIO(), os.getcwd()
    os.chdir(cwd or ROOT)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main([str(arg) for arg in argv])
    finally:
        os.chdir(before)
    return subprocess.CompletedProcess([script, *argv], code, out.getvalue(), err.getvalue())


def hints_in(out):
    """Each hint of a check table or a trace (a ``↳`` or ``hint:`` line) with its wrapped continuation lines joined."""
    hints = []
    for line in out.splitlines():
        text = line.strip()
        if text.startswith(("↳", "hint:")):
            hints.append(text)
        elif hints and line.startswith("      ") and text and not hints[-1].endswith("\n"):
            hints[-1] += " " + text
        elif hints:
            hints[-1] += "\n"  # the hint ended
    return [h.rstrip("\n") for h in hints]
