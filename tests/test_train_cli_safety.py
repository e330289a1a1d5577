"""train.py's safety: nothing overwritten, nothing misreported, no tracebacks, strict JSON."""

import json
import os

import numpy as np
import pytest

import train
from data import make_moons
from model import TwoLayerNet, load
from model.training import train as fit_net

from .conftest import call_main, run_cli


def run(capsys, *argv):
    return call_main(train.main, capsys, *argv)


def write_csv(path, n=60, seed=0):
    X, y = make_moons(n, seed=seed)
    path.write_text("a,b,label\n" + "".join(f"{a},{b},{c}\n" for (a, b), c in zip(X, y, strict=True)))
    return path


@pytest.mark.parametrize("extra,match", [
    (lambda d: ["--data", d / "d.csv", "--save", d / "d.csv"], "must end in .npz"),
    (lambda d: ["--data", d / "d.csv", "--save", d / "alias.npz"], "same file"),  # a link to the data
    (lambda d: ["--data", d / "d.csv", "--history", d / "d.csv", "--save", d / "m.npz"], "same file"),
    (lambda d: ["--data", d / "d.csv", "--history", d / "h.csv", "--plot", d / "h-alias.png", "--save", d / "m.npz"],
     "same file"),  # two outputs that are one file
])
def test_an_output_never_overwrites_an_input_or_another_output(tmp_path, capsys, extra, match):
    csv = write_csv(tmp_path / "d.csv")
    (tmp_path / "alias.npz").symlink_to(csv)
    (tmp_path / "h.csv").write_text("old history\n")
    (tmp_path / "h-alias.png").symlink_to(tmp_path / "h.csv")
    before = csv.read_bytes()
    code, _, err = run(capsys, *extra(tmp_path))
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1
    assert csv.read_bytes() == before and not (tmp_path / "m.npz").exists()
    assert (tmp_path / "h.csv").read_text() == "old history\n"


def test_a_fifo_is_not_replaced_and_a_symlink_is_written_through(tmp_path, capsys):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    code, _, err = run(capsys, "--epochs", "1", "--quiet", "--save", fifo)
    assert code == 2 and "pipe.npz" in err and fifo.is_fifo()
    target, link = tmp_path / "real.npz", tmp_path / "link.npz"
    target.write_bytes(b"old")
    link.symlink_to(target)
    code, _, _ = run(capsys, "--epochs", "1", "--quiet", "--save", link)
    assert code == 0 and link.is_symlink() and isinstance(load(target), TwoLayerNet)


def test_outputs_follow_the_umask_and_are_checked_before_training(tmp_path, capsys):
    old = os.umask(0o022)
    try:
        code, _, _ = run(capsys, "--epochs", "1", "--quiet", "--save", tmp_path / "m.npz")
        assert code == 0 and (tmp_path / "m.npz").stat().st_mode & 0o777 == 0o644
    finally:
        os.umask(old)
    code, _, err = run(capsys, "--epochs", "1", "--quiet", "--save", tmp_path / "n.npz",
                       "--history", tmp_path / "h.txt")
    assert code == 2 and "--history" in err and not (tmp_path / "n.npz").exists()  # refused before any work
    code, _, err = run(capsys, "--epochs", "1", "--quiet", "--save", tmp_path / "n.npz", "--plot", tmp_path / "x.pdf")
    assert code == 2 and ".png" in err


def test_early_stopping_reports_the_saved_model(tmp_path, capsys):
    model = tmp_path / "m.npz"
    code, out, _ = run(capsys, "--dataset", "moons", "--noise", "0.4", "--hidden", "64", "--hidden-bias",
                       "--optimizer", "adam", "--lr", "0.05", "--patience", "5", "--json", "--quiet", "--save", model)
    result = json.loads(out)
    assert code == 0 and result["stopped_early"] and result["epoch"] < result["epochs"]
    from model.experiment import fit, load_dataset
    from model.builders import Architecture
    from model.training import TrainingConfig

    data = load_dataset("moons", noise=0.4)
    r = fit(data, Architecture(hidden=(64,), hidden_bias=True), TrainingConfig(optimizer="adam", lr=0.05, patience=5))
    saved = load(model).evaluate(r.X_val, r.y_val)
    assert result["val_loss"] == pytest.approx(saved["loss"], rel=1e-12)
    assert result["val_acc"] == pytest.approx(saved["accuracy"])
    assert result["val_loss"] == pytest.approx(min(r.history.val_loss), rel=1e-12)


