"""The reference layers' smaller promises, each found unpinned by mutation testing (docs/mutation.md).

float32 stays float32 through every layer and loss, forward and backward; a refused argument names its
owner and parameter (``ParameterError.owner`` / ``.param``, what a command line maps to its flag); the
initial weights are He's; the clip of ``BCELoss`` applies at either end; ``Standardize`` treats a
constant column as constant even where rounding leaves it a tiny spread; softmax works over the last axis
of any array; ``train()`` with no argument means training mode.
"""

import re

import numpy as np
import pytest

from layers import (Add, BatchNorm, BCELoss, Copy, CrossEntropyLoss, Dropout, LeakyReLU, Linear, MSELoss, ReLU, Sigmoid,
                    SigmoidBCELoss, Softmax, SoftmaxCrossEntropyLoss, Tanh, log_softmax, softmax)
from layers.standardize import Standardize
from layers.validation import ParameterError

F32 = np.float32


def rows(rng, shape=(6, 4)):
    return rng.normal(size=shape).astype(F32)


# ------------------------------------------------------------------ float32 stays float32


@pytest.mark.parametrize("make", [
    lambda: Linear(4, 3, dtype=F32), lambda: Linear(4, 3, bias=False, dtype=F32), ReLU, lambda: LeakyReLU(0.1),
    Sigmoid, Tanh, Softmax, lambda: Dropout(0.5, rng=0), lambda: BatchNorm(4, dtype=F32),
    lambda: Standardize(4, dtype=F32).set(np.arange(4.0), np.arange(1.0, 5.0)),
], ids=["Linear", "Linear-no-bias", "ReLU", "LeakyReLU", "Sigmoid", "Tanh", "Softmax", "Dropout", "BatchNorm",
        "Standardize"])
def test_a_float32_layer_keeps_float32_forward_and_backward(rng, make):
    layer = make()
    for array in [*layer.params.values(), *getattr(layer, "buffers", {}).values()]:
        assert array.dtype == F32
    out = layer.forward(rows(rng))
    assert out.dtype == F32
    dx = layer.backward(rows(rng, out.shape))
    assert dx.dtype == F32
    for grad in layer.grads.values():
        assert grad.dtype == F32


LOSSES = {  # name: (loss class, input from a generator, targets, whether it takes class weights)
    "BCE": (BCELoss, lambda r: 1 / (1 + np.exp(-r.normal(size=(6, 1)))), "binary"),
    "SigmoidBCE": (SigmoidBCELoss, lambda r: r.normal(size=(6, 1)), "binary"),
    "CrossEntropy": (CrossEntropyLoss, lambda r: softmax(r.normal(size=(6, 3))), "classes"),
    "SoftmaxCrossEntropy": (SoftmaxCrossEntropyLoss, lambda r: r.normal(size=(6, 3)), "classes"),
    "MSE": (MSELoss, lambda r: r.normal(size=(6, 2)), "values"),
}
WEIGHTS = {"binary": [1.0, 3.0], "classes": [1.0, 3.0, 0.5]}


@pytest.mark.parametrize("name, weighted", [(name, False) for name in LOSSES] +
                         [(name, True) for name, (_, _, target) in LOSSES.items() if target in WEIGHTS])
def test_a_float32_loss_gives_a_float32_gradient(rng, name, weighted):
    loss, make_input, target = LOSSES[name]
    x = make_input(rng).astype(F32)
    y = {"binary": rng.integers(0, 2, (6, 1)), "classes": rng.integers(0, 3, 6),
         "values": rng.normal(size=(6, 2))}[target]  # float64 targets must not promote the gradient
    criterion = loss(class_weight=WEIGHTS[target]) if weighted else loss()
    assert np.isfinite(criterion.forward(x, y))
    assert criterion.backward().dtype == F32


# ------------------------------------------------------------------ refusals name their owner and parameter


@pytest.mark.parametrize("make, owner, param", [
    (lambda: Linear(0, 3), "Linear", "in_features"),
    (lambda: Linear(3, 0), "Linear", "out_features"),
    (lambda: LeakyReLU(1.5), "LeakyReLU", "alpha"),
    (lambda: Dropout(1.0), "Dropout", "p"),
    (lambda: BatchNorm(0), "BatchNorm", "num_features"),
    (lambda: BatchNorm(3, momentum=1.5), "BatchNorm", "momentum"),
    (lambda: BatchNorm(3, eps=0.0), "BatchNorm", "eps"),
    (lambda: Standardize(0), "Standardize", "num_features"),
    (lambda: BCELoss(class_weight=[1.0, -1.0]), "BCELoss", "class_weight"),
    (lambda: SoftmaxCrossEntropyLoss(class_weight=[1.0]), "SoftmaxCrossEntropyLoss", "class_weight"),
    (lambda: ReLU().train("yes"), "ReLU.train", "mode"),
])
def test_a_refused_argument_names_its_owner_and_parameter(make, owner, param):
    with pytest.raises(ParameterError) as info:
        make()
    assert (info.value.owner, info.value.param) == (owner, param)
    assert str(info.value).startswith(f"{owner}: {param} ")


