"""A learner's commonest slips, each caught with a hint of its own: the upstream left out, a mask on the wrong
side, a label-dependent term wrong, and every shape mistake as one line with both shapes and the likely fix
(never NumPy's message). The report says the upstream is random and how to repeat the run."""

import textwrap

import numpy as np
import pytest

import gradcheck
from checking.checker import LayerError, check_layer
from .conftest import call_main, hints_in


class SigmoidWithoutUpstream:
    def forward(self, x):
        self.y = 1 / (1 + np.exp(-x))
        return self.y

    def backward(self, upstream):
        return self.y * (1 - self.y)  # the local derivative alone


class ReLUBareMask:
    def forward(self, x):
        self.x = x
        return np.maximum(0, x)

    def backward(self, upstream):
        return (self.x > 0).astype(float)  # the mask, not upstream × mask


class ReLUMaskOnTheWrongSide(ReLUBareMask):
    def backward(self, upstream):
        return upstream * (self.x < 0)


class BCEWrongForLabelZero:
    def forward(self, p, y):
        self.p, self.y = p, y
        return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())

    def backward(self, upstream=1.0):
        p, y = self.p, self.y
        return upstream * (-y / p + (1 - y) / (1 + p)) / p.size  # 1 + p where 1 − p belongs


class SoftmaxCEOneHotWrong:
    """The one-hot term subtracted with the wrong sign: only the entries at each row's own class are wrong."""

    def forward(self, z, y):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        self.p, self.y = e / e.sum(axis=1, keepdims=True), y
        return float(-np.log(self.p[np.arange(len(y)), y]).mean())

    def backward(self, upstream=1.0):
        dz = self.p.copy()
        dz[np.arange(len(self.y)), self.y] += 1
        return upstream * dz / len(self.y)


class Linear:
    """A CS231n-style affine layer; the subclasses below make one shape slip each."""

    def __init__(self, d_in=5, d_out=3):
        rng = np.random.default_rng(0)
        self.params = {"W": rng.standard_normal((d_in, d_out)), "b": np.zeros(d_out)}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, upstream):
        self.grads["W"][...] = self.x.T @ upstream
        self.grads["b"][...] = upstream.sum(axis=0)
        return upstream @ self.params["W"].T


class TransposedInPlace(Linear):
    def backward(self, upstream):
        self.grads["W"][...] = upstream.T @ self.x
        return upstream @ self.params["W"].T


class TransposedAssigned(Linear):
    def backward(self, upstream):
        self.grads["W"] = upstream.T @ self.x
        self.grads["b"] = upstream.sum(axis=0)
        return upstream @ self.params["W"].T


class MissingTranspose(Linear):
    def backward(self, upstream):
        super().backward(upstream)
        return upstream @ self.params["W"]


class MissingTransposeWithDot(Linear):
    def backward(self, upstream):
        super().backward(upstream)
        return np.dot(upstream, self.params["W"])


class BiasSummedOverTheWrongAxis(Linear):
    def backward(self, upstream):
        dx = super().backward(upstream)
        self.grads["b"] = upstream.sum(axis=1)
        return dx


class BiasNotSummed(Linear):
    def backward(self, upstream):
        dx = super().backward(upstream)
        self.grads["b"] += upstream  # adds the whole (N, D_out) upstream into a (D_out,) gradient
        return dx


class ElementwiseWherePoductBelongs(Linear):
    def backward(self, upstream):
        super().backward(upstream)
        W = self.params["W"]
        return upstream * W


NUMPY_WORDS = ("could not broadcast", "gufunc", "core dimension", "non-broadcastable", "not aligned",
               "operands could not be broadcast")


@pytest.fixture
def x(rng):
    return rng.standard_normal((8, 5))


def test_the_upstream_left_out_is_named(x):
    row = check_layer(SigmoidWithoutUpstream(), x).row("x")
    assert row.verdict == "fail"
    assert row.hint.startswith("matches the local derivative alone: multiply by the upstream gradient")


