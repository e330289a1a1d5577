"""Draw a traced graph (``checking.graph.Graph``) as the handout draws its circuits, in plain SVG.

Gates and layers are nodes, wires are edges drawn left to right; above each wire its forward value in
**green**, below it the gradient d(root)/d(wire) in **red**. An array is shown as its shape and its
first few entries. The main input of a node comes in from the left; the other inputs come in from the
side: parameters from above, data and labels from below. The SVG is written by hand (no dependency)
and opens in any browser.

Layout: every node sits on one horizontal line. The stretch of wire in front of node ``i`` is as long
as its longest label; its side inputs run parallel to it on rows above or below and then turn into
the node. That is the "chain" layout: it fits the warm-up, the handout's network and any
``Sequential``.
"""

from xml.sax.saxutils import escape, quoteattr

import numpy as np

from model.atomic import atomic_write

from .graph import number_text

#: The handout's colours: forward values green, gradients red.
GREEN = "#008000"
RED = "#cc0000"
INK = "#222222"
NOTE = "#666666"

FONT = "DejaVu Sans Mono, Menlo, Consolas, monospace"
SIZE = 12  # font size of the wire labels, px
CHAR = 7.3  # width of one character of FONT at SIZE, px (an estimate that errs wide)
LINE = 14  # distance between the two lines of a label, px
ROW = 70  # vertical distance between two wire rows when every label has one line (+ 2 LINE for two lines)
ENTRIES = 4  # array entries shown on a wire
PAD = 24
MIN_WIRE = 110
GATES = ("+", "×")  # drawn as circles, like the handout's gates; everything else as a box
R_GATE = 20
H_BOX = 40


# ---------------------------------------------------------------- labels


