"""The handout's graphs, forward and backward, node by node, with numbers: the traces ``gradcheck.py`` prints.

Each graph is computed once into a ``traces.graph.Graph``, from which both the text printed here and
the SVG picture (``traces.svg``) are drawn:

- the warm-up ``f = (x + y)·z`` at ``x = −2, y = 5, z = −4``, through the library's ``Add`` and
  ``Multiply`` gates (``warmup_graph``, ``trace_warmup``);
- the handout's network ``p = σ(max(0, X·w1)·w2 + b)`` with its BCE loss, through the layer objects
  of a ``TwoLayerNet`` (``network_graph``, ``trace_backward``);
- any chain of layers, ``net.layers`` then ``net.criterion`` (``chain_graph``; its text is
  ``traces.chain_text.graph_text``).

The network's default batch is drawn so that ReLU both routes and kills (``routing_batch``), and its
trace ends by confirming dℓ/dw1, dℓ/dw2 and dℓ/db with centred differences (``confirm_numerically``).
"""

from functools import partial

import numpy as np

from checking.checker import check_function, numerical_gradient
from layers import Add, Multiply
from layers.validation import ParameterError, check_count
from model.inputs import check_Xy
from model.net import TwoLayerNet

from .formatting import array_text, check_lines, column_text, fixed_text, number_text, wrap_name
from .graph import Graph, Node

#: The handout's warm-up point.
WARMUP_POINT = (-2.0, 5.0, -4.0)


def warmup_graph(x=WARMUP_POINT[0], y=WARMUP_POINT[1], z=WARMUP_POINT[2]):
    """The handout's warm-up ``f = (x + y)·z`` computed with the library's ``Add`` and ``Multiply`` gates: a
    ``Graph`` with wires x, y, z (inputs), q (inner), f (output, gradient 1) and two nodes."""
    add, mul = Add(), Multiply()
    xs, ys, zs = (np.array(float(v)) for v in (x, y, z))
    q = add.forward(xs, ys)
    f = mul.forward(q, zs)
    one = np.array(1.0)
    dq, dz = mul.backward(one)  # multiply: each input gets upstream × the other input
    dx, dy = add.backward(dq)  # add: each input gets the upstream unchanged
    g = Graph(title=f"warm-up: f = (x + y)·z at x = {number_text(x)}, y = {number_text(y)}, z = {number_text(z)}",
              root="f")
    g.add_wire("x", xs, dx, "input")
    g.add_wire("y", ys, dy, "input")
    g.add_wire("q", q, dq)
    g.add_wire("z", zs, dz, "input")
    g.add_wire("f", f, one, "output")
    g.nodes += [Node("+", ["x", "y"], "q", "add distributes", layer=add),
                Node("×", ["q", "z"], "f", "multiply swaps and scales", layer=mul)]
    return g


def _warmup_f(p):
    """f = (x + y)·z at ``p = [x, y, z]``, through fresh gates."""
    return float(Multiply().forward(Add().forward(p[0:1], p[1:2]), p[2:3])[0])


def trace_warmup(x=WARMUP_POINT[0], y=WARMUP_POINT[1], z=WARMUP_POINT[2], graph=None, h=1e-5):
    """The warm-up node by node: forward values, then upstream × local at each gate. Returns ``(text, ok)``: the
    trace, and whether the gates' gradients agree with centred differences of f."""
    g = graph if graph is not None else warmup_graph(x, y, z)
    n = {k: number_text(w.value) for k, w in g.wires.items()}
    dn = {k: number_text(w.grad) for k, w in g.wires.items()}
    d = {k: float(g.grad(k)) for k in "xyz"}
    numeric = dict(zip("xyz", numerical_gradient(_warmup_f, np.array([g.value(k) for k in "xyz"]), h), strict=True))
    ok = all(abs(numeric[k] - d[k]) <= 1e-7 * max(1.0, abs(d[k])) for k in "xyz")
    lines = [
        f"Warm-up (the handout's first graph): f(x, y, z) = (x + y)·z at x = {n['x']}, y = {n['y']}, z = {n['z']}",
        "", "Forward, left to right (the green numbers):",
        f"    + gate   q = x + y = {n['x']} + {n['y']} = {n['q']}",
        f"    × gate   f = q·z = {n['q']}·({n['z']}) = {n['f']}",
        "", "Backward, right to left (the red numbers): at each gate, downstream = upstream × local.",
        f"    root     df/df = {dn['f']}",
        "    × gate   multiply swaps and scales: each input gets the upstream times the *other* input",
        f"             df/dz = upstream × q = {dn['f']} × {n['q']} = {dn['z']}",
        f"             df/dq = upstream × z = {dn['f']} × ({n['z']}) = {dn['q']}",
        "    + gate   add distributes: both local gradients are 1, so each input gets the upstream unchanged",
        f"             df/dx = upstream × 1 = {dn['q']} × 1 = {dn['x']}",
        f"             df/dy = upstream × 1 = {dn['q']} × 1 = {dn['y']}",
        "", f"Check by centred differences (h = {h:g}): df/dx ≈ {numeric['x']:.6f}, df/dy ≈ {numeric['y']:.6f}, "
        f"df/dz ≈ {numeric['z']:.6f} {'✓' if ok else '✗'}",
        f"Reading: nudging x or y up by a small ε changes f by about {dn['x']}·ε, nudging z by about {dn['z']}·ε."
        if ok else "The gates' gradients disagree with the centred differences.",
    ]
    return "\n".join(lines), ok


