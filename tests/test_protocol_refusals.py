"""What the layer protocol (``layers.protocol``) lets through and what it refuses, and what its refusals name:
written from the survivors of mutation testing (docs/mutation.md), each a behaviour no test pinned."""

import copy
import functools

import numpy as np
import pytest

from checking.checker import check_model
from layers import BatchNorm, Linear, MSELoss, ReLU
from layers.protocol import (
    LayerError, as_gradient, call_on_copies, call_user, describe_exception, float64_copy, parameter_gradients,
)
from model import Sequential

from .test_protocol import LearnerLinear


class Same:
    """An identity layer that keeps its input's dtype (integers stay integers)."""

    def forward(self, x):
        return x

    def backward(self, upstream):
        return upstream


class NaNForward(Same):
    def forward(self, x):
        return np.full(np.shape(x), np.nan)


class NaNBackward(Same):
    def backward(self, upstream):
        return np.full(np.shape(upstream), np.nan)


def test_describe_exception_gives_one_line_and_only_the_type_when_there_is_no_message():
    assert describe_exception(ValueError()) == "ValueError"
    assert describe_exception(ValueError("a\n   b")) == "ValueError: a b"


# ---------------------------------------------------------------- the network's first (checked) pass


def test_an_integer_input_is_finite_so_a_layer_that_makes_nan_of_it_is_named():
    net = Sequential([Same(), NaNForward()], MSELoss())
    with pytest.raises(LayerError, match=r"layer 1 \(NaNForward\)\.forward"):
        net.forward(np.array([[1, 2], [3, 4]]))


def test_a_nan_input_is_not_a_layers_fault():
    net = Sequential([Same(), Same()], MSELoss())
    assert np.isnan(net.forward(np.array([[np.nan, 1.0]]))).any()


@pytest.mark.parametrize("x", [[[1e308, 1e308]], [[np.inf, -np.inf]]], ids=["sum overflows", "sum is nan"])
def test_finiteness_is_judged_without_a_numpy_warning(x):
    net = Sequential([Same()], MSELoss())  # warnings are errors in this suite
    np.testing.assert_array_equal(net.forward(np.array(x)), x)


def test_a_layers_nan_gradient_from_a_nan_loss_gradient_is_not_the_layers_fault():
    class NaNGradientLoss(MSELoss):
        def backward(self, upstream=1.0):
            return np.full_like(super().backward(upstream), np.nan)

    net = Sequential([Linear(2, 1, rng=0)], NaNGradientLoss())
    net.loss(np.ones((3, 2)), np.ones(3))
    assert np.isnan(net.backward()).all()


def test_a_nan_gradient_on_a_later_shape_is_divergence_not_a_refusal():
    layer = NaNBackward()
    net = Sequential([Linear(2, 2, rng=0), layer], MSELoss())
    layer.backward = Same().backward  # the first pass keeps to the protocol
    net.loss(np.ones((3, 2)), np.ones((3, 2)))
    net.backward()
    layer.backward = NaNBackward().backward  # a later pass of a new shape may diverge
    net.loss(np.ones((4, 2)), np.ones((4, 2)))
    assert np.isnan(net.backward()).all()


def test_a_loss_gradient_of_another_shape_names_the_network_output():
    class FlatLoss(MSELoss):
        def backward(self, upstream=1.0):
            return super().backward(upstream).ravel()

    net = Sequential([Linear(2, 1, rng=0)], FlatLoss())
    net.loss(np.ones((3, 2)), np.ones(3))
    with pytest.raises(LayerError) as info:
        net.backward()
    assert all(s in str(info.value) for s in ("FlatLoss", "network output", "(3,)", "(3, 1)")), str(info.value)


class WrongAxisBias(LearnerLinear):
    """``db = upstream.sum(axis=1)``: a bias gradient with a row per sample's length, (N,) for (M,)."""

    def backward(self, upstream):
        dx = super().backward(upstream)
        self.grads["b"] = upstream.sum(axis=1)
        return dx


