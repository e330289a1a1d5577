"""Saving and loading: any Sequential round-trips exactly; the first release's files still load."""

import json
from pathlib import Path

import numpy as np
import pytest

import layers as layers_package
from checking.checker import check_model
from data import make_moons
from layers import Layer, BatchNorm, Dropout, Linear, ReLU, SigmoidBCELoss, SoftmaxCrossEntropyLoss, Tanh
from layers.standardize import Standardize
from model import Sequential, TwoLayerNet, build_mlp, load
from model.parameters import gather
from model.factory import make
from model.training import train

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.mark.parametrize("name", ["legacy_v1_2-3-1.npz", "legacy_v1_2-8-1_bias_fused_f32.npz"])
def test_files_saved_by_the_first_release_load_and_predict_identically(name):
    """The fixtures were written by TwoLayerNet.save of commit 9847dc9 (format TwoLayerNet/1), with
    the predictions that code made on fixed raw points."""
    expected = json.loads((FIXTURES / "legacy_v1_expected.json").read_text())[name]
    net = load(FIXTURES / name)
    assert type(net) is TwoLayerNet and TwoLayerNet.load(FIXTURES / name).config() == net.config()
    for key, value in expected["params"].items():
        np.testing.assert_array_equal(net.params[key], np.asarray(value, dtype=net.dtype))
    points = np.array(expected["points"])
    rtol = 1e-6 if net.dtype == np.float32 else 1e-14
    np.testing.assert_allclose(net.predict_proba(points), expected["proba"], rtol=rtol)
    np.testing.assert_array_equal(net.predict(points), expected["predict"])


def test_legacy_load_keeps_the_standardisation_and_dtype():
    net = load(FIXTURES / "legacy_v1_2-8-1_bias_fused_f32.npz")
    assert net.dtype == np.float32 and net.fused and net.hidden_bias and net.hidden_dim == 8
    assert not net.standardizer.is_identity and net.standardizer.mean[0] == pytest.approx(11.5, abs=1.0)


def _nets():
    rng = np.random.default_rng(0)
    return {
        "handout": TwoLayerNet(seed=1),
        "mlp": build_mlp(3, hidden=(5, 4), activation="tanh", hidden_bias=True, classes=3, weight_decay=0.01, seed=2),
        "f32": build_mlp(3, hidden=(6,), activation="leaky_relu", classes=2, fused=True, seed=3, dtype=np.float32),
        "bn+dropout": Sequential([Standardize(3), Linear(3, 6, rng=rng), BatchNorm(6), ReLU(), Dropout(0.2, rng=1),
                                  Linear(6, 3, rng=rng)], SoftmaxCrossEntropyLoss()),
    }


@pytest.mark.parametrize("kind", ["handout", "mlp", "f32", "bn+dropout"])
def test_round_trip_is_exact(tmp_path, kind):
    net = _nets()[kind]
    rng = np.random.default_rng(5)
    X = rng.standard_normal((40, 3 if kind != "handout" else 2)) * 3 + 1
    y = rng.integers(0, net.output_dim if net.output_dim > 1 else 2, 40)
    train(net, X, y, epochs=3, batch_size=8, seed=0, optimizer="adam")
    net.classes, net.feature_names = [f"c{i}" for i in range(max(2, net.output_dim))], ["a", "b", "c"][:X.shape[1]]
    loaded = load(net.save(tmp_path / "m.npz"))
    assert type(loaded) is type(net) and loaded.dtype == net.dtype
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in net.layers]
    np.testing.assert_array_equal(gather(loaded.params), gather(net.params))
    for a, b in zip(net.layers, loaded.layers, strict=True):
        for k in a.buffers:
            np.testing.assert_array_equal(a.buffers[k], b.buffers[k])  # running statistics, standardisation
    assert loaded.weight_decay == net.weight_decay and loaded.classes == net.classes
    assert loaded.feature_names == net.feature_names
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))  # raw points, eval mode


def test_the_handout_model_keeps_its_parameter_names_on_disk(tmp_path):
    path = TwoLayerNet(seed=0).save(tmp_path / "m.npz")
    with np.load(path) as f:
        assert {k for k in f.files if k.startswith("param:")} == {"param:w1", "param:w2", "param:b"}


