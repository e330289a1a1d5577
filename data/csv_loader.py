"""Read a CSV of numbers into arrays, streaming: any column the label, the others (or some) the features.

The file is read in blocks of bytes and split into physical lines (``data.text_lines``). The first record
(a header, or the first row) fixes the layout: the delimiter, the number of fields, which column is the
label and which are the features (``data.csv_layout``). Then one parser, numpy's (``np.loadtxt``), reads
every row, a batch of records (about ``BATCH_CHARS`` bytes) in one call: the lines themselves, or the
records cut from them when a line is blank or holds a quote (a quoted field may span lines). When it refuses
a batch, or a value is out of bounds, bisection with the same parser finds the first record refused, and
the ``csv`` module splits that one record to name what is wrong: the line (physical, 1-based; a cell's own
line in a record over several lines), the column and the value (``csv_layout.number_problem``).

Quotes are read as Python's ``csv`` module reads them (its default dialect, spaces before an opening quote
skipped): ``""`` inside quotes is a quote, and text after a closing quote belongs to the field (``"2"3`` is
``23``). A quote never closed is refused naming the line it opens on.

Parsed rows go straight into arrays sized from the file's length (grown if needed, trimmed at the
end): no list of rows ever exists, so peak memory stays near the size of the final arrays.

Labels are kept as the file writes them: while every label is a number, as float64 values; from the
first label that is not a number on, every label is a name (its text, stripped), as ``Table`` explains.
"""

import bisect
import contextlib
import csv
import functools
import itertools
import math
import os
import re
import stat
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from .csv_layout import (INEXACT, LAST, MAX_MAGNITUDE, column_words, looks_numeric, make_layout, number_problem,
                         plain_number, sniff_delimiter)
from .encoding import MAX_CATEGORIES, MISSING, is_missing
from .table import Table, canonical_text
from .text_lines import Lines, line_blocks

#: Bytes of lines parsed by one call of numpy's parser.
BATCH_CHARS = 1 << 20
#: Records after the first that the header rule compares it with.
SAMPLE_LINES = 32
#: Rows a streaming reader (``iter_feature_blocks``) hands out at a time, at most.
STREAM_ROWS = 1 << 13
#: A text cell that may be a number starts with one of these (then it is read as its number's text).
_NUMBER_START = frozenset("0123456789+-.")
#: A text column of at least this many cells, each another text, is ids, not categories (refused).
ID_CELLS = 20
#: where numpy's parser says it stopped ("... at row 3, column 2"; a conversion counts rows from 0, a field
#: count from 1): a hint that narrows the search for the refused record, never trusted without a parse
ROW_IN_MESSAGE = re.compile(r"\bat row (\d+)\b")


@dataclass(frozen=True)
class Cells:
    """How ``read_table`` and ``iter_feature_blocks`` read cells that are not numbers (default: refuse them).

    ``gaps``: a missing cell (``data.encoding.is_missing``) in a feature column is read as NaN; a missing label
    is refused. ``text``: ``"auto"`` — a feature column holding a cell that is no number at all is a text column,
    each cell read as the code of its text, at most ``MAX_CATEGORIES`` distinct texts — or the positions among
    the features of the columns read as text (any number of texts). ``ident``: a column (name or 0-based index)
    read past as text, each row's cell handed out with its row (``Block.ids``).
    """

    gaps: bool = False
    text: object = ()
    ident: object = None


class Block(NamedTuple):
    """Rows handed out by ``iter_feature_blocks``: ``X (n, D)`` (text columns as codes, NaN missing), ``texts``
    ``{feature position: texts by code}`` so far, ``ids`` (n,) object array of the id column's cells or None."""

    X: np.ndarray
    texts: dict
    ids: object


def load_csv(path):
    """Load a labelled CSV file for classification, the label in the last column.

    ``read_table(path).classification()``: see ``read_table`` for the format and ``Table.classification``
    for the classes.

    Returns
    -------
    Dataset
        ``X (N, D)`` float64, ``y (N,)`` int64 indices into ``classes`` (K >= 2 labels, sorted:
        integers numerically, names lexicographically), ``feature_names`` (D), ``source`` the path.
    """
    return read_table(path).classification()


