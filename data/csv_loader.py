"""Read a labelled CSV: comma-separated numbers, optional header, last column the 0/1 label."""

import math

import numpy as np


def load_csv(path):
    """Load features and labels from a CSV file, refusing anything malformed.

    Parameters
    ----------
    path : str or path-like
        Comma-separated values; an optional first-line header (recognised because none of its
        fields is a number); blank lines are skipped; any number of feature columns (D >= 1) and
        the label last.

    Returns
    -------
    X : ndarray (N, D) float64
    y : ndarray (N,) int64, values 0 or 1

    Raises
    ------
    ValueError
        Naming the file and the line: an empty file, a header with no rows, a wrong column count, a
        value that is not a number, NaN or infinity, a label other than 0 or 1.
    OSError
        The file cannot be read.
    """
    try:
        with open(path, encoding="utf-8-sig") as fh:
            lines = fh.read().splitlines()
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a text CSV file ({exc.reason})") from None
    numbered = [(i, line) for i, line in enumerate(lines, start=1) if line.strip()]
    if not numbered:
        raise ValueError(f"{path}: the file is empty")
    first_no, first = numbered[0]
    fields = [f.strip() for f in first.split(",")]
    if not any(_is_number(f) for f in fields):
        header, numbered = fields, numbered[1:]
        if not numbered:
            raise ValueError(f"{path}: line {first_no}: a header but no data rows")
    else:
        header = None
    width = len(header) if header else len(fields)
    if width < 2:
        raise ValueError(f"{path}: line {first_no}: need at least one feature column and a label, got {width} column")
    rows = [_parse_row(path, no, line, width) for no, line in numbered]
    table = np.array(rows, dtype=np.float64)
    return table[:, :-1], table[:, -1].astype(np.int64)


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_row(path, lineno, line, width):
    fields = [f.strip() for f in line.split(",")]
    if len(fields) != width:
        raise ValueError(f"{path}: line {lineno}: expected {width} columns, got {len(fields)}")
    values = []
    for col, text in enumerate(fields, start=1):
        try:
            v = float(text)
        except ValueError:
            raise ValueError(f"{path}: line {lineno}, column {col}: {text!r} is not a number") from None
        if not math.isfinite(v):
            raise ValueError(f"{path}: line {lineno}, column {col}: {text!r} is not finite")
        values.append(v)
    if values[-1] not in (0.0, 1.0):
        raise ValueError(f"{path}: line {lineno}: label {fields[-1]!r} is not 0 or 1")
    return values