#: each library class as a node: the symbol drawn in it and how the gradient flows through it
_NODES = {"Linear": ("Linear", "multiply gate on matrices"), "ReLU": ("max(0, ·)", "max gate: routes or kills"),
          "LeakyReLU": ("leaky ReLU", "routes, or scales by α"), "Sigmoid": ("σ", "× p(1 − p), from the output"),
          "Tanh": ("tanh", "× (1 − y²), from the output"), "Softmax": ("softmax", "Jacobian-vector product"),
          "BCELoss": ("BCE", "the root: upstream 1"), "SigmoidBCELoss": ("σ + BCE", "the root: (σ(z) − y)/N"),
          "CrossEntropyLoss": ("CE", "the root: upstream 1"),
          "SoftmaxCrossEntropyLoss": ("softmax + CE", "the root: (p − onehot)/N"),
          "MSELoss": ("MSE", "the root: 2(pred − y)/M"), "Standardize": ("standardize", "× 1/scale"),
          "Dropout": ("dropout", "routes the kept units"), "BatchNorm": ("batchnorm", "through the batch statistics"),
          "Add": ("+", "add distributes"), "Multiply": ("×", "multiply swaps and scales")}


def labels_for(criterion, y, out):
    """The labels as the loss takes them: (N,) class indices, or the output's shape for BCE/MSE."""
    y = np.asarray(y)
    if getattr(criterion, "target", "binary") == "classes":
        return y
    return y.reshape(np.shape(out)) if y.size == np.size(out) else y


def _run_chain(layers, criterion, X, y):
    """One forward and one backward pass through the chain: ``(values, grads, labels, loss)``, the input and each
    layer's output (``len(layers) + 1`` copies), the loss's gradient with respect to each of them, the labels as
    the loss took them, and the loss."""
    values = [np.asarray(X)]
    for layer in layers:
        values.append(np.array(layer.forward(values[-1]), dtype=np.float64))  # a copy: a layer may reuse a buffer
    labels = labels_for(criterion, y, values[-1])
    loss = criterion.forward(values[-1], labels)
    grads = [criterion.backward(1.0)]
    for layer in reversed(layers):
        grads.insert(0, layer.backward(grads[0]))
    return values, grads, labels, loss


def trace_chain_graph(layers, criterion, X, y, title="", wire_names=None, params=None, ops=None, steps=None):
    """Run ``X`` through ``layers`` then ``criterion`` and back, keeping every wire's value and gradient.

    Parameters
    ----------
    layers : list of layer objects (``forward(x)``, ``backward(g)``, ``params``/``grads``)
    criterion : loss layer, ``forward(out, y)`` -> float, ``backward(1.0)``
    X : ndarray (N, D); y : labels as the model takes them (reshaped for BCE/MSE to the output's shape)
    wire_names : list of ``len(layers) + 1`` names (input, then each layer's output); default X, a1, a2, …
    params : the network's parameters, name -> array: a parameter's wire carries its name (default "i.key", i the
        layer's index)
    ops, steps : optional lists of node symbols and handout steps, one per layer and one for the loss

    Returns the ``Graph``. The layers' caches and ``grads`` are left as after one forward and backward pass.
    """
    layers = list(layers)
    n = len(layers)
    wire_names = wire_names or ["X"] + [f"a{i}" for i in range(1, n + 1)]
    if len(wire_names) != n + 1:
        raise ParameterError("trace_chain_graph", "wire_names",
                             f"must hold {n + 1} names (the input and each layer's output), got {len(wire_names)}")
    values, grads, labels, loss = _run_chain(layers, criterion, X, y)
    names = {id(v): k for k, v in (params or {}).items()}
    g = Graph(title=title, root="ℓ")
    g.add_wire(wire_names[0], values[0], grads[0], "input")
    for i, layer in enumerate([*layers, criterion]):
        side = []  # a "param" wire for each of the layer's parameters
        for key, p in getattr(layer, "params", {}).items():
            side.append(names.get(id(p), f"{i}.{key}"))
            g.add_wire(side[-1], p, layer.grads[key], "param")
        if i < n:
            out = wire_names[i + 1]
            g.add_wire(out, values[i + 1], grads[i + 1])
        else:
            g.add_wire("y", labels, None, "label")
            side.append("y")
            out = g.root
            g.add_wire(out, np.array(loss), np.array(1.0), "output")
        kind = type(layer).__name__
        op, pattern = _NODES.get(kind, (kind, ""))
        g.nodes.append(Node(ops[i] if ops else op, [wire_names[i], *side], out, pattern, steps[i] if steps else "",
                            layer))
    return g