def read_table(path, label=LAST, features=None, choose=None, header=None, cells=None):
    """Read a CSV file of numeric features and (optionally) a label column, refusing anything malformed
    with a message naming the line and the column.

    Parameters
    ----------
    path : str or path-like
        UTF-8 text; a byte-order mark and CRLF line ends are fine. Fields are separated by commas,
        semicolons or tabs, whichever splits the first non-blank line into the most fields. Fields
        may be quoted (``"0.64"``; a quoted header name may span lines). Blank lines are skipped.
        An optional first row is a header (its names become ``feature_names``): as ``header`` says,
        else when it holds every column ``label`` or ``features`` names, else when its fields' types
        differ from the rows below (``csv_layout.is_header``: ``0,1,2,label`` above numbers is one).
        Every row has as many fields as the first row; an empty last field on every line (a trailing
        delimiter) is dropped. Features: plain decimal numbers,
        finite, of magnitude below 1e150 (no ``1_000``, ``nan``, ``inf``). Labels: numbers or names
        (``setosa``, ``yes``); if any label is not a number, every label is a name.
    label : int, str or None
        The label column: a 0-based index (negative from the end; default -1, the last column), a
        header name (or an integer written as text), or None for a file without labels.
    features : None or list of int or str
        The feature columns, in the order wanted (indices or header names); default every column but
        the label, in the file's order.
    choose : callable or None
        ``choose(names, count) -> (label, features)``, called with the header's names (None without a
        header) and the number of columns once the first record is read: for a reader that picks its
        columns by what the file holds (``label`` and ``features`` are then ignored; a first row that
        holds every name in ``choose.names``, if it has that attribute, is a header).
    header : bool or None
        Whether the first row is a header; None (default): recognised as above.
    cells : Cells or None
        Missing cells and text columns read rather than refused, as ``Cells`` says (default: refused).

    Returns
    -------
    Table
        ``X (N, D)`` float64 and the labels as written; ``Table.classification()`` and
        ``Table.regression()`` make a ``Dataset`` of it. With ``cells``: NaN for a missing cell, a text column's
        codes, its texts in ``Table.column_texts``.

    Raises
    ------
    ValueError
        Naming the file and the line (and the column, for a cell): an empty file, a header with no
        rows, no feature column, a column named that is not in the header, a wrong field count, an
        empty field, a value that is not a plain finite number or is too large, a NUL byte or a byte
        that is not UTF-8, a quote never closed, a line over MAX_LINE_CHARS.
    OSError
        The file cannot be opened or read.
    """
    path = str(path)
    with open(path, "rb") as fh:
        reader = _Reader(path, fh, (label, features, choose, header), cells or Cells())
        store = _Store(reader.layout.d, lambda: _expected_rows(fh, reader))
        for X, labels, _ in reader.batches():
            store.add(X, labels, reader)
        return store.table(reader)


def iter_feature_blocks(path, features=None, choose=None, rows=None, header=None, cells=None):
    """The feature rows of a CSV file, a ``Block`` of at most ``rows`` rows (default ``STREAM_ROWS``) at a time.

    For predicting on files of any length in constant memory. Arguments as ``read_table``'s, without a
    label: every column that is not a feature (or ``cells.ident``) is ignored; ``cells.text`` cannot be
    ``"auto"`` (a ``ValueError``: the blocks handed out before a column's first text would hold numbers). The
    first item is the ``Layout`` (the names and the columns chosen), then the blocks.
    """
    if cells is not None and cells.text == "auto":
        raise ValueError("iter_feature_blocks reads the text columns it is told of (Cells.text as positions), "
                         "not 'auto'")
    path = str(path)
    with open(path, "rb") as fh:
        reader = _Reader(path, fh, (None, features, choose, header), cells or Cells())
        yield reader.layout
        rows, pending, ids = rows or STREAM_ROWS, np.empty((0, reader.layout.d)), np.empty(0, dtype=object)
        for X, _, block_ids in reader.batches():
            pending = np.concatenate([pending, X])
            ids = ids if block_ids is None else np.concatenate([ids, block_ids])
            while len(pending) >= rows:
                yield Block(pending[:rows], reader.column_texts(), ids[:rows] if len(ids) else None)
                pending, ids = pending[rows:], ids[rows:]
        if len(pending):
            yield Block(pending, reader.column_texts(), ids if len(ids) else None)


