import json
import math

import numpy as np
import pytest

from model.experiment import fit, load_dataset
from data import DATASETS, Dataset, make_circles, make_moons
from model import TwoLayerNet
from model.builders import Architecture
from model.inputs import check_Xy
from model.parameters import gather
from model.training import TrainingConfig, TrainingDiverged, train

ARCH = set(Architecture.__dataclass_fields__)


def run_fit(data, seed=0, **kw):
    """``fit`` with architecture and schedule words mixed, as train.py's options are."""
    arch = Architecture(**{k: v for k, v in kw.items() if k in ARCH})
    schedule = TrainingConfig(**{k: v for k, v in kw.items() if k not in ARCH})
    return fit(data, arch, schedule, seed=seed)


@pytest.mark.parametrize("seed", range(10))
def test_default_run_reaches_99_percent_validation_accuracy(seed):
    data = load_dataset("circles", n_samples=1000, noise=0.05, seed=seed)
    run = fit(data, seed=seed)  # the defaults train.py uses: 2-3-1, no hidden bias, SGD lr 1, batch 32
    assert isinstance(run.net, TwoLayerNet)
    assert run.net.params["w1"].shape == (2, 3) and "b1" not in run.net.params
    assert run.history.val_acc[-1] >= 0.99


def test_same_seed_gives_bit_identical_results():
    data = load_dataset("moons", seed=5)
    a, b = run_fit(data, seed=5, epochs=20), run_fit(data, seed=5, epochs=20)
    np.testing.assert_array_equal(gather(a.net.params), gather(b.net.params))
    assert a.history.train_loss == b.history.train_loss and a.history.val_acc == b.history.val_acc
    c = run_fit(data, seed=6, epochs=20)
    assert not np.array_equal(gather(a.net.params), gather(c.net.params))


@pytest.mark.parametrize("dataset,target", [("moons", 0.95), ("circles", 0.95), ("blobs", 0.95), ("xor", 0.93),
                                            ("spiral", 0.85)])
def test_wider_net_with_adam_on_every_dataset(dataset, target):
    run = run_fit(load_dataset(dataset, seed=1), hidden=(32,), hidden_bias=True, optimizer="adam", seed=1)
    assert run.history.val_acc[-1] >= target


@pytest.mark.parametrize("dataset", ["circles", "moons"])
def test_lbfgs_does_at_least_as_well_as_sgd(dataset):
    data = load_dataset(dataset, seed=2)
    sgd = run_fit(data, hidden=(16,), hidden_bias=True, optimizer="sgd", seed=2).history
    lb = run_fit(data, hidden=(16,), hidden_bias=True, optimizer="lbfgs", seed=2).history
    assert lb.train_loss[-1] <= sgd.train_loss[-1] and lb.train_acc[-1] >= sgd.train_acc[-1]
    assert lb.val_acc[-1] >= sgd.val_acc[-1] - 0.01  # within 2 of 200 validation points (sampling noise)


@pytest.mark.parametrize("engine", ["auto", "layers"])
def test_history_is_per_epoch_and_consistent(engine):
    X, y = make_circles(300, seed=0)
    net = TwoLayerNet(seed=0)
    h = train(net, X[:240], y[:240], X[240:], y[240:], epochs=7, batch_size=50, seed=0, engine=engine)
    assert h.epoch == list(range(1, 8)) and len(h.val_acc) == 7 and h.steps == 7 * 5
    assert h.train_metrics == "running"
    # validation and the final metrics are full passes over the model as returned
    assert h.val_loss[-1] == pytest.approx(net.evaluate(X[240:], y[240:])["loss"], rel=1e-12)
    assert h.final["train_loss"] == pytest.approx(net.evaluate(X[:240], y[:240])["loss"], rel=1e-12)
    assert h.final["val_acc"] == h.val_acc[-1]


