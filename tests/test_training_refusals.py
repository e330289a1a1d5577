"""What ``train`` refuses before any work, and what each refusal names: written from the survivors of mutation
testing of ``model/training.py`` (docs/mutation.md), each a behaviour no test pinned."""

import numpy as np
import pytest

from layers import BatchNorm, Dropout, Linear, MSELoss, ReLU
from layers.standardize import Standardize
from layers.validation import ParameterError
from model import Sequential, train
from model.training import MAX_EPOCHS, TrainingConfig, _apply_in_blocks


@pytest.mark.parametrize("settings,param,shown", [
    ({"optimizer": "rmsprop"}, "optimizer", "rmsprop"),
    ({"optimizer": "lbfgs", "lr": 0.125}, "lr", "0.125"),
    ({"lr": -1.5}, "lr", "-1.5"),
    ({"epochs": 0}, "epochs", "0"),
    ({"epochs": MAX_EPOCHS + 1}, "epochs", f"{MAX_EPOCHS + 1:,}"),
    ({"batch_size": 0}, "batch_size", "0"),
    ({"patience": 0}, "patience", "0"),
    ({"engine": "gpu"}, "engine", "gpu"),
    ({"optimizer": "lbfgs", "lr_schedule": "invscaling"}, "lr_schedule", "lbfgs"),
    ({"power_t": -1.0, "lr_schedule": "invscaling"}, "power_t", "-1"),
    ({"tol": -1.0, "lr_schedule": "adaptive"}, "tol", "-1"),
    ({"n_iter_no_change": 0, "lr_schedule": "adaptive"}, "n_iter_no_change", "0"),
])
def test_each_bad_setting_is_refused_by_train_naming_it_and_what_came(settings, param, shown):
    with pytest.raises(ParameterError) as info:
        TrainingConfig(**settings)
    assert (info.value.owner, info.value.param) == ("train", param)
    assert param in str(info.value) and shown in str(info.value.reason), str(info.value)


def test_the_most_epochs_are_allowed():
    assert TrainingConfig(epochs=MAX_EPOCHS).epochs == MAX_EPOCHS


def batchnorm_net():
    return Sequential([Linear(2, 3, rng=0), BatchNorm(3), ReLU(), Linear(3, 1, rng=0)], MSELoss())


@pytest.mark.parametrize("n,batch_size,left", [(9, 4, 1), (5, 1, 1)])
def test_a_batch_too_small_for_batchnorm_is_refused_naming_its_size_and_the_layer(rng, n, batch_size, left):
    with pytest.raises(ParameterError) as info:
        train(batchnorm_net(), rng.standard_normal((n, 2)), rng.standard_normal(n), epochs=1, batch_size=batch_size)
    message = str(info.value)
    assert info.value.param == "batch_size", message
    assert all(s in message for s in (f"{left} of {n}", "BatchNorm", "2")), message


@pytest.mark.parametrize("n,batch_size", [(8, 4), (8, 2), (9, 7)])
def test_batches_of_two_rows_or_more_are_enough_for_batchnorm(rng, n, batch_size):
    history = train(batchnorm_net(), rng.standard_normal((n, 2)), rng.standard_normal(n), epochs=1,
                    batch_size=batch_size, seed=0, lr=0.01)
    assert history.steps == -(-n // batch_size)


def test_lbfgs_through_dropout_is_refused_naming_the_optimizer_and_the_layer(rng):
    net = Sequential([Linear(2, 3, rng=0), Dropout(0.5, rng=0), Linear(3, 1, rng=0)], MSELoss())
    with pytest.raises(ParameterError) as info:
        train(net, rng.standard_normal((8, 2)), rng.standard_normal(8), optimizer="lbfgs", epochs=1)
    assert info.value.param == "optimizer" and "Dropout" in str(info.value), str(info.value)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_preprocessing_applied_in_blocks_equals_one_pass(rng, dtype):
    layer = Standardize(3, dtype=dtype)
    X = (rng.standard_normal((10, 3)) * 5 + 2).astype(dtype)
    layer.fit(X)
    for rows in (3, 5, 10, 11):
        out = _apply_in_blocks(layer, X, rows=rows)
        np.testing.assert_allclose(out, layer.forward(X))
        assert out.shape == X.shape and out.dtype == X.dtype and not np.shares_memory(out, X)


def small_net():
    return Sequential([Linear(2, 3, rng=0), ReLU(), Linear(3, 1, rng=0)], MSELoss())


def test_a_bad_chunk_rows_and_patience_without_validation_are_trains_refusals(rng):
    X, y = rng.standard_normal((8, 2)), rng.standard_normal(8)
    with pytest.raises(ParameterError) as info:
        train(small_net(), X, y, chunk_rows=0)
    assert (info.value.owner, info.value.param) == ("train", "chunk_rows")
    with pytest.raises(ParameterError) as info:
        train(small_net(), X, y, patience=2)
    assert (info.value.owner, info.value.param) == ("train", "patience")


@pytest.mark.parametrize("given", ["X_val", "y_val"])
def test_half_a_validation_set_is_refused_naming_the_half_given(rng, given):
    X, y = rng.standard_normal((8, 2)), rng.standard_normal(8)
    halves = {"X_val": X[:2]} if given == "X_val" else {"y_val": y[:2]}
    with pytest.raises(ValueError, match=f"only {given}"):
        train(small_net(), X, y, epochs=1, **halves)


def test_a_validation_set_of_one_row_is_watched(rng):
    X, y = rng.standard_normal((8, 2)), rng.standard_normal(8)
    history = train(small_net(), X, y, X_val=X[:1], y_val=y[:1], epochs=2, lr=0.01, seed=0)
    assert not np.isnan(history.val_loss).any() and not np.isnan(history.final["val_loss"])


def test_a_run_stopped_by_its_callback_without_patience_keeps_its_last_weights(rng):
    X, y = rng.standard_normal((8, 2)), rng.standard_normal(8)
    history = train(small_net(), X, y, X_val=X[:4], y_val=y[:4], epochs=5, lr=0.01, seed=0,
                    on_epoch=lambda epoch, h: epoch == 2)
    assert history.stopped_early and not history.restored_best and history.final["epoch"] == 2
    assert 0 <= history.seconds < 3600


def test_lbfgs_records_full_metrics_one_step_per_iteration_and_stops_on_its_callback(rng):
    X, y = rng.standard_normal((16, 2)), rng.standard_normal(16)
    history = train(small_net(), X, y, optimizer="lbfgs", epochs=3)
    assert history.train_metrics == "full" and not history.stopped_early
    assert history.steps == len(history.epoch) and 1 <= len(history.epoch) <= 3
    history = train(small_net(), X, y, optimizer="lbfgs", epochs=50, on_epoch=lambda epoch, h: epoch == 2)
    assert history.stopped_early is True and history.epoch == [1, 2] and history.steps == 2


def test_lbfgs_stopped_by_its_callback_keeps_that_iterations_weights(rng):
    X, y = rng.standard_normal((16, 2)), rng.standard_normal(16)
    net, seen = small_net(), {}

    def on_epoch(epoch, history):
        seen.update({k: np.array(v) for k, v in net.params.items()})
        return epoch == 2

    train(net, X, y, optimizer="lbfgs", epochs=50, on_epoch=on_epoch)
    for key, value in seen.items():
        np.testing.assert_array_equal(net.params[key], value)


def test_a_regression_has_no_running_accuracy(rng):
    X, y = rng.standard_normal((8, 2)), rng.standard_normal(8)
    history = train(small_net(), X, y, epochs=2, lr=0.01, seed=0, engine="layers")
    assert history.train_acc == [None, None]
