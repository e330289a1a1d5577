"""The checks ``python gradcheck.py`` runs: every layer, the gates, the warm-up graph, the network.

Each function returns a ``Report`` (see ``checking.checker``); the CLI only prints them.
"""

import numpy as np

from layers import (Add, BatchNorm, BCELoss, Copy, CrossEntropyLoss, Dropout, LeakyReLU, Linear, Max, MSELoss,
                    Multiply, ReLU, Sigmoid, SigmoidBCELoss, Softmax, SoftmaxCrossEntropyLoss, Tanh)
from layers.standardize import Standardize
from layers.validation import ParameterError
from model.builders import Architecture
from model.net import TwoLayerNet
from model.optim import SGD
from model.sequential import Sequential

from .checker import PASS_TOL, WARN_TOL, Report, check_function, check_layer, check_model, check_settings, compare


def layer_suite(seed=0, batch=8, **opts):
    """Every layer in isolation, on seeded random float64 data.

    In element-wise mode one ReLU input is placed exactly on the kink on purpose, so the report
    shows it being recognised and verified (the analytic value must lie between the one-sided
    slopes) rather than mistaken for a bug. (In directional mode every direction would cross it.)
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
    report.extend(_new_layers(rng, x, seed, opts))
    return report


def _new_layers(rng, x, seed, opts):
    """The layers beyond the handout: other activations, softmax, multi-class and regression losses,
    dropout and batch norm in training mode (each with a random, non-uniform upstream)."""
    batch = len(x)
    logits = rng.standard_normal((batch, 4))
    classes = rng.integers(0, 4, batch)
    report = Report()
    report.extend(check_layer(Tanh(), x, check="Tanh", seed=seed, **opts))
    report.extend(check_layer(LeakyReLU(0.1), x, check="LeakyReLU(0.1)", seed=seed, **opts))
    report.extend(check_layer(Softmax(), logits, check="Softmax", seed=seed, **opts))
    probabilities = Softmax().forward(logits)
    report.extend(check_layer(CrossEntropyLoss(), probabilities, y=classes, check="CrossEntropyLoss", seed=seed,
                              **opts))
    report.extend(check_layer(SoftmaxCrossEntropyLoss(), logits, y=classes, check="SoftmaxCrossEntropyLoss",
                              seed=seed, **opts))
    report.extend(check_layer(MSELoss(), x, y=rng.standard_normal(x.shape), check="MSELoss", seed=seed, **opts))
    report.extend(check_layer(Dropout(0.3, rng=seed), x, check="Dropout(0.3) train", seed=seed, **opts))
    report.extend(check_layer(BatchNorm(5), x * 2 + 1, check="BatchNorm train", seed=seed, **opts))
    report.extend(check_layer(Standardize(5).fit(x * 3 + 2), x, check="Standardize", seed=seed, **opts))
    return report


def gate_suite(seed=0, h=1e-5, tol=PASS_TOL, warn_tol=WARN_TOL, mode="elementwise", directions=8):
    """The four gates on random arrays, and the handout's warm-up ``(x + y) * z`` at (-2, 5, -4)."""
    rng = np.random.default_rng(seed)
    opts = dict(h=h, tol=tol, warn_tol=warn_tol, mode=mode, directions=directions, seed=seed)
    report = Report()
    for gate in (Add(), Multiply(), Max()):
        report.extend(_two_input_gate(gate, rng, opts))
    report.extend(_copy_gate(rng, opts))
    report.extend(_warm_up(opts))
    return report


def _two_input_gate(gate, rng, opts):
    """``sum(gate(a, b) * g)`` for random vectors a, b and upstream g."""
    arrays = {"a": rng.standard_normal(6), "b": rng.standard_normal(6)}
    upstream = rng.standard_normal(6)
    gate.forward(arrays["a"], arrays["b"])
    da, db = gate.backward(upstream)

    def f():
        return float(np.sum(gate.forward(arrays["a"], arrays["b"]) * upstream))

    return check_function(f, arrays, {"a": da, "b": db}, check=type(gate).__name__, **opts)