@pytest.mark.parametrize("engine", ["auto", "layers"])
def test_training_metrics_are_the_running_means_of_the_batches(engine):
    # Epoch 1 by hand on the layer objects: each batch scored with the parameters it is computed with
    X, y = make_moons(70, noise=0.3, seed=2)
    ref = TwoLayerNet(seed=4)
    h = train(TwoLayerNet(seed=4), X, y, epochs=1, batch_size=16, lr=0.5, seed=9, engine=engine)
    ref.standardizer.fit(X)
    _, body = ref.split_preprocessing()
    Xs, ys = check_Xy(ref, ref.standardizer.forward(X), y)
    order = np.random.default_rng(9).permutation(70)
    Xs, ys = Xs[order], ys[order]
    total = correct = 0.0
    for i in range(0, 70, 16):
        out = body.forward(Xs[i:i + 16])
        total += body.criterion.forward(out, ys[i:i + 16]) * len(out)
        correct += np.count_nonzero((out > 0.5) == (ys[i:i + 16] > 0.5))
        body.backward()
        for key, param in ref.params.items():
            param -= 0.5 * ref.grads[key]
    assert h.train_loss[0] == pytest.approx(total / 70, rel=1e-12)
    assert h.train_acc[0] == correct / 70


@pytest.mark.parametrize("engine", ["auto", "layers"])
def test_full_metrics_are_full_passes_after_each_epoch(engine):
    X, y = make_circles(200, seed=1)
    seen = []
    net = TwoLayerNet(seed=0)
    h = train(net, X, y, epochs=3, seed=0, engine=engine, full_metrics=True,
              on_epoch=lambda epoch, _history: seen.append(net.evaluate(X, y)))
    assert h.train_metrics == "full"
    np.testing.assert_allclose(h.train_loss, [m["loss"] for m in seen], rtol=1e-12)
    assert h.train_acc == [m["accuracy"] for m in seen]


def test_history_without_validation_is_nan():
    X, y = make_circles(100, seed=0)
    h = train(TwoLayerNet(seed=0), X, y, epochs=2, seed=0)
    assert math.isnan(h.val_loss[-1])


@pytest.mark.parametrize("engine", ["auto", "layers"])
def test_early_stopping_restores_the_best_weights(engine):
    X, y = make_moons(300, noise=0.4, seed=0)
    net = TwoLayerNet(seed=0, hidden_dim=64, hidden_bias=True)
    h = train(net, X[:60], y[:60], X[60:], y[60:], optimizer="adam", lr=0.05, epochs=400, patience=10, seed=0,
              engine=engine)
    assert h.stopped_early and h.epoch[-1] == h.best_epoch + 10
    assert net.evaluate(X[60:], y[60:])["loss"] == pytest.approx(min(h.val_loss), rel=1e-12)
    assert h.final["val_loss"] == pytest.approx(min(h.val_loss), rel=1e-12) and h.final["epoch"] == h.best_epoch


@pytest.mark.parametrize("batch_size", [32, None])
@pytest.mark.parametrize("engine", ["auto", "layers"])
def test_divergence_stops_restores_and_says_lower_lr(engine, batch_size):
    X, y = make_circles(200, seed=0)
    net = TwoLayerNet(seed=0, standardize=False)
    start = gather(net.params)
    with pytest.raises(TrainingDiverged, match="lower learning rate") as info:
        train(net, X, y, lr=1e6, epochs=5, seed=0, engine=engine, batch_size=batch_size)
    assert np.isfinite(gather(net.params)).all()
    # the first update exploded: back to the start (at full batch, seen in epoch 2, whose running
    # loss is that of the parameters epoch 1 left)
    np.testing.assert_array_equal(gather(net.params), start)
    assert info.value.history is not None and info.value.history.engine == ("engine" if engine == "auto" else "layers")