def test_relu_returning_its_bare_mask_is_the_upstream_left_out_not_the_mask(x):
    row = check_layer(ReLUBareMask(), x).row("x")
    assert row.verdict == "fail" and "multiply by the upstream gradient" in row.hint
    assert "input is positive" not in row.hint  # the mask itself is right


def test_a_mask_on_the_wrong_side(x):
    row = check_layer(ReLUMaskOnTheWrongSide(), x).row("x")
    assert row.verdict == "fail" and row.hint.startswith("a mask on the wrong side")
    assert f"({int((x < 0).sum())} elements)" in row.hint and f"({int((x > 0).sum())} elements)" in row.hint
    assert row.hint.endswith("≤ 0")  # where it must not flow


def test_only_rows_with_label_zero_fail(rng):
    p, y = rng.uniform(0.05, 0.95, (8, 1)), np.array([[0], [1], [1], [0], [1], [0], [1], [1]])
    row = check_layer(BCEWrongForLabelZero(), p, y=y).row("x")
    assert row.verdict == "fail" and row.n_failed == int((y == 0).sum())
    assert "label 0" in row.hint


def test_only_the_entries_at_each_rows_class_fail(rng):
    z, y = rng.standard_normal((6, 4)), np.array([0, 1, 2, 3, 1, 2])
    row = check_layer(SoftmaxCEOneHotWrong(), z, y=y).row("x")
    assert row.verdict == "fail" and row.n_failed == 6
    assert "only the entries at each row's own class fail" in row.hint


def test_a_correct_layer_gets_none_of_these_hints(x):
    assert check_layer(Linear(), x).passed


@pytest.mark.parametrize("layer, expected", [
    (TransposedInPlace(), ["writes an array of shape (3, 5) into self.grads['W'] of shape (5, 3)",
                           "it is the transpose", "`self.x.T @ upstream` has the shape (5, 3)"]),
    (MissingTranspose(), ["the matrix product `upstream @ self.params['W']` combines shapes (8, 3) and (5, 3)",
                          "`upstream @ self.params['W'].T` gives (8, 5), the input's shape"]),
    (MissingTransposeWithDot(), ["`np.dot(upstream, self.params['W'])` combines shapes (8, 3) and (5, 3)",
                                 "gives (8, 5), the input's shape"]),
    (BiasSummedOverTheWrongAxis(), ["grads['b'] holds a gradient of shape (8,); it must have the parameter's shape "
                                    "(3,)", "summed over the wrong axis: sum over the batch rows, axis=0"]),
    (BiasNotSummed(), ["adds an array of shape (8, 3) into self.grads['b'] of shape (3,)", ".sum(axis=0)"]),
    (ElementwiseWherePoductBelongs(), ["the element-wise product `upstream * W` combines shapes (8, 3) and (5, 3)",
                                       "`upstream @ W.T` gives (8, 5), the input's shape"]),
], ids=lambda v: type(v).__name__ if not isinstance(v, list) else "")
def test_every_shape_mistake_is_one_line_with_both_shapes_and_the_fix(x, layer, expected):
    with pytest.raises(LayerError) as info:
        check_layer(layer, x)
    message = str(info.value)
    assert "\n" not in message and message.startswith(f"{type(layer).__name__}.")
    for text in expected:
        assert text in message, message
    assert not any(words in message for words in NUMPY_WORDS), message


def test_a_transposed_gradient_assigned_is_a_failing_row_with_the_fix(x):
    report = check_layer(TransposedAssigned(), x)
    row = report.row("W")
    assert row.verdict == "fail" and row.analytic_shape == (3, 5) and row.shape == (5, 3)
    assert all(text in row.hint for text in ("(3, 5)", "(5, 3)", "transpose", ".T"))
    assert report.row("x").verdict == report.row("b").verdict == "pass"


