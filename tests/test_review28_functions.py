"""Review of issue 28: ``gradcheck.py --functions FILE.py`` on assignment files written the way students write them.

Each file is written here (``tmp_path``), in CS231n's style; the findings were pinned as ``xfail(strict=True)`` tests
and, fixed, are plain ones. The tests named "the premise" show a finding's premise (the backward really is wrong, the
forward really is random), so a pass cannot come from a broken premise.
"""

import importlib.util
import json
import re
import textwrap

import numpy as np
import pytest

import gradcheck

from .conftest import ROOT, call_main

GOOD = ROOT / "tests" / "fixtures" / "cs231n" / "layers.py"

#: a naive convolution whose backward reads the output's and the image's height where their widths belong: right
#: on square images (every shape CS231n's notebooks and this checker use), wrong on any other
CONV_SQUARE_ONLY = '''
import numpy as np


def conv_forward_naive(x, w, b, conv_param):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    s, p = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    Ho, Wo = 1 + (H + 2 * p - HH) // s, 1 + (W + 2 * p - WW) // s
    out = np.zeros((N, F, Ho, Wo))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, f, i, j] = np.sum(xp[n, :, i * s:i * s + HH, j * s:j * s + WW] * w[f]) + b[f]
    return out, (x, w, b, conv_param)


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    s, p = conv_param["stride"], conv_param["pad"]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    dxp, dw = np.zeros_like(xp), np.zeros_like(w)
    Ho, Wo = dout.shape[2], dout.shape[2]
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    dw[f] += xp[n, :, i * s:i * s + HH, j * s:j * s + WW] * dout[n, f, i, j]
                    dxp[n, :, i * s:i * s + HH, j * s:j * s + WW] += w[f] * dout[n, f, i, j]
    db = dout.sum(axis=(0, 2, 3))
    return dxp[:, :, p:p + H, p:p + H], dw, db
'''

#: a dropout written with NumPy's new generator, unseeded: its backward is right for the mask its forward drew, but
#: no two forwards draw the same mask, so no finite difference of it means anything
UNSEEDED_GENERATOR_DROPOUT = '''
import numpy as np


def dropout_forward(x, dropout_param):
    p, mode = dropout_param["p"], dropout_param["mode"]
    mask = None
    if mode == "train":
        mask = (np.random.default_rng().random(x.shape) < p) / p
        out = x * mask
    else:
        out = x
    return out, (dropout_param, mask)


def dropout_backward(dout, cache):
    dropout_param, mask = cache
    return dout * mask
'''

#: a finished ReLU with a typo in its backward: a NameError of the student's own code, nothing left unimported
TYPO_RELU = '''
import numpy as np


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    x = cache
    dx = dout * (xx > 0)
    return dx
'''


