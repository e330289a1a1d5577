"""Any traced chain of layers, node by node: the forward values, then at every node upstream × local = downstream.

``graph_text(graph)`` writes a ``traces.graph.Graph`` made by ``traces.trace.chain_graph`` (any
``Sequential``), every number in one format (``traces.formatting.fixed_text``). Going backward, each node
shows the gradient that arrives (upstream), its local gradient and what it hands on (downstream). The
local gradient is written out where it is a formula of the node's values: the element-wise activations
(ReLU, LeakyReLU, Sigmoid, Tanh: downstream = upstream ⊙ local), a Linear node (the multiply gate on
matrices), Softmax (a Jacobian-vector product), Dropout (the kept units) and the losses (the root: upstream
1). Each formula is recomputed here from the values and held against what the layer's ``backward``
returned: ✓ when upstream × local = downstream. Other nodes (BatchNorm, Standardize, a class of your own
under another name) show upstream and downstream only.
"""

import numpy as np

from layers import softmax

from .formatting import array_text, fixed_text

#: element-wise nodes: the local gradient as a formula of input ``x`` and output ``y``, and its value
ELEMENTWISE = {
    "ReLU": ("1[{x} > 0]", lambda x, y, layer: (x > 0).astype(np.float64)),
    "LeakyReLU": ("1 where {x} > 0, α elsewhere", lambda x, y, layer: np.where(x > 0, 1.0, layer.alpha)),
    "Sigmoid": ("{y} ⊙ (1 − {y})", lambda x, y, layer: y * (1 - y)),
    "Tanh": ("1 − {y}²", lambda x, y, layer: 1 - y**2),
}

#: loss nodes: dℓ/d(output) as a formula of the output ``p`` (or ``z``) and the labels ``y``, and its value
LOSSES = {
    "BCELoss": ("(1/N)(−y/p + (1 − y)/(1 − p)), N = p.size",
                lambda p, y: (-y / p + (1 - y) / (1 - p)) / p.size),
    "SigmoidBCELoss": ("(σ(z) − y)/N, N = z.size", lambda z, y: (1 / (1 + np.exp(-z)) - y) / z.size),
    "SoftmaxCrossEntropyLoss": ("(softmax(z) − onehot(y))/N", lambda z, y: (softmax(z) - _onehot(y, z)) / len(z)),
    "CrossEntropyLoss": ("−onehot(y)/(N p)", lambda p, y: -_onehot(y, p) / (len(p) * p)),
    "MSELoss": ("2(pred − y)/M, M = pred.size", lambda p, y: 2 * (p - y) / p.size),
}


def _onehot(y, like):
    return (np.arange(like.shape[1]) == np.asarray(y).reshape(-1, 1)).astype(np.float64)


def _agrees(computed, returned):
    """Whether a recomputed gradient is the one the layer returned (same shape, equal to 1e-9)."""
    if computed is None or returned is None or np.shape(computed) != np.shape(returned):
        return False
    return bool(np.allclose(computed, returned, rtol=1e-9, atol=1e-12))


def _mark(computed, returned):
    return "✓" if _agrees(computed, returned) else "✗"


def graph_text(graph):
    """A node-by-node trace of a chain: forward values, then upstream, local and downstream at every node.

    Returns ``(text, ok)``: ok is True when every gradient has the shape of its wire (the shape rule) and at every
    node whose local gradient is written out, upstream × local = downstream.
    """
    out = [graph.title, "", "Forward, left to right (the green numbers):"]
    for node in graph.nodes:
        w = graph.wires[node.output]
        shown = fixed_text(w.value) if np.ndim(w.value) == 0 else array_text(w.value, 10)
        out.append(f"    [{node.op}]  {', '.join(node.inputs)} -> {w.name} {np.shape(w.value)} = {shown}")
    out += ["", "Backward, right to left (the red numbers): at each node, downstream = upstream × local."]
    checks = []
    for node in reversed(graph.nodes):
        lines, agreed = node_lines(graph, node)
        out += [""] + lines
        checks += agreed
    bad = graph.misshapen()
    out += ["", "shape rule: every gradient has the shape of its wire " + ("✓" if not bad else f"✗ ({', '.join(bad)})")]
    if checks:
        word = "✓" if all(checks) else f"✗ at {len(checks) - sum(checks)} of {len(checks)}"
        out.append(f"upstream × local = downstream at every node whose local gradient is written out {word}")
    return "\n".join(out), not bad and all(checks)


def node_lines(graph, node):
    """The backward lines of one node, and a list of bools: each recomputed gradient agreeing with the layer's."""
    kind = type(node.layer).__name__
    head = f"[{node.op}]" + (f"  {node.pattern}" if node.pattern else "")
    if node.output == graph.root:
        lines, agreed = _loss_lines(graph, node, kind)
    elif kind in ELEMENTWISE:
        lines, agreed = _elementwise_lines(graph, node, kind)
    elif kind == "Linear":
        lines, agreed = _linear_lines(graph, node)
    elif kind in ("Softmax", "Dropout"):
        lines, agreed = _vector_lines(graph, node, kind)
    else:
        lines, agreed = _plain_lines(graph, node), []
    return [head, *lines], agreed


