"""Read a CSV of numbers into arrays, streaming: any column the label, the others (or some) the features.

The file is read in blocks of text and split into physical lines (``data.text_lines``). The first record
(a header, or the first row) fixes the layout: the delimiter, the number of fields, which column is the
label and which are the features (``data.csv_layout``). The rows after it are parsed a batch of lines at
a time:

- **the quick path**: when every line of the batch has the layout's number of fields and no quotes,
  numpy's own parser (``np.loadtxt``) reads the wanted columns and two reductions check every value's
  magnitude — close to ``np.loadtxt``'s speed on the whole file (``benchmarks/bench_csv.py``);
- **the careful path**: otherwise (blank lines, quotes, a field count that differs, a value refused), the
  standard ``csv`` module reads the batch record by record and says what is wrong with line and column.

Parsed rows go straight into arrays sized from the file's length (grown if needed, trimmed at the
end): no list of rows ever exists, so peak memory stays near the size of the final arrays.

Labels are kept as the file writes them: while every label is a number, as float64 values; from the
first label that is not a number on, every label is a name (its text, stripped), as ``Table`` explains.
"""

import contextlib
import csv
import itertools
import os
import stat

import numpy as np

from .csv_layout import (INEXACT, LAST, MAX_MAGNITUDE, is_blank, make_layout, number_problem, plain_number,
                         sniff_delimiter)
from .table import Table, canonical_text
from .text_lines import Lines, line_blocks

#: Characters of lines parsed by one call of numpy's parser.
BATCH_CHARS = 1 << 20
#: Lines after the first record that the header rule compares it with.
SAMPLE_LINES = 32
#: Rows a streaming reader (``iter_feature_blocks``) hands out at a time, at most.
STREAM_ROWS = 1 << 13


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


def read_table(path, label=LAST, features=None, choose=None, header=None):
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

    Returns
    -------
    Table
        ``X (N, D)`` float64 and the labels as written; ``Table.classification()`` and
        ``Table.regression()`` make a ``Dataset`` of it.

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
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        reader = _Reader(path, fh, label, features, choose, header)
        store = _Store(reader.layout.d, lambda: _expected_rows(fh, reader))
        for X, labels in reader.batches():
            store.add(X, labels, reader)
        return store.table(reader)


def iter_feature_blocks(path, features=None, choose=None, rows=None, header=None):
    """The feature rows of a CSV file, a block of at most ``rows`` rows (default ``STREAM_ROWS``) at a time:
    ``X (n, D)`` float64.

    For predicting on files of any length in constant memory. Arguments as ``read_table``'s, without a
    label: every column that is not a feature is ignored. The first item is the ``Layout`` (the names and
    the columns chosen), then the blocks.
    """
    path = str(path)
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        reader = _Reader(path, fh, None, features, choose, header)
        yield reader.layout
        rows, pending = rows or STREAM_ROWS, np.empty((0, reader.layout.d))
        for X, _ in reader.batches():
            pending = np.concatenate([pending, X])
            while len(pending) >= rows:
                yield pending[:rows]
                pending = pending[rows:]
        if len(pending):
            yield pending


def _expected_rows(fh, reader):
    """Rows the file probably holds, from its size and the first lines' length (None if it has no size)."""
    try:
        st = os.fstat(fh.fileno())
    except (OSError, ValueError):
        return None
    if not stat.S_ISREG(st.st_mode):
        return None
    mean_chars = reader.lines.chars_seen / max(reader.lines.lines_seen, 1)
    return int(st.st_size / max(mean_chars, 1.0) * 1.02) + 16


