"""train.py end to end: the default run, JSON, evaluation, CSV, one-line errors, divergence, plots."""

import builtins
import json

import numpy as np
import pytest

import train

from .conftest import call_main, run_cli


def run(capsys, *argv):
    return call_main(train.main, capsys, *argv)


@pytest.mark.usefixtures("progress_now")
def test_default_run_prints_progress_summary_and_picture(tmp_path, capsys):
    code, out, err = run(capsys, "--save", str(tmp_path / "m.npz"))
    assert code == 0 and err == ""
    assert "epoch  200" in out and "val acc 1.0000" in out and "saved model to" in out
    assert "'#' predicted 1" in out and (tmp_path / "m.npz").exists()


def test_a_run_shorter_than_half_a_second_prints_no_progress(tmp_path, capsys):
    code, out, _ = run(capsys, "--epochs", "20", "--save", str(tmp_path / "m.npz"))
    assert code == 0 and "done:" in out and "saved model to" in out
    assert not [line for line in out.splitlines() if line.startswith("epoch")]


@pytest.mark.usefixtures("progress_now")
def test_json_output_is_one_object_and_logs_go_to_stderr(tmp_path, capsys):
    code, out, err = run(capsys, "--json", "--epochs", "5", "--save", str(tmp_path / "m.npz"))
    result = json.loads(out)
    assert code == 0 and {"train_acc", "val_acc", "train_loss", "val_loss", "epochs", "seconds", "model"} <= set(result)
    assert result["epochs"] == 5 and "epoch    5" in err


def test_same_seed_same_metrics(tmp_path, capsys):
    results = []
    for _ in range(2):
        _, out, _ = run(capsys, "--json", "--quiet", "--epochs", "10", "--dataset", "moons", "--seed", "4",
                        "--save", str(tmp_path / "m.npz"))
        r = json.loads(out)
        r.pop("seconds")
        results.append(r)
    assert results[0] == results[1]


def test_evaluate_a_saved_model_on_csv(tmp_path, capsys):
    model = tmp_path / "m.npz"
    run(capsys, "--quiet", "--epochs", "50", "--save", str(model))
    from model.experiment import load_dataset

    data = load_dataset("circles", seed=9)
    X, y = data.X, data.y
    csv = tmp_path / "d.csv"
    csv.write_text("x1,x2,label\n" + "".join(f"{a},{b},{c}\n" for (a, b), c in zip(X, y, strict=True)))
    code, out, _ = run(capsys, "--evaluate", str(model), "--data", str(csv), "--json")
    metrics = json.loads(out)
    assert code == 0 and metrics["n"] == 1000 and metrics["accuracy"] >= 0.99 and metrics["loss"] < 0.1


def test_csv_training_any_width_and_history(tmp_path, capsys):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((120, 4))
    y = (X[:, 0] * X[:, 3] > 0).astype(int)
    csv = tmp_path / "d.csv"
    csv.write_text("".join(",".join(map(str, row)) + f",{label}\n" for row, label in zip(X, y, strict=True)))
    code, out, _ = run(capsys, "--data", str(csv), "--hidden", "8", "--hidden-bias", "--epochs", "5",
                       "--history", str(tmp_path / "h.json"), "--save", str(tmp_path / "m.npz"))
    assert code == 0 and "4 features" in out and "predicted 1" not in out  # no picture for 4-D data
    assert json.loads((tmp_path / "h.json").read_text())["epoch"][-1] == 5


@pytest.mark.parametrize("argv,match,code", [
    (["--lr", "abc"], "argument --lr: invalid float value", 2),
    (["--dataset", "mnist"], "invalid choice", 2),
    (["--epochs", "0"], "error: --epochs ", 2),
    (["--lr", "-1"], "error: --lr ", 2),
    (["--val-fraction", "1"], "error: --val-fraction ", 2),
    (["--patience", "3", "--val-fraction", "0"], "error: --patience ", 2),
    (["--data", "/no/such/file.csv"], "/no/such/file.csv: No such file or directory", 1),
    (["--evaluate", "/no/such/model.npz"], "No such file", 1),
])
def test_user_errors_are_one_line_without_traceback(capsys, argv, match, code):
    got, out, err = run(capsys, *argv)
    assert got == code and match in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


