"""What passes trains like the reference: the checker calls a layer as training does — other batches first,
``backward`` twice on one cache, two base points with the layer used between them — and perturbs the arrays
``forward`` reads, in their own dtype's twin."""

import numpy as np
import pytest

from checking.checker import LayerError, check_layer
from layers import Linear


class Tanh:
    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, upstream):
        return upstream * (1 - self.y**2)


class Affine:
    """``x @ W + b``, its parameters read through attributes; ``store`` is how the gradients are written."""

    def __init__(self, dtype=np.float64, store="assign"):
        rng = np.random.default_rng(0)
        self.W, self.b = rng.standard_normal((5, 3)).astype(dtype), rng.standard_normal(3).astype(dtype)
        self.params = {"W": self.W, "b": self.b}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.store = store

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, upstream):
        for key, g in (("W", self.x.T @ upstream), ("b", upstream.sum(axis=0))):
            if self.store == "assign":
                self.grads[key] = g
            elif self.store == "in place":
                self.grads[key][...] = g
            elif self.store == "accumulate":
                self.grads[key] += g
        return upstream @ self.W.T


@pytest.fixture
def x():
    return np.random.default_rng(1).standard_normal((8, 5))


# ---------------------------------------------------------------- item 2: float32 parameters behind attributes


def test_a_float32_layer_reading_its_attributes_passes(x):
    report = check_layer(Affine(np.float32), x)
    assert report.passed, report.table()


def test_a_float32_layer_that_forgets_dW_fails(x):
    class ForgetsDW(Affine):
        def backward(self, upstream):
            self.grads["b"] = upstream.sum(axis=0)
            return upstream @ self.W.T

    report = check_layer(ForgetsDW(np.float32), x)
    assert not report.passed and report.row("W").verdict == "fail"


def test_a_layer_whose_float32_gradients_differ_from_its_float64_ones_fails(x):
    class DtypeDependent(Affine):
        def backward(self, upstream):
            dx = super().backward(upstream)
            if self.W.dtype == np.float32:
                self.grads["W"] = self.grads["W"] * 1.01
            return dx

    report = check_layer(DtypeDependent(np.float32), x)
    assert not report.passed
    row = next(r for r in report.rows if r.verdict == "fail")
    assert row.name == "W" and "float32" in row.check and "float32" in row.hint


# ---------------------------------------------------------------- items 3 and 6: several calls


def test_gradients_assigned_or_written_in_place_pass(x):
    assert check_layer(Affine(store="assign"), x).passed
    assert check_layer(Affine(store="in place"), x).passed


def test_gradients_accumulated_across_calls_fail_with_that_diagnosis(x):
    report = check_layer(Affine(store="accumulate"), x)
    assert not report.passed
    row = report.row("W (backward again)")
    assert row.verdict == "fail" and "accumulate" in row.hint and "assign" in row.hint and "+=" in row.hint


def test_a_library_linear_with_plus_equals_fails(x):
    class Accumulating(Linear):
        def backward(self, upstream):
            self.grads["W"] += self.cache.T @ upstream
            self.grads["b"] += upstream.sum(axis=0)
            return upstream @ self.params["W"].T

    assert not check_layer(Accumulating(5, 3, rng=0), x).passed


def test_a_layer_right_only_on_its_first_backward_fails(x):
    class RightOnce(Tanh):
        calls = 0

        def backward(self, upstream):
            self.calls += 1
            return super().backward(upstream) * (1 if self.calls == 1 else 2)

    assert not check_layer(RightOnce(), x).passed


def test_a_layer_that_recognises_its_first_input_fails(x):
    """Near the first input it ever sees, forward is 2·tanh (consistent with its doubled backward); elsewhere it
    is tanh, as training sees it."""

    class Recognises(Tanh):
        first = None

        def forward(self, x):
            if self.first is None:
                self.first = x.copy()
            y = super().forward(x)
            return 2 * y if np.max(np.abs(x - self.first)) < 1e-3 else y

        def backward(self, upstream):
            return 2 * super().backward(upstream)

    report = check_layer(Recognises(), x)
    assert not report.passed and report.row("x").verdict == "fail"


def test_a_forward_that_is_not_a_function_of_its_input_is_refused(x):
    class Counting(Tanh):
        calls = 0

        def forward(self, x):
            self.calls += 1
            return super().forward(x) + (self.calls > 3)

    with pytest.raises(LayerError, match="Counting.forward is not a function of its input"):
        check_layer(Counting(), x)
