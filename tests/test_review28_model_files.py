"""Review of issue 28 (hostile model files with conv layers): a model file whose convolution or pooling sizes were
edited so the image no longer reaches the ``Linear`` after ``Flatten`` with the width it declares.

Every size on its own passes the load-time range checks ([1, 1,000,000]); only the chain through the image layers is
wrong, and the loader checked the chain of feature widths for dense layers (``the layers do not chain``) but not
through ``Conv2d``/``MaxPool2d``. The findings were pinned as ``xfail(strict=True)``; the loader now carries each
image's (C, H, W) through the image layers (their ``output_shape``), so they are plain tests.
"""

import json
import tracemalloc

import numpy as np
import pytest

import train
from model import load, save
from model.builders import Architecture

from .conftest import call_main


def _bars_csv(path, n=12, seed=0):
    """A CSV of ``n`` rows of 4×4 images (16 pixel columns) and a two-class label."""
    rng = np.random.default_rng(seed)
    pixels = rng.uniform(0, 9, (n, 16)).round(2)
    lines = [",".join([f"p{i}" for i in range(16)] + ["bar"])]
    lines += [",".join([*map(str, row), "across" if k % 2 else "down"]) for k, row in enumerate(pixels)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def image_model(tmp_path):
    """A saved 1x4x4 image classifier: Standardize, Unflatten, Conv2d(1, 4, 3, padding 1), ReLU, MaxPool2d(2),
    Flatten, Linear(16, 1), Sigmoid; and the CSV it reads."""
    data = _bars_csv(tmp_path / "bars.csv")
    net = Architecture(hidden=(), image=(1, 4, 4), conv=(4,)).build(16, classes=2, seed=0)
    net.classes = ["across", "down"]
    net.layers[0].fit(np.random.default_rng(1).uniform(0, 9, (12, 16)))
    path = tmp_path / "bars.npz"
    save(net, path)
    return path, data


def edited(path, out, edit, renamed=None):
    """``path`` with its architecture JSON changed by ``edit(arch)`` and its parameters renamed by ``renamed``
    ({old layer index: new}, for an edit that moves layers), written to ``out``."""
    members = dict(np.load(path, allow_pickle=False))
    arch = json.loads(str(members["architecture"]))
    edit(arch)
    for old, new in (renamed or {}).items():
        for key in ("W", "b"):
            members[f"param:{new}.{key}"] = members.pop(f"param:{old}.{key}")
    members["architecture"] = np.array(json.dumps(arch))
    np.savez(out, **members)
    return out


def conv_config(arch):
    return next(layer["config"] for layer in arch["layers"] if layer["type"] == "Conv2d")


def padding_2(arch):
    conv_config(arch)["padding"] = 2  # 4x4 -> 6x6 -> pooled 3x3: 36 features reach Linear(16, 1)


def test_the_edited_file_differs_only_in_the_padding_and_the_original_loads(image_model, tmp_path):
    """The finding's premise: the untouched model loads and evaluates; the edit changes one size only."""
    path, data = image_model
    load(path)
    bad = edited(path, tmp_path / "pad2.npz", padding_2)
    assert conv_config(json.loads(str(np.load(bad)["architecture"])))["padding"] == 2


def test_export_of_a_model_whose_conv_geometry_does_not_chain_is_one_line(image_model, tmp_path, capsys):
    pytest.importorskip("onnx")
    path, _ = image_model
    bad = edited(path, tmp_path / "pad2.npz", padding_2)
    code, out, err = call_main(train.main, capsys, "--export", bad, "--out", tmp_path / "pad2.onnx")
    assert code in (1, 2)
    assert len(err.strip().splitlines()) == 1 and "pad2.npz" in err
    assert not (tmp_path / "pad2.onnx").exists()


@pytest.mark.parametrize("edit", [padding_2,
                                  lambda arch: conv_config(arch).update(stride=3),
                                  lambda arch: next(layer["config"] for layer in arch["layers"]
                                                    if layer["type"] == "MaxPool2d").update(stride=1)],
                         ids=["padding 2", "conv stride 3", "pool stride 1"])
def test_a_model_file_whose_image_layers_do_not_chain_is_refused_at_load(image_model, tmp_path, edit):
    path, _ = image_model
    bad = edited(path, tmp_path / "bad.npz", edit)
    with pytest.raises(ValueError, match=r"not a model file or damaged"):
        load(bad)


def test_a_model_file_with_a_huge_padding_is_refused_as_damaged(image_model, tmp_path, capsys):
    path, data = image_model
    bad = edited(path, tmp_path / "huge.npz", lambda arch: conv_config(arch).update(padding=1_000_000))
    code, out, err = call_main(train.main, capsys, "--evaluate", bad, "--data", data)
    assert code == 1
    assert len(err.strip().splitlines()) == 1 and "huge.npz" in err and "damaged" in err


def without(kind):
    """An edit removing the first layer of type ``kind``."""
    def edit(arch):
        arch["layers"].remove(next(layer for layer in arch["layers"] if layer["type"] == kind))
    return edit


def unflatten_twice(arch):
    arch["layers"].insert(1, dict(arch["layers"][1]))


#: the layers are Standardize, Unflatten, Conv2d (2), ReLU, MaxPool2d, Flatten, Linear (6), Sigmoid
LAYER_EDITS = {"no Flatten": (without("Flatten"), {6: 5}), "no Unflatten": (without("Unflatten"), {2: 1, 6: 5})}


@pytest.mark.parametrize("name", LAYER_EDITS)
def test_export_of_a_model_missing_an_image_layer_is_one_line(image_model, tmp_path, capsys, name):
    pytest.importorskip("onnx")
    path, _ = image_model
    edit, renamed = LAYER_EDITS[name]
    bad = edited(path, tmp_path / "bad.npz", edit, renamed)
    code, out, err = call_main(train.main, capsys, "--export", bad, "--out", tmp_path / "bad.onnx")
    assert code in (1, 2) and len(err.strip().splitlines()) == 1 and "bad.npz" in err


def test_a_model_with_two_unflattens_cannot_evaluate(image_model, tmp_path, capsys):
    """Finding 1c's premise: the library refuses to run the model (its second Unflatten gets images)."""
    path, data = image_model
    bad = edited(path, tmp_path / "two.npz", unflatten_twice, {6: 7, 2: 3})
    code, out, err = call_main(train.main, capsys, "--evaluate", bad, "--data", data)
    assert code == 1 and "Unflatten" in err


def test_a_model_that_cannot_predict_is_not_exported(image_model, tmp_path, capsys):
    pytest.importorskip("onnx")
    path, _ = image_model
    bad = edited(path, tmp_path / "two.npz", unflatten_twice, {6: 7, 2: 3})
    code, out, err = call_main(train.main, capsys, "--export", bad, "--out", tmp_path / "two.onnx")
    assert code == 1 and not (tmp_path / "two.onnx").exists()


def test_a_small_model_file_cannot_make_evaluate_allocate_a_hundred_mb(image_model, tmp_path, capsys):
    path, data = image_model
    bad = edited(path, tmp_path / "pad120.npz", lambda arch: conv_config(arch).update(padding=120))
    tracemalloc.start()
    try:
        code = call_main(train.main, capsys, "--evaluate", bad, "--data", data).code
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert code == 1 and peak < 16 * 2**20
