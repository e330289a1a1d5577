"""``gradcheck.py --trace``: the backward pass of the seed's network, node by node, with numbers."""

import numpy as np

from model.net import TwoLayerNet


def _fmt(a):
    """An array as text; one that has several rows starts on a new line, indented."""
    a = np.asarray(a) + 0.0  # + 0.0 turns -0.0 (a killed gradient) into 0.0
    text = np.array2string(a, precision=4, separator=", ", floatmode="fixed", max_line_width=100)
    return text if a.ndim < 2 or a.shape[0] == 1 else "\n" + "\n".join(" " * 8 + line for line in text.splitlines())


def _shape_check(grad, of, name):
    ok = np.shape(grad) == np.shape(of)
    mark = "✓" if ok else "✗"
    return f"shape check: dℓ/d{name} {np.shape(grad)} has the shape of {name} {np.shape(of)} {mark}"


def trace_backward(X=None, y=None, seed=0, n=4):
    """Run one batch through the seed's default network and describe every backward step.

    The numbers are those the layer objects compute (each ``backward`` is called here in turn, from
    the loss back to ``w1``), set beside the formula of the seed's step they implement.

    Returns
    -------
    (text, ok) : the trace and whether every shape check held.
    """
    data_seed, init_seed = np.random.SeedSequence(seed).spawn(2)
    if X is None:
        X = np.random.default_rng(data_seed).standard_normal((n, 2))
        y = np.array([0, 1] * (n // 2) + [1] * (n % 2))
    net = TwoLayerNet(seed=np.random.default_rng(init_seed))
    w1, w2, b = net.params["w1"], net.params["w2"], net.params["b"]
    X, y = net.check_Xy(X, y)
    # The forward pass node by node (what net.loss does), keeping every value for the printout.
    a = net.fc1.forward(X)
    h = net.relu.forward(a)
    z = net.fc2.forward(h)
    p = net.sigmoid.forward(z)
    loss = net.criterion.forward(p, y.reshape(-1, 1))
    N = len(y)
    out, ok = [], []

    def say(*lines):
        out.extend(lines)

    def check(grad, of, name):
        ok.append(np.shape(grad) == np.shape(of))
        return "    " + _shape_check(grad, of, name)

    say(f"Forward (N = {N}): X {X.shape} -> X·w1 {a.shape} -> h = max(0, X·w1) {h.shape} "
        f"-> z = h·w2 + b {z.shape} -> p = σ(z) {p.shape} -> ℓ = {loss:.6f}",
        f"    X  = {_fmt(X)}", f"    y  = {y.astype(int).tolist()}", f"    w1 = {_fmt(w1)}", f"    w2 = {_fmt(w2.T)}ᵀ", f"    b  = {_fmt(b)}",
        "", "Backward: at each node, downstream = upstream × local.", "")

    dp = net.criterion.backward(1.0)
    say("[step 1] BCE loss node  ℓ = −(1/N) Σ y log p + (1 − y) log(1 − p)",
        "    upstream   dℓ/dℓ = 1 (the root)",
        "    local      dℓ/dp = (1/N) (−y/p + (1 − y)/(1 − p))",
        f"    downstream dℓ/dp = {_fmt(dp.T)}ᵀ", check(dp, p, "p"), "")
    dz = net.sigmoid.backward(dp)
    say("[step 2] sigmoid node  p = σ(z)",
        f"    upstream   dℓ/dp = {_fmt(dp.T)}ᵀ",
        f"    local      dp/dz = p ⊙ (1 − p) = {_fmt((p * (1 - p)).T)}ᵀ   (read off the cached output)",
        f"    downstream dℓ/dz = dℓ/dp ⊙ p(1 − p) = {_fmt(dz.T)}ᵀ", check(dz, z, "z"), "")
    dh = net.fc2.backward(dz)
    say("[step 3] linear node  z = h·w2 + b  (multiply gate on matrices; b broadcast over the batch)",
        f"    upstream   dℓ/dz = {_fmt(dz.T)}ᵀ",
        f"    dℓ/dw2 = hᵀ · dℓ/dz  {w2.shape} = {h.T.shape}·{dz.shape}  = {_fmt(net.grads['w2'].T)}ᵀ",
        check(net.grads["w2"], w2, "w2"),
        f"    dℓ/db  = Σ_i dℓ/dz_i = {_fmt(net.grads['b'])}", check(net.grads["b"], b, "b"),
        f"    dℓ/dh  = dℓ/dz · w2ᵀ  {h.shape} = {dz.shape}·{w2.T.shape}  = {_fmt(dh)}", check(dh, h, "h"), "")
    da = net.relu.backward(dh)
    say("[step 4] ReLU node  h = max(0, X·w1)  (max gate: route where X·w1 > 0, kill elsewhere)",
        f"    upstream   dℓ/dh = {_fmt(dh)}",
        f"    local      1[X·w1 > 0] = {_fmt(net.relu.cache.astype(int))}",
        f"    downstream dℓ/d(X·w1) = dℓ/dh ⊙ 1[X·w1 > 0] = {_fmt(da)}", check(da, a, "(X·w1)"), "")
    dX = net.fc1.backward(da)
    say("[step 5] linear node  X·w1  (same pattern as step 3, no bias)",
        f"    upstream   dℓ/d(X·w1) = {_fmt(da)}",
        f"    dℓ/dw1 = Xᵀ · dℓ/d(X·w1)  {w1.shape} = {X.T.shape}·{da.shape}  = {_fmt(net.grads['w1'])}",
        check(net.grads["w1"], w1, "w1"),
        f"    (and dℓ/dX = dℓ/d(X·w1) · w1ᵀ {dX.shape}, not needed for training)", "",
        "Done: dℓ/dw1, dℓ/dw2 and dℓ/db are in net.grads; gradient descent is θ ← θ − α ∇θ ℓ.")
    return "\n".join(out), all(ok)
