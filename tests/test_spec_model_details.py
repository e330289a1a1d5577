"""Promises of the model's and the checker's core that mutation testing found unpinned (docs/mutation.md).

``Sequential.astype`` is a deep copy (the original untouched, buffers converted, no loss pending); an
interrupted ``train`` reports the time it ran and the kept epoch's metrics, validation included; the
checker's relative error of two empty arrays is 0 and its kink-aware numerical gradient has the same
accurate default step as ``numerical_gradient``.
"""

import time

import numpy as np
import pytest

from checking.numeric import numerical_gradient, numerical_gradient_kinks, rel_error
from data import make_moons
from model import build_mlp, train
from model.history import TrainingInterrupted


def test_astype_is_a_deep_copy_in_the_new_dtype():
    X, y = make_moons(40, seed=0)
    net = build_mlp(2, hidden=(4,), batchnorm=True, seed=0)
    train(net, X, y, epochs=2, seed=0)
    before = {k: v.copy() for k, v in net.params.items()}
    small = net.astype(np.float32)
    assert small.dtype == np.float32
    for layer in small.layers:
        for store in ("params", "grads", "buffers"):
            assert all(a.dtype == np.float32 for a in getattr(layer, store, {}).values()), (layer, store)
    for layer in net.layers:  # the original is untouched
        for store in ("params", "buffers"):
            assert all(a.dtype == np.float64 for a in getattr(layer, store, {}).values()), (layer, store)
    assert all(np.array_equal(net.params[k], before[k]) for k in before)
    assert small.layers[0] is not net.layers[0]
    with pytest.raises(Exception, match="loss"):
        small.backward()  # nothing pending in the copy: backward needs a loss first
    np.testing.assert_allclose(small.predict_proba(X), net.predict_proba(X), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("engine", ["auto", "layers"])
def test_an_interrupted_train_reports_its_time_and_the_kept_epochs_metrics(engine):
    X, y = make_moons(200, seed=0)
    net = build_mlp(2, hidden=(4,), seed=0)

    def stop(epoch, history):
        if epoch == 3:
            raise KeyboardInterrupt

    start = time.perf_counter()
    with pytest.raises(TrainingInterrupted) as info:
        train(net, X[:150], y[:150], X[150:], y[150:], on_epoch=stop, epochs=10, seed=0, engine=engine)
    elapsed = time.perf_counter() - start
    history = info.value.history
    assert history.interrupted and 0 <= history.seconds <= elapsed
    assert history.final["epoch"] in (2, 3)
    assert history.final["val_loss"] == pytest.approx(net.evaluate(X[150:], y[150:])["loss"], rel=1e-9)
    assert history.final["train_loss"] == pytest.approx(net.evaluate(X[:150], y[:150])["loss"], rel=1e-9)


def test_rel_error_of_nothing_is_zero():
    assert rel_error(np.empty(0), np.empty(0)) == 0.0
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0  # two exact zeros are equal, not 0/0


def test_the_kink_aware_gradient_steps_as_finely_as_the_plain_one():
    # f = Σ x³: a centred difference errs by h² per element, so only a small default step is accurate
    x = np.array([1.0, -2.0, 0.5])

    def f(values):
        return float((values ** 3).sum())

    grad, kinks = numerical_gradient_kinks(f, x)
    np.testing.assert_allclose(grad, 3 * x ** 2, rtol=1e-8)
    np.testing.assert_allclose(numerical_gradient(f, x), 3 * x ** 2, rtol=1e-8)
    assert not kinks.any()
