"""``gradcheck.py --functions FILE.py``: a CS231n assignment file checked as it is (issue 28).

The files are under ``tests/fixtures/cs231n/``, written in CS231n's style for these tests: ``layers.py`` (every pair,
correct), ``broken.py`` (one slip per pair family), ``skeleton.py`` (unfinished), ``fast_layers.py`` (a convolution
needing the compiled ``im2col_cython``), ``dropout_drop.py`` (the other meaning of dropout's ``p``; a backward that
writes into ``dout``), ``unseeded_nan.py``, ``misbehaving.py`` (the calling convention broken), ``helpers.py`` (no
pair), ``doc_layers.py`` (docs/gradcheck.md's), ``sibling.py`` and ``python2_layers.txt`` (files that do not import).
"""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import gradcheck
from checking import assignment_check
from checking.assignment_file import check_assignment_file
from checking.settings import CheckSettings
from tests.conftest import call_main

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "cs231n"

#: every gradient of every pair in layers.py, as (the backward's name, the gradient)
ALL_ROWS = {
    *(("affine_backward", g) for g in ("dx", "dw", "db")), ("relu_backward", "dx"), ("sigmoid_backward", "dx"),
    *((name, g) for name in ("batchnorm_backward", "batchnorm_backward_alt", "layernorm_backward",
                                  "spatial_batchnorm_backward", "spatial_groupnorm_backward")
      for g in ("dx", "dgamma", "dbeta")),
    ("dropout_backward", "dx"), *(("conv_backward_naive", g) for g in ("dx", "dw", "db")),
    ("max_pool_backward_naive", "dx"), ("svm_loss", "dx"), ("softmax_loss", "dx"),
}

#: the gradients broken.py gets wrong (its comments say how)
BROKEN_ROWS = {
    ("affine_backward", "db"), ("relu_backward", "dx"), ("sigmoid_backward", "dx"), ("batchnorm_backward", "dx"),
    ("batchnorm_backward", "dgamma"), ("layernorm_backward", "dx"), ("dropout_backward", "dx"),
    ("conv_backward_naive", "dw"), ("max_pool_backward_naive", "dx"), ("spatial_batchnorm_backward", "dx"),
    ("spatial_batchnorm_backward", "dgamma"), ("spatial_batchnorm_backward", "dbeta"),
    ("spatial_groupnorm_backward", "dgamma"), ("svm_loss", "dx"), ("softmax_loss", "dx"),
}


def run_json(capsys, path, *more):
    """``gradcheck.py --functions path --json ...``: (exit status, the report as a dict)."""
    code, out, err = call_main(gradcheck.main, capsys, "--functions", path, "--json", *more)
    assert err == ""
    return code, json.loads(out)


def rows_of(report, verdict=None):
    """{(pair, gradient)} of the report's rows (with ``verdict``), the scale a row was found at left out."""
    return {(r["check"].split(" (")[0], r["name"]) for r in report["rows"] if verdict in (None, r["verdict"])}


def test_every_cs231n_pair_written_right_passes(capsys):
    code, report = run_json(capsys, FIXTURES / "layers.py")
    assert code == 0 and report["passed"]
    assert rows_of(report) == rows_of(report, "pass") == ALL_ROWS


def test_one_slip_per_family_fails_exactly_where_it_is(capsys):
    code, report = run_json(capsys, FIXTURES / "broken.py")
    assert code == 1
    assert rows_of(report, "fail") == BROKEN_ROWS
    assert rows_of(report, "pass") == ALL_ROWS - BROKEN_ROWS - {
        ("batchnorm_backward_alt", g) for g in ("dx", "dgamma", "dbeta")}  # broken.py has no _alt
    hints = {(r["check"].split(" (")[0], r["name"]): r["hint"] for r in report["rows"]}
    assert "N = 4" in hints["affine_backward", "db"] and "wrong side" in hints["relu_backward", "dx"]
    assert "(1 − y)" in hints["sigmoid_backward", "dx"] and "−numeric" in hints["softmax_loss", "dx"]


def test_the_text_report_says_the_slips_and_how_to_repeat_the_run(capsys):
    code, out, err = call_main(gradcheck.main, capsys, "--functions", FIXTURES / "broken.py")
    assert code == 1 and err == ""
    assert "FAILED: 24 tensors" in out and "--seed 0" in out.splitlines()[-1]


