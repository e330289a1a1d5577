"""The one verification of a learner's layers inside a network, on one batch: what ``train()`` runs before it
trains a network holding classes that are not the library's, and what ``gradcheck.py --use`` runs on its networks.

A copy of the network first takes the batch forward and backward as a training step would (so a backward that
adds into last step's gradients with ``+=`` shows); then each of the learner's layers is checked alone
(``check_layer``) at the very input the network gives it, the loss with the batch's labels, and last the network
whole (``check_model``). ``verify`` raises the first failure as a ``LayerError`` naming the layer.
"""

import copy

import numpy as np

from layers.protocol import LayerError
from layers.user_code import source_of

from .checker import check_layer, check_model
from .report import Report

#: the rows of the batch the network is verified on (at least two: a BatchNorm needs them)
ROWS = 8
#: above this many numbers to perturb (the parameters, and every layer's input), directions instead of elements
ELEMENTWISE_AT_MOST = 20_000


def check_learners(net, X, y, places, labels=None, check=None, seed=0, **options):
    """A ``Report``: the learner's layers at ``places`` (indices into ``net.layers``; ``len(net.layers)`` is the
    loss) each checked alone at its input in ``net`` on the batch ``(X, y)``, after one training pass of it; then
    ``net`` whole (``check`` names its rows). ``y`` are the labels as ``net.loss`` takes them, ``labels`` as its
    loss layer does (default ``y``). ``options``: the checker's settings; without a ``mode``, element-wise for a
    small network, directional for a big one."""
    net = copy.deepcopy(net).train()  # the caller's is never touched; the network says what breaks its protocol
    X, y = np.asarray(X), np.asarray(y)
    inputs = [X]
    with np.errstate(all="ignore"):  # the learner's overflow shows as a failing row, not as NumPy's warnings
        net.loss(X, y)
        net.backward()
        for layer in net.layers:
            inputs.append(layer.forward(inputs[-1]))
    sizes = [np.size(a) for a in [*net.params.values(), *inputs]]
    options.setdefault("mode", "elementwise" if sum(sizes) <= ELEMENTWISE_AT_MOST else "directional")
    report, objects = Report(), [*net.layers, net.criterion]
    for i in places:
        obj, loss = objects[i], i == len(net.layers)
        label = f"your {type(obj).__name__} ({source_of(type(obj))}), {'the loss' if loss else f'layer {i}'}"
        given = (y if labels is None else labels) if loss else None
        report.extend(check_layer(obj, inputs[i], y=given, seed=seed, check=label, **options))
    return report.extend(check_model(net, X, y, check=check or type(net).__name__, seed=seed, **options))


def verify(net, X, y, labels, places):
    """Nothing when ``check_learners`` passes on the first ``ROWS`` rows of ``(X, y)`` (``labels``: ``y`` as the
    loss layer takes them); else a ``LayerError`` with the first failing row's diagnosis, naming the layer."""
    X, y, labels = X[:ROWS], np.asarray(y)[:ROWS], labels[:ROWS]
    report = check_learners(net, X, y, places, labels, check="the network with your layers")
    if not report.passed:
        bad = next(row for row in report.rows if row.verdict in ("fail", "unchecked"))
        raise LayerError(f"{bad.check} fails the gradient check, so it would train wrong: {bad.name} "
                         f"{bad.worst_text()} (relative error {bad.max_rel_error:.1e})"
                         + (f": {bad.hint}" if bad.hint else "")
                         + f"; checked on one batch of {len(y)} rows before training, and nothing was trained")
