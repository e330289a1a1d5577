"""``python gradcheck.py``: the default suite, a user's own layers (losses via --labels, --layer-args per
--layer), the composed networks, the traces and their pictures; every bad request is one line with exit
status 2 (1 is kept for "a gradient is wrong")."""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import gradcheck
from checking.checker import Report, check_model, compare
from layers import ReLU
from model import TwoLayerNet
from traces.trace import trace_backward

ROOT = Path(__file__).resolve().parents[1]

USER = textwrap.dedent('''
    import sys
    import numpy as np

    class Scale:
        def __init__(self, d=5, start=0.5):
            self.params = {"w": np.linspace(start, 2.0, d)}
            self.grads = {"w": np.zeros(d)}
        def forward(self, x):
            self.x = x
            return x * self.params["w"]
        def backward(self, g):
            self.grads["w"][...] = (g * self.x).sum(axis=0)
            return g * self.params["w"]

    class Shift:
        def __init__(self, offset):
            self.offset = offset
        def forward(self, x):
            return x + self.offset
        def backward(self, g):
            return g

    class LogisticLoss:
        """Binary cross-entropy on logits, averaged over every element."""
        def forward(self, z, y):
            self.z, self.y = z, y
            return float(np.mean(np.logaddexp(0, z) - y * z))
        def backward(self, upstream=1.0):
            return upstream * (1 / (1 + np.exp(-self.z)) - self.y) / self.z.size

    class SoftmaxCE:
        def forward(self, z, y):
            self.p = np.exp(z - z.max(axis=1, keepdims=True))
            self.p /= self.p.sum(axis=1, keepdims=True)
            self.y = y
            return float(-np.mean(np.log(self.p[np.arange(len(y)), y])))
        def backward(self, upstream=1.0):
            d = self.p.copy()
            d[np.arange(len(self.y)), self.y] -= 1
            return upstream * d / len(self.y)

    class SoftmaxCEWithoutOneOverN(SoftmaxCE):
        def backward(self, upstream=1.0):
            return super().backward(upstream) * len(self.y)

    class StarArgsLoss(LogisticLoss):
        def forward(self, *args):
            return super().forward(*args)

    class Tanh:
        def forward(self, x):
            self.y = np.tanh(x)
            return self.y
        def backward(self, g):
            return g * (1 - self.y ** 2)

    class Exits(Tanh):
        def backward(self, g):
            sys.exit(0)

    class Complex(Tanh):
        def backward(self, g):
            return 2 * g + 5j

    class NaNs(Tanh):
        def backward(self, g):
            d = super().backward(g)
            d[0, 0] = np.nan
            return d

    class Hungry(Tanh):
        def forward(self, x):
            raise MemoryError("Unable to allocate 7.28 EiB")

    class Unwritten(Tanh):
        def backward(self, g):
            raise NotImplementedError

    class BadScale(Scale):
        """Forgets to sum dw over the batch and takes the first row only."""
        def backward(self, g):
            self.grads["w"][...] = (g * self.x)[0]
            return g * self.params["w"]

    class WrongShape(Tanh):
        def backward(self, g):
            return g.sum(axis=0)

    class Raises(Tanh):
        def forward(self, x):
            raise ZeroDivisionError("oops")

    class NoBackward:
        def forward(self, x):
            return x
''')


@pytest.fixture
def f(tmp_path):
    path = tmp_path / "user.py"
    path.write_text(USER)
    return path


def run(capsys, *argv):
    code = gradcheck.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def one_line_error(code, err, *texts):
    assert code == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    for text in texts:
        assert text in err, (text, err)


def test_binary_labels_check_a_loss_on_logits(capsys, f):
    code, out, err = run(capsys, "--layer", f"{f}:LogisticLoss", "--labels", "binary", "--json")
    report = json.loads(out)
    assert code == 0 and err == "" and report["passed"] and [r["name"] for r in report["rows"]] == ["x"]


