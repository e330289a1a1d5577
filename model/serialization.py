"""Saving and loading networks: one ``.npz`` holding the architecture as JSON text and the arrays.

Format ``cs231n-handprop/Sequential/2``: ``format`` (the marker); ``architecture``, JSON text of the model
class (``Sequential`` or ``TwoLayerNet``), each layer's type and ``config()``, the loss's, ``weight_decay``,
``dtype``, ``classes``, ``feature_names`` (the table's columns), ``encoding`` (how those columns become the
network's inputs: ``data.encoding.Encoding.config()``, absent when they are its inputs) and, for
``TwoLayerNet``, its constructor arguments (``init``);
``param:<key>`` for every entry of ``params`` and ``buffer:<layer index>:<name>`` for every layer's
``buffers``. Files of format ``cs231n-handprop/TwoLayerNet/1`` (the first release) still load.

Loading trusts nothing in the file, in the spirit of ``torch.load(weights_only=True)``: a model file holds
no code and names only the library's classes (``model.registry``), each config checked against its
constructor and the loss against the last layer (``check_head``, as ``save`` does). ``NpzReader`` reads only
the members the format defines; the architecture is bounded (length, nesting, numbers, layer count, total
size); the arrays each object holds are found by building it at small probe widths (``declared_arrays``), so
every array's header is checked against the architecture **before** the network is built; buffers are
checked (finite, variances >= 0, scales > 0). Each refusal is one ``ValueError``, ``"{path}: not a model
file or damaged: {reason}"``. The model classes are the caller's (``Sequential.load`` passes them), so this
module imports no network.
"""

import json
import math
import re
import reprlib

import numpy as np

from data.encoding import Encoding
from layers.standardize import Standardize
from layers.validation import is_integer

from .atomic import atomic_write
from .factory import make
from .npz_reader import NUMERIC, TEXT, NpzReader, one_line
from .registry import (COUNT, FLAG, LIBRARY, MAX_WIDTH, NUMBER, OPTIONAL, WEIGHTS, WIDTH, check_head, config_kinds,
                       library_class, named)
from .table_columns import raw_width

FORMAT = "cs231n-handprop/Sequential/2"
FORMAT_V1 = "cs231n-handprop/TwoLayerNet/1"
MODEL_CLASSES = ("Sequential", "TwoLayerNet")
DTYPES = ("float32", "float64")

# Bounds on what a model file may declare, all checked before anything is allocated.
MAX_LAYERS = 1_000
MAX_NUMBERS = 200_000_000  # parameters and buffers together (1.6 GB in float64)
MAX_ARCHITECTURE_CHARS = 1 << 22  # of JSON text
MAX_NESTING = 16  # of JSON brackets; the format itself nests 4 deep
MAX_DIGITS = 20  # in a row, outside the JSON text's strings

#: A JSON string, or one left open: matched from its first quote with no step back, so never twice.
_STRING = re.compile(r'"[^"\\]*(?:\\[\s\S][^"\\]*)*"?')
_LONG_DIGITS = re.compile(f"[0-9]{{{MAX_DIGITS + 1},}}")
MISMATCH = "damaged architecture: the layer list does not match the model class"
#: Two sets of small widths an object is built at to learn how its arrays' shapes follow its widths.
PROBES = ((2, 3, 5, 7, 11, 13), (17, 19, 23, 29, 31, 37))
#: What a config value of each kind must be: (test, the rule in words).
KIND_RULES = {
    WIDTH: (lambda v: is_integer(v) and 1 <= v <= MAX_WIDTH, f"a whole number in [1, {MAX_WIDTH:,}]"),
    COUNT: (lambda v: is_integer(v) and 0 <= v <= MAX_WIDTH, f"a whole number in [0, {MAX_WIDTH:,}]"),
    OPTIONAL: (lambda v: v is None or KIND_RULES[WIDTH][0](v), f"null or a whole number in [1, {MAX_WIDTH:,}]"),
    NUMBER: (lambda v: is_integer(v) or isinstance(v, float), "a number"),
    FLAG: (lambda v: isinstance(v, bool), "true or false"),
    WEIGHTS: (lambda v: isinstance(v, list) and 2 <= len(v) <= MAX_WIDTH and all(
        is_integer(w) or isinstance(w, float) for w in v), "a list of numbers, one per class"),
}
#: Buffers whose values have a range beyond being finite: (layer type, buffer) -> (test, the rule in words). A rule
#: holds for the type's subclasses too (``BatchNorm2d`` is a ``BatchNorm``): ``_buffer_range`` looks it up.
BUFFER_RANGES = {("BatchNorm", "running_var"): (lambda v: v >= 0, ">= 0 (a variance)"),
                 ("Standardize", "scale"): (lambda v: v > 0, "> 0")}


