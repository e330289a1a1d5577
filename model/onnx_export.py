"""``to_onnx(net, path)``: a network written as an ONNX model, for serving stacks that run ONNX (onnxruntime, …).

The graph computes what ``train.py --predict`` gives, in evaluation mode (Dropout is the identity, BatchNorm
uses its running statistics):

- input ``"input"``: raw feature rows (N, D), columns in the model's order (its ``feature_names``, also in the
  model's metadata), or images (N, C, H, W) for a network that starts with an image layer; N is dynamic.
  Standardisation is a layer, so it is in the graph: the input is what the CSV file holds. A model with a
  column encoding (``net.encoding``: imputation, missing indicators, one-hot text columns) reads the raw columns
  instead, as ``"numbers"`` and ``"texts"``: its nodes stand in front of the network (``model.onnx_encoding``).
- a classifier: ``"probabilities"`` (N, K), one column per class in the model's order (the ``p_<class>``
  columns of ``--predict``; (N, 2), P(class 0) and P(class 1), for a single sigmoid output), and ``"label"``
  (N,), the class of the highest probability (the first on a tie, as NumPy's argmax): int64 when every class is
  an integer, else the class as text — ``--predict``'s ``predicted`` column.
- a regression: ``"values"`` (N, K), in the targets' own units (the target scaling is folded into the last
  layer before a model is saved, ``model.regression``).

Precision: float32 by default, the serving norm and the only precision in which onnxruntime runs ``Conv``;
``dtype=np.float64`` gives a graph that agrees with the float64 network to rounding.

``NODES`` is the one table from a library class (a layer, or a loss for the head) to its ONNX nodes. A class
without an entry — a learner's class, even one named like the library's, or a subclass — is refused in one line
naming its position. A loss's entry gives what ``--predict`` gives: its ``proba`` (``SVMLoss``'s is the softmax
of its scores, a convention) or the values. onnx is imported only
when a graph is built (the ``onnx`` extra); this module imports without it.
"""

import json

import numpy as np

from layers import (BatchNorm, BatchNorm2d, BCELoss, Conv2d, CrossEntropyLoss, Dropout, Flatten, LayerNorm, LeakyReLU,
                    Linear, MaxPool2d, MSELoss, ReLU, Sigmoid, SigmoidBCELoss, Softmax, SoftmaxCrossEntropyLoss,
                    SVMLoss, Tanh, Unflatten)
from layers.standardize import Standardize
from layers.validation import is_integer

from .atomic import atomic_write
from .onnx_encoding import ML_DOMAIN, ML_OPSET, NUMBERS, TEXTS, check_encoding, encode, raw_columns
from .registry import is_library, library_class
from .sequential import IMAGE_LAYERS
from .table_columns import classes_of

#: the ONNX operator set the graphs use (17: the first with ``LayerNormalization``)
OPSET = 17
#: the graph's input, and its outputs for a classifier and for a regression
INPUT, PROBABILITIES, LABEL, VALUES = "input", "probabilities", "label", "values"
DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def require_onnx(who):
    """The ``onnx`` module, or an ``ImportError`` saying that ``who`` needs the ``onnx`` extra and how to install it."""
    try:
        import onnx
    except ImportError:
        raise ImportError(f"{who} needs the onnx package: pip install -e '.[onnx]'") from None
    return onnx


class Graph:
    """The nodes and constants of one graph in ``dtype``, named after the layer being added (``at``).

    ``const(key, array)`` adds a constant ``"{layer}.{key}"`` (floating arrays in the graph's dtype, refused
    unless finite); ``node(op, inputs, **attributes)`` adds a node and returns its output's name.
    """

    def __init__(self, onnx, dtype):
        self.onnx, self.dtype = onnx, dtype
        self.nodes, self.constants, self.where = [], [], "graph"

    def at(self, where):
        self.where = where
        return self

    def const(self, key, array):
        array = np.asarray(array)
        if array.dtype.kind == "f":
            with np.errstate(over="ignore"):  # a weight beyond float32's range is refused below, not warned about
                array = array.astype(self.dtype)
            if not np.isfinite(array).all():
                raise ValueError(f"the array {self.where}.{key} (layer {self.where}'s {key}) holds values that are "
                                 f"not finite in {self.dtype} (NaN or infinity); such a model cannot be exported")
        name = f"{self.where}.{key}"
        self.constants.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op, inputs, **attributes):
        name = f"{self.where}.{op}.{len(self.nodes)}"
        self.nodes.append(self.onnx.helper.make_node(op, list(inputs), [name], name=name, **attributes))
        return name