WORDS = np.array([["a", "b"]])  # not numbers


@pytest.mark.parametrize("call, words", [
    (lambda: Softmax().forward(np.ones(3)), ["Softmax", "x"]),
    (lambda: Softmax().forward(WORDS), ["x", "numeric"]),
    (lambda: Copy().forward(WORDS), ["x", "numeric"]),
    (lambda: Add().forward(WORDS, np.ones(2)), ["a", "numeric"]),
    (lambda: Add().forward(np.ones(2), WORDS), ["b", "numeric"]),
    (lambda: Add().forward(np.ones(2), np.ones(3)), ["a", "b", "(2,)", "(3,)"]),
    (lambda: CrossEntropyLoss().forward(np.ones(3), np.zeros(3, int)), ["CrossEntropyLoss", "p", "(3,)"]),
    (lambda: CrossEntropyLoss().forward(WORDS, np.zeros(1, int)), ["p", "numeric"]),
    (lambda: CrossEntropyLoss().forward(np.full((2, 2), 2.0), np.zeros(2, int)),
     ["CrossEntropyLoss", "p", "2.0", "(0, 0)", "SoftmaxCrossEntropyLoss"]),
    (lambda: BCELoss().forward(np.full((3, 1), 0.5), np.zeros((2, 1))), ["p", "y", "(3, 1)", "(2, 1)"]),
    (lambda: BCELoss().forward(np.zeros((0, 1)), np.zeros((0, 1))), ["BCELoss", "empty"]),
    (lambda: SigmoidBCELoss().forward(np.zeros((3, 1)), np.zeros((2, 1))), ["z", "y"]),
    (lambda: SigmoidBCELoss().forward(np.array([[np.nan], [0.0]]), np.ones((2, 1))), ["z", "finite", "(0, 0)"]),
    (lambda: SigmoidBCELoss().forward(np.zeros((0, 1)), np.zeros((0, 1))), ["SigmoidBCELoss", "empty"]),
    (lambda: MSELoss().forward(np.ones((2, 1)), np.ones((3, 1))), ["pred", "target"]),
    (lambda: MSELoss().forward(np.ones((2, 1)), np.array([["a"], ["b"]])), ["target", "numeric"]),
    (lambda: MSELoss().forward(np.zeros((0, 1)), np.zeros((0, 1))), ["MSELoss", "empty"]),
    (lambda: SoftmaxCrossEntropyLoss().forward(np.ones(3), np.zeros(3, int)), ["SoftmaxCrossEntropyLoss", "z"]),
    (lambda: SoftmaxCrossEntropyLoss().forward(WORDS, np.zeros(1, int)), ["z", "numeric"]),
    (lambda: SoftmaxCrossEntropyLoss().forward(np.array([[np.inf, 0.0]]), np.zeros(1, int)), ["z", "finite"]),
    (lambda: Dropout(0.5).forward(WORDS), ["x", "numeric"]),
    (lambda: BatchNorm(2).forward(WORDS), ["x", "numeric"]),
    (lambda: Dropout(1.0), ["Dropout", "p", "drop probability"]),
    (lambda: BCELoss().forward(np.array([[0.5], [1.5]]), np.ones((2, 1))),
     ["BCELoss", "p", "1.5", "(1, 0)", "SigmoidBCELoss"]),
    (lambda: BCELoss().forward(np.array([[np.nan]]), np.ones((1, 1))), ["p", "finite"]),
    (lambda: CrossEntropyLoss().forward(np.array([[0.0, 1.5]]), np.zeros(1, int)), ["(0, 1)", "1.5"]),
    (lambda: CrossEntropyLoss().forward(np.array([[1.0, -0.5]]), np.zeros(1, int)), ["(0, 1)", "-0.5"]),
])
def test_a_refused_input_names_its_layer_and_argument(call, words):
    with pytest.raises(ValueError) as info:
        call()
    for word in words:
        assert re.search(rf"(?<![\w]){re.escape(word)}(?![\w])", str(info.value)), (word, str(info.value))


def test_a_layers_config_and_repr_say_what_it_holds():
    assert BCELoss(class_weight=[1, 2]).config() == {"class_weight": [1.0, 2.0]} and BCELoss().config() == {}
    assert repr(Linear(2, 3)) == "Linear(W=(2, 3), b=(3,))"


def test_standardize_sums_float32_data_in_float64():
    X = (np.random.default_rng(0).normal(size=(100_000, 1)) * 0.01 + 1000.1).astype(F32)
    assert Standardize(1).fit(X).mean[0] == pytest.approx(X.astype(np.float64).mean(), rel=1e-12)


