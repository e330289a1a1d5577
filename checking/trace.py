"""``gradcheck.py --trace``: the handout's graphs, forward and backward, node by node, with numbers.

Two graphs are traced, each computed once into a ``Graph`` from which both the text printed here and
the SVG picture (``checking.svg``) are drawn:

- the warm-up ``f = (x + y)·z`` at ``x = −2, y = 5, z = −4``, through the library's ``Add`` and
  ``Multiply`` gates (``warmup_graph``, ``trace_warmup``);
- the handout's network ``p = σ(max(0, X·w1)·w2 + b)`` with its BCE loss, through the layer objects
  of a ``TwoLayerNet`` (``network_graph``, ``trace_backward``).

``chain_graph`` traces any chain of layers (``net.layers`` then ``net.criterion``) the same way.

The graph is plain data: ``Graph.wires`` maps a wire's name to its forward value (the handout's green
number) and its gradient dℓ/d(wire) (the red number); ``Graph.nodes`` lists the nodes in forward
order, each naming its input wires (the first is the main one, the others enter from the side:
parameters, labels) and its output wire.
"""

from dataclasses import dataclass, field

import numpy as np

from layers import Add, Multiply
from model.net import TwoLayerNet

#: The handout's warm-up point.
WARMUP_POINT = (-2.0, 5.0, -4.0)

#: A wire's kind: where it comes from, which fixes where the picture draws it.
KINDS = ("input", "param", "label", "inner", "output")


@dataclass
class Wire:
    """One edge of the graph.

    Attributes
    ----------
    name : str, as displayed ("x", "q", "w1", "X·w1", "ℓ")
    value : ndarray, the forward value (any shape; 0-d for a scalar)
    grad : ndarray or None, d(root)/d(wire), the value's shape; None for labels (no gradient flows there)
    kind : str, one of ``KINDS``
    """

    name: str
    value: np.ndarray
    grad: object
    kind: str


@dataclass
class Node:
    """One node: a gate or a layer.

    Attributes
    ----------
    op : str, the short symbol drawn in the node ("+", "×", "·w1", "max(0, ·)", "σ", "BCE")
    inputs : list of str, wire names; ``inputs[0]`` is the main input, the rest enter from the side
    output : str, the output wire's name
    pattern : str, how the gradient flows through it (the handout's gate patterns), a short phrase
    step : str, the handout's step this node is ("step 3"), or ""
    layer : the object whose ``forward``/``backward`` computed the numbers
    """

    op: str
    inputs: list
    output: str
    pattern: str = ""
    step: str = ""
    layer: object = None


@dataclass
class Graph:
    """A traced graph: wires (in forward order) and nodes (in forward order)."""

    title: str
    root: str
    nodes: list = field(default_factory=list)
    wires: dict = field(default_factory=dict)

    def add_wire(self, name, value, grad=None, kind="inner"):
        if kind not in KINDS:
            raise ValueError(f"wire kind must be one of {KINDS}, got {kind!r}")
        if name in self.wires:
            raise ValueError(f"two wires are called {name!r}")
        self.wires[name] = Wire(name, _copy(value), None if grad is None else _copy(grad), kind)
        return self.wires[name]

    def value(self, name):
        return self.wires[name].value

    def grad(self, name):
        return self.wires[name].grad

    def d(self, name):
        """The gradient's name, ``dℓ/dh`` or ``dℓ/d(X·w1)``."""
        return f"d{self.root}/d{_wrap(name)}"

    def shape_checks(self):
        """``(wire name, grad shape, value shape, ok)`` for every wire that carries a gradient."""
        return [(w.name, np.shape(w.grad), np.shape(w.value), np.shape(w.grad) == np.shape(w.value))
                for w in self.wires.values() if w.grad is not None]


def _copy(a):
    return np.array(a, dtype=np.float64, copy=True)


def _wrap(name):
    """A wire name as it reads after d/: one symbol stays, a product is bracketed."""
    return f"({name})" if any(c in name for c in "·+ .") else name


# ---------------------------------------------------------------- number formatting


def _fmt(a, indent=8):
    """An array as text; one that has several rows starts on a new line, indented."""
    a = np.asarray(a)
    if a.dtype.kind == "f":
        a = a + 0.0  # + 0.0 turns -0.0 (a killed gradient) into 0.0
    text = np.array2string(a, precision=4, separator=", ", floatmode="fixed", max_line_width=100,
                           threshold=200, edgeitems=4)
    if a.ndim < 2 or a.shape[0] == 1:
        return text
    return "\n" + "\n".join(" " * indent + line for line in text.splitlines())