def declared_arrays(cls, config, held):
    """``{member: shape}`` of the arrays ``held(cls(**config))`` names, found without building it at its size.

    ``cls`` is built at the two ``PROBES``' widths: a dimension equal to a probe width stands for that width
    (any other is a constant), and the shapes read off the first probe must predict the second's exactly.
    """
    widths = [key for key, kind in config_kinds(cls).items() if kind == WIDTH and key in config]
    if len(widths) > len(PROBES[0]):
        raise ValueError(f"damaged architecture: {cls.__name__} has more than {len(PROBES[0])} widths")
    first, second = (held(cls(**{**config, **dict(zip(widths, probe, strict=False))})) for probe in PROBES)

    def at(sizes):
        size_of = dict(zip(PROBES[0], sizes, strict=False))
        return {member: tuple(size_of.get(d, d) for d in shape) for member, shape in first.items()}

    if at(PROBES[1]) != second:
        raise ValueError(f"damaged architecture: the arrays of {cls.__name__} do not follow its widths")
    return at([config[key] for key in widths])


def _layer_arrays(layer, i):
    """``{member: shape}`` of one layer's arrays, named as a ``Sequential``'s file names them at index ``i``."""
    members = {f"param:{i}.{name}": np.shape(v) for name, v in getattr(layer, "params", {}).items()}
    members.update({f"buffer:{i}:{name}": np.shape(v) for name, v in getattr(layer, "buffers", {}).items()})
    return members


def _net_members(net):
    """``{member: array}`` of every array a network holds, named as its file names them."""
    members = {f"param:{key}": v for key, v in net.params.items()}
    members.update({f"buffer:{i}:{name}": v for i, layer in enumerate(net.layers)
                    for name, v in getattr(layer, "buffers", {}).items()})
    return members


def _net_arrays(net):
    """``{member: shape}`` of every array a network holds, named as its file names them."""
    return {member: np.shape(v) for member, v in _net_members(net).items()}


def _spec(obj):
    return {"type": type(obj).__name__, "config": obj.config()}


def architecture(net):
    """The JSON-able description of ``net`` that ``load`` rebuilds it from."""
    cls = type(net).__name__
    if cls not in MODEL_CLASSES:
        raise ValueError(f"cannot save a {cls}: only Sequential and TwoLayerNet models are saved")
    for obj, role in [(layer, "layer") for layer in net.layers] + [(net.criterion, "loss")]:
        if library_class(obj, role) is None:
            raise ValueError(f"cannot save a model holding a {type(obj).__name__} "
                             f"{'as its loss' if role == 'loss' else 'as a layer'}: only this library's layers can be "
                             f"named in a model file (layers: {', '.join(named('layer'))}; losses: "
                             f"{', '.join(named('loss'))})")
    check_head(type(net.layers[-1]).__name__, type(net.criterion).__name__)
    arch = {"class": cls, "layers": [_spec(layer) for layer in net.layers], "loss": _spec(net.criterion),
            "weight_decay": net.weight_decay, "dtype": net.dtype.name,
            "classes": None if net.classes is None else list(net.classes),
            "feature_names": None if net.feature_names is None else [str(f) for f in net.feature_names]}
    encoding = net.encoding
    if encoding is not None:
        arch["encoding"] = encoding.config()
    if callable(getattr(net, "config", None)):
        arch["init"] = net.config()
    return arch


def save(net, path):
    """Write ``net`` to ``path`` (an ``.npz``) atomically; refuses non-finite parameters or buffers."""
    members = _net_members(net)
    for kind, what in (("param:", "parameters"), ("buffer:", "buffers (running statistics)")):
        if not all(np.isfinite(v).all() for member, v in members.items() if member.startswith(kind)):
            raise ValueError(f"refusing to save a model with non-finite {what}")
    arrays = {"format": np.array(FORMAT), "architecture": np.array(json.dumps(architecture(net))), **members}
    return atomic_write(path, lambda fh: np.savez(fh, **arrays), suffix=".npz")


