"""The one verification of a learner's layers inside a network: what ``train()`` runs before it trains a network
holding classes that are not the library's, and what ``gradcheck.py --use`` runs on each network it checks.

The network (a copy: the caller's is never touched) first takes one batch forward and backward as a training
step would, so each layer is checked in the state training leaves it in (gradients from that batch already
filled: a backward that adds into them with ``+=`` shows). Then each of the learner's layers is checked alone
(``check_layer``) at the very input the network gives it on that batch, the loss with the batch's labels, and
last the network whole (``check_model``). A failure names the layer: ``verify`` raises a ``LayerError`` with
the checker's diagnosis, before any weight has moved.
"""

import copy

import numpy as np

from layers.protocol import LayerError
from layers.user_code import source_of

from .checker import check_layer, check_model
from .report import Report

#: the rows of the batch the network is verified on (at least two: a BatchNorm needs them)
ROWS = 8
#: above this many numbers to perturb (the parameters, and the widest input), directions instead of elements
ELEMENTWISE_AT_MOST = 20_000


def learner_label(obj, index=None):
    """``"your Sigmoid (exercises/sigmoid.py), layer 3"``: a learner's layer or loss, with its file and place."""
    place = "the loss" if index is None else f"layer {index}"
    return f"your {type(obj).__name__} ({source_of(type(obj))}), {place}"


def check_learners(net, X, y, learners, labels=None, check=None, seed=0, **options):
    """A ``Report``: each object of ``learners`` (layers or the loss of ``net``) checked alone at its input in
    ``net`` on the batch ``(X, y)``, after one forward and backward pass of it; then ``net`` whole (``check``
    names its rows). ``y`` are the labels as ``net.loss`` takes them, ``labels`` as its loss layer does (default
    ``y``; a network reshapes (N,) binary labels to (N, 1)). ``options``: the checker's settings (``h``, ``tol``,
    ...); without a ``mode``, element-wise for a small network and directional for a big one."""
    objects = [*net.layers, net.criterion]
    chosen = [i for i, obj in enumerate(objects) if any(obj is mine for mine in learners)]
    net = copy.deepcopy(net).train()  # in training mode, as it trains; the network says what breaks its protocol
    X, y = np.asarray(X), np.asarray(y)
    inputs = [X]
    with np.errstate(all="ignore"):  # the learner's overflow shows as a failing row, not as NumPy's warnings
        net.loss(X, y)
        net.backward()
        for layer in net.layers:
            inputs.append(layer.forward(inputs[-1]))
    sizes = [np.size(p) for p in net.params.values()] + [np.size(x) for x in inputs]
    options.setdefault("mode", "elementwise" if sum(sizes) <= ELEMENTWISE_AT_MOST else "directional")
    report, last = Report(), len(net.layers)
    for i in chosen:
        obj, given = (net.criterion, y if labels is None else labels) if i == last else (net.layers[i], None)
        label = learner_label(obj, None if i == last else i)
        report.extend(check_layer(obj, inputs[i], y=given, seed=seed, check=label, **options))
    return report.extend(check_model(net, X, y, check=check or type(net).__name__, seed=seed, **options))


def verify(net, X, y, labels, learners):
    """Nothing when ``check_learners`` passes on the first ``ROWS`` rows of ``(X, y)`` (``labels``: ``y`` as the
    loss layer takes them); else a ``LayerError`` with the first failing row's diagnosis, naming the layer."""
    X, y, labels = X[:ROWS], np.asarray(y)[:ROWS], labels[:ROWS]
    report = check_learners(net, X, y, learners, labels, check="the network with your layers")
    bad = next((row for row in report.rows if row.verdict in ("fail", "unchecked")), None)
    if bad is not None:
        said = (f"could not be verified ({bad.name}: {bad.hint or 'no element could be judged'})"
                if bad.verdict == "unchecked" else
                f"fails the gradient check, so it would train wrong: {bad.name} {bad.worst_text()} (relative error "
                f"{bad.max_rel_error:.1e})" + (f": {bad.hint}" if bad.hint else ""))
        raise LayerError(f"{bad.check} {said}; checked on one batch of {len(y)} rows before training, and nothing "
                         "was trained")
