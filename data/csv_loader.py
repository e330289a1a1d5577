"""Read a labelled CSV into a ``Dataset``, streaming: features are numbers, the last column the label.

The file is read in blocks of text, split into physical lines and parsed by the standard ``csv``
module record by record. Parsed features go straight into an ``array.array('d')`` and label codes
into an ``array.array('q')``: no list of rows ever exists, so peak memory stays near the size of
the final arrays.
"""

import array
import csv
import io
import itertools
import math
import re

import numpy as np

from .dataset import Dataset, default_feature_names

#: Delimiters recognised from the first non-blank line, which decides between them by the number of
#: fields each gives; on a tie the earlier wins (a semicolon file with decimal commas splits as often
#: on ',' as on ';').
DELIMITERS = ("\t", ";", ",")
#: Features of this magnitude or more are refused: standardising squares them and sums the N
#: squares, which overflows float64 (max ≈ 1.8e308) from magnitudes of about 1e154.
MAX_MAGNITUDE = 1e150
#: Longest physical line accepted, in characters (a guard against binary files without line ends).
MAX_LINE_CHARS = 1 << 24
#: Characters read at a time; each block is checked before the next one is read, so a file of NUL
#: bytes is refused after one block, however large it is.
_BLOCK = 1 << 16
#: A NUL, or a byte that is not UTF-8 (decoded with ``surrogateescape`` to U+DC80..U+DCFF).
_NOT_TEXT = re.compile("[\x00\udc80-\udcff]")
_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]*,[0-9]+")


def load_csv(path):
    """Load a labelled CSV file, refusing anything malformed with a message naming line and column.

    Parameters
    ----------
    path : str or path-like
        UTF-8 text; a byte-order mark and CRLF line ends are fine. Fields are separated by commas,
        semicolons or tabs, whichever splits the first non-blank line into the most fields. Fields
        may be quoted (``"0.64"``; a quoted header name may span lines). Blank lines are skipped.
        An optional first row is a header, recognised because none of its feature fields is a
        number; its names become ``feature_names``. Every row has as many fields as the first row;
        an empty last field on every line (a trailing delimiter) is dropped. At least one feature
        column, then the label. Features: plain decimal numbers, finite, of magnitude below 1e150
        (no ``1_000``, ``nan``, ``inf``). Labels: integers (``0``, ``2``, ``1.0``) or names
        (``setosa``, ``yes``); if any label is not a number, every label is a name.

    Returns
    -------
    Dataset
        ``X (N, D)`` float64, ``y (N,)`` int64 indices into ``classes`` (K >= 2 labels, sorted:
        integers numerically, names lexicographically), ``feature_names`` (D), ``source`` the path.

    Raises
    ------
    ValueError
        Naming the file and the line (and the column, for a cell): an empty file, a header with no
        rows, fewer than two columns, a wrong field count, an empty field, a value that is not a
        plain finite number or is too large, a label that is a non-integral number, a single class,
        a NUL byte or a byte that is not UTF-8, a quote never closed, a line over MAX_LINE_CHARS.
    OSError
        The file cannot be opened or read.
    """
    path = str(path)
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        first, lines = _first_line(itertools.chain.from_iterable(_line_blocks(fh, path)))
        if first is None:
            raise ValueError(f"{path}: the file is empty")
        reader = csv.reader(lines, delimiter=_sniff_delimiter(first), skipinitialspace=True, strict=True)
        parser = _Parser(path)
        try:
            parser.consume(reader)
        except csv.Error as exc:
            failed = (reader.line_num, str(exc), reader.dialect.delimiter)
        else:
            return parser.dataset()
    raise ValueError(_malformed(path, *failed)) from None


def _malformed(path, lineno, error, delimiter):
    """The message for a csv error at ``lineno``, naming where the failing record starts if earlier."""
    with open(path, encoding="utf-8-sig", errors="surrogateescape", newline="") as fh:
        reader = csv.reader(itertools.chain.from_iterable(_line_blocks(fh, path)), delimiter=delimiter,
                            skipinitialspace=True, strict=True)
        start = 1
        try:
            for _ in reader:
                start = reader.line_num + 1
        except (csv.Error, ValueError):
            pass
    unclosed = start < lineno or "end of data" in error
    hint = f" (is a quote in the record starting on line {start} never closed?)" if unclosed else ""
    return f"{path}: line {lineno}: malformed CSV: {error}{hint}"


# -------------------------------------------------------------------- physical lines


