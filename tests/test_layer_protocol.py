"""The protocol every layer shares: modes, config, buffers, the cache discipline and dtypes."""

import json
from pathlib import Path

import numpy as np
import pytest

import layers
from layers import (
    BatchNorm,
    BCELoss,
    CrossEntropyLoss,
    Dropout,
    Layer,
    LeakyReLU,
    Linear,
    MSELoss,
    ReLU,
    Sigmoid,
    SigmoidBCELoss,
    Softmax,
    SoftmaxCrossEntropyLoss,
    Tanh,
)
from layers.standardize import Standardize
from layers.validation import ParameterError, check_count, check_integer, check_real

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


# ---------------------------------------------------------------- plain layers


@pytest.mark.parametrize("cls", [c for c in map(vars(layers).get, layers.__all__) if type(c) is type and c != Layer])
def test_a_layers_methods_are_its_own_code_nothing_wraps_them(cls):
    assert "__init_subclass__" not in vars(Layer)
    for method in ("forward", "backward"):
        fn = getattr(cls, method)
        assert not hasattr(fn, "__wrapped__") and fn.__qualname__.endswith(f".{method}")
        assert fn.__code__.co_filename.startswith(str(Path(layers.__file__).parent))


@pytest.mark.parametrize("cls", NEW_LOSSES)
def test_a_loss_takes_any_scalar_upstream_even_by_name_and_float32_stays_float32(rng, cls):
    loss = cls()
    loss.forward(*loss_inputs(cls, rng, np.float32))
    base = loss.backward()
    assert base.dtype == np.float32
    for upstream in (2, 2.0, np.float32(2.0)):
        g = loss.backward(upstream)
        assert g.dtype == np.float32
        np.testing.assert_allclose(g, 2 * base, rtol=1e-6)
    np.testing.assert_allclose(loss.backward(upstream=3.0), 3 * base, rtol=1e-6)


def test_a_cache_put_there_by_hand_is_used_as_it_stands():
    # the exercises' tests give a library layer a skeleton's cache: backward runs on it as it stands
    layer = Sigmoid()
    layer.cache = np.array([0.5, 0.25])
    np.testing.assert_array_equal(layer.backward(np.array([1.0, 1.0])), [0.25, 0.1875])


def test_astype_drops_what_forward_left():
    layer = Linear(2, 3, rng=0)
    layer.forward(np.ones((4, 2)))
    assert layer.astype(np.float32).cache is None and layer.cache is not None


# ---------------------------------------------------------------- parameters, checked once, by name


@pytest.mark.parametrize("make,owner,param,shown", [
    (lambda: Linear(0, 3), "Linear", "in_features", ["0"]),
    (lambda: Linear(3, -1), "Linear", "out_features", ["-1"]),
    (lambda: Linear(1e400, 3), "Linear", "in_features", ["inf"]),
    (lambda: Linear(True, 3), "Linear", "in_features", ["True"]),
    (lambda: Linear(2.5, 3), "Linear", "in_features", ["2.5"]),
    (lambda: Linear(3, "4"), "Linear", "out_features", ["'4'"]),
    (lambda: Dropout(1.5), "Dropout", "p", ["[0, 1)", "1.5"]),
    (lambda: Dropout(np.float64(-0.1)), "Dropout", "p", ["[0, 1)", "-0.1"]),
    (lambda: Dropout("half"), "Dropout", "p", ["'half'"]),
    (lambda: Dropout(np.nan), "Dropout", "p", ["nan"]),
    (lambda: LeakyReLU(1), "LeakyReLU", "alpha", ["(0, 1)", "1.0"]),
    (lambda: LeakyReLU(True), "LeakyReLU", "alpha", ["the boolean True"]),
    (lambda: BatchNorm(2.0), "BatchNorm", "num_features", ["2.0"]),
    (lambda: BatchNorm(3, momentum=1.5), "BatchNorm", "momentum", ["[0, 1]", "1.5"]),
    (lambda: BatchNorm(3, eps=0), "BatchNorm", "eps", ["(0, inf)", "0.0"]),
    (lambda: Standardize(0), "Standardize", "num_features", ["0"]),
    (lambda: ReLU().train("no"), "ReLU.train", "mode", ["'no'"]),
])
def test_each_constructor_refuses_its_own_arguments_naming_the_parameter(make, owner, param, shown):
    with pytest.raises(ParameterError) as caught:
        make()
    error = caught.value
    assert isinstance(error, ValueError) and (error.owner, error.param) == (owner, param)
    assert str(error).startswith(f"{owner}: {param} ") and all(s in error.reason for s in shown), str(error)


@pytest.mark.parametrize("value", [0, 1, 0.5, np.float32(0.25), np.int64(0)])
def test_arguments_inside_their_intervals_are_taken_as_python_floats(value):
    got = check_real(value, "p", "Test", within="[0, 1]")
    assert type(got) is float and got == float(value)
    assert check_count(np.int64(3), "n", "Test") == 3 and type(check_count(np.int64(3), "n", "Test")) is int


@pytest.mark.parametrize("least", [0, 1, 2])
@pytest.mark.parametrize("value", [False, True, 2.0, "2", None, "less"])
def test_an_integer_is_no_bool_no_float_and_no_less_than_its_least(least, value):
    value = least - 1 if value == "less" else value
    with pytest.raises(ParameterError, match=rf"n must be an integer >= {least}, got {value!r}"):
        check_integer(value, "n", "Test", least)
    assert check_integer(np.int64(least), "n", "Test", least) == least


@pytest.mark.parametrize("within,inside,outside", [
    ("[0, 1)", [0, 0.999], [1, -1e-9]), ("(0, 1)", [1e-9, 0.5], [0, 1]), ("[0, 1]", [0, 1], [1.0001]),
    ("(0, inf)", [1e-300, 1e300], [0, -1]),
])
def test_intervals_are_read_with_their_open_and_closed_ends(within, inside, outside):
    for v in inside:
        assert check_real(v, "v", "Test", within=within) == v
    for v in outside:
        with pytest.raises(ParameterError) as caught:
            check_real(v, "v", "Test", within=within)
        assert within in caught.value.reason and repr(float(v)) in caught.value.reason
