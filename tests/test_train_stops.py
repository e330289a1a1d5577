"""Nothing lost when train.py stops early: Ctrl-C and SIGTERM save the best model so far and the history
(exit 130 / 143), a divergence after a good epoch saves the best so far (exit 1), and a signal during a save
leaves no temporary file."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

import train
from app.progress import Progress
from model import load
from model.atomic import TMP_TAG
from model.training import Trainer

from .conftest import ROOT, call_main


def run(capsys, *argv):
    return call_main(train.main, capsys, *argv)


def leftovers(directory):
    return [p.name for p in directory.rglob("*") if TMP_TAG in p.name]


@pytest.mark.parametrize("signum,status", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signal_in_training_saves_the_best_model_so_far_and_the_history(tmp_path, capsys, monkeypatch, signum,
                                                                          status):
    shown = Progress.__call__

    def signal_at_epoch_6(self, epoch, history):
        shown(self, epoch, history)
        if epoch == 6:
            os.kill(os.getpid(), signum)  # as the shell's Ctrl-C or a scheduler's SIGTERM would

    monkeypatch.setattr(Progress, "__call__", signal_at_epoch_6)
    model, history = tmp_path / "m.npz", tmp_path / "h.json"
    code, out, err = run(capsys, "--dataset", "moons", "--noise", "0.3", "--epochs", "500", "--json",
                         "--save", model, "--history", history)
    assert code == status
    name = "SIGINT" if signum == signal.SIGINT else "SIGTERM"
    result, h = json.loads(out), json.loads(history.read_text())
    best = int(np.argmin(h["val_loss"])) + 1
    assert h["epoch"] == [1, 2, 3, 4, 5, 6] and result["interrupted"] and result["epoch"] == best
    assert err.splitlines()[-1] == (f"train.py: error: stopped by {name} in epoch 7; saved the model of epoch {best} "
                                    f"(the best validation loss) to {model}, history to {history}")
    assert result["val_loss"] == pytest.approx(min(h["val_loss"]), rel=1e-9)
    assert load(model).evaluate(np.zeros((1, 2)), [0])["n"] == 1 and leftovers(tmp_path) == []


def test_sigterm_to_a_running_process(tmp_path):
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, str(ROOT / "train.py"), "--n-samples", "400", "--epochs", "100000", "--val-fraction",
           "0", "--save", str(tmp_path / "m.npz")]
    with subprocess.Popen(cmd, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True) as proc:
        for line in proc.stdout:  # the first epoch has ended once the path is named
            if line.startswith("path:"):
                break
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "stopped by SIGTERM in epoch" in err and "(the last complete epoch) to" in err
    assert load(tmp_path / "m.npz") is not None and leftovers(tmp_path) == []


def test_a_divergence_after_good_epochs_saves_the_best_so_far(tmp_path, capsys, monkeypatch):
    ended = Trainer._end_epoch

    def blow_up_after_epoch_3(self, epoch, train_metrics):
        stop = ended(self, epoch, train_metrics)  # the epoch recorded, guarded, its weights kept if best
        if epoch == 3:
            self.net.params["b"][...] = 1e6  # every point called class 1, saturated: the next loss explodes
        return stop

    monkeypatch.setattr(Trainer, "_end_epoch", blow_up_after_epoch_3)
    model = tmp_path / "m.npz"
    code, out, err = run(capsys, "--dataset", "moons", "--engine", "layers", "--epochs", "50", "--quiet",
                         "--save", model, "--history", tmp_path / "h.json")
    h = json.loads((tmp_path / "h.json").read_text())
    best = int(np.argmin(h["val_loss"][:3])) + 1
    assert code == 1 and "training diverged in epoch 4" in err and "lower learning rate than --lr 1" in err
    assert f"; saved the model of epoch {best} (the best validation loss) to {model}" in err
    assert len(err.splitlines()) == 1 and h["epoch"] == [1, 2, 3, 4]
    assert abs(load(model).params["b"][0]) < 100  # the kept weights, not the blown-up ones


def test_a_divergence_in_the_first_epoch_saves_nothing(tmp_path, capsys):
    code, _, err = run(capsys, "--lr", "1e6", "--quiet", "--save", tmp_path / "m.npz")
    assert code == 1 and "no model was saved" in err and list(tmp_path.iterdir()) == []


def test_sigterm_during_a_save_finishes_it_atomically_and_leaves_no_temporary_file(tmp_path, capsys, monkeypatch):
    real_replace = os.replace

    def replace_after_a_signal(src, dst):
        if TMP_TAG in str(src):
            os.kill(os.getpid(), signal.SIGTERM)  # arrives while the temporary file is there
        return real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace_after_a_signal)
    code, _, err = run(capsys, "--epochs", "2", "--quiet", "--save", tmp_path / "m.npz",
                       "--history", tmp_path / "h.json")
    assert code == 143 and "SIGTERM" in err and len(err.splitlines()) == 1
    assert leftovers(tmp_path) == [] and load(tmp_path / "m.npz") is not None
    assert json.loads((tmp_path / "h.json").read_text())["epoch"] == [1, 2]  # both files whole
