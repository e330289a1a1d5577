"""The optimizers' details mutation testing found unpinned (docs/mutation.md): a refusal names the optimizer and
the setting, Adam's default step, an optimizer's repr, and L-BFGS's iteration bound."""

import numpy as np
import pytest

from data import make_circles
from layers.validation import ParameterError
from model import TwoLayerNet
from model.optim import SGD, Adam, lbfgs


def pair():
    return {"w": np.ones(3)}, {"w": np.full(3, 0.5)}


@pytest.mark.parametrize("make,owner,setting", [
    (lambda p, g: SGD(p, g, lr=0), "SGD", "lr"),
    (lambda p, g: SGD(p, g, lr=0.1, momentum=1.0), "SGD", "momentum"),
    (lambda p, g: Adam(p, g, lr=-1), "Adam", "lr"),
    (lambda p, g: Adam(p, g, beta1=1.0), "Adam", "beta1"),
    (lambda p, g: Adam(p, g, beta2=-0.1), "Adam", "beta2"),
    (lambda p, g: Adam(p, g, eps=0), "Adam", "eps"),
])
def test_a_refused_setting_names_its_optimizer_and_itself(make, owner, setting):
    with pytest.raises(ParameterError) as info:
        make(*pair())
    assert (info.value.owner, info.value.param) == (owner, setting)  # fields, not words: "XXSGDXX" holds "SGD"


def test_adams_default_step_is_one_hundredth():
    assert Adam(*pair()).hyperparameters()["lr"] == 0.01


def test_an_optimizers_repr_shows_its_class_and_settings():
    text = repr(SGD(*pair(), lr=0.5, momentum=0.9))
    assert text.startswith("SGD(") and "lr=0.5" in text and "momentum=0.9" in text


def test_lbfgs_stops_at_max_iter():
    X, y = make_circles(100, seed=0)
    result = lbfgs(TwoLayerNet(seed=0, hidden_dim=8, hidden_bias=True), X, y, max_iter=3)
    assert 1 <= result.nit <= 3