def test_the_report_says_the_upstream_is_random_and_how_to_repeat_the_run(x):
    report = check_layer(SigmoidWithoutUpstream(), x, seed=3)
    assert any("upstream gradient each backward receives is random" in n and "seed 3" in n for n in report.notes)
    assert "repeats this run exactly" in report.table()
    # a given upstream is not random, and a loss's upstream is 1: no note then
    assert not check_layer(Linear(), x, upstream=np.ones((8, 3))).notes


@pytest.fixture
def slips_file(tmp_path):
    path = tmp_path / "slips.py"
    path.write_text(textwrap.dedent('''
        import numpy as np


        class Sigmoid:
            def forward(self, x):
                self.y = 1 / (1 + np.exp(-x))
                return self.y

            def backward(self, upstream):
                return self.y * (1 - self.y)


        class Linear:
            def __init__(self, in_features=5, out_features=3, bias=True, seed=0):
                self.params = {"W": np.random.default_rng(seed).standard_normal((in_features, out_features))}
                self.grads = {"W": np.zeros((in_features, out_features))}

            def forward(self, x):
                self.x = x
                return x @ self.params["W"]

            def backward(self, upstream):
                self.grads["W"][...] = upstream.T @ self.x
                return upstream @ self.params["W"].T
        '''))
    return path


def test_the_cli_prints_the_command_that_repeats_a_failing_run(capsys, slips_file):
    code, out, err = call_main(gradcheck.main, capsys, "--layer", f"{slips_file}:Sigmoid", "--seed", "7")
    assert code == 1 and err == ""
    assert "multiply by the upstream gradient" in out and "drawn from seed 7" in out
    assert out.splitlines()[-1].endswith(f"python gradcheck.py --layer {slips_file}:Sigmoid --seed 7")
    code, out, _ = call_main(gradcheck.main, capsys, "--layer", f"{slips_file}:Sigmoid")
    assert out.splitlines()[-1].endswith("--seed 0")  # the default seed, made explicit
    code, out, _ = call_main(gradcheck.main, capsys, "--layer", f"{slips_file}:Sigmoid", "--json")
    assert code == 1 and "To repeat" not in out  # strict JSON stays JSON


def test_the_cli_says_a_shape_mistake_in_one_line(capsys, slips_file):
    code, out, err = call_main(gradcheck.main, capsys, "--layer", f"{slips_file}:Linear")
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "writes an array of shape (3, 8) into self.grads['W'] of shape (8, 3)" not in err  # (N, D) is (8, 5)
    assert "into self.grads['W'] of shape (5, 3): it is the transpose" in err and "could not broadcast" not in err


# ---------------------------------------------------------------- the slips of issue 25, item 13


class SigmoidWithoutOneMinusY(SigmoidWithoutUpstream):
    def backward(self, upstream):
        return upstream * self.y  # σ'(x) = y(1 − y) without its (1 − y)


class TanhWithoutItsDerivative:
    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, upstream):
        return upstream  # the local derivative 1 − y² forgotten


class BCEReturningPMinusY(BCEWrongForLabelZero):
    def backward(self, upstream=1.0):
        return upstream * (self.p - self.y) / self.p.size  # dℓ/dz (through the sigmoid), not dℓ/dp


class BCEReturningPMinusYWithoutTheMean(BCEWrongForLabelZero):
    def backward(self, upstream=1.0):
        return upstream * (self.p - self.y)


class BatchNorm:
    """Batch normalisation in training mode; ``paths`` says which of its three paths back to x the backward
    takes (the direct one always; "mu" through the batch mean, "var" through the batch variance)."""

    def __init__(self, paths=("mu", "var"), d=5):
        self.paths = paths
        self.params = {"gamma": np.linspace(0.5, 2, d), "beta": np.zeros(d)}
        self.grads = {}

    def forward(self, x):
        self.std = np.sqrt(x.var(axis=0) + 1e-5)
        self.xh = (x - x.mean(axis=0)) / self.std
        return self.params["gamma"] * self.xh + self.params["beta"]

    def backward(self, upstream):
        self.grads["gamma"], self.grads["beta"] = (upstream * self.xh).sum(axis=0), upstream.sum(axis=0)
        d = upstream * self.params["gamma"]
        mu = d.mean(axis=0) if "mu" in self.paths else 0
        var = self.xh * (d * self.xh).mean(axis=0) if "var" in self.paths else 0
        return (d - mu - var) / self.std