def chain_batch(net, seed=0, batch=4):
    """Seeded random data for a chain trace: X (batch, net.input_dim) standard normal, y valid labels
    (0/1, or classes in [0, K)), drawn from a stream of their own (not the one the weights came from)."""
    batch = check_count(batch, "batch", "chain_batch")
    rng = np.random.default_rng([seed, 7])
    X = rng.standard_normal((batch, net.input_dim))
    y = rng.integers(0, 2 if net.target == "binary" else net.output_dim, batch)
    return X, y


def chain_graph(net, X=None, y=None, title=None, seed=0, batch=4):
    """Trace a model built as a chain, ``net.layers`` then ``net.criterion``, into a ``Graph``.

    Parameter wires carry the model's own names (``net.params`` keys, found by identity). The layers
    run in their current mode (``train()``/``eval()``); a weight-decay penalty is left out (the
    title says so), so the gradients drawn are those of the data loss.

    Parameters
    ----------
    net : a ``Sequential`` (or anything with ``layers``, ``criterion`` and ``params``)
    X, y : the batch; None for ``chain_batch(net, seed, batch)``
    """
    if X is None:
        X, y = chain_batch(net, seed, batch)
    describe = getattr(net, "describe", None)
    title = title or (describe() if callable(describe) else repr(net))
    if getattr(net, "weight_decay", 0):
        title += " (the data loss only: the weight-decay penalty is not drawn)"
    return trace_chain_graph(net.layers, net.criterion, np.asarray(X, dtype=np.float64), y, title=title,
                             params=getattr(net, "params", None))


_NET_WIRES = ["X", "X·w1", "h", "z", "p"]
_NET_OPS = ["·w1", "max(0, ·)", "·w2 + b", "σ", "BCE"]
_NET_STEPS = ["step 5", "step 4", "step 3", "step 2", "step 1"]
_NET_TITLE = "the handout's network: p = σ(max(0, X·w1)·w2 + b), BCE loss"


#: batches drawn at most, looking for one where ReLU both routes and kills (``routing_batch``)
DRAWS = 100


def handout_network(seed=0, layer_types=None):
    """The network the trace runs: the handout's 2-3-1 ``TwoLayerNet`` without its ``Standardize`` layer
    (``Linear, ReLU, Linear, Sigmoid`` and ``BCELoss``: the handout's nodes), its weights from ``seed``'s
    initialisation stream. ``layer_types`` puts a learner's classes in the library's places."""
    init_seed = np.random.SeedSequence(seed).spawn(2)[1]
    return TwoLayerNet(seed=np.random.default_rng(init_seed), standardize=False, layer_types=layer_types)


