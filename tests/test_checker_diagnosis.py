"""Every hint the checker gives, each produced by a deliberately broken layer."""

import json

import numpy as np
import pytest

from checking.checker import check_layer, compare
from checking.diagnosis import diagnose
from layers import BCELoss, LeakyReLU, Linear, ReLU, Sigmoid, Tanh


class SigmoidWithFlippedSign(Sigmoid):
    def backward(self, upstream):
        return -super().backward(upstream)


class TanhTimesThree(Tanh):
    def backward(self, upstream):
        return 3 * super().backward(upstream)


class LinearMeanBias(Linear):
    """db as the batch mean of the upstream instead of its sum."""

    def backward(self, upstream):
        dx = super().backward(upstream)
        self.grads["b"][...] = upstream.mean(axis=0)
        return dx


class BCEWithoutOneOverN(BCELoss):
    def backward(self, upstream=1.0):
        return super().backward(upstream) * self.cache[0].size


class LeakyReLUWithReLUsBackward(LeakyReLU):
    """Forgets the leak: slope 0 instead of alpha for x ≤ 0 — the negative side's path is missing."""

    def backward(self, upstream):
        return upstream * self.cache


class LeakyReLUWithDoubleAlpha(LeakyReLU):
    def backward(self, upstream):
        return np.where(self.cache, upstream, 2 * self.alpha * upstream)


class ReLUScalingPositives(ReLU):
    def backward(self, upstream):
        return 1.5 * super().backward(upstream)


class LinearTransposedW(Linear):
    """dW computed as (xᵀ g)ᵀ: the right numbers in the wrong places (square W: the shape cannot tell)."""

    def backward(self, upstream):
        dx = super().backward(upstream)
        self.grads["W"][...] = self.grads["W"].T.copy()
        return dx


class LinearTransposedShape(Linear):
    def backward(self, upstream):
        dx = super().backward(upstream)
        self.grads["W"] = self.grads["W"].T.copy()
        return dx


class SigmoidWithNaN(Sigmoid):
    def backward(self, upstream):
        dx = super().backward(upstream)
        dx[0, 0] = np.nan
        return dx


class SquarePlusIdentityMissingOnePath:
    """y = x·x + x, whose backward forgets the identity branch: no simple pattern."""

    def forward(self, x):
        self.x = x
        return x * x + x

    def backward(self, upstream):
        return upstream * 2 * self.x


@pytest.fixture
def x(rng):
    return rng.standard_normal((8, 5))


def failing_row(report, name="x"):
    row = report.row(name)
    assert row.verdict == "fail" and not report.passed and row.n_failed > 0
    return row


def test_sign_flipped(x):
    row = failing_row(check_layer(SigmoidWithFlippedSign(), x))
    assert row.ratio == pytest.approx(-1, rel=1e-6) and row.n_failed == x.size
    assert "sign" in row.hint and "−numeric" in row.hint


def test_constant_factor(x):
    row = failing_row(check_layer(TanhTimesThree(), x))
    assert row.ratio == pytest.approx(3, rel=1e-6)
    assert "3 × numeric" in row.hint and "constant factor" in row.hint


def test_a_mean_where_a_sum_belongs_names_the_batch_size(x):
    report = check_layer(LinearMeanBias(5, 3, rng=0), x)
    row = failing_row(report, "b")
    assert row.ratio == pytest.approx(1 / 8, rel=1e-6)
    assert "analytic = numeric / 8" in row.hint and "batch size" in row.hint
    assert "a mean where a sum belongs" in row.hint
    assert report.row("x").verdict == report.row("W").verdict == "pass" and report.row("x").hint is None


def test_a_missing_one_over_n_names_the_batch_size(rng):
    p, y = rng.uniform(0.1, 0.9, (6, 1)), rng.integers(0, 2, (6, 1))
    row = failing_row(check_layer(BCEWithoutOneOverN(), p, y=y))
    assert row.ratio == pytest.approx(6, rel=1e-6)
    assert "analytic = 6 × numeric" in row.hint and "a missing 1/N" in row.hint