@pytest.mark.parametrize("pair", ["batchnorm_backward", "layernorm_backward"])
def test_eps_slips_show_at_the_small_scale(capsys, monkeypatch, pair):
    # eps outside the square root (batchnorm), var ** -1.5 without eps (layernorm): at inputs of scale 1 their error
    # is within a loose tolerance; only where the variance is small beside eps do they fail
    loose = ("--warn-tol", "1e-3")
    report = run_json(capsys, FIXTURES / "broken.py", *loose)[1]
    dx = next(r for r in report["rows"] if r["check"].startswith(pair) and r["name"] == "dx")
    assert dx["verdict"] == "fail" and "× 0.001" in dx["check"] and dx["max_rel_error"] > 0.1
    monkeypatch.setattr(assignment_check, "SCALES", (1.0,))
    report = run_json(capsys, FIXTURES / "broken.py", *loose)[1]
    assert (pair, "dx") not in rows_of(report, "fail")


def test_unfinished_functions_are_not_implemented_not_failures(capsys):
    code, report = run_json(capsys, FIXTURES / "skeleton.py")
    assert code == 1 and not report["passed"]
    assert {r["verdict"] for r in report["rows"]} == {"unchecked"}
    hints = {r["check"]: r["hint"] for r in report["rows"]}
    assert set(hints) == {"affine_backward", "relu_backward", "sigmoid_backward", "svm_loss", "conv_backward_naive"}
    assert all(h.startswith("not implemented: ") for h in hints.values())
    assert "out = None" in hints["affine_backward"] and "NotImplementedError" in hints["relu_backward"]
    assert "zeros" in hints["sigmoid_backward"] and "None" in hints["svm_loss"]
    assert "NoneType" in hints["conv_backward_naive"]


def test_a_fast_layer_needing_a_compiled_extension_is_not_importable_and_its_prints_are_kept_out(capsys):
    code, report = run_json(capsys, FIXTURES / "fast_layers.py")
    assert code == 1
    conv, pool = report["rows"]
    assert conv["check"] == "conv_backward_fast" and conv["verdict"] == "unchecked"
    assert conv["hint"].startswith("not importable") and "im2col_cython" in conv["hint"]
    assert (pool["check"], pool["verdict"]) == ("max_pool_backward_fast", "pass")
    assert any("printed 2 lines" in n for n in report["notes"])  # its import's advice, not mixed into the JSON


def test_either_meaning_of_dropouts_p_and_a_backward_writing_into_dout_pass(capsys):
    code, report = run_json(capsys, FIXTURES / "dropout_drop.py")
    assert code == 0 and rows_of(report, "pass") == {("dropout_backward", "dx"), ("relu_backward", "dx")}


def test_a_nan_gradient_never_passes_and_an_unseeded_dropout_is_held_still(capsys):
    code, report = run_json(capsys, FIXTURES / "unseeded_nan.py")
    assert code == 1
    assert rows_of(report, "fail") == {("relu_backward", "dx")}
    assert rows_of(report, "pass") == {("dropout_backward", "dx")}


@pytest.mark.parametrize("source, words", [("python2_layers.txt", ["SyntaxError", "Python 2", "print"]),
                                           ("sibling.py", ["ModuleNotFoundError", "'cs231n'"])])
def test_a_file_that_does_not_import_is_one_line(capsys, tmp_path, source, words):
    path = tmp_path / "layers.py"
    shutil.copy(FIXTURES / source, path)
    code, out, err = call_main(gradcheck.main, capsys, "--functions", path)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert all(w in err for w in words) and "Traceback" not in err


def test_an_unknown_pair_is_listed_then_checked_from_its_shapes(capsys):
    report = run_json(capsys, FIXTURES / "layers.py")[1]
    listed = [n for n in report["notes"] if "affine_relu_forward(x, w, b)" in n]
    assert listed and "--shapes affine_relu=" in listed[0]
    code, report = run_json(capsys, FIXTURES / "layers.py", "--shapes", "affine_relu=4x6,6x3,3")
    assert code == 0 and {("affine_relu_backward", g) for g in ("dx", "dw", "db")} <= rows_of(report, "pass")
    assert not any("affine_relu_forward" in n for n in report["notes"])


