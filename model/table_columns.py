"""Which columns of a CSV table a saved model or a validation file reads: by name when the file has a header
and the model saved its features' names (a model saves them when its training file had a header), in any
order; by position otherwise."""

import numpy as np

from data import read_table
from data.csv_loader import LAST, Cells
from data.encoding import recode
from data.table import Table


def model_cells(net, ident=None):
    """How ``data.read_table`` reads the cells of a table for ``net``: gaps and its text columns when it has an
    encoding (``net.encoding``), and the id column ``ident``; None (numbers only) otherwise."""
    encoding = net.encoding
    if encoding is None and ident is None:
        return None
    text = () if encoding is None else [j for j, cats in enumerate(encoding.categories) if cats is not None]
    return Cells(gaps=encoding is not None, text=text, ident=ident)


def model_inputs(net, X, texts):
    """The rows ``X`` of a table (text columns coded as ``texts`` says) as ``net`` reads them: through its
    encoding, if it has one."""
    encoding = net.encoding
    return X if encoding is None else encoding.transform(X, texts)


def raw_width(net):
    """The number of table columns ``net`` reads: its encoding's columns, else its input width."""
    encoding = net.encoding
    return net.input_dim if encoding is None else len(encoding.names)


def model_columns(net, label=None, need_label=True, role="the model", ident=None):
    """``choose(names, count)`` for ``data.read_table``: the columns ``net`` reads, and the label's.

    With a header (a first row holding the saved names is one) and feature names saved in ``net``: those
    columns by name, in the model's order (a missing one is refused, named); the label is ``label`` if given,
    else the one column left over (or the last, if several are and it is no feature). Otherwise by position:
    the label is ``label`` (default the last column) and the features are the others; their number must be
    the model's input width. Without ``need_label`` (prediction) a label column is optional and ignored. An
    ``ident`` column (``--id``) is not counted among them.
    """
    width, saved = raw_width(net), list(net.feature_names or ())

    def choose(names, count):
        if names is not None and saved:
            if not need_label:
                return None, saved
            return _label_among(names, saved, label, role), saved
        return _by_position(count - (ident is not None), width, label, need_label, role)

    choose.names = saved  # a first row holding them is a header
    return choose


def _label_among(names, features, label, role):
    if label is not None:
        return label
    rest = [n for n in names if n not in features]
    if len(rest) == 1 or (rest and names[-1] == rest[-1]):
        return rest[-1]
    if not rest:
        raise ValueError(f"every column is one of {role}'s features; which is the label? (--label)")
    raise ValueError(f"{len(rest)} columns are not {role}'s features ({', '.join(map(repr, rest))}); name the "
                     f"label with --label")


def _by_position(count, width, label, need_label, role):
    if count == width + 1:
        return (LAST if label is None else label), None  # without need_label: read, then ignored
    if need_label:
        raise ValueError(f"the file has {count} columns; {role} takes {width} features and the label")
    if count == width:
        return None, None
    raise ValueError(f"the file has {count} columns; {role} takes {width} features (and maybe a label, ignored)")


def evaluation_targets(net, table):
    """The labels of ``table`` as ``net`` takes them: real targets for a regression, else each label's index
    among the model's classes (``classes_of``), compared as numbers or text."""
    if net.target == "values":
        return table.regression().y
    return table.label_indices(classes_of(net))


def classes_of(net):
    """The model's classes; a model that stored none (the first release's, or one saved by hand) knows 0 .. K − 1."""
    k = 2 if net.target == "binary" else net.output_dim
    return list(net.classes) if net.classes is not None else list(range(k))


def read_validation(path, data, label_name, label, header=None):
    """``(X_val, y_val)`` from the file ``path`` for a run on ``data`` (a ``Dataset``): its columns by the
    training file's names when both have a header, else the label as ``label`` says and the other columns;
    labels in the training classes (or real targets). ``header`` as ``data.read_table`` takes it. For a table
    with gaps or text (``data.raw``) the file's text columns come coded as ``data``'s (a text it lacks: missing)."""

    def choose(names, count):
        if names is not None and data.named:
            return (label_name if label_name in names else label), list(data.feature_names)
        return (LAST if label is None else label), None

    choose.names = list(data.feature_names) if data.named else []
    cells = Cells(gaps=True, text=sorted(data.column_texts)) if data.raw else None
    table = read_table(path, choose=choose, header=header, cells=cells)
    if table.X.shape[1] != data.X.shape[1]:
        raise ValueError(f"{path}: {table.X.shape[1]} feature columns; the training data has {data.X.shape[1]}")
    X = recode(table.X, table.column_texts, data.column_texts) if data.raw else table.X
    if data.classes is None:
        return X, table.regression().y
    return X, table.label_indices(data.classes)


def labels_in(net, data):
    """A ``Dataset``'s class indices re-indexed into ``net``'s classes (compared as numbers or text); a label
    the model never saw is an error naming it."""
    table = Table(data.X, data.feature_names, "label", None, np.asarray(data.y), [str(c) for c in data.classes], {},
                  None, data.source or "the data")
    return table.label_indices(classes_of(net))
