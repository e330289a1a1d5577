"""Shape mistakes said the way the shape rule says them: one line, the shape expected, the shape received, the fix.

The shape rule: a gradient has the shape of what it is taken with respect to. ``likely_fix`` names the usual
slip behind a gradient of the wrong shape (the transpose, a batch not summed, a sum over the wrong axis, a
kept axis, a lost column); ``explain_numpy_error`` says a shape error NumPy raised inside a ``backward`` in
the learner's terms, naming the operands' shapes and the product that has the shape the gradient needs.
The network and the checker both use them (``layers.protocol``).

Operands are read back from the raising line by evaluating only plain names, attributes, ``.T`` and
constant subscripts (``self.params["W"]``) in that line's frame: nothing the learner wrote is called.
"""

import ast
import linecache
import re
from collections import namedtuple
from pathlib import Path

import numpy as np

_SHAPE = r"\(([\d, ]*)\)"
_INTO = re.compile(rf"could not broadcast input array from shape {_SHAPE} into shape {_SHAPE}")
_OPERANDS = re.compile(rf"operands could not be broadcast together with (?:remapped )?shapes "
                       rf"(?:\[original->remapped\]: )?{_SHAPE}(?:->\S+)? {_SHAPE}")
_OUTPUT = re.compile(rf"non-broadcastable output operand with shape {_SHAPE} doesn't match the broadcast shape "
                     rf"{_SHAPE}")
_MATMUL = re.compile(r"(?:matmul|dot): .*mismatch in its core dimension|not aligned")
_NUMPY_DIR = str(Path(np.__file__).parent)


def shape_text(shape):
    """``(5, 3)``, ``(3,)``, ``()``: a shape as Python prints a tuple."""
    return str(tuple(int(s) for s in shape))


def _parse_shape(text):
    return tuple(int(s) for s in text.replace(" ", "").split(",") if s)


#: The usual slips, as (whether it fits (received, expected, batch size), the fix); the first that fits names it.
_SLIPS = (
    (lambda r, e, n: len(r) == 2 and r[::-1] == e,
     "it is the transpose: swap the factors of the matrix product (or add .T)"),
    (lambda r, e, n: len(r) == len(e) + 1 and r[1:] == e,
     "it has a row per sample: a parameter broadcast over the batch adds up its rows' gradients, .sum(axis=0)"),
    (lambda r, e, n: r == () and len(e) == 1, "every axis was summed: sum over the batch rows alone, .sum(axis=0)"),
    (lambda r, e, n: len(r) == len(e) == 1 and n and r[0] == n,
     "it was summed over the wrong axis: sum over the batch rows, axis=0, not axis=1"),
    (lambda r, e, n: e == r + (1,),
     "the column became a vector: keep its (N, 1) shape (keepdims=True, or reshape(-1, 1))"),
    (lambda r, e, n: r == e + (1,), "an extra axis of size 1: reshape to {expected}"),
    (lambda r, e, n: len(e) == len(r) + 1 and e[1:] == r,
     "the batch was summed away: the input's gradient keeps a row per sample, so do not sum over axis 0"),
)


def likely_fix(received, expected, batch_size=None):
    """The usual slip that gives a gradient of shape ``received`` where ``expected`` belongs, or None.

    ``batch_size`` (N) tells a sum over the wrong axis from other mistakes.
    """
    received, expected = tuple(received), tuple(expected)
    for fits, fix in _SLIPS:
        if fits(received, expected, batch_size):
            return fix.format(expected=shape_text(expected))
    return None


