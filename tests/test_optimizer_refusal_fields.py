"""An optimizer's repr lists its settings as a call would (``SGD(lr=0.5, momentum=0.9, nesterov=False)``); its
refusals' fields are pinned in ``test_spec_optim_details.py``."""

import numpy as np

from model.optim import SGD


def test_an_optimizers_repr_reads_as_its_call():
    sgd = SGD({"w": np.ones(3)}, {"w": np.full(3, 0.5)}, lr=0.5, momentum=0.9)
    assert repr(sgd) == "SGD(lr=0.5, momentum=0.9, nesterov=False)"
