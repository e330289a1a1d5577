"""The checks ``python gradcheck.py`` runs: every layer, the gates, the warm-up graph, the network.

Each function returns a ``Report`` (see ``checking.checker``); the CLI only prints them.
"""

import copy

import numpy as np

from layers import BCELoss, Softmax, SoftmaxCrossEntropyLoss
from layers.protocol import call_user
from layers.user_code import source_of
from layers.validation import check_integer
from model.builders import Architecture
from model.factory import learners, make
from model.inputs import check_Xy
from model.net import TwoLayerNet
from model.optim import SGD
from model.sequential import Sequential

from .before_training import check_learners
from .checker import PASS_TOL, WARN_TOL, CheckSettings, Report, check_arrays, check_layer, check_model, compare


def layer_suite(seed=0, batch=8, layer_types=None, **opts):
    """Every layer in isolation, on seeded random float64 data.

    In element-wise mode one ReLU input is placed exactly on the kink on purpose, so the report
    shows it being recognised and verified (the analytic value must lie between the one-sided
    slopes) rather than mistaken for a bug. (In directional mode every direction would cross it.)
    With ``layer_types`` (class name -> a learner's class, see ``model.factory``), only those classes are
    checked, each built as the library's would be and named with its file.
    """
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, 5))
    x_relu = x.copy()
    if opts.get("mode", "elementwise") == "elementwise":
        x_relu[0, 0] = 0.0
    p = rng.uniform(0.05, 0.95, (batch, 1))
    z = rng.standard_normal((batch, 1)) * 3
    y = rng.integers(0, 2, (batch, 1))
    types = layer_types or {}
    cases = [("Linear", "Linear", lambda: make(types, "Linear", 5, 4, rng=rng), x, None),
             ("Linear", "Linear(bias=False)", lambda: make(types, "Linear", 5, 4, bias=False, rng=rng), x, None),
             ("ReLU", "ReLU", lambda: make(types, "ReLU"), x_relu, None),
             ("Sigmoid", "Sigmoid", lambda: make(types, "Sigmoid"), x, None),
             ("BCELoss", "BCELoss", lambda: make(types, "BCELoss"), p, y),
             ("SigmoidBCELoss", "SigmoidBCELoss", lambda: make(types, "SigmoidBCELoss"), z, y)]
    report = _check_each(cases, types, seed, opts)
    return report.extend(_new_layers(rng, x, seed, types, opts)).extend(_image_layers(rng, seed, types, opts))


def _image_layers(rng, seed, types, opts):
    """CS231n's second-assignment layers: on (2, 2, 4, 6) images, then layer norm and the SVM loss. The images are
    not square, so a backward that reads H where W belongs fails (its dx has the wrong shape); one pooling has
    stride 1, so its windows overlap and a backward that writes (``=``) where their gradients must add fails. In
    element-wise mode one pooling window has a tie for its maximum on purpose, bracketed as a kink like ReLU's 0
    above."""
    images, scores = rng.standard_normal((2, 2, 4, 6)), rng.standard_normal((8, 4))
    pooled = images.copy()
    if opts.get("mode", "elementwise") == "elementwise":
        pooled[0, 0, 0, :2] = 5.0
    cases = [("Conv2d", "Conv2d stride 2 pad 1", lambda: make(types, "Conv2d", 2, 3, 3, stride=2, padding=1, rng=rng),
              images, None),
             ("MaxPool2d", "MaxPool2d(2)", lambda: make(types, "MaxPool2d", 2), pooled, None),
             ("MaxPool2d", "MaxPool2d(2) stride 1", lambda: make(types, "MaxPool2d", 2, stride=1), pooled, None),
             ("Flatten", "Flatten", lambda: make(types, "Flatten"), images, None),
             ("BatchNorm2d", "BatchNorm2d train", lambda: make(types, "BatchNorm2d", 2), images * 2 + 1, None),
             ("LayerNorm", "LayerNorm", lambda: make(types, "LayerNorm", 6), images, None),
             ("SVMLoss", "SVMLoss", lambda: make(types, "SVMLoss"), scores, rng.integers(0, 4, 8))]
    return _check_each(cases, types, seed, opts)


