"""Why a CS231n assignment file's code did not run, said in a student's terms: the one home of these rules for the
file's import (``checking.assignment_file``) and its functions' calls (``checking.assignment_check``).

- a Python 2 built-in (``xrange``, ``unicode``, ``raw_input``, ...) is Python 2, with what Python 3 has instead;
- a name is *not importable* only when the file's own imports bind it (``from im2col_cython import col2im_cython``
  in a ``try``, as CS231n's ``fast_layers.py`` has) or it is one of CS231n's compiled modules' names;
- a crash on a ``None`` is the skeleton's only when the crashing line uses a name the function set to a literal
  ``None`` (the skeleton's ``out = None``) or the function's TODO is still ``pass``; otherwise it is the student's
  code failing, at its line (``location``).

Everything here reads the file's source (``ast``); nothing in it is called.
"""

import ast
import traceback
from pathlib import Path

#: Python 2's built-ins that Python 3 does not have, and what Python 3 has instead
PYTHON2_NAMES = {"xrange": "range", "unicode": "str", "basestring": "str", "raw_input": "input", "long": "int",
                 "unichr": "chr", "reduce": "functools.reduce", "execfile": "exec(open(path).read())",
                 "file": "open", "cmp": "(a > b) - (a < b)"}

#: CS231n's compiled (Cython) modules, built by its setup.py, and the names they define
COMPILED = {"im2col_cython": ("im2col_cython", "col2im_cython", "col2im_6d_cython")}

#: python-future's packages: CS231n's 2017-18 files import xrange from them
PYTHON_FUTURE = ("past", "future")


def python2_name(exc):
    """``"xrange, a Python 2 built-in (Python 3 has range)"`` for a ``NameError`` of one, else None."""
    name = getattr(exc, "name", None) if isinstance(exc, NameError) else None
    if name not in PYTHON2_NAMES:
        return None
    return f"{name}, a Python 2 built-in (Python 3 has {PYTHON2_NAMES[name]})"


def imported_names(filename):
    """The names the imports of the file at ``filename`` bind (and every module name they mention), with the
    names of CS231n's compiled modules: the names a ``NameError`` is an import's failure for."""
    names = {n for module, defined in COMPILED.items() for n in (module, *defined)}
    for node in ast.walk(_tree(filename) or ast.Module(body=[], type_ignores=[])):
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update(part for a in node.names for part in (a.asname or a.name).split("."))
            names.update((getattr(node, "module", None) or "").split("."))
    return names


def relative_import(exc, filename):
    """The module a relative import of the file at ``filename`` names (``".im2col"``), the one at the line ``exc``
    was raised (its first, when the line is not known); None when the file has none."""
    line = location_line(exc, filename)
    found = [node for node in ast.walk(_tree(filename) or ast.Module(body=[], type_ignores=[]))
             if isinstance(node, ast.ImportFrom) and node.level > 0]
    found.sort(key=lambda node: (node.lineno != line, node.lineno))
    return "." * found[0].level + (found[0].module or "") if found else None


def location_line(exc, filename):
    """The line of the file at ``filename`` where ``exc`` was raised (its innermost frame there), or None."""
    frame = _innermost(exc, filename)
    return frame.lineno if frame else None


def location(exc, filename):
    """``" (line 11 of typo.py, in relu_backward)"``: where in the file ``exc`` was raised; "" when not in it."""
    frame = _innermost(exc, filename)
    return f" (line {frame.lineno} of {Path(filename).name}, in {frame.name})" if frame else ""


def skeletons_none(exc, filename):
    """Whether ``exc`` (a crash on a ``None``) is the skeleton's: its line in the file uses a name its function sets
    to a literal ``None``, or that function's TODO is still ``pass``."""
    frame = _innermost(exc, filename)
    function = frame and _function_at(filename, frame.lineno, frame.name)
    if function is None:
        return False
    used = {n.id for n in ast.walk(function) if isinstance(n, ast.Name) and n.lineno == frame.lineno}
    return bool(used & _set_to_none(function)) or _todo_left(filename, function)


def _innermost(exc, filename):
    """The innermost ``FrameSummary`` of ``exc``'s traceback in the file ``filename``, or None."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    return frames[-1] if frames else None


def _tree(filename):
    """The file's syntax tree, or None when it cannot be read or parsed."""
    try:
        return ast.parse(Path(filename).read_bytes())
    except (OSError, SyntaxError, ValueError):
        return None


def _function_at(filename, line, name):
    """The innermost ``def name`` of the file holding ``line``, or None."""
    found = [node for node in ast.walk(_tree(filename) or ast.Module(body=[], type_ignores=[]))
             if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == name
             and node.lineno <= line <= node.end_lineno]
    return min(found, key=lambda node: node.end_lineno - node.lineno, default=None)


def _set_to_none(function):
    """The names ``function`` assigns a literal ``None`` (``out = None``, ``dx, dw = None, None``)."""
    names = set()
    for node in ast.walk(function):
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            pairs = (zip(target.elts, node.value.elts, strict=False)
                     if isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple) else [(target, node.value)])
            names.update(t.id for t, v in pairs if isinstance(t, ast.Name) and _is_none(v))
    return names


def _is_none(node):
    return isinstance(node, ast.Constant) and node.value is None


def _todo_left(filename, function):
    """Whether a TODO comment in ``function`` is followed (past comments and blank lines) by a bare ``pass``."""
    try:
        lines = [t.strip() for t in Path(filename).read_text().splitlines()[function.lineno - 1:function.end_lineno]]
    except (OSError, ValueError):
        return False
    for i, text in enumerate(lines):
        if text.startswith("#") and "TODO" in text:
            after = next((t for t in lines[i + 1:] if t and not t.startswith("#")), "")
            if after == "pass":
                return True
    return False
