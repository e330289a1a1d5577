"""An optimizer's refusal carries its owner and setting as fields a command line maps to its flags
(``ParameterError.owner``/``.param``), spelled exactly as the library spells them, and its repr lists its
settings as a call would (``SGD(lr=0.5, momentum=0.9, nesterov=False)``)."""

import numpy as np
import pytest

from layers.validation import ParameterError
from model.optim import SGD, Adam


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
def test_a_refusal_names_its_optimizer_and_setting_exactly(make, owner, setting):
    with pytest.raises(ParameterError) as info:
        make(*pair())
    assert (info.value.owner, info.value.param) == (owner, setting)


def test_an_optimizers_repr_reads_as_its_call():
    sgd = SGD(*pair(), lr=0.5, momentum=0.9)
    assert repr(sgd) == "SGD(lr=0.5, momentum=0.9, nesterov=False)"