def explain_numpy_error(exc, who, expected, batch_size=None):
    """One line for a shape error NumPy raised inside ``who`` (``"Linear.backward"``), or None for any other.

    ``expected`` (label -> shape, e.g. ``{"the input's": (8, 5), "grads['W']": (5, 3)}``) are the shapes the
    gradients must have, for the suggested fix; ``batch_size`` (N) helps ``likely_fix`` name it.
    """
    if not isinstance(exc, ValueError):
        return None
    message = " ".join(str(exc).split())
    line, scope = _raising_line(exc)
    where = f" at {line.where}" if line else ""
    into, out = _INTO.search(message), _OUTPUT.search(message)
    if into or out:  # x[...] = value: (value's shape, x's); x += value: (x's shape, the broadcast one)
        received, target = map(_parse_shape, into.groups() if into else out.groups()[::-1])
        return _written_into(who, where, line, scope, received, target, batch_size, adds=bool(out))
    if _MATMUL.search(message):
        sizes = re.search(r"size (\d+) is different from (\d+)", message)
        inner = f"{sizes[1]} and {sizes[2]}" if sizes else "see the shapes of its factors"
        return _product(who, where, line, scope, expected, matrix=True) or (
            f"{who}: a matrix product{where} has inner sizes that differ ({inner}): the columns of the "
            f"left factor must equal the rows of the right; transpose one factor so the result has "
            f"{_expected_text(expected)}")
    operands = _OPERANDS.search(message)
    if operands:
        a, b = (shape_text(_parse_shape(s)) for s in operands.groups())
        found = _product(who, where, line, scope, expected, matrix=False)
        return found or (f"{who}: an element-wise operation{where} combines shapes {a} and {b}, which do not "
                         "broadcast: element-wise operands need the same shape; a product of matrices is @")
    return None


def _expected_text(expected):
    return " or ".join(f"{label} shape {shape_text(shape)}" for label, shape in expected.items())


def _written_into(who, where, line, scope, received, target, batch_size, adds):
    """An array of shape ``received`` written (or added) into one of shape ``target``."""
    name = _target_text(line)
    verb = "adds" if adds else "writes"
    head = f"{who}{where} {verb} an array of shape {shape_text(received)} into {name or 'an array'} of shape " \
           f"{shape_text(target)}"
    fix = likely_fix(received, target, batch_size)
    product = _rewritten_product(line, scope, {name or "it": target})
    if product:
        return f"{head}: {fix or 'the shapes differ'}; `{product[0]}` has the shape {shape_text(target)}"
    return f"{head}: {fix}" if fix else f"{head}; it must have the shape {shape_text(target)} (the shape rule)"


def _product(who, where, line, scope, expected, matrix):
    """The failing product (``@``, ``np.dot``, or ``*`` when ``matrix`` is False) of the raising line, said
    with its factors' shapes and the rewriting that has an expected shape; None if it cannot be read."""
    if line is None:
        return None
    for node, left, right in _products(line.tree, matrix):
        a, b = _value(left, scope), _value(right, scope)
        if a is None or b is None or _composes(a.shape, b.shape, matrix):
            continue
        src = ast.unparse(node)
        what = "the matrix product" if matrix else "the element-wise product"
        head = f"{who}{where}: {what} `{src}` combines shapes {shape_text(a.shape)} and {shape_text(b.shape)}"
        head += ", whose inner sizes differ" if matrix else ", which do not broadcast"
        fix = _rewrite(left, right, a.shape, b.shape, expected)
        if fix:
            return f"{head}; `{fix[0]}` gives {shape_text(fix[1])}, {fix[2]} shape"
        return f"{head}; the result must have {_expected_text(expected)}"
    return None


def _rewritten_product(line, scope, expected):
    """``(source, shape)`` of the line's matrix product rewritten to give an ``expected`` shape, or None."""
    if line is None or not isinstance(line.tree, (ast.Assign, ast.AugAssign)):
        return None
    value = line.tree.value
    node, left, right = next(_products(value, True), (None, None, None))  # ast.walk yields the root first
    a, b = (_value(left, scope), _value(right, scope)) if node is value else (None, None)
    fix = _rewrite(left, right, a.shape, b.shape, expected) if a is not None and b is not None else None
    return fix[:2] if fix else None


def _products(tree, matrix):
    """``(node, left, right)`` for each product in ``tree``: ``a @ b``, ``np.dot(a, b)``, ``a.dot(b)``
    (or ``a * b`` when ``matrix`` is False)."""
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.MatMult if matrix else ast.Mult):
            yield node, node.left, node.right
        elif matrix and isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            if node.func.attr in ("dot", "matmul") and len(node.args) == 2:
                yield node, node.args[0], node.args[1]
            elif node.func.attr == "dot" and len(node.args) == 1:
                yield node, node.func.value, node.args[0]