def _line_blocks(fh, path):
    """Yield lists of the file's physical lines (each with its line end), one list per block read.

    Lines split as ``open(newline="")`` splits them (at CR, LF and CRLF) and as the csv module counts
    them. Each block is checked for a NUL or an undecodable byte before the next is read; the lines
    before a bad one are yielded first, so errors come in line order.
    """
    done, carry, carry_len = 0, [], 0  # lines yielded so far; pieces of the unfinished line
    while True:
        block = fh.read(_BLOCK)
        if not block:
            if carry_len:
                yield ["".join(carry)]
            return
        if "\x00" in block or (not block.isascii() and _NOT_TEXT.search(block)):
            bad = _NOT_TEXT.search(block)
            lines = _split_lines("".join(carry) + block[: bad.start()])
            if lines and not lines[-1].endswith(("\n", "\r")):  # the start of the bad line
                lines.pop()
            yield lines
            _refuse_binary(path, done + len(lines) + 1, bad.group())
        if "\n" not in block and "\r" not in block:
            carry.append(block)
            carry_len += len(block)
        else:
            lines = _split_lines("".join(carry) + block if carry_len else block)
            tail = lines.pop() if not lines[-1].endswith("\n") else ""  # unfinished, or a CR before an LF
            carry, carry_len = [tail], len(tail)
            done += len(lines)
            yield lines
        if carry_len > MAX_LINE_CHARS:
            raise ValueError(f"{path}: line {done + 1}: longer than {MAX_LINE_CHARS} characters; "
                             f"not a CSV file of numbers")


def _split_lines(text):
    return io.StringIO(text, newline="").readlines()


def _refuse_binary(path, lineno, char):
    what = "a NUL byte" if char == "\x00" else f"byte 0x{ord(char) - 0xDC00:02x}, which is not UTF-8"
    raise ValueError(f"{path}: line {lineno}: not a text CSV file ({what})")


def _first_line(lines):
    """The first non-blank line, and an iterator over all the lines again (nothing consumed)."""
    seen = []
    for line in lines:
        seen.append(line)
        if line.strip():
            return line, itertools.chain(seen, lines)
    return None, iter(())


def _sniff_delimiter(line):
    """The candidate that splits ``line`` into the most fields (ties: tab, then ';', then ',')."""
    counts = [len(next(csv.reader([line], delimiter=d), [])) for d in DELIMITERS]
    return DELIMITERS[counts.index(max(counts))]


def _is_blank(row):
    return not row or (len(row) == 1 and not row[0].strip())


def _looks_numeric(text):
    """Whether ``text`` reads as a number to ``float()`` or with a decimal comma (then it is no name)."""
    try:
        float(text)
    except ValueError:
        return bool(_DECIMAL_COMMA.fullmatch(text.strip()))
    return True


# -------------------------------------------------------------------- records