def routing_batch(w1, seed=0, batch=4):
    """Seeded data for the trace on which ReLU both routes and kills: X (batch, 2) standard normal, y
    alternating 0/1.

    Batches are drawn from ``seed``'s data stream until one has a hidden unit active in some rows and not
    in others (with one row: a unit active and one inactive), so step 4 shows both patterns; after
    ``DRAWS`` tries the last one is kept.
    """
    batch = check_count(batch, "batch", "network_graph")
    rng = np.random.default_rng(np.random.SeedSequence(seed).spawn(2)[0])
    within = 1 if batch == 1 else 0  # one row: active and inactive across its units; else down one unit's column
    for _ in range(DRAWS):
        X = rng.standard_normal((batch, 2))
        active = X @ np.asarray(w1) > 0
        if (active.any(axis=within) & (~active).any(axis=within)).any():
            break
    return X, np.array([0, 1] * (batch // 2) + [1] * (batch % 2))


def network_graph(X=None, y=None, seed=0, batch=4, net=None):
    """The handout's network on one batch, traced through a fresh ``TwoLayerNet``'s layer objects.

    Parameters
    ----------
    X : array_like (N, 2) or None; y : array_like (N,) of 0/1 or None. None: ``batch`` seeded points on
        which ReLU both routes and kills (``routing_batch``).
    seed : int, seeds the data (when X is None) and, independently, the initial weights.
    batch : int, N when X is None.
    net : the network to trace (a ``handout_network``), or None for ``handout_network(seed)``

    Returns ``(graph, net)``: the Graph (wires X, X·w1, h, z, p, ℓ; w1, w2, b; y) and the network it traced.
    """
    net = handout_network(seed) if net is None else net  # Linear, ReLU, Linear, Sigmoid: the handout's nodes
    if X is None:
        X, y = routing_batch(net.params["w1"], seed, batch)
    X, y = check_Xy(net, X, y)  # the network's own rule for a labelled batch
    g = trace_chain_graph(net.layers, net.criterion, X, y, title=_NET_TITLE, wire_names=_NET_WIRES,
                          params=net.params, ops=_NET_OPS, steps=_NET_STEPS)
    return g, net


def _dead_lines(g, why=False):
    """A note on the hidden units ReLU switched off for the whole batch (their column of X·w1 is ≤ 0 in every row);
    ``why`` explains their zero gradients."""
    dead = [int(j) for j in np.flatnonzero((g.value("X·w1") <= 0).all(axis=0))]
    if not dead:
        return []
    n, cols = len(g.value("X")), ", ".join(map(str, dead))
    units, columns = ("unit", "column") if len(dead) == 1 else ("units", "columns")
    if not why:
        return [f"    note: hidden {units} {cols} (counting from 0) inactive for all {n} rows: X·w1 ≤ 0 in "
                f"{columns} {cols}, so h is 0 there"]
    return [f"    note: hidden {units} {cols} inactive for all {n} rows: ReLU kills the gradient in every row, so "
            f"no gradient reaches w1's {columns} {cols} (step 5);",
            f"          and w2's {'row' if len(dead) == 1 else 'rows'} {cols} got 0 at step 3, "
            f"since dℓ/dw2 = hᵀ · dℓ/dz and h is 0 there."]


def _shape_check(g, name):
    """The shape rule for one gradient, as the trace prints it."""
    grad, value, label = g.grad(name), g.value(name), wrap_name(name)
    good = "✓" if np.shape(grad) == np.shape(value) else "✗"
    return f"    shape check: dℓ/d{label} {np.shape(grad)} has the shape of {label} {np.shape(value)} {good}"


def _network_forward_lines(g):
    X, y, a, z, w1, w2, b, h, p = (g.value(k) for k in ("X", "y", "X·w1", "z", "w1", "w2", "b", "h", "p"))
    return [f"Forward (N = {len(X)}), left to right (the handout's green numbers):",
            f"    X  = {array_text(X)}   {X.shape}",
            f"    y  = {y.astype(int).ravel().tolist()}",
            f"    w1 = {array_text(w1)}   {w1.shape}",
            f"    w2 = {column_text(w2)}   {w2.shape}",
            f"    b  = {array_text(b)}   {b.shape}",
            f"    X·w1 = {array_text(a)}   {a.shape}",
            f"    h = max(0, X·w1) = {array_text(h)}   {h.shape}",
            *_dead_lines(g),
            f"    z = h·w2 + b = {column_text(z)}   {z.shape}",
            f"    p = σ(z) = {column_text(p)}   {p.shape}",
            f"    ℓ = −(1/N) Σ [y log p + (1 − y) log(1 − p)] = {fixed_text(g.value('ℓ'))}",
            "", "Backward, right to left (the red numbers): at each node, downstream = upstream × local.", ""]


def _backward_steps(g):
    """Steps 1 to 5, from the loss back to w1: the BCE loss node, the sigmoid node, the output Linear node, the
    ReLU node and the first Linear node."""
    X, h, a, p, w1, w2 = (g.value(k) for k in ("X", "h", "X·w1", "p", "w1", "w2"))
    dp, dz, dh, da, dw1, dw2, db = (g.grad(k) for k in ("p", "z", "h", "X·w1", "w1", "w2", "b"))
    check = partial(_shape_check, g)
    return ["[step 1] BCE loss node  ℓ = −(1/N) Σ [y log p + (1 − y) log(1 − p)]",
            "    upstream   dℓ/dℓ = 1 (the root)",
            "    local      dℓ/dp = (1/N) (−y/p + (1 − y)/(1 − p))",
            f"    downstream dℓ/dp = {column_text(dp)}", check("p"), "",
            "[step 2] sigmoid node  p = σ(z)",
            f"    upstream   dℓ/dp = {column_text(dp)}",
            f"    local      dp/dz = p ⊙ (1 − p) = {column_text(p * (1 - p))}   (read off the cached output)",
            f"    downstream dℓ/dz = dℓ/dp ⊙ p(1 − p) = {column_text(dz)}", check("z"), "",
            "[step 3] linear node  z = h·w2 + b  (multiply gate on matrices; b broadcast over the batch)",
            f"    upstream   dℓ/dz = {column_text(dz)}",
            f"    dℓ/dw2 = hᵀ · dℓ/dz  {w2.shape} = {h.T.shape}·{dz.shape}  = {column_text(dw2)}", check("w2"),
            f"    dℓ/db  = Σ_i dℓ/dz_i = {array_text(db)}", check("b"),
            f"    dℓ/dh  = dℓ/dz · w2ᵀ  {h.shape} = {dz.shape}·{w2.T.shape}  = {array_text(dh)}", check("h"), "",
            "[step 4] ReLU node  h = max(0, X·w1)  (max gate: route where X·w1 > 0, kill elsewhere)",
            f"    upstream   dℓ/dh = {array_text(dh)}",
            f"    local      1[X·w1 > 0] = {array_text((a > 0).astype(int))}",
            f"    downstream dℓ/d(X·w1) = dℓ/dh ⊙ 1[X·w1 > 0] = {array_text(da)}", check("X·w1"),
            *_dead_lines(g, why=True), "",
            "[step 5] linear node  X·w1  (same pattern as step 3, no bias)",
            f"    upstream   dℓ/d(X·w1) = {array_text(da)}",
            f"    dℓ/dw1 = Xᵀ · dℓ/d(X·w1)  {w1.shape} = {X.T.shape}·{da.shape}  = {array_text(dw1)}", check("w1"),
            f"    (and dℓ/dX = dℓ/d(X·w1) · w1ᵀ {g.grad('X').shape}, not needed for training)", ""]


def confirm_numerically(g, h=1e-5):
    """The gradients of w1, w2 and b drawn in ``g`` against centred differences of ℓ, on the same batch.

    A fresh network is given the traced weights; each weight is nudged by ±h in turn and ℓ recomputed. Returns
    ``(lines, ok)``: one line per parameter (its largest relative error, ✓ or ✗ with the hint), and whether all
    three pass.
    """
    w1, X = g.value("w1"), g.value("X")
    net = TwoLayerNet(input_dim=w1.shape[0], hidden_dim=w1.shape[1], standardize=False)
    names = ("w1", "w2", "b")
    for name in names:
        net.params[name][...] = g.value(name)
    labels = g.value("y").reshape(-1).astype(int)
    report = check_function(lambda: net.loss(X, labels), {k: net.params[k] for k in names},
                            {k: g.grad(k) for k in names}, check="trace", h=h)
    lines = [f"Check by centred differences (h = {h:g}): nudge one weight by ±h, recompute ℓ, divide the change by 2h:",
             *check_lines(report, g)]
    return lines, report.passed


def trace_backward(X=None, y=None, seed=0, batch=4, graph=None):
    """The handout's network, forward then backward, node by node, with the numbers of each step.

    The numbers are those the layer objects compute (each ``backward`` is called in turn, from the loss
    back to ``w1``), set beside the formula of the handout's step they implement.

    Parameters
    ----------
    X, y, seed, batch : as in ``network_graph``
    graph : a Graph from ``network_graph`` to print instead of tracing again

    Returns ``(text, ok)``: the trace, and whether every shape check held and centred differences confirm dℓ/dw1,
    dℓ/dw2 and dℓ/db (the trace's last lines).
    """
    g = graph if graph is not None else network_graph(X, y, seed, batch)[0]
    confirmed, ok = confirm_numerically(g)
    out = [*_network_forward_lines(g), *_backward_steps(g),
           "Done: dℓ/dw1, dℓ/dw2 and dℓ/db are in net.grads; gradient descent is θ ← θ − α ∇θ ℓ.", "", *confirmed]
    shapes_ok = not set(g.misshapen()) - {"X", g.root}  # those printed
    return "\n".join(out), shapes_ok and ok
