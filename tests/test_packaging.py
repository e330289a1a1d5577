"""What ``pip install .`` installs: every package of the source tree, and a core that needs no extra."""

import configparser
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def listed_packages():
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    return {name.strip() for name in config["options"]["packages"].split(",")}


def test_every_package_in_the_tree_is_listed_for_installation():
    listed = listed_packages()
    tops = {init.parent.name for init in ROOT.glob("*/__init__.py")} - {"tests"}  # a new top-level package too
    inits = [init for top in tops for init in (ROOT / top).rglob("__init__.py")]
    found = {".".join(init.parent.relative_to(ROOT).parts) for init in inits}
    assert found == listed, f"setup.cfg's packages miss {sorted(found - listed)} or list {sorted(listed - found)}"