def test_a_missing_path_and_only_where_the_input_is_negative(x):
    row = failing_row(check_layer(LeakyReLUWithReLUsBackward(0.1), x))
    assert row.n_failed == int((x < 0).sum()) and row.ratio == 0
    assert row.hint.startswith("analytic 0 where the numeric gradient is not")
    assert "a path's gradient is missing" in row.hint
    assert row.hint.endswith("failures only where the input is negative")


def test_a_wrong_slope_on_the_negative_side_is_a_factor_there(x):
    row = failing_row(check_layer(LeakyReLUWithDoubleAlpha(0.1), x))
    assert "2 × numeric" in row.hint and row.hint.endswith("input is negative")


def test_only_where_the_input_is_positive(x):
    row = failing_row(check_layer(ReLUScalingPositives(), x))
    assert row.hint.endswith("failures only where the input is positive") and "1.5 × numeric" in row.hint


def test_transposed_values_in_a_square_gradient(x):
    report = check_layer(LinearTransposedW(4, 4, rng=0), x[:, :4])
    row = failing_row(report, "W")
    assert row.hint.startswith("the analytic gradient is the numeric one transposed")


def test_transposed_shape_fails_with_a_hint_instead_of_an_error(x):
    report = check_layer(LinearTransposedShape(5, 3, rng=0), x)
    row = failing_row(report, "W")
    assert row.analytic_shape == (3, 5) and row.shape == (5, 3)
    assert all(text in row.hint for text in ("(3, 5)", "(5, 3)", "transpose", ".T", "numeric gradient transposed"))
    assert "wrong shape" in report.table()


def test_nan_in_the_gradient_is_a_fail_row_and_strict_json(x):
    report = check_layer(SigmoidWithNaN(), x)
    row = failing_row(report)
    assert row.n_failed == 1 and "NaN" in row.hint and "at 1 element" in row.hint
    d = report.to_dict()
    text = json.dumps(d, allow_nan=False)  # raises if a NaN or an infinity got through
    assert json.loads(text)["rows"][0]["analytic"] is None
    assert any("written as null" in n and "rows[0].analytic" in n for n in d["notes"])


def test_a_step_lost_to_rounding_is_blamed_on_the_step_not_the_layer(x):
    row = failing_row(check_layer(Sigmoid(), x, h=1e-300))
    assert "below float64's resolution" in row.hint and "the Taylor mode" in row.hint
    assert check_layer(Sigmoid(), x, mode="taylor", h=1e-300).passed  # Taylor mode does not use h


def test_a_step_drowned_in_round_off_says_so(x):
    row = failing_row(check_layer(Sigmoid(), x, h=1e-13))
    assert "round-off noise" in row.hint


def test_no_single_pattern(x):
    row = failing_row(check_layer(SquarePlusIdentityMissingOnePath(), x))
    assert row.hint.startswith("no single pattern: 40 of 40 elements fail")


def test_the_table_prints_the_hint_under_its_row(x):
    text = str(check_layer(SigmoidWithFlippedSign(), x))
    lines = text.splitlines()
    i = next(i for i, line in enumerate(lines) if line.startswith("SigmoidWithFlippedSign"))
    assert lines[i + 1].startswith("    ↳") and "-1" in lines[i + 1] and "sign" in lines[i + 1]
    assert lines[-1].startswith("FAILED")


def test_passing_and_warning_rows_carry_no_hint():
    row = compare("c", "t", np.array([1.0]), np.array([1.0 + 1e-6]))
    assert row.verdict == "warn" and row.hint is None and row.ratio is None and row.n_failed == 0


def test_diagnose_directly():
    a, n = np.array([2.0, 4.0, 6.0]), np.array([1.0, 2.0, 3.0])
    ratio, hint = diagnose(a, n, np.ones(3, bool))
    assert ratio == 2.0 and "2 × numeric" in hint
    ratio, hint = diagnose(a / 4, n, np.ones(3, bool), batch_size=2)
    assert ratio == 0.5 and "analytic = numeric / 2" in hint