# ---------------------------------------------------------------- the layers' nodes: (graph, layer, x) -> output

def _standardize(g, layer, x):
    """``(x − mean) / scale``, in the layer's order of operations; nothing when it is the identity."""
    if layer.is_identity:
        return x
    return g.node("Div", [g.node("Sub", [x, g.const("mean", layer.mean)]), g.const("scale", layer.scale)])


def _linear(g, layer, x):
    """``x @ W (+ b)``: W is (D_in, D_out) in both."""
    weights = [g.const(key, layer.params[key]) for key in ("W", "b") if key in layer.params]
    return g.node("Gemm" if len(weights) == 2 else "MatMul", [x, *weights])


def _batchnorm(g, layer, x):
    """Evaluation mode: the running statistics, ``γ (x − running_mean) / sqrt(running_var + eps) + β`` per feature
    (the second axis: a feature of (N, D), a channel of (N, C, H, W))."""
    arrays = [layer.params["gamma"], layer.params["beta"], layer.running_mean, layer.running_var]
    names = [g.const(key, a) for key, a in zip(("gamma", "beta", "running_mean", "running_var"), arrays, strict=True)]
    return g.node("BatchNormalization", [x, *names], epsilon=layer.eps)


def _layernorm(g, layer, x):
    scale, bias = g.const("gamma", layer.params["gamma"]), g.const("beta", layer.params["beta"])
    return g.node("LayerNormalization", [x, scale, bias], axis=-1, epsilon=layer.eps)


def _conv(g, layer, x):
    """Cross-correlation with W (F, C, k, k), as ONNX's ``Conv`` (and PyTorch) define it; zero padding on every side."""
    weights = [g.const(key, layer.params[key]) for key in ("W", "b") if key in layer.params]
    k, p = layer.kernel_size, layer.padding
    return g.node("Conv", [x, *weights], kernel_shape=[k, k], strides=[layer.stride] * 2, pads=[p] * 4)


def _maxpool(g, layer, x):
    """No padding, the output side floored (ONNX's ``ceil_mode`` 0), as the layer's."""
    return g.node("MaxPool", [x], kernel_shape=[layer.kernel_size] * 2, strides=[layer.stride] * 2)


def _two_columns(g, p):
    """P(class 1) (N, 1) -> (N, 2): ``1 − p`` and ``p``, as ``--predict`` writes them."""
    return g.node("Concat", [g.node("Sub", [g.const("one", np.ones(1)), p]), p], axis=1)


def _unchanged(g, layer, x):
    return x


NODES = {
    Standardize: _standardize,
    Linear: _linear,
    ReLU: lambda g, layer, x: g.node("Relu", [x]),
    LeakyReLU: lambda g, layer, x: g.node("LeakyRelu", [x], alpha=layer.alpha),
    Sigmoid: lambda g, layer, x: g.node("Sigmoid", [x]),
    Tanh: lambda g, layer, x: g.node("Tanh", [x]),
    Softmax: lambda g, layer, x: g.node("Softmax", [x], axis=-1),
    Dropout: _unchanged,  # inverted dropout: the identity at inference
    BatchNorm: _batchnorm,
    BatchNorm2d: _batchnorm,
    LayerNorm: _layernorm,
    Conv2d: _conv,
    MaxPool2d: _maxpool,
    Flatten: lambda g, layer, x: g.node("Flatten", [x], axis=1),
    Unflatten: lambda g, layer, x: g.node("Reshape", [x, g.const("shape", np.array(
        [-1, layer.channels, layer.height, layer.width], dtype=np.int64))]),
    # the losses: from the last layer's output to the probabilities (a classifier) or the values (a regression)
    BCELoss: lambda g, loss, p: _two_columns(g, p),
    SigmoidBCELoss: lambda g, loss, z: _two_columns(g, g.node("Sigmoid", [z])),
    CrossEntropyLoss: _unchanged,
    SoftmaxCrossEntropyLoss: lambda g, loss, z: g.node("Softmax", [z], axis=-1),
    SVMLoss: lambda g, loss, s: g.node("Softmax", [s], axis=-1),  # SVMLoss.proba: a convention, not a model
    MSELoss: _unchanged,
}


