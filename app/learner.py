"""``--use PATH.py:Class``: a learner's class, loaded from its file, to stand where the library's class of that
name stands in the network ``train.py`` builds (``model.factory``); ``PATH.py:MyClass=Class``, a class of any
name in the place of the library's ``Class``.

Only the class is loaded here, never instantiated: the network's builder makes each layer with the
arguments the exercise skeleton takes (``Linear(in_features, out_features, bias=…, seed=…)``).
"""

import shlex
from dataclasses import dataclass
from pathlib import Path

from layers.user_code import load_class, split_spec
from model.registry import LIBRARY

from .cli import UsageError


@dataclass(frozen=True)
class LearnerClass:
    """One ``--use``: the spec as given, the file, the class it names, and the library's class it replaces."""

    spec: str
    path: Path
    cls: type
    name: str


def load_learner_classes(specs):
    """``{library class name: LearnerClass}`` for the ``PATH.py:Class`` specs, each file imported once.

    Raises ``UsageError`` (one line naming ``--use``, exit 2) for a name the library has no class of, the same
    name twice, or what ``layers.user_code`` refuses (a malformed spec, a file or class that cannot be loaded).
    """
    chosen, modules = {}, {}
    try:
        for spec in specs:
            path, _, name = split_spec(spec)
            if name not in LIBRARY:
                raise ValueError(f"{spec}: the library has no class named {name!r} for it to replace; one of "
                                 f"{', '.join(sorted(LIBRARY))} (PATH.py:MyClass=Sigmoid puts MyClass in Sigmoid's "
                                 "place)")
            if name in chosen:
                raise ValueError(f"{spec}: {name} is already replaced by {chosen[name].spec}")
            chosen[name] = LearnerClass(str(spec), path, load_class(spec, modules), name)
    except ValueError as exc:
        raise UsageError(f"--use {exc}") from None
    return chosen


def unused(chosen, net):
    """The ``LearnerClass`` es whose class stands nowhere in ``net`` (no layer or loss of that name to replace)."""
    present = {type(layer) for layer in net.layers} | {type(net.criterion)}
    return [c for c in chosen.values() if c.cls not in present]


def whose(chosen):
    """``"Linear (exercises/linear.py), MySigmoid as Sigmoid (mine.py)"``: the learner's classes and their files."""
    return ", ".join(f"{c.cls.__name__}{'' if c.cls.__name__ == c.name else f' as {c.name}'} ({c.path})"
                     for c in chosen.values())


def check_command(chosen):
    """``python gradcheck.py --use mine.py:Conv2d …``: the command that checks each of the learner's classes alone,
    each on inputs of its own kind (``gradcheck.py --use`` builds a layer of every class, an image layer on
    images, a loss with its labels); ``--layer`` would need each layer's arguments and input shape."""
    return shlex.join(["python", "gradcheck.py", *(arg for c in chosen.values() for arg in ("--use", c.spec))])
