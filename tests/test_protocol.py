"""Inside a network, a learner's backward that breaks the protocol is named in one ``LayerError`` line, never in
NumPy's words; the check is made once per layer and shape."""

import numpy as np
import pytest

from data import make_circles
from layers import BCELoss, Linear, MSELoss, ReLU, Sigmoid, protocol
from model import Sequential, TrainingDiverged, TwoLayerNet, train
from layers.protocol import LayerError, backward_through


class LearnerLinear:
    """A CS231n-style Linear; ``mistake`` picks one of the classic slips."""

    mistake = None

    def __init__(self, in_features, out_features, bias=True, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {"W": rng.normal(0, np.sqrt(2 / in_features), (in_features, out_features))}
        if bias:
            self.params["b"] = np.zeros(out_features)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}

    def forward(self, x):
        self.x = x
        out = x @ self.params["W"]
        return out + self.params["b"] if "b" in self.params else out

    def backward(self, upstream):
        x, W, mistake = self.x, self.params["W"], self.mistake
        self.grads["W"] = upstream.T @ x if mistake == "transposed" else x.T @ upstream
        if mistake == "key":
            self.grads = {"w": self.grads.pop("W"), **self.grads}
        if "b" in self.params:
            self.grads["b"] = upstream.sum(axis=0)
        if mistake == "in place transposed":
            self.grads["W"][...] = upstream.T @ x
        return upstream @ W if mistake == "no .T" else upstream @ W.T


def net_with(mistake):
    cls = type("Linear", (LearnerLinear,), {"mistake": mistake})
    return TwoLayerNet(seed=0, hidden_dim=3, layer_types={"Linear": cls})


@pytest.mark.parametrize("mistake,fragments", [
    ("transposed", ["layer 3 (Linear).grads['W']", "(1, 3)", "(3, 1)", "transpose"]),
    ("key", ["layer 3 (Linear).grads", "['b', 'w']", "['W', 'b']"]),
    ("no .T", ["layer 3 (Linear).backward", "upstream @ W", "(8, 1)", "(3, 1)", "upstream @ W.T", "(8, 3)"]),
    ("in place transposed", ["layer 3 (Linear).backward", "(1, 3)", "(3, 1)", "transpose", "x.T @ upstream"]),
])
def test_each_classic_slip_is_one_line_naming_the_layer_the_shapes_and_the_fix(mistake, fragments):
    X, y = make_circles(8, seed=0)
    net = net_with(mistake)
    net.loss(X, y)
    with pytest.raises(LayerError) as info:
        net.backward()
    assert "\n" not in str(info.value) and all(f in str(info.value) for f in fragments), str(info.value)


class Halving:
    """Returns half the columns of its upstream: dℓ/dx of the wrong shape."""

    def forward(self, x):
        return x

    def backward(self, upstream):
        return upstream[:, :1]


def test_a_wrongly_shaped_input_gradient_is_named_with_the_shape_rule():
    net = Sequential([Linear(2, 3, rng=0), Halving(), Linear(3, 1, rng=1), Sigmoid()], BCELoss())
    X, y = make_circles(5, seed=0)
    net.loss(X, y)
    with pytest.raises(LayerError, match=r"layer 1 \(Halving\)\.backward .*\(5, 1\).*the input's shape \(5, 3\)"):
        net.backward()


def test_a_loss_whose_gradient_has_another_shape_than_the_output_is_named():
    class FlatLoss(BCELoss):
        def backward(self, upstream=1.0):
            return super().backward(upstream).ravel()

    net = Sequential([Linear(2, 1, rng=0), Sigmoid()], FlatLoss())
    net.loss(*make_circles(6, seed=0))
    with pytest.raises(LayerError, match=r"FlatLoss.*\(6,\).*\(6, 1\)"):
        net.backward()


def test_the_protocol_is_checked_once_per_shape_and_a_later_numpy_error_still_names_the_layer(monkeypatch):
    calls = []
    monkeypatch.setattr(protocol, "backward_through", lambda *a: calls.append(a[1]) or backward_through(*a))
    net = Sequential([Linear(2, 3, rng=0), ReLU(), Linear(3, 1, rng=1), Sigmoid()], BCELoss())
    X, y = make_circles(12, seed=0)
    for rows in (slice(0, 4), slice(4, 8), slice(8, 11)):  # two batches of 4, then one of 3
        net.loss(X[rows], y[rows])
        net.backward()
    assert calls == ["layer 3 (Sigmoid)", "layer 2 (Linear)", "layer 1 (ReLU)", "layer 0 (Linear)"] * 2
    net.layers[2].grads["W"] = np.ones((2, 2))  # now every backward of layer 2 fails inside NumPy
    net.loss(X[:4], y[:4])
    with pytest.raises(LayerError, match=r"layer 2 \(Linear\)\.backward.*\(3, 1\).*\(2, 2\)"):
        net.backward()


def test_a_network_refuses_complex_input_at_its_boundary():
    X, y = make_circles(5, seed=0)
    with pytest.raises(ValueError, match="complex128"):
        TwoLayerNet(seed=0).loss(X + 0j, y)


def test_training_with_a_slip_fails_in_one_line_too():
    X, y = make_circles(40, seed=0)
    with pytest.raises(LayerError, match="transpose"):
        train(net_with("transposed"), X, y, epochs=1)


def test_a_correct_learner_layer_passes_every_check():
    X, y = make_circles(40, seed=0)
    h = train(net_with(None), X, y, epochs=5)
    assert h.engine == "layers" and np.isfinite(h.final["train_loss"])


