"""Review of issue 28 (hostile model files): ``BatchNorm2d``'s running variance is not held to BatchNorm's rule.

``model.serialization.BUFFER_RANGES`` refuses a negative ``running_var`` for a layer whose type is named
``"BatchNorm"``; ``BatchNorm2d`` (a subclass, its own name) is not matched, so a file with a negative running
variance loads, ``--predict`` fails with "NaN or infinity from a finite input" (not "damaged"), and ``--export`` writes
an ONNX graph whose every probability is NaN. The findings were pinned as ``xfail(strict=True)``; a buffer's rule
now holds for its layer type's subclasses too, so they are plain tests.
"""

import numpy as np
import pytest

import train
from layers import BatchNorm, BatchNorm2d, Conv2d, Flatten, Linear, SoftmaxCrossEntropyLoss, Unflatten
from model import Sequential, load, save

from .conftest import call_main


def negative_variance_file(tmp_path, layer):
    """A saved classifier of 8 features holding ``layer`` (3 features or channels), its running variance then set
    to -2 in the file."""
    rng = np.random.default_rng(0)
    if isinstance(layer, BatchNorm2d):
        layers_ = [Unflatten(2, 2, 2), Conv2d(2, 3, 1, rng=rng), layer, Flatten(), Linear(12, 3, rng=rng)]
    else:
        layers_ = [Linear(8, 3, rng=rng), layer, Linear(3, 3, rng=rng)]
    net = Sequential(layers_, SoftmaxCrossEntropyLoss()).eval()
    path = tmp_path / f"{type(layer).__name__}.npz"
    save(net, path)
    members = dict(np.load(path, allow_pickle=False))
    key = next(k for k in members if k.endswith("running_var"))
    members[key] = np.full_like(members[key], -2.0)
    np.savez(path, **members)
    return path


def test_batchnorms_negative_running_variance_is_refused_as_damaged(tmp_path):
    """The rule the finding is about, as it holds for BatchNorm."""
    with pytest.raises(ValueError, match=r"damaged.*running_var.*>= 0"):
        load(negative_variance_file(tmp_path, BatchNorm(3)))


def test_batchnorm2ds_negative_running_variance_is_refused_as_damaged(tmp_path):
    with pytest.raises(ValueError, match=r"damaged.*running_var.*>= 0"):
        load(negative_variance_file(tmp_path, BatchNorm2d(3)))


def test_a_negative_running_variance_is_not_exported(tmp_path, capsys):
    pytest.importorskip("onnx")
    path = negative_variance_file(tmp_path, BatchNorm2d(3))
    code, out, err = call_main(train.main, capsys, "--export", path, "--out", tmp_path / "bn.onnx")
    assert code == 1 and "running_var" in err and not (tmp_path / "bn.onnx").exists()
