"""The convolution traced as the handout traces its network: ``gradcheck.py --trace conv``.

One 1×1×4×4 image ``x`` goes through one 2×2 filter ``W`` (stride 1, no padding) and its bias ``b``, through
the library's own ``Conv2d``, in the gates its docstring names:

1. a **copy gate** gathers the patches: each 2×2 window of x, read row by row, is copied into one row of the
   patch matrix X (9, 4), so a pixel in several windows is copied several times;
2. a **multiply gate on matrices** (Linear's forward): X · Wᵀ, W flattened to one row (1, 4);
3. the **bias**, added to every window's score (an add gate broadcast over the 9 windows), gives the 3×3 output.

Backward, from an upstream gradient dℓ/dout given as if from the layer above (ℓ = Σ out ⊙ upstream, so that
is exactly its gradient): Linear's backward on the patch matrix, dℓ/dW = upstreamᵀ · X, dℓ/db = Σ upstream,
dℓ/dX = upstream · W; then the copy gate's: each patch's gradient added back onto the pixels it came from, so a
pixel in several windows gets the sum of their gradients. The numbers are small integers, fixed (like the
warm-up's point), so a learner can follow them by hand; every one printed is ``Conv2d``'s, and the trace ends
by confirming them with the naive loops and with centred differences of ℓ.
"""

import numpy as np

from checking.checker import check_function
from layers import Conv2d

from .formatting import check_lines, number_text
from .graph import Graph, Node

#: the traced image (4, 4), filter (2, 2), bias and upstream gradient (3, 3): small integers, by hand
IMAGE = np.array([[1, 2, 0, 1], [0, 1, 3, 2], [2, 0, 1, 1], [1, 3, 0, 2]], dtype=np.float64)
FILTER = np.array([[1, -1], [2, 1]], dtype=np.float64)
BIAS = 1.0
UPSTREAM = np.array([[1, 2, -1], [0, 1, 1], [-1, 0, 2]], dtype=np.float64)
K = 2  # the filter's side; stride 1, no padding
TITLE = "Conv2d: one 4×4 image x, one 2×2 filter W and its bias b, stride 1, no padding"


def _as_batch(a):
    """A 2-D image or filter as the layer takes it: (1, 1, H, W)."""
    return np.asarray(a, dtype=np.float64)[None, None]


def run_conv(image=IMAGE, kernel=FILTER, bias=BIAS, upstream=UPSTREAM):
    """One forward and one backward pass of the library's ``Conv2d(1, 1, 2)`` at these numbers.

    Parameters
    ----------
    image : (H, W); kernel : (2, 2); bias : float; upstream : (H − 1, W − 1), dℓ/dout

    Returns a dict of float64 arrays: ``patches`` (the patch matrix X, (H'·W', 4), from the layer's cache),
    ``scores`` (X · Wᵀ, (H'·W', 1)), ``out`` (H', W'), ``dW`` (2, 2), ``db`` (1,), ``dpatches`` (upstream · W,
    (H'·W', 4)) and ``dx`` (H, W), the layer's ``backward``; and the layer itself under ``conv``.
    """
    conv = Conv2d(1, 1, K)
    conv.params["W"][...] = _as_batch(kernel)
    conv.params["b"][...] = bias
    out = conv.forward(_as_batch(image))
    patches = np.array(conv.cache[0])
    dx = conv.backward(_as_batch(upstream))
    up = np.asarray(upstream, dtype=np.float64).reshape(-1, 1)  # one row per window, as the patches
    w_row = conv.params["W"].reshape(1, -1)
    return {"conv": conv, "patches": patches, "scores": patches @ w_row.T, "out": out[0, 0],
            "dW": conv.grads["W"][0, 0].copy(), "db": conv.grads["b"].copy(), "dpatches": up @ w_row,
            "dx": dx[0, 0]}