class WrongAxisBiasInPlace(LearnerLinear):
    """The same slip written into the gradient array: NumPy's broadcast error inside the backward."""

    def backward(self, upstream):
        dx = super().backward(upstream)
        self.grads["b"][...] = upstream.sum(axis=1)
        return dx


@pytest.mark.parametrize("cls", [WrongAxisBias, WrongAxisBiasInPlace])
def test_a_bias_summed_over_the_wrong_axis_is_named_from_the_batch_size(cls):
    net = Sequential([cls(2, 3), ReLU(), Linear(3, 1, rng=0)], MSELoss())
    net.loss(np.ones((5, 2)), np.ones(5))
    with pytest.raises(LayerError) as info:
        net.backward()
    message = str(info.value)
    assert all(s in message for s in ("layer 0 (", "grads['b']", "(5,)", "(3,)", "axis=0")), message
    assert "parameter" in message or "backward" in message


def test_a_parameter_gradient_of_another_shape_names_the_parameter():
    class TransposedW(LearnerLinear):
        def backward(self, upstream):
            dx = super().backward(upstream)
            self.grads["W"] = self.grads["W"].T.copy()
            return dx

    net = Sequential([TransposedW(2, 3)], MSELoss())
    net.loss(np.ones((4, 2)), np.ones((4, 3)))
    with pytest.raises(LayerError) as info:
        net.backward()
    assert all(s in str(info.value) for s in ("grads['W']", "parameter", "(3, 2)", "(2, 3)")), str(info.value)


def test_a_nan_parameter_gradient_from_a_finite_upstream_names_the_parameter():
    class NaNW(LearnerLinear):
        def backward(self, upstream):
            dx = super().backward(upstream)
            self.grads["W"] = np.full_like(self.grads["W"], np.nan)
            return dx

    net = Sequential([NaNW(2, 3)], MSELoss())
    net.loss(np.ones((4, 2)), np.ones((4, 3)))
    with pytest.raises(LayerError) as info:
        net.backward()
    assert all(s in str(info.value) for s in ("layer 0 (NaNW).grads['W']", "upstream")), str(info.value)


# ---------------------------------------------------------------- modes


def test_a_layers_own_train_method_is_called_and_a_bare_training_attribute_is_set():
    class WithTrain(Same):
        def train(self, mode=True):
            self.calls = [*getattr(self, "calls", []), mode]

    class WithAttribute(Same):
        training = True

    a, b = WithTrain(), WithAttribute()
    net = Sequential([a, b], MSELoss())
    net.eval()
    assert a.calls == [False] and b.training is False
    net.train()
    assert a.calls == [False, True] and b.training is True


# ---------------------------------------------------------------- the checker's calls


def test_a_parameter_layer_without_grads_is_refused_naming_it_and_its_keys():
    class NoGrads:
        params = {"W": np.ones((2, 2))}

    with pytest.raises(LayerError) as info:
        parameter_gradients(NoGrads(), "MyLayer")
    assert all(s in str(info.value) for s in ("MyLayer", "['W']")), str(info.value)


def test_as_gradient_returns_float64():
    for g in (np.ones((2, 3), np.float32), np.ones((2, 3), np.int64)):
        assert as_gradient(g, "f", "returned", (2, 3), "the input's").dtype == np.float64


def test_a_nan_input_left_as_it_was_is_not_a_change():
    x = np.array([[np.nan, 1.0]])
    assert call_on_copies("f", lambda a: a + 1, x).shape == (1, 2)


def test_an_array_changed_after_a_non_array_argument_is_found_and_numbered():
    def fn(_scale, x, z):
        z += 1

    with pytest.raises(LayerError, match="argument 3"):
        call_on_copies("f", fn, 3.0, np.zeros(2), np.zeros(2))
    with pytest.raises(LayerError, match="labels"):
        call_on_copies("f", lambda s, y: y.__iadd__(1), 3.0, np.zeros(2))


