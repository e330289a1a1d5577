"""Steering a run: learning-rate schedules, stopping from a callback, and interruption keeping the best."""

import numpy as np
import pytest

from data import make_circles, make_moons
from layers import Sigmoid
from layers.validation import ParameterError
from model import Architecture, TwoLayerNet
from model.inputs import check_Xy
from model.optim import SGD
from model.parameters import gather
from model.training import TrainingInterrupted, train


@pytest.mark.parametrize("engine", ["auto", "layers"])
def test_invscaling_follows_scikit_learns_formula_on_both_paths(engine):
    X, y = make_circles(100, seed=0)
    h = train(TwoLayerNet(seed=0), X, y, epochs=4, lr=0.5, lr_schedule="invscaling", power_t=0.5, seed=0,
              engine=engine)
    assert h.engine == ("engine" if engine == "auto" else "layers")
    expected = [0.5] + [0.5 / (100 * e + 1) ** 0.5 for e in (1, 2, 3)]
    np.testing.assert_allclose(h.lr, expected, rtol=1e-15)


def test_both_paths_take_the_same_steps_under_a_schedule():
    X, y = make_moons(120, seed=1)
    nets = {engine: TwoLayerNet(seed=3, hidden_dim=8, hidden_bias=True) for engine in ("auto", "layers")}
    for engine, net in nets.items():
        train(net, X, y, epochs=5, lr=0.8, lr_schedule="invscaling", power_t=0.25, seed=2, engine=engine)
    np.testing.assert_allclose(gather(nets["auto"].params), gather(nets["layers"].params), rtol=1e-11, atol=1e-13)


def test_adaptive_divides_the_rate_by_five_after_a_plateau():
    X, y = make_circles(100, seed=0)
    # tol larger than any loss: every epoch after the first counts as no improvement; the rate drops once
    # more than n_iter_no_change = 1 of them are in a row (scikit-learn's rule), then the count restarts
    h = train(TwoLayerNet(seed=0), X, y, epochs=6, lr=1.0, lr_schedule="adaptive", tol=1e9, n_iter_no_change=1,
              seed=0)
    np.testing.assert_allclose(h.lr, [1.0, 1.0, 1.0, 0.2, 0.2, 0.04])


@pytest.mark.parametrize("settings,param", [({"lr_schedule": "cosine"}, "lr_schedule"),
                                            ({"lr_schedule": "invscaling", "power_t": -1}, "power_t"),
                                            ({"lr_schedule": "adaptive", "n_iter_no_change": 0}, "n_iter_no_change"),
                                            ({"lr_schedule": "adaptive", "optimizer": "lbfgs"}, "lr_schedule")])
def test_bad_schedules_name_their_setting(settings, param):
    X, y = make_circles(20, seed=0)
    with pytest.raises(ParameterError) as info:
        train(TwoLayerNet(seed=0), X, y, **settings)
    assert info.value.param == param


def test_a_callback_returning_true_stops_and_keeps_that_epochs_weights():
    X, y = make_circles(100, seed=0)
    stopped, reference = TwoLayerNet(seed=0), TwoLayerNet(seed=0)
    h = train(stopped, X, y, epochs=50, seed=0, on_epoch=lambda epoch, _history: epoch == 3)
    train(reference, X, y, epochs=3, seed=0)
    assert h.epoch == [1, 2, 3] and h.stopped_early and not h.restored_best
    np.testing.assert_array_equal(gather(stopped.params), gather(reference.params))


def interrupt_at(epoch_to_stop):
    def on_epoch(epoch, history):
        if epoch == epoch_to_stop:
            raise KeyboardInterrupt

    return on_epoch


@pytest.mark.parametrize("engine", ["auto", "layers"])
def test_an_interrupted_run_keeps_the_best_weights_and_its_history(engine):
    X, y = make_moons(300, noise=0.4, seed=0)
    net = TwoLayerNet(seed=0, hidden_dim=32, hidden_bias=True)
    with pytest.raises(TrainingInterrupted) as info:
        train(net, X[:60], y[:60], X[60:], y[60:], optimizer="adam", lr=0.05, epochs=400, seed=0, engine=engine,
              on_epoch=interrupt_at(40))
    h = info.value.history
    assert h.interrupted and len(h.epoch) == 40 and h.restored_best
    assert net.evaluate(X[60:], y[60:])["loss"] == pytest.approx(min(h.val_loss), rel=1e-12)
    assert h.final["epoch"] == h.best_epoch == int(np.argmin(h.val_loss)) + 1
    assert f"epoch {h.best_epoch}" in str(info.value)


