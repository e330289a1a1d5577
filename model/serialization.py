"""Saving and loading networks: one ``.npz`` holding the architecture as JSON text and the arrays.

Format ``cs231n-handprop/Sequential/2`` (written now):

- ``format``: the marker string;
- ``architecture``: JSON text — the model class (``Sequential`` or ``TwoLayerNet``), each layer's type
  and ``config()``, the loss's type and config, ``weight_decay``, ``dtype``, ``classes``,
  ``feature_names`` and, for ``TwoLayerNet``, its constructor arguments;
- ``param:<key>`` for every entry of ``params``; ``buffer:<layer index>:<name>`` for every layer's
  ``buffers`` (a ``Standardize`` layer's mean and scale, BatchNorm's running statistics).

Files of format ``cs231n-handprop/TwoLayerNet/1`` (the first release) still load.

Loading trusts nothing in the file, in the spirit of ``torch.load(weights_only=True)``: a model file
holds no code and may name only the layer types below. Through ``NpzReader`` only the members the format defines
are read (any other is refused unread); the architecture is bounded (its length, nesting, numbers, layer
count and total size); every array's shape and dtype is checked from its header against the
architecture **before** the network is built; buffers are checked (finite, variances >= 0, scales > 0).
Each refusal is one ``ValueError``, ``"{path}: not a model file or damaged: {reason}"``.
"""

import json
import math
import re

import numpy as np

import layers as layer_module
from layers.standardize import Standardize

from .atomic import atomic_write
from .net import TwoLayerNet
from .npz_reader import NUMERIC, TEXT, NpzReader, one_line
from .sequential import Sequential

FORMAT = "cs231n-handprop/Sequential/2"
FORMAT_V1 = "cs231n-handprop/TwoLayerNet/1"
MODEL_CLASSES = {"Sequential": Sequential, "TwoLayerNet": TwoLayerNet}
DTYPES = ("float32", "float64")

# Bounds on what a model file may declare, all checked before anything is allocated.
MAX_WIDTH = 1_000_000  # features of one layer
MAX_LAYERS = 1_000
MAX_NUMBERS = 200_000_000  # parameters and buffers together (1.6 GB in float64)
MAX_ARCHITECTURE_CHARS = 1 << 22  # of JSON text
MAX_NESTING = 16  # of JSON brackets; the format itself nests 4 deep
MAX_DIGITS = 20  # of one integer in the JSON text

# What a config value may be: a width (a positive int <= MAX_WIDTH that sizes arrays, always given),
# a number, or a flag (a bool). Keys other than widths may be left out: the constructor's default holds.
WIDTH, NUMBER, FLAG, WEIGHTS = "width", "number", "flag", "weights"

#: The layer types that may stand where layers stand, with the keys of their config. Not the gates
#: (Add, Multiply, Max, Copy take two inputs or give two outputs), not a loss.
LAYERS = {
    "Linear": {"in_features": WIDTH, "out_features": WIDTH, "bias": FLAG},
    "ReLU": {}, "LeakyReLU": {"alpha": NUMBER}, "Sigmoid": {}, "Tanh": {}, "Softmax": {},
    "Dropout": {"p": NUMBER},
    "BatchNorm": {"num_features": WIDTH, "momentum": NUMBER, "eps": NUMBER},
    "Standardize": {"num_features": WIDTH},
}
#: The loss types a model may end with, with the keys of their config (a list of class weights).
LOSSES = {"BCELoss": {"class_weight": WEIGHTS}, "SigmoidBCELoss": {"class_weight": WEIGHTS},
          "CrossEntropyLoss": {"class_weight": WEIGHTS}, "SoftmaxCrossEntropyLoss": {"class_weight": WEIGHTS},
          "MSELoss": {}}
#: ``TwoLayerNet``'s constructor arguments, as its ``config()`` names them.
TWO_LAYER_INIT = {"input_dim": WIDTH, "hidden_dim": WIDTH, "hidden_bias": FLAG, "fused": FLAG,
                  "weight_decay": NUMBER, "standardize": FLAG}