def format_array(a, entries=ENTRIES):
    """A value as the picture shows it: a scalar as a number, an array as "(shape) = [first entries, …]".

    Returns
    -------
    (shape_text, values_text) : ``("", "3")`` for a scalar; ``("(4, 3)", "[0.3257, 0, 0, 0.598, …]")``.
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return "", number_text(a)
    flat = a.ravel()
    shown = ", ".join(number_text(v) for v in flat[:entries])
    more = ", …" if flat.size > entries else ""
    return str(tuple(a.shape)), f"[{shown}{more}]"


def _label(name, a):
    """The lines of a wire label: ``["x = -2"]`` for a scalar, ``["h (4, 3) =", "[0.3257, 0, …]"]`` for an array."""
    shape, values = format_array(a)
    return [f"{name} {shape} =", values] if shape else [f"{name} = {values}"]


def value_label(graph, name):
    """The green text of a wire, as a list of lines: its name, shape and forward value."""
    return _label(name, graph.wires[name].value)


def grad_label(graph, name):
    """The red text of a wire, as a list of lines: d(root)/d(name), its shape and value; None without gradient."""
    w = graph.wires[name]
    return None if w.grad is None else _label(graph.d(name), w.grad)


def _lines_height(graph):
    """1 if every label fits on one line (all scalars), else 2."""
    return max(len(value_label(graph, k)) for k in graph.wires)


def _width(text, size=SIZE):
    return len(text) * CHAR * size / SIZE


# ---------------------------------------------------------------- layout


def _side(graph, name):
    """-1 for a wire that enters from above (parameters), +1 from below (data, labels)."""
    return -1 if graph.wires[name].kind == "param" else 1


def _node_size(node):
    if node.op in GATES:
        return 2 * R_GATE, 2 * R_GATE
    return max(56.0, _width(node.op, 15) + 24), H_BOX


def layout(graph):
    """Positions for every node and wire of a chain-shaped graph.

    Returns
    -------
    dict with ``width``, ``height``, ``y0`` (the main line), ``nodes`` (per node: cx, w, h) and
    ``wires`` (per wire name: its horizontal stretch x0, x1, its row y, and the node point it ends at).
    """
    above = max((sum(_side(graph, s) < 0 for s in n.inputs[1:]) for n in graph.nodes), default=0)
    below = max((sum(_side(graph, s) > 0 for s in n.inputs[1:]) for n in graph.nodes), default=0)
    lines = _lines_height(graph)
    row = ROW + 2 * LINE * (lines - 1)
    y0 = 60 + above * row + LINE * lines + 12
    x = float(PAD)
    nodes, wires = [], {}
    for node in graph.nodes:
        pos, x = _place_node(graph, node, x, y0, row, wires)
        nodes.append(pos)
    if graph.nodes:
        out = graph.nodes[-1].output
        stretch = _stretch(value_label(graph, out) + (grad_label(graph, out) or []))
        wires[out] = dict(x0=x, x1=x + stretch, y=y0, end=None)
        x += stretch
    under = max(H_BOX / 2 + 24, below * row + LINE * lines + 12, LINE * lines + 12)
    return dict(width=x + PAD, height=y0 + under + 44, y0=y0, nodes=nodes, wires=wires, lines=lines)


def _stretch(labels):
    """The length of wire in front of a node: room for its longest label."""
    return max([MIN_WIRE] + [_width(t) + 24 for t in labels])


def _place_node(graph, node, x, y0, row, wires):
    """Place ``node`` after the wire starting at ``x``; add its input wires to ``wires``.

    Returns
    -------
    (position, right) : the node's ``dict(cx, w, h)`` and the x where the next wire starts
    """
    labels = [t for s in node.inputs for lab in (value_label(graph, s), grad_label(graph, s)) if lab for t in lab]
    stretch = _stretch(labels)
    w, h = _node_size(node)
    left = x + stretch + 30  # side wires bend into the node over the last 30 px
    cx = left + w / 2
    wires[node.inputs[0]] = dict(x0=x, x1=left, y=y0, end=(left, y0))
    rows = {-1: 0, 1: 0}
    for s in node.inputs[1:]:
        side = _side(graph, s)
        rows[side] += 1
        end = _entry_point(node, cx, y0, w, h, side, rows[side])
        wires[s] = dict(x0=x, x1=x + stretch, y=y0 + side * rows[side] * row, end=end)
    return dict(cx=cx, w=w, h=h), left + w


def _entry_point(node, cx, y0, w, h, side, row):
    """Where a side wire meets the node: on a circle toward the lower/upper left, on a box its corner."""
    if node.op in GATES:
        angle = np.deg2rad(180 - 50 + 12 * (row - 1))  # 130° from +x, mirrored for a wire from below
        return cx + R_GATE * np.cos(angle), y0 + side * R_GATE * np.sin(angle)
    return cx - w / 2 + 10 + 14 * (row - 1), y0 + side * h / 2


# ---------------------------------------------------------------- drawing


def _text(x, y, lines, fill=INK, size=SIZE, anchor="middle", weight="normal", cls=None, wire=None):
    """A <text> element; several lines become <tspan>s, one under the other."""
    lines = [lines] if isinstance(lines, str) else list(lines)
    attrs = f'x="{x:.1f}" y="{y:.1f}" fill="{fill}" font-size="{size}" text-anchor="{anchor}"'
    if weight != "normal":
        attrs += f' font-weight="{weight}"'
    if cls:
        attrs += f' class="{cls}"'
    if wire is not None:
        attrs += f" data-wire={quoteattr(wire)}"
    if len(lines) == 1:
        return f"<text {attrs}>{escape(lines[0])}</text>"
    spans = "".join(f'<tspan x="{x:.1f}" dy="{0 if i == 0 else LINE}">{escape(t)}</tspan>' for i, t in enumerate(lines))
    return f"<text {attrs}>{spans}</text>"


def _wire(graph, name, pos):
    """The polyline of one wire (horizontal stretch, then a bend into its node) and its two labels."""
    x0, x1, y = pos["x0"], pos["x1"], pos["y"]
    points = [(x0, y), (x1, y)]
    if pos["end"] is not None and pos["end"] != (x1, y):
        points.append(pos["end"])
    path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    kind = graph.wires[name].kind
    dash = ' stroke-dasharray="5,3"' if kind == "label" else ""
    marker = ' marker-end="url(#arrow)"' if pos["end"] is not None else ""
    out = [f'<polyline points="{path}" fill="none" stroke="{INK}" stroke-width="1.4"{dash}{marker}/>']
    if kind in ("input", "param", "label"):
        out.append(f'<circle cx="{x0:.1f}" cy="{y:.1f}" r="3" fill="{INK}"/>')
    mid = (x0 + x1) / 2
    green = value_label(graph, name)
    out.append(_text(mid, y - 7 - LINE * (len(green) - 1), green, GREEN, cls="value", wire=name))
    red = grad_label(graph, name)
    if red is not None:
        out.append(_text(mid, y + 17, red, RED, cls="grad", wire=name))
    elif kind == "label":
        out.append(_text(mid, y + 17, ["labels: no gradient"], NOTE, size=11))
    return out


def _node(graph, node, pos, y0, lines):
    cx, w, h = pos["cx"], pos["w"], pos["h"]
    if node.op in GATES:
        shape = f'<circle cx="{cx:.1f}" cy="{y0:.1f}" r="{R_GATE}" fill="#ffffff" stroke="{INK}" stroke-width="1.6"/>'
        label = _text(cx, y0 + 7, node.op, INK, size=20, weight="bold", cls="op")
    else:
        shape = (f'<rect x="{cx - w / 2:.1f}" y="{y0 - h / 2:.1f}" width="{w:.1f}" height="{h:.1f}" rx="8" '
                 f'fill="#f3f3f3" stroke="{INK}" stroke-width="1.6"/>')
        label = _text(cx, y0 + 5, node.op, INK, size=15, cls="op")
    out = [shape, label]
    caption = " · ".join(t for t in (node.step, node.pattern) if t)
    if caption:  # in a band clear of the wire labels, on the side no side wire comes from
        from_below = any(_side(graph, s) > 0 for s in node.inputs[1:])
        y = y0 - 7 - LINE * (lines - 1) - 18 if from_below else y0 + 17 + LINE * (lines - 1) + 18
        out.append(_text(cx, y, caption, NOTE, size=11, cls="pattern"))
    return out


def _legend(graph, x, y):
    d = f"d{graph.root}/d(wire)"
    return [f'<text x="{x:.1f}" y="{y:.1f}" font-size="12" fill="{INK}">'
            f'<tspan fill="{GREEN}">green, above a wire: its forward value;</tspan>'
            f'<tspan dx="{CHAR:.1f}" fill="{RED}">red, below: the gradient {escape(d)}</tspan>'
            f'<tspan dx="{CHAR:.1f}" fill="{NOTE}">(at each node: downstream = upstream × local)</tspan></text>']


def graph_svg(graph):
    """The SVG document (a str) of a traced graph; see the module docstring for what it shows."""
    lay = layout(graph)
    width, height, y0 = lay["width"], lay["height"], lay["y0"]
    width = max(width, 2 * PAD + _width("green, above a wire: its forward value   red, below: the gradient "
                                         "dℓ/d(wire)   (at each node: downstream = upstream × local)"))
    body = [_text(PAD, 28, graph.title, INK, size=16, anchor="start", weight="bold", cls="title")]
    for name, pos in lay["wires"].items():
        body += _wire(graph, name, pos)
    for node, pos in zip(graph.nodes, lay["nodes"], strict=True):
        body += _node(graph, node, pos, y0, lay["lines"])
    body += _legend(graph, PAD, height - 18)
    head = (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}">\n'
            f'<title>{escape(graph.title)}</title>\n'
            '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="{INK}"/></marker></defs>\n'
            f'<rect width="100%" height="100%" fill="#ffffff"/>\n')
    return head + "\n".join(body) + "\n</svg>\n"


def write_svg(graph, path):
    """Write ``graph_svg(graph)`` to ``path`` atomically (readers never see half a file); returns the path."""
    text = graph_svg(graph).encode("utf-8")
    return atomic_write(path, lambda fh: fh.write(text), suffix=".svg")