class _Parser:
    """One pass over the records of one file: the layout from the first, then every row into buffers.

    Attributes
    ----------
    values : array('d'), the features row after row (N·D)
    codes : array('q'), per row the code of its label text (N)
    labels : dict, stripped label text -> (code, int value or None for a name)
    """

    def __init__(self, path):
        self.path = path
        self.values, self.codes = array.array("d"), array.array("q")
        self.labels, self._raw_codes = {}, {}

    def consume(self, reader):
        for row in reader:
            if not _is_blank(row):
                break
        else:
            raise ValueError(f"{self.path}: the file is empty (no non-blank rows)")
        self._layout(reader.line_num, row)
        if self.header is None:
            self._add_row(reader.line_num, row)
        self._consume_rows(reader)
        if not self.codes:
            raise ValueError(f"{self.path}: line {self.header}: a header but no data rows")

    def _layout(self, lineno, row):
        """Field count, trailing-delimiter mode, header or not, D and the names, from the first row."""
        self.first_line, self.width = lineno, len(row)
        self.trailing = len(row) > 1 and not row[-1].strip()
        used = self.width - self.trailing
        if used < 2:
            raise ValueError(f"{self.path}: line {lineno}: need at least one feature column and a label, "
                             f"got {used} column")
        self.d = used - 1
        self.header = None if any(_looks_numeric(f) for f in row[: self.d]) else lineno
        self.names, self.label_name = default_feature_names(self.d), "label"
        if self.header is not None:
            for col, name in enumerate(row[:used], start=1):
                if not name.strip():
                    raise ValueError(f"{self.path}: line {lineno}, column {col}: empty column name in the header")
            # one line each (a quoted name may span lines), for messages
            self.names = [" ".join(name.split()) for name in row[: self.d]]
            self.label_name = " ".join(row[self.d].split())

    def _consume_rows(self, reader):
        """The hot loop: every record after the first, checked quickly; a suspect row is diagnosed."""
        width, d, trailing = self.width, self.d, self.trailing
        extend, append, raw_codes = self.values.extend, self.codes.append, self._raw_codes
        for row in reader:
            if len(row) != width:
                if not _is_blank(row):
                    self._wrong_width(reader.line_num, row)
                continue
            if trailing and row[-1].strip():
                self._not_trailing(reader.line_num, row)
            feats = row[:d]
            try:
                vals = [float(f) for f in feats]
            except ValueError:
                self._refuse_features(reader.line_num, feats)
            text = "".join(feats)
            # float() also takes '1_000', non-ASCII digits, 'nan', 'inf' and overflows to inf
            if "_" in text or not text.isascii():
                self._refuse_features(reader.line_num, feats)
            for v in vals:
                if not -MAX_MAGNITUDE < v < MAX_MAGNITUDE:
                    self._refuse_features(reader.line_num, feats)
            extend(vals)
            code = raw_codes.get(row[d])
            append(self._new_label(reader.line_num, row[d]) if code is None else code)

    def _add_row(self, lineno, row):
        """One row, fully checked (the first data row; the hot loop does the same, faster)."""
        if self.trailing and row[-1].strip():
            self._not_trailing(lineno, row)
        feats = row[: self.d]
        self._refuse_features(lineno, feats, only_if_bad=True)
        self.values.extend(float(f) for f in feats)
        self.codes.append(self._new_label(lineno, row[self.d]))

    def _wrong_width(self, lineno, row):
        if not self.trailing:
            raise ValueError(f"{self.path}: line {lineno}: expected {self.width} columns, got {len(row)}")
        raise ValueError(f"{self.path}: line {lineno}: expected {self.width - 1} columns and a trailing "
                         f"empty field ({self.width} fields, like line {self.first_line}), got {len(row)} fields")

    def _not_trailing(self, lineno, row):
        raise ValueError(f"{self.path}: line {lineno}: line {self.first_line} ends with an empty field (read as "
                         f"a trailing delimiter) but this line's last field is {row[-1]!r}")

    def _refuse_features(self, lineno, feats, only_if_bad=False):
        """Raise for the first bad feature cell of the row (every row the quick test flags has one)."""
        for col, field in enumerate(feats, start=1):
            problem = _feature_problem(field)
            if problem:
                raise ValueError(f"{self.path}: line {lineno}, column {col} ({self.names[col - 1]}): {problem}")
        if not only_if_bad:
            raise AssertionError(f"{self.path}: line {lineno}: a row failed the quick test but no cell is at fault")

    def _new_label(self, lineno, raw):
        """The code of a label field not seen before in this exact spelling."""
        text = raw.strip()
        if text not in self.labels:
            self.labels[text] = (len(self.labels), self._label_value(lineno, text))
        code = self._raw_codes[raw] = self.labels[text][0]
        return code

    def _label_value(self, lineno, text):
        """The int a label stands for, or None for a name; a non-integral number is refused."""
        where = f"{self.path}: line {lineno}, column {self.d + 1} ({self.label_name})"
        if not text:
            raise ValueError(f"{where}: empty field")
        if _feature_problem(text, limit=math.inf):
            return None
        if _INTEGER.fullmatch(text):
            return int(text)
        value = float(text)
        if not value.is_integer():
            raise ValueError(f"{where}: label {text!r} is a non-integral number; labels are class names "
                             f"or integers, not values")
        return int(value)

    def dataset(self):
        """The ``Dataset``: classes sorted, label codes mapped to indices into them."""
        keys = {text: value for text, (_, value) in self.labels.items()}
        if any(value is None for value in keys.values()):
            keys = {text: text for text in keys}  # a mix of numbers and names: all are names
        classes = sorted(set(keys.values()))
        if len(classes) < 2:
            raise ValueError(f"{self.path}: every row has the label {next(iter(self.labels))!r}; "
                             f"a classifier needs at least two classes")
        index = {c: i for i, c in enumerate(classes)}
        remap = np.empty(len(self.labels), dtype=np.int64)
        for text, (code, _) in self.labels.items():
            remap[code] = index[keys[text]]
        y = remap[np.frombuffer(self.codes, dtype=np.int64)]
        self.codes = None
        X = np.frombuffer(self.values, dtype=np.float64).reshape(len(y), self.d)  # no copy
        return Dataset(X, y, classes, self.names, self.path)


def _feature_problem(field, limit=MAX_MAGNITUDE):
    """Why ``field`` is not an acceptable feature value, or "" if it is (surrounding spaces are fine)."""
    text = field.strip()
    if not text:
        return "empty field"
    try:
        value = float(text)
    except ValueError:
        hint = " (decimal commas are not accepted)" if _DECIMAL_COMMA.fullmatch(text) else ""
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