def _rewrite(path, **changes):
    with np.load(path) as f:
        data = dict(f)
    data.update(changes)
    np.savez(path, **data)


@pytest.mark.parametrize("architecture,match", [
    ("{not json", "damaged architecture"),
    (json.dumps({"class": "Sequential", "dtype": "float64", "layers": [{"type": "Evil", "config": {}}],
                 "loss": {"type": "BCELoss", "config": {}}}), "unknown layer type 'Evil'"),
    (json.dumps({"class": "Pickle"}), "unknown model class"),
    (json.dumps({"class": "Sequential", "dtype": "float64",
                 "layers": [{"type": "Linear", "config": {"in_features": 2}}],
                 "loss": {"type": "BCELoss", "config": {}}}), "cannot build Linear.*out_features missing"),
])
def test_damaged_architectures_are_one_clear_error(tmp_path, architecture, match):
    path = build_mlp(2, hidden=(4, 4), seed=0).save(tmp_path / "m.npz")
    _rewrite(path, architecture=np.array(architecture))
    with pytest.raises(ValueError, match=match):
        load(path)


def test_a_file_of_another_class_is_refused_by_the_narrower_loader(tmp_path):
    path = build_mlp(2, hidden=(4, 4), seed=0).save(tmp_path / "m.npz")
    assert isinstance(Sequential.load(path), Sequential)
    with pytest.raises(ValueError, match="not a TwoLayerNet"):
        TwoLayerNet.load(path)


def test_only_library_layers_can_be_saved(tmp_path):
    class Mine(Tanh):
        pass

    net = Sequential([Linear(2, 3), Mine(), Linear(3, 1)], SigmoidBCELoss())
    with pytest.raises(ValueError, match="only this library's layers"):
        net.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_a_npy_file_is_not_a_model(tmp_path):
    path = tmp_path / "x.npy"
    np.save(path, np.ones(3))
    with pytest.raises(ValueError, match="not a model file"):
        load(path)


def test_models_learn_after_loading(tmp_path):
    X, y = make_moons(200, seed=0)
    net = build_mlp(2, hidden=(8,), activation="tanh", seed=0)
    loaded = load(net.save(tmp_path / "m.npz"))
    h = train(loaded, X, y, optimizer="adam", lr=0.05, epochs=20, seed=0)
    assert h.final["train_acc"] > 0.8


@pytest.mark.parametrize("field,value,match", [
    ("classes", 5, "classes must be a list of 3"),
    ("classes", ["a", "b"], "classes must be a list of 3"),
    ("feature_names", ["only one"], "feature_names must be a list of 3"),
    ("dtype", "complex128", "not float32 or float64"),
    ("dtype", "int8", "not float32 or float64"),
])
def test_damaged_fields_of_the_architecture(tmp_path, field, value, match):
    net = build_mlp(3, hidden=(4,), classes=3, seed=0)
    net.classes, net.feature_names = ["a", "b", "c"], ["x", "y", "z"]
    path = net.save(tmp_path / "m.npz")
    with np.load(path) as f:
        arch = json.loads(str(f["architecture"]))
    arch[field] = value
    _rewrite(path, architecture=np.array(json.dumps(arch)))
    with pytest.raises(ValueError, match=match):
        load(path)


def test_a_truncated_layer_list_or_non_finite_buffers_are_refused(tmp_path):
    net = build_mlp(3, hidden=(4, 4), classes=3, seed=0)
    path = net.save(tmp_path / "m.npz")
    with np.load(path) as f:
        arch = json.loads(str(f["architecture"]))
    arch["layers"] = arch["layers"][:3]
    arch["loss"] = {"type": "SoftmaxCrossEntropyLoss", "config": {}}
    arch["layers"].append({"type": "Linear", "config": {"in_features": 4, "out_features": 3, "bias": True}})
    _rewrite(path, architecture=np.array(json.dumps(arch)))
    with pytest.raises(ValueError, match="the file holds parameters"):
        load(path)
    bn = build_mlp(2, hidden=(4,), batchnorm=True, seed=0)
    path = bn.save(tmp_path / "bn.npz")
    with np.load(path) as f:
        key = next(k for k in f.files if k.endswith("running_var"))
    _rewrite(path, **{key: np.full(4, np.nan)})
    with pytest.raises(ValueError, match="buffers .* not finite"):
        load(path)


