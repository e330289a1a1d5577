"""Rich display for Jupyter, with no new dependency: a traced graph shows itself as its SVG circuit
(``_repr_svg_``), a check report as an HTML table with coloured verdicts and the hints (``_repr_html_``). Printed,
both stay the plain text they were."""

import xml.etree.ElementTree as ET
from html.parser import HTMLParser

import numpy as np

from checking.checker import check_layer
from checking.report import VERDICT_COLOURS
from traces.svg import graph_svg
from traces.trace import network_graph, warmup_graph
from layers import Sigmoid, Tanh


class TanhTimesThree(Tanh):
    def backward(self, upstream):
        return 3 * super().backward(upstream)


class Cells(HTMLParser):
    """The rows of an HTML table as lists of (text, style of the cell's coloured element or the cell)."""

    def __init__(self):
        super().__init__()
        self.rows, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self.rows[-1].append(["", dict(attrs).get("style", "")])
        elif tag == "b" and self.rows and self.rows[-1]:
            self.rows[-1][-1][1] += ";" + dict(attrs).get("style", "")

    def handle_endtag(self, tag):
        self.tags.pop()

    def handle_data(self, data):
        if self.rows and self.rows[-1] and ("td" in self.tags or "th" in self.tags):
            self.rows[-1][-1][0] += data


def test_a_traced_graph_shows_itself_as_its_svg_circuit():
    for graph in (warmup_graph(), network_graph(seed=0)[0]):
        svg = graph._repr_svg_()
        assert svg == graph_svg(graph)
        assert ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
    assert "Graph(title=" in repr(warmup_graph())  # plain text elsewhere is unchanged


def test_a_report_shows_itself_as_a_table_with_coloured_verdicts_and_hints(rng):
    x = rng.standard_normal((6, 4))
    report = check_layer(TanhTimesThree(), x)
    report.extend(check_layer(Sigmoid(), x))
    html = report._repr_html_()
    parser = Cells()
    parser.feed(html)
    head, failing, hint, passing = parser.rows
    assert [text for text, _ in head][:2] == ["check", "tensor"] and head[-1][0] == "verdict"
    assert failing[0][0] == "TanhTimesThree" and failing[-1][0] == "fail"
    assert f"color:{VERDICT_COLOURS['fail']}" in failing[-1][1]
    assert hint[0][0].startswith("↳ median analytic/numeric 3") and "off by a constant factor" in hint[0][0]
    assert passing[0][0] == "Sigmoid" and f"color:{VERDICT_COLOURS['pass']}" in passing[-1][1]
    assert "FAILED" in html and "note: the upstream gradient" in html
    assert str(report) == report.table() + "\n" + report.summary()  # the text is what it was


def test_the_html_escapes_what_the_user_named(rng):
    report = check_layer(Sigmoid(), rng.standard_normal((3, 2)), check="<b>&mine")
    html = report._repr_html_()
    assert "&lt;b&gt;&amp;mine" in html and "<b>&mine" not in html


def test_every_verdict_has_a_colour():
    from checking.report import VERDICTS

    assert set(VERDICT_COLOURS) == set(VERDICTS)
    assert all(len(c) == 7 and c.startswith("#") for c in VERDICT_COLOURS.values())
    np.testing.assert_equal(len(set(VERDICT_COLOURS.values())), 4)  # pass and exact share green
