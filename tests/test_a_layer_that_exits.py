"""A ``--use`` layer that calls ``sys.exit()`` in training has failed: one line, exit 1, under ``--json`` too (not
exit 0 with nothing printed). One that ends the process itself (``os._exit``) is beyond any promise
(docs/guarantees.md)."""

import textwrap

import pytest

import train

from .conftest import call_main


@pytest.mark.parametrize("status", ["0", "3"])
def test_sys_exit_in_a_learners_layer_is_its_failure(tmp_path, capsys, status):
    (tmp_path / "quits.py").write_text(textwrap.dedent(f"""
        import sys

        from layers import Sigmoid as Library


        class Sigmoid(Library):
            def forward(self, x):
                sys.exit({status})
        """))
    code, out, err = call_main(train.main, capsys, "--use", f"{tmp_path / 'quits.py'}:Sigmoid", "--json", "--quiet",
                               "--n-samples", "60", "--epochs", "2", "--save", tmp_path / "m.npz")
    assert code == 1 and out == "" and len(err.splitlines()) == 1
    assert "SystemExit" in err and "Sigmoid" in err and not (tmp_path / "m.npz").exists()