# ---------------------------------------------------------------- the graph

def to_onnx(net, path, dtype=np.float32):
    """Write ``net`` (a ``Sequential``, a ``TwoLayerNet``) to ``path`` as an ONNX model, atomically; return the
    ``onnx.ModelProto`` written.

    ``dtype``: float32 (default) or float64, of the input, the weights and every output but an integer
    ``label``. ``ValueError`` in one line for a network that cannot be exported (a class without an entry in
    ``NODES``, named with its position; a binary head of several outputs; a column encoding that is not an
    ``Encoding`` of the network's input width; weights or medians that are not finite in ``dtype``);
    ``ImportError`` naming the ``onnx`` extra when it is missing.

    Shapes
    ------
    input:  (N, D) rows, or (N, C, H, W) images for a network that starts with an image layer; N dynamic.
            With a column encoding: numbers (N, n_numbers) in ``dtype``, NaN for a gap, and (if the encoding
            has text columns) texts (N, n_texts) string, each in the model's column order
    output: a classifier's probabilities (N, K) (K = 2 for a single sigmoid output) and label (N,);
            a regression's values (N, K)
    """
    model = build(net, dtype)
    atomic_write(path, lambda fh: fh.write(model.SerializeToString()), suffix=".onnx")
    return model


def build(net, dtype=np.float32):
    """The checked ``onnx.ModelProto`` of ``net`` (see ``to_onnx``), written nowhere."""
    dtype = np.dtype(dtype)
    if dtype not in DTYPES:
        raise ValueError(f"to_onnx: dtype must be float32 or float64, got {dtype}")
    _check_exportable(net)
    onnx = require_onnx("model.to_onnx")
    g, x = Graph(onnx, dtype), INPUT
    if net.encoding is not None:
        x = encode(g, net.encoding)
    for i, layer in enumerate(net.layers):
        x = NODES[type(layer)](g.at(str(i)), layer, x)
    outputs = _outputs(g.at("head"), net, NODES[type(net.criterion)](g.at("head"), net.criterion, x))
    return _model(onnx, g, net, outputs)


def _check_exportable(net):
    """One line for the first thing of ``net`` no graph can hold; nothing when it can be exported."""
    check_encoding(net)
    parts = [(f"layer {i}", layer) for i, layer in enumerate(net.layers)] + [("the loss", net.criterion)]
    for where, obj in parts:
        if type(obj) not in NODES:
            cls = type(obj)
            name = cls.__name__ if is_library(cls) else f"{cls.__module__}.{cls.__qualname__}"
            raise ValueError(f"{where} ({name}) has no ONNX equivalent, so the network cannot be exported; the "
                             f"classes that have one: {', '.join(c.__name__ for c in NODES)}")
    _check_head(net)


def _check_head(net):
    """A binary head has one output (P(class 1)); a classifier's classes are known (named, or counted by the width
    of its last layer)."""
    width = "an unknown number of" if net.output_dim is None else net.output_dim
    if net.target == "binary" and net.output_dim != 1:
        raise ValueError(f"a binary head of {width} outputs cannot be exported: --predict reads a single "
                         "sigmoid output as P(class 1)")
    if net.target == "classes" and net.classes is None and net.output_dim is None:
        raise ValueError("the network's classes are unknown: it names none (net.classes) and its last layer "
                         "declares no width to count them by")


