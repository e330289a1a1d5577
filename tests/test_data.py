"""The data package: the toy generators, the stratified split, ``Dataset`` and the CSV loader's basics."""

import re
import warnings

import numpy as np
import pytest

from data import (DATASETS, MULTICLASS_DATASETS, Dataset, load_csv, make_blobs, make_circles, make_dataset,
                  make_moons, make_spiral, make_xor, train_val_split)
from data.synthetic import MAX_NOISE
from layers.validation import ParameterError


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


@pytest.mark.parametrize("kw", [{"n_samples": 1}, {"n_samples": 10.0}, {"n_samples": True}, {"noise": -1.0},
                                {"noise": np.nan}, {"noise": np.inf}, {"noise": MAX_NOISE * 10}])
def test_generators_refuse_bad_arguments_naming_them(kw):
    args = {"n_samples": 10, **kw}
    with pytest.raises(ParameterError) as info:
        make_circles(**args)
    (param,) = kw
    assert (info.value.owner, info.value.param) == ("make_circles", param)
    assert str(info.value).startswith(f"make_circles: {param} must be ")


@pytest.mark.parametrize("name", list(DATASETS))
def test_the_largest_noise_makes_data_that_standardises_without_overflow(name):
    X, _ = DATASETS[name](1000, noise=MAX_NOISE, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scale = X.std(axis=0)
    assert np.isfinite(X).all() and np.isfinite(scale).all() and (scale > 0).all()


def test_make_dataset_is_the_generator_by_name():
    for name in DATASETS:
        X, y = make_dataset(name, 50, seed=3)
        X2, y2 = DATASETS[name](50, seed=3)
        np.testing.assert_array_equal(X, X2)
        np.testing.assert_array_equal(y, y2)
    X, y = make_dataset("blobs", 30, noise=0.0, seed=1, classes=3)
    np.testing.assert_array_equal(X, make_blobs(30, noise=0.0, seed=1, classes=3)[0])


def test_make_dataset_refuses_classes_for_a_two_class_generator_and_unknown_names():
    with pytest.raises(ParameterError, match="classes applies to spiral, blobs; circles has two classes") as info:
        make_dataset("circles", 10, classes=3)
    assert info.value.param == "classes"
    with pytest.raises(ValueError, match="unknown dataset 'mnist'"):
        make_dataset("mnist")


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
    for bad in (-0.1, 1.0, np.nan):
        with pytest.raises(ParameterError, match="val_fraction must be in") as info:
            train_val_split(X, y, bad)
        assert info.value.param == "val_fraction"
    with pytest.raises(ParameterError, match="val_fraction leaves no training samples out of 2"):
        train_val_split(np.ones((2, 1)), np.array([0, 1]), 0.9)


# --- K-class generators


@pytest.mark.parametrize("name", MULTICLASS_DATASETS)
@pytest.mark.parametrize("k,n", [(3, 7), (3, 300), (5, 5), (4, 101)])
def test_multiclass_generators_label_every_class_evenly_and_are_seeded(name, k, n):
    X, y = DATASETS[name](n, seed=1, classes=k)
    assert X.shape == (n, 2) and X.dtype == np.float64 and X.flags.c_contiguous
    assert y.dtype == np.int64 and set(np.unique(y)) == set(range(k))
    counts = np.bincount(y, minlength=k)
    assert counts.max() - counts.min() <= 1 and counts.sum() == n
    X2, y2 = DATASETS[name](n, seed=1, classes=k)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


@pytest.mark.parametrize("name", MULTICLASS_DATASETS)
def test_two_classes_is_the_default(name):
    X, y = DATASETS[name](50, seed=9)
    X2, y2 = DATASETS[name](50, seed=9, classes=2)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)


def test_multiclass_names_and_binary_generators_refuse_classes():
    assert set(MULTICLASS_DATASETS) < set(DATASETS)
    for name in set(DATASETS) - set(MULTICLASS_DATASETS):
        with pytest.raises(TypeError):
            DATASETS[name](10, seed=0, classes=3)