def module_of(path):
    spec = importlib.util.spec_from_file_location(f"review28_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def run_json(capsys, *argv):
    code, out, err = call_main(gradcheck.main, capsys, "--functions", *argv, "--json")
    return code, (json.loads(out) if out.strip() else None), err


def rows(report):
    return {(r["check"].split(" (")[0], r["name"]): r for r in report["rows"]}


# ---------------------------------------------------------------- finding 3: square inputs hide H/W slips


def test_the_square_only_convolution_is_wrong_on_a_non_square_image(tmp_path):
    """The premise of finding 3: on a 5x7 image the slip's dx is misshapen and its dw wrong."""
    good, bad = module_of(GOOD), module_of(write(tmp_path, "square_only.py", CONV_SQUARE_ONLY))
    rng = np.random.default_rng(0)
    x, w, b = rng.normal(size=(2, 3, 5, 7)), rng.normal(size=(2, 3, 3, 3)), rng.normal(size=2)
    out, cache = good.conv_forward_naive(x, w, b, {"stride": 2, "pad": 1})
    dout = rng.normal(size=out.shape)
    right, wrong = good.conv_backward_naive(dout, cache), bad.conv_backward_naive(dout, cache)
    assert wrong[0].shape != x.shape and not np.allclose(wrong[1], right[1])


def test_a_convolution_right_only_on_square_images_fails(tmp_path, capsys):
    code, report, _ = run_json(capsys, write(tmp_path, "square_only.py", CONV_SQUARE_ONLY))
    assert code == 1
    assert {r["verdict"] for r in report["rows"]} & {"fail"}


# ---------------------------------------------------------------- finding 4: a random forward


def test_the_unseeded_dropout_forward_is_not_a_function_of_its_input(tmp_path):
    """The premise of finding 4: the same x, the same seeds, two different outputs."""
    module = module_of(write(tmp_path, "rng_dropout.py", UNSEEDED_GENERATOR_DROPOUT))
    x = np.ones((4, 5))
    np.random.seed(0)
    first = module.dropout_forward(x, {"p": 0.6, "mode": "train", "seed": 123})[0]
    np.random.seed(0)
    second = module.dropout_forward(x, {"p": 0.6, "mode": "train", "seed": 123})[0]
    assert not np.array_equal(first, second)


def test_a_forward_that_is_random_from_call_to_call_is_said_to_be_random(tmp_path, capsys):
    code, report, _ = run_json(capsys, write(tmp_path, "rng_dropout.py", UNSEEDED_GENERATOR_DROPOUT))
    row = rows(report)[("dropout_backward", "dx")]
    assert code == 1 and row["verdict"] in ("fail", "unchecked")
    assert "kink" not in (row["hint"] or "")
    assert "dropout_forward" in (row["hint"] or "") and re.search(r"random|seed", row["hint"])


# ---------------------------------------------------------------- finding 5: a typo is not a missing extension


def test_a_typo_in_a_backward_is_not_blamed_on_a_compiled_extension(tmp_path, capsys):
    code, report, _ = run_json(capsys, write(tmp_path, "typo.py", TYPO_RELU))
    row = rows(report)[("relu_backward", "dx")]
    assert code == 1
    assert "xx" in row["hint"] and "im2col" not in row["hint"] and "not importable" not in row["hint"]


# ---------------------------------------------------------------- finding 6: --shapes of the wrong arity


def test_shapes_of_the_wrong_count_are_a_bad_command_line(capsys):
    doc_layers = ROOT / "tests" / "fixtures" / "cs231n" / "doc_layers.py"
    code, out, err = call_main(gradcheck.main, capsys, "--functions", doc_layers, "--shapes", "affine_relu=4x5,5x3")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "affine_relu" in err and "3" in err and "2" in err


def test_the_notes_example_has_as_many_shapes_as_the_forward_has_arrays(capsys):
    doc_layers = ROOT / "tests" / "fixtures" / "cs231n" / "doc_layers.py"
    code, report, _ = run_json(capsys, doc_layers)
    note = next(n for n in report["notes"] if "affine_relu_forward(x, w, b)" in n)
    example = note.split("--shapes affine_relu=")[1].split()[0]
    assert len(example.split(",")) == 3


# ---------------------------------------------------------------- finding 7: --shapes of a known pair


def test_shapes_given_for_a_known_pair_are_not_silently_ignored(capsys):
    code, out, err = call_main(gradcheck.main, capsys, "--functions", GOOD, "--shapes", "relu=3x7", "--json")
    relu = [r for r in json.loads(out)["rows"] if r["check"].startswith("relu_backward")] if out.strip() else []
    assert code == 2 or all(r["shape"] in ([3, 7], "3x7") for r in relu)


#: a 2016 file, Python 2 only through ``xrange`` in a loop (it imports: the NameError comes at the call)
XRANGE_RELU = '''
import numpy as np


def relu_forward(x):
    out = np.zeros_like(x)
    for i in xrange(x.shape[0]):
        out[i] = np.maximum(0, x[i])
    return out, x


def relu_backward(dout, cache):
    return dout * (cache > 0)
'''


def test_xrange_is_said_to_be_python_2(tmp_path, capsys):
    code, report, _ = run_json(capsys, write(tmp_path, "py2_loops.py", XRANGE_RELU))
    hint = rows(report)[("relu_backward", "dx")]["hint"]
    assert code == 1 and "Python 2" in hint and "im2col" not in hint


def test_a_file_whose_top_level_runs_out_of_memory_is_named(tmp_path, capsys):
    path = write(tmp_path, "big_top.py", "import numpy as np\nscratch = np.zeros((10**6, 10**6))\n")
    code, out, err = call_main(gradcheck.main, capsys, "--functions", path)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "big_top.py" in err


def test_input_shape_with_functions_is_refused_or_used(capsys):
    code, out, err = call_main(gradcheck.main, capsys, "--functions", GOOD, "--input-shape", "2,3,5,7")
    assert code == 2 and "--input-shape" in err


def test_a_python_3_syntax_error_in_a_file_named_with_print_is_not_called_python_2(tmp_path, capsys):
    path = write(tmp_path, "blueprint_layers.py", "import numpy as np\n\n\ndef relu_forward(x)\n    return x, x\n")
    code, out, err = call_main(gradcheck.main, capsys, "--functions", path)
    assert code == 2 and "SyntaxError" in err and "line 4" in err
    assert "Python 2" not in err


#: the classic slip of a loss: the per-sample losses returned, not their mean
PER_SAMPLE_SOFTMAX_LOSS = '''
import numpy as np


def softmax_loss(x, y):
    shifted = x - x.max(axis=1, keepdims=True)
    p = np.exp(shifted)
    p /= p.sum(axis=1, keepdims=True)
    N = x.shape[0]
    loss = -np.log(p[np.arange(N), y]) / N
    dx = p.copy()
    dx[np.arange(N), y] -= 1
    return loss, dx / N
'''


def test_a_loss_returning_per_sample_losses_is_a_failing_row(tmp_path, capsys):
    code, report, err = run_json(capsys, write(tmp_path, "per_sample.py", PER_SAMPLE_SOFTMAX_LOSS))
    row = rows(report)[("softmax_loss", "dx")]
    assert code == 1 and row["verdict"] == "fail" and "(5,)" in row["hint"]


#: a forward returning a ragged list of rows, beside a right sigmoid pair
RAGGED_RELU_AND_SIGMOID = '''
import numpy as np


def relu_forward(x):
    rows = np.maximum(0, x)
    return [list(r) if i else list(r[:2]) for i, r in enumerate(rows)], x


def relu_backward(dout, cache):
    return dout * (cache > 0)


def sigmoid_forward(x):
    s = 1 / (1 + np.exp(-x))
    return s, s


def sigmoid_backward(dout, cache):
    return dout * cache * (1 - cache)
'''


def test_a_ragged_forward_is_one_failing_row_and_the_other_pairs_are_checked(tmp_path, capsys):
    code, report, err = run_json(capsys, write(tmp_path, "ragged.py", RAGGED_RELU_AND_SIGMOID))
    assert code == 1 and report is not None
    found = rows(report)
    relu = found[("relu_backward", "dx")]
    assert relu["verdict"] == "fail" and "relu_forward" in relu["hint"]
    assert found[("sigmoid_backward", "dx")]["verdict"] == "pass"


#: a finished batch norm with a real bug: ``bn_param.get("running_mean")`` without a default is None at the first call
NONE_RUNNING_MEAN = '''
import numpy as np


def batchnorm_forward(x, gamma, beta, bn_param):
    eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
    running_mean = bn_param.get("running_mean")
    mu, var = x.mean(axis=0), x.var(axis=0)
    xhat = (x - mu) / np.sqrt(var + eps)
    bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
    return gamma * xhat + beta, (xhat, gamma, np.sqrt(var + eps))


def batchnorm_backward(dout, cache):
    xhat, gamma, std = cache
    N = dout.shape[0]
    dxhat = dout * gamma
    dx = (N * dxhat - dxhat.sum(0) - xhat * (dxhat * xhat).sum(0)) / (N * std)
    return dx, (dout * xhat).sum(0), dout.sum(0)
'''


def test_a_finished_forward_crashing_on_its_own_none_is_not_called_unfinished(tmp_path, capsys):
    code, report, _ = run_json(capsys, write(tmp_path, "bn_none.py", NONE_RUNNING_MEAN))
    (row,) = report["rows"]
    assert code == 1 and "TypeError" in row["hint"] and "not implemented" not in row["hint"]


def test_a_missing_package_is_not_called_a_module_of_the_assignment(tmp_path, capsys):
    if importlib.util.find_spec("past") is not None:
        pytest.skip("python-future is installed here")
    path = write(tmp_path, "future_style.py", "from past.builtins import xrange\n" + XRANGE_RELU)
    code, out, err = call_main(gradcheck.main, capsys, "--functions", path)
    assert code == 2 and "'past'" in err and "module of the assignment" not in err


def test_a_relative_sibling_import_is_explained_like_an_absolute_one(tmp_path, capsys):
    path = write(tmp_path, "fast_layers.py", "from .im2col import *\n" + XRANGE_RELU.replace("xrange", "range"))
    code, out, err = call_main(gradcheck.main, capsys, "--functions", path)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "im2col" in err and "sibling" in err