# ---------------------------------------------------------------- a layer added to ``layers`` alone


class Scale(Layer):
    """``x * s``: one learned factor per feature, each starting at ``factor``; a layer no other file knows."""

    def __init__(self, num_features, factor=2.0, dtype=np.float64):
        super().__init__()
        self.num_features, self.factor = num_features, factor
        self._add_param("s", np.full(num_features, factor, dtype=dtype))

    def forward(self, x):
        self.cache = x
        return x * self.params["s"]

    def backward(self, upstream):
        self.grads["s"] = (upstream * self.cache).sum(axis=0)
        return upstream * self.params["s"]

    def config(self):
        return {"num_features": self.num_features, "factor": self.factor}


@pytest.fixture
def scale_in_layers(monkeypatch):
    monkeypatch.setattr(layers_package, "Scale", Scale, raising=False)
    monkeypatch.setattr(layers_package, "__all__", [*layers_package.__all__, "Scale"])


@pytest.mark.usefixtures("scale_in_layers")
def test_a_layer_added_to_layers_alone_is_built_saved_loaded_checked_and_trained(tmp_path):
    rng = np.random.default_rng(0)
    scale = make(None, "Scale", 4, factor=0.5)  # by name, from the registry
    net = Sequential([Linear(2, 4, rng=rng), scale, Tanh(), Linear(4, 1, rng=rng)], SigmoidBCELoss())
    X, y = make_moons(64, noise=0.2, seed=0)
    history = train(net, X, y, epochs=3, lr=0.1, seed=0)
    assert history.engine == "layers" and "Scale" in history.engine_note  # the engine declines it, saying so
    assert not np.array_equal(net.params["1.s"], np.full(4, 0.5))  # the layer path trained it
    net.save(tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    assert type(loaded.layers[1]) is Scale and loaded.layers[1].config() == {"num_features": 4, "factor": 0.5}
    np.testing.assert_array_equal(loaded.params["1.s"], net.params["1.s"])
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))
    assert check_model(loaded, X[:8], y[:8]).passed


@pytest.mark.usefixtures("scale_in_layers")
def test_a_new_layer_s_arrays_are_checked_against_its_declared_width(tmp_path):
    net = Sequential([Linear(2, 3), Scale(3), Linear(3, 1)], SigmoidBCELoss())
    net.save(tmp_path / "m.npz")
    with np.load(tmp_path / "m.npz") as npz:
        members = dict(npz)
    arch = json.loads(str(members["architecture"]))
    arch["layers"][1]["config"]["num_features"] = 5
    members["architecture"] = np.array(json.dumps(arch))
    np.savez(tmp_path / "bad.npz", **members)
    with pytest.raises(ValueError, match=r"parameter '1.s' has shape \(3,\), the architecture needs \(5,\)"):
        load(tmp_path / "bad.npz")


def test_a_class_outside_layers_is_still_refused_by_name(tmp_path):
    net = Sequential([Linear(2, 3), Scale(3), Linear(3, 1)], SigmoidBCELoss())
    with pytest.raises(ValueError, match="only this library's layers can be named in a model file"):
        net.save(tmp_path / "m.npz")


def test_a_two_layer_net_whose_layer_list_disagrees_with_its_init_is_refused(tmp_path):
    path = TwoLayerNet(seed=0).save(tmp_path / "m.npz")
    with np.load(path) as f:
        arch = json.loads(str(f["architecture"]))
    arch["layers"][2]["type"] = "Tanh"  # the handout's ReLU, said otherwise
    _rewrite(path, architecture=np.array(json.dumps(arch)))
    with pytest.raises(ValueError, match="layer list does not match"):
        load(path)


def test_save_and_load_stand_side_by_side_at_the_package_face(tmp_path):
    from model import TwoLayerNet, load, save

    net = TwoLayerNet(hidden_dim=4, seed=3)
    save(net, tmp_path / "m.npz")
    back = load(tmp_path / "m.npz")
    assert type(back) is TwoLayerNet
    for key, value in net.params.items():
        np.testing.assert_array_equal(back.params[key], value)
