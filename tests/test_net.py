import numpy as np
import pytest
from scipy.special import expit

from data import make_circles
from checking.checker import check_model
from model import TwoLayerNet
from model.parameters import gather
from model.training import train


def handout_closed_forms(X, y, w1, w2, b):
    """The handout's steps 1-5 written out independently of the layer classes."""
    n = len(y)
    a = X @ w1
    h = np.maximum(0, a)
    z = h @ w2 + b
    p = expit(z).ravel()
    dp = (-(y / p) + (1 - y) / (1 - p)) / n  # step 1
    dz = (dp * p * (1 - p)).reshape(-1, 1)  # step 2
    dw2, db, dh = h.T @ dz, dz.sum(axis=0), dz @ w2.T  # step 3
    da = dh * (a > 0)  # step 4
    dw1 = X.T @ da  # step 5
    loss = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    return loss, {"w1": dw1, "w2": dw2, "b": db}


def test_default_is_the_seed_network():
    net = TwoLayerNet(seed=0)
    assert {k: v.shape for k, v in net.params.items()} == {"w1": (2, 3), "w2": (3, 1), "b": (1,)}
    assert {k: v.shape for k, v in net.grads.items()} == {"w1": (2, 3), "w2": (3, 1), "b": (1,)}
    wide = TwoLayerNet(input_dim=4, hidden_dim=5, hidden_bias=True, seed=0)
    assert {k: v.shape for k, v in wide.params.items()} == {"w1": (4, 5), "b1": (5,), "w2": (5, 1), "b": (1,)}


def test_params_are_the_layers_own_arrays_so_in_place_updates_change_the_net(rng):
    net = TwoLayerNet(seed=0)
    assert net.params["w1"] is net.fc1.params["W"] and net.params["b"] is net.fc2.params["b"]
    assert net.params["w2"] is net.fc2.params["W"] and net.grads["w1"] is net.fc1.grads["W"]
    X = rng.standard_normal((5, 2))
    before = net.predict_proba(X)
    net.params["b"] += 1.0
    assert np.all(net.predict_proba(X) > before)


@pytest.mark.parametrize("n", [1, 4, 17])
def test_loss_and_backward_match_the_handout_closed_forms(rng, n):
    X, y = rng.standard_normal((n, 2)), rng.integers(0, 2, n)
    net = TwoLayerNet(seed=3)
    loss = net.loss(X, y)
    dX = net.backward()
    expected_loss, expected = handout_closed_forms(X, y, net.params["w1"], net.params["w2"], net.params["b"])
    assert loss == pytest.approx(expected_loss, rel=1e-12)
    for k in expected:
        np.testing.assert_allclose(net.grads[k], expected[k], rtol=1e-10, atol=1e-15)
        assert net.grads[k].shape == net.params[k].shape  # the shape rule
    assert dX.shape == X.shape


@pytest.mark.parametrize("kw", [{}, {"hidden_bias": True, "hidden_dim": 8}, {"fused": True},
                                {"input_dim": 5, "hidden_dim": 4, "hidden_bias": True}])
def test_model_gradients_match_finite_differences(rng, kw):
    d = kw.get("input_dim", 2)
    X, y = rng.standard_normal((12, d)), rng.integers(0, 2, 12)
    report = check_model(TwoLayerNet(seed=1, **kw), X, y)
    assert report.passed, report
    assert max(r.max_rel_error for r in report.rows) < 1e-6


def test_gradients_check_at_a_trained_point_with_standardisation():
    X, y = make_circles(200, seed=0)
    net = TwoLayerNet(seed=0, hidden_bias=True, hidden_dim=6)
    train(net, X, y, epochs=20, seed=0)
    assert net.standardizer.scale[0] != 1.0  # the standardisation is inside the checked function
    report = check_model(net, X[:16], y[:16])
    assert report.passed, report


def test_check_model_catches_a_relu_that_lets_everything_through(rng):
    net = TwoLayerNet(seed=1, hidden_dim=4)
    net.relu.backward = lambda g: g  # forgets the 1[x > 0] mask
    X, y = rng.standard_normal((10, 2)), rng.integers(0, 2, 10)
    net.fc1.params["W"][:, 0] = -np.abs(net.fc1.params["W"][:, 0]) - 5  # unit 0 dead on most points
    report = check_model(net, X, y)
    assert not report.passed and report.row("w1").verdict == "fail"
    assert report.row("w2").verdict == "pass" and report.row("b").verdict == "pass"


def test_fused_and_chained_give_the_same_loss_and_gradients(rng):
    X, y = rng.standard_normal((9, 2)), rng.integers(0, 2, 9)
    a, b = TwoLayerNet(seed=4), TwoLayerNet(seed=4, fused=True)
    assert a.loss(X, y) == pytest.approx(b.loss(X, y), rel=1e-12)
    a.backward(), b.backward()
    for key in a.grads:
        np.testing.assert_allclose(a.grads[key], b.grads[key], rtol=1e-9, atol=1e-15)