def _expected_rows(fh, reader):
    """Rows the file probably holds, from its size and the first lines' length (None if it has no size)."""
    st = os.fstat(fh.fileno())
    if not stat.S_ISREG(st.st_mode):
        return None
    mean_chars = reader.lines.chars_seen / max(reader.lines.lines_seen, 1)
    return int(st.st_size / max(mean_chars, 1.0) * 1.02) + 16


def _patterns(delimiter):
    """``(record, before_open, field)``: regular expressions for a record with its line end as numpy's parser
    and the ``csv`` module cut it (a field that opens with a quote runs to the next lone quote, across lines;
    ``""`` in it is a quote; text after its closing quote belongs to the field), for the fields before a quote
    never closed, and for one field of a record: its leading spaces, the rest, and what ends it."""
    d = re.escape(delimiter)
    body = rf'"[^"]*+(?:""[^"]*+)*+"[^{d}\r\n]*+|(?!")[^{d}\r\n]*+'
    field = rf' *+(?:{body})'
    return (re.compile(rf'{field}(?:{d}{field})*+(?:\r\n|\r|\n|\Z)'), re.compile(rf'(?:{field}{d})*+ *+'),
            re.compile(rf'( *+)({body})({d}|\r\n|\r|\n|\Z)'))


def _line_of(line, row, column):
    """The line that field ``column`` of a record starting on ``line``, split as ``row``, is on."""
    return line + sum(f.count("\n") + f.count("\r") - f.count("\r\n") for f in row[:column])


def _name_code(names, field, gaps=False):
    """The code of a label name among ``names``, a new one if it is not yet there (``_Reader._converters``); with
    ``gaps`` a missing label is refused, as an empty one always is."""
    text = field.strip()
    if not text or gaps and is_missing(text):
        raise ValueError("empty label")
    return names.setdefault(text, len(names))


def _ignored(_field):
    return 0.0


def _gap_or_number(field):
    """A feature cell of a column with gaps: NaN when missing, else its number (``_Reader._refuse`` names a bad
    one once numpy's parser refuses it). Called for every cell of the column: the common cases first."""
    if field in MISSING:
        return math.nan
    if "_" in field or not field.isascii():
        raise ValueError(field)
    try:
        return float(field)
    except ValueError:
        if is_missing(field):
            return math.nan
        raise


def _id_code(ids, field):
    """The code of an id cell's text among the batch's ``ids`` (any text, empty too)."""
    return ids.setdefault(field.strip(), len(ids))


def _text_code(codes, seen, field):
    """A text column's cell: its code, NaN when missing. ``seen`` remembers the code of each cell as written;
    a cell not seen yet is read by ``_new_text_code``."""
    code = seen.get(field)
    if code is None:
        code = seen[field] = _new_text_code(codes, field)
    return code


def _new_text_code(codes, field):
    """NaN when ``field`` is missing, else the code of its text among ``codes`` (a new one if it is new; a number
    is read as its number's text, ``1`` for ``1.0``)."""
    text = field.strip()
    if is_missing(text):
        return math.nan
    if text[0] in _NUMBER_START and (value := plain_number(text)) is not None:
        text = canonical_text(value)
    return codes.setdefault(text, len(codes))


def _empty(field):
    """The trailing empty field, which must stay empty (``_Reader._wrong_width`` says why when it is not)."""
    if field.strip():
        raise ValueError(field)
    return 0.0


