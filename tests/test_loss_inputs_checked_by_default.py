"""A loss called as a learner calls it (``check_input`` left at its default) takes what NumPy takes — nested
lists, integers — and refuses a non-numeric input naming it; ``check_input=False`` is only the promise of a
caller that validated both already (``Sequential.data_loss``)."""

import numpy as np
import pytest

from layers.losses import BCELoss, MSELoss, SigmoidBCELoss

PAIRS = [
    (BCELoss, "p", [[0.5], [0.25]], [[1], [0]], -(np.log(0.5) + np.log(0.75)) / 2),
    (SigmoidBCELoss, "z", [[0], [0]], [[1], [0]], np.log(2)),
    (MSELoss, "pred", [[1], [2]], [[1.0], [3.0]], None),
]


@pytest.mark.parametrize("cls, name, out, y, want", PAIRS)
def test_a_loss_takes_lists_and_integers_by_default(cls, name, out, y, want):
    layer = cls()
    loss = layer.forward(out, y)
    same = cls().forward(np.asarray(out, dtype=float), np.asarray(y, dtype=float))
    assert loss == pytest.approx(same)
    if want is not None:
        assert loss == pytest.approx(want)
    assert layer.backward().shape == (2, 1)


@pytest.mark.parametrize("cls, name, out, y, want", PAIRS)
def test_a_non_numeric_input_is_refused_naming_it(cls, name, out, y, want):
    with pytest.raises(ValueError, match=rf"^{name}\b.*<U1"):
        cls().forward(np.array([["a"], ["b"]]), np.array(y))
