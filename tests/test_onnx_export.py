"""``model.to_onnx``: the exported graph, run in onnxruntime, gives what the network predicts; what cannot be
exported is refused in one line naming it."""

import subprocess
import sys

import numpy as np
import pytest

import layers
from layers import (BatchNorm, BatchNorm2d, Conv2d, Dropout, Flatten, LayerNorm, LeakyReLU, Linear, MaxPool2d, ReLU,
                    SoftmaxCrossEntropyLoss, SVMLoss, Tanh, Unflatten)
from layers.standardize import Standardize
from model import Sequential, TwoLayerNet, build_mlp, to_onnx
from model import onnx_export as export

from .conftest import ROOT

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

#: the agreement asked of a float32 graph with the float64 network (probabilities, and values relative)
TOL = 1e-5


def run_onnx(path, X, dtype=np.float32):
    """``{output name: array}`` of the ONNX model at ``path`` on ``X``, after ``onnx.checker`` accepted the file."""
    onnx.checker.check_model(str(path), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    assert [i.name for i in session.get_inputs()] == ["input"]
    return dict(zip(names, session.run(None, {"input": np.asarray(X, dtype=dtype)}), strict=True))


def fitted(net, X, rng):
    """``net`` with its Standardize fitted to ``X`` and its BatchNorms given running statistics of their own, in
    evaluation mode: a network as training leaves it, without training."""
    for layer in net.layers:
        if isinstance(layer, Standardize):
            layer.fit(X)
        if isinstance(layer, BatchNorm):
            layer.running_mean[...] = rng.normal(size=layer.num_features)
            layer.running_var[...] = rng.uniform(0.5, 2.0, size=layer.num_features)
            layer.params["gamma"][...] = rng.uniform(0.5, 1.5, size=layer.num_features)
            layer.params["beta"][...] = rng.normal(size=layer.num_features)
    return net.eval()


def two_columns(p):
    """P(class 1) (N,) as --predict writes it: (N, 2)."""
    return np.column_stack([1 - p, p]) if p.ndim == 1 else p


def test_the_handouts_network_gives_its_probabilities_and_labels(tmp_path, rng):
    X = rng.normal(3.0, 2.0, size=(40, 2))
    net = fitted(TwoLayerNet(seed=0), X, rng)
    to_onnx(net, tmp_path / "m.onnx")
    got = run_onnx(tmp_path / "m.onnx", X)
    assert set(got) == {"probabilities", "label"}
    assert got["probabilities"].shape == (40, 2) and got["label"].dtype == np.int64
    np.testing.assert_allclose(got["probabilities"], two_columns(net.predict_proba(X)), atol=TOL)
    np.testing.assert_array_equal(got["label"], net.predict(X))


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("hidden_bias", [False, True])
def test_a_two_layer_net_of_either_head(tmp_path, rng, fused, hidden_bias):
    X = rng.normal(size=(30, 4)) * [1, 10, 100, 1000]
    net = fitted(TwoLayerNet(4, 6, hidden_bias=hidden_bias, fused=fused, seed=1), X, rng)
    net.classes = ["no", "yes"]
    to_onnx(net, tmp_path / "m.onnx")
    got = run_onnx(tmp_path / "m.onnx", X)
    np.testing.assert_allclose(got["probabilities"], two_columns(net.predict_proba(X)), atol=TOL)
    assert got["label"].tolist() == [["no", "yes"][k] for k in net.predict(X)]


def test_a_float64_graph_agrees_to_rounding(tmp_path, rng):
    X = rng.normal(size=(25, 3))
    net = fitted(build_mlp(3, hidden=(8, 8), activation="tanh", hidden_bias=True, classes=4, seed=2), X, rng)
    written = to_onnx(net, tmp_path / "m.onnx", dtype=np.float64)
    assert written.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.DOUBLE
    got = run_onnx(tmp_path / "m.onnx", X, np.float64)
    np.testing.assert_allclose(got["probabilities"], net.predict_proba(X), rtol=1e-12, atol=1e-14)


def test_batchnorm_and_dropout_are_their_evaluation_modes(tmp_path, rng):
    X = rng.normal(size=(50, 5))
    net = Sequential([Standardize(5), Linear(5, 16, rng=0), BatchNorm(16), LeakyReLU(0.1), Dropout(0.5, rng=1),
                      Linear(16, 8, rng=2), LayerNorm(8), Tanh(), Dropout(0.3), Linear(8, 3, rng=3)],
                     SoftmaxCrossEntropyLoss())
    net = fitted(net, X, rng)
    to_onnx(net, tmp_path / "m.onnx")
    got = run_onnx(tmp_path / "m.onnx", X)
    np.testing.assert_allclose(got["probabilities"], net.predict_proba(X), atol=TOL)
    np.testing.assert_array_equal(got["label"], net.predict(X))


def test_a_regression_gives_its_values(tmp_path, rng):
    X = rng.normal(size=(20, 3))
    net = fitted(Sequential([Standardize(3), Linear(3, 8, rng=0), ReLU(), Linear(8, 2, rng=1)], layers.MSELoss()),
                 X, rng)
    net.layers[-1].params["b"][...] = [300.0, -5.0]  # the targets' own units: a folded scaling's offset
    to_onnx(net, tmp_path / "m.onnx")
    got = run_onnx(tmp_path / "m.onnx", X)
    assert set(got) == {"values"}
    np.testing.assert_allclose(got["values"], net.predict(X), rtol=TOL)


def test_a_conv_network_in_pytorchs_conventions(tmp_path, rng):
    X = rng.normal(size=(6, 2, 9, 9))
    net = Sequential([Conv2d(2, 4, 3, stride=2, padding=1, rng=0), BatchNorm2d(4), ReLU(), MaxPool2d(2, stride=1),
                      Conv2d(4, 3, 2, bias=False, rng=1), Flatten(), Linear(3 * 3 * 3, 5, rng=2)],
                     SoftmaxCrossEntropyLoss())
    net = fitted(net, X, rng)
    to_onnx(net, tmp_path / "m.onnx")
    shape = onnx.load(str(tmp_path / "m.onnx")).graph.input[0].type.tensor_type.shape.dim
    assert [d.dim_param or d.dim_value for d in shape] == ["N", 2, "H", "W"]
    got = run_onnx(tmp_path / "m.onnx", X)
    np.testing.assert_allclose(got["probabilities"], net.predict_proba(X), atol=TOL)


def test_a_table_read_as_images_by_unflatten(tmp_path, rng):
    """``train.py --image``'s networks: rows of C·H·W numbers, reshaped in PyTorch's order before the convolution."""
    X = rng.normal(size=(7, 2 * 4 * 4))
    net = Sequential([Standardize(32), Unflatten(2, 4, 4), Conv2d(2, 3, 3, padding=1, rng=0), ReLU(), MaxPool2d(2),
                      Flatten(), Linear(3 * 2 * 2, 4, rng=1)], SoftmaxCrossEntropyLoss())
    net = fitted(net, X, rng)
    to_onnx(net, tmp_path / "m.onnx")
    got = run_onnx(tmp_path / "m.onnx", X)
    np.testing.assert_allclose(got["probabilities"], net.predict_proba(X), atol=TOL)
    np.testing.assert_array_equal(got["label"], net.predict(X))


def test_the_batch_dimension_is_dynamic(tmp_path, rng):
    X = rng.normal(size=(9, 2))
    net = fitted(TwoLayerNet(seed=0), X, rng)
    to_onnx(net, tmp_path / "m.onnx")
    for n in (1, 9):
        assert run_onnx(tmp_path / "m.onnx", X[:n])["label"].shape == (n,)


def test_the_metadata_carries_classes_and_feature_names(tmp_path):
    net = TwoLayerNet(seed=0)
    net.classes, net.feature_names = [3, 7], ["width", "height"]
    written = to_onnx(net, tmp_path / "m.onnx")
    props = {p.key: p.value for p in written.metadata_props}
    assert props["classes"] == '["3", "7"]' and props["feature_names"] == '["width", "height"]'
    got = run_onnx(tmp_path / "m.onnx", np.array([[0.0, 0.0], [5.0, -5.0]]))
    assert set(got["label"].tolist()) <= {3, 7}


# ---------------------------------------------------------------- refusals


def test_a_learners_class_is_refused_naming_its_position(tmp_path):
    class ReLU(layers.ReLU):  # a learner's class of the library's name: not the library's ReLU
        pass

    net = Sequential([Linear(2, 3, rng=0), ReLU(), Linear(3, 1, rng=1)], layers.SigmoidBCELoss())
    with pytest.raises(ValueError, match=r"layer 1 \(.*test_onnx_export.*ReLU\).*no ONNX equivalent") as caught:
        to_onnx(net, tmp_path / "m.onnx")
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "m.onnx").exists()


