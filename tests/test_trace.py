"""``gradcheck.py --trace``: the warm-up and the handout's network, node by node, with the numbers the
library computes; and the traced graph of any chain of layers."""

import numpy as np
import pytest

import checking.trace as trace
from checking.checker import check_function
from app.cli import UsageError
from app.gradcheck_cli import run_trace
from checking.trace import chain_graph, graph_text, network_graph, trace_backward, trace_warmup, warmup_graph
from layers import Linear, Multiply, Sigmoid, SoftmaxCrossEntropyLoss, Tanh, BCELoss, ReLU
from model.net import TwoLayerNet

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
    assert f"ℓ = −(1/N) Σ [y log p + (1 − y) log(1 − p)] = {loss:.6f}" in forward
    assert f"{a[0, 0]:.4f}" in forward and f"{np.maximum(a, 0)[3].max():.4f}" in forward


def test_step_one_formula_keeps_its_brackets():
    text, _ = trace_backward(seed=0)
    assert "[step 1] BCE loss node  ℓ = −(1/N) Σ [y log p + (1 − y) log(1 − p)]" in text
    assert "Σ y log p + (1 − y)" not in text


def test_batch_and_seed_are_honoured():
    text6, ok = trace_backward(seed=0, batch=6)
    assert ok and "Forward (N = 6)" in text6 and "(3, 1) = (3, 6)·(6, 1)" in text6 and "(2, 3) = (2, 6)·(6, 3)" in text6
    assert trace_backward(seed=1)[0] != trace_backward(seed=0)[0]
    with pytest.raises(ValueError, match="positive integer"):
        trace_backward(batch=0)


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
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
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
    assert ok and "[BCE]  a4, y -> ℓ" in text and "dℓ/d(0.W) (2, 3)" in text


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
