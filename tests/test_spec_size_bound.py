"""A model file's size bound counts every number the file declares: parameters and buffers alike.

``model.load`` refuses, before it allocates anything of the model's size, an architecture declaring more
than ``MAX_NUMBERS`` numbers. A ``Standardize`` holds only buffers (mean, scale) and a ``BatchNorm`` holds
as many buffers (running mean and variance) as parameters, so a file made huge through them must be
refused as surely as one made huge through ``Linear`` weights — with the total count in its message.
"""

import io
import json
import tracemalloc
import zipfile

import numpy as np
import pytest

from layers import BatchNorm, Linear, ReLU, SigmoidBCELoss
from layers.standardize import Standardize
from model import Sequential, load
from model.serialization import MAX_NUMBERS, MAX_WIDTH

WIDE = MAX_WIDTH  # 1,000,000 features: a Standardize of this width declares 2,000,000 numbers


def standardize(width):
    return {"type": "Standardize", "config": {"num_features": width}}


def batchnorm(width):
    return {"type": "BatchNorm", "config": {"num_features": width, "momentum": 0.9, "eps": 1e-5}}


def linear(n_in, n_out):
    return {"type": "Linear", "config": {"in_features": n_in, "out_features": n_out, "bias": True}}


def with_layers(tmp_path, layers):
    """A small saved model's file with its architecture's layer list replaced by ``layers`` (declared only)."""
    small = tmp_path / "small.npz"
    Sequential([Standardize(2), Linear(2, 3), BatchNorm(3), ReLU(), Linear(3, 1)], SigmoidBCELoss()).save(small)
    with zipfile.ZipFile(small) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    arch = json.loads(str(np.load(io.BytesIO(members["architecture.npy"]))))
    arch["layers"] = layers
    buffer = io.BytesIO()
    np.save(buffer, np.array(json.dumps(arch)))
    members["architecture.npy"] = buffer.getvalue()
    path = tmp_path / "huge.npz"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def refused_unallocated(path, total):
    """Loading ``path`` is refused with one line naming the declared ``total``, having allocated under 8 MB."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    assert f"declares {total:,} numbers" in message and f"{MAX_NUMBERS:,}" in message
    assert peak < 8 << 20
    return message


@pytest.mark.parametrize("what, layers, params, buffers", [
    ("Standardize buffers", [standardize(WIDE)] * 101 + [linear(WIDE, 1)], WIDE + 1, 101 * 2 * WIDE),
    ("BatchNorm buffers", [batchnorm(WIDE)] * 51 + [linear(WIDE, 1)], 51 * 2 * WIDE + WIDE + 1, 51 * 2 * WIDE),
], ids=["standardize", "batchnorm"])
def test_a_file_huge_through_its_buffers_is_refused(tmp_path, what, layers, params, buffers):
    assert params <= MAX_NUMBERS < params + buffers  # the parameters alone are within the bound
    refused_unallocated(with_layers(tmp_path, layers), params + buffers)


def test_the_count_is_every_array_declared(tmp_path):
    # over the bound only with everything counted: 99 Standardize (buffers), a BatchNorm (2 parameter and
    # 2 buffer vectors), two Linear layers (weights and biases)
    layers = [standardize(WIDE)] * 99 + [batchnorm(WIDE), linear(WIDE, 3), {"type": "ReLU", "config": {}},
                                          linear(3, 1)]
    params = 2 * WIDE + (3 * WIDE + 3) + (3 + 1)
    buffers = 99 * 2 * WIDE + 2 * WIDE
    assert max(params, buffers) <= MAX_NUMBERS < params + buffers
    refused_unallocated(with_layers(tmp_path, layers), params + buffers)


def test_a_file_within_the_bound_loads(tmp_path):
    # the same writer's file, declaring what its arrays hold, loads: a refusal above is the size's
    path = with_layers(tmp_path, [standardize(2), linear(2, 3), batchnorm(3), {"type": "ReLU", "config": {}},
                                  linear(3, 1)])
    assert [type(layer).__name__ for layer in load(path).layers] == ["Standardize", "Linear", "BatchNorm", "ReLU",
                                                                      "Linear"]
