"""A learner's layers traced beside the reference's: the same network, weights and batch, step by step.

``trace_beside(reference, learner, X, y, make_graph)`` traces ``reference`` (a network of the library's
layers) into a ``traces.graph.Graph``, gives ``learner`` (the same architecture built with a learner's
classes, ``layer_types``) the reference's weights, and runs the learner's network node by node: every
forward value, then every gradient from the loss back to the input, each printed beside the reference's
with ✓ where they agree and ✗ where they differ. The first place where they part is named at the end
(with a hint, read from the pattern of the difference as ``checking.diagnosis`` reads a failing check).
The learner's code is called through ``layers.protocol``: an exception, an unfinished method or a
NumPy shape error becomes one line at the step where it happened.
"""

import copy

import numpy as np

from checking.diagnosis import diagnose
from layers.protocol import LayerError, call_user, gradient_shapes, same_keys
from layers.shape_errors import likely_fix, shape_text
from layers.user_code import source_of
from model.registry import is_library

from .formatting import array_text, column_text, fixed_text
from .trace import labels_for

#: what ``call`` returns when the learner's method raised (None is what a method that forgets ``return`` gives)
FAILED = object()
RTOL, ATOL = 1e-6, 1e-9  # yours and the reference's agree within these (different but right formulas differ)


def trace_beside(reference, learner, X, y, make_graph):
    """Trace ``reference`` with ``make_graph(reference, X, y) -> Graph`` and compare ``learner`` with it.

    Parameters
    ----------
    reference, learner : networks with ``layers``, ``criterion``, ``params`` and ``grads`` (the same keys),
        the learner's built like the reference with some classes replaced; the learner gets the reference's
        weights (and the state of its random generators) first
    X, y : the batch, as ``make_graph`` takes it
    make_graph : callable ``(net, X, y) -> Graph``, e.g. ``traces.trace.network_graph``'s tracing

    Returns ``(text, ok, graph)``: the comparison, whether every step agrees, and the reference's traced graph.
    """
    problem = _copy_parameters(reference, learner)
    _align_randomness(reference, learner)
    graph = make_graph(reference, X, y)
    walk = _Walk(graph, learner)
    if problem:
        walk.part("before the forward pass", problem)
    else:
        walk.run(np.asarray(graph.value(graph.nodes[0].inputs[0])), labels_for(reference.criterion, y,
                                                                              graph.value(graph.nodes[-1].inputs[0])))
    return walk.text(), walk.first is None, graph


def _copy_parameters(reference, learner):
    """Give the learner's network the reference's weights, in place; a sentence when it cannot."""
    missing = sorted(set(reference.params) - set(learner.params))
    if missing:
        return f"your network has no parameter {', '.join(missing)} (it names them {', '.join(learner.params)})"
    for key, value in reference.params.items():
        mine = learner.params[key]
        if np.shape(mine) != np.shape(value):
            return (f"your parameter {key} has shape {shape_text(np.shape(mine))}, the reference's "
                    f"{shape_text(np.shape(value))}")
        mine[...] = value
    return None


def _align_randomness(reference, learner):
    """A learner's Dropout draws the reference's masks: each pair of layers holding a generator ``rng`` gets
    the reference's state."""
    for ref, mine in zip(reference.layers, learner.layers, strict=False):
        ref_rng, my_rng = getattr(ref, "rng", None), getattr(mine, "rng", None)
        if isinstance(ref_rng, np.random.Generator) and isinstance(my_rng, np.random.Generator):
            my_rng.bit_generator.state = copy.deepcopy(ref_rng.bit_generator.state)


def owner(layer):
    """"the library's Linear" or "your Sigmoid (exercises/sigmoid.py)"."""
    cls = type(layer)
    if is_library(cls):
        return f"the library's {cls.__name__}"
    return f"your {cls.__name__} ({source_of(cls)})"


def _text(a):
    a = np.asarray(a)
    if a.ndim == 0:
        return fixed_text(a)
    if a.ndim == 2 and a.shape[1] == 1:
        return column_text(a)
    return array_text(a, 16)