def test_class_labels_check_a_multiclass_loss_and_catch_a_broken_one(capsys, f):
    code, out, _ = run(capsys, "--layer", f"{f}:SoftmaxCE", "--labels", "classes", "--input-shape", "6,4")
    assert code == 0 and "PASSED" in out
    code, out, _ = run(capsys, "--layer", f"{f}:SoftmaxCEWithoutOneOverN", "--labels", "classes",
                       "--input-shape", "6,4")
    assert code == 1 and "a missing 1/N" in out and "N = 6 is the batch size" in out


def test_a_loss_without_labels_is_told_to_add_them(capsys, f):
    code, _, err = run(capsys, "--layer", f"{f}:LogisticLoss")  # its signature says it is a loss
    one_line_error(code, err, "--labels", "LogisticLoss.forward", "binary", "classes")


def test_a_loss_whose_signature_does_not_say_is_told_labels_may_be_needed(capsys, f):
    code, _, err = run(capsys, "--layer", f"{f}:StarArgsLoss")  # forward(*args): only the TypeError tells
    one_line_error(code, err, "--labels", "StarArgsLoss.forward", "TypeError", "binary", "classes")


def test_labels_for_a_layer_that_takes_none_or_classes_for_a_flat_input(capsys, f):
    code, _, err = run(capsys, "--layer", f"{f}:Tanh", "--labels", "binary")
    one_line_error(code, err, "--labels", "Tanh.forward")
    code, _, err = run(capsys, "--layer", f"{f}:SoftmaxCE", "--labels", "classes", "--input-shape", "12")
    one_line_error(code, err, "--input-shape", "(N, K)", "K >= 2", "(12,)")


def test_layer_args_belong_to_the_layer_before_them(capsys, f):
    code, out, _ = run(capsys, "--layer", f"{f}:Scale", "--layer-args", '{"d": 3, "start": 1.5}',
                       "--layer", f"{f}:Shift", "--layer-args", "[2.5]", "--input-shape", "4,3", "--json")
    rows = json.loads(out)["rows"]
    assert code == 0 and [(r["check"], r["name"], r["shape"]) for r in rows] == [
        ("Scale", "x", [4, 3]), ("Scale", "w", [3]), ("Shift", "x", [4, 3])]


@pytest.mark.parametrize("argv, text", [
    (["--layer-args", "[1]", "--layer", "{f}:Shift"], "--layer-args belongs to the --layer before it"),
    (["--labels", "binary", "--layer", "{f}:LogisticLoss"], "--labels belongs to the --layer before it"),
    (["--layer", "{f}:Shift", "--layer-args", "[1]", "--layer-args", "[2]"], "--layer-args given twice"),
])
def test_misplaced_per_layer_options_are_usage_errors(capsys, f, argv, text):
    code, _, err = run(capsys, *[a.format(f=f) for a in argv])
    one_line_error(code, err, text)


@pytest.mark.parametrize("argv, texts", [
    (["--seed", "-1"], ("--seed", ">= 0")),
    (["--batch", "1"], ("--batch", ">= 2", "BatchNorm")),
    (["--batch", "20000"], ("--batch", "10,000")),
    (["--burn-in", "-1"], ("--burn-in", ">= 0")),
    (["--directions", "0"], ("--directions", ">= 1")),
    (["--directions", "20000"], ("--directions", "10,000", "20000")),
    (["--burn-in", "200000"], ("--burn-in", "100,000", "200000")),
    (["--trace", "--batch", "0"], ("--batch", "positive")),
    (["--h=inf"], ("--h", "> 0")),
    (["--h=nan"], ("--h", "> 0")),
    (["--tol=inf", "--warn-tol=inf"], ("--tol", "> 0")),
    (["--tol=1e-3", "--warn-tol=1e-4"], ("--warn-tol", "0.001")),
    (["--layer", "{f}:Tanh", "--input-shape", "1000000000,1000000000"], ("--input-shape", "10,000,000")),
    (["--layer", "{f}:Hungry"], ("7.28 EiB",)),
    (["--layer", "{f}:Exits"], ("Exits.backward", "SystemExit(0)")),
    (["--layer", "{f}:Complex"], ("Complex.backward", "complex128")),
    (["--layer", "{f}:Unwritten"], ("Unwritten.backward", "user.py")),
])
def test_impossible_requests_and_broken_protocols_are_one_line_exit_2(capsys, f, argv, texts):
    code, out, err = run(capsys, *[a.format(f=f) for a in argv])
    one_line_error(code, err, *texts)
    assert out == ""