def load(path, model_classes):
    """Read a model written by ``save`` (or by the first release) as one of ``model_classes``: each name of
    ``MODEL_CLASSES`` -> its class (passed in by ``Sequential.load``, so that this module imports no network).

    Raises
    ------
    ValueError
        ``"{path}: not a model file or damaged: {reason}"``, one line: not a regular file, not a zip, a
        member the format does not define, encryption, an unknown compression, truncation, a bad CRC, an
        unknown or misplaced layer type, a damaged or oversized architecture, layers whose sizes do not
        chain (through the image layers too: ``Sequential`` checks them from the numbers, before any image
        is made), arrays whose header does not fit the architecture, non-finite parameters, buffers out of
        range (a layer type's rule holding for its subclasses).
    OSError
        The file is missing or unreadable (the OS's own words).
    """
    try:
        with NpzReader(path) as npz:
            return _read_model(npz, model_classes)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: not a model file or damaged: {one_line(exc, 400)}") from None


def _read_model(npz, model_classes):
    if "format" not in npz.names:
        raise ValueError("not a model file of this project (no format marker)")
    marker = _text(npz, "format", max_chars=64)
    if marker == FORMAT:
        return _from_v2(npz, model_classes)
    if marker == FORMAT_V1:
        net = _from_v1(npz, model_classes["TwoLayerNet"])
        net.encoding = None  # the first release read numbers only
        return net
    raise ValueError(f"unknown format {one_line(repr(marker), 80)} (this version reads {FORMAT} and {FORMAT_V1})")


def _text(npz, member, max_chars):
    """The text scalar stored in ``member``, refused unread if its header declares more than ``max_chars``."""
    header = npz.header(member, TEXT)
    if header.shape != () or header.dtype.itemsize > 4 * max_chars:
        raise ValueError(f"member {member!r} is not one text of at most {max_chars:,} characters "
                         f"(its header says shape {header.shape}, dtype {header.dtype})")
    return str(npz.read(member, header)[()])


def _from_v2(npz, model_classes):
    arch = _parse_architecture(_text(npz, "architecture", MAX_ARCHITECTURE_CHARS))
    cls, dtype = model_classes[arch["class"]], _dtype(arch.get("dtype", "float64"))  # a name of MODEL_CLASSES
    members, build = (_sequential if arch["class"] == "Sequential" else _from_init)(arch, cls, dtype)
    net = _checked_build(npz, members, build, {"format", "architecture"})
    net.classes = _names(arch.get("classes"), "classes", _n_classes(net), (int, str))
    net.encoding = None if arch.get("encoding") is None else Encoding.from_config(arch["encoding"], net.input_dim)
    net.feature_names = _names(arch.get("feature_names"), "feature_names", raw_width(net), (str,))
    _check_encoding_names(net)
    return net


def _check_encoding_names(net):
    """``ValueError`` unless a model's stored encoding names its columns as its ``feature_names`` do (when it has
    both): columns are chosen by one list and encoded by the other."""
    if net.encoding is None or net.feature_names is None or net.encoding.names == net.feature_names:
        return
    j = next(j for j, (a, b) in enumerate(zip(net.encoding.names, net.feature_names, strict=True)) if a != b)
    raise ValueError(f"damaged encoding: its names must be the feature_names, but column {j} is "
                     f"{one_line(repr(net.encoding.names[j]), 80)} in the encoding and "
                     f"{one_line(repr(net.feature_names[j]), 80)} in feature_names")


def _checked_build(npz, declared, build, scalars, member=lambda name: name):
    """The network ``build()`` makes, filled from the file, once the arrays ``declared`` (``{format 2 name: shape}``;
    ``member`` gives the file's name of each) are checked from their headers and the file holds only them and
    ``scalars``."""
    total = sum(math.prod(shape) for shape in declared.values())
    if total > MAX_NUMBERS:
        raise ValueError(f"the architecture declares {total:,} numbers (parameters and buffers), more than the "
                         f"{MAX_NUMBERS:,} a model file may hold")
    headers = _check_members(npz, {member(name): shape for name, shape in declared.items()}, scalars)
    # Everything the file declares fits: only now is anything the size of the model allocated.
    net = build()
    if _net_arrays(net) != declared:
        raise ValueError(MISMATCH)
    _fill(net, npz, headers, member)
    return net


def _sequential(arch, cls, dtype):
    """The arrays a ``Sequential``'s layer list declares, and how to build it once they are checked."""
    specs = _layer_specs(arch.get("layers"))
    loss_class, loss_config = _checked_spec(arch.get("loss"), "loss")
    check_head(specs[-1][0].__name__, loss_class.__name__)
    weight_decay = arch.get("weight_decay", 0.0)
    if not KIND_RULES[NUMBER][0](weight_decay):
        raise ValueError(f"damaged architecture: weight_decay must be a number, got {one_line(repr(weight_decay), 40)}")
    members = {}
    for i, (layer_class, config) in enumerate(specs):
        members.update(declared_arrays(layer_class, config, lambda layer, i=i: _layer_arrays(layer, i)))

    def build():
        stack = [make(None, layer_class.__name__, **config, dtype=dtype) for layer_class, config in specs]
        return cls(stack, loss_class(**loss_config), weight_decay)

    return members, build