def test_nan_loss_mid_epoch_is_caught(monkeypatch):
    X, y = make_circles(64, seed=0)
    net = TwoLayerNet(seed=0)
    calls = []
    real = net.criterion.forward

    def flaky(*a, **k):
        calls.append(1)
        return float("nan") if len(calls) == 5 else real(*a, **k)

    monkeypatch.setattr(net.criterion, "forward", flaky)
    with pytest.raises(TrainingDiverged, match="epoch 1"):
        train(net, X, y, epochs=3, batch_size=8, seed=0, engine="layers")
    assert len(calls) == 5  # the epoch stopped at the NaN


def test_a_non_finite_parameter_after_an_epoch_is_divergence(monkeypatch):
    # the running loss is computed before each step, so a step that breaks the parameters at the end
    # of an epoch must still be caught: the parameters themselves are checked after every epoch
    X, y = make_circles(64, seed=0)
    net = TwoLayerNet(seed=0)
    from model import training

    real = training._LayerRunner.epoch

    def poisoned(self):
        result = real(self)
        if len(history_epochs) == 1:
            net.params["w1"][0, 0] = np.inf
        history_epochs.append(1)
        return result

    history_epochs = []
    monkeypatch.setattr(training._LayerRunner, "epoch", poisoned)
    with pytest.raises(TrainingDiverged, match="epoch 2"):
        train(net, X, y, epochs=4, seed=0, engine="layers")
    assert np.isfinite(gather(net.params)).all()


@pytest.mark.parametrize("kw,match", [({"epochs": 0}, "epochs"), ({"batch_size": 0}, "batch_size"),
                                      ({"patience": 3}, "validation set"), ({"optimizer": "rmsprop"}, "optimizer"),
                                      ({"engine": "numba"}, "engine"), ({"chunk_rows": 0}, "chunk_rows")])
def test_bad_training_arguments(kw, match):
    X, y = make_circles(50, seed=0)
    with pytest.raises(ValueError, match=match):
        train(TwoLayerNet(seed=0), X, y, **kw)


def test_history_files(tmp_path):
    X, y = make_circles(100, seed=0)
    h = train(TwoLayerNet(seed=0), X[:80], y[:80], X[80:], y[80:], epochs=3, seed=0)
    h.save(tmp_path / "h.csv")
    lines = (tmp_path / "h.csv").read_text().splitlines()
    assert lines[0] == "epoch,train_loss,train_acc,val_loss,val_acc" and len(lines) == 4
    h.save(tmp_path / "h.json")
    assert json.loads((tmp_path / "h.json").read_text())["epoch"] == [1, 2, 3]
    with pytest.raises(ValueError, match=".csv or .json"):
        h.save(tmp_path / "h.txt")


def test_float32_training_learns():
    run = run_fit(load_dataset("circles", seed=0), seed=0, dtype="float32")
    assert run.net.params['w1'].dtype == np.float32 and run.history.val_acc[-1] >= 0.99


def test_one_class_only_is_refused():
    X, y = make_circles(50, seed=0)
    with pytest.raises(ValueError, match="one class"):
        fit(Dataset(X, np.zeros_like(y), [0, 1], ["a", "b"]))


def test_unknown_dataset():
    with pytest.raises(ValueError, match="unknown dataset"):
        load_dataset("mnist")
    assert set(DATASETS) == {"circles", "moons", "xor", "spiral", "blobs"}


def test_a_config_object_trains_as_its_settings_do():
    X, y = make_moons(200, noise=0.2, seed=0)
    settings = {"optimizer": "adam", "lr": 0.01, "epochs": 5, "batch_size": 16, "seed": 3}
    by_words, by_config = TwoLayerNet(seed=1), TwoLayerNet(seed=1)
    train(by_words, X, y, **settings)
    train(by_config, X, y, config=TrainingConfig(**settings))
    np.testing.assert_array_equal(gather(by_words.params), gather(by_config.params))
    with pytest.raises(TypeError, match="not both"):
        train(TwoLayerNet(seed=1), X, y, config=TrainingConfig(), epochs=2)
