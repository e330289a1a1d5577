"""The checker's details no other test pinned (found by mutation testing, docs/mutation.md): the second base
point, a second backward that differs by a hair, a loss's upstream of 1, what the probes restore and report."""

import numpy as np
import pytest

from checking.checker import check_function, check_layer, check_model
from checking.numeric import (EPS, ROUND_OFF, Mover, Probes, element_pair, numerical_gradient,
                              numerical_gradient_kinks, probe_elements, rel_error, richardson)


class Square:
    """``x²`` element-wise; ``wrong_when(x)`` makes its backward wrong (doubled) on the inputs it names."""

    def __init__(self, wrong_when=lambda x: False, factor=2.0):
        self.wrong_when, self.factor, self.seen = wrong_when, factor, []

    def forward(self, x):
        self.x = x
        self.seen.append(np.array(x, copy=True))
        return x * x

    def backward(self, upstream):
        dx = 2 * self.x * upstream
        return dx * self.factor if self.wrong_when(self.x) else dx


@pytest.fixture
def x():
    x = np.random.default_rng(3).standard_normal((4, 3))
    x[0, 0], x[-1, 0] = -1.5, 1.5
    return x


# ---------------------------------------------------------------- the second base point


def test_a_backward_wrong_only_at_the_second_base_point_fails_naming_it(x):
    layer = Square(wrong_when=lambda a: a[0, 0] == 1.5)  # right at x, wrong at x's rows shifted by one
    report = check_layer(layer, x)
    assert not report.passed
    row = report.row("x")
    assert row.verdict == "fail" and "second input" in row.hint


def test_a_warning_at_the_second_base_point_is_reported_over_a_pass(x):
    layer = Square(wrong_when=lambda a: a[0, 0] == 1.5, factor=1 + 1e-6)  # a relative error of 5e-7: warns
    row = check_layer(layer, x).row("x")
    assert row.verdict == "warn" and "second input" in row.hint


def test_a_right_layer_passes_at_both_base_points_with_no_second_input_hint(x):
    row = check_layer(Square(), x).row("x")
    assert row.verdict == "pass" and "second input" not in (row.hint or "")


# ---------------------------------------------------------------- backward twice on one cache


class Drifting(Square):
    """Right to 1e-12, but each backward returns a hair more than the last: not a function of the cache."""

    calls = 0

    def backward(self, upstream):
        self.calls += 1
        return super().backward(upstream) * (1 + 1e-12 * self.calls)


def test_a_second_backward_off_by_a_hair_fails_with_the_cache_hint(x):
    report = check_layer(Drifting(), x)
    assert not report.passed
    row = report.row("x (backward again)")
    assert row.verdict == "fail" and row.ratio is None and "cache" in row.hint and "accumulate" not in row.hint


# ---------------------------------------------------------------- a loss gets an upstream of 1


class HalfSquaredError:
    """``½ Σ (x − y)²``, its backward scaled by the upstream it is given (as a layer inside a graph would)."""

    def forward(self, x, y):
        self.d = x - y
        return 0.5 * np.sum(self.d**2)

    def backward(self, upstream):
        return upstream * self.d


def test_a_loss_that_scales_by_its_upstream_passes_the_upstream_is_one(x):
    report = check_layer(HalfSquaredError(), x, y=np.zeros_like(x))
    assert report.passed, report.table()


# ---------------------------------------------------------------- the numeric primitives


def test_rel_error_is_the_largest_element_wise_error():
    assert rel_error([1.0, 3.0], [1.0, 1.0]) == pytest.approx(0.5)
    assert rel_error([0.0], [0.0]) == 0.0


def test_numerical_gradient_uses_the_step_it_is_given():
    x = np.array([1.0, 2.0])
    grad = numerical_gradient(lambda v: float(np.sum(v**3)), x, h=0.5)
    np.testing.assert_allclose(grad, 3 * x**2 + 0.25)  # (f(x+h) − f(x−h)) / 2h of x³ is 3x² + h²


def test_elements_not_probed_read_as_a_zero_slope_and_unprobed():
    x = np.array([1.0, 2.0, 3.0])
    probes = probe_elements(lambda v: float(np.sum(v**2)), x, elements=[1])
    np.testing.assert_allclose(probes.centred, [0.0, 4.0, 0.0], atol=1e-8)
    assert probes.probed.tolist() == [False, True, False]


def test_a_step_lost_on_one_side_only_is_lost():
    x = np.array([1.0, 0.5])  # 1 + 1e-16 rounds back to 1, 1 − 1e-16 does not
    probes = probe_elements(lambda v: float(np.sum(v)), x, h=1e-16)
    assert probes.step_lost[0]


def test_a_state_hint_that_changes_marks_a_kink_where_the_values_see_none():
    x = np.array([0.0, 1.0])
    _, kinks = numerical_gradient_kinks(lambda v: float(np.sum(v)), x, state=lambda: x > 0)
    assert kinks.tolist() == [True, False]  # a linear f: only the hint (x ± h on both sides of 0) says so
    probes = probe_elements(lambda v: float(np.sum(v)), x, state=lambda: (x > 0, x < 0))
    assert probes.kinks.tolist() == [True, False] and probes.suspect.tolist() == [True, False]


