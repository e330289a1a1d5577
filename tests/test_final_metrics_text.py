"""Final review of issue 27 (a practitioner reading ``--evaluate``'s metrics).

R² is not defined for fewer than two rows (``model.metrics.r2`` gives NaN, as documented). The JSON writes it as
null with a note, and an undefined ROC AUC is printed as "roc auc undefined (…)"; but the text report prints
"r2 nan" twice — the project's rule is no NaN in what a command prints. Fixed: ``app.outcome.r2_text`` says
"undefined (fewer than 2 rows)", in the evaluate line, the scores and the training summary.
"""

import json

import numpy as np
import pytest

from app.outcome import r2_text, scores_text

from .conftest import run_in_process


@pytest.fixture
def one_row(tmp_path):
    """A regression model trained on a 40-row table, and a table of one row to evaluate it on."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2))
    y = X @ [2.0, -1.0] + 3
    lines = ["a,b,y"] + [f"{a:.4f},{b:.4f},{t:.4f}" for (a, b), t in zip(X, y, strict=True)]
    (tmp_path / "t.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "one.csv").write_text("\n".join(lines[:2]) + "\n")
    run = run_in_process("train.py", "--data", tmp_path / "t.csv", "--label", "y", "--task", "regression",
                         "--save", tmp_path / "m.npz", "--quiet")
    assert run.returncode == 0, run.stderr
    return tmp_path


def test_the_json_report_writes_the_undefined_r2_as_null(one_row):
    """What holds today: --json has no NaN (null, with a note)."""
    run = run_in_process("train.py", "--evaluate", one_row / "m.npz", "--data", one_row / "one.csv", "--label", "y",
                         "--json")
    report = json.loads(run.stdout)  # strict JSON: a NaN would not parse as null
    assert run.returncode == 0 and report["r2"] is None and report["metrics"]["r2"] is None


def test_the_text_report_prints_no_nan(one_row):
    run = run_in_process("train.py", "--evaluate", one_row / "m.npz", "--data", one_row / "one.csv", "--label", "y")
    assert run.returncode == 0 and "r2" in run.stdout and "nan" not in run.stdout.lower(), run.stdout
    assert run.stdout.count("r2 undefined (fewer than 2 rows)") == 2


def test_r2_is_printed_as_a_number_or_undefined():
    assert r2_text(0.98765) == "0.9877" and r2_text(float("nan")).startswith("undefined")
    assert scores_text({"n": 1, "r2": float("nan"), "rmse": 0.5, "mae": 0.5})[0].startswith("r2 undefined")
