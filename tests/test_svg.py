"""``--trace --svg``: the traced graph drawn as the handout draws it. The SVG must parse as XML, hold the
traced numbers, and colour them as the handout does: forward values green, above the wire; gradients
red, below it."""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from traces.svg import GREEN, MAX_WIDTH, RED, format_array, graph_svg, layout, write_svg
from traces.trace import chain_graph, network_graph, warmup_graph
from layers import Linear, SoftmaxCrossEntropyLoss, Tanh

SVG = "{http://www.w3.org/2000/svg}"
NUMBER = r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?"


def texts(svg_text, role):
    """{wire name: (fill, y of the head line, head text)} for every label of ``role`` ("value" or "grad")."""
    out = {}
    for el in ET.fromstring(svg_text).iter(f"{SVG}text"):
        if el.get("data-role") == role and el.get("data-part") == "head":
            out[el.get("data-wire")] = (el.get("fill"), float(el.get("y")), el.text)
    return out


def grids(svg_text, role):
    """{wire name: rows of cell texts} for every label of ``role`` drawn as a grid (an array)."""
    cells = {}
    for el in ET.fromstring(svg_text).iter(f"{SVG}text"):
        if el.get("data-role") == role and el.get("data-row") is not None:
            cells.setdefault(el.get("data-wire"), {})[(int(el.get("data-row")), int(el.get("data-col")))] = el.text
    out = {}
    for wire, grid in cells.items():
        rows = 1 + max(i for i, _ in grid)
        out[wire] = [[grid[i, j] for j in range(1 + max(j for r, j in grid if r == i))] for i in range(rows)]
    return out


def parse_label(text):
    """"h (4, 3) =" -> ("h", (4, 3), []); "q = 3" -> ("q", (), [3.0])."""
    left, right = text.split("=", 1)
    m = re.search(r"\(([\d, ]*)\)\s*$", left.strip())
    shape = tuple(int(s) for s in m.group(1).replace(" ", "").split(",") if s) if m else ()
    name = left[:m.start()].strip() if m else left.strip()
    return name, shape, [float(v) for v in re.findall(NUMBER, right)]


def numbers_match(svg_text, graph):
    """True when every green and red label shows its wire's traced shape and, in its grid, the array's leading
    rows and columns, rows as rows (a scalar: its value)."""
    for role, attr in (("value", "value"), ("grad", "grad")):
        shown_grids = grids(svg_text, role)
        for wire, (_, _, text) in texts(svg_text, role).items():
            array = np.asarray(getattr(graph.wires[wire], attr))
            _, shape, scalar = parse_label(text)
            if shape != array.shape:
                return False
            if array.ndim == 0:
                if not np.allclose(scalar, [float(array)], rtol=5e-4, atol=1e-12):
                    return False
                continue
            matrix = array.reshape(1, -1) if array.ndim == 1 else array.reshape(len(array), -1)
            for i, row in enumerate(shown_grids[wire]):
                numbers = [float(c) for c in row if c != "…"]
                if not numbers:
                    continue
                if not np.allclose(numbers, matrix[i, :len(numbers)], rtol=5e-4, atol=1e-12):
                    return False
    return True


def is_green(colour):
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return g > 2 * max(r, b) and g >= 0x60


def is_red(colour):
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return r > 2 * max(g, b) and r >= 0x90


def test_the_colours_are_the_handouts():
    assert is_green(GREEN) and is_red(RED)
    assert not is_green(RED) and not is_red(GREEN)  # the two predicates can tell them apart


def test_warmup_svg_parses_and_holds_the_handouts_numbers_in_green_and_red():
    g = warmup_graph()
    svg = graph_svg(g)
    green, red = texts(svg, "value"), texts(svg, "grad")
    assert set(green) == set(red) == {"x", "y", "q", "z", "f"}
    assert {k: parse_label(v[2])[2] for k, v in green.items()} == {"x": [-2], "y": [5], "q": [3], "z": [-4], "f": [-12]}
    assert {k: parse_label(v[2])[2] for k, v in red.items()} == {"x": [-4], "y": [-4], "q": [-4], "z": [3], "f": [1]}
    assert red["x"][2] == "df/dx = -4" and green["q"][2] == "q = 3"
    assert all(fill == GREEN for fill, _, _ in green.values()) and all(fill == RED for fill, _, _ in red.values())
    ops = [el.text for el in ET.fromstring(svg).iter(f"{SVG}text") if el.get("data-role") == "op"]
    assert ops == ["+", "×"]