class _Walk:
    """The learner's network run node by node beside the reference's graph, collecting lines."""

    def __init__(self, graph, learner):
        self.graph, self.learner = graph, learner
        self.lines, self.first, self.hint = [], None, None

    def part(self, where, why):
        """Record a difference; the first one is the step where they part."""
        if self.first is None:
            self.first = (where, why)

    def compare(self, label, yours, reference, where, upstream=None, inputs=None):
        """One line (or two) for a value or gradient: yours beside the reference's, ✓ or ✗. False when yours
        cannot go on to the next node (not an array, or of another shape): the run stops where they part."""
        yours = np.asarray(yours, dtype=np.float64) if _is_real(yours) else yours
        if yours is None:
            self.lines.append(f"        {label}: yours is None: does the method end with a return? ✗")
            self.part(where, f"{label} is None (nothing returned)")
            return False
        if not isinstance(yours, np.ndarray):
            self.lines.append(f"        {label}: yours is not an array of real numbers ({type(yours).__name__}) ✗")
            self.part(where, f"{label} is not an array of numbers")
            return False
        if yours.shape != np.shape(reference):
            fix = likely_fix(yours.shape, np.shape(reference))
            self.lines.append(f"        {label}: yours has shape {shape_text(yours.shape)}, the reference's "
                              f"{shape_text(np.shape(reference))} ✗" + (f": {fix}" if fix else ""))
            self.part(where, f"{label} has shape {shape_text(yours.shape)}, not {shape_text(np.shape(reference))}")
            return False
        close = np.isclose(yours, reference, rtol=RTOL, atol=ATOL)
        if close.all():
            self.lines.append(f"        {label}: yours = reference = {_text(yours)}   ✓")
            return True
        later = "" if self.first is None else "   (after the first difference)"
        self.lines += [f"        {label}: yours     = {_text(yours)}   ✗{later}",
                       f"        {' ' * len(label)}  reference = {_text(reference)}"]
        if self.first is None:
            self.hint = _hint(yours, reference, close, upstream, inputs, len(self.graph.value("X")))
        self.part(where, f"{label} differs from the reference")
        return True

    def call(self, where, layer, method, *args, shapes=None, keys=False):
        """The learner's method on ``args``, then with ``keys`` its ``grads``' keys held against its ``params``'
        (``layers.protocol.same_keys``); on an exception, a line and the parting, and ``FAILED``."""
        name = f"{type(layer).__name__}.{method}"
        try:
            out = call_user(name, getattr(layer, method), *args, shapes=shapes, batch_size=len(self.graph.value("X")))
            if keys:
                same_keys(layer, type(layer).__name__)
        except LayerError as exc:
            self.lines.append(f"        ✗ {exc}")
            self.part(where, str(exc))
            return FAILED
        return out

    def run(self, X, labels):
        g, criterion = self.graph, self.learner.criterion
        self.lines += ["Forward, left to right: each value yours beside the reference's."]
        out = X
        for node, layer in zip(g.nodes[:-1], self.learner.layers, strict=True):
            whose = owner(layer)
            where = f"the forward pass of the {node.op} node ({whose})"
            self.lines.append(f"    [{node.op}]  {whose}")
            out = self.call(where, layer, "forward", out)
            if out is FAILED or not self.compare(node.output, out, g.value(node.output), where):
                return
        where = f"the loss ({owner(criterion)})"
        self.lines.append(f"    [{g.nodes[-1].op}]  {owner(criterion)}")
        loss = self.call(where, criterion, "forward", out, labels)
        if loss is not FAILED:
            self.compare(g.root, loss, g.value(g.root), where)
            self.backward()

    def backward(self):
        g, criterion = self.graph, self.learner.criterion
        self.lines += ["", "Backward, right to left: each gradient yours beside the reference's."]
        where = _step(g.nodes[-1], criterion)
        self.lines.append(f"    {where}")
        grad = self.call(where, criterion, "backward", 1.0)
        p = g.nodes[-1].inputs[0]
        if grad is FAILED or not self.compare(g.d(p), grad, g.grad(p), where, inputs=g.value(p)):
            return
        for node, layer in reversed(list(zip(g.nodes[:-1], self.learner.layers, strict=True))):
            where = _step(node, layer)
            self.lines.append(f"    {where}")
            upstream, x_name = grad, node.inputs[0]
            grad = self.call(where, layer, "backward", upstream, shapes=gradient_shapes(layer, g.value(x_name).shape),
                             keys=True)
            if grad is FAILED:
                return
            for name in node.inputs[1:]:
                if g.wires[name].kind == "param":
                    self._compare_parameter(name, where)
            if not self.compare(g.d(x_name), grad, g.grad(x_name), where, upstream=upstream, inputs=g.value(x_name)):
                return

    def _compare_parameter(self, name, where):
        try:
            yours = self.learner.grads[name]
        except KeyError:
            self.lines.append(f"        {self.graph.d(name)}: your layer has no gradient for {name} ✗")
            self.part(where, f"no gradient for {name}")
            return
        self.compare(self.graph.d(name), yours, self.graph.grad(name), where)

    def text(self):
        if self.first is None:
            return "\n".join([*self.lines, "", "Yours agree with the reference at every step ✓"])
        where, why = self.first
        end = [f"They part first at {where}: {why}; every step before it agrees."]
        if self.hint:
            end.append(f"hint: {self.hint}")
        return "\n".join([*self.lines, "", *end])


def _step(node, layer):
    """"[step 2] σ node, your Sigmoid (exercises/sigmoid.py)": a backward step, named as the trace names it."""
    step = f"[{node.step}] " if node.step else ""
    return f"{step}the {node.op} node's backward, {owner(layer)}"


def _is_real(value):
    try:
        return np.asarray(value).dtype.kind in "fiub"
    except (TypeError, ValueError):
        return False


def _hint(yours, reference, close, upstream, inputs, batch_size):
    """What the pattern of the difference suggests, in the words of the checker's hints (yours for analytic)."""
    _, hint = diagnose(yours, np.asarray(reference, np.float64), ~close, inputs=inputs, upstream=upstream,
                       batch_size=batch_size)
    return hint.replace("analytic", "yours").replace("numeric gradient", "reference").replace("numeric", "reference")
