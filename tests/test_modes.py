"""Dropout and BatchNorm inside networks: train/eval modes, checks, training, saving."""

import json

import numpy as np
import pytest

import train
from checking.checker import check_model
from data import make_moons
from layers import BatchNorm, Dropout, Linear, ReLU, SoftmaxCrossEntropyLoss
from model import Sequential, build_mlp, load
from model.parameters import gather
from model.training import train as fit_net


def net_with_modes(seed=0):
    rng = np.random.default_rng(seed)
    return Sequential([Linear(2, 8, rng=rng), BatchNorm(8), ReLU(), Dropout(0.3, rng=seed), Linear(8, 3, rng=rng)],
                      SoftmaxCrossEntropyLoss())


def test_a_network_in_train_mode_passes_the_check_with_one_mask_per_probe():
    rng = np.random.default_rng(1)
    report = check_model(net_with_modes(), rng.standard_normal((12, 2)), rng.integers(0, 3, 12))
    assert report.passed, report


def test_a_broken_batchnorm_inside_a_network_is_caught(monkeypatch):
    def without_the_variance_path(self, g):  # drops the − x̂ · mean(dx̂ · x̂) term
        x_hat, inv_std, _ = self.cache
        self.grads["beta"][...], self.grads["gamma"][...] = g.sum(axis=0), (g * x_hat).sum(axis=0)
        dx_hat = g * self.params["gamma"]
        return inv_std * (dx_hat - dx_hat.mean(axis=0))

    monkeypatch.setattr(BatchNorm, "backward", without_the_variance_path)
    rng = np.random.default_rng(1)
    report = check_model(net_with_modes(), rng.standard_normal((12, 2)), rng.integers(0, 3, 12))
    assert not report.passed and report.row("0.W").verdict == "fail" and report.row("4.W").verdict == "pass"


def test_a_bias_just_before_batchnorm_has_zero_gradient_within_round_off(monkeypatch):
    """BatchNorm removes the batch mean, so the preceding bias's gradient is exactly 0; the numeric
    estimate is round-off (~1e-11). That agrees; a wrong non-zero value there still fails."""
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((12, 2)), rng.integers(0, 3, 12)
    report = check_model(net_with_modes(), X, y)
    assert report.row("0.b").verdict == "pass" and np.abs(report.row("0.b").numeric) < 1e-9
    real = Linear.backward

    def bias_off_by_a_bit(self, g):
        out = real(self, g)
        if self.out_features == 8:
            self.grads["b"] += 1e-3
        return out

    monkeypatch.setattr(Linear, "backward", bias_off_by_a_bit)
    assert check_model(net_with_modes(), X, y).row("0.b").verdict == "fail"


def test_predictions_run_in_eval_mode_and_leave_the_mode_alone():
    net = net_with_modes()
    X = np.random.default_rng(0).standard_normal((20, 2))
    assert net.training
    a, b = net.predict_proba(X), net.predict_proba(X)
    np.testing.assert_array_equal(a, b)  # no dropout noise: deterministic
    assert net.training and all(layer.training for layer in net.layers)
    net.eval()
    net.predict(X)
    assert not net.training and not any(layer.training for layer in net.layers)


def test_training_runs_in_train_mode_and_updates_the_running_statistics():
    X, y = make_moons(200, seed=0)
    net = build_mlp(2, hidden=(16,), hidden_bias=True, batchnorm=True, dropout=0.2, seed=0)
    bn = next(layer for layer in net.layers if isinstance(layer, BatchNorm))
    before = bn.running_mean.copy()
    h = fit_net(net, X, y, optimizer="adam", lr=0.02, epochs=30, seed=0)
    assert not np.array_equal(bn.running_mean, before) and h.final["train_acc"] >= 0.85


