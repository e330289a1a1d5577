"""The protocol every layer shares: modes, config, buffers, the cache discipline and dtypes."""

import inspect
import json
import re
import weakref

import numpy as np
import pytest

import layers
from layers import (
    Add,
    BatchNorm,
    BCELoss,
    Copy,
    CrossEntropyLoss,
    Dropout,
    Layer,
    LeakyReLU,
    Linear,
    Max,
    MSELoss,
    Multiply,
    ReLU,
    Sigmoid,
    SigmoidBCELoss,
    Softmax,
    SoftmaxCrossEntropyLoss,
    Tanh,
)
from layers.standardize import Standardize
from layers.validation import ParameterError, check_count, check_real

NEW_LAYERS = [Tanh, LeakyReLU, Softmax, Dropout, BatchNorm]
NEW_LOSSES = [CrossEntropyLoss, SoftmaxCrossEntropyLoss, MSELoss]


def make(cls):
    """A layer with non-default constructor arguments where it takes any."""
    return {LeakyReLU: lambda: LeakyReLU(alpha=0.2), Dropout: lambda: Dropout(p=0.3, rng=1),
            BatchNorm: lambda: BatchNorm(4, momentum=0.8, eps=1e-3)}.get(cls, cls)()


def loss_inputs(cls, rng, dtype):
    if cls is MSELoss:
        return rng.standard_normal((5, 4)).astype(dtype), rng.standard_normal((5, 4))
    x = rng.uniform(0.05, 0.95, (5, 4)) if cls is CrossEntropyLoss else rng.standard_normal((5, 4))
    return x.astype(dtype), rng.integers(0, 4, 5)


def test_a_bare_layer_has_empty_dicts_no_cache_and_training_mode():
    layer = Layer()
    assert layer.params == {} and layer.grads == {} and layer.buffers == {} and layer.cache is None
    assert layer.training is True and layer.config() == {}


@pytest.mark.parametrize("cls", [*NEW_LAYERS, *NEW_LOSSES, ReLU, Sigmoid, BCELoss, SigmoidBCELoss])
def test_train_and_eval_switch_the_mode_and_return_the_layer(cls):
    layer = make(cls)
    assert layer.training is True
    assert layer.eval() is layer and layer.training is False
    assert layer.train() is layer and layer.training is True
    assert layer.train(False) is layer and layer.training is False
    with pytest.raises(ValueError, match="True or False"):
        layer.train("no")


def test_linear_gets_the_modes_from_the_base_class():
    assert Linear(2, 3, rng=0).eval().training is False


@pytest.mark.parametrize("cls", [Tanh, LeakyReLU, Softmax, ReLU, Sigmoid])
def test_layers_without_modes_ignore_the_flag(rng, cls):
    x, g = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    layer = make(cls)
    out, dx = layer.forward(x), layer.backward(g)
    layer.eval()
    np.testing.assert_array_equal(layer.forward(x), out)
    np.testing.assert_array_equal(layer.backward(g), dx)


@pytest.mark.parametrize("cls", NEW_LAYERS + NEW_LOSSES)
def test_config_is_plain_json_and_rebuilds_an_equal_layer(cls):
    layer = make(cls)
    config = layer.config()
    assert json.loads(json.dumps(config)) == config
    assert all(type(v) in (int, float, bool, str) for v in config.values())
    rebuilt = type(layer)(**config)
    assert type(rebuilt) is type(layer) and rebuilt.config() == config
    assert rebuilt.params.keys() == layer.params.keys() and rebuilt.buffers.keys() == layer.buffers.keys()
    for k in layer.params:
        np.testing.assert_array_equal(rebuilt.params[k], layer.params[k])
    for k in layer.buffers:
        np.testing.assert_array_equal(rebuilt.buffers[k], layer.buffers[k])


def test_configs_hold_the_constructor_arguments():
    assert make(LeakyReLU).config() == {"alpha": 0.2}
    assert make(Dropout).config() == {"p": 0.3}
    assert make(BatchNorm).config() == {"num_features": 4, "momentum": 0.8, "eps": 1e-3}
    assert Tanh().config() == Softmax().config() == MSELoss().config() == {}


