import numpy as np
import pytest

from data import DATASETS, Standardizer, load_csv, make_circles, make_moons, make_xor, train_val_split


@pytest.mark.parametrize("name", list(DATASETS))
@pytest.mark.parametrize("n", [2, 7, 300])
def test_generators_shapes_types_balance_and_seeding(name, n):
    X, y = DATASETS[name](n, seed=3)
    assert X.shape == (n, 2) and X.dtype == np.float64 and y.shape == (n,) and y.dtype == np.int64
    assert set(np.unique(y)) <= {0, 1} and abs(int(y.sum()) - n / 2) <= 1 + 0.1 * n * (name == "xor")
    X2, y2 = DATASETS[name](n, seed=3)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    if n > 2:  # two points of the spiral both sit at its centre, whatever the seed
        assert not np.array_equal(DATASETS[name](n, seed=4)[0], X)


def test_circles_geometry_without_noise():
    X, y = make_circles(100, noise=0.0, factor=0.3, seed=0)
    r = np.hypot(X[:, 0], X[:, 1])
    np.testing.assert_allclose(r[y == 0], 1.0)
    np.testing.assert_allclose(r[y == 1], 0.3)


def test_moons_follow_the_sklearn_formula_without_noise():
    X, y = make_moons(10, noise=0.0, seed=0, shuffle=False)
    t = np.linspace(0, np.pi, 5)
    np.testing.assert_allclose(X[y == 0], np.c_[np.cos(t), np.sin(t)], atol=1e-15)
    np.testing.assert_allclose(X[y == 1], np.c_[1 - np.cos(t), 1 - np.sin(t) - 0.5], atol=1e-15)


def test_xor_labels_are_the_xor_of_the_signs_without_noise():
    X, y = make_xor(200, noise=0.0, seed=0)
    np.testing.assert_array_equal(y, (X[:, 0] > 0) ^ (X[:, 1] > 0))
    assert np.abs(X).min() >= 0.1


@pytest.mark.parametrize("kw", [{"n_samples": 1}, {"noise": -1.0}, {"noise": np.nan}])
def test_generators_refuse_bad_arguments(kw):
    args = {"n_samples": 10, **kw}
    with pytest.raises(ValueError):
        make_circles(**args)


def test_split_is_stratified_disjoint_complete_and_seeded():
    X = np.arange(200, dtype=float).reshape(100, 2)
    y = np.r_[np.zeros(80, int), np.ones(20, int)]
    Xt, Xv, yt, yv = train_val_split(X, y, 0.25, seed=0)
    assert len(yv) == 25 and yv.sum() == 5 and yt.sum() == 15
    rows = np.vstack([Xt, Xv])[:, 0]
    assert sorted(rows) == sorted(X[:, 0])
    again = train_val_split(X, y, 0.25, seed=0)
    np.testing.assert_array_equal(again[1], Xv)


def test_split_without_validation_and_bad_fraction():
    X, y = np.ones((10, 2)), np.r_[np.zeros(5), np.ones(5)]
    Xt, Xv, _, _ = train_val_split(X, y, 0.0, seed=0)
    assert len(Xt) == 10 and len(Xv) == 0
    for bad in (-0.1, 1.0):
        with pytest.raises(ValueError, match="val_fraction"):
            train_val_split(X, y, bad)


def test_standardizer():
    X = np.c_[np.arange(5.0), np.full(5, 3.0)]
    s = Standardizer().fit(X)
    Z = s.transform(X)
    np.testing.assert_allclose(Z.mean(axis=0), 0, atol=1e-15)
    np.testing.assert_allclose(Z[:, 0].std(), 1)
    assert s.scale_[1] == 1.0  # constant column is not divided by zero


# --- CSV


def write(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_with_header_blank_lines_and_any_width(tmp_path):
    X, y = load_csv(write(tmp_path, "a,b,c,label\n1,2,3,0\n\n4.5, -5e-1 ,6,1\n"))
    np.testing.assert_array_equal(X, [[1, 2, 3], [4.5, -0.5, 6]])
    np.testing.assert_array_equal(y, [0, 1])
    assert y.dtype == np.int64


def test_csv_without_header_and_one_feature(tmp_path):
    X, y = load_csv(write(tmp_path, "0.5,1\n-1,0.0\n"))
    assert X.shape == (2, 1) and list(y) == [1, 0]


@pytest.mark.parametrize("text,match", [
    ("", "empty"),
    ("\n\n", "empty"),
    ("x,y,label\n", "line 1: a header but no data"),
    ("x,y,label\n1,2,0\n1,2\n", "line 3: expected 3 columns, got 2"),
    ("1,2,0\n1,2,0,1\n", "line 2: expected 3 columns, got 4"),
    ("x,y,label\n1,2,0\n1,abc,1\n", "line 3, column 2: 'abc' is not a number"),
    ("1,2,0\n1,nan,1\n", "line 2, column 2: 'nan' is not finite"),
    ("1,2,0\n\n1,inf,1\n", "line 3, column 2: 'inf' is not finite"),
    ("1,2,0\n1,2,2\n", "line 2: label '2' is not 0 or 1"),
    ("1,2,0\n1,2,0.5\n", "line 2: label '0.5' is not 0 or 1"),
    ("1\n0\n", "line 1: need at least one feature"),
])
def test_csv_errors_name_the_file_and_line(tmp_path, text, match):
    path = write(tmp_path, text)
    with pytest.raises(ValueError, match=match) as info:
        load_csv(path)
    assert str(path) in str(info.value)


def test_csv_binary_file_and_missing_file(tmp_path):
    p = tmp_path / "bin.csv"
    p.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(ValueError, match="not a text CSV"):
        load_csv(p)
    with pytest.raises(FileNotFoundError):
        load_csv(tmp_path / "missing.csv")
