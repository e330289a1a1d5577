"""Draw a traced graph (``traces.graph.Graph``) as the handout draws its circuits, in plain SVG.

Gates and layers are nodes, wires are edges drawn left to right; above each wire its forward value in
**green**, below it the gradient d(root)/d(wire) in **red**. A scalar is written out; an array is drawn
as a small grid, rows as rows, at most ``ENTRIES`` × ``ENTRIES`` entries ("…" for the rest), under its
name and shape. The main input of a node comes in from the left; the other inputs come in from the
side: parameters from above, data and labels from below.

Layout: the nodes stand on a horizontal line; the stretch of wire in front of node ``i`` is as long as
its widest label, and its side inputs run parallel to it on rows above or below before they turn into
the node. When the next node would pass ``MAX_WIDTH``, the chain wraps: the wire turns down and back to
the left and the chain goes on in a lane below. So the warm-up, the handout's network and any
``Sequential`` fit a screen.

The SVG is written by hand (no dependency). Everything is said with presentation attributes — every
colour as a ``fill``/``stroke``, every arrowhead as a drawn triangle, every line of text as its own
``<text>`` — and nothing with ``<style>``, ``class``, markers or ``tspan``, so browsers, librsvg and
ImageMagick draw the same picture. Elements carry ``data-role`` (``title``, ``value``, ``grad``, ``op``,
``pattern``, ``legend``) and ``data-wire`` for whoever reads the picture back (the tests do).
"""

from dataclasses import dataclass, field
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from model.atomic import atomic_write

from .formatting import number_text

#: The handout's colours: forward values green, gradients red.
GREEN = "#008000"
RED = "#cc0000"
INK = "#222222"
NOTE = "#666666"

FONT = "DejaVu Sans, Verdana, Arial, sans-serif"
SIZE = 12  # font size of the wire labels, px
CHAR = 7.7  # width of one character at SIZE, px (an estimate that errs wide: DejaVu Sans's digits)
LINE = 15  # distance between two lines of a label, px
ENTRIES = 4  # rows and columns of an array drawn on a wire
CELL_GAP = 10  # between two columns of a grid, px
BRACKET = 6  # room for a grid's bracket on each side, px
MAX_WIDTH = 1600  # the picture's width never passes this (unless one node alone is wider)
PAD = 24
MIN_WIRE = 110
BEND = 30  # side wires turn into their node over the last BEND px
RETURN = 14  # room for the wire that wraps the chain to the next lane
CAPTION = 22  # height of the band of node captions at the top of each lane
GATES = ("+", "×")  # drawn as circles, like the handout's gates; everything else as a box
R_GATE = 20
H_BOX = 40


def format_array(a, entries=ENTRIES):
    """A value as the picture shows it: ``(shape text, rows of cell texts)``.

    ``("", [["3"]])`` for a scalar; ``("(4,)", [["1", "2", "3", "4"]])`` for a vector (one row);
    ``("(5, 2)", [["0", "1"], …, ["…", "…"]])`` for a matrix: rows as rows, at most ``entries`` of each,
    "…" where more were left out. An array of more dimensions is drawn as its first axis by the rest.
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 0:
        return "", [[number_text(a)]]
    shape = str(tuple(a.shape))
    grid = a.reshape(1, -1) if a.ndim == 1 else a.reshape(a.shape[0], -1)
    rows = [[number_text(v) for v in row[:entries]] + (["…"] if grid.shape[1] > entries else [])
            for row in grid[:entries]]
    if grid.shape[0] > entries:
        rows.append(["…"] * len(rows[0]))
    return shape, rows


@dataclass
class Label:
    """A wire's label: a head line (``"h (4, 3) ="``, or ``"q = 3"`` for a scalar) and a grid under it."""

    head: str
    rows: list = field(default_factory=list)

    @property
    def lines(self):
        return 1 + len(self.rows)

    def column_widths(self):
        columns = max((len(r) for r in self.rows), default=0)
        return [max(_width(r[j]) for r in self.rows if j < len(r)) for j in range(columns)]

    @property
    def grid_width(self):
        widths = self.column_widths()
        return sum(widths) + CELL_GAP * (len(widths) - 1) + 2 * BRACKET if widths else 0

    @property
    def width(self):
        return max(_width(self.head), self.grid_width)


def _label(name, a):
    shape, rows = format_array(a)
    return Label(f"{name} {shape} =", rows) if shape else Label(f"{name} = {rows[0][0]}")


def value_label(graph, name):
    """The green label of a wire: its name, shape and forward value."""
    return _label(name, graph.wires[name].value)


