"""A table's columns as a network reads them: missing numbers imputed, text columns one-hot encoded.

``Encoding.fit`` learns, from the training rows only, a median for every numeric column (and whether the
column had gaps there: then a missing-indicator column follows it) and the categories of every text column
(sorted; at most ``MAX_CATEGORIES``). ``transform`` turns raw rows — numbers with NaN for a missing cell,
and for a text column the code of each cell's text (NaN when missing), as ``data.read_table`` reads them —
into the numeric ``X`` of width ``Encoding.width``: a missing number becomes the median; a text becomes a
one-hot block, all zeros for a category the training rows never had or a missing cell. The data is plain
(a medians array, a list of categories per column), saved with a model as ``config()``, read back and
checked by ``from_config``. Pure numpy.
"""

from dataclasses import dataclass, field

import numpy as np

#: More distinct texts than this in one column: free text or ids, not categories (refused).
MAX_CATEGORIES = 100
#: The longest category text a model file may hold.
MAX_TEXT_CHARS = 1_000
#: Rows encoded at a time (a block of the raw rows is gathered, then encoded column by column).
BLOCK_ROWS = 1 << 14
#: Cells that mean "missing" (besides any case of ``nan``), compared stripped.
MISSING = frozenset({"", "NA", "?"})


def is_missing(text):
    """Whether a cell's text marks a missing value: empty, ``NA``, ``?`` or NaN in any case."""
    text = text.strip()
    return text in MISSING or text.lower() in ("nan", "+nan", "-nan")


@dataclass(eq=False)
class Encoding:
    """How raw table columns become the network's inputs.

    Attributes
    ----------
    names : list of D str, the raw columns (the model's ``feature_names`` when it saved them)
    medians : ndarray (D,) float64, each numeric column's training median (0.0 for a text column)
    indicators : list of D bool, whether a missing-indicator column follows the numeric column
    categories : list of D (list of str, sorted) or None: a text column's categories, None for a number
    missing : list of D int or None, missing cells per column in the training rows (for ``describe``;
        not saved)
    """

    names: list
    medians: np.ndarray
    indicators: list
    categories: list
    missing: list = field(default=None)

    @classmethod
    def fit(cls, X, names, texts, rows=None):
        """The encoding of the training rows ``X (N, D)`` (NaN missing; text columns as codes) — or of its rows
        ``rows`` only — whose columns are ``names`` and whose text columns are ``texts``, ``{j: list of texts,
        indexed by code}``. A column with no value in those rows is refused (``ValueError`` naming it)."""
        medians, indicators, categories, missing = np.zeros(len(names)), [], [], []
        rows = None if rows is None else np.sort(rows)  # in the file's order: a median needs no other
        for j, name in enumerate(names):
            column = X[:, j] if rows is None else X[rows, j]
            gaps = np.isnan(column)
            count = int(np.count_nonzero(gaps))
            values = column[~gaps] if count else column
            if not values.size:
                raise ValueError(f"the column {name!r} has no value in the training rows; leave it out with "
                                 f"--features")
            if j in texts:
                table = texts[j]
                categories.append(sorted({table[code] for code in np.unique(values).astype(np.int64).tolist()}))
                indicators.append(False)
            else:
                medians[j] = float(np.median(values))
                categories.append(None)
                indicators.append(count > 0)
            missing.append(count)
        return cls(list(names), medians, indicators, categories, missing)

    @property
    def width(self):
        """The network's input width: a column per number (two with an indicator), a column per category."""
        return sum(1 + flag if cats is None else len(cats)
                   for flag, cats in zip(self.indicators, self.categories, strict=True))

    def output_names(self):
        """The ``width`` names of the encoded columns: ``age``, ``age missing``, ``island=Biscoe``."""
        out = []
        for name, flag, cats in zip(self.names, self.indicators, self.categories, strict=True):
            out += [name] + ([f"{name} missing"] if flag else []) if cats is None else [f"{name}={c}" for c in cats]
        return out

    def transform(self, X, texts, rows=None):
        """``X (N, D)`` raw rows (text columns as codes into ``texts[j]``, this file's own texts) — or its rows
        ``rows`` only — encoded: ``(N, width)`` float64, no NaN. Rows are taken ``BLOCK_ROWS`` at a time."""
        n = len(X) if rows is None else len(rows)
        out = np.zeros((n, self.width))
        lookups = self._lookups(texts)
        for start in range(0, n, BLOCK_ROWS):
            part = slice(start, start + BLOCK_ROWS)
            self._encode(X[part] if rows is None else X[rows[part]], lookups, out[part])
        return out

    def _lookups(self, texts):
        """Per text column, each code of ``texts`` -> its category's index (-1: unseen), and -1 for a gap."""
        lookups = {}
        for j, cats in enumerate(self.categories):
            if cats is not None:
                place = {c: i for i, c in enumerate(cats)}
                lookups[j] = np.array([place.get(t, -1) for t in texts.get(j, [])] + [-1], dtype=np.int64)
        return lookups

    def _encode(self, X, lookups, out):
        """Rows ``X (n, D)`` encoded into ``out (n, width)`` (zeros)."""
        k = 0
        for j, cats in enumerate(self.categories):
            column = X[:, j]
            gaps = np.isnan(column)
            if cats is None:
                out[:, k] = column
                out[gaps, k] = self.medians[j]
                if self.indicators[j]:
                    out[:, k + 1] = gaps
                k += 1 + self.indicators[j]
                continue
            index = lookups[j][np.where(gaps, -1, np.nan_to_num(column, nan=-1.0)).astype(np.int64)]
            known = np.flatnonzero(index >= 0)
            out[known, k + index[known]] = 1.0
            k += len(cats)

    def describe(self):
        """One line of what was done to each column, e.g. ``columns: 2 text one-hot (island 3, sex 2), 1 imputed
        (bill_length_mm 2 missing, with an indicator)``."""
        text = [f"{n} {len(c)}" for n, c in zip(self.names, self.categories, strict=True) if c is not None]
        missing = self.missing or [0] * len(self.names)
        imputed = [f"{n} {m} missing" for n, m, c in zip(self.names, missing, self.categories, strict=True)
                   if c is None and m]
        parts = [f"{len(text)} text one-hot ({', '.join(text)})"] if text else []
        if imputed:
            parts.append(f"{len(imputed)} imputed with the training median and a missing indicator "
                         f"({', '.join(imputed)})")
        return f"columns: {'; '.join(parts) or 'numbers, imputed with the training median where a cell is missing'}"

    def config(self):
        """The JSON-able data a model file holds."""
        return {"names": list(self.names), "medians": [float(m) for m in self.medians],
                "indicators": [bool(f) for f in self.indicators],
                "categories": [None if c is None else list(c) for c in self.categories]}

    @classmethod
    def from_config(cls, config, width):
        """The encoding a model file's ``config`` describes, checked (bounded, finite, of the network's input
        ``width``); ``ValueError`` naming what is wrong."""
        names, medians, flags, cats = _checked_lists(config)
        if any(isinstance(m, bool) or not isinstance(m, (int, float)) for m in medians):
            raise ValueError("damaged encoding: the medians must be numbers")
        if any(not isinstance(f, bool) for f in flags):
            raise ValueError("damaged encoding: the indicators must be true or false")
        for name, c in zip(names, cats, strict=True):
            _check_categories(name, c)
        encoding = cls(list(names), np.array(medians, dtype=np.float64), list(flags), [c and list(c) for c in cats])
        if encoding.width != width:
            raise ValueError(f"damaged encoding: it makes {encoding.width} columns, the network reads {width}")
        return encoding