def test_predict_shapes_and_values(rng):
    net = TwoLayerNet(seed=0)
    X = rng.standard_normal((7, 2))
    p, c = net.predict_proba(X), net.predict(X)
    assert p.shape == c.shape == (7,)
    assert np.all((p > 0) & (p < 1)) and set(np.unique(c)) <= {0, 1}
    np.testing.assert_array_equal(c, (p > 0.5).astype(int))


@pytest.mark.parametrize("X,y,match", [
    (np.ones(4), np.zeros(4), "2-D"),
    (np.ones((4, 3)), np.zeros(4), "2 columns"),
    (np.ones((0, 2)), np.zeros(0), "empty"),
    (np.array([[1.0, np.nan]]), np.zeros(1), "finite"),
    (np.array([[1.0, np.inf]]), np.zeros(1), "finite"),
    (np.ones((4, 2)), np.zeros(3), r"shape \(4,\)"),
    (np.ones((4, 2)), np.zeros((4, 1)), r"shape \(4,\)"),
    (np.ones((2, 2)), np.array([0, 2]), r"only 0 and 1, found 2 at index \(1,\)"),
    (np.array([["a", "b"]]), np.zeros(1), "numeric"),
])
def test_bad_input_at_the_public_boundary(X, y, match):
    with pytest.raises(ValueError, match=match):
        TwoLayerNet(seed=0).loss(X, y)


def test_labels_may_be_ints_bools_or_floats(rng):
    X = rng.standard_normal((4, 2))
    net = TwoLayerNet(seed=0)
    values = {net.loss(X, y) for y in ([0, 1, 1, 0], [False, True, True, False], [0.0, 1.0, 1.0, 0.0])}
    assert len(values) == 1


def test_backward_before_loss():
    with pytest.raises(RuntimeError, match="before loss"):
        TwoLayerNet(seed=0).backward()


def test_bad_constructor_arguments():
    for kw in ({"hidden_dim": 0}, {"input_dim": 1.5}, {"dtype": np.int32}):
        with pytest.raises(ValueError):
            TwoLayerNet(**kw)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_load_round_trip_is_bit_identical(tmp_path, dtype):
    X, y = make_circles(100, seed=1)
    net = TwoLayerNet(seed=2, hidden_bias=True, hidden_dim=5, dtype=dtype)
    train(net, X, y, epochs=3, seed=0)
    path = net.save(tmp_path / "sub" / "m.npz")
    loaded = TwoLayerNet.load(path)
    assert loaded.config() == net.config() and loaded.dtype == net.dtype
    np.testing.assert_array_equal(loaded.predict_proba(X), net.predict_proba(X))  # on raw points
    np.testing.assert_array_equal(gather(loaded.params), gather(net.params))
    assert [p.name for p in tmp_path.joinpath("sub").iterdir()] == ["m.npz"]  # no temp file left


def test_load_refuses_what_is_not_a_model(tmp_path):
    text = tmp_path / "a.npz"
    text.write_text("1,2,0\n")
    other = tmp_path / "other.npz"
    np.savez(other, w=np.ones(3))
    good = TwoLayerNet(seed=0).save(tmp_path / "good.npz")
    trunc = tmp_path / "trunc.npz"
    trunc.write_bytes(good.read_bytes()[:200])
    for path, match in ((text, "not a model file"), (other, "no format marker"), (trunc, "not a model file")):
        with pytest.raises(ValueError, match=match):
            TwoLayerNet.load(path)
    with pytest.raises(FileNotFoundError):
        TwoLayerNet.load(tmp_path / "missing.npz")


def test_load_refuses_mismatched_shapes(tmp_path):
    path = TwoLayerNet(seed=0).save(tmp_path / "m.npz")
    with np.load(path) as f:
        data = dict(f)
    data["param:w2"] = np.ones((4, 1))
    np.savez(path, **data)
    with pytest.raises(ValueError, match="'w2' has shape"):
        TwoLayerNet.load(path)


def test_save_refuses_non_finite_parameters_and_leaves_nothing(tmp_path):
    net = TwoLayerNet(seed=0)
    net.params["b"][0] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        net.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_save_does_not_clobber_on_failure(tmp_path, monkeypatch):
    path = TwoLayerNet(seed=0).save(tmp_path / "m.npz")
    before = path.read_bytes()
    monkeypatch.setattr(np, "savez", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
    with pytest.raises(OSError):
        TwoLayerNet(seed=1).save(path)
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["m.npz"]