class _Reader:
    """One pass over one file: the layout from the first record, then the rows batch by batch.

    ``batches()`` yields ``(X (n, D), labels)`` with ``labels`` None (no label column), a float64 array
    (while every label is a number: ``numeric``) or an int64 array of codes into ``texts``.
    """

    def __init__(self, path, fh, label, features, choose, header):
        self.path = path
        self.lines = Lines(line_blocks(fh, path))
        first = self.lines.first_nonblank()
        if first is None:
            raise ValueError(f"{path}: the file is empty")
        self.csv = csv.reader(self.lines, delimiter=sniff_delimiter(first), skipinitialspace=True, strict=True)
        lineno, row = self._first_record()
        self.layout = make_layout(path, (lineno, row), self._below(), self.csv.dialect.delimiter, label, features,
                                  choose, header)
        self.numeric = None  # decided by the first label
        self.texts, self.codes = [], {}  # label names, and text -> (code, first line)
        self.non_integral = None  # (line, text) of the first numeric label that is not an integer
        self.first_data = None if self.layout.header else (lineno, row)

    def _first_record(self):
        done = 0  # lines of the records read
        try:
            for row in self.csv:
                if not is_blank(row):
                    return self.csv.line_num, row
                done = self.csv.line_num
        except csv.Error as exc:
            raise ValueError(_malformed(self.path, self.csv.line_num, str(exc), done + 1)) from None
        raise ValueError(f"{self.path}: the file is empty (no non-blank rows)")

    def _below(self):
        """The records on the next ``SAMPLE_LINES`` lines, read ahead without consuming them (for the header rule)."""
        lines, _ = self.lines.batch(1 << 12)
        self.lines.put_back(lines)
        rows = csv.reader(lines[:SAMPLE_LINES], delimiter=self.csv.dialect.delimiter, skipinitialspace=True)
        below = []
        with contextlib.suppress(csv.Error):  # the records before a malformed one; the error comes in its turn
            below.extend(row for row in rows if not is_blank(row))
        return below

    def batches(self):
        """Every batch of rows; a header with no rows after it is refused at the end."""
        rows = 0
        for X, labels in self._batches():
            rows += len(X)
            yield X, labels
        if rows == 0:
            raise ValueError(f"{self.path}: line {self.layout.header}: a header but no data rows")

    def _batches(self):
        if self.first_data is not None:
            yield self._careful([self.first_data])
        quick = not self.layout.trailing
        while quick:
            start = self.lines.consumed
            lines, quoted = self.lines.batch(BATCH_CHARS)
            if not lines:
                return
            if quoted:  # a quoted record may span lines: the csv module from here
                self.lines.put_back(lines)
                break
            yield self._quick(lines, start) or self._careful(self._records(lines, start))
        yield from self._careful_rest()

    # ---------------------------------------------------------------- the quick path

    def _quick(self, lines, start):
        """``(X, labels)`` for a batch numpy's parser can take whole, or None to take the careful path."""
        layout = self.layout
        if self.numeric is None and layout.label is not None:  # the first label decides
            fields = lines[0].rstrip("\r\n").split(layout.delimiter)
            if len(fields) != layout.width:
                return None
            self.numeric = plain_number(fields[layout.label]) is not None
        numeric = self.numeric and layout.label is not None
        values = _numbers(lines, layout, layout.features + ([layout.label] if numeric else []))
        if values is None or layout.label is None:
            return None if values is None else (values, None)
        if numeric:
            labels = values[:, -1].copy()
            if not np.abs(labels).max() < INEXACT:  # from here on, the labels are their text: the careful path
                return None
            if self.non_integral is None:
                self._note_non_integral(labels, lines, start)
            return values[:, :-1], labels
        return self._quick_texts(values, lines, start)

    def _quick_texts(self, X, lines, start):
        col, delimiter = self.layout.label, self.layout.delimiter
        if col == self.layout.width - 1:
            texts = [line[line.rfind(delimiter) + 1:].strip() for line in lines]
        else:
            texts = [line.split(delimiter)[col].strip() for line in lines]
        if "" in texts:
            return None
        codes, new = self.codes, self._new_text
        entries = [codes.get(text) or new(text, start + i + 1) for i, text in enumerate(texts)]
        return X, np.array([code for code, _ in entries], dtype=np.int64)

    def _note_non_integral(self, labels, lines, start):
        bad = np.flatnonzero(labels != np.round(labels))
        if bad.size:
            i = int(bad[0])
            field = lines[i].rstrip("\r\n").split(self.layout.delimiter)[self.layout.label].strip()
            self.non_integral = (start + i + 1, field)

    # ---------------------------------------------------------------- the careful path

    def _records(self, lines, start):
        """``(line number, row)`` of every record in ``lines`` (no quotes in them: a record is a line)."""
        reader = csv.reader(lines, delimiter=self.layout.delimiter, skipinitialspace=True, strict=True)
        try:
            for row in reader:
                yield start + reader.line_num, row
        except csv.Error as exc:  # a field over csv.field_size_limit()
            lineno = start + reader.line_num
            raise ValueError(_malformed(self.path, lineno, str(exc), lineno)) from None

    def _careful_rest(self):
        """Every record left, through the csv module (quoted fields may span lines)."""
        reader, base = self.csv, self.lines.consumed - self.csv.line_num
        pending, done, failure = [], self.lines.consumed, None
        try:
            for row in reader:
                done = base + reader.line_num
                pending.append((done, row))
                if len(pending) >= 4096:
                    yield self._careful(pending)
                    pending = []
        except csv.Error as exc:  # after the records before it
            failure = ValueError(_malformed(self.path, base + reader.line_num, str(exc), done + 1))
        if pending:
            yield self._careful(pending)
        if failure:
            raise failure

    def _careful(self, records):
        """``(X, labels)`` of ``(line, row)`` records, every field checked; blank records skipped."""
        layout = self.layout
        rows, labels = [], []
        for lineno, row in records:
            if len(row) != layout.width or (layout.trailing and row[-1].strip()):
                if not is_blank(row):
                    self._wrong_width(lineno, row)
                continue
            rows.append(self._features(lineno, row))
            if layout.label is not None:
                was_numeric = self.numeric
                label = self._label(lineno, row[layout.label])
                if was_numeric and not self.numeric:  # the first name: the numbers before it become names
                    labels = [self._new_text(canonical_text(v), 0)[0] for v in labels]
                labels.append(label)
        X = np.array(rows, dtype=np.float64).reshape(len(rows), layout.d)
        if layout.label is None:
            return X, None
        return X, np.array(labels, dtype=np.float64 if self.numeric else np.int64)

    def _features(self, lineno, row):
        """The feature values of one record; the first bad cell is refused, naming its line and column."""
        feats = [row[c] for c in self.layout.features]
        try:
            values = [float(f) for f in feats]
        except ValueError:
            values = None
        text = "".join(feats)
        # float() also takes '1_000', non-ASCII digits, 'nan', 'inf' and overflows to inf
        if values is None or "_" in text or not text.isascii() or not all(
                -MAX_MAGNITUDE < v < MAX_MAGNITUDE for v in values):
            for c, name, field in zip(self.layout.features, self.layout.feature_names, feats, strict=True):
                problem = number_problem(field)
                if problem:
                    first = self.first_data is not None and lineno == self.first_data[0]
                    hint = " (read as a row, not a header: pass header=True, --header, if it is one)" if first else ""
                    raise ValueError(f"{self.path}: line {lineno}, column {c + 1} ({name}): {problem}{hint}")
        return values

    def _label(self, lineno, field):
        """The label of one record: a float while every label is a number, else the code of its text."""
        text = field.strip()
        if not text:
            raise ValueError(f"{self.path}: line {lineno}, column {self.layout.label + 1} "
                             f"({self.layout.label_name}): empty field")
        if self.numeric is not False:
            value = plain_number(text)
            self.numeric = value is not None
            if value is not None:
                if self.non_integral is None and not value.is_integer():
                    self.non_integral = (lineno, text)
                return value
        return (self.codes.get(text) or self._new_text(text, lineno))[0]

    def _new_text(self, text, lineno):
        if text not in self.codes:
            self.codes[text] = (len(self.texts), lineno)
            self.texts.append(text)
        return self.codes[text]

    def _wrong_width(self, lineno, row):
        width, first = self.layout.width, self.layout.header or (self.first_data or (lineno,))[0]
        if not self.layout.trailing:
            raise ValueError(f"{self.path}: line {lineno}: expected {width} columns, got {len(row)}")
        if len(row) == width:
            raise ValueError(f"{self.path}: line {lineno}: line {first} ends with an empty field (read as "
                             f"a trailing delimiter) but this line's last field is {row[-1]!r}")
        raise ValueError(f"{self.path}: line {lineno}: expected {width - 1} columns and a trailing "
                         f"empty field ({width} fields, like line {first}), got {len(row)} fields")


