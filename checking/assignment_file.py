"""A CS231n assignment file checked as it is: ``gradcheck.py --functions FILE.py [--shapes NAME=SHAPES ...]``.

The file is imported (``layers.user_code.import_file``: its top level runs, which no import can avoid); then only
the pairs ``checking.assignment_pairs`` finds by CS231n's names are called, each checked by
``checking.assignment_check``. A pair of another name is listed in a note with how to describe its inputs. A file
that does not import is one ``ValueError`` line naming why: Python 2 (its syntax, a built-in, python-future's
``past``), a sibling module of the assignment (``from cs231n.im2col import *``, ``from .im2col import *``) that is not
importable from here, another package not installed, a top level running out of memory.
"""

import contextlib
import io
from pathlib import Path

from layers.protocol import describe_exception
from layers.user_code import import_file

from .assignment_causes import COMPILED, PYTHON_FUTURE, python2_name, relative_import
from .assignment_check import check_pair
from .assignment_pairs import defined_functions, described, find_pairs, how_to_describe
from .report import Report


def check_assignment_file(path, settings, shapes=None):
    """Check every pair of the file at ``path``.

    Parameters
    ----------
    path : str or Path, a ``.py`` file in CS231n's style (``layers.py``, ``fast_layers.py``, ...)
    settings : ``CheckSettings``; its seed draws the inputs and upstream gradients
    shapes : dict NAME -> list of shapes (``assignment_pairs.parse_shapes``), the inputs of pairs
        ``NAME_forward``/``NAME_backward`` of no CS231n family; a NAME the file has no such pair of, a NAME of a
        known family, or as many shapes as the forward does not take arrays is refused

    Returns a ``Report``: the rows of every pair checked, and notes (what was run, the pairs not checked).
    Raises ``ValueError`` (one line) for a file that cannot be read or imported, or has no pair at all.
    """
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):  # its prints (a debug line per call) would bury the report
        report = _checked(path, settings, shapes or {})
    lines = printed.getvalue().count("\n")
    if lines:
        report.notes.append(f"{path} printed {lines} line{'s' * (lines != 1)} while imported and checked, not shown")
    return report


def _checked(path, settings, shapes):
    """``check_assignment_file``'s work, the file's prints going wherever ``sys.stdout`` does."""
    module = _imported(path)
    pairs = find_pairs(defined_functions(module))
    unknown = [p for p in pairs if p.inputs is None and p.base not in shapes]
    if not pairs:
        raise ValueError(f"{path}: no CS231n forward/backward pair (NAME_forward with NAME_backward) and no "
                         "svm_loss or softmax_loss in it")
    pairs = _with_shapes(path, pairs, shapes)
    report = Report(notes=[f"importing {path} ran its top level; of its functions only the ones checked here "
                           "were called"])
    for pair in pairs:
        if pair.inputs is not None:
            report.extend(check_pair(pair, settings))
    report.notes += [how_to_describe(p) for p in unknown]
    return report


def _with_shapes(path, pairs, shapes):
    """``pairs``, those of unknown family given ``shapes`` described by them; a ``ValueError`` for a NAME of
    ``shapes`` with no pair in the file, of a known family, or with as many shapes as its forward does not take."""
    absent = sorted(set(shapes) - {p.base for p in pairs})
    if absent:
        raise ValueError(f"--shapes {absent[0]}: {path} has no pair {absent[0]}_forward/{absent[0]}_backward")
    known = next((p for p in pairs if p.inputs is not None and p.base in shapes), None)
    if known:
        raise ValueError(f"--shapes {known.base}: {known.name} is a CS231n pair, checked on CS231n's inputs; --shapes "
                         "describes a pair of another name")
    return [described(p, shapes[p.base]) if p.inputs is None and p.base in shapes else p for p in pairs]


def _imported(path):
    """The module at ``path``, or a ``ValueError`` naming why it does not import."""
    if Path(path).suffix != ".py":
        raise ValueError(f"--functions wants a Python file, FILE.py, got {str(path)!r}")
    try:
        return import_file(Path(path))
    except MemoryError as exc:
        raise ValueError(f"{path}: could not import it: its top level ran out of memory "
                         f"({describe_exception(exc)})") from exc
    except ValueError as exc:
        why = _why_not_imported(exc.__cause__, str(Path(path)))
        if why:
            raise ValueError(f"{exc} ({why})") from exc
        raise


#: the words of Python 3's SyntaxError for Python 2's statements, and what each is in Python 3
PYTHON2_SYNTAX = {"Missing parentheses in call to 'print'": "Python 2: print is a function in Python 3",
                  "Missing parentheses in call to 'exec'": "Python 2: exec is a function in Python 3",
                  "multiple exception types must be parenthesized": "Python 2: except E, e: is except E as e: in "
                                                                    "Python 3"}

SIBLING = ("a sibling module of the assignment that is not importable here: check a file that does not import its "
           "siblings, or the functions copied into one")


def _why_not_imported(cause, file):
    """What ``cause`` (what the import of ``file`` raised) means for a CS231n file, or None."""
    if isinstance(cause, SyntaxError):
        return next((why for words, why in PYTHON2_SYNTAX.items() if words in str(cause.msg)), None)
    if isinstance(cause, NameError) and python2_name(cause):
        return f"it uses {python2_name(cause)}"
    if isinstance(cause, ModuleNotFoundError) and cause.name:
        top = cause.name.split(".")[0]
        if top in PYTHON_FUTURE:
            return (f"it imports {cause.name!r}, of python-future (Python 2 compatibility), not installed here: "
                    "pip install future, or write Python 3 (range for xrange)")
        if top == "cs231n" or top in COMPILED or (Path(file).parent / f"{top}.py").exists():
            return f"it imports {cause.name!r}, {SIBLING}"
        return f"it imports {cause.name!r}, a package not installed here"
    relative = relative_import(cause, file) if isinstance(cause, ImportError) else None
    return None if not relative else f"it imports {relative!r} relatively, {SIBLING}"