@pytest.mark.parametrize("make", [warmup_graph, lambda: network_graph(seed=0)[0]], ids=["warm-up", "network"])
def test_green_sits_above_its_wire_and_red_below(make):
    g = make()
    svg = graph_svg(g)
    rows = {name: pos["y"] for name, pos in layout(g)["wires"].items()}
    for wire, (_, y, _) in texts(svg, "value").items():
        assert y < rows[wire], wire
    for wire, (_, y, _) in texts(svg, "grad").items():
        assert y > rows[wire], wire


def test_network_svg_holds_the_traced_numbers_and_every_name():
    g, _ = network_graph(seed=0)
    svg = graph_svg(g)
    assert numbers_match(svg, g)
    green, red = texts(svg, "value"), texts(svg, "grad")
    assert {"w1", "w2", "b", "ℓ", "X", "X·w1", "h", "z", "p", "y"} == set(green)
    assert "y" not in red and set(red) == set(green) - {"y"}  # labels get no gradient
    assert parse_label(green["ℓ"][2])[2] == pytest.approx([float(g.value("ℓ"))], rel=5e-4)
    # the shape rule, visible: each red label has the shape of its green one
    for wire in red:
        assert parse_label(red[wire][2])[1] == parse_label(green[wire][2])[1]
    everything = "".join(ET.fromstring(svg).itertext())
    for step in ("step 1", "step 2", "step 3", "step 4", "step 5"):
        assert step in everything


def test_the_number_check_itself_catches_a_wrong_picture():
    g, _ = network_graph(seed=0)
    svg = graph_svg(g)
    g.wires["h"].value = g.wires["h"].value + 0.01  # the picture no longer shows these numbers
    assert not numbers_match(svg, g)


def test_a_chain_of_layers_is_drawn_with_its_parameter_names(rng):
    class Chain:
        layers = [Linear(2, 4, rng=rng), Tanh(), Linear(4, 3, rng=rng)]
        criterion = SoftmaxCrossEntropyLoss()
        params = {f"{i}.{k}": v for i, layer in enumerate(layers) for k, v in layer.params.items()}

    g = chain_graph(Chain(), rng.standard_normal((5, 2)), np.array([0, 1, 2, 0, 1]), title="2-4-3 tanh")
    svg = graph_svg(g)
    assert numbers_match(svg, g)
    assert {"0.W", "0.b", "2.W", "2.b", "ℓ"} <= set(texts(svg, "value"))
    assert "dℓ/d(0.W) (2, 4) =" in "".join(ET.fromstring(svg).itertext())


def test_arrays_are_small_grids_rows_as_rows():
    assert format_array(np.array(3.0)) == ("", [["3"]])
    assert format_array(np.array([[1.0, -0.0], [2.5, 1e-7]])) == ("(2, 2)", [["1", "0"], ["2.5", "1e-07"]])
    assert format_array(np.arange(3.0)) == ("(3,)", [["0", "1", "2"]])
    shape, rows = format_array(np.arange(30.0).reshape(6, 5))  # beyond 4 × 4: "…" for the rest
    assert shape == "(6, 5)" and rows[:4] == [[str(5 * i + j) for j in range(4)] + ["…"] for i in range(4)]
    assert rows[4] == ["…"] * 5 and len(rows) == 5
    assert format_array(np.arange(10.0).reshape(5, 2))[1][-1] == ["…", "…"]