def _numbers(lines, layout, columns):
    """The ``columns`` of ``lines`` as float64 (n, len(columns)) by numpy's parser, or None when any line is
    blank, has another field count, or holds a value to refuse or a NaN (the careful path names it)."""
    every = columns == list(range(layout.width))  # then numpy's parser checks the field counts itself
    if not every and list(map(str.count, lines, itertools.repeat(layout.delimiter))).count(layout.width - 1) != len(
            lines):
        return None
    try:
        values = np.loadtxt(lines, delimiter=layout.delimiter, comments=None, dtype=np.float64,
                            usecols=None if every else columns, ndmin=2, quotechar=None)
    except ValueError:
        return None
    if values.shape != (len(lines), len(columns)) or not (
            values.max(initial=0.0) < MAX_MAGNITUDE and values.min(initial=0.0) > -MAX_MAGNITUDE):
        return None
    return values


def _malformed(path, lineno, error, start):
    """The message for a csv error at ``lineno`` in the record starting on line ``start``."""
    unclosed = start < lineno or "end of data" in error
    hint = f" (is a quote in the record starting on line {start} never closed?)" if unclosed else ""
    return f"{path}: line {lineno}: malformed CSV: {error}{hint}"


class _Store:
    """The growing arrays: ``X`` (capacity, D) and the labels (capacity,), filled row block by row block.

    The capacity is the row count ``expected()`` gives once the first rows are read (the file's size over
    their mean length); it grows by half when it runs out (``ndarray.resize``, in place where the allocator
    can) and is trimmed to the rows read at the end. While the labels are numbers they are float64 values;
    when the first name arrives, the values so far become the codes of their texts, in the same buffer.
    """

    def __init__(self, d, expected):
        self.n, self.capacity, self.expected = 0, 0, expected
        self.X = np.empty((0, d), dtype=np.float64)
        self.labels = self.numeric = None

    def add(self, X, labels, reader):
        k = len(X)
        if self.capacity == 0:  # sized once the first rows say how long a line is
            self.capacity = max(int(self.expected() or 1024), k, 16)
            self.X = np.empty((self.capacity, self.X.shape[1]), dtype=np.float64)
        if self.n + k > self.capacity:
            self.capacity = max(self.n + k, self.capacity + self.capacity // 2)
            self.X.resize((self.capacity, self.X.shape[1]), refcheck=False)
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
        remap = np.array([reader._new_text(canonical_text(v), 0)[0] for v in distinct.tolist()], dtype=np.int64)
        values.view(np.int64)[:] = remap[inverse]

    def table(self, reader):
        n = self.n
        self.X.resize((n, self.X.shape[1]), refcheck=False)
        layout = reader.layout
        values = codes = None
        if self.labels is not None:
            self.labels.resize(n, refcheck=False)
            values, codes = (self.labels, None) if self.numeric else (None, self.labels.view(np.int64))
        lines = {text: line for text, (_, line) in reader.codes.items()}
        return Table(self.X, layout.feature_names, layout.label_name if layout.label is not None else None,
                     values, codes, list(reader.texts), lines, reader.non_integral, reader.path,
                     None if layout.label is None else layout.label + 1, layout.header is not None)
