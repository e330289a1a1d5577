"""``--trace --svg``: the traced graph drawn as the handout draws it. The SVG must parse as XML, hold the
traced numbers, and colour them as the handout does: forward values green, above the wire; gradients
red, below it."""

import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from checking.svg import GREEN, RED, format_array, graph_svg, layout, write_svg
from checking.trace import chain_graph, network_graph, warmup_graph
from layers import Linear, SoftmaxCrossEntropyLoss, Tanh

SVG = "{http://www.w3.org/2000/svg}"
NUMBER = r"-?\d+(?:\.\d+)?(?:e[+-]?\d+)?"


def texts(svg_text, cls):
    """{wire name: (fill, y, full text)} for every <text class=cls data-wire=...>."""
    root = ET.fromstring(svg_text)
    out = {}
    for el in root.iter(f"{SVG}text"):
        if el.get("class") == cls:
            out[el.get("data-wire")] = (el.get("fill"), float(el.get("y")), "".join(el.itertext()))
    return out


def parse_label(text):
    """"h (4, 3) =[0.3257, 0, …]" -> ("h", (4, 3), [0.3257, 0]); "q = 3" -> ("q", (), [3.0])."""
    left, right = text.split("=", 1)
    m = re.search(r"\(([\d, ]*)\)\s*$", left.strip())
    shape = tuple(int(s) for s in m.group(1).replace(" ", "").split(",") if s) if m else ()
    name = left[:m.start()].strip() if m else left.strip()
    return name, shape, [float(v) for v in re.findall(NUMBER, right)]


def numbers_match(svg_text, graph):
    """True when every green and red label shows its wire's traced shape and leading entries."""
    for cls, attr in (("value", "value"), ("grad", "grad")):
        for wire, (_, _, text) in texts(svg_text, cls).items():
            array = np.asarray(getattr(graph.wires[wire], attr))
            _, shape, shown = parse_label(text)
            if shape != array.shape or not shown:
                return False
            if not np.allclose(shown, array.ravel()[:len(shown)], rtol=5e-4, atol=1e-12):
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
    ops = [el.text for el in ET.fromstring(svg).iter(f"{SVG}text") if el.get("class") == "op"]
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


def test_arrays_show_their_shape_and_a_few_entries():
    assert format_array(np.array(3.0)) == ("", "3")
    assert format_array(np.array([[1.0, -0.0], [2.5, 1e-7]])) == ("(2, 2)", "[1, 0, 2.5, 1e-07]")
    assert format_array(np.arange(10.0).reshape(5, 2)) == ("(5, 2)", "[0, 1, 2, 3, …]")


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
