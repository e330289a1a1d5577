import numpy as np
import pytest


@pytest.fixture
def rng():
    return np.random.default_rng(20261127)


def away_from_zero(rng, shape, margin=1e-2):
    """Standard-normal values nudged so none lies within ``margin`` of ReLU's kink."""
    x = rng.standard_normal(shape)
    return np.where(np.abs(x) < margin, np.sign(x + 1e-300) * margin * 2, x)