@pytest.mark.parametrize("k", [2, 3])
def test_spiral_arms_follow_the_cs231n_formula_without_noise(k):
    turns = 4.0
    X, y = make_spiral(6 * k, noise=0.0, seed=0, classes=k, shuffle=False)
    for j in range(k):
        r = np.linspace(0.0, 1.0, 6)
        t = np.linspace(j * turns, (j + 1) * turns, 6)  # arm j covers [j·turns, (j+1)·turns]
        np.testing.assert_allclose(X[y == j], np.c_[r * np.sin(t), r * np.cos(t)], atol=1e-15)


def test_blob_default_centres_two_classes_exact_and_k_on_a_circle():
    X, y = make_blobs(4, noise=0.0, seed=0, shuffle=False)
    np.testing.assert_array_equal(X, [[-2, -2], [-2, -2], [2, 2], [2, 2]])  # the two-class centres
    k = 5
    X, y = make_blobs(3 * k, noise=0.0, seed=0, classes=k, shuffle=False)
    centres = np.array([X[y == j][0] for j in range(k)])
    np.testing.assert_allclose(np.hypot(*centres.T), 2 * np.sqrt(2))
    steps = np.diff(np.unwrap(np.arctan2(centres[:, 1], centres[:, 0])))
    np.testing.assert_allclose(steps, 2 * np.pi / k)  # evenly spaced
    for j in range(k):
        np.testing.assert_array_equal(X[y == j], np.repeat(centres[j:j + 1], 3, axis=0))


def test_blobs_use_given_centres_and_refuse_ones_that_do_not_fit():
    centres = [[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]]
    X, y = make_blobs(9, noise=0.0, seed=0, classes=3, centers=centres, shuffle=False)
    np.testing.assert_array_equal(X[y == 1], [[10.0, 0.0]] * 3)
    with pytest.raises(ValueError, match=re.escape("shape (2, 2) for classes=2, got (3, 2)")):
        make_blobs(9, centers=centres)
    with pytest.raises(ValueError, match="finite"):
        make_blobs(9, classes=3, centers=[[0, 0], [1, np.nan], [2, 2]])


@pytest.mark.parametrize("name", MULTICLASS_DATASETS)
@pytest.mark.parametrize("bad", [1, 0, -3, 2.0, 3.5, True, "3", None])
def test_classes_must_be_an_int_of_at_least_two(name, bad):
    with pytest.raises(ParameterError) as info:
        DATASETS[name](10, classes=bad)
    assert info.value.param == "classes" and ">= 2" in str(info.value) and repr(bad) in str(info.value)


@pytest.mark.parametrize("name", MULTICLASS_DATASETS)
def test_fewer_samples_than_classes_refused(name):
    with pytest.raises(ParameterError) as info:
        DATASETS[name](3, classes=4)
    assert info.value.param == "n_samples" and ">= 4" in str(info.value) and "got 3" in str(info.value)
    DATASETS[name](np.int64(4), classes=np.int64(4))  # numpy integers are ints


# --- Dataset


def test_dataset_holds_checked_arrays_and_does_not_unpack():
    ds = Dataset([[1, 2], [3, 4], [5, 6]], np.array([0, 2, 1], dtype=np.int32), ["a", "b", "c"], ["u", "v"])
    assert ds.X.dtype == np.float64 and ds.X.flags.c_contiguous and ds.y.dtype == np.int64
    assert ds.n_classes == 3 and ds.source == ""
    with pytest.raises(TypeError):
        X, y = ds
    assert repr(ds) == "Dataset(N=3, D=2, classes=['a', 'b', 'c'], feature_names=['u', 'v'])"