def _checked_lists(config):
    """``(names, medians, indicators, categories)`` of a stored encoding: lists of one length, distinct names."""
    if not isinstance(config, dict) or set(config) != {"names", "medians", "indicators", "categories"}:
        raise ValueError("damaged encoding: it must hold names, medians, indicators and categories")
    names, *lists = (config[k] for k in ("names", "medians", "indicators", "categories"))
    d = len(names) if isinstance(names, list) else -1
    if d < 1 or any(not isinstance(n, str) for n in names) or len(set(names)) != d:
        raise ValueError("damaged encoding: names must be a list of distinct texts")
    if any(not isinstance(v, list) or len(v) != d for v in lists):
        raise ValueError(f"damaged encoding: medians, indicators and categories must each have {d} entries")
    return (names, *lists)


def _check_categories(name, categories):
    """``ValueError`` unless the stored ``categories`` of column ``name`` (a list of str, or None for a numeric
    column) are what ``Encoding.fit`` can learn: 1 to ``MAX_CATEGORIES`` distinct, sorted texts, each one a cell
    can hold (not missing, as ``is_missing`` says, and without surrounding spaces, which reading strips): a
    category no cell matches takes the place, and the one-hot column, of one the network learned."""
    if categories is None:
        return
    if (not isinstance(categories, list) or not 1 <= len(categories) <= MAX_CATEGORIES
            or any(not isinstance(c, str) or len(c) > MAX_TEXT_CHARS for c in categories)
            or categories != sorted(set(categories))):
        raise ValueError(f"damaged encoding: the categories of {name!r} must be 1 to {MAX_CATEGORIES} distinct, "
                         f"sorted texts of at most {MAX_TEXT_CHARS} characters")
    unread = next((c for c in categories if is_missing(c) or c != c.strip()), None)
    if unread is not None:
        raise ValueError(f"damaged encoding: the categories of {name!r} hold {unread[:40]!r}, which no cell can be "
                         "(expected texts that are not missing-cell markers and have no surrounding spaces)")


def recode(X, texts, into):
    """``X`` (text columns coded as ``texts``, ``{j: texts by code}``) with those columns coded as ``into`` says
    instead, in place; a text ``into`` lacks becomes NaN, as a missing cell (both encode as all zeros)."""
    for j, table in texts.items():
        place = {t: i for i, t in enumerate(into.get(j, []))}
        lookup = np.array([place.get(t, np.nan) for t in table] + [np.nan])
        column = X[:, j]
        column[...] = lookup[np.where(np.isnan(column), -1, np.nan_to_num(column, nan=-1.0)).astype(np.int64)]
    return X