@pytest.mark.parametrize("argv,flag", [
    (["--dropout", "1.5"], "--dropout"),
    (["--n-samples", "1"], "--n-samples"),
    (["--noise", "-1"], "--noise"),
    (["--noise", "1e300"], "--noise"),  # would overflow when standardised: refused, with no RuntimeWarning first
    (["--dataset", "spiral", "--classes", "1"], "--classes"),
    (["--weight-decay", "nan"], "--weight-decay"),
    (["--batch-size", "-2"], "--batch-size"),
])
def test_the_librarys_refusals_are_said_with_the_flag(tmp_path, capsys, argv, flag):
    code, out, err = run(capsys, *argv, "--quiet", "--save", tmp_path / "m.npz")
    assert code == 2 and out == "" and err.startswith(f"train.py: error: {flag} ")
    assert len(err.splitlines()) == 1 and "Warning" not in err and not (tmp_path / "m.npz").exists()


def test_options_are_not_abbreviated(tmp_path, capsys):
    code, _, err = run(capsys, "--evaluate", tmp_path / "m.npz", "--sav", tmp_path / "x.npz")
    assert code == 2 and "unrecognized arguments: --sav" in err


def test_an_option_given_at_its_default_value_still_counts_as_given(tmp_path, capsys):
    code, _, err = run(capsys, "--evaluate", tmp_path / "m.npz", "--weight-decay", "0", "--no-hidden-bias")
    assert code == 2 and "--no-hidden-bias, --weight-decay would be ignored" in err


def test_every_option_is_in_the_help_and_says_the_librarys_errors():
    from app.train_options import EVERY_OPTION, FLAGS

    text = train.build_parser(train.PROG, train.DESCRIPTION).format_help()
    assert all(option.flag in text for option in EVERY_OPTION)
    assert FLAGS["p"] == FLAGS["dropout"] == "--dropout" and FLAGS["hidden_bias"] == "--hidden-bias"


def test_malformed_csv_names_the_line(tmp_path, capsys):
    csv = tmp_path / "bad.csv"
    csv.write_text("a,b,label\n1,2,0\n3,x,1\n")
    code, _, err = run(capsys, "--data", str(csv))
    assert code == 1 and "line 3, column 1" in err and "'x'" in err


def test_unloadable_model(tmp_path, capsys):
    bad = tmp_path / "m.npz"
    bad.write_text("not a model")
    code, _, err = run(capsys, "--evaluate", str(bad))
    assert code == 1 and "not a model file" in err


def test_divergence_exits_non_zero_and_saves_nothing(tmp_path, capsys):
    model = tmp_path / "m.npz"
    code, _, err = run(capsys, "--lr", "1e6", "--save", str(model), "--quiet")
    assert code == 1 and "lower learning rate" in err and "no model was saved" in err
    assert not model.exists() and list(tmp_path.iterdir()) == []


def test_plot_without_matplotlib_is_a_one_line_hint(tmp_path, capsys, monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *a, **k):
        if name.startswith("matplotlib"):
            raise ImportError(name)
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    code, _, err = run(capsys, "--plot", str(tmp_path / "p.png"))
    assert code == 2 and "pip install -e '.[plot]'" in err


def test_plot_is_written_when_matplotlib_is_there(tmp_path, capsys):
    code, _, _ = run(capsys, "--plot", str(tmp_path / "p.png"), "--epochs", "3", "--quiet",
                     "--save", str(tmp_path / "m.npz"))
    assert code == 0 and (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"


def test_as_a_subprocess(tmp_path):
    proc = run_cli("train.py", "--epochs", "3", "--save", tmp_path / "m.npz", "--json", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["model"].endswith("m.npz")