@dataclass
class _Batch:
    """Records for numpy's parser and the line each starts on: the lines themselves (bytes; ``starts`` a
    range) when every record is one line, else the records cut from them (str)."""

    texts: list
    starts: object

    def part(self, i, j=None):
        return _Batch(self.texts[i:j], self.starts[i:j])

    def joined(self, other):
        """This batch and ``other`` as one batch of records (lines decoded)."""
        texts = [text.decode() if isinstance(text, bytes) else text for text in self.texts + other.texts]
        return _Batch(texts, [*self.starts, *other.starts])


class _Reader:
    """One pass over one file: the layout from the first record, then the rows batch by batch.

    ``batches()`` yields ``(X (n, D), labels, ids)`` with ``labels`` None (no label column), a float64 array
    (while every label is a number: ``numeric``) or an int64 array of codes into ``texts``; ``ids`` None or the
    id column's cells. With ``cells`` (``Cells``), the columns read with gaps are ``gap_columns`` and the text
    columns ``text_codes`` (column -> {text: code}); a column that turned text after ``rows`` had been read has
    ``text_from[column] = (rows, line of its first text)``.
    """

    def __init__(self, path, fh, asked, cells):
        self.path = path
        self.lines, lines, first = Lines(line_blocks(fh, path)), [], None
        while first is None:  # the first line that is not blank says the delimiter
            more, _ = self.lines.batch(BATCH_CHARS)
            if not more:
                raise ValueError(f"{path}: the file is empty")
            lines += more
            first = next((i for i, line in enumerate(lines) if line.strip()), None)
        self.lines.put_back(lines)
        record = lines[first].decode()
        for line in lines[first + 1:]:  # a quote left open: the first record goes on (a name quoted over lines)
            if record.count('"') % 2 == 0:
                break
            record += line.decode()
        self.delimiter = sniff_delimiter(record)
        self.record, self.before_open, self.field = _patterns(self.delimiter)
        batch = self._next_batch()
        while len(batch.texts) == 1 and (more := self._next_batch()) is not None:  # a first line a batch long
            batch = batch.joined(more)  # the header rule compares it with the rows below it
        below = []  # the records after the first, for the header rule
        with contextlib.suppress(ValueError):  # the records before a malformed one; the error comes in its turn
            below.extend(self._fields(batch, i) for i in range(1, min(len(batch.texts), SAMPLE_LINES + 1)))
        lineno = batch.starts[0]
        self.layout = make_layout(path, (lineno, self._fields(batch, 0)), below, asked, cells.ident)
        self.pending = batch.part(1) if self.layout.header else batch
        self.first_data = None if self.layout.header else lineno
        cols = self.layout.features  # a slice when they are in a row: a view, not a copy
        self.columns = slice(cols[0], cols[-1] + 1) if cols == list(range(cols[0], cols[-1] + 1)) else cols
        self.numeric = True  # the labels are numbers until one is not
        self.texts, self.codes, self.text_lines = [], {}, []  # label names, text -> code, the line of each
        self.non_integral = None  # (line, text) of the first numeric label that is not an integer
        self.refused_near = None  # the record numpy's last refusal named (ROW_IN_MESSAGE), or None
        self._start_cells(cells)

    def _start_cells(self, cells):
        """How cells that are no numbers are read, before the first row (``Cells``)."""
        self.cells, self.rows, self.gap_columns, self.text_from = cells, 0, set(), {}
        forced = [] if cells.text == "auto" else [self.layout.features[j] for j in cells.text]
        self.text_codes, self.text_seen = {c: {} for c in forced}, {}  # text column -> {text: code}, {cell: code}

    def column_texts(self):
        """``{feature position: texts in the order of their codes}`` of the text columns."""
        return {j: list(self.text_codes[c]) for j, c in enumerate(self.layout.features) if c in self.text_codes}

    # ---------------------------------------------------------------- records

    def _next_batch(self):
        """The next batch of whole records (None at the end of the file): the lines themselves when none is
        blank or holds a quote, else the records cut from them."""
        first = self.lines.consumed + 1
        lines, quoted = self.lines.batch(BATCH_CHARS)
        if not lines:
            return None
        if quoted or any(map(bytes.isspace, lines)):
            return self._records(lines, first)
        return _Batch(lines, range(first, first + len(lines)))

    def _records(self, lines, first):
        """The non-blank records that end in ``lines`` (from line ``first`` on). The lines of a record still
        open after them are handed back for the next batch; more are read while no record ends."""
        while True:
            decoded = list(map(bytes.decode, lines))
            text, ends = "".join(decoded), list(itertools.accumulate(map(len, decoded)))
            texts, starts, pos = [], [], 0
            while pos < len(text) and (match := self.record.match(text, pos)):
                if not match.group().isspace() or self.delimiter in match.group():
                    texts.append(self._unspaced(match.group()) if ' "' in match.group() else match.group())
                    starts.append(first + bisect.bisect_right(ends, pos))
                pos = match.end()
            if pos == len(text) or texts:
                break
            more, _ = self.lines.batch(BATCH_CHARS)
            self._refuse_open_quote(text, pos, first, ends, more)
            lines += more
        self.lines.put_back(lines[bisect.bisect_right(ends, pos):])
        return _Batch(texts, starts)

    def _unspaced(self, record):
        """``record`` without the spaces before a field's opening quote, which the ``csv`` module skips
        (``skipinitialspace``) and numpy's parser would keep; spaces inside a quoted field stay."""
        return "".join(body + end if body.startswith('"') else spaces + body + end
                       for spaces, body, end in self.field.findall(record))

    def _refuse_open_quote(self, text, pos, first, ends, more):
        """Refuse the record at ``pos``, whose quote is still open at the end of ``text``, when nothing follows
        (``more`` empty) or the quoted field is over the csv module's field limit already."""
        quote, limit = self.before_open.match(text, pos).end(), csv.field_size_limit()
        opened = f"the quote opened on line {first + bisect.bisect_right(ends, quote)}"
        if not more:
            raise ValueError(f"{self.path}: line {first + len(ends) - 1}: malformed CSV: unexpected end of data: "
                             f"{opened} is never closed")
        if len(text) - quote > limit:
            raise ValueError(f"{self.path}: line {first + bisect.bisect_right(ends, quote + limit)}: malformed CSV: "
                             f"field larger than field limit ({limit}): is {opened} never closed?")

    def _fields(self, batch, i):
        """Record ``i`` of ``batch`` split into fields by the ``csv`` module (spaces before a field skipped)."""
        try:
            text = batch.texts[i]
            return next(csv.reader([text.decode() if isinstance(text, bytes) else text], delimiter=self.delimiter,
                                   skipinitialspace=True))
        except csv.Error as exc:  # a field over csv.field_size_limit()
            raise ValueError(f"{self.path}: line {batch.starts[i]}: malformed CSV: {exc}") from None

    # ---------------------------------------------------------------- values

    def batches(self):
        """Every batch of rows; a header with no rows after it is refused at the end."""
        batch = self.pending
        while batch is not None:
            for X, labels, ids in self._read(batch):
                self.rows += len(X)
                yield X, labels, ids
            batch = self._next_batch()
        if self.rows == 0:
            raise ValueError(f"{self.path}: line {self.layout.header}: a header but no data rows")

    def _read(self, batch):
        """``(X, labels, ids)`` of every record of ``batch``: one call of numpy's parser, unless it refuses a
        record (the first one refused is found and named) or the record is read once a column is read otherwise:
        a label is the first name (the records before it are read with numbers for labels, the rest with names),
        a feature column has its first gap or text (with ``cells``)."""
        while batch.texts:
            parsed = self._parse(batch)
            if parsed is not None:
                yield parsed
                return
            bad, before = self._first_refused(batch)
            change = self._refuse(batch, bad)  # returns when the record is read once a column is read otherwise
            if bad:
                yield before
            change()
            batch = batch.part(bad)

    def _parse(self, batch):
        """``(X, labels, ids)`` of the records of ``batch`` by numpy's parser, or None when it refuses one, a
        record has another field count, a feature is out of bounds or, while labels are numbers, one is not exact
        (or missing)."""
        layout, names, ids = self.layout, {}, {}  # the batch's label names, once labels are names; its ids
        self.refused_near = None
        try:
            values = np.loadtxt(batch.texts, delimiter=self.delimiter, comments=None, quotechar='"', ndmin=2,
                                converters=self._converters(names, ids), encoding="utf-8")
        except ValueError as exc:
            found = ROW_IN_MESSAGE.search(str(exc))
            self.refused_near = None if found is None else int(found.group(1))
            values = np.empty((0, 0))
        X = values[:, self.columns] if values.shape == (len(batch.texts), layout.width) else None
        if X is None or not self._in_bounds(X):
            return None
        self._check_categories()
        ids = None if layout.ident is None else np.array(list(ids), dtype=object)[values[:, layout.ident].astype(int)]
        if layout.label is None:
            return X, None, ids
        labels = values[:, layout.label]
        if not self.numeric:
            return X, self._codes(labels.astype(np.int64), names, batch), ids
        if not np.abs(labels).max() < INEXACT:
            return None
        if self.non_integral is None:
            self._note_non_integral(labels, batch)
        return X, labels, ids

    def _in_bounds(self, X):
        """Every feature below ``MAX_MAGNITUDE``; NaN (a gap) too once a column has gaps or text."""
        if self.gap_columns or self.text_codes:
            return np.fmax.reduce(X, axis=None, initial=0.0) < MAX_MAGNITUDE and np.fmin.reduce(
                X, axis=None, initial=0.0) > -MAX_MAGNITUDE
        return X.max(initial=0.0) < MAX_MAGNITUDE and X.min(initial=0.0) > -MAX_MAGNITUDE

    def _check_categories(self, X=None):
        """Refuse a text column found by ``Cells.text == "auto"`` once it has more than ``MAX_CATEGORIES`` texts,
        or (given the whole table's ``X``) when each of its at least ``ID_CELLS`` texts is another."""
        for c, (_, line, _) in self.text_from.items():
            count, j = len(self.text_codes[c]), self.layout.features.index(c)
            ids = X is not None and count >= ID_CELLS and np.count_nonzero(~np.isnan(X[:, j])) == count
            if count > MAX_CATEGORIES or ids:
                what = f"{count} distinct values, one per row" if ids else f"more than {MAX_CATEGORIES} distinct values"
                raise ValueError(f"{self.path}: {column_words(c, self.layout.feature_names[j])} holds text (from line "
                                 f"{line}) with {what}: free text or ids, not categories; leave it out with --features")

    def _converters(self, names, ids):
        """Python converters for the columns numpy's parser must not read as numbers: those not read (any
        text), the trailing empty one (empty it must stay), once labels are names the label's (its code
        among the batch's ``names``), the id's (its code among the batch's ``ids``), and the feature columns
        with gaps or text."""
        layout = self.layout
        read = {*layout.features, layout.label}
        converters = {c: _ignored for c in range(layout.width) if c not in read}
        if layout.trailing:
            converters[layout.width - 1] = _empty
        if layout.label is not None and not self.numeric:
            converters[layout.label] = functools.partial(_name_code, names, gaps=self.cells.gaps)
        if layout.ident is not None:
            converters[layout.ident] = functools.partial(_id_code, ids)
        converters.update(dict.fromkeys(self.gap_columns, _gap_or_number))
        converters.update({c: functools.partial(_text_code, codes, self.text_seen.setdefault(c, {}))
                           for c, codes in self.text_codes.items()})
        return converters

    def _first_refused(self, batch):
        """``(i, read)``: the first record ``i`` of ``batch`` (which ``_parse`` refuses) that ``_parse`` refuses after
        the ones before it, and ``_parse``'s result for those (None when ``i`` is 0). Bisection over its prefixes
        with the same parser, its bounds first drawn in around the record numpy's refusal named, if it named one
        (two parses, where bisection takes one per halving)."""
        good, bad, read = 0, len(batch.texts), None  # a prefix of `good` records is read (`read`), one of `bad` not
        near = self.refused_near
        if near is not None and 0 < near - 1 < bad and (parsed := self._parse(batch.part(0, near - 1))) is not None:
            good, read = near - 1, parsed
        if near is not None and good < near + 1 < bad and self._parse(batch.part(0, near + 1)) is None:
            bad = near + 1
        while bad - good > 1:
            middle = (good + bad) // 2
            parsed = self._parse(batch.part(0, middle))
            good, bad, read = (middle, bad, parsed) if parsed is not None else (good, middle, read)
        return good, read

    def _refuse(self, batch, i):
        """Raise the error naming what is wrong with record ``i`` of ``batch``, as the ``csv`` module splits it:
        its field count, its first bad feature (line and column) or an empty label. Returns the change after
        which the record is read when the one thing wrong is a label that is no number while the labels so far
        were (from it on, every label is a name) or, with ``cells``, a feature column's first gap or text."""
        layout, line, row = self.layout, batch.starts[i], self._fields(batch, i)
        if len(row) != layout.width or (layout.trailing and row[-1].strip()):
            self._wrong_width(line, row)
        for c, name in zip(layout.features, layout.feature_names, strict=True):
            change = self._cell_change(c, row[c], _line_of(line, row, c))
            if change is None:
                continue
            if callable(change):
                return change
            hint = " (read as a row, not a header: pass header=True, --header, if it is one)" if (
                line == self.first_data) else ""
            raise ValueError(f"{self.path}: line {_line_of(line, row, c)}, {column_words(c, name)}: {change}{hint}")
        label = layout.label
        if label is not None and self._label_is_a_first_name(row[label], _line_of(line, row, label)):
            return self._to_names
        raise ValueError(f"{self.path}: line {line}: malformed CSV: its {len(row)} fields cannot be read")

    def _label_is_a_first_name(self, field, line):
        """Whether the label cell ``field`` (on ``line``) is the first name while labels were numbers; an empty or
        (with ``cells.gaps``) missing one is refused."""
        layout = self.layout
        if not field.strip() or self.cells.gaps and is_missing(field):
            what = "empty field" if not field.strip() else f"missing label {field.strip()!r}"
            advice = "; a row without a label cannot be learned from: drop it" if self.cells.gaps else ""
            raise ValueError(f"{self.path}: line {line}, {column_words(layout.label, layout.label_name)}: "
                             f"{what}{advice}")
        return self.numeric and plain_number(field) is None

    def _cell_change(self, c, field, line):
        """For a feature cell of column ``c``: None when it is read as its column is read now, a change (callable)
        after which it is (``_Reader._refuse``), else what is wrong with it (text)."""
        problem = number_problem(field)
        if not problem or c in self.text_codes or (c in self.gap_columns and is_missing(field)):
            return None
        if self.cells.gaps and is_missing(field):
            return functools.partial(self.gap_columns.add, c)
        if self.cells.text == "auto" and not looks_numeric(field):
            return functools.partial(self._to_text, c, line, problem)
        return problem

    def _to_names(self):
        self.numeric = False

    def _to_text(self, c, line, problem):
        """Column ``c`` is read as text from now on (its first text on ``line``, ``problem`` as a number); ``_Store``
        checks that no number was read before it and none comes after."""
        self.text_codes[c], self.text_from[c] = {}, (self.rows, line, problem)
        self.gap_columns.discard(c)

    def _wrong_width(self, lineno, row):
        width, first = self.layout.width, self.layout.header or self.first_data
        if not self.layout.trailing:
            raise ValueError(f"{self.path}: line {lineno}: expected {width} columns, got {len(row)}")
        if len(row) == width:
            raise ValueError(f"{self.path}: line {lineno}: line {first} ends with an empty field (read as "
                             f"a trailing delimiter) but this line's last field is {row[-1]!r}")
        raise ValueError(f"{self.path}: line {lineno}: expected {width - 1} columns and a trailing "
                         f"empty field ({width} fields, like line {first}), got {len(row)} fields")

    # ---------------------------------------------------------------- labels

    def _new_text(self, text, line):
        """The code of the label name ``text``; a new one, first seen on ``line``, if it is not one yet."""
        code = self.codes.get(text)
        if code is None:
            code = self.codes[text] = len(self.texts)
            self.texts.append(text)
            self.text_lines.append(line)
        return code

    def _codes(self, local, names, batch):
        """The codes ``local`` into ``names`` (the label names of ``batch``, in order of appearance) as codes into
        ``texts``; a name new to the file is noted with the line it first appears on."""
        label, first = self.layout.label, np.unique(local, return_index=True)[1].tolist()
        codes = [self.codes[text] if text in self.codes else
                 self._new_text(text, _line_of(batch.starts[i], self._fields(batch, i), label))
                 for text, i in zip(names, first, strict=True)]
        return np.array(codes, dtype=np.int64)[local]

    def _note_non_integral(self, labels, batch):
        bad = np.flatnonzero(labels != np.round(labels))
        if bad.size:
            i, row = int(bad[0]), self._fields(batch, int(bad[0]))
            self.non_integral = (_line_of(batch.starts[i], row, self.layout.label), row[self.layout.label].strip())


