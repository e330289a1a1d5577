"""``check_binary``'s quick test of float labels (``y (1 − y)`` is 0 only at 0 and 1) refuses what the full test
refuses: labels all 0 or -1.0 (a sign written for a class), or all 0 or 2.0 (a class index), named with their
index — through the function and through the binary losses."""

import numpy as np
import pytest

from layers import BCELoss, SigmoidBCELoss
from layers.validation import check_binary


@pytest.mark.parametrize("bad", [-1.0, 2.0])
def test_float_labels_beside_zero_and_one_are_refused_naming_the_first(bad):
    y = np.array([0.0, 0.0, bad, bad])
    with pytest.raises(ValueError, match=rf"labels.*{bad!r} at index \(2,\)"):
        check_binary(y, "labels")


@pytest.mark.parametrize("bad", [-1.0, 2.0])
@pytest.mark.parametrize("loss", [BCELoss, SigmoidBCELoss])
def test_a_binary_loss_refuses_them_too(loss, bad):
    with pytest.raises(ValueError, match=rf"y.*{bad!r}"):
        loss().forward(np.full((3, 1), 0.5), np.array([[0.0], [bad], [bad]]))