class HingeOfMine(SVMLoss):
    """A learner's loss built on the library's: its rule for probabilities is its own, so it has no entry."""


def test_a_loss_without_an_entry_is_refused(tmp_path):
    net = Sequential([Linear(2, 3, rng=0)], HingeOfMine())
    with pytest.raises(ValueError, match=r"the loss \(.*HingeOfMine\)"):
        to_onnx(net, tmp_path / "m.onnx")


def test_an_svm_network_exports_its_softmax_probabilities(tmp_path, rng):
    X = rng.normal(size=(9, 2))
    net = Sequential([Linear(2, 4, rng=0), ReLU(), Linear(4, 3, rng=1)], SVMLoss()).eval()
    to_onnx(net, tmp_path / "m.onnx")
    got = run_onnx(tmp_path / "m.onnx", X)
    np.testing.assert_allclose(got["probabilities"], net.predict_proba(X), atol=TOL)
    np.testing.assert_array_equal(got["label"], net.predict(X))


def test_every_class_of_the_table_is_the_librarys():
    from model.registry import is_library

    assert all(is_library(cls) for cls in export.NODES)


def test_a_binary_head_of_two_outputs_is_refused(tmp_path):
    net = Sequential([Linear(2, 2, rng=0), layers.Sigmoid()], layers.BCELoss())
    with pytest.raises(ValueError, match="binary head of 2 outputs"):
        to_onnx(net, tmp_path / "m.onnx")


