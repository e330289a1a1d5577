"""The checks ``python gradcheck.py`` runs: every layer, the gates, the warm-up graph, the network.

Each function returns a ``Report`` (see ``checking.checker``); the CLI only prints them.
"""

import numpy as np

from checking.checker import PASS_TOL, WARN_TOL, Report, check_function, check_layer, check_model, compare
from layers import Add, BCELoss, Copy, Linear, Max, Multiply, ReLU, Sigmoid, SigmoidBCELoss
from model.net import TwoLayerNet
from model.optim import SGD


def layer_suite(seed=0, batch=8, **opts):
    """Every layer in isolation, on seeded random float64 data.

    In element-wise mode one ReLU input is placed exactly on the kink on purpose, so the report
    shows it being recognised (and left out of the verdict) rather than mistaken for a bug. (In
    directional mode every direction would straddle it, leaving nothing to check.)
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 5))
    x_relu = x.copy()
    if opts.get("mode", "elementwise") == "elementwise":
        x_relu[0, 0] = 0.0
    p = rng.uniform(0.05, 0.95, (batch, 1))
    z = rng.standard_normal((batch, 1)) * 3
    y = rng.integers(0, 2, (batch, 1))
    report = Report()
    report.extend(check_layer(Linear(5, 4, rng=rng), x, check="Linear", seed=seed, **opts))
    report.extend(check_layer(Linear(5, 4, bias=False, rng=rng), x, check="Linear(bias=False)", seed=seed, **opts))
    report.extend(check_layer(ReLU(), x_relu, check="ReLU", seed=seed, **opts))
    report.extend(check_layer(Sigmoid(), x, check="Sigmoid", seed=seed, **opts))
    report.extend(check_layer(BCELoss(), p, y=y, check="BCELoss", seed=seed, **opts))
    report.extend(check_layer(SigmoidBCELoss(), z, y=y, check="SigmoidBCELoss", seed=seed, **opts))
    return report


def gate_suite(seed=0, h=1e-5, tol=PASS_TOL, warn_tol=WARN_TOL, mode="elementwise", directions=8):
    """The four gates on random arrays, and the seed's warm-up ``(x + y) * z`` at (-2, 5, -4)."""
    rng = np.random.default_rng(seed)
    opts = dict(h=h, tol=tol, warn_tol=warn_tol, mode=mode, directions=directions, seed=seed)
    report = Report()
    for gate in (Add(), Multiply(), Max()):
        a = {"a": rng.standard_normal(6), "b": rng.standard_normal(6)}
        g = rng.standard_normal(6)
        gate.forward(a["a"], a["b"])
        da, db = gate.backward(g)
        report.extend(check_function(lambda: float(np.sum(gate.forward(a["a"], a["b"]) * g)), a,
                                     {"a": da, "b": db}, check=type(gate).__name__, **opts))
    copy, x = Copy(), {"x": rng.standard_normal(6)}
    g1, g2 = rng.standard_normal(6), rng.standard_normal(6)
    copy.forward(x["x"])
    dx = copy.backward(g1, g2)

    def f_copy():
        x1, x2 = copy.forward(x["x"])
        return float(np.sum(x1 * g1) + np.sum(x2 * g2))

    report.extend(check_function(f_copy, x, {"x": dx}, check="Copy", **opts))

    v = {"x": np.array(-2.0), "y": np.array(5.0), "z": np.array(-4.0)}
    add, mul = Add(), Multiply()

    def f_warm_up():
        return float(mul.forward(add.forward(v["x"], v["y"]), v["z"]))

    f_warm_up()
    dq, dz = mul.backward(1.0)
    dxx, dy = add.backward(dq)
    report.extend(check_function(f_warm_up, v, {"x": dxx, "y": dy, "z": dz}, check="(x+y)*z", **opts))
    return report


def fused_vs_chained(seed=0, batch=8, tol=PASS_TOL, warn_tol=WARN_TOL, **_):
    """``SigmoidBCELoss``'s gradient against ``Sigmoid`` → ``BCELoss`` chained, where both are finite."""
    rng = np.random.default_rng(seed)
    z, y = rng.uniform(-8, 8, (batch, 1)), rng.integers(0, 2, (batch, 1))
    sig, bce, fused = Sigmoid(), BCELoss(), SigmoidBCELoss()
    bce.forward(sig.forward(z), y)
    chained = sig.backward(bce.backward())
    fused.forward(z, y)
    return Report([compare("fused vs chained", "z", fused.backward(), chained, tol=tol, warn_tol=warn_tol)])


def model_suite(seed=0, batch=8, hidden=8, burn_in=0, **opts):
    """The seed's 2-3-1 network, then a wider one (``hidden`` units) with a hidden bias."""
    data_seed, init_seed = np.random.SeedSequence(seed).spawn(2)
    rng = np.random.default_rng(data_seed)
    X, y = rng.standard_normal((batch, 2)), rng.integers(0, 2, batch)
    report = Report()
    for kw, name in (({}, "TwoLayerNet 2-3-1"), ({"hidden_dim": hidden, "hidden_bias": True},
                                                  f"TwoLayerNet 2-{hidden}-1 +b1")):
        net = TwoLayerNet(seed=np.random.default_rng(init_seed), **kw)
        if burn_in:
            sgd_burn_in(net, burn_in, seed)
            name += f" after {burn_in} SGD steps"
        report.extend(check_model(net, X, y, check=name, seed=seed, **opts))
    return report


def sgd_burn_in(net, steps, seed=0, lr=0.5, batch_size=32):
    """Take ``steps`` SGD steps on circles (n=1000) so the check runs at a characteristic point."""
    from data import make_circles

    X, y = make_circles(1000, seed=seed)
    opt = SGD(net.params, net.grads, lr=lr)
    rng = np.random.default_rng(seed)
    for _ in range(int(steps)):
        idx = rng.choice(len(y), batch_size, replace=False)
        net.loss(X[idx], y[idx])
        net.backward()
        opt.step()
    return net


def default_suite(seed=0, batch=8, hidden=8, h=1e-5, tol=PASS_TOL, warn_tol=WARN_TOL, mode="elementwise",
                  directions=8, burn_in=0):
    """Everything ``python gradcheck.py`` checks with no ``--layer``: layers, gates, fused loss, models."""
    opts = dict(h=h, tol=tol, warn_tol=warn_tol, mode=mode, directions=directions)
    report = layer_suite(seed, batch, **opts)
    report.extend(gate_suite(seed, **opts))
    report.extend(fused_vs_chained(seed, batch, tol=tol, warn_tol=warn_tol))
    report.extend(model_suite(seed, batch, hidden, burn_in, **opts))
    return report
