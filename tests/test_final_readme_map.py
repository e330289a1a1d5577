"""Final review of issues 27 and 28 (a maintainer reading README.md's map "Where things are").

The map has one row per package folder; tests/test_docs.py checks that the modules it names exist, not that
every module of the folder is named. This session's ``layers/conv.py``, ``layers/norm.py``, ``layers/hinge.py``
and ``checking/assignment_*.py`` were in no row; now every module of a folder whose row lists modules is named.
"""

import re


from .conftest import ROOT


def unmapped_modules():
    """The modules of each folder whose row lists its modules (names at least one) that the row does not name.

    Rows that describe a folder as a whole (``exercises/``, ``benchmarks/``, ``tests/``) name no module: skipped."""
    missing = []
    for folder, row in re.findall(r"^\| `([\w/]+/)` \|(.*)$", (ROOT / "README.md").read_text(encoding="utf-8"),
                                  flags=re.MULTILINE):
        named = set(re.findall(r"`(\w+\.py)`", row))
        if not named:
            continue
        missing += [folder + p.name for p in sorted((ROOT / folder).glob("*.py"))
                    if p.name != "__init__.py" and p.name not in named]
    return missing


def test_the_check_sees_a_module_left_out(tmp_path, monkeypatch):
    """The check can fail: a module added to a mapped folder is reported until its row names it."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "named.py").write_text("")
    (tmp_path / "pkg" / "new.py").write_text("")
    (tmp_path / "whole").mkdir()
    (tmp_path / "whole" / "any.py").write_text("")
    (tmp_path / "README.md").write_text("| `pkg/` | `named.py` (a thing) |\n| `whole/` | things as a whole |\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert unmapped_modules() == ["pkg/new.py"]


def test_the_readme_map_names_every_module_of_its_folders():
    assert unmapped_modules() == []
