"""A table read from a file: features, and labels as the file writes them, before they become a ``Dataset``.

Labels stay what they are in the file until a task is chosen: numbers (``values``) while every label is
a number, otherwise names (``codes`` into ``texts``). ``classification()`` makes classes of them,
``regression()`` targets, and ``label_indices(classes)`` places them among a trained model's classes,
comparing numbers by value and names by their text (``label_key``), so a model trained on
``{1, 2, unknown}`` reads a file whose labels are ``{1, 2}``.
"""

import math
from dataclasses import dataclass, field
from decimal import Decimal

import numpy as np

from .csv_layout import column_words, number_problem
from .dataset import Dataset


def canonical_text(value):
    """A numeric label as text: ``2`` for 2.0, ``0.5`` for 0.5."""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


def label_key(label):
    """What two labels must share to be the same class: ``("number", value)`` for a number (an int, a float or a
    text that reads as a plain finite number; an integer exactly, however large), else ``("name", its text)``."""
    if isinstance(label, (int, np.integer)) and not isinstance(label, bool):
        return ("number", int(label))
    if isinstance(label, (float, np.floating)):
        return ("number", float(label))
    text = str(label).strip()
    if number_problem(text, limit=math.inf):
        return ("name", text)
    value = Decimal(text)  # exact: 9007199254740993 is not 9007199254740992
    return ("number", int(value) if value == value.to_integral_value() else float(value))


def shown(label):
    """A label as messages show it: a number plainly (``2``), a name quoted (``'setosa'``)."""
    if isinstance(label, (float, np.floating)):
        return canonical_text(label)
    return repr(label) if isinstance(label, str) else str(label)


@dataclass(eq=False, repr=False)
class Table:
    """Features and raw labels of N rows.

    Attributes
    ----------
    X : ndarray (N, D) float64
    feature_names : list of D str
    label_name : str or None (None: the file had no label column)
    values : ndarray (N,) float64 or None, the labels while every one is a number
    codes : ndarray (N,) int64 or None, otherwise: each row's label as an index into ``texts``
    texts : list of str, the distinct label names (stripped), in order of appearance
    text_lines : dict, label name -> the line it first appears on (0: a number turned name)
    non_integral : (line, text) or None, the first numeric label that is not an integer
    source : str, the file, for messages
    label_column : int or None, the label's column (0-based, as ``--label`` counts), for messages
    named : bool, the file had a header (else ``feature_names`` are ``x0, x1, …``, which no model saves)
    column_texts : dict, feature position -> the texts of that text column, indexed by the codes in ``X``
    gaps : bool, some feature column has missing cells (NaN in ``X``)
    """

    X: np.ndarray
    feature_names: list
    label_name: object
    values: object
    codes: object
    texts: list
    text_lines: dict
    non_integral: object
    source: str
    label_column: object = None
    named: bool = True
    column_texts: dict = field(default_factory=dict)
    gaps: bool = False

    def __repr__(self):
        n, d = self.X.shape
        kind = "no labels" if self.label_name is None else ("numbers" if self.values is not None else "names")
        return f"Table(N={n}, D={d}, label={self.label_name!r} ({kind}), source={self.source!r})"

    @property
    def has_labels(self):
        return self.label_name is not None

    @property
    def labels_are_numbers(self):
        """True when every label is a number (in ``values``, or kept as text if some is beyond float64's exact
        integers)."""
        return self.values is not None or bool(self.texts) and all(label_key(t)[0] == "number" for t in self.texts)

    def distinct_labels(self):
        """How many different labels the rows have."""
        self._need_labels()
        return len(np.unique(self.values)) if self.values is not None else len(self.texts)

    def classification(self, min_classes=2):
        """A ``Dataset`` of classes: integers sorted numerically when every label is an integer, else every
        label a name, sorted as text.

        Raises ``ValueError`` naming the line of a numeric label that is not an integer (labels are class
        names or integers, not values), and when fewer than ``min_classes`` labels occur.
        """
        self._need_labels()
        if self.values is not None:
            if self.non_integral is not None:
                line, text = self.non_integral
                raise ValueError(f"{self.source}: line {line}, {self._column()}: label {text!r} is a non-integral "
                                 f"number; labels are class names or integers, not values")
            distinct, y = np.unique(self.values, return_inverse=True)
            classes = [int(v) for v in distinct.tolist()]
        else:  # names, or integers kept as text (some beyond float64's exact ones): those compared exactly
            keys = [label_key(text) for text in self.texts]
            exact = all(kind == "number" and isinstance(value, int) for kind, value in keys)
            labels = [value for _, value in keys] if exact else self.texts
            classes = sorted(set(labels))
            rank = {label: i for i, label in enumerate(classes)}
            y = np.array([rank[label] for label in labels], dtype=np.int64)[self.codes]
        if len(classes) < min_classes:
            raise ValueError(f"{self.source}: every row has the label {str(classes[0])!r}; a classifier needs at "
                             f"least two classes")
        return Dataset(self.X, y.reshape(-1), classes, self.feature_names if self.named else None, self.source,
                       self.column_texts, self.gaps)

    def regression(self):
        """A ``Dataset`` of real targets (``classes`` None); ``ValueError`` naming the first label that is not
        a number."""
        self._need_labels()
        values = self.values
        if values is None:  # names, or numbers kept as text (beyond float64's exact integers)
            keys = [label_key(text) for text in self.texts]
            named = [(self.text_lines[t], t) for t, (kind, _) in zip(self.texts, keys, strict=True) if kind == "name"]
            if named:
                line, text = min(named)
                raise ValueError(f"{self.source}: line {line}, {self._column()}: label {text!r} is not a number; a "
                                 f"regression predicts numbers")
            values = np.array([float(value) for _, value in keys])[self.codes]
        return Dataset(self.X, values, None, self.feature_names if self.named else None, self.source,
                       self.column_texts, self.gaps)

    def label_indices(self, classes):
        """Each row's label as an index into ``classes`` (a model's), matched by ``label_key``.

        Raises ``ValueError`` naming the first label that is not among ``classes``.
        """
        self._need_labels()
        index = {label_key(c): i for i, c in enumerate(classes)}
        if self.values is not None:
            distinct, inverse = np.unique(self.values, return_inverse=True)
            labels = distinct.tolist()
        else:
            labels, inverse = self.texts, self.codes
        where = [index.get(label_key(label)) for label in labels]
        if None in where:
            raise ValueError(f"{self.source}: label {shown(labels[where.index(None)])} is not one the model was "
                             f"trained on ({', '.join(shown(c) for c in classes)})")
        return np.asarray(where, dtype=np.int64)[inverse].reshape(-1)

    def _column(self):
        if self.label_column is None:
            return f"the label column ({self.label_name!r})"
        return column_words(self.label_column, self.label_name)

    def _need_labels(self):
        if self.label_name is None:
            raise ValueError(f"{self.source}: the table has no label column")
