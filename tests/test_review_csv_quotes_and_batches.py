"""Review findings on the one-parser CSV reader: behaviour the reader had before and lost.

The last was wrong before the one parser too: the delimiter was sniffed on the first physical line.
"""


import data.csv_loader as csv_loader
import data.text_lines as text_lines
from data import read_table


def test_a_space_before_a_quote_inside_a_quoted_label_is_kept(tmp_path):
    # Python's csv module (skipinitialspace=True) reads 'x; "y"' and 'x;"y"': two different labels.
    path = tmp_path / "labels.csv"
    path.write_bytes(b'a;b;c\n1;2;"x; ""y"""\n3;4;"x;""y"""\n')
    table = read_table(path)
    assert table.texts == ['x; "y"', 'x;"y"']
    assert table.classification().classes == ['x; "y"', 'x;"y"']


def test_a_space_before_a_quote_inside_a_quoted_header_name_is_kept(tmp_path):
    path = tmp_path / "names.csv"
    path.write_bytes(b'"a, ""q""",b,c\n1,2,0\n3,4,1\n')
    assert read_table(path).feature_names == ['a, "q"', "b"]


def test_a_numeric_header_is_recognised_however_long_its_line(tmp_path, monkeypatch):
    # A batch (and block) shorter than the header line stands in for a header line of BATCH_CHARS (1 MiB) or more,
    # e.g. 200,000 columns named 0, 1, 2, …: the old reader took it as a header; the new one reads it as a
    # row and 'label' becomes a class.
    monkeypatch.setattr(csv_loader, "BATCH_CHARS", 8)
    monkeypatch.setattr(text_lines, "BLOCK", 8)
    path = tmp_path / "wide.csv"
    path.write_bytes(b"0,1,2,label\n1,2,3,0\n4,5,6,1\n")
    table = read_table(path)
    assert table.named and table.label_name == "label"
    assert table.X.shape == (2, 3)


def test_a_first_header_name_quoted_over_two_lines_is_read(tmp_path):
    # read_table's docstring: "a quoted header name may span lines"; it does in any column but the first.
    path = tmp_path / "names.csv"
    path.write_bytes(b'"a\nb",c,d\n1,2,0\n3,4,1\n')
    table = read_table(path)
    assert table.X.shape == (2, 2)
    assert table.label_name == "d"