def _composes(a, b, matrix):
    if matrix:
        return len(a) >= 1 and len(b) >= 1 and a[-1] == b[0 if len(b) == 1 else -2]
    try:
        np.broadcast_shapes(a, b)
    except ValueError:
        return False
    return True


def _rewrite(left, right, a, b, expected):
    """The simplest matrix product of the two factors (either order, either transposed) whose shape is an
    expected one: ``(source, shape, label)``, or None."""
    if len(a) != 2 or len(b) != 2:
        return None
    for first, second, ta, tb in ((left, right, False, True), (left, right, True, False), (right, left, False, False),
                                  (right, left, True, True), (right, left, False, True), (right, left, True, False),
                                  (left, right, True, True), (left, right, False, False)):
        s1, s2 = (a, b) if first is left else (b, a)
        s1, s2 = s1[::-1] if ta else s1, s2[::-1] if tb else s2
        if s1[1] != s2[0]:
            continue
        shape = (s1[0], s2[1])
        for label, want in expected.items():
            if tuple(want) == shape:
                return f"{_transposed(first, ta)} @ {_transposed(second, tb)}", shape, label
    return None


def _transposed(node, flag):
    """The source of ``node``, transposed when ``flag`` (``x`` -> ``x.T``, ``x.T`` -> ``x``)."""
    if not flag:
        return ast.unparse(node)
    if isinstance(node, ast.Attribute) and node.attr == "T":
        return ast.unparse(node.value)
    return f"{ast.unparse(node)}.T"  # a factor is a name, an attribute or a subscript: nothing else is read


def _target_text(line):
    """``self.grads["W"]`` for a line ``self.grads["W"][...] = …`` (or ``+=``), else None."""
    if line is None or not isinstance(line.tree, (ast.Assign, ast.AugAssign)):
        return None
    target = line.tree.targets[0] if isinstance(line.tree, ast.Assign) else line.tree.target
    whole = isinstance(target, ast.Subscript) and (
        isinstance(target.slice, ast.Slice) or (isinstance(target.slice, ast.Constant) and target.slice.value is ...))
    if whole:
        target = target.value  # x[...] = / x[:] = : the array x itself
    return ast.unparse(target)


#: The statement that raised: its source, parsed, and ``file:line``.
_Line = namedtuple("_Line", "tree where")


def _raising_line(exc):
    """``(_Line, scope)`` of the innermost frame outside NumPy that raised ``exc``; ``(None, None)``."""
    tb, last = exc.__traceback__, None
    while tb is not None:
        if not tb.tb_frame.f_code.co_filename.startswith(_NUMPY_DIR):
            last = tb
        tb = tb.tb_next
    if last is None:
        return None, None
    path, number = last.tb_frame.f_code.co_filename, last.tb_lineno
    source = linecache.getline(path, number).strip()
    try:
        tree = ast.parse(source).body[0]
    except (SyntaxError, IndexError, ValueError):
        return None, None
    frame = last.tb_frame
    where = f"{relative_path(path) or Path(path).name}:{number} (`{ast.unparse(tree)}`)"
    return _Line(tree, where), (frame.f_locals, frame.f_globals)


def relative_path(path):
    """``path`` relative to the working directory, written with ``/``; None when it lies outside it."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix()
    except (ValueError, OSError):
        return None


def _value(node, scope):
    """The array ``node`` evaluates to in ``scope``, reading only names, attributes, ``.T`` and constant
    subscripts of dicts; None for anything else (nothing is called)."""
    try:
        value = _read(node, scope)
    except (KeyError, AttributeError, IndexError, TypeError):
        return None
    return value if isinstance(value, np.ndarray) else None


def _read(node, scope):
    if isinstance(node, ast.Name):
        local, global_ = scope
        return local[node.id] if node.id in local else global_[node.id]
    if isinstance(node, ast.Attribute):
        base = _read(node.value, scope)
        if isinstance(base, np.ndarray) and node.attr == "T":
            return base.T
        return vars(base)[node.attr]  # instance attributes only: no property is run
    if isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant):
        base = _read(node.value, scope)
        if isinstance(base, dict):
            return base[node.slice.value]
    raise TypeError("not a plain reference")