#: Buffers whose values have a range beyond being finite: (layer type, buffer) -> (test, the rule in words).
BUFFER_RANGES = {("BatchNorm", "running_var"): (lambda v: v >= 0, ">= 0 (a variance)"),
                 ("Standardize", "scale"): (lambda v: v > 0, "> 0")}


def _class(name):
    """The library class of a layer or loss type named in ``LAYERS`` or ``LOSSES``."""
    return Standardize if name == "Standardize" else getattr(layer_module, name)


def declared_arrays(kind, config):
    """``({param: shape}, {buffer: shape})`` that a layer of type ``kind`` holds, from its config alone."""
    if kind == "Linear":
        d_in, d_out = config["in_features"], config["out_features"]
        return ({"W": (d_in, d_out), "b": (d_out,)} if config.get("bias", True) else {"W": (d_in, d_out)}), {}
    if kind == "BatchNorm":
        d = (config["num_features"],)
        return {"gamma": d, "beta": d}, {"running_mean": d, "running_var": d}
    if kind == "Standardize":
        d = (config["num_features"],)
        return {}, {"mean": d, "scale": d}
    return {}, {}


# ------------------------------------------------------------------ saving


def _spec(obj):
    return {"type": type(obj).__name__, "config": obj.config()}


def architecture(net):
    """The JSON-able description of ``net`` that ``load`` rebuilds it from."""
    cls = type(net).__name__
    if cls not in MODEL_CLASSES:
        raise ValueError(f"cannot save a {cls}: only Sequential and TwoLayerNet models are saved")
    for obj, allowed in [(layer, LAYERS) for layer in net.layers] + [(net.criterion, LOSSES)]:
        name = type(obj).__name__
        if name not in allowed or _class(name) is not type(obj):
            role = "as its loss" if allowed is LOSSES else "as a layer"
            raise ValueError(f"cannot save a model holding a {name} {role}: only this library's layers can be named "
                             f"in a model file (layers: {', '.join(LAYERS)}; losses: {', '.join(LOSSES)})")
    arch = {"class": cls, "layers": [_spec(layer) for layer in net.layers], "loss": _spec(net.criterion),
            "weight_decay": net.weight_decay, "dtype": net.dtype.name,
            "classes": None if net.classes is None else list(net.classes),
            "feature_names": None if net.feature_names is None else [str(f) for f in net.feature_names]}
    if isinstance(net, TwoLayerNet):
        arch["init"] = net.config()
    return arch


def save(net, path):
    """Write ``net`` to ``path`` (an ``.npz``) atomically; refuses non-finite parameters or buffers."""
    if not all(np.isfinite(p).all() for p in net.params.values()):
        raise ValueError("refusing to save a model with non-finite parameters")
    if not all(np.isfinite(v).all() for layer in net.layers for v in getattr(layer, "buffers", {}).values()):
        raise ValueError("refusing to save a model with non-finite buffers (running statistics)")
    arrays = {"format": np.array(FORMAT), "architecture": np.array(json.dumps(architecture(net)))}
    arrays.update({f"param:{k}": v for k, v in net.params.items()})
    for i, layer in enumerate(net.layers):
        for name, value in getattr(layer, "buffers", {}).items():
            arrays[f"buffer:{i}:{name}"] = value
    return atomic_write(path, lambda fh: np.savez(fh, **arrays), suffix=".npz")


# ------------------------------------------------------------------ loading


def load(path):
    """Read a model written by ``save`` (or by the first release); returns the right class.

    Raises
    ------
    ValueError
        ``"{path}: not a model file or damaged: {reason}"``, one line: not a regular file, not a zip, a
        member the format does not define, encryption, an unknown compression, truncation, a bad CRC, an
        unknown or misplaced layer type, a damaged or oversized architecture, arrays whose header does
        not fit it, non-finite parameters, buffers out of range.
    OSError
        The file is missing or unreadable (the OS's own words).
    """
    try:
        with NpzReader(path) as npz:
            return _read_model(npz)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: not a model file or damaged: {one_line(exc, 400)}") from None


