"""The live line moves within long epochs: ``train``'s ``on_batch`` hook and ``Progress.within_epoch``."""

import io

import numpy as np
import pytest

from app import progress
from app.progress import Progress
from data import make_circles
from model import build_mlp
from model.history import History
from model.training import BATCH_CALLS, train

from .test_progress import Clock, Terminal  # the fake clock and terminal of the per-epoch tests


def long_epoch(report, clock, epoch, batches, seconds_each):
    for batch in range(1, batches + 1):
        clock.now += seconds_each
        report.within_epoch(epoch, batch, batches)


def test_on_a_terminal_a_long_epoch_redraws_a_few_times_a_second_with_the_batch_reached():
    out, clock = Terminal(), Clock()
    report = Progress(out, 4, clock=clock)
    long_epoch(report, clock, 1, 1024, 1 / 256)  # a 4-second first epoch (steps exact in binary)
    text = out.getvalue()
    redraws = text.count("\r\x1b[K")
    assert 4 / progress.LIVE_INTERVAL - 2 <= redraws <= 4 / progress.LIVE_INTERVAL + 1  # ~16, not 1024
    assert "epoch 1/4  batch 512/1024  0:02 spent, ~0:14 left" in text  # half an epoch of four in 2 s
    assert "loss" not in text and "\n" not in text  # no epoch has ended: no losses yet


def test_after_an_epoch_the_live_line_within_the_next_shows_its_losses():
    out, clock = Terminal(), Clock()
    report = Progress(out, 3, clock=clock)
    long_epoch(report, clock, 1, 100, 0.01)
    h = History()
    h.record(1, {"loss": 0.25, "accuracy": 0.5}, {"loss": 0.5, "accuracy": 0.75})
    clock.now += 0.3
    report(1, h)
    long_epoch(report, clock, 2, 100, 0.01)
    last = out.getvalue().rsplit("\r\x1b[K", 1)[-1]
    assert last.startswith("epoch 2/3  batch ") and "loss 0.2500  val loss 0.5000  val acc 0.750" in last


def test_without_a_terminal_nothing_is_written_within_epochs():
    out, clock = io.StringIO(), Clock()
    report = Progress(out, 4, clock=clock)
    long_epoch(report, clock, 1, 1000, 0.004)
    assert out.getvalue() == ""


def test_a_run_within_the_quiet_time_draws_nothing_within_epochs():
    out, clock = Terminal(), Clock()
    report = Progress(out, 4, clock=clock)
    long_epoch(report, clock, 1, 100, 0.004)  # 0.4 s
    assert out.getvalue() == ""


@pytest.mark.parametrize("engine", ["auto", "layers"])
def test_train_calls_on_batch_every_few_batches_on_both_paths(engine):
    X, y = make_circles(640, seed=0)
    calls = []
    history = train(build_mlp(2, [8], seed=0), X, y, epochs=2, batch_size=2, engine=engine, seed=0,
                    on_batch=lambda *args: calls.append(args))
    assert history.engine == ("engine" if engine == "auto" else "layers")
    batches = 320
    every = batches // BATCH_CALLS
    expected = [(epoch, batch, batches) for epoch in (1, 2) for batch in range(every, batches + 1, every)]
    assert calls == expected


def test_on_batch_changes_nothing_learned():
    X, y = make_circles(200, seed=1)
    nets = [build_mlp(2, [8], seed=0) for _ in range(2)]
    train(nets[0], X, y, epochs=3, batch_size=16, seed=0)
    train(nets[1], X, y, epochs=3, batch_size=16, seed=0, on_batch=lambda *args: None)
    for key in nets[0].params:
        np.testing.assert_array_equal(nets[0].params[key], nets[1].params[key])


def test_a_real_run_drives_the_live_line_between_epochs():
    X, y = make_circles(400, seed=0)
    out, clock = Terminal(), Clock()
    report = Progress(out, 2, clock=clock, validation=False)

    def tick(*args):
        clock.now += 0.1  # each call a tenth of a second later: a slow epoch
        report.within_epoch(*args)
    train(build_mlp(2, [8], seed=0), X, y, epochs=2, batch_size=4, seed=0, on_batch=tick, on_epoch=report)
    text = out.getvalue()
    assert "epoch 1/2  batch " in text and "epoch 2/2  batch " in text


def test_train_py_on_a_terminal_redraws_within_its_epochs(tmp_path, monkeypatch):
    """The wiring, end to end: ``train.py``'s progress line on a terminal moves between its epochs' ends."""
    import app.progress
    import train

    monkeypatch.setattr(app.progress, "QUIET_SECONDS", 0.0)  # no run is too short to be reported
    monkeypatch.setattr(app.progress, "LIVE_INTERVAL", 0.0)  # every hook call redraws
    out = Terminal()
    monkeypatch.setattr("sys.stdout", out)
    code = train.main(["--epochs", "2", "--batch-size", "4", "--save", str(tmp_path / "m.npz")])
    assert code == 0
    assert "epoch 1/2  batch " in out.getvalue() and "epoch 2/2  batch " in out.getvalue()