def _col(a):
    """An (N, 1) column printed as a row with a transpose mark, which keeps it on one line."""
    return f"{_fmt(np.asarray(a).T)}ᵀ"


def _num(v):
    """A scalar in at most 4 significant digits, without a negative zero."""
    text = f"{float(v) + 0.0:.4g}"
    return "0" if text in ("-0", "0") else text


# ---------------------------------------------------------------- the warm-up


def warmup_graph(x=WARMUP_POINT[0], y=WARMUP_POINT[1], z=WARMUP_POINT[2]):
    """The handout's warm-up ``f = (x + y)·z`` computed with the library's ``Add`` and ``Multiply`` gates.

    Returns
    -------
    Graph with wires x, y, z (inputs), q (inner), f (output, gradient 1) and two nodes.
    """
    add, mul = Add(), Multiply()
    xs, ys, zs = (np.array(float(v)) for v in (x, y, z))
    q = add.forward(xs, ys)
    f = mul.forward(q, zs)
    one = np.array(1.0)
    dq, dz = mul.backward(one)  # multiply: each input gets upstream × the other input
    dx, dy = add.backward(dq)  # add: each input gets the upstream unchanged
    g = Graph(title=f"warm-up: f = (x + y)·z at x = {_num(x)}, y = {_num(y)}, z = {_num(z)}", root="f")
    g.add_wire("x", xs, dx, "input")
    g.add_wire("y", ys, dy, "input")
    g.add_wire("q", q, dq)
    g.add_wire("z", zs, dz, "input")
    g.add_wire("f", f, one, "output")
    g.nodes += [Node("+", ["x", "y"], "q", "add distributes", layer=add),
                Node("×", ["q", "z"], "f", "multiply swaps and scales", layer=mul)]
    return g


def _warmup_f(x, y, z):
    return float(Multiply().forward(Add().forward(np.array(x), np.array(y)), np.array(z)))


def trace_warmup(x=WARMUP_POINT[0], y=WARMUP_POINT[1], z=WARMUP_POINT[2], graph=None, h=1e-5):
    """The warm-up node by node: forward values, then upstream × local at each gate.

    Returns
    -------
    (text, ok) : the trace, and whether the gates' gradients agree with centred differences of f.
    """
    g = graph if graph is not None else warmup_graph(x, y, z)
    v = {k: float(w.value) for k, w in g.wires.items()}
    d = {k: float(w.grad) for k, w in g.wires.items()}
    point = (v["x"], v["y"], v["z"])
    numeric = {}
    for i, name in enumerate("xyz"):
        plus, minus = list(point), list(point)
        plus[i] += h
        minus[i] -= h
        numeric[name] = (_warmup_f(*plus) - _warmup_f(*minus)) / (2 * h)
    ok = all(abs(numeric[k] - d[k]) <= 1e-7 * max(1.0, abs(d[k])) for k in "xyz")
    n = {k: _num(val) for k, val in v.items()}
    dn = {k: _num(val) for k, val in d.items()}
    lines = [
        f"Warm-up (the handout's first graph): f(x, y, z) = (x + y)·z at x = {n['x']}, y = {n['y']}, z = {n['z']}",
        "",
        "Forward, left to right (the green numbers):",
        f"    + gate   q = x + y = {n['x']} + {n['y']} = {n['q']}",
        f"    × gate   f = q·z = {n['q']}·({n['z']}) = {n['f']}",
        "",
        "Backward, right to left (the red numbers): at each gate, downstream = upstream × local.",
        f"    root     df/df = {dn['f']}",
        "    × gate   multiply swaps and scales: each input gets the upstream times the *other* input",
        f"             df/dz = upstream × q = {dn['f']} × {n['q']} = {dn['z']}",
        f"             df/dq = upstream × z = {dn['f']} × ({n['z']}) = {dn['q']}",
        "    + gate   add distributes: both local gradients are 1, so each input gets the upstream unchanged",
        f"             df/dx = upstream × 1 = {dn['q']} × 1 = {dn['x']}",
        f"             df/dy = upstream × 1 = {dn['q']} × 1 = {dn['y']}",
        "",
        f"Check by centred differences (h = {h:g}): df/dx ≈ {numeric['x']:.6f}, df/dy ≈ {numeric['y']:.6f}, "
        f"df/dz ≈ {numeric['z']:.6f} {'✓' if ok else '✗'}",
        f"Reading: nudging x or y up by a small ε changes f by about {dn['x']}·ε, nudging z by about {dn['z']}·ε."
        if ok else "The gates' gradients disagree with the centred differences.",
    ]
    return "\n".join(lines), ok