def _read_model(npz):
    if "format" not in npz.names:
        raise ValueError("not a model file of this project (no format marker)")
    marker = _text(npz, "format", max_chars=64)
    if marker == FORMAT:
        return _from_v2(npz)
    if marker == FORMAT_V1:
        return _from_v1(npz)
    raise ValueError(f"unknown format {one_line(repr(marker), 80)} (this version reads {FORMAT} and {FORMAT_V1})")


def _text(npz, member, max_chars):
    """The text scalar stored in ``member``, refused unread if its header declares more than ``max_chars``."""
    header = npz.header(member, TEXT)
    if header.shape != () or header.dtype.itemsize > 4 * max_chars:
        raise ValueError(f"member {member!r} is not one text of at most {max_chars:,} characters "
                         f"(its header says shape {header.shape}, dtype {header.dtype})")
    return str(npz.read(member, header)[()])


def _from_v2(npz):
    arch = _parse_architecture(_text(npz, "architecture", MAX_ARCHITECTURE_CHARS))
    dtype = _dtype(arch.get("dtype", "float64"))
    specs = _layer_specs(arch.get("layers"))
    loss = _checked_spec(arch.get("loss"), LOSSES, "loss")
    init = _checked_config("TwoLayerNet", arch.get("init"), TWO_LAYER_INIT) if arch["class"] == "TwoLayerNet" else None
    weight_decay = _checked_value("the architecture", "weight_decay", arch.get("weight_decay", 0.0), NUMBER)
    params, buffers = _declared(specs, loss, init)
    _check_total(list(params.values()) + list(buffers.values()))
    headers = _check_members(npz, params, buffers)
    # Everything the file declares fits: only now is anything the size of the model allocated.
    if init is not None:
        net = TwoLayerNet(**init, seed=0, dtype=dtype)
    else:
        net = Sequential([_make(kind, config, dtype) for kind, config in specs], _class(loss[0])(), weight_decay)
    _check_built(net, params, buffers)
    _fill(net, npz, headers)
    net.classes = _names(arch.get("classes"), "classes", _n_classes(net), (int, str))
    net.feature_names = _names(arch.get("feature_names"), "feature_names", net.input_dim, (str,))
    return net


def _declared(specs, loss, init):
    """``({key: shape}, {(layer index, name): shape})``: the parameters and buffers the layer list declares,
    keyed as the file names them (``"{i}.{name}"``, or a ``TwoLayerNet``'s handout names when ``init``)."""
    arrays = [declared_arrays(kind, config) for kind, config in specs]
    if init is not None:
        keys = _two_layer_keys(init, specs, loss)
    else:
        keys = {(i, name): f"{i}.{name}" for i, (params, _) in enumerate(arrays) for name in params}
    params = {keys[i, name]: shape for i, (declared, _) in enumerate(arrays) for name, shape in declared.items()}
    buffers = {(i, name): shape for i, (_, declared) in enumerate(arrays) for name, shape in declared.items()}
    return params, buffers


# ------------------------------------------------------------------ the architecture, checked


def _parse_architecture(text):
    """The architecture's JSON, parsed only once its nesting is known to be shallow; numbers bounded."""
    if _nested_too_deep(text):
        raise ValueError(f"damaged architecture: its JSON is nested more than {MAX_NESTING} deep")
    try:
        arch = json.loads(text, parse_int=_bounded_int, parse_float=_finite_float, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"damaged architecture (not valid JSON: {exc.msg})") from None
    if not isinstance(arch, dict) or arch.get("class") not in MODEL_CLASSES:
        found = arch.get("class") if isinstance(arch, dict) else arch
        raise ValueError(f"damaged architecture: unknown model class {one_line(repr(found), 80)}")
    return arch


