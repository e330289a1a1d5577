"""Saving and loading networks: one ``.npz`` holding the architecture as JSON text and the arrays.

Format ``cs231n-handprop/Sequential/2`` (written now):

- ``format``: the marker string;
- ``architecture``: JSON text — the model class (``Sequential`` or ``TwoLayerNet``), each layer's type
  and ``config()``, the loss's type and config, ``weight_decay``, ``dtype``, ``classes``,
  ``feature_names`` and, for ``TwoLayerNet``, its constructor arguments;
- ``param:<key>`` for every entry of ``params``; ``buffer:<layer index>:<name>`` for every layer's
  ``buffers`` (a ``Standardize`` layer's mean and scale, BatchNorm's running statistics).

Files of format ``cs231n-handprop/TwoLayerNet/1`` (the first release) still load. Everything is read
with ``allow_pickle=False``: a model file can hold no code, and only layer types of this library
can be named in it.
"""

import json
import zipfile

import numpy as np

import layers as layer_module
from layers.base import Layer
from layers.standardize import Standardize

from .atomic import atomic_write
from .net import TwoLayerNet
from .sequential import Sequential

FORMAT = "cs231n-handprop/Sequential/2"
FORMAT_V1 = "cs231n-handprop/TwoLayerNet/1"
MODEL_CLASSES = {"Sequential": Sequential, "TwoLayerNet": TwoLayerNet}


def _layer_types():
    """Every layer class this library exports, by name: the only types a model file may name."""
    types = {name: getattr(layer_module, name) for name in layer_module.__all__}
    types = {name: cls for name, cls in types.items() if isinstance(cls, type) and issubclass(cls, Layer)}
    types["Standardize"] = Standardize
    return types


def _spec(obj):
    config = obj.config() if callable(getattr(obj, "config", None)) else {}
    return {"type": type(obj).__name__, "config": config}


def architecture(net):
    """The JSON-able description of ``net`` that ``load`` rebuilds it from."""
    cls = type(net).__name__
    if cls not in MODEL_CLASSES:
        raise ValueError(f"cannot save a {cls}: only Sequential and TwoLayerNet models are saved")
    types = _layer_types()
    for obj in list(net.layers) + [net.criterion]:
        if type(obj).__name__ not in types or types[type(obj).__name__] is not type(obj):
            raise ValueError(f"cannot save a model holding a {type(obj).__name__}: only this library's layers "
                             "can be named in a model file")
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