# ---------------------------------------------------------------- any chain of layers


_OPS = {"Linear": "Linear", "ReLU": "max(0, ·)", "LeakyReLU": "leaky ReLU", "Sigmoid": "σ", "Tanh": "tanh",
        "Softmax": "softmax", "BCELoss": "BCE", "SigmoidBCELoss": "σ + BCE", "CrossEntropyLoss": "CE",
        "SoftmaxCrossEntropyLoss": "softmax + CE", "MSELoss": "MSE", "Standardize": "standardize",
        "Dropout": "dropout", "BatchNorm": "batchnorm", "Add": "+", "Multiply": "×"}

_PATTERNS = {"Linear": "multiply gate on matrices", "ReLU": "max gate: routes or kills",
             "LeakyReLU": "routes, or scales by α", "Sigmoid": "× p(1 − p), from the output",
             "Tanh": "× (1 − y²), from the output", "Softmax": "Jacobian-vector product",
             "BCELoss": "the root: upstream 1", "SigmoidBCELoss": "the root: (σ(z) − y)/N",
             "CrossEntropyLoss": "the root: upstream 1", "SoftmaxCrossEntropyLoss": "the root: (p − onehot)/N",
             "MSELoss": "the root: 2(pred − y)/M", "Standardize": "× 1/scale", "Dropout": "routes the kept units",
             "BatchNorm": "through the batch statistics", "Add": "add distributes",
             "Multiply": "multiply swaps and scales"}


def _labels_for(criterion, y, out):
    """The labels as the loss takes them: (N,) class indices, or the output's shape for BCE/MSE."""
    y = np.asarray(y)
    if getattr(criterion, "target", "binary") == "classes":
        return y
    return y.reshape(np.shape(out)) if y.size == np.size(out) else y


def _chain_layers(net):
    """``net.layers`` when the model has them, else the old TwoLayerNet's layers in order."""
    layers = getattr(net, "layers", None)
    if layers is not None:
        return list(layers)
    return [layer for layer in (net.fc1, net.relu, net.fc2, net.sigmoid) if layer is not None]


def trace_chain_graph(layers, criterion, X, y, title="", wire_names=None, param_names=None, ops=None,
                      steps=None, root="ℓ"):
    """Run ``X`` through ``layers`` then ``criterion`` and back, keeping every wire's value and gradient.

    Parameters
    ----------
    layers : list of layer objects (``forward(x)``, ``backward(g)``, ``params``/``grads``)
    criterion : loss layer, ``forward(out, y)`` -> float, ``backward(1.0)``
    X : ndarray (N, D); y : labels as the model takes them (reshaped for BCE/MSE to the output's shape)
    wire_names : list of ``len(layers) + 1`` names (input, then each layer's output); default X, a1, a2, …
    param_names : dict id(array) -> display name; default "i.key" (i the layer's index)
    ops, steps : optional lists of node symbols and handout steps, one per layer and one for the loss

    Returns
    -------
    Graph. The layers' caches and ``grads`` are left as after one forward and backward pass.
    """
    layers = list(layers)
    n = len(layers)
    wire_names = wire_names or ["X"] + [f"a{i}" for i in range(1, n + 1)]
    if len(wire_names) != n + 1:
        raise ValueError(f"wire_names must hold {n + 1} names (the input and each layer's output), got {len(wire_names)}")
    param_names = param_names or {}
    values = [np.asarray(X)]
    for layer in layers:
        values.append(layer.forward(values[-1]))
        values[-1] = _copy(values[-1])  # a layer may return its input (identity) or reuse a buffer
    labels = _labels_for(criterion, y, values[-1])
    loss = criterion.forward(values[-1], labels)
    grads = [None] * (n + 1)
    grads[n] = criterion.backward(1.0)
    for i in range(n - 1, -1, -1):
        grads[i] = layers[i].backward(grads[i + 1])
    g = Graph(title=title, root=root)
    g.add_wire(wire_names[0], values[0], grads[0], "input")
    for i, layer in enumerate(layers + [criterion]):
        side = []
        for key, p in getattr(layer, "params", {}).items():
            name = param_names.get(id(p), f"{i}.{key}")
            g.add_wire(name, p, layer.grads[key], "param")
            side.append(name)
        kind = type(layer).__name__
        if i < n:
            out = wire_names[i + 1]
            g.add_wire(out, values[i + 1], grads[i + 1])
        else:
            g.add_wire("y", labels, None, "label")
            side.append("y")
            out = root
            g.add_wire(root, np.array(loss), np.array(1.0), "output")
        op = ops[i] if ops else _OPS.get(kind, kind)
        g.nodes.append(Node(op, [wire_names[i]] + side, out, _PATTERNS.get(kind, ""),
                            steps[i] if steps else "", layer))
    return g


