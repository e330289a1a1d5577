"""A model's column encoding (``data.encoding.Encoding``) as ONNX nodes in front of its network.

With an encoding, the exported graph reads the raw table columns, not the encoded ones:

- ``"numbers"`` (N, n_numbers), the graph's float dtype: the numeric columns, in the model's column order
  (``encoding.names`` without the text columns), NaN for a missing cell;
- ``"texts"`` (N, n_texts) string, only when the encoding has text columns: the text columns in the model's
  column order, each cell's text as the CSV reader takes it (stripped). A text that is not one of the column's
  categories — a category the training rows never had, an empty cell, ``NA``, … — encodes as all zeros, as
  ``Encoding.transform`` does for an unseen or a missing cell (a missing marker is never a category).

The nodes, per raw column in order, then one ``Concat`` in ``Encoding.output_names()`` order:

- a number: ``IsNaN`` + ``Where`` put the training median in a gap (plain ONNX, run in float32 and float64
  alike: ai.onnx.ml's ``Imputer`` holds float32 values only, and the gaps are needed for the indicators
  anyway), and ``Cast`` of the gaps is the missing-indicator column where the encoding has one;
- a text: ai.onnx.ml's ``OneHotEncoder`` over the column's categories (``cats_strings``, sorted as fitted), with
  ``zeros=1`` so that any other text is a row of zeros; its output is float32, cast for a float64 graph.

A graph input's columns are named in the model's metadata (``NUMBERS`` and ``TEXTS`` keys: JSON lists of column
names). Every encoding ``Encoding.from_config`` accepts can be expressed; what is refused is an ``encoding`` that
is not an ``Encoding``, or one whose width is not the network's input width.
"""

import numpy as np

from data.encoding import Encoding

#: the graph's inputs for a model with a column encoding
NUMBERS, TEXTS = "numbers", "texts"
#: the ONNX-ML operator domain (``OneHotEncoder``) and the version of it the graphs import
ML_DOMAIN, ML_OPSET = "ai.onnx.ml", 3


def check_encoding(net):
    """One line (``ValueError``) when ``net.encoding`` is neither None nor an ``Encoding`` of the network's input
    width; nothing otherwise."""
    encoding = net.encoding
    if encoding is None:
        return
    if not isinstance(encoding, Encoding):
        raise ValueError(f"the model's column encoding must be a data.encoding.Encoding, got "
                         f"{type(encoding).__name__}; it cannot be exported")
    if net.input_dim is not None and encoding.width != net.input_dim:
        raise ValueError(f"the model's column encoding makes {encoding.width} columns but the network reads "
                         f"{net.input_dim}; it cannot be exported")


def raw_columns(encoding):
    """``{input name: [column names]}``: the numeric columns under ``NUMBERS`` and the text columns under ``TEXTS``,
    each in the model's order; an input without columns is left out."""
    numbers = [n for n, cats in zip(encoding.names, encoding.categories, strict=True) if cats is None]
    texts = [n for n, cats in zip(encoding.names, encoding.categories, strict=True) if cats is not None]
    return {name: columns for name, columns in ((NUMBERS, numbers), (TEXTS, texts)) if columns}


def encode(g, encoding):
    """The nodes of ``encoding`` added to ``g`` (a ``model.onnx_export.Graph``): from the raw inputs (see the
    module) to the network's input, (N, width) in ``g.dtype``; returns that output's name."""
    filled, flags = _imputed(g.at("encoding"), encoding)
    pieces, place = [], {NUMBERS: 0, TEXTS: 0}
    for j, cats in enumerate(encoding.categories):
        source = NUMBERS if cats is None else TEXTS
        k, place[source] = place[source], place[source] + 1  # the column's place in its input
        column = g.at(f"encoding.{j}")
        if cats is not None:
            pieces.append(_one_hot(column, cats, k))
            continue
        index = column.const("index", np.array([k], dtype=np.int64))
        pieces.append(column.node("Gather", [filled, index], axis=1))  # (N, 1)
        if encoding.indicators[j]:
            pieces.append(column.node("Gather", [flags, index], axis=1))
    return g.at("encoding").node("Concat", pieces, axis=1)


def _imputed(g, encoding):
    """``(numbers with each gap the column's median, the gaps as 0/1)``, both (N, n_numbers) in ``g.dtype``; None
    for what is not needed (no numeric column; no indicator)."""
    numeric = [j for j, cats in enumerate(encoding.categories) if cats is None]
    if not numeric:
        return None, None
    gaps = g.node("IsNaN", [NUMBERS])
    filled = g.node("Where", [gaps, g.const("medians", encoding.medians[numeric]), NUMBERS])
    if not any(encoding.indicators):
        return filled, None
    return filled, g.node("Cast", [gaps], to=g.onnx.helper.np_dtype_to_tensor_dtype(g.dtype))


def _one_hot(g, categories, k):
    """Column ``k`` of the texts (N,) -> (N, len(categories)) in ``g.dtype``: 1 at its category, zeros for any other
    text."""
    column = g.node("Gather", [TEXTS, g.const("index", np.array(k, dtype=np.int64))], axis=1)
    one_hot = g.node("OneHotEncoder", [column], domain=ML_DOMAIN, cats_strings=list(categories), zeros=1)
    return one_hot if g.dtype == np.float32 else g.node("Cast", [one_hot], to=g.onnx.TensorProto.DOUBLE)