def _new_layers(rng, x, seed, types, opts):
    """The layers beyond the handout: other activations, softmax, multi-class and regression losses,
    dropout and batch norm in training mode (each with a random, non-uniform upstream)."""
    batch = len(x)
    logits, classes = rng.standard_normal((batch, 4)), rng.integers(0, 4, batch)
    probabilities = Softmax().forward(logits)
    cases = [("Tanh", "Tanh", lambda: make(types, "Tanh"), x, None),
             ("LeakyReLU", "LeakyReLU(0.1)", lambda: make(types, "LeakyReLU", 0.1), x, None),
             ("Softmax", "Softmax", lambda: make(types, "Softmax"), logits, None),
             ("CrossEntropyLoss", "CrossEntropyLoss", lambda: make(types, "CrossEntropyLoss"), probabilities, classes),
             ("SoftmaxCrossEntropyLoss", "SoftmaxCrossEntropyLoss", lambda: make(types, "SoftmaxCrossEntropyLoss"),
              logits, classes),
             ("MSELoss", "MSELoss", lambda: make(types, "MSELoss"), x, rng.standard_normal(x.shape)),
             ("Dropout", "Dropout(0.3) train", lambda: make(types, "Dropout", 0.3, rng=np.random.default_rng(seed)),
              x, None),
             ("BatchNorm", "BatchNorm train", lambda: make(types, "BatchNorm", 5), x * 2 + 1, None),
             ("Standardize", "Standardize", lambda: _fitted(make(types, "Standardize", 5), x * 3 + 2), x, None),
             # the classification losses with class weights: the library's own (a learner's run skips them)
             ("class_weight", "BCELoss class_weight", lambda: BCELoss(class_weight=[3.0, 1.0]),
              rng.uniform(0.05, 0.95, (batch, 1)), rng.integers(0, 2, (batch, 1))),
             ("class_weight", "SoftmaxCE class_weight",
              lambda: SoftmaxCrossEntropyLoss(class_weight=[1.0, 2.0, 0.5, 3.0]), logits, classes)]
    return _check_each(cases, types, seed, opts)


def _check_each(cases, types, seed, opts):
    """``check_layer`` on each ``(class name, label, build, x, y)``; with ``types``, only on the classes it holds."""
    report = Report()
    for name, label, build, x, y in cases:
        if types and name not in types:
            continue
        layer = build()
        if types:
            label = f"{label} ({source_of(type(layer))})"
        report.extend(check_layer(layer, x, y=y, check=label, seed=seed, **opts))
    return report


def _fitted(layer, X):
    fit = getattr(layer, "fit", None)
    return fit(X) if callable(fit) else layer


#: the library classes each part of the suite is made of (with ``layer_types``, a part runs when it uses one)
GATES = ("Add", "Multiply", "Max", "Copy")
CHAINED = ("Sigmoid", "BCELoss", "SigmoidBCELoss", "Softmax", "CrossEntropyLoss", "SoftmaxCrossEntropyLoss")


def gate_suite(seed=0, layer_types=None, **opts):
    """The four gates on random arrays, and the handout's warm-up ``(x + y) * z`` at (-2, 5, -4).

    ``opts`` are the fields of ``CheckSettings``. With ``layer_types``, the gates it replaces take the
    library's places (and only checks using one run).
    """
    rng = np.random.default_rng(seed)
    settings = CheckSettings(seed=seed, **opts)
    types = layer_types or {}
    report = Report()
    for name in GATES[:3]:
        arrays = {"a": rng.standard_normal(6), "b": rng.standard_normal(6)}
        upstream = rng.standard_normal(6)
        if not types or name in types:
            report.extend(_two_input_gate(make(types, name), arrays, upstream, settings))
    if not types or "Copy" in types:
        report.extend(_copy_gate(make(types, "Copy"), rng, settings))
    if not types or {"Add", "Multiply"} & set(types):
        report.extend(_warm_up(make(types, "Add"), make(types, "Multiply"), settings))
    return report