def chain_graph(net, X, y, title=None):
    """Trace a model built as a chain: ``net.layers`` (or the old TwoLayerNet's) then ``net.criterion``.

    Parameter wires carry the model's own names (``net.params`` keys, found by identity). The layers
    run in their current mode (``train()``/``eval()``); a weight-decay penalty is left out (the
    title says so), so the gradients drawn are those of the data loss.

    Returns
    -------
    Graph
    """
    describe = getattr(net, "describe", None)
    title = title or (describe() if callable(describe) else repr(net))
    if getattr(net, "weight_decay", 0):
        title += " (the data loss only: the weight-decay penalty is not drawn)"
    names = {id(v): k for k, v in getattr(net, "params", {}).items()}
    return trace_chain_graph(_chain_layers(net), net.criterion, np.asarray(X, dtype=np.float64), y,
                             title=title, param_names=names)


def graph_text(graph):
    """A generic node-by-node trace of any graph: forward values, then gradients in reverse.

    Returns
    -------
    (text, ok) : ok is True when every gradient has the shape of its wire (the shape rule).
    """
    out = [graph.title, "", "Forward, left to right (the green numbers):"]
    for node in graph.nodes:
        w = graph.wires[node.output]
        shown = f"{float(w.value):.6f}" if np.ndim(w.value) == 0 else _fmt(w.value, 10)
        out.append(f"    [{node.op}]  {', '.join(node.inputs)} -> {w.name} {np.shape(w.value)} = {shown}")
    out += ["", "Backward, right to left (the red numbers): downstream = upstream × local."]
    for node in reversed(graph.nodes):
        out.append(f"    [{node.op}]" + (f"  {node.pattern}" if node.pattern else ""))
        for name in node.inputs:
            w = graph.wires[name]
            if w.grad is not None:
                out.append(f"        {graph.d(name)} {np.shape(w.grad)} = {_fmt(w.grad, 12)}")
    checks = graph.shape_checks()
    bad = [name for name, _, _, good in checks if not good]
    out += ["", "shape rule: every gradient has the shape of its wire " + ("✓" if not bad else f"✗ ({', '.join(bad)})")]
    return "\n".join(out), not bad


# ---------------------------------------------------------------- the handout's network


_NET_WIRES = ["X", "X·w1", "h", "z", "p"]
_NET_OPS = ["·w1", "max(0, ·)", "·w2 + b", "σ", "BCE"]
_NET_STEPS = ["step 5", "step 4", "step 3", "step 2", "step 1"]


