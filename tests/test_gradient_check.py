import numpy as np
import pytest

from checking.checker import Report, check_function, check_layer, compare, numerical_gradient, rel_error
from layers import BCELoss, Linear, ReLU, Sigmoid
from layers.validation import ParameterError


class SigmoidForgetsOneMinusY(Sigmoid):
    """The classic slip: dσ/dx written as σ(x) instead of σ(x)(1 − σ(x))."""

    def backward(self, upstream):
        y = self.cache
        return upstream * y


class LinearWithUntransposedBatchSum(Linear):
    """Right shape, wrong values: dW scaled by the batch size (a forgotten mean/sum mix-up)."""

    def backward(self, upstream):
        dx = super().backward(upstream)
        self.grads["W"] *= upstream.shape[0]
        return dx


class BCEWithoutOneOverN(BCELoss):
    def backward(self, upstream=1.0):
        return super().backward(upstream) * self.cache[0].size


# --- numerical_gradient itself


@pytest.mark.parametrize("shape", [(), (3,), (2, 3), (2, 2, 2)])
def test_numerical_gradient_of_known_functions(rng, shape):
    x = rng.standard_normal(shape)
    np.testing.assert_allclose(numerical_gradient(lambda v: float(np.sum(v**3)), x), 3 * x**2, rtol=1e-8, atol=1e-10)
    assert numerical_gradient(lambda v: float(np.sum(v)), x).shape == np.shape(x)


def test_numerical_gradient_restores_x_exactly(rng):
    x = rng.standard_normal((4, 3))
    before = x.copy()
    numerical_gradient(lambda v: float(np.sum(np.sin(v))), x, h=1e-3)
    np.testing.assert_array_equal(x, before)  # bit-for-bit, not approximately


def test_numerical_gradient_restores_x_when_f_raises(rng):
    x = rng.standard_normal(5)
    before = x.copy()
    calls = []

    def f(v):
        calls.append(1)
        if len(calls) == 4:
            raise ZeroDivisionError("boom")
        return float(v.sum())

    with pytest.raises(ZeroDivisionError):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(x, before)


@pytest.mark.parametrize("x", [np.arange(4), np.array([True, False])])
def test_numerical_gradient_refuses_integer_arrays(x):
    with pytest.raises(TypeError, match="truncated"):
        numerical_gradient(lambda v: float(v.sum()), x)


def test_numerical_gradient_refuses_non_arrays():
    with pytest.raises(TypeError, match="numpy array"):
        numerical_gradient(lambda v: float(sum(v)), [1.0, 2.0])


def test_rel_error():
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert rel_error([1.0, 100.0], [1.1, 100.0]) == pytest.approx(0.1 / 2.1)
    with pytest.raises(ValueError, match="shapes"):
        rel_error(np.zeros(3), np.zeros((3, 1)))


# --- the checker must be able to fail


def test_check_layer_catches_sigmoid_that_forgets_one_minus_y(rng):
    report = check_layer(SigmoidForgetsOneMinusY(), rng.standard_normal((6, 3)))
    assert not report.passed
    row = report.row("x")
    assert row.verdict == "fail" and row.max_rel_error > 1e-2
    assert row.analytic != pytest.approx(row.numeric)
    assert check_layer(Sigmoid(), rng.standard_normal((6, 3))).passed  # the honest twin passes


def test_check_layer_names_the_broken_parameter(rng):
    report = check_layer(LinearWithUntransposedBatchSum(3, 2, rng=0), rng.standard_normal((5, 3)))
    assert not report.passed
    assert report.row("W").verdict == "fail"
    assert report.row("x").verdict == "pass" and report.row("b").verdict == "pass"


def test_check_layer_catches_a_loss_missing_one_over_n(rng):
    report = check_layer(BCEWithoutOneOverN(), rng.uniform(0.1, 0.9, (4, 1)), y=np.array([[0], [1], [1], [0]]))
    assert not report.passed and report.row("x").verdict == "fail"


def test_a_gradient_of_the_wrong_shape_fails():
    row = compare("c", "W", np.zeros((3, 2)), np.zeros((2, 3)))
    assert row.verdict == "fail"


def test_check_function_catches_a_wrong_gate_gradient():
    arrays = {"a": np.array([1.0, 2.0]), "b": np.array([3.0, -1.0])}
    # claims d(a*b)/da = a (should be b)
    report = check_function(lambda: float(np.sum(arrays["a"] * arrays["b"])), arrays,
                            {"a": arrays["a"].copy(), "b": arrays["a"].copy()})
    assert not report.passed and report.row("a").verdict == "fail" and report.row("b").verdict == "pass"


@pytest.mark.parametrize("settings, param", [
    ({"h": 0.0}, "h"), ({"h": float("nan")}, "h"), ({"tol": -1e-7}, "tol"), ({"warn_tol": 1e-9}, "warn_tol"),
    ({"mode": "sideways"}, "mode"), ({"directions": 0}, "directions"), ({"seed": -1}, "seed"),
])
def test_settings_no_check_can_run_with_are_refused_naming_the_parameter(rng, settings, param):
    with pytest.raises(ParameterError) as info:
        check_layer(Sigmoid(), rng.standard_normal((3, 2)), **settings)
    assert info.value.param == param and str(info.value).startswith(f"gradient check: {param} ")


# --- float64 discipline and kinks


def test_float32_layer_is_cast_on_a_copy_and_the_report_says_so(rng):
    layer = Linear(3, 2, rng=0, dtype=np.float32)
    report = check_layer(layer, rng.standard_normal((4, 3)).astype(np.float32))
    assert report.passed
    assert any("float32" in n for n in report.notes)
    assert layer.params["W"].dtype == np.float32  # untouched


def test_kink_is_verified_while_a_real_bug_in_the_same_report_still_fails(rng):
    x = np.array([[0.0, 1.0], [-2.0, 0.5]])  # one element exactly on the kink
    report = check_layer(ReLU(), x)
    report.extend(check_layer(SigmoidForgetsOneMinusY(), x, check="BrokenSigmoid"))
    relu_row = report.row("x", check="ReLU")
    assert relu_row.n_kinks == 1 and relu_row.n_checked == 4 and relu_row.verdict == "pass"
    assert report.row("x", check="BrokenSigmoid").verdict == "fail"
    assert not report.passed


def test_warn_level_and_strict():
    row = compare("c", "t", np.array([1.0]), np.array([1.0 + 1e-6]))
    assert row.verdict == "warn"
    assert Report([row]).passed and not Report([row], strict=True).passed


def test_report_renders_a_table_and_json_ready_dict(rng):
    report = check_layer(Linear(2, 3, rng=0), rng.standard_normal((4, 2)))
    text = str(report)
    assert "tensor" in text and "PASSED" in text and "W" in text
    d = report.to_dict()
    assert d["passed"] is True and {r["name"] for r in d["rows"]} == {"x", "W", "b"}
    assert {"n_checked", "n_failed", "n_kinks", "ratio", "hint", "order"} <= set(d["rows"][0])


def test_a_parameterless_layer_without_params_is_checked_and_left_untouched(rng):
    class Square:
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, upstream):
            return upstream * 2 * self.x

    layer = Square()
    assert check_layer(layer, rng.standard_normal((3, 2))).passed
    assert not hasattr(layer, "params") and not hasattr(layer, "x")  # the check ran on a copy