class OverflowingSigmoid:
    """A learner's Sigmoid whose backward divides by zero from its ``first_bad``-th call on (1: always)."""

    first_bad = 1

    def __init__(self):
        self.calls = 0

    def forward(self, x):
        self.y = 1 / (1 + np.exp(-x))
        return self.y

    def backward(self, upstream):
        self.calls += 1
        return upstream * self.y * (1 - self.y) / (0.0 if self.calls >= self.first_bad else 1.0)


class LateOverflowingSigmoid(OverflowingSigmoid):
    first_bad = 4


@pytest.mark.parametrize("batch_size", [8, None])
def test_a_backward_that_turns_finite_into_infinite_is_named_on_the_first_pass(batch_size):
    X, y = make_circles(40, seed=0)
    net = TwoLayerNet(seed=0, layer_types={"Sigmoid": OverflowingSigmoid})
    start = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(LayerError, match=r"layer 3 \(OverflowingSigmoid\)\.backward gave NaN or infinity from a finite "
                                         "upstream gradient"):  # one line; warnings are errors in this suite
        train(net, X, y, epochs=3, batch_size=batch_size)
    for key, value in start.items():
        np.testing.assert_array_equal(net.params[key], value)


def test_a_forward_that_turns_finite_into_nan_is_named_on_the_first_pass():
    class NanReLU(ReLU):
        def forward(self, x):
            return super().forward(x) * np.where(x > 1e9, 1.0, np.nan)

    X, y = make_circles(8, seed=0)
    net = TwoLayerNet(seed=0, layer_types={"ReLU": NanReLU})
    with pytest.raises(LayerError, match=r"layer 2 \(NanReLU\)\.forward gave NaN or infinity from a finite input"):
        net.loss(X, y)


@pytest.mark.parametrize("batch_size", [8, None])
def test_a_backward_that_overflows_later_is_divergence_in_one_message_not_a_spray_of_warnings(batch_size):
    X, y = make_circles(40, seed=0)
    net = TwoLayerNet(seed=0, layer_types={"Sigmoid": LateOverflowingSigmoid})
    with pytest.raises(TrainingDiverged, match="non-finite gradients"):  # warnings are errors in this suite
        train(net, X, y, epochs=10, batch_size=batch_size, check_layers=False)  # about training, not the check
    for value in net.params.values():
        assert np.isfinite(value).all()


def test_absurd_epochs_are_refused_by_name():
    X, y = make_circles(10, seed=0)
    with pytest.raises(ValueError, match="epochs must be at most 1,000,000"):
        train(TwoLayerNet(seed=0), X, y, epochs=10**20)


def test_the_network_and_the_checker_raise_the_one_error_type():
    from checking import checker

    assert checker.LayerError is LayerError and issubclass(LayerError, ValueError)
    assert LayerError("x")._render_traceback_() == ["LayerError: x"]  # one line in Jupyter


class ListReLU(ReLU):
    """A ReLU whose backward hands back a Python list: a gradient all the same, to the network and the checker."""

    def backward(self, upstream):
        return super().backward(upstream).tolist()


class NoReturnSigmoid(Sigmoid):
    """The slip of a backward that computes dℓ/dx and forgets to return it."""

    def backward(self, upstream):
        super().backward(upstream)


def handout_network(relu=None, sigmoid=None):
    rng = np.random.default_rng(0)
    return Sequential([Linear(2, 3, rng=rng), relu or ReLU(), Linear(3, 1, rng=rng), sigmoid or Sigmoid()], BCELoss())


def test_a_gradient_returned_as_a_list_trains_like_an_array_on_every_pass_and_checks_alike():
    from checking.checker import check_layer

    X, y = make_circles(32, seed=0)
    mine, reference = handout_network(relu=ListReLU()), handout_network()
    for _ in range(3):  # the first pass is held to the protocol, the later ones take the usual path
        for net in (mine, reference):
            net.loss(X, y)
            net.backward()
        for key in reference.grads:
            np.testing.assert_array_equal(mine.grads[key], reference.grads[key])
    assert check_layer(ListReLU(), X).passed


def test_a_backward_that_returns_nothing_is_said_in_the_checker_s_words_inside_a_network():
    from checking.checker import check_layer

    X, y = make_circles(8, seed=0)
    net = handout_network(sigmoid=NoReturnSigmoid())
    net.loss(X, y)
    with pytest.raises(LayerError, match=r"layer 3 \(NoReturnSigmoid\)\.backward returned None") as network:
        net.backward()
    with pytest.raises(LayerError, match=r"NoReturnSigmoid\.backward returned None") as checker:
        check_layer(NoReturnSigmoid(), X)
    assert "instead of a gradient" in str(network.value) and "instead of a gradient" in str(checker.value)


def test_a_layer_swapped_into_a_network_is_held_to_the_protocol_again():
    X, y = make_circles(8, seed=0)
    net = handout_network()
    net.loss(X, y)
    net.backward()  # this shape has now kept to the protocol
    net.layers[3] = NoReturnSigmoid()
    net.loss(X, y)
    with pytest.raises(LayerError, match=r"layer 3 \(NoReturnSigmoid\)"):
        net.backward()


def test_after_a_first_pass_non_finite_values_on_a_new_batch_shape_are_divergence_not_a_layer_s_fault():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((32, 2))
    net = Sequential([Linear(2, 3, rng=rng), ReLU(), Linear(3, 1, rng=rng)], MSELoss())
    net.loss(X, X[:, 0])
    net.backward()  # a fresh network's pass: every layer kept finite values finite
    for value in net.params.values():
        value[...] = 1e300  # what a diverging run does to the weights
    with np.errstate(over="ignore", invalid="ignore"):
        out = net.forward(X[:8])  # a shape not seen before, the ragged last batch of an epoch
    assert not np.isfinite(out).all()