def test_lbfgs_early_stopping_restores_the_best_weights():
    X, y = make_moons(300, noise=0.4, seed=0)
    net = TwoLayerNet(seed=0, hidden_dim=64, hidden_bias=True)
    h = fit_net(net, X[:60], y[:60], X[60:], y[60:], optimizer="lbfgs", epochs=300, patience=5, seed=0)
    assert h.stopped_early and h.epoch[-1] == h.best_epoch + 5
    assert net.evaluate(X[60:], y[60:])["loss"] == pytest.approx(min(h.val_loss), rel=1e-12)
    assert h.final["epoch"] == h.best_epoch and h.final["val_loss"] == pytest.approx(min(h.val_loss), rel=1e-12)


@pytest.mark.parametrize("argv,match", [
    (["--hidden", "1000000000000"], "error: --hidden widths must be at most"),
    (["--n-samples", "1000000000000"], "error: --n-samples must be at most"),
    (["--hidden", "0"], "error: --hidden "),
    (["--hidden", "16,,16"], "error: --hidden wants"),
    (["--activation", "swish"], "invalid choice"),
    (["--seed", "-1"], "error: --seed "),
    (["--optimizer", "lbfgs", "--lr", "123"], "error: --lr "),
    (["--evaluate", "m.npz", "--save", "x.npz"], "--evaluate trains nothing"),
    (["--evaluate", "m.npz", "--patience", "3"], "--evaluate trains nothing"),
    (["--weight-decay", "-1"], "error: --weight-decay "),
    (["--classes", "3"], "error: --classes applies to"),
    (["--batchnorm", "--batch-size", "1"], "error: --batch-size "),
    (["--dropout", "0.3", "--optimizer", "lbfgs"], "error: --"),
])
def test_impossible_requests_are_one_line_exit_2(tmp_path, capsys, argv, match):
    code, _, err = run(capsys, *argv, "--quiet", "--save", tmp_path / "m.npz")
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not (tmp_path / "m.npz").exists()


def test_evaluate_refuses_npy_and_unknown_labels_and_non_finite_loss(tmp_path, capsys, monkeypatch):
    npy = tmp_path / "x.npy"
    np.save(npy, np.ones(3))
    code, _, err = run(capsys, "--evaluate", npy)
    assert code == 2 and "--evaluate wants a model file" in err
    renamed = tmp_path / "x.npz"
    renamed.write_bytes(npy.read_bytes())
    code, _, err = run(capsys, "--evaluate", renamed)
    assert code == 1 and "not a model file" in err
    model = tmp_path / "m.npz"
    assert run(capsys, "--epochs", "2", "--quiet", "--save", model)[0] == 0
    three = tmp_path / "three.csv"
    three.write_text("a,b,label\n0,1,0\n1,0,1\n2,2,2\n")
    code, _, err = run(capsys, "--evaluate", model, "--data", three)
    assert code == 1 and "label 2 is not one the model was trained on" in err
    # the CSV reader refuses values large enough to overflow; a loss that is still not finite is said
    monkeypatch.setattr(TwoLayerNet, "evaluate", lambda self, X, y: {"loss": float("nan"), "accuracy": 0.5, "n": 2})
    code, out, err = run(capsys, "--evaluate", model, "--dataset", "moons", "--json")
    assert code == 1 and "not finite" in err and out == ""


def test_json_is_strict_everywhere(tmp_path, capsys):
    code, out, _ = run(capsys, "--epochs", "2", "--val-fraction", "0", "--json", "--quiet",
                       "--save", tmp_path / "m.npz")
    def refuse(token):
        raise AssertionError(f"non-standard JSON token {token}")

    result = json.loads(out, parse_constant=refuse)  # no validation set: null, with a note
    assert code == 0
    assert result["val_loss"] is None and any("val_loss" in n for n in result["notes"])


def test_a_closed_stdout_ends_quietly(tmp_path):
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader is gone before the first line, as in `train.py | true`
    try:
        proc = run_cli("train.py", "--epochs", "3", "--save", tmp_path / "m.npz", cwd=tmp_path, stdout=write_end)
    finally:
        os.close(write_end)
    assert proc.returncode == 141 and proc.stderr == ""


def test_float16_networks_are_refused():
    with pytest.raises(ValueError, match="float32 or float64"):
        TwoLayerNet(dtype=np.float16)