def _from_init(arch, cls, dtype):
    """The arrays a model class built from its constructor's arguments (``init``) declares, and how to build
    it once they are checked; the file's layer list must be the one they build."""
    init = _checked_config(cls, arch.get("init"))
    _layer_specs(arch.get("layers"))  # each entry said as it is damaged, before the list is compared
    loss_class, loss_config = _checked_spec(arch.get("loss"), "loss")

    def build():
        net = cls(**init, seed=0, dtype=dtype)
        if type(net.criterion) is loss_class and "class_weight" in loss_config:  # the loss's own setting, checked
            net.criterion.weigh(loss_config["class_weight"])
        if [_spec(obj) for obj in [*net.layers, net.criterion]] != [*(arch.get("layers") or []), arch.get("loss")]:
            raise ValueError(MISMATCH)
        return net

    return declared_arrays(cls, init, _net_arrays), build


def _parse_architecture(text):
    """The architecture's JSON, parsed once its nesting is known to be shallow and its numbers short, both read
    off the text outside its strings (a string left open runs to the end), each character once; floats finite."""
    bare = _STRING.sub("", text)
    codes = np.frombuffer(bare.encode("utf-8", "surrogatepass"), np.uint8)  # no bracket hides in a wide character
    depth = np.cumsum(np.isin(codes, list(b"[{")).astype(np.int32) - np.isin(codes, list(b"]}")))
    if depth.size and depth.max() > MAX_NESTING:
        raise ValueError(f"damaged architecture: its JSON is nested more than {MAX_NESTING} deep")
    digits = _LONG_DIGITS.search(bare)
    if digits:
        raise ValueError(f"damaged architecture: the number {digits.group()[:24]}... is out of range")
    try:
        arch = json.loads(text, parse_float=_finite_float, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"damaged architecture (not valid JSON: {exc.msg})") from None
    if not isinstance(arch, dict) or arch.get("class") not in MODEL_CLASSES:
        found = arch.get("class") if isinstance(arch, dict) else arch
        raise ValueError(f"damaged architecture: unknown model class {one_line(reprlib.repr(found), 80)}")
    return arch


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
    return [_checked_spec(spec, "layer") for spec in specs]


def _checked_spec(spec, role):
    """``(class, config)`` of one layer or loss entry: a library class of that ``role``, its config checked."""
    if not isinstance(spec, dict) or not isinstance(spec.get("type"), str):
        raise ValueError(f"damaged architecture: a {role} entry is {one_line(repr(spec), 80)}")
    name, allowed = spec["type"], named(role)
    if name not in allowed:
        if name in LIBRARY:
            raise ValueError(f"the architecture names {name} as a {role}, where only {', '.join(allowed)} may stand")
        raise ValueError(f"the architecture names an unknown {role} type {one_line(repr(name), 60)} "
                         f"(known: {', '.join(sorted(allowed))})")
    return LIBRARY[name], _checked_config(LIBRARY[name], spec.get("config", {}))


def _checked_config(cls, config):
    """``config`` after checking its keys are those ``cls``'s constructor takes (every width given) and each
    value is of its kind."""
    owner, shown, kinds = cls.__name__, one_line(repr(config), 80), config_kinds(cls)
    if not isinstance(config, dict):
        raise ValueError(f"damaged architecture: the config of {owner} is {shown}")
    unexpected = sorted(set(config) - set(kinds))
    missing = [key for key, kind in kinds.items() if kind == WIDTH and key not in config]
    if unexpected or missing:
        what = f"unexpected {one_line(repr(unexpected[0]), 40)}" if unexpected else f"{missing[0]} missing"
        raise ValueError(f"damaged architecture: cannot build {owner}({shown}): {what}")
    for key, value in config.items():
        test, rule = KIND_RULES[kinds[key]]
        if not test(value):
            raise ValueError(f"damaged architecture: {key} of {owner} must be {rule}, got {one_line(repr(value), 40)}")
    return config