@pytest.mark.parametrize("cls", NEW_LAYERS)
def test_new_layers_refuse_backward_before_forward(cls):
    with pytest.raises(RuntimeError, match="before forward"):
        make(cls).backward(np.ones((3, 4)))


@pytest.mark.parametrize("cls", NEW_LOSSES)
def test_new_losses_refuse_backward_before_forward_and_a_non_scalar_upstream(rng, cls):
    loss = cls()
    with pytest.raises(RuntimeError, match="before forward"):
        loss.backward()
    loss.forward(*loss_inputs(cls, rng, np.float64))
    with pytest.raises(ValueError, match="scalar"):
        loss.backward(np.ones(1))


@pytest.mark.parametrize("cls", NEW_LAYERS)
def test_new_layers_refuse_an_upstream_of_the_wrong_shape(rng, cls):
    layer = make(cls)
    layer.forward(rng.standard_normal((3, 4)))
    with pytest.raises(ValueError, match=r"\(3, 4\)"):
        layer.backward(np.ones((4, 3)))


@pytest.mark.parametrize("cls", NEW_LAYERS)
@pytest.mark.parametrize("mode", ["train", "eval"])
def test_float32_stays_float32_through_each_new_layer(rng, cls, mode):
    layer = make(cls).astype(np.float32).train(mode == "train")
    x, g = (rng.standard_normal((5, 4)).astype(np.float32) for _ in range(2))
    out = layer.forward(x)
    dx = layer.backward(g)
    assert out.dtype == np.float32 and dx.dtype == np.float32
    for k in layer.params:
        assert layer.params[k].dtype == layer.grads[k].dtype == np.float32
    for buf in layer.buffers.values():
        assert buf.dtype == np.float32


def test_dropout_caches_its_mask_in_the_input_dtype(rng):
    layer = Dropout(0.5, rng=0)
    layer.forward(rng.standard_normal((5, 4)).astype(np.float32))
    assert layer.cache.dtype == np.float32 and layer.cache.shape == (5, 4)


@pytest.mark.parametrize("cls", NEW_LOSSES)
def test_float32_stays_float32_through_each_new_loss(rng, cls):
    loss = cls()
    value = loss.forward(*loss_inputs(cls, rng, np.float32))
    assert type(value) is float and np.isfinite(value)
    assert loss.backward().dtype == np.float32 and loss.backward(2.0).dtype == np.float32


def test_astype_casts_buffers_and_keeps_batchnorm_attributes_on_them():
    layer = BatchNorm(3)
    layer.running_mean[...] = [1.0, 2.0, 3.0]
    new = layer.astype(np.float32)
    assert new.running_mean is new.buffers["running_mean"] and new.running_var is new.buffers["running_var"]
    assert new.running_mean.dtype == np.float32
    np.testing.assert_array_equal(new.running_mean, [1.0, 2.0, 3.0])
    assert layer.running_mean.dtype == np.float64  # the original is untouched


def test_everything_new_is_exported():
    for name in ("Tanh", "LeakyReLU", "Softmax", "softmax", "log_softmax", "CrossEntropyLoss",
                 "SoftmaxCrossEntropyLoss", "MSELoss", "Dropout", "BatchNorm"):
        assert name in layers.__all__ and hasattr(layers, name)
    assert all(hasattr(layers, name) for name in layers.__all__)


# ---------------------------------------------------------------- the base class's two checks

X = np.arange(20.0).reshape(5, 4) / 10 - 0.95  # (5, 4), no zeros: away from every kink
P = np.full((5, 4), 0.25)  # probabilities for the losses that take them
LABELS = np.array([0, 3, 1, 2, 0])

