"""A green check is a promise: an element passes only where the differences resolved it.

``forward = x**2 + 1e9``: the constant's round-off blurs every centred difference by more than the gradient
itself (≤ 4), so no backward can be told right or wrong there; the old allowance let zeros, 2× and −1× pass.
"""

import numpy as np
import pytest

import gradcheck
from checking.checker import check_layer
from .conftest import call_main

OFFSET = 1e9


class Square:
    offset, factor = OFFSET, 1.0

    def forward(self, x):
        self.x = x
        return x**2 + np.sin(x) + self.offset

    def backward(self, upstream):
        return self.factor * (2 * self.x + np.cos(self.x)) * upstream


class Zero(Square):
    factor = 0.0


class Double(Square):
    factor = 2.0


class Flipped(Square):
    factor = -1.0


class NearlyRight(Square):
    factor = 1 + 1e-3


MODES = ("elementwise", "directional", "taylor")


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("layer", [Zero, Double, Flipped, Square, NearlyRight])
def test_nothing_passes_where_round_off_swamps_the_gradient(layer, mode):
    x = np.random.default_rng(0).standard_normal((8, 5))
    report = check_layer(layer(), x, mode=mode)
    assert not report.passed
    assert report.rows[0].verdict in ("fail", "unchecked")


def test_a_right_backward_there_is_not_verified_and_the_row_says_why():
    row = check_layer(Square(), np.random.default_rng(0).standard_normal((8, 5))).rows[0]
    assert row.verdict == "unchecked" and row.n_checked == 0
    assert "not resolved" in row.hint and "round-off" in row.hint and "scale" in row.hint


@pytest.mark.parametrize("mode", MODES[:2])
def test_a_larger_step_resolves_a_moderate_offset(mode):
    """At 1e3 the default step is blurred, but a larger one (Richardson's) resolves it: right passes, 1e-3 off
    fails."""
    x = np.random.default_rng(1).standard_normal((8, 5))
    right, off = Square(), NearlyRight()
    right.offset = off.offset = 1e3
    assert check_layer(right, x, mode=mode).passed
    assert check_layer(off, x, mode=mode).rows[0].verdict == "fail"


def test_the_command_line_exits_1(tmp_path, capsys):
    path = tmp_path / "offset.py"
    path.write_text("import numpy as np\n\nclass Zero:\n    def forward(self, x):\n        self.x = x\n"
                    "        return x**2 + 1e9\n\n    def backward(self, upstream):\n"
                    "        return np.zeros_like(self.x)\n")
    code, out, _ = call_main(gradcheck.main, capsys, "--layer", f"{path}:Zero")
    assert code == 1 and "PASSED" not in out