def grad_label(graph, name):
    """The red label of a wire: d(root)/d(name), its shape and value; for labels (no gradient) a note."""
    w = graph.wires[name]
    return Label("labels: no gradient") if w.grad is None else _label(graph.d(name), w.grad)


def _width(text, size=SIZE):
    return len(text) * CHAR * size / SIZE


def _above(label):
    """How far a label drawn above its wire reaches up from the wire, px."""
    return LINE * label.lines + 3


def _below(label):
    """How far a label drawn below its wire reaches down from the wire, px."""
    return LINE * label.lines + 7


def _node_size(node):
    if node.op in GATES:
        return 2 * R_GATE, 2 * R_GATE
    return max(56.0, _width(node.op, 15) + 24), H_BOX


def _unit(graph, node):
    """What node ``node`` needs: its stretch of wire, its size, and its side rows (offsets from the main line)."""
    labels = [lab for s in node.inputs for lab in (value_label(graph, s), grad_label(graph, s))]
    stretch = max([MIN_WIRE] + [lab.width + 24 for lab in labels])
    w, h = _node_size(node)
    rows, up, down = {}, value_label(graph, node.inputs[0]), grad_label(graph, node.inputs[0])
    reach = {-1: 0.0, 1: 0.0}
    for s in node.inputs[1:]:  # parameters on rows above, data and labels below, each clear of its neighbours' labels
        if graph.wires[s].kind == "param":
            reach[-1] = max(reach[-1] + _above(up) + _below(grad_label(graph, s)) + 6, reach[-1] + 70)
            rows[s], up = -reach[-1], value_label(graph, s)
        else:
            reach[1] = max(reach[1] + _below(down) + _above(value_label(graph, s)) + 6, reach[1] + 70)
            rows[s], down = reach[1], grad_label(graph, s)
    top = max(reach[-1] + _above(up), h / 2 + 4)
    bottom = max(reach[1] + _below(down), h / 2 + 4)
    caption = _width(_caption(node), 11) / 2 if _caption(node) else 0.0
    return dict(node=node, stretch=stretch, w=w, h=h, rows=rows, top=top, bottom=bottom,
                width=stretch + BEND + w, reach=stretch + BEND + w / 2 + caption)


def _caption(node):
    """The grey caption over a node: the handout's step and the gate pattern."""
    return " · ".join(t for t in (node.step, node.pattern) if t)


def _lanes(units, last_stretch, budget):
    """The units split into lanes no wider than ``budget`` (the output's own stretch ends the last lane)."""
    lanes, current, x = [], [], 0.0
    for i, unit in enumerate(units):
        extra = last_stretch if i == len(units) - 1 else 0.0
        if current and x + max(unit["width"] + extra, unit["reach"]) > budget:
            lanes.append(current)
            current, x = [], 0.0
        current.append(unit)
        x += unit["width"]
    return lanes + [current] if current else lanes


def _extent(lane, last):
    """How far a lane reaches above and below its main line; ``last``: the output's labels, on the last lane."""
    above, bottom = max(u["top"] for u in lane), max(u["bottom"] for u in lane)
    if last:
        above, bottom = max(above, _above(last[0])), max(bottom, _below(last[1]))
    return above, bottom


def layout(graph):
    """Positions for every node and wire of a chain-shaped graph, wrapped into lanes: a dict with ``width``,
    ``height``, ``nodes`` (per node: cx, cy, w, h), ``wires`` (per wire name: its horizontal stretch x0, x1, its
    row y, the node point it ends at and, for a wire that wraps to the next lane, the ``route`` it takes there)
    and ``lanes`` (the y of each lane's main line).
    """
    units = [_unit(graph, node) for node in graph.nodes]
    out = graph.nodes[-1].output if graph.nodes else None
    last = (value_label(graph, out), grad_label(graph, out)) if out else None
    last_stretch = max(MIN_WIRE, *(lab.width + 24 for lab in last)) if last else 0.0
    lanes = _lanes(units, last_stretch, MAX_WIDTH - 2 * PAD - RETURN)
    left = PAD + (RETURN if len(lanes) > 1 else 0)
    nodes, wires, ys, top, right = [], {}, [], 44.0, 0.0
    previous = None  # (x, y, bottom) where the last lane's chain ended
    for lane in lanes:
        above, bottom = _extent(lane, last if lane is lanes[-1] else None)
        y0 = top + CAPTION + above
        x = left
        for unit in lane:
            right = max(right, x + unit["reach"])
            pos, x = _place(unit, x, y0, wires, previous, top + CAPTION - 8)
            nodes.append(pos)
            previous = None
        ys.append(y0)
        right = max(right, x)
        previous = (x, y0, y0 + bottom + 12)
        top = y0 + bottom + 24
    if out:
        wires[out] = dict(x0=previous[0], x1=previous[0] + last_stretch, y=previous[1], end=None, route=None)
        right = max(right, previous[0] + last_stretch)
    return dict(width=right + PAD, height=top + 3 * LINE + 12, nodes=nodes, wires=wires, lanes=ys)