def _default_batch(seed, batch):
    """Seeded data and initial weights for the trace: X (batch, 2) standard normal, y alternating 0/1."""
    if isinstance(batch, bool) or int(batch) != batch or int(batch) < 1:
        raise ValueError(f"batch must be a positive integer, got {batch!r}")
    data_seed, init_seed = np.random.SeedSequence(seed).spawn(2)
    X = np.random.default_rng(data_seed).standard_normal((int(batch), 2))
    y = np.array([0, 1] * (int(batch) // 2) + [1] * (int(batch) % 2))
    return X, y, np.random.default_rng(init_seed)


def _check_batch(X, y):
    X, y = np.asarray(X), np.asarray(y)
    if X.ndim != 2 or X.shape[1] != 2 or X.shape[0] < 1 or X.dtype.kind not in "fiu":
        raise ValueError(f"the handout's network takes X of shape (N, 2), numbers; got shape {X.shape}, dtype {X.dtype}")
    if y.shape != (X.shape[0],):
        raise ValueError(f"y must have shape ({X.shape[0]},) to match X, got {y.shape}")
    if not np.isfinite(X).all() or not np.isin(y, (0, 1)).all():
        raise ValueError("X must be finite and y must hold only 0 and 1")
    return X.astype(np.float64), y.astype(np.float64)


def network_graph(X=None, y=None, seed=0, batch=4):
    """The handout's network on one batch, traced through a fresh ``TwoLayerNet``'s layer objects.

    Parameters
    ----------
    X : array_like (N, 2) or None; y : array_like (N,) of 0/1 or None. None: ``batch`` seeded points.
    seed : int, seeds the data (when X is None) and, independently, the initial weights.
    batch : int, N when X is None.

    Returns
    -------
    (graph, net) : the Graph (wires X, X·w1, h, z, p, ℓ; w1, w2, b; y) and the network it traced.
    """
    data_X, data_y, init = _default_batch(seed, batch)
    X, y = _check_batch(data_X, data_y) if X is None else _check_batch(X, y)
    net = TwoLayerNet(seed=init)
    names = {id(v): k for k, v in net.params.items()}
    layers = [net.fc1, net.relu, net.fc2, net.sigmoid]
    g = trace_chain_graph(layers, net.criterion, X, y, title="the handout's network: p = σ(max(0, X·w1)·w2 + b), BCE loss",
                          wire_names=_NET_WIRES, param_names=names, ops=_NET_OPS, steps=_NET_STEPS)
    return g, net


def _dead_units(a):
    """Columns of X·w1 that are ≤ 0 in every row: hidden units ReLU switched off for the whole batch."""
    return [int(j) for j in np.flatnonzero((np.asarray(a) <= 0).all(axis=0))]


def _dead_lines(dead, n, why=False, indent="    "):
    """A note on hidden units that are off for the whole batch; ``why`` explains their zero gradients."""
    if not dead:
        return []
    cols = ", ".join(map(str, dead))
    units, columns = ("unit", "column") if len(dead) == 1 else ("units", "columns")
    if not why:
        return [f"{indent}note: hidden {units} {cols} (counting from 0) inactive for all {n} rows: X·w1 ≤ 0 in "
                f"{columns} {cols}, so h is 0 there"]
    return [f"{indent}note: hidden {units} {cols} inactive for all {n} rows: ReLU kills the gradient in every row, so "
            f"no gradient reaches w1's {columns} {cols} (step 5);",
            f"{indent}      and w2's {'row' if len(dead) == 1 else 'rows'} {cols} got 0 at step 3, "
            f"since dℓ/dw2 = hᵀ · dℓ/dz and h is 0 there."]


def trace_backward(X=None, y=None, seed=0, batch=4, graph=None):
    """The handout's network, forward then backward, node by node, with the numbers of each step.

    The numbers are those the layer objects compute (each ``backward`` is called in turn, from the loss
    back to ``w1``), set beside the formula of the handout's step they implement.

    Parameters
    ----------
    X, y, seed, batch : as in ``network_graph``
    graph : a Graph from ``network_graph`` to print instead of tracing again

    Returns
    -------
    (text, ok) : the trace and whether every shape check held.
    """
    g = graph if graph is not None else network_graph(X, y, seed, batch)[0]
    X, y = g.value("X"), g.value("y")
    w1, w2, b = g.value("w1"), g.value("w2"), g.value("b")
    a, h, z, p, loss = (g.value(k) for k in ("X·w1", "h", "z", "p", "ℓ"))
    dp, dz, dh, da = (g.grad(k) for k in ("p", "z", "h", "X·w1"))
    dw1, dw2, db, dX = (g.grad(k) for k in ("w1", "w2", "b", "X"))
    N = len(X)
    dead = _dead_units(a)
    out, ok = [], []

    def check(grad, of, name):
        good = np.shape(grad) == np.shape(of)
        ok.append(good)
        return f"    shape check: dℓ/d{name} {np.shape(grad)} has the shape of {name} {np.shape(of)} {'✓' if good else '✗'}"

    out += [f"Forward (N = {N}), left to right (the handout's green numbers):",
            f"    X  = {_fmt(X)}   {X.shape}",
            f"    y  = {y.astype(int).ravel().tolist()}",
            f"    w1 = {_fmt(w1)}   {w1.shape}",
            f"    w2 = {_col(w2)}   {w2.shape}",
            f"    b  = {_fmt(b)}   {b.shape}",
            f"    X·w1 = {_fmt(a)}   {a.shape}",
            f"    h = max(0, X·w1) = {_fmt(h)}   {h.shape}",
            *_dead_lines(dead, N),
            f"    z = h·w2 + b = {_col(z)}   {z.shape}",
            f"    p = σ(z) = {_col(p)}   {p.shape}",
            f"    ℓ = −(1/N) Σ [y log p + (1 − y) log(1 − p)] = {float(loss):.6f}",
            "", "Backward, right to left (the red numbers): at each node, downstream = upstream × local.", ""]
    out += ["[step 1] BCE loss node  ℓ = −(1/N) Σ [y log p + (1 − y) log(1 − p)]",
            "    upstream   dℓ/dℓ = 1 (the root)",
            "    local      dℓ/dp = (1/N) (−y/p + (1 − y)/(1 − p))",
            f"    downstream dℓ/dp = {_col(dp)}", check(dp, p, "p"), ""]
    out += ["[step 2] sigmoid node  p = σ(z)",
            f"    upstream   dℓ/dp = {_col(dp)}",
            f"    local      dp/dz = p ⊙ (1 − p) = {_col(p * (1 - p))}   (read off the cached output)",
            f"    downstream dℓ/dz = dℓ/dp ⊙ p(1 − p) = {_col(dz)}", check(dz, z, "z"), ""]
    out += ["[step 3] linear node  z = h·w2 + b  (multiply gate on matrices; b broadcast over the batch)",
            f"    upstream   dℓ/dz = {_col(dz)}",
            f"    dℓ/dw2 = hᵀ · dℓ/dz  {w2.shape} = {h.T.shape}·{dz.shape}  = {_col(dw2)}",
            check(dw2, w2, "w2"),
            f"    dℓ/db  = Σ_i dℓ/dz_i = {_fmt(db)}", check(db, b, "b"),
            f"    dℓ/dh  = dℓ/dz · w2ᵀ  {h.shape} = {dz.shape}·{w2.T.shape}  = {_fmt(dh)}", check(dh, h, "h"), ""]
    out += ["[step 4] ReLU node  h = max(0, X·w1)  (max gate: route where X·w1 > 0, kill elsewhere)",
            f"    upstream   dℓ/dh = {_fmt(dh)}",
            f"    local      1[X·w1 > 0] = {_fmt((a > 0).astype(int))}",
            f"    downstream dℓ/d(X·w1) = dℓ/dh ⊙ 1[X·w1 > 0] = {_fmt(da)}", check(da, a, "(X·w1)"),
            *_dead_lines(dead, N, why=True), ""]
    out += ["[step 5] linear node  X·w1  (same pattern as step 3, no bias)",
            f"    upstream   dℓ/d(X·w1) = {_fmt(da)}",
            f"    dℓ/dw1 = Xᵀ · dℓ/d(X·w1)  {w1.shape} = {X.T.shape}·{da.shape}  = {_fmt(dw1)}",
            check(dw1, w1, "w1"),
            f"    (and dℓ/dX = dℓ/d(X·w1) · w1ᵀ {dX.shape}, not needed for training)", "",
            "Done: dℓ/dw1, dℓ/dw2 and dℓ/db are in net.grads; gradient descent is θ ← θ − α ∇θ ℓ."]
    return "\n".join(out), all(ok)


# ---------------------------------------------------------------- one call for the CLI


TRACES = ("net", "warmup", "chain")


def run_trace(kind="net", seed=0, batch=4, svg=None, net=None):
    """What ``gradcheck.py --trace [net|warmup|chain] [--svg PATH] [--seed S] [--batch N]`` does.

    Parameters
    ----------
    kind : "net" (the handout's network), "warmup" (the warm-up graph; seed and batch unused) or
        "chain" (any ``Sequential`` ``net``, layer by layer, on seeded random data)
    seed, batch : the random data (and, for "net", the weights), as in ``network_graph``
    svg : path or None; if given, the same traced graph is drawn there as SVG (written atomically)
    net : the network for "chain"

    Returns
    -------
    (text, ok) : the trace (with a last line naming the picture, if one was written) and whether its
    checks held (shape checks for "net", the gates against centred differences for "warmup").
    """
    if kind == "warmup":
        graph = warmup_graph()
        text, ok = trace_warmup(graph=graph)
    elif kind == "net":
        graph = network_graph(seed=seed, batch=batch)[0]
        text, ok = trace_backward(graph=graph)
    elif kind == "chain":
        rng = np.random.default_rng([seed, 7])  # a stream of its own: not the one the weights came from
        X = rng.standard_normal((batch, net.input_dim))
        y = rng.integers(0, 2 if net.target == "binary" else net.output_dim, batch)
        graph = chain_graph(net, X, y)
        text, ok = graph_text(graph)
    else:
        raise ValueError(f"--trace takes one of {', '.join(TRACES)}, got {kind!r}")
    if svg is not None:
        from checking.svg import write_svg

        write_svg(graph, svg)
        text += f"\n\nPicture of this graph (green: forward values, red: gradients) written to {svg}"
    return text, ok