def test_a_sigmoid_without_its_one_minus_y_is_named(x):
    row = check_layer(SigmoidWithoutOneMinusY(), x).row("x")
    assert row.verdict == "fail" and "(1 − y)" in row.hint and "σ'(x) = y(1 − y)" in row.hint


def test_a_tanh_without_its_local_derivative_is_named(x):
    row = check_layer(TanhWithoutItsDerivative(), x).row("x")
    assert row.verdict == "fail" and "1 − y²" in row.hint


@pytest.mark.parametrize("layer,extra", [(BCEReturningPMinusY(), None), (BCEReturningPMinusYWithoutTheMean(), "N = 8")])
def test_bce_returning_p_minus_y_is_called_the_gradient_at_the_sigmoids_input(rng, layer, extra):
    p, y = rng.uniform(0.05, 0.95, (8, 1)), rng.integers(0, 2, (8, 1))
    row = check_layer(layer, p, y=y).row("x")
    assert row.verdict == "fail" and "p(1 − p)" in row.hint and "dℓ/dz" in row.hint and "dℓ/dp" in row.hint
    assert extra is None or extra in row.hint


@pytest.mark.parametrize("paths,named,not_named", [((), ("μ", "σ²"), ()), (("var",), ("μ",), ("σ²",)),
                                                   (("mu",), ("σ²",), ("μ",))])
def test_batchnorm_without_the_paths_through_the_batch_statistics_is_named(rng, paths, named, not_named):
    x = rng.standard_normal((8, 5)) * 2 + 1
    assert check_layer(BatchNorm(), x).passed
    row = check_layer(BatchNorm(paths), x).row("x")
    assert row.verdict == "fail" and "missing" in row.hint
    missing = row.hint.split("the path through ", 1)[1].split(" is missing", 1)[0]
    assert all(word in missing for word in named) and not any(word in missing for word in not_named)


def test_a_mean_where_a_sum_belongs_is_named_alike_by_the_checker_and_the_trace(capsys, tmp_path):
    path = tmp_path / "mean.py"
    path.write_text(textwrap.dedent('''
        import numpy as np


        class Linear:
            def __init__(self, in_features=5, out_features=3, bias=True, seed=0):
                self.params = {"W": np.random.default_rng(seed).standard_normal((in_features, out_features))}
                if bias:
                    self.params["b"] = np.zeros(out_features)
                self.grads = {}

            def forward(self, x):
                self.x = x
                return x @ self.params["W"] + self.params.get("b", 0)

            def backward(self, upstream):
                self.grads["W"] = self.x.T @ upstream
                if "b" in self.params:
                    self.grads["b"] = upstream.mean(axis=0)
                return upstream @ self.params["W"].T
        '''), encoding="utf-8")
    _, checked, _ = call_main(gradcheck.main, capsys, "--layer", f"{path}:Linear")
    code, traced, _ = call_main(gradcheck.main, capsys, "--trace", "--use", f"{path}:Linear")
    assert code == 1
    checker_hint = next(h for h in hints_in(checked) if h.startswith("↳"))
    trace_hint = next(h for h in hints_in(traced) if h.startswith("hint:"))
    assert "N = 8 is the batch size" in checker_hint  # --layer checks 8 rows: the handout's trace has 4
    assert "N = 4 is the batch size" in trace_hint and "constant factor" not in trace_hint
    assert checker_hint.split("batch size", 1)[1] == trace_hint.split("batch size", 1)[1]  # one wording