def test_an_interrupted_run_without_validation_keeps_the_last_complete_epoch():
    X, y = make_circles(100, seed=0)
    net, reference = TwoLayerNet(seed=0), TwoLayerNet(seed=0)
    with pytest.raises(TrainingInterrupted) as info:
        train(net, X, y, epochs=50, seed=0, on_epoch=interrupt_at(5))
    train(reference, X, y, epochs=5, seed=0)
    assert info.value.history.final["epoch"] == 5
    np.testing.assert_array_equal(gather(net.params), gather(reference.params))


def test_an_interruption_is_still_a_keyboard_interrupt():
    X, y = make_circles(50, seed=0)
    with pytest.raises(KeyboardInterrupt):
        train(TwoLayerNet(seed=0), X, y, epochs=5, seed=0, on_epoch=interrupt_at(1))


def test_validation_data_needs_both_halves_and_an_empty_split_means_none():
    X, y = make_circles(40, seed=0)
    with pytest.raises(ValueError, match="needs both X_val and y_val, got only X_val"):
        train(TwoLayerNet(seed=0), X, y, X[:5], None, epochs=1)
    h = train(TwoLayerNet(seed=0), X, y, X[:0], y[:0], epochs=1)
    assert np.isnan(h.val_loss[-1])


@pytest.mark.parametrize("engine", ["auto", "layers"])
def test_shuffle_false_keeps_the_samples_in_their_order(engine):
    X, y = make_circles(96, seed=0)
    net, reference = TwoLayerNet(seed=0), TwoLayerNet(seed=0)
    train(net, X, y, epochs=2, batch_size=32, seed=0, shuffle=False, engine=engine)
    train(reference, X, y, epochs=2, batch_size=96 * 10, seed=0, engine="layers")  # one batch: unshuffled
    assert not np.array_equal(gather(net.params), gather(reference.params))  # three steps per epoch, not one
    by_hand = TwoLayerNet(seed=0)
    by_hand.standardizer.fit(X)
    _, body = by_hand.split_preprocessing()
    Xs, ys = check_Xy(by_hand, by_hand.standardizer.forward(X), y)
    opt = SGD(body.params, body.grads, lr=1.0)
    for _ in range(2):
        for i in range(0, 96, 32):
            body.criterion.forward(body.forward(Xs[i:i + 32]), ys[i:i + 32])
            body.backward()
            opt.step()
    np.testing.assert_allclose(gather(net.params), gather(by_hand.params), rtol=1e-11, atol=1e-13)


def test_the_regressor_shares_the_classifiers_hidden_layers_and_learns_a_smooth_function():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((300, 3))
    Y = np.c_[np.sin(X[:, 0]) + X[:, 1], X[:, 2] ** 2]
    arch = Architecture(hidden=(32,), activation="tanh", hidden_bias=True)
    net = arch.build_regressor(3, outputs=2, seed=0)
    assert net.target == "values" and net.output_dim == 2
    assert [type(layer).__name__ for layer in net.layers] == ["Standardize", "Linear", "Tanh", "Linear"]
    h = train(net, X, Y, optimizer="adam", lr=0.01, epochs=150, seed=0)
    assert h.final["train_loss"] < 0.1 * float(np.var(Y, axis=0).mean())
    with pytest.raises(ParameterError, match="fused"):
        Architecture(fused=True).build_regressor(3)


def test_an_edited_library_layer_changes_what_train_learns_the_engine_never_hides_it(monkeypatch):
    """Break ``layers.Sigmoid.backward`` as a learner might to see what happens: ``train()`` notices that the
    engine's gradient differs from the layer objects', trains on the layers, and says so."""
    X, y = make_circles(200, seed=0)
    reference = TwoLayerNet(seed=0)
    h_ok = train(reference, X, y, epochs=20, seed=0)
    assert h_ok.engine == "engine" and h_ok.engine_note == ""

    real = Sigmoid.backward
    monkeypatch.setattr(Sigmoid, "backward", lambda self, upstream: 0.5 * real(self, upstream))
    edited = TwoLayerNet(seed=0)
    h = train(edited, X, y, epochs=20, seed=0)
    assert h.engine == "layers"
    assert "gradient for b differs from the layer objects'" in h.engine_note
    assert "one of Linear, Sigmoid, BCELoss computes another gradient" in h.engine_note
    assert not np.allclose(gather(edited.params), gather(reference.params))
