"""A traced graph as plain data; in Jupyter it shows as its picture (``traces.svg``).

``Graph.wires`` maps a wire's name to its forward value (the handout's green number) and its gradient
dℓ/d(wire) (the red number); ``Graph.nodes`` lists the nodes in forward order, each naming its input
wires (the first is the main one, the others enter from the side: parameters, labels) and its output
wire. ``traces.trace`` fills graphs; ``traces.svg`` draws them; ``traces.formatting`` writes their numbers.
"""

from dataclasses import dataclass, field

import numpy as np

from .formatting import wrap_name
from .svg import graph_svg

#: A wire's kind: where it comes from, which fixes where the picture draws it.
KINDS = ("input", "param", "label", "inner", "output")


@dataclass
class Wire:
    """One edge of the graph.

    Attributes
    ----------
    name : str, as displayed ("x", "q", "w1", "X·w1", "ℓ")
    value : ndarray, the forward value (any shape; 0-d for a scalar)
    grad : ndarray or None, d(root)/d(wire), the value's shape; None for labels (no gradient flows there)
    kind : str, one of ``KINDS``
    """

    name: str
    value: np.ndarray
    grad: object
    kind: str


@dataclass
class Node:
    """One node: a gate or a layer.

    Attributes
    ----------
    op : str, the short symbol drawn in the node ("+", "×", "·w1", "max(0, ·)", "σ", "BCE")
    inputs : list of str, wire names; ``inputs[0]`` is the main input, the rest enter from the side
    output : str, the output wire's name
    pattern : str, how the gradient flows through it (the handout's gate patterns), a short phrase
    step : str, the handout's step this node is ("step 3"), or ""
    layer : the object whose ``forward``/``backward`` computed the numbers
    """

    op: str
    inputs: list
    output: str
    pattern: str = ""
    step: str = ""
    layer: object = None


@dataclass
class Graph:
    """A traced graph: wires (in forward order) and nodes (in forward order)."""

    title: str
    root: str
    nodes: list = field(default_factory=list)
    wires: dict = field(default_factory=dict)

    def add_wire(self, name, value, grad=None, kind="inner"):
        """Add a wire holding float64 copies of ``value`` and ``grad``; return it."""
        if kind not in KINDS:
            raise ValueError(f"wire kind must be one of {KINDS}, got {kind!r}")
        if name in self.wires:
            raise ValueError(f"two wires are called {name!r}")
        grad = None if grad is None else np.array(grad, np.float64)  # np.array copies
        self.wires[name] = Wire(name, np.array(value, np.float64), grad, kind)
        return self.wires[name]

    def value(self, name):
        return self.wires[name].value

    def grad(self, name):
        return self.wires[name].grad

    def d(self, name):
        """The gradient's name, ``dℓ/dh`` or ``dℓ/d(X·w1)``."""
        return f"d{self.root}/d{wrap_name(name)}"

    def misshapen(self):
        """The wires whose gradient has not the shape of their value: where the shape rule is broken."""
        return [w.name for w in self.wires.values() if w.grad is not None and np.shape(w.grad) != np.shape(w.value)]

    def _repr_svg_(self):
        """The graph as its SVG circuit, for Jupyter (``traces.svg.graph_svg``)."""
        return graph_svg(self)
