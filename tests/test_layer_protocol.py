"""The protocol every layer shares: modes, config, buffers, the cache discipline and dtypes."""

import json

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
    mask, shape = layer.cache
    assert mask.dtype == np.float32 and shape == (5, 4)


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