def _place(unit, x, y0, wires, previous, caption_y):
    """Place one unit's wires and node from ``x`` on the line ``y0``; returns (node position, next x).
    ``previous`` is where the chain left the lane above, when this unit starts a new lane; ``caption_y`` is
    the baseline of the lane's band of captions."""
    node, stretch, w, h = unit["node"], unit["stretch"], unit["w"], unit["h"]
    node_left = x + stretch + BEND
    cx = node_left + w / 2
    route = None
    if previous is not None:  # the wire comes down from the end of the lane above, then back to the left
        px, py, gap = previous
        route = [(px, py), (px + RETURN - 4, py), (px + RETURN - 4, gap), (x - RETURN + 4, gap), (x - RETURN + 4, y0)]
    wires[node.inputs[0]] = dict(x0=x, x1=node_left, y=y0, end=(node_left, y0), route=route)
    counts = {-1: 0, 1: 0}
    for s in node.inputs[1:]:
        side = -1 if unit["rows"][s] < 0 else 1
        counts[side] += 1
        end = _entry_point(node, cx, y0, w, h, side, counts[side])
        wires[s] = dict(x0=x, x1=x + stretch, y=y0 + unit["rows"][s], end=end, route=None)
    return dict(cx=cx, cy=y0, w=w, h=h, caption_y=caption_y), node_left + w


def _entry_point(node, cx, y0, w, h, side, row):
    """Where a side wire meets the node: on a circle toward the lower/upper left, on a box its corner."""
    if node.op in GATES:
        angle = np.deg2rad(180 - 50 + 12 * (row - 1))  # 130° from +x, mirrored for a wire from below
        return cx + R_GATE * np.cos(angle), y0 + side * R_GATE * np.sin(angle)
    return cx - w / 2 + 10 + 14 * (row - 1), y0 + side * h / 2


def _text(x, y, text, fill=INK, size=SIZE, anchor="middle", weight="normal", role=None, wire=None, extra=""):
    """One <text> element: one line, coloured by its own ``fill`` (no stroke), nothing inherited."""
    attrs = (f'x="{x:.1f}" y="{y:.1f}" fill="{fill}" stroke="none" font-family="{FONT}" font-size="{size}" '
             f'text-anchor="{anchor}"')
    if weight != "normal":
        attrs += f' font-weight="{weight}"'
    if role:
        attrs += f' data-role="{role}"'
    if wire is not None:
        attrs += f" data-wire={quoteattr(wire)}"
    return f"<text {attrs}{extra}>{escape(text)}</text>"


def _draw_label(label, mid, y, fill, role, wire):
    """A label with its first line's baseline at ``y``: the head, then the grid (cells right-aligned in
    columns, between drawn brackets)."""
    out = [_text(mid, y, label.head, fill, role=role, wire=wire, extra=' data-part="head"')]
    if not label.rows:
        return out
    widths, grid = label.column_widths(), label.grid_width
    left = mid - grid / 2
    rights = np.cumsum([BRACKET + widths[0]] + [CELL_GAP + wd for wd in widths[1:]]) + left
    for i, row in enumerate(label.rows):
        for j, cell in enumerate(row):
            out.append(_text(rights[j], y + LINE * (i + 1), cell, fill, anchor="end", role=role, wire=wire,
                             extra=f' data-row="{i}" data-col="{j}"'))
    top, bottom = y + 4, y + LINE * len(label.rows) + 4
    for x, d in ((left + 1, 3), (left + grid - 1, -3)):
        out.append(f'<polyline points="{x + d:.1f},{top:.1f} {x:.1f},{top:.1f} {x:.1f},{bottom:.1f} '
                   f'{x + d:.1f},{bottom:.1f}" fill="none" stroke="{fill}" stroke-width="1"/>')
    return out


