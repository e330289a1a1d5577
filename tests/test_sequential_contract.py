"""What ``Sequential`` accepts, refuses, checks once and describes: written from the survivors of mutation
testing (docs/mutation.md), each a behaviour no test pinned."""

import copy

import numpy as np
import pytest

from layers import Linear, MSELoss, ReLU, Sigmoid, SoftmaxCrossEntropyLoss
from layers.standardize import Standardize
from layers.protocol import LayerError
from model import Sequential

from .test_protocol import LearnerLinear


class Same:
    """A learner's parameterless layer: no ``params``, ``grads`` or ``buffers`` attributes at all."""

    def forward(self, x):
        return x

    def backward(self, upstream):
        return upstream


class Switchable(Same):
    """Keeps to the protocol until ``broken`` is set: then its backward drops a row, its forward gives NaN."""

    broken = False

    def forward(self, x):
        return np.full(np.shape(x), np.nan) if self.broken == "forward" else x

    def backward(self, upstream):
        return upstream[1:] if self.broken == "backward" else upstream


def one_pass(net, rows, width=2):
    net.loss(np.ones((rows, width)), np.ones(rows))
    return net.backward()


# ---------------------------------------------------------------- construction


def test_a_bad_weight_decay_is_refused_naming_the_setting_and_the_class():
    with pytest.raises(ValueError) as info:
        Sequential([Linear(2, 1)], MSELoss(), weight_decay=-1)
    assert all(s in str(info.value) for s in ("weight_decay", "Sequential")), str(info.value)


def test_two_classes_are_enough_for_a_classifier():
    assert Sequential([Linear(3, 2)], SoftmaxCrossEntropyLoss()).output_dim == 2


@pytest.mark.parametrize("where", ["layer", "loss"])
def test_a_layer_or_loss_without_backward_is_refused(where):
    class ForwardOnly:
        def forward(self, x, y=None):
            return x

    layers, loss = ([ForwardOnly()], MSELoss()) if where == "layer" else ([Linear(2, 1)], ForwardOnly())
    with pytest.raises(ValueError, match="forward/backward"):
        Sequential(layers, loss)


def test_a_learners_layers_and_loss_need_no_params_nor_target():
    class PlainLoss(Same):
        def forward(self, out, y):
            return 0.0

    net = Sequential([Linear(2, 3), Same()], PlainLoss())
    assert net.target is None and list(net.params) == ["0.W", "0.b"]
    assert net.astype(np.float32).dtype == np.float32
    assert Sequential([Same()], MSELoss()).dtype == np.float64


def test_a_float32_network_has_dtype_float32_and_mixed_dtypes_are_refused():
    assert Sequential([Linear(2, 3, dtype=np.float32)], MSELoss()).dtype == np.float32
    with pytest.raises(ValueError, match="float32.*float64"):
        Sequential([Linear(2, 3, dtype=np.float32), Linear(3, 1)], MSELoss())


def test_the_widths_of_a_learners_linear_are_read_off_its_weight_matrix():
    net = Sequential([LearnerLinear(2, 3), ReLU(), LearnerLinear(3, 1)], MSELoss())
    assert (net.input_dim, net.output_dim) == (2, 1)
    with pytest.raises(ValueError, match=r"layer 2 .* 4 input features.* layer 0 .* 3"):
        Sequential([LearnerLinear(2, 3), ReLU(), LearnerLinear(4, 1)], MSELoss())


def test_a_layer_declaring_only_its_input_width_is_held_to_it():
    class Needs3(Same):
        in_features = 3

    with pytest.raises(ValueError, match=r"layer 1 .* 3 input features"):
        Sequential([Linear(2, 4), Needs3()], MSELoss())


def test_a_width_that_is_not_an_integer_is_unknown():
    class Vague(Same):
        in_features = out_features = "wide"

    assert Sequential([Linear(2, 3), Vague(), Linear(3, 1)], MSELoss()).output_dim == 1


def test_widths_start_unknown_after_a_leading_activation_and_a_layer_that_says_none():
    class Gain(Same):
        """Parameters, and no declared widths: what comes out of it is unknown."""

        def __init__(self):
            self.params, self.grads = {"g": np.ones(1)}, {"g": np.zeros(1)}

    assert Sequential([ReLU(), Linear(2, 1)], MSELoss()).input_dim is None
    assert Sequential([Linear(2, 3), Gain(), Linear(5, 1)], MSELoss()).output_dim == 1