def test_nothing_but_the_pairs_is_called(capsys, tmp_path):
    marker = tmp_path / "called"
    path = tmp_path / "layers.py"
    path.write_text(f"import numpy as np\nMARK = {str(marker)!r}\n\n"
                    "def helper():\n    open(MARK, 'w').close()\n\n"
                    "def rnn_step_forward(x):\n    helper()\n    return x, x\n\n"
                    "def rnn_step_backward(dout, cache):\n    helper()\n    return dout\n\n"
                    "def relu_forward(x):\n    return np.maximum(0, x), x\n\n"
                    "def relu_backward(dout, cache):\n    return dout * (cache > 0)\n", encoding="utf-8")
    code, report = run_json(capsys, path)
    assert code == 0 and rows_of(report) == {("relu_backward", "dx")} and not marker.exists()


def test_a_function_breaking_the_convention_is_a_failing_row_naming_how(capsys):
    code, report = run_json(capsys, FIXTURES / "misbehaving.py")
    assert code == 1 and {r["verdict"] for r in report["rows"]} == {"fail"}
    hints = {r["check"]: r["hint"] for r in report["rows"]}
    assert "returned 2" in hints["affine_backward"] and "dx, dw, db" in hints["affine_backward"]
    assert "relu_backward" in hints["relu_backward"] and "ValueError" in hints["relu_backward"]
    assert "sigmoid_forward returned ndarray" in hints["sigmoid_backward"]
    assert "(out, cache)" in hints["sigmoid_backward"]
    assert "(4, 5)" in hints["dropout_backward"] and "(4, 4)" in hints["dropout_backward"]
    assert "layernorm_forward" in hints["layernorm_backward"] and "<U1" in hints["layernorm_backward"]


def test_numpys_global_generator_is_given_back_as_it_was():
    np.random.seed(7)
    before = np.random.get_state()[1].copy()
    check_assignment_file(FIXTURES / "dropout_drop.py", CheckSettings())
    assert np.array_equal(np.random.get_state()[1], before)