def _arrowhead(points):
    """A filled triangle at the end of a polyline, pointing along its last segment."""
    (x0, y0), (x1, y1) = points[-2], points[-1]
    length = np.hypot(x1 - x0, y1 - y0) or 1.0
    ux, uy = (x1 - x0) / length, (y1 - y0) / length
    back, half = 8.0, 3.5
    corners = [(x1, y1), (x1 - back * ux - half * uy, y1 - back * uy + half * ux),
               (x1 - back * ux + half * uy, y1 - back * uy - half * ux)]
    return f'<polygon points="{" ".join(f"{px:.1f},{py:.1f}" for px, py in corners)}" fill="{INK}" stroke="none"/>'


def _wire(graph, name, pos):
    """The polyline of one wire (its route from the lane above, its stretch, a bend into its node), an arrowhead
    where it enters the node, and its two labels."""
    x0, x1, y = pos["x0"], pos["x1"], pos["y"]
    points = list(pos["route"] or []) + [(x0, y), (x1, y)]
    if pos["end"] is not None and pos["end"] != (x1, y):
        points.append(pos["end"])
    path = " ".join(f"{px:.1f},{py:.1f}" for px, py in points)
    kind = graph.wires[name].kind
    dash = ' stroke-dasharray="5,3"' if kind == "label" else ""
    out = [f'<polyline points="{path}" fill="none" stroke="{INK}" stroke-width="1.4"{dash}/>']
    if pos["end"] is not None:
        out.append(_arrowhead(points))
    if kind in ("input", "param", "label"):
        out.append(f'<circle cx="{x0:.1f}" cy="{y:.1f}" r="3" fill="{INK}" stroke="none"/>')
    mid = (x0 + x1) / 2
    green = value_label(graph, name)
    out += _draw_label(green, mid, y - 7 - LINE * (green.lines - 1), GREEN, "value", name)
    red = grad_label(graph, name)
    if graph.wires[name].grad is None:
        out.append(_text(mid, y + 17, red.head, NOTE, size=11, role="note", wire=name))
    else:
        out += _draw_label(red, mid, y + 17, RED, "grad", name)
    return out


def _node(node, pos):
    cx, cy, w, h = pos["cx"], pos["cy"], pos["w"], pos["h"]
    if node.op in GATES:
        shape = (f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="{R_GATE}" fill="#ffffff" stroke="{INK}" '
                 'stroke-width="1.6"/>')
        label = _text(cx, cy + 7, node.op, INK, size=20, weight="bold", role="op")
    else:
        shape = (f'<rect x="{cx - w / 2:.1f}" y="{cy - h / 2:.1f}" width="{w:.1f}" height="{h:.1f}" rx="8" '
                 f'fill="#f3f3f3" stroke="{INK}" stroke-width="1.6"/>')
        label = _text(cx, cy + 5, node.op, INK, size=15, role="op")
    out = [shape, label]
    caption = _caption(node)
    if caption:  # in the band at the top of the node's lane, clear of every label
        out.append(_text(cx, pos["caption_y"], caption, NOTE, size=11, role="pattern"))
    return out


def _legend(graph, y):
    d = f"d{graph.root}/d(wire)"
    parts = [("green, above a wire: its forward value", GREEN), (f"red, below it: the gradient {d}", RED),
             ("at each node: downstream = upstream × local", NOTE)]
    return [_text(PAD, y + LINE * i, text, fill, anchor="start", role="legend") for i, (text, fill) in enumerate(parts)]


def graph_svg(graph):
    """The SVG document (a str) of a traced graph; see the module docstring for what it shows."""
    lay = layout(graph)
    width = max(lay["width"], 2 * PAD + _width("at each node: downstream = upstream × local"),
                PAD + _width(graph.title, 16) + PAD)
    width = min(width, MAX_WIDTH) if lay["width"] <= MAX_WIDTH else width
    height = lay["height"]
    body = [f'<rect x="0" y="0" width="{width:.0f}" height="{height:.0f}" fill="#ffffff" stroke="none"/>',
            _text(PAD, 28, graph.title, INK, size=16, anchor="start", weight="bold", role="title")]
    for name, pos in lay["wires"].items():
        body += _wire(graph, name, pos)
    for node, pos in zip(graph.nodes, lay["nodes"], strict=True):
        body += _node(node, pos)
    body += _legend(graph, height - 3 * LINE + 4)
    head = (f'<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
            f'viewBox="0 0 {width:.0f} {height:.0f}">\n'
            f'<title>{escape(graph.title)}</title>\n')
    return head + "\n".join(body) + "\n</svg>\n"


def write_svg(graph, path):
    """Write ``graph_svg(graph)`` to ``path`` atomically (readers never see half a file); returns the path."""
    text = graph_svg(graph).encode("utf-8")
    return atomic_write(path, lambda fh: fh.write(text), suffix=".svg")