def conv_graph(image=IMAGE, kernel=FILTER, bias=BIAS, upstream=UPSTREAM):
    """The traced convolution as a ``Graph``: wires x (4, 4), W (2, 2), b, the patches X (9, 4), X·Wᵀ (9, 1),
    out (3, 3) and the root ℓ = Σ out ⊙ upstream; each node's ``layer`` is the ``Conv2d`` that computed them."""
    r = run_conv(image, kernel, bias, upstream)
    up = np.asarray(upstream, dtype=np.float64)
    g = Graph(title=TITLE, root="ℓ")
    g.add_wire("x", image, r["dx"], "input")
    g.add_wire("patches", r["patches"], r["dpatches"])
    g.add_wire("W", kernel, r["dW"], "param")
    g.add_wire("patches·Wᵀ", r["scores"], up.reshape(-1, 1))
    g.add_wire("b", np.array([bias]), r["db"], "param")
    g.add_wire("out", r["out"], up)
    g.add_wire("ℓ", np.sum(r["out"] * up), np.array(1.0), "output")
    conv = r["conv"]
    g.nodes += [Node("patches", ["x"], "patches", "copy gate: gradients add", layer=conv),
                Node("·Wᵀ", ["patches", "W"], "patches·Wᵀ", "multiply gate on matrices", layer=conv),
                Node("+ b", ["patches·Wᵀ", "b"], "out", "add distributes", layer=conv),
                Node("Σ ⊙ upstream", ["out"], "ℓ", "the upstream, given", layer=None)]
    return g


def grid_text(a, indent=8):
    """A small array of integer-ish numbers, one row per line, each entry as ``number_text`` writes it."""
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    cells = [[number_text(v) for v in row] for row in a]
    width = max(len(c) for row in cells for c in row)
    return "\n".join(" " * indent + "[" + "  ".join(c.rjust(width) for c in row) + "]" for row in cells)


def windows_over(shape, k=K):
    """For each pixel of an (H, W) image, the windows (r, c) of side ``k``, stride 1, that cover it, in order."""
    h, w = shape
    return {(i, j): [(r, c) for r in range(h - k + 1) for c in range(w - k + 1) if r <= i < r + k and c <= j < c + k]
            for i in range(h) for j in range(w)}


def scatter_back(dpatches, shape, k=K):
    """The copy gate backward, the naive loops: each row of ``dpatches`` (one window's gradient, (H'·W', k·k))
    added (``+=``) onto the k×k pixels of an (H, W) image its window covers."""
    dx = np.zeros(shape)
    wout = shape[1] - k + 1
    for row, patch in enumerate(np.asarray(dpatches)):
        r, c = divmod(row, wout)
        dx[r:r + k, c:c + k] += patch.reshape(k, k)
    return dx


def _forward_lines(g):
    x, patches, scores, out = (g.value(k) for k in ("x", "patches", "patches·Wᵀ", "out"))
    wout = x.shape[1] - K + 1
    rows = [f"        window ({r}, {c}) = x[{r}:{r + K}, {c}:{c + K}] -> row {i}: [{', '.join(map(number_text, p))}]"
            for i, p in enumerate(patches) for r, c in [divmod(i, wout)]]
    return [f"The convolution as the handout's gates ({TITLE})", "",
            f"    x {x.shape} =", grid_text(x), f"    W {g.value('W').shape} =", grid_text(g.value("W")),
            f"    b = {number_text(g.value('b')[0])}", "",
            "Forward, left to right: out[r, c] = Σ_ij x[r + i, c + j]·W[i, j] + b, as three gates.", "",
            f"[1] copy gate: gather the patches. Each {K}×{K} window, read row by row, is copied into one row of the "
            f"patch matrix X {patches.shape}:", *rows,
            "    A pixel in several windows is copied several times (x[1, 1] is in 4 of them).", "",
            f"[2] multiply gate on matrices (Linear's forward): X · Wᵀ, W flattened to one row {(1, K * K)}: "
            f"{patches.shape}·{(K * K, 1)} = {scores.shape}",
            f"        X · Wᵀ = [{', '.join(map(number_text, scores.ravel()))}]ᵀ", "",
            f"[3] add the bias to every window's score; the {len(scores)} scores are the output image out {out.shape}:",
            "    out = X · Wᵀ + b =", grid_text(out), ""]


