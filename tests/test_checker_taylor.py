"""The Taylor test: the order of the remainder |f(θ+εv) − f(θ) − ε∇f·v| over ε = 1e-1 … 1e-6.

About 2 for every built-in tensor on which f is not linear, ``exact`` on the linear ones, about 1 for a
broken gradient; directions that cross a kink are noticed."""

import json

import numpy as np
import pytest

import gradcheck
from checking.checker import check_function, check_layer, check_model
from checking.suites import default_suite
from checking.taylor import EPSILONS, kink_free
from layers import (Add, BatchNorm, BCELoss, Copy, CrossEntropyLoss, Dropout, LeakyReLU, Linear, Max, MSELoss,
                    Multiply, ReLU, Sigmoid, SigmoidBCELoss, Softmax, SoftmaxCrossEntropyLoss, Tanh)
from model import Sequential, TwoLayerNet

RNG = np.random.default_rng(7)
X = RNG.standard_normal((8, 5))
P = RNG.uniform(0.05, 0.95, (8, 1))
Y01 = RNG.integers(0, 2, (8, 1))
CLASSES = RNG.integers(0, 5, 8)

# (name, layer factory, input, labels, the tensors on which f is linear)
LAYERS = [
    ("Linear", lambda: Linear(5, 4, rng=0), X, None, {"x", "W", "b"}),
    ("ReLU", ReLU, X, None, {"x"}),  # piecewise linear: linear along a direction that crosses no kink
    ("LeakyReLU", lambda: LeakyReLU(0.1), X, None, {"x"}),
    ("Dropout", lambda: Dropout(0.3, rng=1), X, None, {"x"}),  # linear once the mask is held fixed
    ("Sigmoid", Sigmoid, X, None, set()),
    ("Tanh", Tanh, X, None, set()),
    ("Softmax", Softmax, X, None, set()),
    ("BatchNorm", lambda: BatchNorm(5), X * 2 + 1, None, {"gamma", "beta"}),
    ("BCELoss", BCELoss, P, Y01, set()),
    ("SigmoidBCELoss", SigmoidBCELoss, X[:, :1] * 3, Y01, set()),
    ("CrossEntropyLoss", CrossEntropyLoss, Softmax().forward(X), CLASSES, set()),
    ("SoftmaxCrossEntropyLoss", SoftmaxCrossEntropyLoss, X, CLASSES, set()),
    ("MSELoss", MSELoss, X, RNG.standard_normal(X.shape), set()),
]


def assert_order_near_two_or_exact(row, linear):
    if row.name in linear:
        assert row.verdict == "exact" and row.order is None, (row.check, row.name, row.remainders)
    else:
        assert row.verdict == "pass" and 1.8 <= row.order <= 2.2, (row.check, row.name, row.order)


@pytest.mark.parametrize("name, make, x, y, linear", LAYERS, ids=[c[0] for c in LAYERS])
def test_every_built_in_layer_has_order_two_or_is_exact(name, make, x, y, linear):
    report = check_layer(make(), x, y=y, mode="taylor", seed=3)
    assert report.passed
    for row in report.rows:
        assert_order_near_two_or_exact(row, linear)
        assert row.epsilons == list(EPSILONS) and len(row.remainders) == len(EPSILONS)


@pytest.mark.parametrize("gate", [Add(), Multiply(), Max()], ids=["Add", "Multiply", "Max"])
def test_gates_are_exact_in_each_input(gate):
    a = {"a": RNG.standard_normal(6), "b": RNG.standard_normal(6)}
    g = RNG.standard_normal(6)
    gate.forward(a["a"], a["b"])
    da, db = gate.backward(g)
    report = check_function(lambda: float(np.sum(gate.forward(a["a"], a["b"]) * g)), a, {"a": da, "b": db},
                            mode="taylor")
    assert [r.verdict for r in report.rows] == ["exact", "exact"]


def test_copy_is_exact():
    copy, x = Copy(), {"x": RNG.standard_normal(6)}
    g1, g2 = RNG.standard_normal(6), RNG.standard_normal(6)
    copy.forward(x["x"])

    def f():
        x1, x2 = copy.forward(x["x"])
        return float(np.sum(x1 * g1) + np.sum(x2 * g2))

    assert check_function(f, x, {"x": copy.backward(g1, g2)}, mode="taylor").rows[0].verdict == "exact"


NETS = [TwoLayerNet(hidden_dim=6, hidden_bias=True, seed=0),
        Sequential([Linear(2, 5, rng=1), Tanh(), Linear(5, 3, rng=2)], SoftmaxCrossEntropyLoss())]


