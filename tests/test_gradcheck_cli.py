import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import gradcheck
from checking.checker import Report, check_model, compare
from checking.trace import trace_backward
from layers import ReLU
from model import TwoLayerNet

ROOT = Path(__file__).resolve().parents[1]

USER_LAYERS = textwrap.dedent('''
    import numpy as np

    class Scale:
        """y = x * w, w of shape (D,): a correct layer with a parameter."""
        def __init__(self, d=5):
            self.params = {"w": np.linspace(0.5, 2.0, d)}
            self.grads = {"w": np.zeros(d)}
        def forward(self, x):
            self.x = x
            return x * self.params["w"]
        def backward(self, g):
            self.grads["w"][...] = (g * self.x).sum(axis=0)
            return g * self.params["w"]

    class BadScale(Scale):
        """Forgets to sum dw over the batch and takes the first row only."""
        def backward(self, g):
            self.grads["w"][...] = (g * self.x)[0]
            return g * self.params["w"]

    class Tanh:
        def forward(self, x):
            self.y = np.tanh(x)
            return self.y
        def backward(self, g):
            return g * (1 - self.y ** 2)

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
def user_file(tmp_path):
    path = tmp_path / "my_layers.py"
    path.write_text(USER_LAYERS)
    return path


def run(capsys, *argv):
    code = gradcheck.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_default_run_checks_everything_and_passes(capsys):
    code, out, err = run(capsys)
    assert code == 0 and err == ""
    for check in ("Linear", "Linear(bias=False)", "ReLU", "Sigmoid", "BCELoss", "SigmoidBCELoss", "Add", "Multiply",
                  "Max", "Copy", "(x+y)*z", "fused vs chained", "TwoLayerNet 2-3-1", "TwoLayerNet 2-8-1 +b1"):
        assert f"\n{check} " in out, check
    assert "PASSED" in out.splitlines()[-1] and "1 element verified at a kink" in out


def test_json_report(capsys):
    code, out, _ = run(capsys, "--json")
    report = json.loads(out)
    assert code == 0 and report["passed"] is True
    relu = [r for r in report["rows"] if r["check"] == "ReLU"][0]
    assert relu["n_kinks"] == 1 and relu["n_checked"] == 40 and relu["verdict"] == "pass"
    assert all(r["n_failed"] == 0 and r["hint"] is None for r in report["rows"])
    assert {r["name"] for r in report["rows"] if r["check"] == "TwoLayerNet 2-3-1"} == {"X", "w1", "w2", "b"}


def test_a_correct_user_layer_passes(capsys, user_file):
    code, out, _ = run(capsys, "--layer", f"{user_file}:Scale", "--layer", f"{user_file}:Tanh")
    assert code == 0 and "Scale" in out and "Tanh" in out and "PASSED" in out


def test_layer_args_and_input_shape(capsys, user_file):
    code, out, _ = run(capsys, "--layer", f"{user_file}:Scale", "--layer-args", '{"d": 3}', "--input-shape", "4,3")
    assert code == 0 and "4x3" in out


def test_a_broken_user_layer_fails_and_names_the_tensor(capsys, user_file):
    code, out, _ = run(capsys, "--layer", f"{user_file}:BadScale")
    assert code == 1 and "FAILED" in out
    rows = {line.split()[1]: line.split()[-1] for line in out.splitlines()[2:] if line.startswith("BadScale")}
    assert rows == {"x": "pass", "w": "fail"}
    lines = out.splitlines()
    w_row = next(i for i, line in enumerate(lines) if line.startswith("BadScale  w"))
    assert lines[w_row + 1].lstrip().startswith("↳ median analytic/numeric")


@pytest.mark.parametrize("spec,match", [
    ("{f}:Missing", "has no class 'Missing'"),
    ("/no/such/file.py:Scale", "/no/such/file.py: no such file"),
    ("{f}:NoBackward", "has no backward method"),
    ("{f}:WrongShape", "WrongShape.backward returned a gradient of shape (5,); it must have the input's shape (8, 5)"),
    ("{f}:Raises", "Raises.forward raised ZeroDivisionError: oops"),
    ("{f}", "PATH.py:ClassName"),
])
def test_bad_layers_are_one_line_errors(capsys, user_file, spec, match):
    code, out, err = run(capsys, "--layer", spec.format(f=user_file))
    assert code == 2 and match in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_layer_args_and_options(capsys, user_file):
    code, _, err = run(capsys, "--layer", f"{user_file}:Scale", "--layer-args", "{nope")
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


def test_as_a_subprocess_with_a_broken_layer(user_file):
    proc = subprocess.run([sys.executable, str(ROOT / "gradcheck.py"), "--layer", f"{user_file}:BadScale", "--json"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and json.loads(proc.stdout)["passed"] is False


# ---------------------------------------------------------------- composed networks, traces, pictures, exercises

ROOT_DIR = Path(__file__).resolve().parents[1]


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
    code, _, err = run(capsys, "--layer", f"{ROOT_DIR / 'exercises' / 'sigmoid.py'}:Sigmoid")
    assert code == 2 and "Sigmoid.backward is not implemented yet (TODO in" in err and "sigmoid.py)" in err
    code, _, err = run(capsys, "--layer", f"{ROOT_DIR / 'exercises' / 'bce_loss.py'}:BCELoss", "--labels", "binary",
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
    proc = subprocess.run(f"{sys.executable} {ROOT_DIR / 'gradcheck.py'} | true", shell=True, capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert "Broken pipe" not in proc.stderr and "Traceback" not in proc.stderr


def test_the_composed_network_with_batchnorm_and_dropout_checks_in_training_mode(capsys):
    code, out, _ = run(capsys, "--hidden", "6,6", "--batchnorm", "--dropout", "0.2", "--classes", "3")
    assert code == 0 and "1.gamma (BatchNorm)" in out and "PASSED" in out
    code, out, _ = run(capsys, "--trace", "chain", "--hidden", "4", "--batchnorm", "--dropout", "0.25")
    assert code == 0 and "[batchnorm]" in out and "[dropout]" in out
    code, _, err = run(capsys, "--dropout", "1")
    assert code == 2 and "--dropout" in err
