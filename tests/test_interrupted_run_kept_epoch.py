"""The epoch an interrupted run reports keeping is the epoch of the weights it holds: at full batch with
running metrics an epoch's loss is that of the weights it started from, so the last good weights are the
previous epoch's (0: the initial ones); interrupted before any epoch, it kept epoch 0 and recorded none."""

import numpy as np
import pytest

from data import make_circles
from model import TwoLayerNet
from model.parameters import gather
from model.training import TrainingInterrupted, train

from .test_training_control import interrupt_at


@pytest.mark.parametrize("engine", ["auto", "layers"])
@pytest.mark.parametrize("stop", [1, 4])
def test_a_full_batch_run_interrupted_keeps_the_epoch_before_and_says_so(engine, stop):
    X, y = make_circles(40, seed=0)
    net, reference = TwoLayerNet(seed=0), TwoLayerNet(seed=0)
    with pytest.raises(TrainingInterrupted) as info:
        train(net, X, y, epochs=50, batch_size=40, seed=0, engine=engine, on_epoch=interrupt_at(stop))
    if stop > 1:
        train(reference, X, y, epochs=stop - 1, batch_size=40, seed=0, engine=engine)
    history = info.value.history
    assert history.epoch[-1] == stop and history.final["epoch"] == stop - 1
    np.testing.assert_allclose(gather(net.params), gather(reference.params), rtol=1e-12, atol=1e-15)


def test_a_run_interrupted_before_its_first_epoch_kept_epoch_0():
    X, y = make_circles(40, seed=0)
    net, reference = TwoLayerNet(seed=0), TwoLayerNet(seed=0)

    def ctrl_c(*args, **kwargs):
        raise KeyboardInterrupt

    net.criterion.forward = ctrl_c  # Ctrl-C while the network is first evaluated, before any epoch
    with pytest.raises(TrainingInterrupted) as info:
        train(net, X, y, epochs=5, seed=0)
    history = info.value.history
    assert history.interrupted and history.epoch == [] and history.final["epoch"] == 0
    assert "epoch 0" in str(info.value)
    np.testing.assert_array_equal(gather(net.params), gather(reference.params))