@pytest.mark.parametrize("net", NETS, ids=["TwoLayerNet", "Sequential"])
def test_networks_have_order_two_on_every_tensor(net):
    rng = np.random.default_rng(0)  # its own stream: the order must not depend on which tests ran before
    Xn, y = rng.standard_normal((10, 2)), rng.integers(0, 2, 10)
    report = check_model(net, Xn, y, mode="taylor")
    assert report.passed and all(1.8 <= r.order <= 2.2 for r in report.rows), str(report)


def test_the_default_suite_in_taylor_mode():
    report = default_suite(mode="taylor")
    taylor = [r for r in report.rows if r.mode == "taylor"]
    assert report.passed and len(taylor) >= 40
    assert all(r.verdict == "exact" or 1.8 <= r.order <= 2.2 for r in taylor)
    assert {r.verdict for r in taylor} == {"pass", "exact"}


class SigmoidWithFlippedSign(Sigmoid):
    def backward(self, upstream):
        return -super().backward(upstream)


class TanhOffByOnePercent(Tanh):
    def backward(self, upstream):
        return 1.01 * super().backward(upstream)


class LinearMeanBias(Linear):
    def backward(self, upstream):
        dx = super().backward(upstream)
        self.grads["b"][...] = upstream.mean(axis=0)
        return dx


@pytest.mark.parametrize("layer, tensor", [(SigmoidWithFlippedSign(), "x"), (TanhOffByOnePercent(), "x"),
                                           (LinearMeanBias(5, 3, rng=0), "b")], ids=["sign", "1%", "mean bias"])
def test_a_broken_gradient_has_order_below_1_3(layer, tensor):
    report = check_layer(layer, X, mode="taylor")
    row = report.row(tensor)
    assert row.verdict == "fail" and row.order < 1.3 and not report.passed
    assert row.hint.startswith(f"the remainder shrinks like ε^{row.order:.2f}, not ε²")


def test_the_hint_of_a_broken_tensor_uses_its_ratio():
    row = check_layer(LinearMeanBias(5, 3, rng=0), X, mode="taylor").row("b")
    assert row.ratio == pytest.approx(1 / 8, rel=1e-4) and "a mean where a sum belongs" in row.hint


def test_a_direction_that_crosses_a_kink_is_noticed_and_the_fit_shortened():
    x = X.copy()
    x[0, 0] = 1e-3  # the direction (unit norm over 40 elements) crosses it for ε ≳ 1e-2
    report = check_layer(ReLU(), x, mode="taylor")
    row = report.row("x")
    assert row.verdict == "exact"
    assert any("crosses a kink for ε ≥" in n for n in report.notes)
    assert max(row.remainders[-3:]) < 1e-12  # the kink-free ε: round-off


def test_an_element_on_the_kink_is_judged_element_wise_and_never_passed_unjudged(monkeypatch):
    import checking.checker as checker

    x = X.copy()
    x[0, 0] = 0.0  # every direction crosses it at every ε: the Taylor test cannot judge this tensor
    report = check_layer(ReLU(), x, mode="taylor")
    row = report.row("x")
    assert row.mode == "elementwise" and row.verdict == "pass" and row.n_kinks >= 1
    assert any("judged element-wise" in n for n in report.notes)

    class WrongAtZero(ReLU):
        def backward(self, g):
            return super().backward(g) + 5.0 * (self.cache == 0) * (g != 0)  # a wrong value at the kink

    assert not check_layer(WrongAtZero(), x, mode="taylor").passed
    monkeypatch.setattr(checker, "ELEMENTWISE_FALLBACK", 0)  # too big to fall back: unchecked, never a pass
    report = check_layer(ReLU(), x, mode="taylor")
    row = report.row("x")
    assert row.verdict == "unchecked" and row.n_checked == 0 and "the element-wise mode verifies kinks" in row.hint
    assert not report.passed and report.summary().startswith("NOT VERIFIED")


def test_kink_free_reads_the_symmetric_part():
    eps = np.array(EPSILONS)
    assert kink_free(0.3 * eps ** 2, 1e-16).all()  # smooth: grows like ε²
    assert kink_free(np.full(6, 1e-17), 1e-16).all()  # piecewise linear, no crossing: round-off
    crossing = np.where(eps > 2e-3, 0.5 * (eps - 2e-3), 1e-17)  # a kink at t = 2e-3 along v
    assert kink_free(crossing, 1e-16).tolist() == [False, False, True, True, True, True]
    assert not kink_free(0.5 * eps, 1e-16).any()  # a kink at θ itself: every ε


def test_taylor_mode_from_the_command_line(capsys):
    code = gradcheck.main(["--mode", "taylor", "--json"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0 and out["passed"]
    orders = [r["order"] for r in out["rows"] if r["mode"] == "taylor" and r["verdict"] == "pass"]
    assert orders and min(orders) >= 1.8
    assert "exact" in {r["verdict"] for r in out["rows"]}