def test_saved_running_statistics_round_trip(tmp_path):
    X, y = make_moons(100, seed=0)
    net = build_mlp(2, hidden=(8,), batchnorm=True, dropout=0.1, seed=0)
    fit_net(net, X, y, epochs=3, seed=0)
    loaded = load(net.save(tmp_path / "m.npz"))
    bn, bn2 = (next(layer for layer in n.layers if isinstance(layer, BatchNorm)) for n in (net, loaded))
    np.testing.assert_array_equal(bn.running_var, bn2.running_var)
    assert bn2.running_var is bn2.buffers["running_var"]
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
    drop = next(layer for layer in loaded.layers if isinstance(layer, Dropout))
    assert drop.p == pytest.approx(0.1)


def test_train_py_with_batchnorm_and_dropout_reaches_95_percent(tmp_path, capsys):
    code = train.main(["--dataset", "moons", "--noise", "0.2", "--hidden", "64", "--hidden-bias", "--batchnorm",
                       "--dropout", "0.2", "--optimizer", "adam", "--json", "--quiet", "--save",
                       str(tmp_path / "m.npz")])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert json.loads(out)["val_acc"] >= 0.95
    kinds = [type(layer).__name__ for layer in load(tmp_path / "m.npz").layers]
    assert kinds == ["Standardize", "Linear", "BatchNorm", "ReLU", "Dropout", "Linear", "Sigmoid"]


@pytest.mark.parametrize("argv,match", [(["--dropout", "1"], "--dropout"), (["--dropout", "-0.1"], "--dropout")])
def test_bad_dropout_is_one_line(capsys, argv, match):
    code = train.main(argv)
    _, err = capsys.readouterr()
    assert code == 2 and match in err


def test_early_stopping_restores_the_running_statistics_with_the_weights():
    X, y = make_moons(300, noise=0.3, seed=0)
    net = build_mlp(2, hidden=(32,), hidden_bias=True, batchnorm=True, seed=0)
    h = fit_net(net, X[:100], y[:100], X[100:], y[100:], optimizer="adam", lr=0.05, epochs=200, patience=3,
                batch_size=16, seed=0)
    assert h.stopped_early and h.final["epoch"] == h.best_epoch
    assert h.final["val_loss"] == pytest.approx(min(h.val_loss), rel=1e-12)  # the saved model is the best one


def test_divergence_restores_the_running_statistics_too():
    from model.training import TrainingDiverged

    X, y = make_moons(200, seed=0)
    net = build_mlp(2, hidden=(16,), hidden_bias=True, batchnorm=True, seed=0)
    bn = next(layer for layer in net.layers if isinstance(layer, BatchNorm))
    with pytest.raises(TrainingDiverged):
        fit_net(net, X, y, lr=1e8, epochs=5, seed=0)
    assert np.all(bn.running_var < 1e6) and np.isfinite(gather(net.params)).all()


@pytest.mark.parametrize("n,batch", [(33, 32), (41, 8), (1, 1)])
def test_a_batch_of_one_for_batchnorm_is_refused_before_training(n, batch):
    X, y = make_moons(max(n, 2), seed=0)
    net = build_mlp(2, hidden=(4,), batchnorm=True, seed=0)
    start = gather(net.params)
    with pytest.raises(ValueError, match="batch_size.*BatchNorm needs at least 2"):
        fit_net(net, X[:n], y[:n], batch_size=batch, epochs=1, seed=0)
    np.testing.assert_array_equal(gather(net.params), start)


def test_dropout_with_lbfgs_is_refused_and_modes_agree_after_training():
    X, y = make_moons(60, seed=0)
    with pytest.raises(ValueError, match="lbfgs cannot train through Dropout"):
        fit_net(build_mlp(2, hidden=(4,), dropout=0.2, seed=0), X, y, optimizer="lbfgs", epochs=2)
    net = build_mlp(2, hidden=(4,), dropout=0.2, seed=0).eval()
    fit_net(net, X, y, epochs=1, seed=0)
    assert net.training and all(layer.training for layer in net.layers)
