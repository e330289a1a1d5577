"""A checker that cannot be fooled: user code that exits, gradients that are not real numbers, methods
not written yet, randomness redrawn between probes, and objects that must come back untouched."""

import copy
import re

import numpy as np
import pytest

from checking.checker import LayerError, check_function, check_layer, check_model, find_generators
from checking.randomness import FrozenRandomness
from layers import Dropout, Linear, ReLU, Sigmoid, SigmoidBCELoss
from model import Sequential


class Tanh:
    def forward(self, x):
        self.y = np.tanh(x)
        return self.y

    def backward(self, upstream):
        return upstream * (1 - self.y ** 2)


def raising(exc):
    class Raises(Tanh):
        def backward(self, upstream):
            raise exc

    return Raises()


@pytest.mark.parametrize("exc, text", [(SystemExit(0), "SystemExit(0)"), (GeneratorExit("odd"), "GeneratorExit: odd"),
                                       (ZeroDivisionError("oops"), "ZeroDivisionError: oops")])
def test_anything_user_code_raises_becomes_a_layer_error_naming_the_layer(exc, text, rng):
    with pytest.raises(LayerError, match=f"Raises.backward raised {re.escape(text)}"):
        check_layer(raising(exc), rng.standard_normal((3, 2)))


@pytest.mark.parametrize("exc", [MemoryError, KeyboardInterrupt])
def test_memory_error_and_ctrl_c_pass_through_for_the_cli_to_report(rng, exc):
    with pytest.raises(exc):  # Ctrl-C stops the run (130): it is not the layer failing
        check_layer(raising(exc()), rng.standard_normal((3, 2)))


def test_an_exit_inside_a_forward_probe_is_caught_too(rng):
    class ExitsOnTheThirdForward(Tanh):
        calls = 0

        def forward(self, x):
            type(self).calls += 1
            if type(self).calls == 3:
                raise SystemExit(0)
            return super().forward(x)

    with pytest.raises(LayerError, match="ExitsOnTheThirdForward.forward raised SystemExit"):
        check_layer(ExitsOnTheThirdForward(), rng.standard_normal((3, 2)))


@pytest.mark.parametrize("bad, kind", [(lambda g: 2 * g + 5j, "complex numbers"),
                                       (lambda g: g.astype(object), "Python objects"),
                                       (lambda g: g.astype(str), "strings"),
                                       (lambda g: g > 0, "booleans"),
                                       (lambda g: None, "None")])
def test_a_gradient_must_be_real_numbers(bad, kind, rng):
    class Bad(Tanh):
        def backward(self, upstream):
            return bad(super().backward(upstream))

    with pytest.raises(LayerError, match=f"Bad.backward returned {kind}"):
        check_layer(Bad(), rng.standard_normal((3, 2)))


def test_a_complex_parameter_gradient_is_refused(rng):
    class ComplexGrad(Linear):
        def backward(self, upstream):
            dx = super().backward(upstream)
            self.grads["W"] = self.grads["W"] + 1j
            return dx

    with pytest.raises(LayerError, match=r"ComplexGrad.grads\['W'\] holds complex numbers"):
        check_layer(ComplexGrad(2, 3, rng=0), rng.standard_normal((4, 2)))


def test_an_integer_valued_gradient_is_fine():
    class Double:
        def forward(self, x):
            return 2 * x

        def backward(self, upstream):
            return (2 * np.round(upstream)).astype(np.int64)  # exact when the upstream is integral

    assert check_layer(Double(), np.ones((2, 3)), upstream=np.arange(6.0).reshape(2, 3)).passed


def test_a_complex_forward_is_refused(rng):
    class ComplexOut(Tanh):
        def forward(self, x):
            return super().forward(x) + 0j

    with pytest.raises(LayerError, match="ComplexOut.forward returned complex128 values"):
        check_layer(ComplexOut(), rng.standard_normal((3, 2)))


def test_a_backward_not_written_yet_names_its_todo_file(tmp_path, monkeypatch, rng):
    (tmp_path / "exercises").mkdir()
    (tmp_path / "exercises" / "sigmoid.py").write_text(
        "class Sigmoid:\n"
        "    def forward(self, x):\n        return x\n"
        "    def backward(self, upstream):\n        raise NotImplementedError('TODO')\n")
    monkeypatch.chdir(tmp_path)
    from checking.user_layer import load_layer

    layer = load_layer("exercises/sigmoid.py:Sigmoid")
    with pytest.raises(LayerError) as info:
        check_layer(layer, rng.standard_normal((3, 2)))
    assert "Sigmoid.backward" in str(info.value) and "exercises/sigmoid.py" in str(info.value)
    assert isinstance(info.value.__cause__, NotImplementedError)


# --- randomness held still


class UserDropout:
    """A Dropout-like user layer: a fresh mask from ``self.rng`` on every forward."""

    def __init__(self, p=0.5, seed=0):
        self.p, self.rng = p, np.random.default_rng(seed)

    def forward(self, x):
        self.mask = (self.rng.random(x.shape) >= self.p) / (1 - self.p)
        return x * self.mask

    def backward(self, upstream):
        return upstream * self.mask


class UserDropoutForgetsTheScale(UserDropout):
    def backward(self, upstream):
        return upstream * (self.mask > 0)