def test_a_nan_gradient_fails_with_strict_json(capsys, f):
    code, out, _ = run(capsys, "--layer", f"{f}:NaNs", "--json")
    report = json.loads(out, parse_constant=lambda token: pytest.fail(f"non-standard JSON token {token}"))
    row = report["rows"][0]
    assert code == 1 and row["verdict"] == "fail" and row["analytic"] is None and row["max_rel_error"] is None
    assert any("written as null" in n for n in report["notes"])


def test_a_layer_that_calls_sys_exit_is_not_a_silent_pass(f):
    proc = subprocess.run([sys.executable, str(ROOT / "gradcheck.py"), "--layer", f"{f}:Exits"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and proc.stdout == "" and len(proc.stderr.strip().splitlines()) == 1
    assert proc.stderr.startswith("gradcheck.py: error: ") and "Exits.backward" in proc.stderr
    assert "SystemExit(0)" in proc.stderr


def test_the_library_speaks_parameter_names_and_the_command_line_its_flags(capsys, f):
    from checking.user_layer import check_user_layer, load_layer
    from layers.validation import ParameterError

    assert check_user_layer(load_layer(f"{f}:Scale", {"d": 3, "start": 1.5}), (4, 3)).passed
    with pytest.raises(ValueError, match="PATH.py:ClassName") as info:
        load_layer(str(f))  # no :ClassName
    assert "--" not in str(info.value)
    with pytest.raises(ParameterError) as info:
        check_user_layer(load_layer(f"{f}:LogisticLoss"), (4, 3))
    assert info.value.param == "labels" and "--" not in str(info.value)
    code, _, err = run(capsys, "--layer", f)  # the same refusal, said with the flag
    one_line_error(code, err, "--layer", "PATH.py:ClassName")
    from checking.checker import check_layer  # the command is a shell: the library lives in checking, re-exported

    assert gradcheck.check_layer is check_layer


# ---------------------------------------------------------------- the default suite, a user's layers


def test_default_run_checks_everything_and_passes(capsys):
    code, out, err = run(capsys)
    assert code == 0 and err == ""
    for check in ("Linear", "Linear(bias=False)", "ReLU", "Sigmoid", "BCELoss", "SigmoidBCELoss", "Add", "Multiply",
                  "Max", "Copy", "(x+y)*z", "fused vs chained", "TwoLayerNet 2-3-1", "TwoLayerNet 2-8-1 +b1",
                  "MaxPool2d(2) stride 1"):
        assert f"\n{check} " in out, check
    assert "PASSED" in out.splitlines()[-1] and "5 elements verified at a kink" in out


def test_json_report(capsys):
    code, out, _ = run(capsys, "--json")
    report = json.loads(out)
    assert code == 0 and report["passed"] is True
    relu = [r for r in report["rows"] if r["check"] == "ReLU"][0]
    assert relu["n_kinks"] == 1 and relu["n_checked"] == 40 and relu["verdict"] == "pass"
    assert all(r["n_failed"] == 0 and r["hint"] is None for r in report["rows"])
    assert {r["name"] for r in report["rows"] if r["check"] == "TwoLayerNet 2-3-1"} == {"X", "w1", "w2", "b"}


def test_a_correct_user_layer_passes(capsys, f):
    code, out, _ = run(capsys, "--layer", f"{f}:Scale", "--layer", f"{f}:Tanh")
    assert code == 0 and "Scale" in out and "Tanh" in out and "PASSED" in out


def test_layer_args_and_input_shape(capsys, f):
    code, out, _ = run(capsys, "--layer", f"{f}:Scale", "--layer-args", '{"d": 3}', "--input-shape", "4,3")
    assert code == 0 and "4x3" in out


def test_a_broken_user_layer_fails_and_names_the_tensor(capsys, f):
    code, out, _ = run(capsys, "--layer", f"{f}:BadScale")
    assert code == 1 and "FAILED" in out
    rows = {line.split()[1]: line.split()[-1] for line in out.splitlines()[2:] if line.startswith("BadScale")}
    assert rows == {"x": "pass", "w": "fail"}
    lines = out.splitlines()
    w_row = next(i for i, line in enumerate(lines) if line.startswith("BadScale  w"))
    assert lines[w_row + 1].lstrip().startswith("↳ median analytic/numeric")


@pytest.mark.parametrize("spec,texts", [  # a class that cannot be loaded is the flag's; one that misbehaves, its own
    ("{f}:Missing", ("--layer", "user.py", "'Missing'")),
    ("/no/such/file.py:Scale", ("--layer", "/no/such/file.py")),
    ("{f}:NoBackward", ("--layer", "NoBackward", "backward")),
    ("{f}", ("--layer", "PATH.py:ClassName")),
    ("{f}:WrongShape", ("WrongShape.backward", "(5,)", "(8, 5)")),
    ("{f}:Raises", ("Raises.forward", "ZeroDivisionError", "oops")),
])
def test_bad_layers_are_one_line_errors(capsys, f, spec, texts):
    code, _, err = run(capsys, "--layer", spec.format(f=f))
    one_line_error(code, err, *texts)


def test_a_constructor_that_fails_is_one_line_naming_the_call(capsys, f):
    code, _, err = run(capsys, "--layer", f"{f}:Shift")
    one_line_error(code, err, "--layer", "Shift()", "TypeError", "offset")
    code, _, err = run(capsys, "--layer", f"{f}:Scale", "--layer-args", '{"d": 3, "colour": "red"}')
    one_line_error(code, err, "--layer", "Scale(d=3, colour='red')", "TypeError")
    code, _, err = run(capsys, "--layer", f"{f}:Shift", "--layer-args", "[1, 2]")
    one_line_error(code, err, "Shift(1, 2)")


def test_bad_layer_args_and_options(capsys, f):
    code, _, err = run(capsys, "--layer", f"{f}:Scale", "--layer-args", "{nope")
    assert code == 2 and "not valid JSON" in err
    code, _, err = run(capsys, "--mode", "sideways")
    assert code == 2 and "invalid choice" in err
    for h in ("0", "-1e-5", "inf", "nan"):
        code, _, err = run(capsys, f"--h={h}")
        assert code == 2 and "--h must be a finite step > 0" in err, h


def test_directional_mode_on_a_wide_network():
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((16, 2)), rng.integers(0, 2, 16)
    net = TwoLayerNet(hidden_dim=512, hidden_bias=True, seed=0)
    assert sum(p.size for p in net.params.values()) == 2049
    report = check_model(net, X, y, mode="directional", directions=6)
    assert report.passed and len(report.rows) == 1 and report.rows[0].shape == (6,)

    class LeakyBackward(ReLU):  # lets 1% of the killed gradient through
        def backward(self, upstream):
            return upstream * np.where(self.cache > 0, 1.0, 0.01)

    net.layers[net.layers.index(net.relu)] = LeakyBackward()  # the ReLU inside the network, not an alias
    broken = check_model(net, X, y, mode="directional", directions=6)
    assert not broken.passed and broken.rows[0].verdict == "fail"


def test_directional_cli(capsys):
    code, out, _ = run(capsys, "--mode", "directional", "--directions", "4")
    assert code == 0 and "(4 directions)" in out and "unchecked" not in out


def test_a_row_with_nothing_judged_is_unchecked_and_never_passes():
    row = compare("c", "x", np.array([1.0, 2.0]), np.array([5.0, 0.0]), kinks=np.array([True, True]))
    assert row.verdict == "unchecked" and row.n_checked == 0
    report = Report([row, compare("c", "y", np.ones(2), np.ones(2))])
    assert not report.passed and report.summary().startswith("NOT VERIFIED") and "PASSED" not in report.summary()


def test_burn_in_checks_at_a_trained_point(capsys):
    code, out, _ = run(capsys, "--burn-in", "50")
    assert code == 0 and "after 50 SGD steps" in out


def test_trace_walks_the_seed_steps_with_shapes(capsys):
    code, out, _ = run(capsys, "--trace")
    assert code == 0
    for text in ("[step 1] BCE loss node", "[step 2] sigmoid node", "[step 3] linear node", "[step 4] ReLU node",
                 "[step 5] linear node", "(3, 1) = (3, 4)·(4, 1)", "(2, 3) = (2, 4)·(4, 3)",
                 "dℓ/dw1 (2, 3) has the shape of w1 (2, 3) ✓", "dℓ/db (1,) has the shape of b (1,) ✓"):
        assert text in out, text
    assert "✗" not in out and out.count("✓") == 10  # 7 shape checks, then 3 confirmed by centred differences
    assert "Check by centred differences" in out.split("Done:")[1]
    for name in ("dℓ/dw1", "dℓ/dw2", "dℓ/db"):
        line = next(x for x in out.split("Check by centred differences")[1].splitlines() if x.strip().startswith(name))
        assert line.endswith("✓") and float(line.split("largest relative error")[1].split()[0]) < 1e-7


def test_trace_numbers_are_the_networks_gradients():
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -0.2], [2.0, 1.0]])
    y = np.array([1, 0, 1, 0])
    text, ok = trace_backward(X, y, seed=3)
    net = TwoLayerNet(seed=np.random.default_rng(np.random.SeedSequence(3).spawn(2)[1]))
    net.loss(X, y)
    net.backward()
    assert ok and f"{net.grads['b'][0]:.4f}" in text