def test_the_network_picture_draws_w1_row_by_row():
    g, _ = network_graph(seed=0)
    w1 = g.value("w1")
    shown = grids(graph_svg(g), "value")["w1"]
    assert len(shown) == 2 and all(len(row) == 3 for row in shown)  # (2, 3): two rows of three
    np.testing.assert_allclose([[float(c) for c in row] for row in shown], w1, rtol=5e-4)
    assert float(shown[1][0]) == pytest.approx(w1[1, 0], rel=5e-4)  # the entry the flat list put fourth


@pytest.mark.parametrize("hidden, classes", [((3,), 2), ((16, 16), 3), ((8, 8, 8, 8), 4)])
def test_pictures_fit_a_screen(hidden, classes):
    from model.builders import Architecture

    net = Architecture(hidden=hidden, activation="tanh", standardize=False).build(2, classes, seed=0)
    for graph in (network_graph(seed=0)[0], chain_graph(net, seed=0), warmup_graph()):
        svg = graph_svg(graph)
        root = ET.fromstring(svg)
        width = float(root.get("width"))
        assert width <= MAX_WIDTH, (graph.title, width)
        drawn = [float(el.get("x")) for el in root.iter(f"{SVG}text") if el.get("text-anchor") == "end"]
        assert max(drawn, default=0) <= width  # every right-aligned grid cell lies inside the picture


def test_a_long_chain_wraps_into_lanes_without_crossing_its_labels():
    from model.builders import Architecture

    net = Architecture(hidden=(8, 8, 8, 8), activation="tanh", standardize=False).build(2, 4, seed=0)
    g = chain_graph(net, seed=0)
    lay = layout(g)
    assert len(lay["lanes"]) >= 2 and lay["width"] <= MAX_WIDTH
    wrapped = [name for name, pos in lay["wires"].items() if pos["route"]]
    assert wrapped  # a wire turns down and back to the left into the next lane
    for name in wrapped:
        route = lay["wires"][name]["route"]
        assert route[0][1] < route[-1][1]  # it goes down, to the lane below


@pytest.mark.parametrize("make", [warmup_graph, lambda: network_graph(seed=0)[0]], ids=["warm-up", "network"])
def test_only_presentation_attributes_so_every_renderer_draws_the_same(make):
    svg = graph_svg(make())
    root = ET.fromstring(svg)
    assert "<style" not in svg and "class=" not in svg and "marker" not in svg and "tspan" not in svg
    assert "%" not in svg  # ImageMagick's renderer takes no percentages
    for el in root.iter(f"{SVG}text"):
        assert el.get("fill") and el.get("stroke") == "none" and el.get("font-family") and el.get("font-size")
        assert len(list(el)) == 0  # one line of text, no children
    arrows = [el for el in root.iter(f"{SVG}polygon")]
    ended = [el for el in root.iter(f"{SVG}polyline") if el.get("stroke") == "#222222"]
    assert len(arrows) == len(ended) - 1  # every wire into a node ends in a drawn arrowhead (the output has none)
    legend = [el for el in root.iter(f"{SVG}text") if el.get("data-role") == "legend"]
    assert [el.get("fill") for el in legend] == [GREEN, RED, "#666666"]
    assert len({el.get("y") for el in legend}) == 3  # three lines, never printed over each other


def test_write_svg_writes_a_whole_file_and_nothing_else(tmp_path):
    path = write_svg(warmup_graph(), tmp_path / "pictures" / "warmup.svg")
    ET.parse(path)  # valid XML, read from disk
    assert path.read_bytes().startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    assert [p.name for p in path.parent.iterdir()] == ["warmup.svg"]


def test_names_that_need_escaping_stay_valid_xml():
    g = warmup_graph()
    g.title = 'a <title> with "quotes" & ampersands'
    root = ET.fromstring(graph_svg(g))
    assert root.find(f"{SVG}title").text == g.title


def test_the_picture_takes_the_graph_and_never_imports_it_back():
    import ast
    import inspect

    import traces.svg

    tree = ast.parse(inspect.getsource(traces.svg))
    imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert not imported & {"graph", "traces.graph"}, imported  # traces.graph imports svg for _repr_svg_
