"""``gradcheck.py --trace``: the warm-up and the handout's network, node by node, with the numbers the
library computes; and the traced graph of any chain of layers."""

import re

import numpy as np
import pytest

import traces.trace as trace
import gradcheck
from checking.checker import check_function
from app.cli import UsageError
from app.gradcheck_cli import run_trace
from traces.chain_text import graph_text
from traces.trace import chain_graph, network_graph, trace_backward, trace_warmup, warmup_graph
from layers import Linear, Multiply, Sigmoid, SoftmaxCrossEntropyLoss, Tanh, BCELoss, ReLU
from layers.validation import ParameterError
from model.builders import build_mlp
from model.net import TwoLayerNet

from .conftest import call_main

# ---------------------------------------------------------------- the warm-up


def test_warmup_graph_holds_the_handouts_numbers():
    g = warmup_graph()
    values = {k: float(w.value) for k, w in g.wires.items()}
    grads = {k: float(w.grad) for k, w in g.wires.items()}
    assert values == {"x": -2, "y": 5, "q": 3, "z": -4, "f": -12}
    assert grads == {"x": -4, "y": -4, "q": -4, "z": 3, "f": 1}
    assert [n.op for n in g.nodes] == ["+", "×"]


@pytest.mark.parametrize("x, y, z", [(1.0, 2.0, 3.0), (0.5, -1.5, 2.0)])
def test_warmup_graph_at_another_point_is_the_calculus(x, y, z):
    g = warmup_graph(x, y, z)
    q = x + y
    assert float(g.value("f")) == q * z
    assert (float(g.grad("x")), float(g.grad("y")), float(g.grad("z"))) == (z, z, q)


def test_warmup_text_walks_the_gates_with_their_patterns():
    text, ok = trace_warmup()
    assert ok
    for line in ("q = x + y = -2 + 5 = 3", "f = q·z = 3·(-4) = -12", "df/df = 1",
                 "df/dz = upstream × q = 1 × 3 = 3", "df/dq = upstream × z = 1 × (-4) = -4",
                 "df/dx = upstream × 1 = -4 × 1 = -4", "df/dy = upstream × 1 = -4 × 1 = -4",
                 "multiply swaps and scales", "add distributes"):
        assert line in text, line
    # forward before backward, and the multiply gate before the add gate on the way back
    assert text.index("Forward") < text.index("Backward") < text.index("df/dz") < text.index("df/dx")


def test_warmup_check_catches_a_gate_that_does_not_swap(monkeypatch):
    class NoSwap(Multiply):
        def backward(self, g):
            a, b = self.cache
            return g * a, g * b  # wrong: each input must get the *other* one

    monkeypatch.setattr(trace, "Multiply", NoSwap)
    text, ok = trace_warmup()
    assert not ok and "✗" in text


# ---------------------------------------------------------------- the handout's network


def _net_for(seed):
    return TwoLayerNet(seed=np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[1]))


def test_network_trace_shows_the_forward_values_first():
    X = np.array([[1.0, 2.0], [-1.0, 0.5], [0.3, -0.2], [2.0, 1.0]])
    y = np.array([1, 0, 1, 0])
    text, ok = trace_backward(X, y, seed=3)
    net = _net_for(3)
    loss = net.loss(X, y)
    a = X @ net.params["w1"]
    assert ok
    forward = text[:text.index("Backward")]
    for label in ("X·w1 =", "h = max(0, X·w1) =", "z = h·w2 + b =", "p = σ(z) =", "ℓ = "):
        assert label in forward, label
    assert f"ℓ = −(1/N) Σ [y log p + (1 − y) log(1 − p)] = {loss:.4f}" in forward
    assert f"{a[0, 0]:.4f}" in forward and f"{np.maximum(a, 0)[3].max():.4f}" in forward


def test_step_one_formula_keeps_its_brackets():
    text, _ = trace_backward(seed=0)
    assert "[step 1] BCE loss node  ℓ = −(1/N) Σ [y log p + (1 − y) log(1 − p)]" in text
    assert "Σ y log p + (1 − y)" not in text