def _two_input_gate(gate, arrays, upstream, settings):
    """``sum(gate(a, b) * g)`` for random vectors a, b and upstream g."""
    gate.forward(arrays["a"], arrays["b"])
    da, db = gate.backward(upstream)

    def f():
        return float(np.sum(gate.forward(arrays["a"], arrays["b"]) * upstream))

    return check_arrays(f, arrays, {"a": da, "b": db}, type(gate).__name__, settings)


def _copy_gate(copy, rng, settings):
    """``sum(x1 * g1) + sum(x2 * g2)`` for the two copies of a random x: the gradients add."""
    arrays = {"x": rng.standard_normal(6)}
    g1, g2 = rng.standard_normal(6), rng.standard_normal(6)
    copy.forward(arrays["x"])
    dx = copy.backward(g1, g2)

    def f():
        x1, x2 = copy.forward(arrays["x"])
        return float(np.sum(x1 * g1) + np.sum(x2 * g2))

    return check_arrays(f, arrays, {"x": dx}, "Copy", settings)


def _warm_up(add, mul, settings):
    """The handout's warm-up ``(x + y) * z`` at (-2, 5, -4), through an ``Add`` and a ``Multiply``."""
    point = {"x": np.array(-2.0), "y": np.array(5.0), "z": np.array(-4.0)}

    def f():
        return float(mul.forward(add.forward(point["x"], point["y"]), point["z"]))

    f()
    dq, dz = mul.backward(1.0)
    dx, dy = add.backward(dq)
    return check_arrays(f, point, {"x": dx, "y": dy, "z": dz}, "(x+y)*z", settings)


def fused_vs_chained(seed=0, batch=8, tol=PASS_TOL, warn_tol=WARN_TOL, layer_types=None):
    """``SigmoidBCELoss``'s gradient against ``Sigmoid`` → ``BCELoss`` chained, where both are finite (and the
    same for softmax cross-entropy). With ``layer_types``, run only when it replaces one of ``CHAINED``."""
    types = layer_types or {}
    if types and not set(CHAINED) & set(types):
        return Report()
    rng = np.random.default_rng(seed)
    cases = (("BCE", CHAINED[:3], rng.uniform(-8, 8, (batch, 1)), rng.integers(0, 2, (batch, 1))),
             ("softmax", CHAINED[3:], rng.uniform(-6, 6, (batch, 4)), rng.integers(0, 4, batch)))
    report = Report()
    for what, names, z, y in cases:
        activation, loss, fused = (make(types, name) for name in names)
        loss.forward(activation.forward(z), y)
        chained = activation.backward(loss.backward())
        fused.forward(z, y)
        report.rows.append(compare(f"fused vs chained {what}", "z", fused.backward(), chained, tol=tol,
                                   warn_tol=warn_tol))
    return report


#: the composed network checked by default: the handout's widened to 8 hidden units, with a hidden bias
COMPOSED = Architecture(hidden=(8,), hidden_bias=True, standardize=False)


def _streams(seed):
    """The data stream and the initialisation stream of the model suite (independent of each other)."""
    data_seed, init_seed = np.random.SeedSequence(seed).spawn(2)
    return np.random.default_rng(data_seed), np.random.default_rng(init_seed)


def model_networks(seed=0, architecture=COMPOSED, classes=2, layer_types=None):
    """The networks ``model_suite`` checks, with their names: the handout's 2-3-1, a composed one, and a
    stack beyond the handout.

    The composed network is ``architecture.build(2, classes)`` (``model.builders.Architecture``: the
    words of ``train.py``'s model options); building it is where a bad architecture is refused. The
    third is a ``Sequential`` of three Linear layers with tanh, leaky ReLU, softmax cross-entropy and
    weight decay. ``layer_types`` (class name -> a learner's class, see ``model.factory``) puts the learner's
    classes in the library's places; then only the networks that hold one of them are returned.
    Returns a list of (network, name).
    """
    init, types = _streams(seed)[1], layer_types or {}
    nets = [(TwoLayerNet(seed=init, layer_types=types), "TwoLayerNet 2-3-1")]
    composed = architecture.build(2, classes, seed=init, layer_types=types)
    name = (f"TwoLayerNet 2-{composed.hidden_dim}-1 +b1" if isinstance(composed, TwoLayerNet)
            else f"Sequential {composed.describe().split(',')[0]}")
    nets.append((composed, name))
    stack = Sequential([make(types, "Linear", 2, 5, rng=init), make(types, "Tanh"),
                        make(types, "Linear", 5, 4, rng=init), make(types, "LeakyReLU", 0.1),
                        make(types, "Linear", 4, 3, rng=init)],
                       make(types, "SoftmaxCrossEntropyLoss"), weight_decay=0.1)
    nets.append((stack, "Sequential 2-5-4-3 λ=0.1"))
    return [(net, name) for net, name in nets if learners(net)] if types else nets