def _grad_text(graph, name, indent=12):
    g = graph.grad(name)
    return f"{graph.d(name)} {np.shape(g)} = {array_text(g, indent)}"


def _upstream_line(graph, node):
    return f"    upstream   {_grad_text(graph, node.output)}"


def _elementwise_lines(graph, node, kind):
    x_name, y_name = node.inputs[0], node.output
    x, y, up, down = graph.value(x_name), graph.value(y_name), graph.grad(y_name), graph.grad(x_name)
    formula, local_of = ELEMENTWISE[kind]
    try:
        local = local_of(x, y, node.layer)
    except AttributeError:  # a LeakyReLU of one's own without an alpha
        return [_upstream_line(graph, node), f"    downstream {_grad_text(graph, x_name)}"], []
    computed = up * local if np.shape(up) == np.shape(local) else None
    return [_upstream_line(graph, node),
            f"    local      d{y_name}/d{x_name} = {formula.format(x=x_name, y=y_name)} = {array_text(local, 12)}",
            f"    downstream {graph.d(x_name)} = upstream ⊙ local = {array_text(down, 12)}   "
            f"{_mark(computed, down)} upstream × local = downstream"], [_agrees(computed, down)]


def _linear_lines(graph, node):
    """The multiply gate on matrices: dℓ/dW = Xᵀ·upstream, dℓ/db = Σ_i upstream_i, dℓ/dX = upstream·Wᵀ."""
    x_name, up = node.inputs[0], graph.grad(node.output)
    x = graph.value(x_name)
    wires = dict(zip(getattr(node.layer, "params", {}), node.inputs[1:], strict=False))
    lines, agreed = [_upstream_line(graph, node)], []
    if "W" not in wires:
        return lines + [f"    downstream {_grad_text(graph, x_name)}"], []
    w_name = wires["W"]
    W = graph.value(w_name)
    products = [(w_name, f"{x_name}ᵀ · upstream", lambda: x.T @ up, f"{np.shape(x.T)}·{np.shape(up)}")]
    if "b" in wires:
        products.append((wires["b"], "Σ_i upstream_i", lambda: up.sum(axis=0), ""))
    products.append((x_name, f"upstream · {w_name}ᵀ", lambda: up @ W.T, f"{np.shape(up)}·{np.shape(W.T)}"))
    for name, formula, compute, shapes in products:
        try:
            computed = compute()
        except ValueError:  # the layer's gradients have shapes no product of these values has
            computed = None
        returned = graph.grad(name)
        lines.append(f"    {graph.d(name)} = {formula}  {shapes + ' = ' if shapes else ''}{np.shape(returned)} = "
                     f"{array_text(returned, 12)}   {_mark(computed, returned)}")
        agreed.append(_agrees(computed, returned))
    return lines, agreed


def _vector_lines(graph, node, kind):
    """Softmax: the Jacobian-vector product p ⊙ (g − Σ_j g_j p_j) per row; Dropout: the kept units, scaled."""
    x_name, y_name = node.inputs[0], node.output
    x, p, up, down = graph.value(x_name), graph.value(y_name), graph.grad(y_name), graph.grad(x_name)
    if kind == "Softmax":
        formula = f"{y_name} ⊙ (upstream − Σ_j upstream_j {y_name}_j), row by row (a Jacobian-vector product)"
        computed = p * (up - (up * p).sum(axis=1, keepdims=True))
    else:
        formula = f"upstream ⊙ {y_name}/{x_name} (the kept units, scaled by 1/(1 − p); 0 where dropped)"
        where = x != 0  # the mask can be read off only where the input is not 0
        computed = np.where(where, up * np.divide(p, x, out=np.zeros_like(x), where=where), down)
    return [_upstream_line(graph, node),
            f"    downstream {graph.d(x_name)} = {formula} = {array_text(down, 12)}   {_mark(computed, down)}"], \
        [_agrees(computed, down)]


def _loss_lines(graph, node, kind):
    """The root: upstream dℓ/dℓ = 1, local dℓ/d(output) from its formula, downstream = 1 × local."""
    x_name = node.inputs[0]
    down = graph.grad(x_name)
    lines = [f"    upstream   d{graph.root}/d{graph.root} = 1 (the root)"]
    if kind not in LOSSES or "y" not in graph.wires:
        return lines + [f"    downstream {_grad_text(graph, x_name)}"], []
    formula, local_of = LOSSES[kind]
    value, labels = graph.value(x_name), graph.value("y")
    with np.errstate(all="ignore"):
        local = local_of(value, labels)
    lines += [f"    local      {graph.d(x_name)} = {formula}",
              f"    downstream {graph.d(x_name)} = 1 × local = {array_text(down, 12)}   {_mark(local, down)}"]
    return lines, [_agrees(local, down)]


def _plain_lines(graph, node):
    """A node whose local gradient is not written out here: what arrives and what leaves."""
    lines = [_upstream_line(graph, node),
             "    local      (see its backward: not an element-wise formula of its values)"]
    lines += [f"    downstream {_grad_text(graph, name)}" for name in node.inputs if graph.grad(name) is not None]
    return lines