# name -> (a fresh layer, the inputs of forward); every kind of layer in the package
KINDS = {
    "Linear": (lambda: Linear(4, 3, rng=0), (X,)),
    "ReLU": (ReLU, (X,)),
    "LeakyReLU": (LeakyReLU, (X,)),
    "Sigmoid": (Sigmoid, (X,)),
    "Tanh": (Tanh, (X,)),
    "Softmax": (Softmax, (X,)),
    "Dropout": (lambda: Dropout(0.5, rng=0), (X,)),
    "BatchNorm": (lambda: BatchNorm(4), (X,)),
    "Standardize": (lambda: Standardize(4).set(np.zeros(4), np.full(4, 2.0)), (X,)),
    "Add": (Add, (X, X)),
    "Multiply": (Multiply, (X, X)),
    "Max": (Max, (X, -X)),
    "BCELoss": (BCELoss, (np.full((5, 1), 0.3), np.ones((5, 1)))),
    "SigmoidBCELoss": (SigmoidBCELoss, (X, np.ones((5, 4)))),
    "CrossEntropyLoss": (CrossEntropyLoss, (P, LABELS)),
    "SoftmaxCrossEntropyLoss": (SoftmaxCrossEntropyLoss, (X, LABELS)),
    "MSELoss": (MSELoss, (X, np.zeros((5, 4)))),
}
LOSS_NAMES = {"BCELoss", "SigmoidBCELoss", "CrossEntropyLoss", "SoftmaxCrossEntropyLoss", "MSELoss"}


def shapes_pattern(got, expected):
    """A regex finding both shapes, the received one first, e.g. ``(4,) ... (5, 4)``."""
    return rf"{re.escape(str(got))}.*{re.escape(str(expected))}"


@pytest.mark.parametrize("name", [*KINDS, "Copy"])
def test_every_layer_refuses_backward_before_forward_naming_itself(name):
    layer = Copy() if name == "Copy" else KINDS[name][0]()
    upstreams = (np.ones(4), np.ones(4)) if name == "Copy" else (np.ones((5, 4)),)
    with pytest.raises(RuntimeError, match=rf"^{name}\.backward\(\) called before forward\(\)"):
        layer.backward(*upstreams)


@pytest.mark.parametrize("name", KINDS)
def test_every_layer_refuses_an_upstream_of_another_shape_naming_itself_and_both_shapes(name):
    make, inputs = KINDS[name]
    layer = make()
    out = layer.forward(*inputs)
    expected = np.shape(out)
    wrong = np.ones(2) if name in LOSS_NAMES else np.ones(expected[:-1])  # a column too few
    with pytest.raises(ValueError, match=rf"^{name}\.backward: upstream gradient has shape " +
                       shapes_pattern(wrong.shape, expected)) as caught:
        layer.backward(wrong)
    if name in LOSS_NAMES:
        assert expected == () and "scalar" in str(caught.value)
    layer.backward(*(() if name in LOSS_NAMES else (np.ones(expected),)))  # the right one goes through


def test_copy_checks_each_of_its_two_upstreams_and_their_number():
    gate = Copy()
    gate.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"^Copy\.backward: upstream gradient 2 of 2 has shape " +
                       shapes_pattern((3, 2), (2, 3))):
        gate.backward(np.ones((2, 3)), np.ones((3, 2)))
    with pytest.raises(TypeError, match="2 upstream gradient"):
        gate.backward(np.ones((2, 3)))
    np.testing.assert_array_equal(gate.backward(np.ones((2, 3)), np.ones((2, 3))), np.full((2, 3), 2.0))


@pytest.mark.parametrize("name", [n for n in KINDS if n not in LOSS_NAMES])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_an_integer_upstream_is_cast_to_the_output_dtype(name, dtype):
    make, inputs = KINDS[name]
    layer = make().astype(dtype)
    out = layer.forward(*(a.astype(dtype) for a in inputs))
    float_layer = make().astype(dtype)
    float_layer.forward(*(a.astype(dtype) for a in inputs))
    ones = np.ones(np.shape(out), dtype=np.int64)
    got, want = layer.backward(ones), float_layer.backward(ones.astype(dtype))
    for g, w in zip(got if isinstance(got, tuple) else (got,), want if isinstance(want, tuple) else (want,),
                    strict=True):
        assert g.dtype == dtype
        np.testing.assert_array_equal(g, w)
    for k in layer.grads:
        assert layer.grads[k].dtype == dtype
        np.testing.assert_array_equal(layer.grads[k], float_layer.grads[k])


def test_linear_backward_takes_an_integer_upstream_and_stays_in_its_dtype():
    for dtype in (np.float32, np.float64):
        layer = Linear(2, 3, rng=0).astype(dtype)
        layer.forward(np.ones((4, 2), dtype=dtype))
        dx = layer.backward(np.ones((4, 3), dtype=int))
        assert dx.dtype == layer.grads["W"].dtype == layer.grads["b"].dtype == dtype
        np.testing.assert_array_equal(layer.grads["b"], [4, 4, 4])
        np.testing.assert_allclose(dx, np.ones((4, 3)) @ layer.params["W"].T, rtol=1e-6)
        dx = layer.backward(np.ones((4, 3), dtype=np.float64))  # float64 into float32: float32 out
        assert dx.dtype == dtype