def test_a_mask_redrawn_between_probes_would_turn_the_check_into_noise(rng):
    """The control: probing by hand, without holding the generator still, fails a right backward."""
    layer, x = UserDropout(), rng.standard_normal((6, 5))
    g = rng.standard_normal((6, 5))
    layer.forward(x)
    dx = layer.backward(g)
    arrays = {"x": x}
    noisy = check_function(lambda: float(np.sum(layer.forward(arrays["x"]) * g)), arrays, {"x": dx})
    assert not noisy.passed


def test_the_checker_holds_a_user_dropout_mask_still(rng):
    x = rng.standard_normal((6, 5))
    layer = UserDropout()
    before = copy.deepcopy(layer.rng.bit_generator.state)
    assert check_layer(layer, x).passed
    assert check_layer(layer, x, mode="taylor").rows[0].verdict == "exact"
    assert layer.rng.bit_generator.state == before and not hasattr(layer, "mask")  # the user's object untouched
    broken = check_layer(UserDropoutForgetsTheScale(), x).row("x")
    assert broken.verdict == "fail" and "constant factor: analytic = 1/2 × numeric" in broken.hint


def test_the_library_dropout_in_training_mode_is_checked_with_one_mask(rng):
    layer = Dropout(0.4, rng=5)
    assert layer.training and check_layer(layer, rng.standard_normal((8, 6))).passed


def test_a_model_with_dropout_is_checked_whoever_calls(rng):
    net = Sequential([Linear(3, 6, rng=0), ReLU(), Dropout(0.3, rng=1), Linear(6, 1, rng=2)], SigmoidBCELoss())
    X, y = rng.standard_normal((10, 3)), rng.integers(0, 2, 10)
    state = copy.deepcopy(net.layers[2].rng.bit_generator.state)
    report = check_model(net, X, y)
    assert report.passed and len(report.rows) == 5
    assert net.layers[2].rng.bit_generator.state == state


def test_generators_are_found_through_attributes_lists_and_dicts():
    class Holder:
        pass

    deep = Holder()
    a, b, c = np.random.default_rng(1), np.random.RandomState(2), np.random.default_rng(3)
    deep.layers = [Holder(), {"inner": a}, (c, c)]
    deep.layers[0].rng = b
    found = find_generators(deep)
    assert len(found) == 3 and {id(g) for g in found} == {id(a), id(b), id(c)}
    frozen = FrozenRandomness(deep)
    first = (a.random(), b.random_sample(), c.random())
    frozen.restore()
    assert (a.random(), b.random_sample(), c.random()) == first


# --- the caller's objects, and any model with loss/backward/params/grads


class TinyModel:
    """Not a Sequential: logistic regression with the protocol check_model needs, and nothing more."""

    def __init__(self):
        self.params = {"w": np.array([0.5, -1.0]), "c": np.array([0.1])}
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def loss(self, X, y):
        self.X, self.y = X, y
        self.p = 1 / (1 + np.exp(-(X @ self.params["w"] + self.params["c"])))
        return float(-np.mean(y * np.log(self.p) + (1 - y) * np.log(1 - self.p)))

    def backward(self):
        dz = (self.p - self.y) / len(self.y)
        self.grads["w"][...] = self.X.T @ dz
        self.grads["c"][...] = dz.sum()
        return np.outer(dz, self.params["w"])


def test_check_model_works_on_any_object_with_the_protocol_and_leaves_it_untouched(rng):
    model = TinyModel()
    X, y = rng.standard_normal((7, 2)), rng.integers(0, 2, 7)
    params = {k: v.copy() for k, v in model.params.items()}
    report = check_model(model, X, y)
    assert report.passed and {r.name for r in report.rows} == {"X", "w", "c"}
    assert set(vars(model)) == {"params", "grads"}
    assert all(np.array_equal(model.params[k], params[k]) for k in params)


def test_check_model_catches_a_broken_duck_typed_model(rng):
    class Broken(TinyModel):
        def backward(self):
            dX = super().backward()
            self.grads["c"] *= len(self.y)
            return dX

    report = check_model(Broken(), rng.standard_normal((7, 2)), rng.integers(0, 2, 7))
    assert report.row("c").verdict == "fail" and "a missing 1/N" in report.row("c").hint


def test_a_float32_layer_is_checked_as_a_float64_copy(rng):
    layer = Sigmoid()
    x = rng.standard_normal((3, 4)).astype(np.float32)
    report = check_layer(layer, x)
    assert report.passed and any("float32" in n for n in report.notes) and layer.cache is None


class GlobalDropout:
    """Inverted dropout drawing its mask from NumPy's global functions, as CS231n's dropout_forward does."""

    def __init__(self, p=0.5, scale_in_backward=True):
        self.p, self.scale_in_backward = p, scale_in_backward

    def forward(self, x):
        self.mask = (np.random.rand(*x.shape) >= self.p) / (1 - self.p)
        return x * self.mask

    def backward(self, upstream):
        return upstream * (self.mask if self.scale_in_backward else self.mask > 0)


def test_a_layer_drawing_from_numpys_global_random_functions_is_held_still(rng):
    """Right in an unusual way (np.random.rand, not a Generator) passes; its backward without the 1/(1 − p) fails."""
    x = rng.standard_normal((6, 4))
    assert check_layer(GlobalDropout(), x).passed
    assert not check_layer(GlobalDropout(scale_in_backward=False), x).passed