def load(path):
    """Read a model written by ``save`` (or by the first release); returns the right class.

    Raises
    ------
    ValueError
        One sentence naming ``path``: not a model file, damaged, an unknown layer type, a damaged
        architecture, shapes that do not fit, non-finite parameters.
    OSError
        The file is missing or unreadable (the OS's own words).
    """
    files = _read_npz(path)
    marker = str(files.get("format", ""))
    try:
        if marker == FORMAT_V1:
            net = _from_v1(files)
        elif marker == FORMAT:
            net = _from_v2(files)
        else:
            raise ValueError("not a model file of this project (no format marker)")
    except KeyError as exc:
        raise ValueError(f"{path}: model file is missing {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from None
    if not all(np.isfinite(p).all() for p in net.params.values()):
        raise ValueError(f"{path}: model parameters are not finite")
    if not all(np.isfinite(v).all() for layer in net.layers for v in getattr(layer, "buffers", {}).values()):
        raise ValueError(f"{path}: model buffers (standardisation, running statistics) are not finite")
    return net


def _read_npz(path):
    """All arrays of an ``.npz``; the file is closed on every path (no ResourceWarning)."""
    try:
        with open(path, "rb") as fh:
            f = np.load(fh, allow_pickle=False)
            if not isinstance(f, np.lib.npyio.NpzFile):  # an .npy array: no model
                raise ValueError
            with f:
                return {k: f[k] for k in f.files}
    except OSError as exc:
        if exc.errno is not None:
            raise  # missing or unreadable: the OS's own words
        raise ValueError(f"{path}: not a model file (an .npz written by save), or damaged") from None
    except (ValueError, EOFError, zipfile.BadZipFile, KeyError):
        raise ValueError(f"{path}: not a model file (an .npz written by save), or damaged") from None


def _fill(view, value, name):
    value = np.asarray(value)
    if value.shape != view.shape:
        raise ValueError(f"{name} has shape {value.shape}, the architecture needs {view.shape}")
    if value.dtype.kind not in "fiu":
        raise ValueError(f"{name} is not numeric (dtype {value.dtype})")
    view[...] = value


def _from_v1(files):
    net = TwoLayerNet(input_dim=int(files["input_dim"]), hidden_dim=int(files["hidden_dim"]),
                      hidden_bias=bool(files["hidden_bias"]), fused=bool(files["fused"]), seed=0,
                      dtype=str(files["dtype"]))
    for name, view in net.params.items():
        _fill(view, files[f"param_{name}"], f"parameter {name!r}")
    net.standardizer.set(files["x_mean"], files["x_scale"])
    return net


def _from_v2(files):
    try:
        arch = json.loads(str(files["architecture"]))
    except json.JSONDecodeError as exc:
        raise ValueError(f"damaged architecture (not valid JSON: {exc.msg})") from None
    if not isinstance(arch, dict) or arch.get("class") not in MODEL_CLASSES:
        raise ValueError(f"damaged architecture: unknown model class {arch.get('class') if isinstance(arch, dict) else arch!r}")
    if str(arch.get("dtype", "float64")) not in ("float32", "float64"):
        raise ValueError(f"damaged architecture: dtype {arch.get('dtype')!r} is not float32 or float64")
    dtype = np.dtype(str(arch.get("dtype", "float64")))
    if arch["class"] == "TwoLayerNet":
        init = arch.get("init")
        if not isinstance(init, dict):
            raise ValueError("damaged architecture: TwoLayerNet without its constructor arguments")
        net = TwoLayerNet(seed=0, dtype=dtype, **init)
    else:
        net = Sequential([_build(spec, dtype, "layer") for spec in arch.get("layers", [])],
                         _build(arch.get("loss"), dtype, "loss"), weight_decay=arch.get("weight_decay", 0.0))
    if len(net.layers) != len(arch.get("layers", [])) or any(
            type(layer).__name__ != spec.get("type") for layer, spec in zip(net.layers, arch["layers"])):
        raise ValueError("damaged architecture: the layer list does not match the model class")
    stored = {k[len("param:"):] for k in files if k.startswith("param:")}
    if stored != set(net.params):
        raise ValueError(f"damaged architecture: the file holds parameters {sorted(stored)}, "
                         f"the architecture needs {sorted(net.params)}")
    for key, view in net.params.items():
        _fill(view, files[f"param:{key}"], f"parameter {key!r}")
    for i, layer in enumerate(net.layers):
        for name, view in getattr(layer, "buffers", {}).items():
            _fill(view, files[f"buffer:{i}:{name}"], f"buffer {name!r} of layer {i}")
        if isinstance(layer, Standardize):
            layer.set(layer.mean, layer.scale)  # validates, and refreshes the identity flag
    net.classes = _names(arch.get("classes"), "classes", _n_classes(net), (int, str))
    net.feature_names = _names(arch.get("feature_names"), "feature_names", net.input_dim, (str,))
    return net


def _n_classes(net):
    return None if net.target == "values" else 2 if net.target == "binary" and net.output_dim == 1 else net.output_dim


def _names(value, what, count, kinds):
    """A stored list of names, checked: None, or ``count`` distinct ints/strings."""
    if value is None:
        return None
    if (not isinstance(value, list) or any(isinstance(v, bool) or not isinstance(v, kinds) for v in value)
            or len(set(value)) != len(value) or (count is not None and len(value) != count)):
        raise ValueError(f"damaged architecture: {what} must be a list of {count} distinct names, got {value!r}")
    return value


def _build(spec, dtype, what):
    if not isinstance(spec, dict) or not isinstance(spec.get("config", {}), dict):
        raise ValueError(f"damaged architecture: a {what} entry is {spec!r}")
    types = _layer_types()
    name = spec.get("type")
    if name not in types:
        raise ValueError(f"the architecture names an unknown {what} type {name!r} "
                         f"(known: {', '.join(sorted(types))})")
    config = spec.get("config", {})
    try:
        layer = types[name](**config, dtype=dtype) if name in ("Linear", "Standardize") else types[name](**config)
    except TypeError as exc:
        raise ValueError(f"damaged architecture: cannot build {name}({config}): {exc}") from None
    if name not in ("Linear", "Standardize") and getattr(layer, "params", None) and dtype != np.float64:
        layer = layer.astype(dtype)
    return layer