def _copy_gate(rng, opts):
    """``sum(x1 * g1) + sum(x2 * g2)`` for the two copies of a random x: the gradients add."""
    copy, arrays = Copy(), {"x": rng.standard_normal(6)}
    g1, g2 = rng.standard_normal(6), rng.standard_normal(6)
    copy.forward(arrays["x"])
    dx = copy.backward(g1, g2)

    def f():
        x1, x2 = copy.forward(arrays["x"])
        return float(np.sum(x1 * g1) + np.sum(x2 * g2))

    return check_function(f, arrays, {"x": dx}, check="Copy", **opts)


def _warm_up(opts):
    """The handout's warm-up ``(x + y) * z`` at (-2, 5, -4), through an ``Add`` and a ``Multiply``."""
    point = {"x": np.array(-2.0), "y": np.array(5.0), "z": np.array(-4.0)}
    add, mul = Add(), Multiply()

    def f():
        return float(mul.forward(add.forward(point["x"], point["y"]), point["z"]))

    f()
    dq, dz = mul.backward(1.0)
    dx, dy = add.backward(dq)
    return check_function(f, point, {"x": dx, "y": dy, "z": dz}, check="(x+y)*z", **opts)


def fused_vs_chained(seed=0, batch=8, tol=PASS_TOL, warn_tol=WARN_TOL, **_):
    """``SigmoidBCELoss``'s gradient against ``Sigmoid`` → ``BCELoss`` chained, where both are finite."""
    rng = np.random.default_rng(seed)
    z, y = rng.uniform(-8, 8, (batch, 1)), rng.integers(0, 2, (batch, 1))
    sig, bce, fused = Sigmoid(), BCELoss(), SigmoidBCELoss()
    bce.forward(sig.forward(z), y)
    chained = sig.backward(bce.backward())
    fused.forward(z, y)
    report = Report([compare("fused vs chained BCE", "z", fused.backward(), chained, tol=tol, warn_tol=warn_tol)])
    logits, classes = rng.uniform(-6, 6, (batch, 4)), rng.integers(0, 4, batch)
    soft, ce, fused = Softmax(), CrossEntropyLoss(), SoftmaxCrossEntropyLoss()
    ce.forward(soft.forward(logits), classes)
    chained = soft.backward(ce.backward())
    fused.forward(logits, classes)
    report.rows.append(compare("fused vs chained softmax CE", "z", fused.backward(), chained, tol=tol,
                               warn_tol=warn_tol))
    return report


#: the composed network checked by default: the handout's widened to 8 hidden units, with a hidden bias
COMPOSED = Architecture(hidden=(8,), hidden_bias=True, standardize=False)


def _streams(seed):
    """The data stream and the initialisation stream of the model suite (independent of each other)."""
    data_seed, init_seed = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(data_seed), np.random.default_rng(init_seed)


def model_networks(seed=0, architecture=COMPOSED, classes=2):
    """The networks ``model_suite`` checks, with their names: the handout's 2-3-1, a composed one, and a
    stack beyond the handout.

    The composed network is ``architecture.build(2, classes)`` (``model.builders.Architecture``: the
    words of ``train.py``'s model options); building it is where a bad architecture is refused. The
    third is a ``Sequential`` of three Linear layers with tanh, leaky ReLU, softmax cross-entropy and
    weight decay.

    Returns
    -------
    list of (network, name)
    """
    init = _streams(seed)[1]
    nets = [(TwoLayerNet(seed=init), "TwoLayerNet 2-3-1")]
    composed = architecture.build(2, classes, seed=init)
    nets.append((composed, _name(composed, "+b1")))
    stack = Sequential([Linear(2, 5, rng=init), Tanh(), Linear(5, 4, rng=init), LeakyReLU(0.1), Linear(4, 3, rng=init)],
                       SoftmaxCrossEntropyLoss(), weight_decay=0.1)
    nets.append((stack, "Sequential 2-5-4-3 λ=0.1"))
    return nets