def _check_members(npz, members, scalars):
    """The ``.npy`` header of every array of ``members`` (``{member: shape}``), each checked against its shape; a file
    without one of them, or with any member beyond them and ``scalars``, is refused unread."""
    stored = {name[len("param:"):] for name in npz.names if name.startswith("param:")}
    declared = {member[len("param:"):] for member in members if member.startswith("param:")}
    if stored != declared:
        raise ValueError(f"the file holds parameters {sorted(stored)}, the architecture needs {sorted(declared)}")
    missing = sorted(set(members) - npz.names)
    if missing:
        raise ValueError(f"the file is missing {missing[0]!r}")
    others = sorted(npz.names - set(members) - set(scalars))
    if others:
        raise ValueError(f"it holds the member {one_line(repr(others[0]), 80)}, which the format does not define "
                         "(refused unread)")
    headers = {}
    for member, shape in members.items():
        headers[member] = header = npz.header(member, NUMERIC)
        if header.shape != tuple(shape):
            raise ValueError(f"{_described(member)} has shape {header.shape}, the architecture needs {tuple(shape)}")
    return headers


def _described(member):
    """``"parameter 'w1'"``, ``"buffer 'mean' of layer 0"`` or (format 1) the name: a member as a refusal names it."""
    store, _, rest = member.partition(":")
    index, _, name = rest.partition(":")
    return {"param": f"parameter {rest!r}", "buffer": f"buffer {name!r} of layer {index}"}.get(store, member)


def _fill(net, npz, headers, member):
    """Read every array into the network, refusing non-finite values and buffers out of their range.

    ``member`` names the file's member of a format 2 name (format 1 named them otherwise)."""
    for key, target in net.params.items():
        net.params[key] = _value(npz, member(f"param:{key}"), headers, target,
                                 f"model parameters are not finite ({key!r})")
    for i, layer in enumerate(net.layers):
        for name, target in getattr(layer, "buffers", {}).items():
            value = _value(npz, member(f"buffer:{i}:{name}"), headers, target,
                           f"model buffers are not finite (buffer {name!r} of layer {i})")
            test, rule = _buffer_range(layer, name)
            if test is not None and not test(value).all():
                raise ValueError(f"buffer {name!r} of layer {i} ({type(layer).__name__}) must be {rule}, "
                                 f"found {value.min()}")
            if value is not target:
                target[...] = value
        if isinstance(layer, Standardize):
            layer.set(layer.mean, layer.scale)  # refreshes its identity flag


def _buffer_range(layer, name):
    """``(test, rule)`` of ``BUFFER_RANGES`` for buffer ``name`` of ``layer``, from the first class of its hierarchy
    that has one (so a subclass keeps its base's rule); ``(None, None)`` when none has."""
    found = (BUFFER_RANGES.get((cls.__name__, name)) for cls in type(layer).__mro__)
    return next((rule for rule in found if rule is not None), (None, None))


def _value(npz, member, headers, target, refusal):
    """The array of ``member`` in ``target``'s dtype (read into ``target`` itself when the file's array has its
    dtype), refused with ``refusal`` unless every value is finite."""
    with np.errstate(over="ignore", invalid="ignore"):  # a float64 too large for float32 becomes inf: refused
        value = npz.read(member, headers[member], into=target).astype(target.dtype, copy=False)
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


#: Format 1's scalars and their dtype kinds; its arrays are a ``TwoLayerNet``'s, named otherwise (``_v1_member``).
V1_SCALARS = {"input_dim": "iu", "hidden_dim": "iu", "hidden_bias": "b", "fused": "b"}


def _v1_member(name):
    """Format 1's name of a format 2 member: ``param_w1``, ``x_mean``, ``x_scale``."""
    return {"buffer:0:mean": "x_mean", "buffer:0:scale": "x_scale"}.get(name) or name.replace("param:", "param_")


def _from_v1(npz, cls):
    missing = sorted({"dtype", *V1_SCALARS} - npz.names)
    if missing:
        raise ValueError(f"the file is missing {missing[0]!r}")
    init = {}
    for name, kinds in V1_SCALARS.items():
        header = npz.header(name, kinds)
        if header.shape != ():
            raise ValueError(f"{name} has shape {header.shape}, format 1 stores one value")
        init[name] = npz.read(name, header)[()].item()
    init = _checked_config(cls, init)
    dtype = _dtype(_text(npz, "dtype", max_chars=16))
    return _checked_build(npz, declared_arrays(cls, init, _net_arrays), lambda: cls(**init, seed=0, dtype=dtype),
                          {"format", "dtype", *V1_SCALARS}, _v1_member)