def test_an_argument_that_is_not_an_array_is_passed_as_it_is():
    assert call_on_copies("f", lambda x, y: type(y), np.zeros(2), [0, 1]) is list


def test_an_input_resized_in_place_is_a_change_of_all_its_elements():
    def fn(x):
        x.resize(7, refcheck=False)

    with pytest.raises(LayerError, match=r"\b5 of 5\b"):
        call_on_copies("f", fn, np.zeros(5))


def not_yet(x):
    raise NotImplementedError


def test_not_implemented_names_the_file_the_notebook_cell_or_the_module():
    with pytest.raises(LayerError) as info:
        call_user("f", not_yet, 1)
    message = str(info.value)
    assert "tests/test_protocol_refusals.py" in message and __file__ not in message, message
    with pytest.raises(LayerError, match="its module"):
        call_user("f", functools.partial(not_yet), 1)
    scope = {}
    exec(compile("def cell(x):\n    raise NotImplementedError\n", "/tmp/ipykernel_42/1.py", "exec"), scope)
    with pytest.raises(LayerError, match="notebook cell"):
        call_user("f", scope["cell"], 1)


def test_a_float32_model_is_copied_by_its_own_astype():
    net = Sequential([Linear(2, 3, rng=0), BatchNorm(3), Linear(3, 1, rng=0)], MSELoss()).astype(np.float32)
    notes = []
    new = float64_copy(net, notes, "the model")
    assert new.dtype == np.float64 and new.layers[1].buffers["running_mean"].dtype == np.float64
    assert "float32" in notes[0] and net.dtype == np.float32


@pytest.mark.parametrize("astype", [False, True])
def test_a_copy_that_fails_names_what_was_being_copied(astype):
    class Uncopyable:
        params = {"W": np.ones(2, np.float32)}

        def __deepcopy__(self, _memo):
            raise TypeError("no")

        def astype(self, dtype):
            return copy.deepcopy(self)

    obj = Uncopyable()
    if not astype:
        del Uncopyable.astype
    with pytest.raises(LayerError, match="MyLayer"):
        float64_copy(obj, [], "MyLayer")


# ---------------------------------------------------------------- the checker's guard on a model's layers


class InPlaceLoss(MSELoss):
    def forward(self, out, y):
        value = super().forward(out, y)
        out *= 1.0000001
        return value


def test_the_checker_holds_the_loss_to_the_protocol_too(rng):
    net = Sequential([Linear(2, 1, rng=0)], InPlaceLoss())
    with pytest.raises(LayerError, match=r"InPlaceLoss\.forward changes its input"):
        check_model(net, rng.standard_normal((4, 2)), rng.standard_normal(4))


class MisshapenBackward(Same):
    """A backward whose NumPy error is a shape error: ``upstream @ M`` with M of the wrong size."""

    params = {"W": np.ones((3, 3))}
    grads = {"W": np.zeros((3, 3))}

    def backward(self, upstream):
        return upstream @ np.ones((4, 3))


def test_a_numpy_error_in_a_backward_under_the_checker_names_the_shapes_its_gradients_need(rng):
    net = Sequential([Linear(2, 3, rng=0), MisshapenBackward()], MSELoss())
    with pytest.raises(LayerError) as info:
        check_model(net, rng.standard_normal((5, 2)), rng.standard_normal((5, 3)))
    message = str(info.value)
    assert all(s in message for s in ("MisshapenBackward.backward", "(5, 3)", "grads['W']", "(3, 3)")), message


def test_a_bias_summed_over_the_wrong_axis_under_the_checker_is_named_from_the_batch_size(rng):
    net = Sequential([WrongAxisBiasInPlace(2, 3), ReLU(), Linear(3, 1, rng=0)], MSELoss())
    with pytest.raises(LayerError) as info:
        check_model(net, rng.standard_normal((5, 2)), rng.standard_normal(5))
    assert all(s in str(info.value) for s in ("(5,)", "(3,)", "axis=0")), str(info.value)
