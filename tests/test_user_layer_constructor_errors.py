"""A user's constructor that fails, whatever it raises, is one ValueError naming the call (``load_layer``)."""

import textwrap

import pytest

from checking.user_layer import load_layer


@pytest.fixture
def layers_file(tmp_path):
    path = tmp_path / "ctors.py"
    path.write_text(textwrap.dedent("""
        class Base:
            def forward(self, x):
                return x

            def backward(self, upstream):
                return upstream

        class Needs(Base):
            def __init__(self, width):
                self.width = width

        class Exits(Base):
            def __init__(self):
                raise SystemExit(3)

        class Todo(Base):
            def __init__(self, width=2):
                raise NotImplementedError
    """))
    return path


@pytest.mark.parametrize("name,args,texts", [
    ("Needs", None, ("Needs()", "TypeError", "width")),
    ("Needs", {"width": 3, "colour": "red"}, ("Needs(width=3, colour='red')", "TypeError", "colour")),
    ("Exits", None, ("Exits()", "SystemExit(3)")),
    ("Todo", [4], ("Todo(4)", "not implemented")),
])
def test_a_failing_constructor_is_one_value_error_naming_the_call(layers_file, name, args, texts):
    with pytest.raises(ValueError) as info:
        load_layer(f"{layers_file}:{name}", args)
    message = str(info.value)
    assert "\n" not in message and all(text in message for text in texts), message


def test_a_constructor_that_works_builds_the_layer(layers_file):
    layer = load_layer(f"{layers_file}:Needs", 5)
    assert layer.width == 5