def test_batch_and_seed_are_honoured():
    text6, ok = trace_backward(seed=0, batch=6)
    assert ok and "Forward (N = 6)" in text6 and "(3, 1) = (3, 6)·(6, 1)" in text6 and "(2, 3) = (2, 6)·(6, 3)" in text6
    assert trace_backward(seed=1)[0] != trace_backward(seed=0)[0]
    for batch in (0, True, 2.5):  # a bool is not a batch size
        with pytest.raises(ParameterError, match="positive integer") as info:
            trace_backward(batch=batch)
        assert info.value.param == "batch"


@pytest.mark.parametrize("seed", range(6))
def test_a_hidden_unit_dead_for_the_whole_batch_is_explained(seed):
    g, net = network_graph(seed=seed)
    a = g.value("X") @ g.value("w1")  # computed here, not read off the trace
    dead = np.flatnonzero((a <= 0).all(axis=0))
    text, _ = trace_backward(graph=g)
    assert ("inactive for all 4 rows" in text) == bool(dead.size)
    if dead.size:
        cols = ", ".join(map(str, dead))
        assert f"no gradient reaches w1's column{'s' if dead.size > 1 else ''} {cols}" in text
        assert (g.grad("w1")[:, dead] == 0).all() and (g.grad("w2")[dead] == 0).all()


def test_some_seed_has_a_dead_unit_and_some_has_none():
    # the previous test must see both branches to mean anything
    dead = [bool(((network_graph(seed=s)[0].value("X·w1")) <= 0).all(axis=0).any()) for s in range(6)]
    assert any(dead) and not all(dead)


def test_network_graph_gradients_are_the_models():
    X = np.random.default_rng(5).standard_normal((5, 2))
    y = np.array([0, 1, 1, 0, 1])
    g, _ = network_graph(X, y, seed=2)
    net = _net_for(2)
    net.loss(X, y)
    dX = net.backward()
    for name in ("w1", "w2", "b"):
        np.testing.assert_allclose(g.grad(name), net.grads[name], rtol=1e-12)
    np.testing.assert_allclose(g.grad("X"), dX, rtol=1e-12)


def test_shape_check_catches_a_gradient_of_the_wrong_shape():
    g, _ = network_graph(seed=0)
    g.wires["z"].grad = g.wires["z"].grad.ravel()  # (N,) instead of (N, 1): the shape rule broken
    text, ok = trace_backward(graph=g)
    assert not ok and "dℓ/dz (4,) has the shape of z (4, 1) ✗" in text


def test_bad_data_is_refused_with_a_sentence():
    with pytest.raises(ValueError, match="X must have 2 columns"):
        trace_backward(np.ones((3, 4)), np.array([0, 1, 0]))
    with pytest.raises(ValueError, match="only 0 and 1"):
        trace_backward(np.ones((2, 2)), np.array([0, 2]))


# ---------------------------------------------------------------- any chain


class Chain:
    """A minimal Sequential: layers, criterion, params keyed "i.name" (the very arrays of the layers)."""

    def __init__(self, layers, criterion):
        self.layers, self.criterion = layers, criterion
        self.params = {f"{i}.{k}": v for i, layer in enumerate(layers) for k, v in layer.params.items()}

    def describe(self):
        return "2-4-3 tanh, softmax cross-entropy"


def _k_class_chain(rng):
    return Chain([Linear(2, 4, rng=rng), Tanh(), Linear(4, 3, rng=rng)], SoftmaxCrossEntropyLoss())


def test_chain_graph_values_are_each_layers_forward_and_names_the_parameters(rng):
    net = _k_class_chain(rng)
    X, y = rng.standard_normal((5, 2)), np.array([0, 1, 2, 1, 0])
    g = chain_graph(net, X, y)
    a1 = X @ net.layers[0].params["W"] + net.layers[0].params["b"]
    np.testing.assert_allclose(g.value("a1"), a1)
    np.testing.assert_allclose(g.value("a2"), np.tanh(a1))
    assert {"0.W", "0.b", "2.W", "2.b", "y", "ℓ"} <= set(g.wires) and g.title == net.describe()
    assert [n.op for n in g.nodes] == ["Linear", "tanh", "Linear", "softmax + CE"]


