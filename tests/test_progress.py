"""``app.progress.Progress``: a live line on a terminal, epoch lines otherwise, nothing for a short run."""

import io

import pytest

from app import progress
from app.progress import Progress, clock_text
from model.history import History


class Clock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


class Terminal(io.StringIO):
    def isatty(self):
        return True


def run_epochs(report, clock, epochs, seconds_each, **kw):
    h = History()
    for e in range(1, epochs + 1):
        clock.now += seconds_each
        h.record(e, {"loss": 1.0 / e, "accuracy": 0.5}, {"loss": 2.0 / e, "accuracy": 0.6})
        assert report(e, h) is None  # never stops the run
    return h


def test_a_run_within_half_a_second_prints_nothing():
    out, clock = io.StringIO(), Clock()
    report = Progress(out, 100, clock=clock)
    h = run_epochs(report, clock, 100, 0.004)
    report.close(h)
    assert out.getvalue() == ""


def test_without_a_terminal_epoch_lines_every_tenth_once_half_a_second_has_passed():
    out, clock = io.StringIO(), Clock()
    report = Progress(out, 100, clock=clock)
    h = run_epochs(report, clock, 100, 0.02)
    report.close(h)
    epochs = [int(line.split()[1]) for line in out.getvalue().splitlines()]
    assert epochs == [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]  # the first ones held back, then shown in order
    assert "train acc 0.500  val loss 0.0200  val acc 0.600" in out.getvalue()


def test_a_line_at_least_every_ten_seconds_and_the_best_epoch_after_early_stopping():
    out, clock = io.StringIO(), Clock()
    report = Progress(out, 500, clock=clock)
    h = run_epochs(report, clock, 18, 3.0)  # --epochs 500 --patience 10 stopping at 18: not just "epoch 1"
    h.best_epoch, h.stopped_early = 8, True
    report.close(h)
    lines = out.getvalue().splitlines()
    assert [line.split()[1] for line in lines[:-1]] == ["1", "5", "9", "13", "17", "18"]
    assert lines[-1].startswith("best epoch    8  loss 0.1250")


def test_lines_held_back_are_shown_when_the_run_ends_after_half_a_second():
    out, clock = io.StringIO(), Clock()
    report = Progress(out, 100, clock=clock)
    h = run_epochs(report, clock, 25, 0.022)  # epochs 1, 10, 20 before 0.5 s; stopped early at 25, at 0.55 s
    h.best_epoch, h.stopped_early = 15, True
    report.close(h)
    lines = out.getvalue().splitlines()
    assert [line.split()[1] for line in lines] == ["1", "10", "20", "25", "epoch"]
    assert lines[-1].startswith("best epoch   15")


def test_on_a_terminal_one_live_line_redrawn_a_few_times_a_second_then_cleared():
    out, clock = Terminal(), Clock()
    report = Progress(out, 200, clock=clock, regression=True)
    h = run_epochs(report, clock, 200, 0.01)
    text = out.getvalue()
    redraws = text.count("\r\x1b[K")
    assert 1 <= redraws <= 2.0 / progress.LIVE_INTERVAL + 1  # 2 s of run: at most ~8 redraws
    assert "epoch 200/200  0:02 spent, ~0:00 left  loss 0.0050  val loss 0.0100" in text and "\n" not in text
    assert "acc" not in text  # a regression has none
    report.close(h)
    assert out.getvalue().endswith("\r\x1b[K")


def test_the_time_left_at_this_pace():
    out, clock = Terminal(), Clock()
    report = Progress(out, 100, clock=clock)
    run_epochs(report, clock, 10, 1.0)
    assert "epoch 10/100  0:10 spent, ~1:30 left" in out.getvalue()
    assert clock_text(3723) == "1:02:03"


@pytest.mark.parametrize("live", [False, True])
def test_closing_after_an_error_writes_no_summary(live):
    out, clock = (Terminal() if live else io.StringIO()), Clock()
    report = Progress(out, 10, clock=clock)
    run_epochs(report, clock, 3, 1.0)
    before = out.getvalue()
    report.close()
    assert out.getvalue() in (before, before + "\r\x1b[K")