def model_suite(seed=0, batch=8, architecture=COMPOSED, classes=2, burn_in=0, networks=None, **opts):
    """Every network of ``model_networks`` (or the ``networks`` given, as it returns them), checked whole.

    Rows name the network and, for a stack, each parameter's layer. With ``burn_in``, each network
    first takes that many SGD steps on circles (``sgd_burn_in``).
    """
    _check_suite_arguments(batch, burn_in)
    nets = model_networks(seed, architecture, classes) if networks is None else networks
    rng = _streams(seed)[0]
    X = rng.standard_normal((batch, 2))
    report = Report()
    for net, name in nets:
        y = rng.integers(0, 2 if net.target == "binary" else net.output_dim, batch)
        if burn_in:
            sgd_burn_in(net, burn_in, seed)
            name += f" after {burn_in} SGD steps"
        report.extend(_with_layer_names(check_model(net, X, y, check=name, seed=seed, **opts), net))
    return report


def _check_suite_arguments(batch, burn_in):
    if isinstance(batch, bool) or not isinstance(batch, (int, np.integer)) or batch < 2:
        raise ParameterError("gradient check suite", "batch", "must be an integer >= 2 (the suite checks BatchNorm, "
                                                              f"which needs two rows), got {batch!r}")
    if isinstance(burn_in, bool) or not isinstance(burn_in, (int, np.integer)) or burn_in < 0:
        raise ParameterError("gradient check suite", "burn_in", f"must be an integer >= 0, got {burn_in!r}")


def _name(net, extra=""):
    if isinstance(net, TwoLayerNet):
        return f"TwoLayerNet 2-{net.hidden_dim}-1 {extra}".strip()
    return f"Sequential {net.describe().split(',')[0]}"


def _with_layer_names(report, net):
    """``"1.W"`` -> ``"1.W (Linear)"``: which layer a parameter of a stack belongs to."""
    for row in report.rows:
        index, dot, _ = row.name.partition(".")
        if dot and index.isdigit() and not isinstance(net, TwoLayerNet):
            row.name = f"{row.name} ({type(net.layers[int(index)]).__name__})"
    return report


def sgd_burn_in(net, steps, seed=0, lr=0.5, batch_size=32):
    """Take ``steps`` SGD steps on circles (n=1000) so the check runs at a characteristic point."""
    from data import make_circles

    X, y = make_circles(1000, seed=seed)
    if net.target != "binary":  # a K-class network learns the circles' two classes among its K
        y = y % net.output_dim
    opt = SGD(net.params, net.grads, lr=lr)
    rng = np.random.default_rng(seed)
    for _ in range(int(steps)):
        idx = rng.choice(len(y), batch_size, replace=False)
        net.loss(X[idx], y[idx])
        net.backward()
        opt.step()
    return net


def default_suite(seed=0, batch=8, architecture=COMPOSED, classes=2, h=1e-5, tol=PASS_TOL, warn_tol=WARN_TOL,
                  mode="elementwise", directions=8, burn_in=0):
    """Everything ``python gradcheck.py`` checks by default: layers, gates, fused losses, models.

    ``architecture`` (a ``model.builders.Architecture``) and ``classes`` describe the composed network
    checked beside the handout's. Every argument is refused (a ``ParameterError`` naming it) before
    any check runs: the settings by ``check_settings``, the networks by building them first.
    """
    opts = dict(h=h, tol=tol, warn_tol=warn_tol, mode=mode, directions=directions)
    check_settings(seed=seed, **opts)
    _check_suite_arguments(batch, burn_in)
    networks = model_networks(seed, architecture, classes)
    report = layer_suite(seed, batch, **opts)
    report.extend(gate_suite(seed, **opts))
    report.extend(fused_vs_chained(seed, batch, tol=tol, warn_tol=warn_tol))
    report.extend(model_suite(seed, batch, burn_in=burn_in, networks=networks, **opts))
    return report