def model_suite(networks, seed=0, batch=8, burn_in=0, **opts):
    """Each of the ``networks`` (``(network, name)`` pairs, as ``model_networks`` returns them), checked whole.

    Rows name the network and, for a stack, each parameter's layer. With ``burn_in``, each network
    first takes that many SGD steps on circles (``sgd_burn_in``).
    """
    _check_suite_arguments(batch, burn_in)
    rng = _streams(seed)[0]
    X = rng.standard_normal((batch, 2))
    report = Report()
    for net, name in networks:
        y = rng.integers(0, _classes_of(net, X), batch)
        if burn_in:
            sgd_burn_in(net, burn_in, seed)
            name += f" after {burn_in} SGD steps"
        mine = learners(net)  # a learner's layers: checked as before training (checking.before_training)
        checked = (check_learners(net, X, y, mine, check_Xy(net, X, y)[1], check=name, seed=seed, **opts) if mine
                   else check_model(net, X, y, check=name, seed=seed, **opts))
        report.extend(_with_layer_names(checked, net))
    return report


def _classes_of(net, X):
    """K, the number of classes a network's labels range over: 2 for a binary one, else its output width
    (read off one forward pass when no layer declares it, as a learner's layer need not)."""
    if net.target == "binary":
        return 2
    if net.output_dim is not None:
        return net.output_dim
    out = call_user(f"{type(net).__name__}.forward", copy.deepcopy(net).forward, X)
    return int(np.shape(out)[-1])


def _check_suite_arguments(batch, burn_in):
    check_integer(batch, "batch", "gradient check suite", 2, " (the suite checks BatchNorm, which needs two rows)")
    check_integer(burn_in, "burn_in", "gradient check suite", 0)


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
        y = y % _classes_of(net, X[:2])
    opt = SGD(net.params, net.grads, lr=lr)
    rng = np.random.default_rng(seed)
    for _ in range(int(steps)):
        idx = rng.choice(len(y), batch_size, replace=False)
        net.loss(X[idx], y[idx])
        net.backward()
        opt.step()
    return net


def default_suite(seed=0, batch=8, architecture=COMPOSED, classes=2, h=1e-5, tol=PASS_TOL, warn_tol=WARN_TOL,
                  mode="elementwise", directions=8, burn_in=0, layer_types=None):
    """Everything ``python gradcheck.py`` checks by default: layers, gates, fused losses, models.

    ``architecture`` (a ``model.builders.Architecture``) and ``classes`` describe the composed network
    checked beside the handout's. Every argument is refused (a ``ParameterError`` naming it) before
    any check runs: the settings by ``CheckSettings``, the networks by building them first.

    ``layer_types`` (class name -> a learner's class) checks the learner's classes instead: each alone, as
    the library's of that name is checked, then inside every network that holds one (the rest is left out).
    """
    opts = dict(h=h, tol=tol, warn_tol=warn_tol, mode=mode, directions=directions)
    CheckSettings(seed=seed, **opts)
    _check_suite_arguments(batch, burn_in)
    networks = model_networks(seed, architecture, classes, layer_types)
    report = layer_suite(seed, batch, layer_types, **opts)
    report.extend(gate_suite(seed, layer_types=layer_types, **opts))
    report.extend(fused_vs_chained(seed, batch, tol=tol, warn_tol=warn_tol, layer_types=layer_types))
    report.extend(model_suite(networks, seed, batch, burn_in, **opts))
    return report
