"""``--use PATH.py:Class``: a learner's class, loaded from its file, to stand where the library's class of that
name stands in the network ``train.py`` builds (``model.factory``).

Only the class is loaded here, never instantiated: the network's builder makes each layer with the
arguments the exercise skeleton takes (``Linear(in_features, out_features, bias=…, seed=…)``).
"""

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path

from model.factory import LIBRARY


@dataclass(frozen=True)
class LearnerClass:
    """One ``--use``: the spec as given, the file, and the class it names."""

    spec: str
    path: Path
    cls: type

    @property
    def name(self):
        return self.cls.__name__


def load_learner_classes(specs):
    """``{library class name: LearnerClass}`` for the ``PATH.py:Class`` specs, each file imported once.

    Raises ``ValueError`` (one line) for a malformed spec, a missing file, a module that fails to import
    (whatever it raises, ``SystemExit`` included), a class that is not there or lacks ``forward`` or
    ``backward``, a name the library has no class of, or the same name twice.
    """
    modules, chosen = {}, {}
    for spec in specs:
        path_text, sep, cls_name = str(spec).rpartition(":")
        if not sep or not path_text or not cls_name or not path_text.endswith(".py"):
            raise ValueError(f"{spec!r}: want PATH.py:Class, e.g. exercises/sigmoid.py:Sigmoid")
        if cls_name not in LIBRARY:
            raise ValueError(f"{spec}: the library has no class named {cls_name!r} for it to replace; one of "
                             f"{', '.join(sorted(LIBRARY))}")
        if cls_name in chosen:
            raise ValueError(f"{spec}: {cls_name} is already replaced by {chosen[cls_name].spec}")
        path = Path(path_text)
        key = path.resolve()
        if key not in modules:
            modules[key] = _import_file(path)
        chosen[cls_name] = LearnerClass(str(spec), path, _layer_class(modules[key], path, cls_name))
    return chosen


def _import_file(path):
    """The module in ``path``, imported under a name of its own."""
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    name = f"_learner_{abs(hash(str(path.resolve())))}"
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    except MemoryError:
        raise
    except BaseException as exc:  # noqa: B036 -- a module calling sys.exit() at import is the learner's error too
        sys.modules.pop(name, None)
        raise ValueError(f"{path}: could not import it: {type(exc).__name__}: {exc}") from exc
    return module


def _layer_class(module, path, cls_name):
    """The class ``cls_name`` of ``module``; it must be a class with ``forward`` and ``backward``."""
    cls = getattr(module, cls_name, None)
    if not isinstance(cls, type):
        raise ValueError(f"{path} has no class {cls_name!r}")
    missing = [m for m in ("forward", "backward") if not callable(getattr(cls, m, None))]
    if missing:
        raise ValueError(f"{cls_name} in {path} has no {' or '.join(missing)} method; a layer needs both")
    return cls


def unused(chosen, net):
    """The ``LearnerClass`` es whose class stands nowhere in ``net`` (no layer or loss of that name to replace)."""
    present = {type(layer) for layer in net.layers} | {type(net.criterion)}
    return [c for c in chosen.values() if c.cls not in present]


def whose(chosen):
    """``"Linear (exercises/linear.py), ReLU (exercises/relu.py)"``: the learner's classes and their files."""
    return ", ".join(f"{c.name} ({c.path})" for c in chosen.values())