def test_chain_graph_gradients_agree_with_centred_differences(rng):
    net = _k_class_chain(rng)
    X, y = rng.standard_normal((5, 2)), np.array([0, 1, 2, 1, 0])
    g = chain_graph(net, X, y)

    def loss():
        out = X
        for layer in net.layers:
            out = layer.forward(out)
        return net.criterion.forward(out, y)

    arrays = {"X": X, **net.params}
    report = check_function(loss, arrays, {k: g.grad(k) for k in arrays})
    assert report.passed, str(report)
    # and the check would catch a wrong one
    wrong = {k: g.grad(k) * (1.5 if k == "2.W" else 1.0) for k in arrays}
    assert not check_function(loss, arrays, wrong).passed


def test_chain_graph_of_a_binary_chain_reshapes_the_labels(rng):
    net = Chain([Linear(2, 3, rng=rng), ReLU(), Linear(3, 1, rng=rng), Sigmoid()], BCELoss())
    g = chain_graph(net, rng.standard_normal((4, 2)), np.array([0, 1, 1, 0]))
    assert g.value("y").shape == (4, 1) and g.grad("y") is None
    text, ok = graph_text(g)
    assert ok and "[BCE]  a4, y -> ℓ" in text and "dℓ/d(0.W) = Xᵀ · upstream  (2, 4)·(4, 3) = (2, 3)" in text


def test_the_model_as_built_today_traces_as_a_chain():
    net = _net_for(0)
    X, y = np.random.default_rng(0).standard_normal((4, 2)), np.array([0, 1, 0, 1])
    g = chain_graph(net, X, y, title="t")
    assert {"w1", "w2", "b", "ℓ"} <= set(g.wires)
    np.testing.assert_allclose(float(g.value("ℓ")), net.loss(X, y))


# ---------------------------------------------------------------- one call for the CLI


def test_run_trace_gives_both_traces_and_writes_the_picture(tmp_path):
    text, ok = run_trace("warmup", svg=tmp_path / "w.svg")
    assert ok and "q = x + y" in text and str(tmp_path / "w.svg") in text and (tmp_path / "w.svg").is_file()
    text, ok = run_trace("net", seed=1, batch=3)
    assert ok and "Forward (N = 3)" in text
    with pytest.raises(UsageError, match="net, warmup"):
        run_trace("nett")


# ---------------------------------------------------------------- traces a learner can use (issue 17)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("batch", [1, 4])
def test_the_default_batch_makes_relu_both_route_and_kill(seed, batch):
    a = network_graph(seed=seed, batch=batch)[0].value("X·w1")  # X @ w1 as traced
    active = a > 0
    if batch == 1:
        assert active.any() and (~active).any()
    else:  # some hidden unit is active in some rows and not in others
        assert (active.any(axis=0) & (~active).any(axis=0)).any()


def test_a_batch_of_one_row_traces_the_handouts_network(capsys):
    code, out, err = call_main(gradcheck.main, capsys, "--trace", "--batch", "1")
    assert code == 0 and err == "" and "Forward (N = 1)" in out and "(2, 3) = (2, 1)·(1, 3)" in out


def test_the_warmup_at_the_learners_inputs(capsys):
    code, out, _ = call_main(gradcheck.main, capsys, "--trace", "warmup", "--inputs", "x=1,y=2,z=3")
    assert code == 0
    for line in ("at x = 1, y = 2, z = 3", "q = x + y = 1 + 2 = 3", "f = q·z = 3·(3) = 9",
                 "df/dz = upstream × q = 1 × 3 = 3", "df/dx = upstream × 1 = 3 × 1 = 3"):
        assert line in out, line
    assert "df/dz ≈ 3.000000 ✓" in out
    code, out, _ = call_main(gradcheck.main, capsys, "--trace", "warmup", "--inputs", "z=-1")
    assert code == 0 and "x = -2, y = 5, z = -1" in out and "f = q·z = 3·(-1) = -3" in out


