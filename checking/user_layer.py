"""Load the user's own layer class from ``PATH.py:ClassName`` for ``gradcheck.py --layer``."""

import importlib.util
import json
import sys
from pathlib import Path


def load_layer(spec, args_json=None):
    """Build a layer from ``"path/to/file.py:ClassName"``, with ``args_json`` a JSON list or object.

    Raises ``ValueError`` with one readable sentence for every way this can go wrong.
    """
    path, sep, cls_name = str(spec).rpartition(":")
    if not sep or not path or not cls_name:
        raise ValueError(f"--layer wants PATH.py:ClassName, got {spec!r}")
    file = Path(path)
    if not file.is_file():
        raise ValueError(f"{path}: no such file")
    module_name = f"_user_layer_{abs(hash(str(file.resolve())))}"
    try:
        module_spec = importlib.util.spec_from_file_location(module_name, file)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        module_spec.loader.exec_module(module)
    except Exception as exc:
        raise ValueError(f"{path}: could not import it: {type(exc).__name__}: {exc}") from exc
    cls = getattr(module, cls_name, None)
    if cls is None:
        raise ValueError(f"{path} has no class {cls_name!r}")
    missing = [m for m in ("forward", "backward") if not callable(getattr(cls, m, None))]
    if missing:
        raise ValueError(f"{cls_name} in {path} has no {' or '.join(missing)} method; a layer needs both")
    try:
        args = json.loads(args_json) if args_json else {}
    except json.JSONDecodeError as exc:
        raise ValueError(f"--layer-args is not valid JSON: {exc}") from None
    try:
        return cls(**args) if isinstance(args, dict) else cls(*args)
    except Exception as exc:
        raise ValueError(f"could not construct {cls_name}({args_json or ''}): {type(exc).__name__}: {exc}") from exc
