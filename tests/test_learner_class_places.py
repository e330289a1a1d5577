"""Where a learner's class comes from, as the loader reads it: a spec's path may hold a colon of its own (the
class follows the last one), and a class with no file is placed in the notebook it was typed into (``__main__``)
or, failing that, in "its module"."""

import sys
import types
from pathlib import Path

import pytest

from layers.user_code import load_class, source_of, split_spec


def test_a_spec_splits_at_its_last_colon():
    assert split_spec("runs:1/my_layers.py:MySigmoid=Sigmoid") == (Path("runs:1/my_layers.py"), "MySigmoid",
                                                                     "Sigmoid")


def test_a_class_loads_from_a_folder_whose_name_holds_a_colon(tmp_path):
    folder = tmp_path / "run:1"
    folder.mkdir()
    (folder / "mine.py").write_text("class Mine:\n    def forward(self, x): return x\n"
                                    "    def backward(self, g): return g\n", encoding="utf-8")
    assert load_class(f"{folder / 'mine.py'}:Mine").__name__ == "Mine"


def test_a_class_typed_into_a_notebook_is_placed_there(monkeypatch):
    monkeypatch.setitem(sys.modules, "__main__", types.ModuleType("__main__"))  # a kernel's: no __file__
    cls = type("Mine", (), {"__module__": "__main__"})
    assert "notebook" in source_of(cls)


@pytest.mark.parametrize("module", ["a_module_never_imported", "builtins"])
def test_a_class_of_no_file_outside_a_notebook_is_placed_in_its_module(module):
    cls = type("Mine", (), {"__module__": module})
    place = source_of(cls)
    assert "module" in place and "notebook" not in place
