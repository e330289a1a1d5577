"""``--weight-decay`` so large that the penalty's gradient λ·W overflows is refused before any work, in one line
with exit status 2, not after NumPy warning lines (issue 26, item 14); up to the bound a run warns of nothing."""

import pytest

import train

from .conftest import call_main

RUN = ("--n-samples", "60", "--epochs", "2")


@pytest.mark.parametrize(("dtype", "decay", "limit"), [("float64", "1e308", "1.34e+150"),
                                                        ("float64", "inf", "1.34e+150"),
                                                        ("float32", "1e20", "1.84e+15")])
def test_a_weight_decay_whose_gradient_overflows_is_refused_in_one_line(tmp_path, capsys, dtype, decay, limit):
    code, out, err = call_main(train.main, capsys, "--weight-decay", decay, "--dtype", dtype, "--save",
                               tmp_path / "m.npz", *RUN)
    assert code == 2 and out == "" and len(err.splitlines()) == 1
    assert "--weight-decay" in err and limit in err and dtype in err
    assert not (tmp_path / "m.npz").exists()


@pytest.mark.parametrize(("optimizer", "status"), [("adam", 0), ("lbfgs", 0), ("sgd", 1)])
def test_at_the_bound_training_runs_or_diverges_in_one_line_without_warnings(tmp_path, capsys, optimizer, status):
    """In-process, where a NumPy warning would be an error of the test run: Adam and L-BFGS shrink the weights to
    0, SGD at lr 1 diverges (a one-line message naming the weight decay)."""
    code, _, err = call_main(train.main, capsys, "--weight-decay", "1.3e150", "--optimizer", optimizer, "--quiet",
                             "--save", tmp_path / "m.npz", *RUN)
    assert code == status and len(err.splitlines()) == status
    assert status == 0 or "--weight-decay" in err