@pytest.mark.parametrize("argv, words", [
    (["--functions", FIXTURES / "layers.py", "--shapes", "affine_relu=4x6,6x3,3", "--shapes", "affine_relu=2"],
     ["--shapes", "affine_relu", "twice"]),
    (["--functions", FIXTURES / "layers.py", "--shapes", "rnn_step=4x6"], ["--shapes", "rnn_step", "no pair"]),
    (["--functions", FIXTURES / "layers.py", "--shapes", "affine_relu=4xa"], ["--shapes", "NAME=SHAPE", "4xa"]),
    (["--functions", FIXTURES / "layers.py", "--shapes", "affine_relu=0x3"], ["--shapes", ">= 1", "0x3"]),
    (["--shapes", "affine_relu=4x6"], ["--shapes", "--functions"]),
    (["--functions", FIXTURES / "layers.py", "--trace"], ["--functions", "--trace"]),
    (["--functions", FIXTURES / "layers.py", "--layer", "x.py:A"], ["--functions", "--layer"]),
    (["--functions", FIXTURES / "layers.py", "--batch=4"], ["--functions", "--batch"]),
    (["--functions", FIXTURES / "layers.py", "--hidden", "8"], ["--functions", "--hidden"]),
    (["--functions", FIXTURES / "layers.py", "--classes", "3"], ["--functions", "--classes"]),
    (["--functions", FIXTURES / "doc_layers.py", "--shapes", "affine_relu=4x6,6x3,3,3,3"],
     ["affine_relu", "takes 3", "got 5"]),
    (["--functions", FIXTURES / "python2_layers.txt"], ["--functions", "FILE.py", "python2_layers.txt"]),
    (["--functions", FIXTURES / "absent.py"], ["absent.py", "no such file"]),
    (["--functions", FIXTURES / "helpers.py"], ["helpers.py", "no CS231n forward/backward pair"]),
])
def test_bad_requests_are_one_line_with_status_2(capsys, argv, words):
    code, out, err = call_main(gradcheck.main, capsys, *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert all(w in err for w in words), err


def test_the_docs_show_the_fixture_file_as_it_is():
    # docs/gradcheck.md writes its block as tests/fixtures/cs231n/doc_layers.py and runs the command on it
    doc = (FIXTURES.parents[2] / "docs" / "gradcheck.md").read_text(encoding="utf-8")
    block = doc.split("```python file=tests/fixtures/cs231n/doc_layers.py\n", 1)[1].split("```", 1)[0]
    assert block == (FIXTURES / "doc_layers.py").read_text(encoding="utf-8")


#: a max pooling whose backward writes (=) where it must add (+=): right while windows do not overlap
POOL_OVERWRITES = '''
import numpy as np


def max_pool_forward_naive(x, pool_param):
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    N, C, H, W = x.shape
    Ho, Wo = 1 + (H - ph) // s, 1 + (W - pw) // s
    out = np.zeros((N, C, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            out[:, :, i, j] = x[:, :, i * s:i * s + ph, j * s:j * s + pw].max(axis=(2, 3))
    return out, (x, pool_param)


def max_pool_backward_naive(dout, cache):
    x, pool_param = cache
    ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]
    dx = np.zeros_like(x)
    for n in range(dout.shape[0]):
        for c in range(dout.shape[1]):
            for i in range(dout.shape[2]):
                for j in range(dout.shape[3]):
                    window = x[n, c, i * s:i * s + ph, j * s:j * s + pw]
                    a, b = np.unravel_index(np.argmax(window), window.shape)
                    dx[n, c, i * s + a, j * s + b] = dout[n, c, i, j]
    return dx
'''


@pytest.mark.parametrize("slip, verdict", [("", "fail"), ("swap", "fail"), ("fixed", "pass")])
def test_pooling_is_checked_on_overlapping_windows_of_a_non_square_image(capsys, tmp_path, slip, verdict):
    text = POOL_OVERWRITES
    if slip == "swap":  # the window's height and width read the other way round, adding as it must
        text = text.replace('ph, pw, s = pool_param["pool_height"], pool_param["pool_width"], pool_param["stride"]\n'
                            '    dx', 'pw, ph, s = pool_param["pool_height"], pool_param["pool_width"], '
                            'pool_param["stride"]\n    dx').replace("] = dout", "] += dout")
    if slip == "fixed":
        text = text.replace("] = dout", "] += dout")
    path = tmp_path / "pool.py"
    path.write_text(text, encoding="utf-8")
    code, report = run_json(capsys, path)
    assert rows_of(report, verdict) == {("max_pool_backward_naive", "dx")} and code == (verdict == "fail")


#: a backward crashing on a None that is not a literal placeholder: the skeleton's if its TODO is still ``pass``
TODO_LEFT = '''
import numpy as np


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    mask = getattr(cache, "mask", None)
    # TODO: Implement the ReLU backward pass.
    pass
    return dout * mask.astype(float)
'''


@pytest.mark.parametrize("done, verdict", [(False, "unchecked"), (True, "fail")])
def test_a_none_crash_is_the_skeletons_only_while_its_todo_is_pass(capsys, tmp_path, done, verdict):
    path = tmp_path / "todo.py"
    path.write_text(TODO_LEFT.replace("    pass\n", "    dout = dout + 0\n") if done else TODO_LEFT, encoding="utf-8")
    code, report = run_json(capsys, path)
    (row,) = report["rows"]
    assert code == 1 and row["verdict"] == verdict and "NoneType" in row["hint"]
    assert row["hint"].startswith("not implemented") != done and ("line 13" in row["hint"]) == done


@pytest.mark.parametrize("source, words, not_words", [
    ("import torch\n", ["'torch'", "not installed"], ["sibling", "Python 2"]),
    ("for i in xrange(3):\n    pass\n", ["NameError", "xrange", "Python 2", "range"], ["not installed"]),
    ("try:\n    pass\nexcept ValueError, e:\n    pass\n", ["SyntaxError", "Python 2", "except E as e"], ["print"]),
    ("from cs231n.im2col import *\n", ["'cs231n'", "sibling"], ["not installed"]),
])
def test_an_import_failure_says_its_cause(capsys, tmp_path, source, words, not_words):
    path = tmp_path / "layers.py"
    path.write_text("import numpy as np\n" + source, encoding="utf-8")
    code, out, err = call_main(gradcheck.main, capsys, "--functions", path)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert all(w in err for w in words) and not any(w in err for w in not_words), err
