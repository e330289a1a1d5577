"""A labelled dataset: features and class indices with the original class labels (classification), or
features and real targets (regression), with the feature names."""

from dataclasses import dataclass, field

import numpy as np

from .csv_layout import MAX_MAGNITUDE, default_feature_names, number_problem


@dataclass(eq=False, repr=False)
class Dataset:
    """Features ``X``, class indices ``y`` into ``classes`` (or real targets ``y``), and names for both.

    Checked once when built; afterwards the fields are plain attributes. There is deliberately no
    ``__iter__``: ``X, y = dataset`` raises ``TypeError`` instead of quietly meaning something.

    Attributes
    ----------
    X : ndarray (N, D) float64, C-contiguous, finite
    y : ndarray (N,) int64, values in ``[0, K)``: ``classes[y[i]]`` is row i's original label; for a
        regression (``classes`` None), float64 targets, finite
    classes : list of K distinct labels, sorted; ints when every label is an integer, else str; None for
        real targets
    feature_names : list of D str (given None: ``x0, x1, …``, and ``named`` is False)
    source : str
        Where the data came from (a path, a generator name), for messages.
    column_texts : dict
        A table's text columns as read (``data.read_table`` with ``Cells``): feature position -> its texts,
        indexed by the codes in that column of ``X``; empty for a table of numbers.
    gaps : bool
        Whether ``X`` holds NaN for missing cells (with ``column_texts``, the raw columns ``data.encoding``
        turns into numbers).
    named : bool
        Whether the columns have names of their own (a header's): a model trained on them saves them.
    """

    X: np.ndarray
    y: np.ndarray
    classes: list
    feature_names: list
    source: str = ""
    column_texts: dict = field(default_factory=dict)
    gaps: bool = False
    named: bool = field(init=False, default=True)

    def __post_init__(self):
        X = np.ascontiguousarray(self.X, dtype=np.float64)
        y = np.asarray(self.y)
        if X.ndim != 2:
            raise ValueError(f"{self._where()}X must be 2-D (N, D), got shape {X.shape}")
        if y.shape != (X.shape[0],):
            raise ValueError(f"{self._where()}y must have shape ({X.shape[0]},) to match X {X.shape}, got {y.shape}")
        self.named = self.feature_names is not None
        self.feature_names = [str(n) for n in (self.feature_names if self.named else default_feature_names(X.shape[1]))]
        if len(self.feature_names) != X.shape[1]:
            raise ValueError(f"{self._where()}{len(self.feature_names)} feature names for {X.shape[1]} columns of X")
        if not (not np.isinf(X).any() if self.raw else np.isfinite(X).all()):
            raise ValueError(f"{self._where()}X holds NaN or infinity")
        self.X, self.source = X, str(self.source)
        self.y = self._values(y) if self.classes is None else self._class_indices(y)

    def _class_indices(self, y):
        if y.size and not np.issubdtype(y.dtype, np.integer):
            raise ValueError(f"{self._where()}y must hold integer class indices, got dtype {y.dtype}")
        self.classes = list(self.classes)
        k = len(self.classes)
        if len(set(self.classes)) != k:
            raise ValueError(f"{self._where()}classes must be distinct, got {self.classes}")
        if y.size and (y.min() < 0 or y.max() >= k):
            raise ValueError(f"{self._where()}y must index classes, in [0, {k}), got values in [{y.min()}, {y.max()}]")
        return y.astype(np.int64, copy=False)

    def _values(self, y):
        if y.dtype.kind not in "fiu":
            raise ValueError(f"{self._where()}y must hold real targets, got dtype {y.dtype}")
        y = y.astype(np.float64, copy=False)
        if not np.isfinite(y).all():
            raise ValueError(f"{self._where()}y holds NaN or infinity")
        if y.size and np.abs(y).max() >= MAX_MAGNITUDE:  # the features' rule: standardising squares them
            raise ValueError(f"{self._where()}target {number_problem(repr(float(np.abs(y).max())))}")
        return y

    @classmethod
    def from_arrays(cls, X, labels, feature_names=None, source=""):
        """Build from features and integer labels of any values (e.g. a generator's ``(X, y)``).

        Parameters
        ----------
        X : array-like (N, D)
        labels : array-like (N,) of integers; ``classes`` becomes their sorted distinct values
        feature_names : D names, default none (``["x0", "x1", ...]``)
        """
        labels = np.asarray(labels)
        if labels.size and not np.issubdtype(labels.dtype, np.integer):
            raise ValueError(f"labels must be integers, got dtype {labels.dtype}")
        values, y = np.unique(labels, return_inverse=True)
        return cls(X, y.reshape(-1), [int(v) for v in values], feature_names, source)

    def release_rows(self):
        """Let a raw table's feature matrix go once the rows a network reads are encoded from it
        (``model.experiment.prepare``): ``X`` keeps its shape, as a read-only view of one NaN (8 bytes instead of
        N·D·8). Only for a table of gaps or text (``raw``), whose ``X`` no network reads."""
        if not self.raw:
            raise ValueError(f"{self._where()}only a raw table's rows are released: a network reads a table of numbers")
        self.X = np.broadcast_to(np.float64(np.nan), self.X.shape)

    @property
    def raw(self):
        """Whether the columns need ``data.encoding.Encoding`` before a network reads them (gaps or text)."""
        return bool(self.column_texts) or self.gaps

    @property
    def n_classes(self):
        """K, the number of classes (``len(classes)``; 0 for real targets)."""
        return 0 if self.classes is None else len(self.classes)

    @property
    def task(self):
        """``"classification"`` (class indices) or ``"regression"`` (real targets)."""
        return "regression" if self.classes is None else "classification"

    def __repr__(self):
        n, d = self.X.shape
        where = f", source={self.source!r}" if self.source else ""
        labels = "targets=real" if self.classes is None else f"classes={self.classes!r}"
        return f"Dataset(N={n}, D={d}, {labels}, feature_names={self.feature_names!r}{where})"

    def _where(self):
        return f"{self.source}: " if getattr(self, "source", "") else ""