def test_labels_given_as_floats_index_as_integers():
    z, weighted = np.eye(2), SoftmaxCrossEntropyLoss(class_weight=[1.0, 2.0])
    assert weighted.forward(z, np.array([0.0, 1.0])) == weighted.forward(z, np.array([0, 1]))
    assert CrossEntropyLoss().forward(np.full((2, 2), 0.5), np.array([0.0, 1.0])) == pytest.approx(np.log(2))


def test_class_weights_of_zero_are_taken_but_not_a_batch_weighing_nothing():
    loss = SoftmaxCrossEntropyLoss(class_weight=[0.0, 1.0])
    assert loss.forward(np.zeros((2, 2)), np.array([0, 1])) == pytest.approx(np.log(2))
    with pytest.raises(ValueError, match="sum to 0"):
        loss.forward(np.zeros((2, 2)), np.array([0, 0]))
    small = SoftmaxCrossEntropyLoss(class_weight=[0.25, 0.5])  # weights summing below 1 are fine
    assert small.forward(np.zeros((1, 2)), np.array([0])) == pytest.approx(np.log(2))


# ------------------------------------------------------------------ initial weights, dropout, modes


def test_linear_starts_he_initialised():
    W = Linear(400, 300, rng=0).params["W"]
    assert abs(W.mean()) < 0.01 * np.sqrt(2 / 400) * 10
    assert W.std() == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    np.testing.assert_array_equal(Linear(400, 300, rng=0).params["b"], 0.0)


def test_dropout_defaults_and_identity():
    assert Dropout().p == 0.5
    x = np.arange(1.0, 7.0).reshape(2, 3)
    assert Dropout(0.0).forward(x) is x  # p = 0 in training mode: the identity
    kept = Dropout(0.5, rng=0).forward(np.ones((200, 50)))
    assert set(np.unique(kept)) == {0.0, 2.0} and abs((kept > 0).mean() - 0.5) < 0.02


def test_train_with_no_argument_means_training_mode():
    layer = Dropout(0.5)
    layer.train(False)
    assert layer.training is False
    layer.train()
    assert layer.training is True


# ------------------------------------------------------------------ Standardize


def test_standardize_is_fitted_only_once_given_statistics():
    layer = Standardize(2)
    assert layer.fitted is False
    assert layer.set([0.0, 0.0], [1.0, 1.0]).fitted is True


def test_standardize_fits_one_row_and_a_constant_column_with_rounding_spread():
    layer = Standardize(2).fit(np.array([[3.0, -1.0]]))
    np.testing.assert_array_equal(layer.mean, [3.0, -1.0])
    np.testing.assert_array_equal(layer.scale, [1.0, 1.0])
    constant = np.full((7, 1), 1e10 / 3)  # its float64 mean differs from the value: the spread is 5e-7, not 0
    assert Standardize(1).fit(constant).scale[0] == 1.0


def test_standardize_set_applies_what_it_was_given():
    x = np.arange(6.0).reshape(3, 2)
    np.testing.assert_allclose(Standardize(2).set([1.0, 2.0], [1.0, 1.0]).forward(x), x - [1.0, 2.0])
    np.testing.assert_allclose(Standardize(2).set([0.0, 0.0], [2.0, 2.0]).forward(x), x / 2)
    for mean, scale in [([0.0, 0.0], [1.0, 1.0, 1.0]), ([0.0, 0.0, 0.0], [1.0, 1.0])]:
        with pytest.raises(ValueError, match=r"mean and scale must have shape \(2,\)"):
            Standardize(2).set(mean, scale)


# ------------------------------------------------------------------ softmax over the last axis, any shape


def test_softmax_and_log_softmax_work_over_the_last_axis_of_any_array(rng):
    z = rng.normal(size=(2, 3, 4))
    p = softmax(z)
    np.testing.assert_allclose(p.sum(axis=-1), 1.0)
    np.testing.assert_allclose(p, np.exp(z) / np.exp(z).sum(axis=-1, keepdims=True))
    np.testing.assert_allclose(log_softmax(z), np.log(p))


# ------------------------------------------------------------------ BCELoss's clip at either end


@pytest.mark.parametrize("p, y", [([0.0, 0.5], [1, 1]), ([1.0, 0.5], [0, 1])], ids=["p=0,y=1", "p=1,y=0"])
def test_bce_clips_a_certain_wrong_probability_at_either_end(p, y):
    eps = np.finfo(np.float64).eps
    loss = BCELoss().forward(np.array(p).reshape(-1, 1), np.array(y).reshape(-1, 1))
    assert loss == pytest.approx((-np.log(eps) - np.log(0.5)) / 2)