def _nested_too_deep(text):
    """Whether ``[`` and ``{`` nest more than ``MAX_NESTING`` deep in JSON ``text`` (strings skipped),
    counted in one pass, without recursion."""
    depth = 0
    for token in re.finditer(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]', text):
        bracket = token.group()
        if bracket in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return True
        elif bracket in "]}":
            depth -= 1
    return False


def _bounded_int(digits):
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"damaged architecture: the number {digits[:24]}... is out of range")
    return int(digits)


def _finite_float(digits):
    value = float(digits)
    if not math.isfinite(value):
        raise ValueError(f"damaged architecture: the number {one_line(digits, 40)} is out of range")
    return value


def _no_constant(name):
    raise ValueError(f"damaged architecture: {name} is not a number a model holds")


def _dtype(name):
    if name not in DTYPES:
        raise ValueError(f"damaged architecture: dtype {one_line(repr(name), 40)} is not float32 or float64")
    return np.dtype(name)


def _layer_specs(specs):
    if not isinstance(specs, list) or not 1 <= len(specs) <= MAX_LAYERS:
        found = f"{len(specs)} layers" if isinstance(specs, list) else one_line(repr(specs), 60)
        raise ValueError(f"damaged architecture: it must list 1 to {MAX_LAYERS:,} layers, found {found}")
    return [_checked_spec(spec, LAYERS, "layer") for spec in specs]


def _checked_spec(spec, allowed, role):
    """``(type name, config)`` of one layer or loss entry, checked against ``allowed`` (``LAYERS`` or ``LOSSES``)."""
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise ValueError(f"damaged architecture: a {role} entry is {one_line(repr(spec), 80)}")
    name = spec["type"]
    if name not in allowed:
        if name in LAYERS or name in LOSSES or name in layer_module.__all__:
            raise ValueError(f"the architecture names {name} as a {role}, where only {', '.join(allowed)} may stand")
        raise ValueError(f"the architecture names an unknown {role} type {one_line(repr(name), 60)} "
                         f"(known: {', '.join(sorted(allowed))})")
    return name, _checked_config(name, spec.get("config", {}), allowed[name])


def _checked_config(owner, config, kinds):
    """``config`` after checking its keys are ``kinds``'s (every width given) and each value is of its kind."""
    shown = one_line(repr(config), 80)
    if not isinstance(config, dict):
        raise ValueError(f"damaged architecture: the config of {owner} is {shown}")
    unexpected = sorted(set(config) - set(kinds))
    missing = [key for key, kind in kinds.items() if kind == WIDTH and key not in config]
    if unexpected or missing:
        what = f"unexpected {one_line(repr(unexpected[0]), 40)}" if unexpected else f"{missing[0]} missing"
        raise ValueError(f"damaged architecture: cannot build {owner}({shown}): {what}")
    for key, value in config.items():
        _checked_value(owner, key, value, kinds[key])
    return config