@pytest.mark.parametrize("name", sorted(LOSS_NAMES))
def test_a_loss_takes_any_scalar_upstream_even_by_name_and_float32_stays_float32(name):
    make, inputs = KINDS[name]
    loss = make()
    loss.forward(*(a.astype(np.float32) if a.dtype.kind == "f" else a for a in inputs))
    base = loss.backward()
    assert base.dtype == np.float32
    for upstream in (2, 2.0, np.float64(2.0), np.array(2.0), np.array(2, dtype=np.int8)):
        g = loss.backward(upstream)
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, 2 * base, rtol=1e-6)
    np.testing.assert_allclose(loss.backward(upstream=3.0), 3 * base, rtol=1e-6)
    with pytest.raises(ValueError, match="scalar"):
        loss.backward(upstream=np.ones(1))


def test_the_wrapped_methods_keep_their_names_signatures_and_docstrings():
    assert inspect.signature(Linear.backward) == inspect.signature(Linear.backward.__wrapped__)
    assert list(inspect.signature(Linear.backward).parameters) == ["self", "upstream"]
    assert list(inspect.signature(BCELoss.backward).parameters) == ["self", "upstream"]
    assert list(inspect.signature(Copy.backward).parameters) == ["self", "upstream1", "upstream2"]
    assert Linear.forward.__name__ == "forward" and Linear.forward.__qualname__ == "Linear.forward"
    assert Standardize.fit.__doc__ and not hasattr(Standardize.fit, "__wrapped__")  # only the two are wrapped


def test_a_subclass_overriding_backward_gets_the_checks_and_super_is_checked_once_more_harmlessly():
    class DoubledTanh(Tanh):
        def backward(self, upstream):
            assert upstream.dtype == np.float64  # cast before this line runs
            return 2 * super().backward(upstream)

    layer = DoubledTanh()
    with pytest.raises(RuntimeError, match="DoubledTanh.backward"):
        layer.backward(np.ones((5, 4)))
    layer.forward(X)
    with pytest.raises(ValueError, match=r"DoubledTanh.backward: .*\(5, 3\).*\(5, 4\)"):
        layer.backward(np.ones((5, 3)))
    np.testing.assert_allclose(layer.backward(np.ones((5, 4), dtype=int)), 2 * (1 - np.tanh(X) ** 2), rtol=1e-15)


def test_a_plain_user_layer_is_untouched():
    class Square:  # forward/backward only, no Layer: nothing wraps it
        def forward(self, x):
            self.x = x
            return x * x

        def backward(self, upstream):
            return 2 * self.x * upstream

    assert "__wrapped__" not in vars(Square.forward) and "__wrapped__" not in vars(Square.backward)
    layer = Square()
    layer.forward(np.array([1.0, 2.0]))
    # broadcasting and integer upstreams pass as they would in plain NumPy, with no check in between
    np.testing.assert_array_equal(layer.backward(np.array([[1], [2]])), [[2.0, 4.0], [4.0, 8.0]])
    assert layer.backward(np.array([3, 3])).dtype == np.float64


def test_a_cache_put_there_by_hand_is_used_without_a_shape_to_check_against():
    # the exercises' tests give a library layer a skeleton's cache: backward runs on it as it stands
    layer = Sigmoid()
    layer.cache = np.array([0.5, 0.25])
    np.testing.assert_array_equal(layer.backward(np.array([1.0, 1.0])), [0.25, 0.1875])


def test_the_base_class_keeps_only_the_shape_and_dtype_of_an_output_not_the_array():
    layer = Linear(2, 3, rng=0)  # caches its input; its output is the next layer's business
    out = layer.forward(np.ones((4, 2)))
    collected = weakref.ref(out)
    del out
    assert collected() is None  # at full batch an output kept alive would cost as much as a cache


