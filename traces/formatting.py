"""How every trace writes a wire's name and its numbers: the text traces and the SVG pictures alike."""

import numpy as np


def wrap_name(name):
    """A wire name as it reads after d/: one symbol stays, a product is bracketed (``X·w1`` -> ``(X·w1)``)."""
    return f"({name})" if any(c in name for c in "·+ .") else name


def number_text(v):
    """A scalar in at most 4 significant digits, without a negative zero (``-0.0`` reads ``0``)."""
    return f"{float(v) + 0.0:.4g}"  # + 0.0 turns -0.0 into 0.0


def fixed_text(v):
    """A number as every trace writes one: fixed point, 4 decimals, never ``-0.0000`` (``0.0481``, ``-1.2000``)."""
    text = f"{float(v) + 0.0:.4f}"
    return text[1:] if text == "-0.0000" else text


def array_text(a, indent=8):
    """An array as text, each entry as ``fixed_text`` writes it (never scientific notation); one that has
    several rows starts on a new line, indented."""
    a = np.asarray(a)
    formatter = None
    if a.dtype.kind == "f" and a.size:
        width = max(len(fixed_text(v)) for v in a.flat)
        formatter = {"float_kind": lambda v: fixed_text(v).rjust(width)}
    text = np.array2string(a, separator=", ", formatter=formatter, max_line_width=100, threshold=200, edgeitems=4)
    if a.ndim < 2 or a.shape[0] == 1:
        return text
    return "\n" + "\n".join(" " * indent + line for line in text.splitlines())


def column_text(a):
    """An (N, 1) column printed as a row with a transpose mark, which keeps it on one line."""
    return f"{array_text(np.asarray(a).T)}ᵀ"


def check_lines(report, g):
    """One line per row of a centred-difference ``report`` on graph ``g``'s gradients: the tensor, its shape, the
    largest relative error and ✓ (pass or warn), or ✗ with the row's hint."""
    lines = []
    for row in report.rows:
        mark = "✓" if row.verdict in ("pass", "warn") else f"✗ ({row.hint})"
        lines.append(f"    {'dℓ/d' + row.name:<7} {str(np.shape(g.grad(row.name))):<7} largest relative error "
                     f"{row.max_rel_error:.1e} {mark}")
    return lines