def _checked_value(owner, key, value, kind):
    is_int = isinstance(value, int) and not isinstance(value, bool)
    if kind == WIDTH and not (is_int and 1 <= value <= MAX_WIDTH):
        expected = f"a whole number in [1, {MAX_WIDTH:,}]"
    elif kind == NUMBER and not (is_int or isinstance(value, float)):
        expected = "a number"
    elif kind == FLAG and not isinstance(value, bool):
        expected = "true or false"
    elif kind == WEIGHTS and not (isinstance(value, list) and 2 <= len(value) <= MAX_WIDTH and all(
            isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        expected = "a list of numbers, one per class"
    else:
        return value
    raise ValueError(f"damaged architecture: {key} of {owner} must be {expected}, got {one_line(repr(value), 40)}")


def _two_layer_keys(init, specs, loss):
    """``(layer index, name) -> key`` of a ``TwoLayerNet``'s parameters (the handout's names), after checking
    its constructor arguments describe the layer list; read off a copy built at width 1, which costs nothing."""
    template = TwoLayerNet(**{**init, "input_dim": 1, "hidden_dim": 1}, seed=0)
    if ([type(layer).__name__ for layer in template.layers] != [kind for kind, _ in specs]
            or type(template.criterion).__name__ != loss[0]):
        raise ValueError("damaged architecture: the layer list does not match the model class")
    first = next(config for kind, config in specs if kind == "Linear")
    if (first["in_features"], first["out_features"]) != (init["input_dim"], init["hidden_dim"]):
        raise ValueError(f"damaged architecture: TwoLayerNet's input_dim and hidden_dim ({init['input_dim']}, "
                         f"{init['hidden_dim']}) disagree with its first layer ({first['in_features']}, "
                         f"{first['out_features']})")
    slots = [(i, name) for i, layer in enumerate(template.layers) for name in layer.params]
    return dict(zip(slots, template.params, strict=True))  # ``params`` lists the layers' arrays in this order


def _check_total(shapes):
    total = sum(math.prod(shape) for shape in shapes)
    if total > MAX_NUMBERS:
        raise ValueError(f"the architecture declares {total:,} numbers (parameters and buffers), more than the "
                         f"{MAX_NUMBERS:,} a model file may hold")


# ------------------------------------------------------------------ the arrays, checked from their headers


def _check_members(npz, params, buffers):
    """The ``.npy`` header of every array the architecture declares, each checked against it; any
    member the format does not define is refused unread."""
    stored = {name[len("param:"):] for name in npz.names if name.startswith("param:")}
    if stored != set(params):
        raise ValueError(f"the file holds parameters {sorted(stored)}, the architecture needs {sorted(params)}")
    members = {f"param:{key}": (shape, f"parameter {key!r}") for key, shape in params.items()}
    members.update({f"buffer:{i}:{name}": (shape, f"buffer {name!r} of layer {i}")
                    for (i, name), shape in buffers.items()})
    _refuse_others(npz, members, {"format", "architecture"})
    return {member: _array_header(npz, member, shape, what) for member, (shape, what) in members.items()}


def _refuse_others(npz, members, scalars):
    """Refuse a file without every array of ``members``, or with any member beyond them and ``scalars``."""
    missing = sorted(set(members) - npz.names)
    if missing:
        raise ValueError(f"the file is missing {missing[0]!r}")
    others = sorted(npz.names - set(members) - set(scalars))
    if others:
        raise ValueError(f"it holds the member {one_line(repr(others[0]), 80)}, which the format does not define "
                         "(refused unread)")


def _array_header(npz, member, shape, what):
    header = npz.header(member, NUMERIC)
    if header.shape != tuple(shape):
        raise ValueError(f"{what} has shape {header.shape}, the architecture needs {tuple(shape)}")
    return header


def _make(kind, config, dtype):
    """A fresh layer of a checked spec; a layer holding arrays gets them in ``dtype``."""
    params, buffers = declared_arrays(kind, config)
    return _class(kind)(**config, dtype=dtype) if params or buffers else _class(kind)(**config)


def _check_built(net, params, buffers):
    """The built network holds exactly the arrays the file was checked against (no allocation surprise)."""
    built_params = {key: np.shape(value) for key, value in net.params.items()}
    built_buffers = {(i, name): np.shape(value) for i, layer in enumerate(net.layers)
                     for name, value in getattr(layer, "buffers", {}).items()}
    if built_params != params or built_buffers != buffers:
        raise ValueError("damaged architecture: the layer list does not match the model class")


def _fill(net, npz, headers):
    """Read every array into the network, refusing non-finite values and buffers out of their range."""
    for key, target in net.params.items():
        net.params[key] = _value(npz, f"param:{key}", headers, target, f"model parameters are not finite ({key!r})")
    for i, layer in enumerate(net.layers):
        for name, target in getattr(layer, "buffers", {}).items():
            value = _value(npz, f"buffer:{i}:{name}", headers, target,
                           f"model buffers are not finite (buffer {name!r} of layer {i})")
            test, rule = BUFFER_RANGES.get((type(layer).__name__, name), (None, None))
            if test is not None and not test(value).all():
                raise ValueError(f"buffer {name!r} of layer {i} ({type(layer).__name__}) must be {rule}, "
                                 f"found {value.min()}")
            target[...] = value
        if isinstance(layer, Standardize):
            layer.set(layer.mean, layer.scale)  # refreshes its identity flag


def _value(npz, member, headers, target, refusal):
    """The array of ``member`` in ``target``'s dtype, refused with ``refusal`` unless every value is finite."""
    with np.errstate(over="ignore", invalid="ignore"):  # a float64 too large for float32 becomes inf: refused
        value = npz.read(member, headers[member]).astype(target.dtype, copy=False)
    if not np.isfinite(value).all():
        raise ValueError(refusal)
    return value


def _n_classes(net):
    return None if net.target == "values" else 2 if net.target == "binary" and net.output_dim == 1 else net.output_dim


def _names(value, what, count, kinds):
    """A stored list of names, checked: None, or ``count`` distinct ints/strings."""
    if value is None:
        return None
    if (not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, kinds) for v in value)
            or len(set(value)) != len(value) or (count is not None and len(value) != count)):
        raise ValueError(f"damaged architecture: {what} must be a list of {count} distinct names, "
                         f"got {one_line(repr(value), 80)}")
    return value