@pytest.mark.parametrize("kw,match", [
    ({"X": np.ones(3)}, "X must be 2-D"),
    ({"y": np.array([0, 1])}, re.escape("y must have shape (3,)")),
    ({"y": np.array([0.0, 1.0, 1.0])}, "integer class indices"),
    ({"y": np.array([0, 1, 2])}, re.escape("in [0, 2), got values in [0, 2]")),
    ({"y": np.array([0, -1, 1])}, "must index classes"),
    ({"classes": [1, 1]}, "distinct"),
    ({"feature_names": ["only one"]}, "1 feature names for 2 columns"),
    ({"X": [[1, 2], [np.inf, 0], [0, 0]]}, "NaN or infinity"),
])
def test_dataset_refuses_inconsistent_fields(kw, match):
    args = {"X": np.zeros((3, 2)), "y": np.array([0, 1, 1]), "classes": [0, 1], "feature_names": ["a", "b"],
            "source": "s.csv", **kw}
    with pytest.raises(ValueError, match=match) as info:
        Dataset(**args)
    assert str(info.value).startswith("s.csv: ")


def test_dataset_from_arrays_sorts_integer_labels():
    ds = Dataset.from_arrays(np.zeros((4, 2)), [5, -1, 5, 3], source="gen")
    assert ds.classes == [-1, 3, 5] and all(type(c) is int for c in ds.classes)
    np.testing.assert_array_equal(ds.y, [2, 0, 2, 1])
    assert ds.feature_names == ["x0", "x1"]
    X, y = make_spiral(30, seed=0, classes=3)
    ds = Dataset.from_arrays(X, y)
    np.testing.assert_array_equal(ds.y, y)
    assert ds.classes == [0, 1, 2]
    with pytest.raises(ValueError, match="labels must be integers"):
        Dataset.from_arrays(np.zeros((2, 1)), [0.5, 1.0])


# --- CSV (the loader's own file tests are in tests/test_csv.py)


def write(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_csv_with_header_blank_lines_and_any_width(tmp_path):
    ds = load_csv(write(tmp_path, "a,b,c,label\n1,2,3,0\n\n4.5, -5e-1 ,6,1\n"))
    np.testing.assert_array_equal(ds.X, [[1, 2, 3], [4.5, -0.5, 6]])
    np.testing.assert_array_equal(ds.y, [0, 1])
    assert ds.y.dtype == np.int64 and ds.classes == [0, 1] and ds.feature_names == ["a", "b", "c"]


def test_csv_without_header_and_one_feature(tmp_path):
    ds = load_csv(write(tmp_path, "0.5,1\n-1,0.0\n"))
    assert ds.X.shape == (2, 1) and list(ds.y) == [1, 0] and ds.feature_names == ["x0"]


def test_csv_labels_other_than_0_and_1_are_classes(tmp_path):
    ds = load_csv(write(tmp_path, "1,2,0\n1,2,2\n"))
    assert ds.classes == [0, 2] and list(ds.y) == [0, 1]


@pytest.mark.parametrize("text,parts", [
    ("", ["empty"]),
    ("\n\n", ["empty"]),
    ("x,y,label\n", ["line 1:", "no data"]),
    ("x,y,label\n1,2,0\n1,2\n", ["line 3:", "3 columns", "got 2"]),
    ("1,2,0\n1,2,0,1\n", ["line 2:", "3 columns", "got 4"]),
    ("x,y,label\n1,2,0\n1,abc,1\n", ["line 3, column 1 ('y', counting from 0):", "'abc'", "not a number"]),
    ("1,2,0\n1,nan,1\n", ["line 2, column 1 ('x1', counting from 0):", "'nan'", "not finite"]),
    ("1,2,0\n\n1,inf,1\n", ["line 3, column 1 ('x1', counting from 0):", "'inf'", "not finite"]),
    ("1,2,0\n1,2,0.5\n", ["line 2, column 2 ('label', counting from 0):", "'0.5'", "non-integral"]),
    ("1\n0\n", ["line 1:", "feature column", "1 column"]),
])
def test_csv_errors_name_the_file_and_line(tmp_path, text, parts):
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as info:
        load_csv(path)
    assert str(info.value).startswith(f"{path}: ") and all(part in str(info.value) for part in parts)


def test_csv_binary_file_and_missing_file(tmp_path):
    p = tmp_path / "bin.csv"
    p.write_bytes(b"\xff\xfe\x00\x81garbage")
    with pytest.raises(ValueError, match="line 1: not a text CSV"):
        load_csv(p)
    with pytest.raises(FileNotFoundError):
        load_csv(tmp_path / "missing.csv")
