"""``gradcheck.py --trace --use``: a class the traced network does not hold is refused in one line (exit 2),
and every class is checked alone by the checker as well, so a slip the traced batch cannot show (a bias summed
over every axis, where the handout's b has one element) still fails, with its hint (issue 25, items 8 and 10)."""

import textwrap

import pytest

import gradcheck
from .conftest import call_main, hints_in

CORRECT = """
import numpy as np


class Tanh:
    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, upstream):
        return upstream * (1 - self.y ** 2)


class SoftmaxCrossEntropyLoss:
    def __init__(self):
        self.params, self.grads = {}, {}

    def forward(self, z, y):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        self.p, self.y = e / e.sum(axis=1, keepdims=True), y
        return float(-np.log(self.p[np.arange(len(y)), y]).mean())

    def backward(self, upstream=1.0):
        dz = self.p.copy()
        dz[np.arange(len(self.y)), self.y] -= 1
        return upstream * dz / len(self.y)


class BatchNorm:
    def __init__(self, num_features=5, eps=1e-5):
        self.params = {"gamma": np.ones(num_features), "beta": np.zeros(num_features)}
        self.grads, self.eps = {}, eps

    def forward(self, x):
        self.std = np.sqrt(x.var(axis=0) + self.eps)
        self.xh = (x - x.mean(axis=0)) / self.std
        return self.params["gamma"] * self.xh + self.params["beta"]

    def backward(self, upstream):
        self.grads["gamma"], self.grads["beta"] = (upstream * self.xh).sum(axis=0), upstream.sum(axis=0)
        d = upstream * self.params["gamma"]
        return (d - d.mean(axis=0) - self.xh * (d * self.xh).mean(axis=0)) / self.std


class Linear:
    def __init__(self, in_features=5, out_features=3, bias=True, seed=0):
        self.params = {"W": np.random.default_rng(seed).standard_normal((in_features, out_features)) * 0.5}
        if bias:
            self.params["b"] = np.zeros(out_features)
        self.grads = {}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params.get("b", 0)

    def backward(self, upstream):
        self.grads["W"] = self.x.T @ upstream
        if "b" in self.params:
            self.grads["b"] = np.full_like(self.params["b"], upstream.sum())  # SUMMED
        return upstream @ self.params["W"].T
"""


@pytest.fixture
def mine(tmp_path):
    path = tmp_path / "mine.py"
    path.write_text(textwrap.dedent(CORRECT), encoding="utf-8")
    return path


@pytest.mark.parametrize("name,option", [("Tanh", "--activation tanh"), ("BatchNorm", "--batchnorm"),
                                         ("SoftmaxCrossEntropyLoss", "--classes 3")])
def test_a_class_the_handouts_network_does_not_hold_is_refused_in_one_line(capsys, mine, name, option):
    code, out, err = call_main(gradcheck.main, capsys, "--trace", "--use", f"{mine}:{name}")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "--use" in err and name in err and "Sigmoid" in err and option in err and "agree" not in err


def test_a_class_the_chain_does_not_hold_is_refused_too(capsys, mine):
    code, _, err = call_main(gradcheck.main, capsys, "--trace", "chain", "--use", f"{mine}:Tanh")
    assert code == 2 and "Tanh" in err and "ReLU" in err and "--activation tanh" in err


@pytest.mark.parametrize("argv", [["--activation", "tanh"], ["--batchnorm"], ["--classes", "3"]])
def test_a_correct_class_traced_where_it_stands_is_checked_alone_and_agrees(capsys, mine, argv):
    name = {"--activation": "Tanh", "--batchnorm": "BatchNorm", "--classes": "SoftmaxCrossEntropyLoss"}[argv[0]]
    code, out, _ = call_main(gradcheck.main, capsys, "--trace", "chain", *argv, "--use", f"{mine}:{name}")
    assert code == 0 and "PASSED" in out and f"{name} ({mine})" in out and "at every step ✓" in out


def test_a_bias_summed_over_every_axis_fails_the_handouts_trace_with_its_hint(capsys, mine):
    code, out, _ = call_main(gradcheck.main, capsys, "--trace", "--use", f"{mine}:Linear")
    assert code == 1 and "FAILED" in out and "axis=0" in out and "every axis" in out
    agrees, last = out.rstrip().splitlines()[-2:]  # this batch cannot show it; the check alone does
    assert "at every step ✓" in agrees and last.startswith("✗") and "alone" in last


@pytest.mark.parametrize("argv", [["--trace", "chain", "--classes", "3"], ["--classes", "3"]])
def test_a_bias_summed_over_every_axis_in_a_softmax_network_gets_its_hint(capsys, mine, argv):
    code, out, _ = call_main(gradcheck.main, capsys, *argv, "--use", f"{mine}:Linear")
    assert code == 1 and "every axis" in out and "axis=0" in out
    hints = hints_in(out)
    assert hints and all("axis=0" in line for line in hints)