def test_as_a_subprocess_with_a_broken_layer(f):
    proc = subprocess.run([sys.executable, str(ROOT / "gradcheck.py"), "--layer", f"{f}:BadScale", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and json.loads(proc.stdout)["passed"] is False


# ---------------------------------------------------------------- composed networks, traces, pictures, exercises


def test_a_composed_network_is_checked_with_train_py_s_option_names(capsys):
    code, out, _ = run(capsys, "--hidden", "16,16", "--activation", "tanh", "--classes", "3")
    assert code == 0 and "PASSED" in out
    rows = [line for line in out.splitlines() if line.startswith("Sequential 2-16-16-3 Tanh")]
    names = {" ".join(line.split()[3:5]) for line in rows if "(Linear)" in line}
    assert {"0.W (Linear)", "2.W (Linear)", "4.W (Linear)", "4.b (Linear)"} <= names  # which network, which layer
    assert "TwoLayerNet 2-3-1" in out  # the handout's network is always checked


def test_a_broken_layer_inside_the_composed_network_fails(capsys, monkeypatch):
    import layers

    monkeypatch.setattr(layers.Tanh, "backward", lambda self, g: g)  # forgets 1 − y²
    code, out, _ = run(capsys, "--hidden", "6", "--activation", "tanh", "--classes", "3")
    assert code == 1 and "FAILED" in out
    assert any(line.startswith("Tanh") and line.rstrip().endswith("fail") for line in out.splitlines())


@pytest.mark.parametrize("argv,match", [
    (["--hidden", "0"], "--hidden must be"),
    (["--hidden", "16,,16"], "--hidden wants"),
    (["--activation", "swish"], "invalid choice"),
    (["--classes", "1"], "--classes"),
    (["--svg", "x.svg"], "add --trace"),
    (["--trace", "--svg", "x.png"], ".svg"),
    (["--trace", "--json"], "does not take"),
])
def test_bad_composition_and_trace_options(capsys, argv, match):
    code, _, err = run(capsys, *argv)
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1


def test_trace_warmup_and_its_picture(capsys, tmp_path):
    code, out, _ = run(capsys, "--trace", "warmup", "--svg", str(tmp_path / "w.svg"))
    assert code == 0 and "f = q·z" in out and "-12" in out
    svg = (tmp_path / "w.svg").read_text()
    assert svg.startswith("<svg") or svg.startswith("<?xml")
    assert "-12" in svg and "df/dx = -4" in svg


def test_trace_honours_batch_and_seed(capsys):
    _, four, _ = run(capsys, "--trace")
    _, six, _ = run(capsys, "--trace", "--batch", "6", "--seed", "2")
    assert "(4, 2)" in four and "(6, 2)" in six and four != six


def test_trace_of_a_composed_chain_with_its_picture(capsys, tmp_path):
    code, out, _ = run(capsys, "--trace", "chain", "--hidden", "4", "--classes", "3", "--svg", str(tmp_path / "c.svg"))
    assert code == 0 and "2-4-3" in out and "softmax" in out.lower()
    assert "0.W" in (tmp_path / "c.svg").read_text()


def test_an_untouched_exercise_is_one_line_and_a_loss_exercise_takes_labels(capsys):
    code, _, err = run(capsys, "--layer", f"{ROOT / 'exercises' / 'sigmoid.py'}:Sigmoid")
    assert code == 2 and "Sigmoid.backward is not implemented yet (TODO in" in err and "sigmoid.py)" in err
    code, _, err = run(capsys, "--layer", f"{ROOT / 'exercises' / 'bce_loss.py'}:BCELoss", "--labels", "binary",
                       "--input-shape", "8,1")
    assert code == 2 and "BCELoss.backward is not implemented yet" in err


def test_a_user_loss_is_checked_on_valid_probabilities(capsys, tmp_path):
    (tmp_path / "ce.py").write_text(textwrap.dedent('''
        import numpy as np


        class CE:
            def forward(self, p, y):
                if (p <= 0).any() or (p >= 1).any():
                    raise ValueError("probabilities only")
                self.cache = (p, y)
                return float(-np.log(p[np.arange(len(y)), y]).mean())

            def backward(self, upstream=1.0):
                p, y = self.cache
                g = np.zeros_like(p)
                g[np.arange(len(y)), y] = -1.0 / (len(y) * p[np.arange(len(y)), y])
                return upstream * g
        '''))
    code, out, err = run(capsys, "--layer", f"{tmp_path / 'ce.py'}:CE", "--labels", "classes", "--input-shape", "6,3")
    assert code == 0, err
    assert "PASSED" in out


def test_a_closed_stdout_ends_quietly(tmp_path):
    proc = subprocess.run(f"{sys.executable} {ROOT / 'gradcheck.py'} | true", shell=True, capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert "Broken pipe" not in proc.stderr and "Traceback" not in proc.stderr


def test_the_composed_network_with_batchnorm_and_dropout_checks_in_training_mode(capsys):
    code, out, _ = run(capsys, "--hidden", "6,6", "--batchnorm", "--dropout", "0.2", "--classes", "3")
    assert code == 0 and "1.gamma (BatchNorm)" in out and "PASSED" in out
    code, out, _ = run(capsys, "--trace", "chain", "--hidden", "4", "--batchnorm", "--dropout", "0.25")
    assert code == 0 and "[batchnorm]" in out and "[dropout]" in out
    code, _, err = run(capsys, "--dropout", "1")
    assert code == 2 and "--dropout" in err
