"""A learner's own class, loaded from its file: the one loader behind ``gradcheck.py --layer``/``--use`` and
``train.py --use``, and the one reading of a spec, ``PATH.py:Class`` or ``PATH.py:Class=LibraryClass`` (a class
of any name standing where the library's ``LibraryClass`` stands). Every way it can fail is a ``ValueError`` of
one line: a malformed spec, a missing file, a module that fails to import (whatever it raises, ``SystemExit``
included, and ``os._exit``, which ``layers.protocol.no_process_exit`` turns into an exception while it runs; only
``MemoryError`` passes through), a missing class, a class without ``forward`` or ``backward``.
"""

import importlib.util
import inspect
import sys
from pathlib import Path

from .protocol import describe_exception, no_process_exit
from .shape_errors import relative_path


def split_spec(spec):
    """``"path/to/file.py:MySigmoid=Sigmoid"`` -> ``(Path("path/to/file.py"), "MySigmoid", "Sigmoid")``; without
    ``=Name`` a class stands for the library's of its own name: ``"f.py:Sigmoid"`` -> (…, "Sigmoid", "Sigmoid")."""
    path, sep, names = str(spec).rpartition(":")
    cls_name, equals, stands_for = names.partition("=")
    stands_for = stands_for if equals else cls_name
    if not (sep and path.endswith(".py") and cls_name.isidentifier() and stands_for.isidentifier()):
        raise ValueError(f"{str(spec)!r}: want PATH.py:ClassName or PATH.py:ClassName=LibraryClass, e.g. "
                         "exercises/sigmoid.py:Sigmoid or my_layers.py:MySigmoid=Sigmoid")
    return Path(path), cls_name, stands_for


def load_class(spec, modules=None):
    """The class ``ClassName`` of the file in ``"path/to/file.py:ClassName"`` (or ``…:ClassName=LibraryClass``),
    imported (never instantiated).

    ``modules`` (resolved path -> module), when given, is where a file already imported by this caller is found
    and where a new one is kept: several classes of one file come from one import of it.
    """
    file, cls_name, _ = split_spec(spec)
    modules = {} if modules is None else modules
    key = file.resolve()
    if key not in modules:
        modules[key] = import_file(file)
    cls = getattr(modules[key], cls_name, None)
    if cls is None:
        raise ValueError(f"{file} has no class {cls_name!r}")
    missing = [m for m in ("forward", "backward") if not callable(getattr(cls, m, None))]
    if missing:
        raise ValueError(f"{cls_name} in {file} has no {' or '.join(missing)} method; a layer needs both")
    return cls


def import_file(file):
    """The module in ``file``, imported under a name of its own."""
    if not file.is_file():
        raise ValueError(f"{file}: no such file")
    module_name = f"_user_layer_{abs(hash(str(file.resolve())))}"
    try:
        module_spec = importlib.util.spec_from_file_location(module_name, file)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        with no_process_exit():  # os._exit at the top level would end the run silently, its status the file's
            module_spec.loader.exec_module(module)
    except (MemoryError, KeyboardInterrupt):  # Ctrl-C stops the run, whatever code it arrives in
        raise
    except BaseException as exc:  # noqa: B036 — a module calling sys.exit() at import is the user's error too
        raise ValueError(f"{file}: could not import it: {describe_exception(exc)}") from exc
    return module


def source_of(cls):
    """The file a class was loaded from, relative to the working directory when inside it."""
    try:
        path = Path(inspect.getfile(cls)).resolve()
    except (TypeError, OSError):
        return "this notebook" if cls.__module__ == "__main__" else "its module"
    return relative_path(path) or str(path)
