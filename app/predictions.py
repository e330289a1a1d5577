"""``train.py --predict``: a saved model's predictions for the rows of a CSV file, written as CSV, streaming.

The rows are read a block at a time (``data.iter_feature_blocks``), predicted and written, so a file of
any length takes the memory of one block. Columns written: with ``ident`` (``--id``) that column of the
file first, under its own name (as written, stripped; refused when it is the name of a column below, so each
name heads one column); ``predicted`` — the label in the training labels' own words (``setosa``, ``7``), or the
value for a regression — and, for a classifier, one probability per class, ``p_<class>``, in the model's order
of classes. A model with an encoding (gaps, text columns) reads the rows through it
(``model.table_columns.model_inputs``).
"""

import csv
import io

import numpy as np

from data import iter_feature_blocks
from data.csv_layout import listing
from model.atomic import atomic_write
from model.table_columns import classes_of, model_cells, model_columns, model_inputs

from .cli import UsageError


def write_predictions(net, data_path, out_path, label=None, header=None, ident=None):
    """Predict every row of ``data_path`` with ``net`` and write ``out_path`` atomically; returns the row count.

    Columns are chosen as ``model.table_columns.model_columns`` says (by name when it can; a label column, if any, is
    read past); ``header`` as ``data.read_table`` takes it; ``ident`` the id column (a name or a 0-based index), or
    None. Raises ``ValueError`` for a file the model cannot read (a missing column, a bad cell) or outputs that are
    not finite (weights or inputs too large): then nothing is written.
    """
    blocks = iter_feature_blocks(data_path, choose=model_columns(net, label, need_label=False, ident=ident),
                                 header=header, cells=model_cells(net, ident))
    layout = next(blocks)  # the layout: the file's columns are checked before the output is opened
    names = output_header(net, None if ident is None else layout.ident_name)
    count = 0

    def write(fh):
        nonlocal count
        text = io.TextIOWrapper(fh, encoding="utf-8", newline="")
        try:
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(names)
            for block in blocks:
                rows = _rows(net, model_inputs(net, block.X, block.texts), data_path)
                writer.writerows(rows if block.ids is None else
                                 ([i, *row] for i, row in zip(block.ids.tolist(), rows, strict=True)))
                count += len(block.X)
            text.flush()
        finally:
            text.detach()  # the file is atomic_write's to close

    atomic_write(out_path, write)
    return count


def output_header(net, ident_name=None):
    """The output's column names: ``ident_name`` (the ``--id`` column's, or None), ``predicted`` and, for a
    classifier, ``p_<class>`` per class. ``UsageError`` (exit 2) when the id column's name is one of the others: a
    reader by name (``pandas.read_csv``) would take the wrong column, or mangle the second to ``predicted.1``."""
    own = ["predicted"] + ([] if net.target == "values" else [f"p_{c}" for c in classes_of(net)])
    if ident_name is None:
        return own
    if ident_name in own:
        raise UsageError(f"--id: the id column is named {ident_name!r}, which the predictions file names one of "
                         f"its own columns ({listing(own)}); expected an id column named otherwise: rename it in "
                         "the data file's header")
    return [ident_name, *own]


def _rows(net, X, source):
    """One output row per row of ``X``: the prediction, then the probabilities."""
    with np.errstate(all="ignore"):  # an overflow is refused below, in one line, not warned about
        p = np.asarray(net.predict(X) if net.target == "values" else net.predict_proba(X), dtype=np.float64)
    if not np.isfinite(p).all():
        raise ValueError(f"{source}: the model's outputs are not finite (NaN or infinity): its weights or these "
                         "inputs are too large for it")
    if net.target == "values":
        return ([f"{v:.10g}"] for v in p.reshape(-1).tolist())
    classes = classes_of(net)
    if p.ndim == 1:  # a single sigmoid output: P(class 1), whose argmax below is p > 0.5 (1 - p is exact from 0.5 up)
        p = np.column_stack([1.0 - p, p])
    decided = p.argmax(axis=1)
    return ([str(classes[k])] + [f"{v:.6g}" for v in row] for k, row in zip(decided.tolist(), p.tolist(), strict=True))