def test_astype_drops_what_forward_left():
    layer = Linear(2, 3, rng=0)
    layer.forward(np.ones((4, 2)))
    with pytest.raises(RuntimeError, match="before forward"):
        layer.astype(np.float32).backward(np.ones((4, 3)))


# ---------------------------------------------------------------- parameters, checked once, by name


@pytest.mark.parametrize("make,owner,param,reason", [
    (lambda: Linear(0, 3), "Linear", "in_features", "must be a positive integer, got 0"),
    (lambda: Linear(3, -1), "Linear", "out_features", "must be a positive integer, got -1"),
    (lambda: Linear(1e400, 3), "Linear", "in_features", "must be a positive integer, got inf"),
    (lambda: Linear(True, 3), "Linear", "in_features", "must be a positive integer, got True"),
    (lambda: Linear(2.5, 3), "Linear", "in_features", "must be a positive integer, got 2.5"),
    (lambda: Linear(3, "4"), "Linear", "out_features", "must be a positive integer, got '4'"),
    (lambda: Dropout(1.5), "Dropout", "p", "must be in [0, 1) (the drop probability), got 1.5"),
    (lambda: Dropout(np.float64(-0.1)), "Dropout", "p", "must be in [0, 1) (the drop probability), got -0.1"),
    (lambda: Dropout("half"), "Dropout", "p", "must be a number, got 'half'"),
    (lambda: Dropout(np.nan), "Dropout", "p", "must be finite, got nan"),
    (lambda: LeakyReLU(1), "LeakyReLU", "alpha", "must be in (0, 1), got 1.0"),
    (lambda: LeakyReLU(True), "LeakyReLU", "alpha", "must be a number, got the boolean True"),
    (lambda: BatchNorm(2.0), "BatchNorm", "num_features", "must be a positive integer, got 2.0"),
    (lambda: BatchNorm(3, momentum=1.5), "BatchNorm", "momentum", "must be in [0, 1], got 1.5"),
    (lambda: BatchNorm(3, eps=0), "BatchNorm", "eps", "must be in (0, inf), got 0.0"),
    (lambda: Standardize(0), "Standardize", "num_features", "must be a positive integer, got 0"),
    (lambda: ReLU().train("no"), "ReLU.train", "mode", "must be True or False, got 'no'"),
])
def test_each_constructor_refuses_its_own_arguments_naming_the_parameter(make, owner, param, reason):
    with pytest.raises(ParameterError) as caught:
        make()
    error = caught.value
    assert isinstance(error, ValueError) and (error.owner, error.param, error.reason) == (owner, param, reason)
    assert str(error) == f"{owner}: {param} {reason}"


@pytest.mark.parametrize("value", [0, 1, 0.5, np.float32(0.25), np.int64(0)])
def test_arguments_inside_their_intervals_are_taken_as_python_floats(value):
    got = check_real(value, "p", "Test", within="[0, 1]")
    assert type(got) is float and got == float(value)
    assert check_count(np.int64(3), "n", "Test") == 3 and type(check_count(np.int64(3), "n", "Test")) is int


@pytest.mark.parametrize("within,inside,outside", [
    ("[0, 1)", [0, 0.999], [1, -1e-9]), ("(0, 1)", [1e-9, 0.5], [0, 1]), ("[0, 1]", [0, 1], [1.0001]),
    ("(0, inf)", [1e-300, 1e300], [0, -1]),
])
def test_intervals_are_read_with_their_open_and_closed_ends(within, inside, outside):
    for v in inside:
        assert check_real(v, "v", "Test", within=within) == v
    for v in outside:
        with pytest.raises(ParameterError, match=re.escape(f"Test: v must be in {within}, got {float(v)!r}")):
            check_real(v, "v", "Test", within=within)


@pytest.mark.parametrize("layer", [Linear(2, 3, rng=0), ReLU(), Sigmoid(), Tanh(), Softmax(), BatchNorm(2)],
                         ids=lambda layer: type(layer).__name__)
def test_a_forward_refuses_complex_or_object_input_in_one_line(layer):
    for x in (np.ones((2, 2)) + 0j, np.array([[1, 2], [3, "a"]], dtype=object)):
        with pytest.raises(ValueError, match=rf"{type(layer).__name__}\.forward takes real numbers, got an array"):
            layer.forward(x)