@pytest.mark.parametrize("inputs, text", [("x=1,w=2", "--inputs wants x=NUMBER"), ("x=one", "x must be a number"),
                                          ("x=1,x=2", "gives x twice"), ("x=inf", "finite")])
def test_bad_inputs_are_one_line(capsys, inputs, text):
    code, _, err = call_main(gradcheck.main, capsys, "--trace", "warmup", "--inputs", inputs)
    assert code == 2 and text in err and len(err.strip().splitlines()) == 1
    code, _, err = call_main(gradcheck.main, capsys, "--trace", "--inputs", "x=1")
    assert code == 2 and "goes with --trace warmup" in err


def test_the_four_gate_patterns_with_numbers_and_a_check_each(capsys):
    code, out, _ = call_main(gradcheck.main, capsys, "--trace", "gates")
    assert code == 0
    for line in ("add distributes", "da = g × 1 = 2 × 1 = 2        db = g × 1 = 2 × 1 = 2",
                 "multiply swaps and scales", "da = g × b = 2 × (-4) = -8        db = g × a = 2 × 3 = 6",
                 "max routes to the winner", "da = g × 1 = 2 × 1 = 2        db = g × 0 = 2 × 0 = 0",
                 "copy adds", "dx = g1 × 1 + g2 × 1 = 2 + (-1) = 1"):
        assert line in out, line
    assert out.count("check by centred differences") == 4 and out.count(" ✓") == 5


def test_the_gate_trace_catches_a_max_that_routes_to_the_loser(monkeypatch):
    import traces.gate_patterns as patterns
    from layers import Max

    class LoserTakesAll(Max):
        def backward(self, upstream):
            da, db = super().backward(upstream)
            return db, da

    monkeypatch.setattr(patterns, "TWO_INPUT", tuple((LoserTakesAll if gate is Max else gate, *rest)
                                                     for gate, *rest in patterns.TWO_INPUT))
    text, ok = patterns.trace_gates()
    assert not ok and "da ≈ 2.0000, db ≈ 0.0000 ✗" in text


def test_the_network_trace_ends_confirming_its_gradients_by_centred_differences():
    text, ok = trace_backward(seed=0)
    tail = text.split("Done:")[1]
    assert ok and "Check by centred differences" in tail
    assert all(f"dℓ/d{name}" in tail for name in ("w1", "w2", "b")) and tail.count("✓") == 3


def test_the_numerical_confirmation_catches_a_wrong_layer(monkeypatch):
    import layers

    monkeypatch.setattr(layers.Sigmoid, "backward", lambda self, upstream: upstream * self.cache)  # no (1 − p)
    text, ok = trace_backward(seed=0)
    tail = text.split("Check by centred differences")[1]
    assert not ok and tail.count("✗") == 3  # every parameter sits behind the sigmoid


def test_the_chain_trace_has_one_number_format_and_upstream_times_local_at_each_node(capsys):
    code, out, _ = call_main(gradcheck.main, capsys, "--trace", "chain", "--hidden", "4", "--activation", "tanh",
                             "--classes", "3")
    assert code == 0
    assert not re.search(r"\d[eE][+-]?\d", out)  # no scientific notation anywhere
    numbers = re.findall(r"-?\d+\.\d+", out)
    assert numbers and all(len(n.split(".")[1]) == 4 for n in numbers)  # every number with four decimals
    assert out.count("upstream   dℓ/d") == 4 and "local      da2/da1 = 1 − a2² =" in out
    assert "dℓ/d(2.W) = a2ᵀ · upstream  (4, 4)·(4, 3) = (4, 3)" in out
    assert "✓ upstream × local = downstream" in out and "✗" not in out


def test_the_chain_trace_catches_a_backward_that_is_not_upstream_times_local(monkeypatch):
    import layers

    monkeypatch.setattr(layers.Tanh, "backward", lambda self, upstream: upstream * (1 - self.cache))
    net = build_mlp(2, hidden=(3,), activation="tanh", classes=3, standardize=False, seed=0)
    text, ok = graph_text(chain_graph(net, seed=0))
    assert not ok and "✗ upstream × local = downstream" in text and "✗ at 1 of" in text
