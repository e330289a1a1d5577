"""A layer called like a function, and BatchNorm's running statistics as assignable attributes.

Found by mutation testing (docs/mutation.md): `Layer.__call__` was reached by no test that calls a
layer directly, and assigning `running_mean` / `running_var` (not only writing into them) was unpinned.
"""

import numpy as np

from layers import Add, BatchNorm, Linear, MSELoss


def test_calling_a_layer_passes_its_positional_arguments_to_forward():
    layer = Linear(3, 2, rng=0)
    x = np.arange(12.0).reshape(4, 3)
    np.testing.assert_array_equal(layer(x), x @ layer.params["W"] + layer.params["b"])


def test_calling_a_layer_passes_its_keyword_arguments_to_forward():
    a, b = np.ones((2, 3)), np.full((2, 3), 2.0)
    np.testing.assert_array_equal(Add()(a, b=b), a + b)
    pred, target = np.zeros((2, 1)), np.ones((2, 1))
    assert MSELoss()(pred=pred, target=target) == MSELoss().forward(pred, target)


def test_assigning_a_running_statistic_replaces_the_buffer_and_evaluation_uses_it():
    layer = BatchNorm(3)
    mean, var = np.array([1.0, -2.0, 0.5]), np.array([4.0, 1.0, 0.25])
    layer.running_mean = mean
    layer.running_var = var
    assert layer.buffers["running_mean"] is mean and layer.buffers["running_var"] is var
    x = np.array([[3.0, 0.0, 1.0]])
    np.testing.assert_allclose(layer.eval().forward(x), (x - mean) / np.sqrt(var + layer.eps), rtol=1e-13)


def test_the_running_statistics_document_their_shape():
    for name in ("running_mean", "running_var"):
        assert "(D,)" in getattr(BatchNorm, name).__doc__
