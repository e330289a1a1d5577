"""The handout's four gate patterns, each with numbers and a check: the gates trace of the command line.

Add distributes, multiply swaps and scales, max routes to the winner, copy adds. Each pattern runs the
library's own gate (``layers/gates.py``) on small numbers, hands it an upstream gradient, prints the local
gradients and upstream × local for each input, and confirms the result by centred differences of
``upstream · out`` (whose gradient is exactly what ``backward(upstream)`` returns).
"""

import numpy as np

from checking.checker import numerical_gradient
from layers import Add, Copy, Max, Multiply

from .formatting import number_text

UPSTREAM = 2.0  # the upstream gradient each gate receives (a value other than 1, so the product shows)


def _confirm(analytic, numeric, names):
    ok = all(abs(a - n) <= 1e-7 * max(1.0, abs(a)) for a, n in zip(analytic, numeric, strict=True))
    shown = ", ".join(f"{name} ≈ {n:.4f}" for name, n in zip(names, numeric, strict=True))
    return f"    check by centred differences of g·out: {shown} {'✓' if ok else '✗'}", ok


#: the three two-input patterns: the gate, its inputs a and b, and the lines that say it (filled with the numbers)
TWO_INPUT = (
    (Add, 3.0, -1.0, "add distributes: out = a + b at a = {a}, b = {b}: out = {out}",
     "∂out/∂a = 1, ∂out/∂b = 1: each input gets the upstream unchanged",
     "da = g × 1 = {g} × 1 = {da}        db = g × 1 = {g} × 1 = {db}"),
    (Multiply, 3.0, -4.0, "multiply swaps and scales: out = a·b at a = {a}, b = {b}: out = {out}",
     "∂out/∂a = b, ∂out/∂b = a: each input gets the upstream times the *other* input",
     "da = g × b = {g} × ({b}) = {da}        db = g × a = {g} × {a} = {db}"),
    (Max, 4.0, 2.0, "max routes to the winner: out = max(a, b) at a = {a}, b = {b}: out = {out} (a wins)",
     "∂out/∂a = 1 (the winner), ∂out/∂b = 0 (the loser)",
     "da = g × 1 = {g} × 1 = {da}        db = g × 0 = {g} × 0 = {db}"),
)


def _two_input(gate_class, a, b, headline, local, product, h):
    """One two-input gate's pattern: forward, backward and the centred-difference check, said in its lines."""
    gate = gate_class()
    out = float(gate.forward(np.array(a), np.array(b)))
    da, db = (float(v) for v in gate.backward(np.array(UPSTREAM)))
    numeric = numerical_gradient(lambda p: UPSTREAM * float(gate_class().forward(p[:1], p[1:])[0]), np.array([a, b]), h)
    line, ok = _confirm((da, db), numeric, ("da", "db"))
    numbers = {name: number_text(v) for name, v in dict(a=a, b=b, out=out, g=UPSTREAM, da=da, db=db).items()}
    return [headline.format(**numbers), f"    local gradients  {local}", f"    {product.format(**numbers)}", line], ok


def _copy(h):
    x, g1, g2 = 3.0, UPSTREAM, -1.0
    copy = Copy()
    copy.forward(np.array(x))
    dx = float(copy.backward(np.array(g1), np.array(g2)))

    def f(v):
        first, second = Copy().forward(v)
        return g1 * float(first[0]) + g2 * float(second[0])

    line, ok = _confirm((dx,), numerical_gradient(f, np.array([x]), h), ("dx",))
    n = number_text
    return [f"copy adds: x = {n(x)} is used twice (a branch), and a gradient comes back along each use: "
            f"g1 = {n(g1)}, g2 = {n(g2)}",
            "    local gradients  1 along each use",
            f"    dx = g1 × 1 + g2 × 1 = {n(g1)} + ({n(g2)}) = {n(dx)}",
            line.replace("g·out", "g1·x1 + g2·x2")], ok


def trace_gates(h=1e-5):
    """The four patterns, with numbers, each confirmed by centred differences: ``(text, ok)``, the trace and
    whether every gate's gradients agree with the centred differences."""
    lines = [f"The handout's gate patterns. Each gate gets an upstream gradient g = {number_text(UPSTREAM)} from "
             "above and hands each input upstream × local.", ""]
    oks = []
    for text, ok in [*(_two_input(*pattern, h) for pattern in TWO_INPUT), _copy(h)]:
        lines += text + [""]
        oks.append(ok)
    lines.append("Every pattern agrees with centred differences ✓" if all(oks)
                 else "A gate's gradients disagree with centred differences ✗")
    return "\n".join(lines), all(oks)