def _outputs(g, net, head):
    """``{output name: (node output, ONNX element type, shape)}``: the values, or the probabilities and labels."""
    onnx, width = g.onnx, net.output_dim
    real = onnx.helper.np_dtype_to_tensor_dtype(g.dtype)
    if net.target == "values":
        return {VALUES: (head, real, ["N", width])}
    classes = classes_of(net)
    integers = all(is_integer(c) for c in classes)
    table = np.array(classes, dtype=np.int64) if integers else np.array([str(c) for c in classes], dtype=object)
    index = g.node("ArgMax", [head], axis=1, keepdims=0)
    label = g.node("Gather", [g.const("classes", table), index], axis=0)
    kind = onnx.TensorProto.INT64 if integers else onnx.TensorProto.STRING
    return {PROBABILITIES: (head, real, ["N", len(classes)]), LABEL: (label, kind, ["N"])}


def _inputs(onnx, net, real):
    """The graph's inputs: ``"input"`` of ``_input_shape``, or with a column encoding ``"numbers"`` (N, n_numbers)
    and ``"texts"`` (N, n_texts) string, those of them that have columns."""
    helper = onnx.helper
    if net.encoding is None:
        return [helper.make_tensor_value_info(INPUT, real, _input_shape(net))]
    kinds = {NUMBERS: real, TEXTS: onnx.TensorProto.STRING}
    return [helper.make_tensor_value_info(name, kinds[name], ["N", len(columns)])
            for name, columns in raw_columns(net.encoding).items()]


def _input_shape(net):
    """(N, D) when the network declares its input width; (N, C, H, W) when it starts with an image layer (C as
    the layer declares it); None (any shape) otherwise."""
    first = net.layers[0]
    if net.input_dim is not None:
        return ["N", net.input_dim]
    if library_class(first, "layer") in IMAGE_LAYERS:
        return ["N", getattr(first, "in_channels", getattr(first, "num_features", "C")), "H", "W"]
    return None


def _model(onnx, g, net, outputs):
    """The model of ``g``'s nodes with the named ``outputs``, its metadata (classes, feature names, target, and with a
    column encoding the columns of ``"numbers"`` and ``"texts"``), checked."""
    helper = onnx.helper
    for name, (node_output, _, _) in outputs.items():
        g.nodes.append(helper.make_node("Identity", [node_output], [name], name=name))
    real = helper.np_dtype_to_tensor_dtype(g.dtype)
    given = _inputs(onnx, net, real)
    wanted = [helper.make_tensor_value_info(name, kind, shape) for name, (_, kind, shape) in outputs.items()]
    graph = helper.make_graph(g.nodes, "cs231n_handprop", given, wanted, initializer=g.constants)
    opset = [helper.make_opsetid("", OPSET)]
    if net.encoding is not None:
        opset.append(helper.make_opsetid(ML_DOMAIN, ML_OPSET))
    model = helper.make_model(graph, opset_imports=opset, producer_name="cs231n-handprop",
                              ir_version=helper.find_min_ir_version_for(opset), doc_string=net.describe())
    classes = None if net.target == "values" else [str(c) for c in classes_of(net)]
    columns = {} if net.encoding is None else raw_columns(net.encoding)
    helper.set_model_props(model, {"target": str(net.target), "classes": json.dumps(classes),
                                   "feature_names": json.dumps(net.feature_names),
                                   **{name: json.dumps(names) for name, names in columns.items()}})
    onnx.checker.check_model(model, full_check=True)
    return model


def describe(model):
    """``input (N, 2) float32 -> probabilities (N, 2) float32, label (N,) int64``: a model's interface in one line."""
    onnx = require_onnx("describe")

    def one(value):
        t = value.type.tensor_type
        dims = [d.dim_param or str(d.dim_value) for d in t.shape.dim] if t.HasField("shape") else ["…"]
        shape = f"({dims[0]},)" if len(dims) == 1 else f"({', '.join(dims)})"
        text = t.elem_type == onnx.TensorProto.STRING
        kind = "string" if text else onnx.helper.tensor_dtype_to_np_dtype(t.elem_type).name
        return f"{value.name} {shape} {kind}"

    return (f"{', '.join(one(v) for v in model.graph.input)} -> "
            f"{', '.join(one(v) for v in model.graph.output)}")