def test_a_classifier_of_unknown_classes_is_refused_and_one_that_names_them_exported(tmp_path, rng):
    net = Sequential([Conv2d(1, 3, 3, rng=0), Flatten()], SoftmaxCrossEntropyLoss())  # no width at the end
    with pytest.raises(ValueError, match="classes are unknown"):
        to_onnx(net, tmp_path / "m.onnx")
    net.classes = ["a", "b", "c"]
    X = rng.normal(size=(3, 1, 3, 3))  # one window of 3 filters: 3 scores
    to_onnx(net, tmp_path / "m.onnx")
    got = run_onnx(tmp_path / "m.onnx", X)
    np.testing.assert_allclose(got["probabilities"], net.predict_proba(X), atol=TOL)
    assert got["label"].tolist() == [net.classes[k] for k in net.predict(X)]


def test_weights_not_finite_in_the_graphs_dtype_are_refused(tmp_path):
    net = TwoLayerNet(seed=0)
    net.layers[1].params["W"][0, 0] = 1e300  # finite in float64, infinite in float32
    with pytest.raises(ValueError, match=r"1\.W .*not finite in float32"):
        to_onnx(net, tmp_path / "m.onnx")
    to_onnx(net, tmp_path / "m.onnx", dtype=np.float64)


def test_a_dtype_other_than_float32_or_float64_is_refused(tmp_path):
    with pytest.raises(ValueError, match="float32 or float64, got float16"):
        to_onnx(TwoLayerNet(seed=0), tmp_path / "m.onnx", dtype=np.float16)


def test_a_missing_onnx_is_one_line_naming_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)  # importing onnx now raises ImportError
    with pytest.raises(ImportError, match=r"pip install -e '\.\[onnx\]'"):
        to_onnx(TwoLayerNet(seed=0), tmp_path / "m.onnx")


def test_a_failed_export_leaves_an_existing_file_as_it_was(tmp_path):
    target = tmp_path / "m.onnx"
    target.write_bytes(b"the old model")
    with pytest.raises(ValueError):
        to_onnx(Sequential([Linear(2, 3, rng=0)], HingeOfMine()), target)
    assert target.read_bytes() == b"the old model"


def test_the_core_imports_without_onnx():
    code = ("import sys; sys.modules['onnx'] = None; import model, train; "
            "assert not [m for m in sys.modules if m.startswith('onnx') and sys.modules[m] is not None]")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_the_comparison_catches_a_wrong_entry(tmp_path, rng, monkeypatch):
    """A BatchNorm exported with its batch's statistics instead of its running ones is seen to differ."""
    X = rng.normal(size=(30, 3))
    net = fitted(Sequential([Linear(3, 4, rng=0), BatchNorm(4), Linear(4, 2, rng=1)], SoftmaxCrossEntropyLoss()), X,
                 rng)
    monkeypatch.setitem(export.NODES, BatchNorm, lambda g, layer, x: g.node("MeanVarianceNormalization", [x],
                                                                               axes=[0]))
    to_onnx(net, tmp_path / "m.onnx")
    got = run_onnx(tmp_path / "m.onnx", X)
    assert np.abs(got["probabilities"] - net.predict_proba(X)).max() > 100 * TOL