def test_richardson_cancels_the_step_squared_error_and_allows_for_the_rest():
    x = np.array([1.0])
    value, allowance = richardson(element_pair(lambda v: float(v[0] ** 3), x), x.shape, np.array([True]), 0.1)
    # D(s) = 3 + s²: extrapolated 3; allowance 3δ/s + |D(s) − D(s/2)| / 3 = 3δ/s + s²/4
    assert value[0] == pytest.approx(3.0, rel=1e-12)
    size = 1.1**3
    assert allowance[0] == pytest.approx(3 * ROUND_OFF * EPS * size / 0.1 + 0.01 / 4, rel=1e-11)
    # a straight line far from 0: D has no error, the allowance is the round-off 3δ/s, δ = ROUND_OFF·eps·|f|
    _, allowance = richardson(element_pair(lambda v: float(v[0] + 1e6), x), x.shape, np.array([True]), 0.1)
    assert allowance[0] == pytest.approx(3 * ROUND_OFF * EPS * (1e6 + 1.1) / 0.1, rel=1e-2)


def test_refined_elements_are_measured_again_and_no_longer_judged_by_an_interval():
    x = np.array([1.0, 2.0])
    probes = Probes(centred=[0.0, 9.0], kinks=[True, True], suspect=[True, True], noise=[1.0, 1.0], h=1e-5)
    refined = probes.refined(element_pair(lambda v: float(np.sum(v**3)), x), np.array([True, False]), 0.1)
    assert refined.centred[0] == pytest.approx(3.0) and refined.centred[1] == 9.0
    assert refined.kinks.tolist() == [False, True] and refined.suspect.tolist() == [False, True]
    assert refined.noise[1] == 1.0 and refined.noise[0] < 0.01 and refined.h == 0.1


def test_a_mover_moves_each_array_by_its_piece_and_restores_them():
    arrays = {"a": np.zeros(2), "b": np.zeros((1, 2)), "c": np.ones(1)}
    mover = Mover(lambda: float(sum(a.sum() for a in arrays.values())), arrays)
    assert mover(np.arange(5.0), 2.0) == pytest.approx(2 * 10.0 + 1.0)
    assert arrays["b"].tolist() == [[4.0, 6.0]] and arrays["c"].tolist() == [9.0]
    mover.restore()
    assert arrays["a"].tolist() == [0.0, 0.0] and arrays["c"].tolist() == [1.0]


class IgnoresUpstream(HalfSquaredError):
    """The CS231n habit: a loss's backward returns dℓ/dx and never reads its upstream."""

    def backward(self, upstream=None):
        return self.d


def test_a_loss_that_ignores_its_upstream_passes_too(x):
    report = check_layer(IgnoresUpstream(), x, y=np.zeros_like(x))
    assert report.passed, report.table()


# ---------------------------------------------------------------- settings reach the verdict; a model's names


def test_check_functions_tolerances_decide_the_verdict():
    x = np.array([1.0, 2.0])
    f, analytic = (lambda: float(np.sum(x**2))), {"x": 2 * x * (1 + 1e-3)}  # off by 1e-3 relative
    assert not check_function(f, {"x": x}, analytic).passed
    assert check_function(f, {"x": x}, analytic, tol=1e-2, warn_tol=5e-2).passed


def test_a_state_hint_reaches_the_element_wise_check():
    x = np.array([0.0, 1.0])
    report = check_function(lambda: float(np.sum(x)), {"x": x}, {"x": np.ones(2)}, state=lambda: x > 0)
    assert report.passed and report.row("x").n_kinks == 1


class Float32Net:
    """``loss = ½ Σ (X W − y)²`` with a float32 ``W``."""

    def __init__(self):
        self.params = {"W": np.random.default_rng(0).standard_normal((3, 1)).astype(np.float32)}
        self.grads = {"W": np.zeros_like(self.params["W"])}

    def loss(self, X, y):
        self.X, self.d = X, X @ self.params["W"] - y[:, None]
        return float(0.5 * np.sum(self.d**2))

    def backward(self):
        self.grads["W"] = self.X.T @ self.d
        return self.d @ self.params["W"].T


def test_check_model_casts_a_float32_model_says_so_and_titles_rows_by_the_class():
    X, y = np.random.default_rng(1).standard_normal((4, 3)), np.zeros(4)
    report = check_model(Float32Net(), X, y)
    assert report.passed, report.table()
    assert any("float32" in note for note in report.notes)
    assert {row.check for row in report.rows} == {"Float32Net"} and {row.name for row in report.rows} == {"X", "W"}


class NaNWhereNegative:
    """Its output (and gradient) is NaN where x < 0, the same at every call: a forward like log's."""

    def forward(self, x):
        self.mask = np.where(x > 0, 1.0, np.nan)
        return x * self.mask

    def backward(self, upstream):
        return upstream * self.mask


def test_a_layer_with_nan_outputs_fails_its_rows_it_is_not_called_stateful(x):
    report = check_layer(NaNWhereNegative(), x)  # no LayerError "not a function of its input"
    assert not report.passed and "NaN" in report.row("x").hint
    assert not any("backward again" in row.name for row in report.rows)