def _backward_lines(g):
    up, dW, db, dpatches, dx = (g.grad(k) for k in ("out", "W", "b", "patches", "x"))
    n = len(g.value("patches"))
    cover = windows_over(dx.shape)
    counts = np.array([[len(cover[i, j]) for j in range(dx.shape[1])] for i in range(dx.shape[0])])
    wout = dx.shape[1] - K + 1
    terms = [f"dX[{r * wout + c}, {(1 - r) * K + (1 - c)}]" for r, c in cover[1, 1]]
    values = [number_text(dpatches[r * wout + c, (1 - r) * K + (1 - c)]) for r, c in cover[1, 1]]
    head = f"    e.g. x[1, 1] is in windows {', '.join(map(str, cover[1, 1]))}: dℓ/dx[1, 1] = "
    return ["Backward, right to left: at each node, downstream = upstream × local.", "",
            f"    upstream dℓ/dout {up.shape} (given, as if from the layer above: ℓ = Σ out ⊙ upstream) =",
            grid_text(up), "",
            f"[3] the bias: add distributes, and b went to all {n} windows, so their gradients add:",
            f"    dℓ/db = Σ upstream = {number_text(db[0])}", "",
            "[2] the multiply gate on matrices (Linear's backward), the upstream as a column (9, 1), one row per "
            "window:",
            f"    dℓ/dW = upstreamᵀ · X   {(1, K * K)} = {(1, n)}·{(n, K * K)}, as the filter {dW.shape}:",
            grid_text(dW),
            f"    dℓ/dX = upstream · W   {dpatches.shape} = {(n, 1)}·{(1, K * K)}: row i is window i's gradient",
            grid_text(dpatches), "",
            "[1] the copy gate backward: copy adds. Each row of dℓ/dX goes back onto the 4 pixels its window "
            "covers (+=, not =),",
            "    so a pixel in several windows gets the sum of their gradients. How many windows cover each pixel:",
            grid_text(counts),
            head + " + ".join(terms),
            " " * (len(head) - 2) + "= " + " + ".join(f"({v})" if v.startswith("-") else v for v in values)
            + f" = {number_text(dx[1, 1])}",
            f"    dℓ/dx {dx.shape} =", grid_text(dx), ""]


def confirm(g, h=1e-5):
    """The traced numbers against the naive loops and against centred differences of ℓ = Σ out ⊙ upstream.

    Returns ``(lines, ok)``: the naive forward (one window at a time) and scatter-add (``scatter_back``) equal the
    layer's out and dℓ/dx, and centred differences of ℓ confirm dℓ/dx, dℓ/dW and dℓ/db.
    """
    x, W, b, up = g.value("x"), g.value("W"), g.value("b"), g.grad("out")
    naive_out = np.array([[np.sum(x[r:r + K, c:c + K] * W) + b[0] for c in range(x.shape[1] - K + 1)]
                          for r in range(x.shape[0] - K + 1)])
    naive_ok = np.allclose(naive_out, g.value("out")) and np.allclose(scatter_back(g.grad("patches"), x.shape),
                                                                       g.grad("x"))
    arrays = {"x": x.copy(), "W": W.copy(), "b": b.copy()}

    def loss():
        return float(np.sum(run_conv(arrays["x"], arrays["W"], arrays["b"][0], up)["out"] * up))

    report = check_function(loss, arrays, {k: g.grad(k) for k in arrays}, check="trace conv", h=h)
    mark = "✓" if naive_ok else "✗"
    lines = [f"Check by the naive loops (one window at a time; the scatter with +=): out and dℓ/dx the same {mark}",
             f"Check by centred differences of ℓ (h = {h:g}): nudge one number by ±h, recompute ℓ, divide by 2h:",
             *check_lines(report, g)]
    return lines, naive_ok and report.passed


def trace_conv(graph=None, h=1e-5):
    """The convolution, forward then backward, gate by gate, with the numbers of each step: ``(text, ok)``, the
    trace and whether its checks (shapes, the naive loops, centred differences) held. ``graph``: a Graph from
    ``conv_graph`` to print instead of tracing again."""
    g = graph if graph is not None else conv_graph()
    confirmed, ok = confirm(g, h)
    shapes_ok = not g.misshapen()
    text = [*_forward_lines(g), *_backward_lines(g),
            "Done: Conv2d's backward is Linear's on the patch matrix, then the copy gate's scatter-add.", "",
            *confirmed]
    return "\n".join(text), ok and shapes_ok
