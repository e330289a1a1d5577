"""The layout of a CSV file, from its first record: the delimiter, the header, the label and feature columns.

A column is named by a header name or a 0-based index (negative from the end); the header is recognised
as ``is_header`` says. What a number is, here and everywhere a field is read: ``number_problem`` (features)
and ``plain_number`` (labels).
"""

import csv
import math
import re
from dataclasses import dataclass


from layers.validation import is_integer

from .encoding import is_missing

#: Delimiters recognised from the first non-blank line, which decides between them by the number of
#: fields each gives; on a tie the earlier wins (a semicolon file with decimal commas splits as often
#: on ',' as on ';').
DELIMITERS = ("\t", ";", ",")
#: The label column when none is named: the last one.
LAST = -1
#: Features of this magnitude or more are refused: standardising squares them and sums the N
#: squares, which overflows float64 (max ≈ 1.8e308) from magnitudes of about 1e154.
MAX_MAGNITUDE = 1e150
#: From this magnitude on float64 cannot tell every integer from the next: labels this large stay text.
INEXACT = 2.0 ** 53
DECIMAL_COMMA = re.compile(r"[+-]?[0-9]*,[0-9]+")
_INTEGER_TEXT = re.compile(r"[+-]?[0-9]+")


@dataclass
class Layout:
    """What the first record says about the file.

    Attributes
    ----------
    width : int, fields per line (a trailing empty one included)
    trailing : bool, every line ends with a delimiter (its empty last field is dropped)
    header : int or None, the line of the header
    label : int or None, the label's column (0-based)
    features : list of int, the feature columns, in the order read
    feature_names : list of str, their names (``x0``, ``x1``, … without a header)
    label_name : str, the label column's name (``label`` without a header)
    ident : int or None, a column read past as text, each row's cell kept (``--id``)
    ident_name : str, its name (``id`` without a header)
    """

    width: int
    trailing: bool
    header: object
    label: object
    features: list
    feature_names: list
    label_name: str
    ident: object = None
    ident_name: str = "id"

    @property
    def d(self):
        return len(self.features)


def make_layout(path, first, below, asked, ident=None):
    """The ``Layout`` of a file whose first non-blank record is ``first``, ``(line, row)``, and the records
    ``below`` it (a sample, for recognising a header), as ``asked``: ``read_table``'s ``(label, features,
    choose, header)`` (``header`` True or False says outright whether the first record is one); ``ident`` a
    column to read past as text (a name or a 0-based index), which is neither the label nor a feature."""
    lineno, row = first
    width = len(row)
    trailing = width > 1 and not row[-1].strip()
    used = width - trailing
    where = f"{path}: line {lineno}"
    below = [r[:used] for r in below if len(r) == width]
    names, label, features = header_names(row[:used], below, asked, where)
    label_col = None if label is None else column(label, names, used, where, "label")
    ident_col = _ident_column(ident, label_col, names, used, where)
    feature_cols = feature_columns(features, label_col, names, used, where, ident_col)
    if names is None:
        return Layout(width, trailing, None, label_col, feature_cols, default_feature_names(len(feature_cols)), "label",
                      ident_col)
    feature_names = [names[c] for c in feature_cols]
    seen = set()
    twice = next((n for n in feature_names if n in seen or seen.add(n)), None)  # one pass: wide headers too
    if twice is not None:
        raise ValueError(f"{where}: the feature name {twice!r} appears more than once in the header")
    return Layout(width, trailing, lineno, label_col, feature_cols, feature_names,
                  "label" if label_col is None else names[label_col], ident_col,
                  "id" if ident_col is None else names[ident_col])


def _ident_column(ident, label_col, names, used, where):
    """The 0-based column of ``ident`` (None: none), which must not be the label's."""
    ident_col = None if ident is None else column(ident, names, used, where, "id")
    if ident_col is not None and ident_col == label_col:
        raise ValueError(f"{where}: {_named(ident_col, names)} cannot be both the label and the id column")
    return ident_col


def header_names(row, below, asked, where):
    """``(names or None, label, features)``: the header's names, one line each (a quoted name may span lines),
    if the first record is a header; ``asked`` is ``(label, features, choose, header)``, and ``label`` and
    ``features`` come back as ``choose`` picks them, if given (its ``names`` attribute marks a header)."""
    label, features, choose, header = asked
    cells = [" ".join(field.split()) for field in row]
    if header is None:
        header = is_header(cells, below, *_hints(label, features, choose, len(cells)))
    names = cells if header else None
    if names is not None and "" in names:
        raise ValueError(f"{where}, {column_words(names.index(''))}: empty column name in the header")
    return (names, *choose(names, len(row))) if choose else (names, label, features)


def _hints(label, features, choose, width):
    """``(marks, label)``: the names asked for (a first row holding them all is a header) and the label's column
    (0-based, or None) as far as the command says it before the header is known (``choose``: the last)."""
    if choose:
        return list(getattr(choose, "names", None) or []), width - 1
    marks = [s for s in [label, *(features or [])] if isinstance(s, str) and not _INTEGER_TEXT.fullmatch(s.strip())]
    index = label if is_integer(label) else int(label) if label not in marks and isinstance(label, str) else None
    return marks, index % width if index is not None and -width <= index < width else None


