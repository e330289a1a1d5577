"""A model whose outputs overflow (a weight of 1e308, a scale of 5e-324) is refused by ``--predict`` and
``--evaluate`` in one line, exit 1, with no output file and no NumPy warning lines (issue 26, item 4)."""

import numpy as np
import pytest

import train
from app.predictions import write_predictions
from layers import BCELoss, Linear, Sigmoid
from model import Sequential

from .conftest import call_main, run_cli


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small trained model file and a CSV of rows for it."""
    root = tmp_path_factory.mktemp("extreme")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((40, 2))
    rows = "\n".join(f"{a:.6g},{b:.6g},{int(a > 0)}" for a, b in X)
    (root / "rows.csv").write_text("a,b,y\n" + rows + "\n")
    assert train.main(["--data", str(root / "rows.csv"), "--epochs", "2", "--quiet", "--save",
                       str(root / "model.npz")]) == 0
    return root


def tampered(root, key, value):
    """A copy of the saved model with every element of ``key`` set to ``value``."""
    arrays = dict(np.load(root / "model.npz"))
    arrays[key] = np.full_like(arrays[key], value)
    path = root / f"{key.replace(':', '_')}_{value:g}.npz"
    np.savez(path, **arrays)
    return path


def test_predict_refuses_outputs_that_overflow_in_one_line_and_writes_nothing(saved):
    model, out = tampered(saved, "param:w1", 1e308), saved / "pred.csv"
    proc = run_cli("train.py", "--predict", model, "--data", saved / "rows.csv", "--out", out)
    assert proc.returncode == 1 and not out.exists()
    assert len(proc.stderr.splitlines()) == 1 and proc.stderr.startswith("train.py: error: ")
    assert "Warning" not in proc.stderr


def test_predict_refuses_a_scale_that_overflows_without_warnings(saved, capsys):
    """In-process, where a NumPy warning would be an error of the test run."""
    out = saved / "pred_scale.csv"
    code, _, err = call_main(train.main, capsys, "--predict", tampered(saved, "buffer:0:scale", 5e-324),
                             "--data", saved / "rows.csv", "--out", out)
    assert code == 1 and not out.exists() and len(err.splitlines()) == 1


@pytest.mark.parametrize(("key", "value"), [("param:w1", 1e308), ("buffer:0:scale", 5e-324)])
def test_evaluate_refuses_outputs_that_overflow_without_warnings(saved, capsys, key, value):
    code, out, err = call_main(train.main, capsys, "--evaluate", tampered(saved, key, value),
                               "--data", saved / "rows.csv")
    assert code == 1 and out == "" and len(err.splitlines()) == 1 and "Warning" not in err


def test_an_overflowing_bias_gives_saturated_predictions_without_warnings(saved, capsys):
    """Outputs that overflow to a finite saturated probability are predictions, written without a warning."""
    out = saved / "saturated.csv"
    code, _, err = call_main(train.main, capsys, "--predict", tampered(saved, "param:b", 1e308),
                             "--data", saved / "rows.csv", "--out", out)
    assert code == 0 and err == "" and out.read_text().splitlines()[1] == "1,0,1"


def test_non_finite_predictions_are_refused_and_nothing_is_written(tmp_path):
    """A network whose first pass of this shape was already accepted is not checked layer by layer again:
    the predictions themselves are, before a row is written."""
    net = Sequential([Linear(2, 1, rng=0), Sigmoid()], BCELoss())
    X = np.ones((3, 2))
    net.loss(X, np.array([0, 1, 1]))
    net.backward()  # this shape has kept to the protocol: later passes of it are not checked layer by layer
    net.params["0.W"][...] = 1e308
    net.params["0.b"][...] = -np.inf  # inf - inf: NaN
    (tmp_path / "rows.csv").write_text("a,b\n1,1\n1,1\n1,1\n")
    with pytest.raises(ValueError, match="not finite"):
        write_predictions(net, tmp_path / "rows.csv", tmp_path / "pred.csv")
    assert not (tmp_path / "pred.csv").exists()
