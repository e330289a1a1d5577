"""Kinks are verified, not skipped: the one-sided differences find them in any function, the analytic
value must lie between the two one-sided slopes, and a backward that is wrong exactly at the kink fails."""

import numpy as np
import pytest

from checking.checker import check_function, check_layer, compare, numerical_gradient_kinks, probe_elements
from checking.numeric import kink_mask
from layers import LeakyReLU, Max, ReLU, Sigmoid


class Abs:
    """|x|, a user layer with no kink_state(); its backward takes sign(0) = 0 at the kink."""

    def forward(self, x):
        self.x = x
        return np.abs(x)

    def backward(self, upstream):
        return upstream * np.sign(self.x)


class MaxWithZero:
    """Max(x, 0) built from the Max gate: ReLU by another road, no kink_state()."""

    def __init__(self):
        self.gate = Max()

    def forward(self, x):
        return self.gate.forward(x, np.zeros_like(x))

    def backward(self, upstream):
        return self.gate.backward(upstream)[0]


class ReLUWrongAtZero(ReLU):
    """Right everywhere except exactly at 0, where it returns −upstream (outside [0, upstream])."""

    def forward(self, x):
        self.x = x
        return super().forward(x)

    def backward(self, upstream):
        return np.where(self.x == 0, -upstream, super().backward(upstream))


class UserReLUWrongAtZero:
    """The same slip in a user layer without kink_state(): 2 × upstream at 0."""

    def forward(self, x):
        self.x = x
        return np.maximum(x, 0)

    def backward(self, upstream):
        return np.where(self.x > 0, upstream, np.where(self.x == 0, 2 * upstream, 0.0))


ON_THE_KINK = [ReLU, lambda: LeakyReLU(alpha=0.01), Abs, MaxWithZero]
IDS = ["ReLU", "LeakyReLU", "abs", "Max(x,0)"]


@pytest.mark.parametrize("make", ON_THE_KINK, ids=IDS)
def test_every_input_on_the_kink_passes_with_every_element_verified(make):
    x = np.zeros((4, 3))
    row = check_layer(make(), x).row("x")
    assert row.verdict == "pass" and row.n_kinks == 12 and row.n_checked == 12 and row.n_failed == 0
    assert row.interval is not None and row.interval[0] <= row.analytic <= row.interval[1]


@pytest.mark.parametrize("make", ON_THE_KINK, ids=IDS)
def test_a_mix_of_kinks_and_smooth_points_passes_with_only_the_kinks_counted(make, rng):
    x = rng.standard_normal((6, 4))
    x[::2, ::2] = 0.0
    row = check_layer(make(), x).row("x")
    assert row.verdict == "pass" and row.n_kinks == 6 and row.n_checked == 24


@pytest.mark.parametrize("layer", [ReLUWrongAtZero(), UserReLUWrongAtZero()], ids=["with kink_state", "without"])
def test_a_backward_wrong_exactly_at_the_kink_fails(layer, rng):
    x = rng.standard_normal((6, 4))
    x[::2, ::2] = 0.0
    row = check_layer(layer, x).row("x")
    assert row.verdict == "fail" and row.n_failed == 6 and row.n_kinks == 6
    assert "at a kink" in row.hint and "exactly 0" in row.hint
    assert check_layer(layer, np.where(x == 0, 0.5, x)).passed  # away from the kink it is right


def test_kink_state_is_only_a_hint_both_ways_find_the_same_kinks():
    x = np.array([[0.0, 1.0, -1.0, 0.0]])
    with_hint = check_layer(ReLU(), x).row("x")
    without = check_layer(MaxWithZero(), x).row("x")
    assert with_hint.n_kinks == without.n_kinks == 2


def test_the_old_all_kink_case_is_judged_not_waved_through():
    """A tensor all of whose elements sit on a kink used to be reported 'kink' and counted as passed."""
    x = {"b": np.zeros(3)}
    g = np.array([0.5, -1.0, 2.0])

    def f():
        return float(np.sum(np.maximum(x["b"], 0) * g))

    right = check_function(f, x, {"b": np.zeros(3)})  # ReLU's convention: 0 at the kink, inside [0, g] or [g, 0]
    wrong = check_function(f, x, {"b": np.array([7.5e-3, 7.5e-3, 7.5e-3])})  # outside the interval for g < 0
    assert right.passed and right.row("b").n_kinks == 3
    assert not wrong.passed and wrong.row("b").n_failed == 1 and wrong.row("b").worst_index == (1,)


def test_a_steep_smooth_bend_is_judged_by_its_interval_but_not_called_a_kink():
    """x² at x = 1e-7: the one-sided slopes differ by 2h, far more than 1 % of the slope, yet the gap
    halves with the step (curvature), so it is no kink."""
    x = np.array([1e-7, 1.0])
    probes = probe_elements(lambda v: float(np.sum(v ** 2)), x)
    assert probes.suspect.tolist() == [True, False] and not probes.kinks.any()
    row = compare("c", "x", 2 * x, probes.centred, probes.kinks, bounds=probes.bounds, suspect=probes.suspect)
    assert row.verdict == "pass" and row.n_kinks == 0


def test_kink_criterion_smooth_functions_have_no_suspects(rng):
    x = rng.standard_normal(200) * 3
    probes = probe_elements(lambda v: float(np.sum(np.tanh(v) + v ** 3 / 10)), x)
    assert not probes.suspect.any()


def test_kink_mask_weighs_the_gap_against_slope_and_round_off():
    assert kink_mask([1.0], [0.0], 0.0).tolist() == [True]  # a jump of the whole slope
    assert kink_mask([1.0], [1.0 - 1e-6], 0.0).tolist() == [False]  # curvature-sized gap
    assert kink_mask([1e-9], [0.0], 1e-8).tolist() == [False]  # within round-off: cannot tell
    assert kink_mask([np.nan], [0.0], 0.0).tolist() == [False]


def test_numerical_gradient_kinks_needs_no_hint():
    x = np.array([0.0, 2.0, -3.0])
    grad, kinks = numerical_gradient_kinks(lambda v: float(np.sum(np.abs(v))), x)
    assert kinks.tolist() == [True, False, False]
    np.testing.assert_allclose(grad[1:], [1.0, -1.0])


def test_directional_mode_verifies_a_direction_through_a_kink():
    x = {"x": np.zeros(5)}
    g = np.arange(1.0, 6.0)

    def f():
        return float(np.sum(np.maximum(x["x"], 0) * g))

    ok = check_function(f, x, {"x": np.zeros(5)}, mode="directional", directions=4)
    bad = check_function(f, x, {"x": -g}, mode="directional", directions=4)
    assert ok.passed and ok.rows[0].n_kinks == 4
    assert not bad.passed


def test_a_smooth_layer_reports_no_kinks(rng):
    assert check_layer(Sigmoid(), rng.standard_normal((5, 4)) * 3).row("x").n_kinks == 0