def feature_columns(features, label_col, names, used, where, ident_col=None):
    """The 0-based feature columns ``features`` names (None: every column but the label's and the id's), checked."""
    if features is None:
        cols = [c for c in range(used) if c not in (label_col, ident_col)]
    else:
        cols = [column(f, names, used, where, "feature") for f in features]
    if ident_col is not None and ident_col in cols:
        raise ValueError(f"{where}: {_named(ident_col, names)} cannot be both the id and one of the features")
    if not cols:
        need = "at least one feature column and a label" if label_col is not None else "at least one column"
        raise ValueError(f"{where}: need {need}, got {used} column")
    if label_col in cols:
        raise ValueError(f"{where}: {_named(label_col, names)} cannot be both the label and one of the features")
    if len(set(cols)) != len(cols):
        raise ValueError(f"{where}: a feature column is named twice")
    return cols


def is_header(cells, below, marks, label):
    """Whether the first record ``cells`` is a header: it holds every name in ``marks`` (the columns asked for by
    name), or its types differ from those of the records ``below``: a field that is no number above a column of
    numbers is a name, which decides in the ``label`` column (an index, or None); elsewhere such names must
    outnumber the numbers above numbers (a tie is data: a bad first cell is refused rather than lost). A missing
    cell (``data.encoding.is_missing``) is no evidence: a column of numbers may have gaps (not only gaps), and a
    first field that is missing is neither a name nor a number. With nothing below: when none of its fields but
    the label's is a number."""
    if marks and all(s in cells for s in marks):
        return True
    number = [looks_numeric(c) for c in cells]
    if not below:
        return not any(n for i, n in enumerate(number) if i != label)
    under = [_decides(c, [r[i] for r in below]) for i, c in enumerate(cells)]
    if label is not None and under[label] and not number[label]:
        return True
    above = [n for n, u in zip(number, under, strict=True) if u]  # the first fields over columns of numbers
    return above.count(False) > above.count(True)


def _decides(first, fields):
    """Whether a column's ``first`` field says name or number to ``is_header``: it is not missing, and the column's
    other ``fields`` are numbers, some perhaps missing but not all."""
    present = [f for f in fields if not is_missing(f)]
    return not is_missing(first) and bool(present) and all(looks_numeric(f) for f in present)


def column(spec, names, used, where, role):
    """The 0-based column ``spec`` names: a header name, else an index (negative from the end)."""
    if isinstance(spec, str):
        text = " ".join(spec.split())
        if names is not None and text in names:
            if names.count(text) > 1:
                cols = ", ".join(str(i) for i, n in enumerate(names) if n == text)
                raise ValueError(f"{where}: the {role} column {text!r} appears more than once in the header "
                                 f"(columns {cols}, counting from 0)")
            return names.index(text)
        if not _INTEGER_TEXT.fullmatch(text):
            if names is None:
                raise ValueError(f"{where}: the file has no header, so no column is named {text!r}; "
                                 f"give the {role} column's 0-based index")
            raise ValueError(f"{where}: no column is named {text!r}; the header has {listing(names)}")
        spec = int(text)
    if not is_integer(spec):
        raise TypeError(f"a column is a name or a 0-based index, got {spec!r}")
    if not -used <= spec < used:
        raise ValueError(f"{where}: there is no {role} column {spec}: the file has {used} columns "
                         f"(0 to {used - 1}, or -1 for the last)")
    return int(spec) % used


def column_words(c, name=None):
    """A column as every message names it, counted as ``--label`` and ``--features`` count them: ``column 2
    ('island', counting from 0)``, or without a ``name`` ``column 2 (counting from 0)``."""
    return f"column {c} ({name!r}, counting from 0)" if name else f"column {c} (counting from 0)"


def _named(c, names):
    return column_words(c, names[c] if names else None)


def listing(names, most=12):
    shown = ", ".join(repr(n) for n in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def sniff_delimiter(line):
    """The candidate that splits ``line`` into the most fields (ties: tab, then ';', then ','), judged on its
    first 100,000 characters (below the csv module's field limit: a wide line fits no field over it)."""
    return max(DELIMITERS, key=lambda d: _width(line[:100_000], d))


def _width(text, delimiter):
    try:
        return len(next(csv.reader([text], delimiter=delimiter), []))
    except csv.Error:  # a newline outside quotes: a stray quote joined two lines
        return 0


def default_feature_names(d):
    """``["x0", ..., "x{d-1}"]``, the names of columns that have none."""
    return [f"x{j}" for j in range(d)]


def looks_numeric(text):
    """Whether ``text`` reads as a number to ``float()`` or with a decimal comma (then it is no name)."""
    try:
        float(text)
    except ValueError:
        return bool(DECIMAL_COMMA.fullmatch(text.strip()))
    return True


def plain_number(text):
    """The number a label field stands for, or None when it is a name (anything ``number_problem``
    would refuse as a feature: not a number, not finite, not plain) or too large to be exact (``INEXACT``)."""
    return None if number_problem(text, limit=INEXACT) else float(text)


def number_problem(field, limit=MAX_MAGNITUDE):
    """Why ``field`` is not an acceptable feature value, or "" if it is (surrounding spaces are fine)."""
    text = field.strip()
    if not text:
        return "empty field"
    try:
        value = float(text)
    except ValueError:
        hint = " (decimal commas are not accepted)" if DECIMAL_COMMA.fullmatch(text) else ""
        return f"{text!r} is not a number{hint}"
    if "_" in text:
        return f"{text!r} is not a plain number (digit-group underscores are not accepted)"
    if not field.isascii():
        return f"{field!r} is not a plain number (only ASCII digits and spaces are accepted)"
    if math.isnan(value) or (math.isinf(value) and "n" in text.lower()):
        return f"{text!r} is not finite"
    if math.isinf(value):
        return f"{text!r} overflows float64"
    if abs(value) >= limit:
        bound = f"{limit:.0e}".replace("e+", "e")
        return (f"{text!r} is too large: magnitudes of {bound} or more overflow float64 when "
                f"standardising squares them")
    return ""