def test_a_deep_copy_owns_its_layers():
    net = copy.deepcopy(Sequential([Linear(2, 1)], MSELoss()))
    with pytest.raises(ValueError, match="already belongs"):
        Sequential(net.layers, MSELoss())


# ---------------------------------------------------------------- the protocol checked once per shape


def test_a_new_input_shape_is_held_to_the_protocol_again():
    layer = Switchable()
    net = Sequential([layer, Linear(2, 1)], MSELoss())
    one_pass(net, 4)
    layer.broken = "backward"
    with pytest.raises(LayerError, match=r"layer 0 \(Switchable\)"):
        one_pass(net, 3)


def test_a_layer_swapped_in_is_held_to_the_protocol_on_a_shape_already_seen():
    net = Sequential([Switchable(), Linear(2, 1)], MSELoss())
    one_pass(net, 4)
    net.layers[0] = Switchable()
    net.layers[0].broken = "backward"
    with pytest.raises(LayerError, match=r"layer 0 \(Switchable\)"):
        one_pass(net, 4)


def test_nan_from_a_layer_after_a_checked_pass_is_divergence_not_a_refusal():
    layer = Switchable()
    net = Sequential([Linear(2, 2), layer], MSELoss())
    net.loss(np.ones((4, 2)), np.ones((4, 2)))
    net.backward()
    layer.broken = "forward"
    assert np.isnan(net.forward(np.ones((4, 2)))).all()


# ---------------------------------------------------------------- preprocessing, describing


def test_split_preprocessing_takes_every_leading_preprocessing_layer_and_leaves_no_loss_pending():
    net = Sequential([Standardize(2), Standardize(2), Linear(2, 1)], MSELoss())
    pre, body = net.split_preprocessing()
    assert len(pre) == 2 and len(body.layers) == 1
    with pytest.raises(RuntimeError, match="before loss"):
        body.backward()
    pre, body = Sequential([Standardize(2)], MSELoss()).split_preprocessing()
    assert len(pre) == 1 and body.layers == []


def test_describe_names_the_widths_the_activations_the_decay_and_the_loss():
    net = Sequential([Standardize(2), Linear(2, 3), ReLU(), Linear(3, 3), ReLU(), Linear(3, 1)], MSELoss(),
                     weight_decay=0.5)
    assert net.describe() == "2-3-3-1 ReLU, weight decay 0.5, MSELoss"
    assert Sequential([Linear(2, 1)], MSELoss()).describe() == "2-1 linear, MSELoss"
    mixed = Sequential([Linear(2, 3), ReLU(), Linear(3, 3), Sigmoid(), Same(), ReLU(), Linear(3, 1)], MSELoss())
    assert mixed.describe() == "2-3-3-1 ReLU/Sigmoid/Same, MSELoss"


def test_repr_lists_every_layer_by_index_and_the_loss():
    text = repr(Sequential([Linear(2, 3), ReLU(), Linear(3, 1)], MSELoss(), weight_decay=0.25))
    assert text.startswith("Sequential(\n")
    assert all(s in text for s in ("(0) Linear", "(1) ReLU", "(2) Linear", "loss=MSELoss", "weight_decay=0.25"))
    assert text.count(",\n") == 3, text


class PlainBCE:
    """A learner's BCE loss: its ``forward`` takes ``(p, y)`` and nothing else (no ``check_input``)."""

    target = "binary"

    def forward(self, p, y):
        self.cache = (p, y)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))

    def backward(self, upstream=1.0):
        p, y = self.cache
        return upstream * (p - y) / (p * (1 - p)) / p.size


def test_a_loss_swapped_in_after_passes_is_asked_afresh_whether_its_layer_feeds_it():
    from layers import BCELoss

    X, y = np.array([[1.0, 2.0], [-1.0, 0.5]]), np.array([1, 0])
    net = Sequential([Linear(2, 1, rng=0), Sigmoid()], BCELoss())
    for _ in range(2):
        net.loss(X, y)
        net.backward()  # the shape kept to the protocol: the library's loss is now told its input is checked
    net.criterion = PlainBCE()  # a learner's loss knows no check_input: it must be called without it
    assert np.isfinite(net.loss(X, y))