# ------------------------------------------------------------------ the first release's files


#: Format 1's scalars and their dtype kinds; its arrays follow from them (``_v1_arrays``).
V1_SCALARS = {"input_dim": "iu", "hidden_dim": "iu", "hidden_bias": "b", "fused": "b"}


def _v1_arrays(input_dim, hidden_dim, hidden_bias, fused):
    """Format 1's arrays, member -> shape: the handout's parameters and the standardisation."""
    arrays = {"param_w1": (input_dim, hidden_dim), "param_w2": (hidden_dim, 1), "param_b": (1,),
              "x_mean": (input_dim,), "x_scale": (input_dim,)}
    if hidden_bias:
        arrays["param_b1"] = (hidden_dim,)
    return arrays


def _from_v1(npz):
    missing = sorted({"dtype", *V1_SCALARS} - npz.names)
    if missing:
        raise ValueError(f"the file is missing {missing[0]!r}")
    init = {}
    for name, kinds in V1_SCALARS.items():
        header = npz.header(name, kinds)
        if header.shape != ():
            raise ValueError(f"{name} has shape {header.shape}, format 1 stores one value")
        init[name] = npz.read(name, header)[()].item()
    init = _checked_config("TwoLayerNet", init, TWO_LAYER_INIT)
    dtype = _dtype(_text(npz, "dtype", max_chars=16))
    arrays = _v1_arrays(**init)
    _check_total(arrays.values())
    members = {member: (shape, member) for member, shape in arrays.items()}
    _refuse_others(npz, members, {"format", "dtype", *V1_SCALARS})
    headers = {member: _array_header(npz, member, shape, what) for member, (shape, what) in members.items()}
    net = TwoLayerNet(**init, seed=0, dtype=dtype)
    params = {member[len("param_"):]: shape for member, shape in arrays.items() if member.startswith("param_")}
    _check_built(net, params, {(0, "mean"): arrays["x_mean"], (0, "scale"): arrays["x_scale"]})
    for key, target in net.params.items():
        net.params[key] = _value(npz, f"param_{key}", headers, target, f"model parameters are not finite ({key!r})")
    standardisation = [_value(npz, member, headers, target, f"the standardisation ({member}) is not finite")
                       for member, target in (("x_mean", net.standardizer.mean), ("x_scale", net.standardizer.scale))]
    net.standardizer.set(*standardisation)
    return net
