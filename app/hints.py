"""The exercises' hints, one tier at a time: 1 the pattern, 2 the shape, 3 the formula and where the worked
solution is. They live in ``exercises/hints.md`` (a section ``## Class`` per class, a paragraph ``1.``, ``2.``,
``3.`` per tier), away from the exercise files, so the answer is asked for, never one scroll away:
``gradcheck.py --layer FILE:Class --hint N`` prints tier N, and the notebook calls ``hint("Sigmoid", N)``."""

import re
from pathlib import Path

from layers.validation import ParameterError, is_integer

HINTS_FILE = Path(__file__).resolve().parent.parent / "exercises" / "hints.md"
TIERS = (1, 2, 3)


def read_hints(path=HINTS_FILE):
    """``{class name: {tier: text}}`` from the hints file."""
    parts = re.split(r"^## (\w+)$", Path(path).read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {name: {int(n): re.sub(r"\n\s+", "\n", text.strip()) for n, text in
                   re.findall(r"^([1-3])\. (.*?)(?=^[1-3]\. |\Z)", body, re.MULTILINE | re.DOTALL)}
            for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def hint(class_name, tier=1, path=HINTS_FILE):
    """Hint ``tier`` (1, 2 or 3) for the exercise class ``class_name``, under a line saying which it is.

    Raises ``ParameterError`` naming ``tier`` for another tier, or naming ``class_name`` for a class without hints
    (the message lists those with hints).
    """
    if not is_integer(tier) or tier not in TIERS:
        raise ParameterError("hint", "tier", f"must be 1 (the pattern), 2 (the shape) or 3 (the formula), got {tier!r}")
    hints = read_hints(path)
    if class_name not in hints:
        raise ParameterError("hint", "class_name", f"{class_name!r} has no hints; the exercises' classes with hints "
                                                   f"are {', '.join(hints)}")
    return f"Hint {tier} of {len(TIERS)} for {class_name}:\n{hints[class_name][tier]}"