class _Store:
    """The growing arrays: ``X`` (capacity, D) and the labels (capacity,), filled row block by row block.

    The capacity is the row count ``expected()`` gives once the first rows are read (the file's size over
    their mean length); it grows by half when it runs out and is trimmed to the rows read at the end, always
    by ``ndarray.resize`` (in place where the allocator can; a fresh large ``np.empty`` is advised to the
    kernel for huge pages, whose first touch can stall a busy machine for a tenth of the reading time).
    While the labels are numbers they are float64 values; when the first name arrives, the values so far
    become the codes of their texts, in the same buffer.
    """

    def __init__(self, d, expected):
        self.n, self.capacity, self.expected = 0, 0, expected
        self.X = np.empty((0, d), dtype=np.float64)
        self.labels = self.numeric = None

    def add(self, X, labels, reader):
        k = len(X)
        if self.n + k > self.capacity:  # sized once the first rows say how long a line is, then grown by half
            grown = self.capacity + self.capacity // 2 if self.capacity else int(self.expected() or 1024)
            self.capacity = max(self.n + k, grown, 16)
            self.X.resize((self.capacity, self.X.shape[1]), refcheck=False)  # realloc, as np.loadtxt grows its own
            if self.labels is not None:
                self.labels.resize(self.capacity, refcheck=False)
        self.X[self.n:self.n + k] = X
        if labels is not None:
            if self.labels is None:
                self.labels = np.empty(self.capacity, dtype=np.float64)
            if labels.dtype == np.int64 and self.numeric is not False:
                self._values_to_codes(reader)
            self.numeric = labels.dtype == np.float64
            self.labels[self.n:self.n + k] = labels if self.numeric else labels.view(np.float64)
        self.n += k

    def _values_to_codes(self, reader):
        """The numeric labels read so far as names: each value's text becomes a code (same buffer)."""
        values = self.labels[:self.n]
        distinct, inverse = np.unique(values, return_inverse=True)
        remap = np.array([reader._new_text(canonical_text(v), 0) for v in distinct.tolist()], dtype=np.int64)
        values.view(np.int64)[:] = remap[inverse]

    def table(self, reader):
        n = self.n
        self.X.resize((n, self.X.shape[1]), refcheck=False)
        layout = reader.layout
        for c, (rows, line, problem) in reader.text_from.items():
            j = layout.features.index(c)
            if not np.isnan(self.X[:rows, j]).all() or any(plain_number(t) is not None for t in reader.text_codes[c]):
                raise ValueError(f"{reader.path}: line {line}, {column_words(c, layout.feature_names[j])}: {problem}, "
                                 "and other cells of the column are numbers (a text column holds no number)")
        reader._check_categories(self.X)
        values = codes = None
        if self.labels is not None:
            self.labels.resize(n, refcheck=False)
            values, codes = (self.labels, None) if self.numeric else (None, self.labels.view(np.int64))
        lines = dict(zip(reader.texts, reader.text_lines, strict=True))
        return Table(self.X, layout.feature_names, layout.label_name if layout.label is not None else None,
                     values, codes, list(reader.texts), lines, reader.non_integral, reader.path,
                     layout.label, layout.header is not None, reader.column_texts(), bool(reader.gap_columns))

