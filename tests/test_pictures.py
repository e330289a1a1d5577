"""The pictures after training: the ASCII regions for 2 or K classes, and the matplotlib figure for
binary, K-class and D > 2 data (on a small fake model, so the tests depend only on the predict API)."""

import numpy as np
import pytest

from app.pictures import (ascii_regions, class_indices, plot_run, predicted_against_true, principal_components,
                          run_figure)
from model.metrics import confusion_matrix, r2
from model.training import History

plt = pytest.importorskip("matplotlib.pyplot",
                          reason="the plot extra; installed with the test extra, so this runs in CI")


class Centroids:
    """A nearest-centroid classifier with the model API the pictures use."""

    def __init__(self, X, y, classes=None):
        self.centres = np.array([X[y == i].mean(axis=0) for i in range(int(y.max()) + 1)])
        self.classes = classes

    def _scores(self, X):
        return -((np.asarray(X)[:, None, :] - self.centres[None]) ** 2).sum(axis=-1)

    def predict(self, X):
        return np.argmax(self._scores(X), axis=1)

    def predict_proba(self, X):
        s = self._scores(X)
        e = np.exp(s - s.max(axis=1, keepdims=True))
        p = e / e.sum(axis=1, keepdims=True)
        return p[:, 1] if len(self.centres) == 2 else p

    def describe(self):
        return f"nearest centroid, {len(self.centres)} classes"


def blobs(rng, n, k, d, spread=1.0):
    y = np.arange(n) % k
    centres = rng.standard_normal((k, d)) * 3
    return centres[y] + rng.standard_normal((n, d)) * spread, y


def history(epochs=5):
    h = History()
    for e in range(1, epochs + 1):
        h.record(e, {"loss": 1.0 / e, "accuracy": 1 - 0.5 / e}, {"loss": 1.1 / e, "accuracy": 1 - 0.6 / e})
    return h


@pytest.fixture
def figure():
    """Build a figure with ``run_figure`` and close it afterwards."""
    made = []

    def build(*args, **kwargs):
        made.append(run_figure(*args, **kwargs))
        return made[-1]

    yield build
    for fig in made:
        plt.close(fig)


def _legend_texts(ax):
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


# ---------------------------------------------------------------- ASCII


def test_ascii_binary_keeps_its_symbols_and_counts_the_misclassified(rng):
    X, y = blobs(rng, 120, 2, 2, spread=2.5)
    net = Centroids(X, y)
    text = ascii_regions(net, X, y)
    picture, legend = text.rsplit("\n", 1)
    wrong = int((net.predict(X) != y).sum())
    assert set(picture) <= set(".#ox\n") and {".", "#"} <= set(picture)
    assert legend.startswith("'.' predicted 0, '#' predicted 1, o/x ") and legend.endswith(f"0/1 ({wrong} of 120)")


def test_ascii_k_classes_has_a_symbol_per_class_and_a_legend_naming_them(rng):
    X, y = blobs(rng, 150, 3, 2, spread=1.5)
    net = Centroids(X, y, classes=["cat", "dog", "eel"])
    picture, legend = ascii_regions(net, X, y).rsplit("\n", 1)
    assert {".", "#", "+"} <= set(picture) and set(picture) <= set(".#+012\n")
    assert "'.' predicted cat, '#' predicted dog, '+' predicted eel" in legend
    wrong = int((net.predict(X) != y).sum())
    assert legend.endswith(f"0/1/2 misclassified points of class cat/dog/eel ({wrong} of 150)")


def test_ascii_refuses_data_that_is_not_2d(rng):
    X, y = blobs(rng, 30, 2, 3)
    with pytest.raises(ValueError, match="2-D data"):
        ascii_regions(Centroids(X, y), X, y)


def test_labels_must_be_class_indices():
    assert class_indices(np.array([0.0, 2.0, 1.0])).tolist() == [0, 2, 1]
    for bad in (np.array([0.5, 1.0]), np.array([-1, 0]), np.array(["a", "b"])):
        with pytest.raises(ValueError, match="class indices"):
            class_indices(bad)


def test_confusion_matrix_counts_true_rows_and_predicted_columns():
    y, pred = np.array([0, 0, 1, 2, 2, 2]), np.array([0, 1, 1, 2, 0, 2])
    m = confusion_matrix(y, pred, 3)
    expected = np.zeros((3, 3), int)
    for t, p in zip(y, pred, strict=True):
        expected[t, p] += 1
    assert (m == expected).all() and m.sum() == len(y)


# ---------------------------------------------------------------- the figure


def test_binary_2d_figure_has_labels_title_boundary_and_misclassified(rng, figure):
    X, y = blobs(rng, 120, 2, 2, spread=2.5)
    net = Centroids(X, y)
    fig = figure(net, X, y, history(), feature_names=["length", "weight"], title="2-3-1 relu; sgd")
    regions, loss, acc = fig.axes[:3]
    assert (regions.get_xlabel(), regions.get_ylabel()) == ("length", "weight")
    assert fig._suptitle.get_text() == "2-3-1 relu; sgd"
    wrong = int((net.predict(X) != y).sum())
    assert wrong > 0 and f"misclassified ({wrong})" in _legend_texts(regions)
    assert "p = 0.5" in regions.get_title()
    assert loss.get_title() == "loss" and acc.get_title() == "accuracy"


def test_default_axis_names_and_title(rng, figure):
    X, y = blobs(rng, 60, 2, 2)
    net = Centroids(X, y)
    fig = figure(net, X, y)
    assert (fig.axes[0].get_xlabel(), fig.axes[0].get_ylabel()) == ("x₀", "x₁")
    assert fig._suptitle.get_text() == net.describe() and len(fig.axes) == 1  # no history: no curves


def test_k_class_2d_figure_colours_a_region_per_class(rng, figure):
    X, y = blobs(rng, 150, 4, 2, spread=2.0)
    net = Centroids(X, y, classes=["a", "b", "c", "d"])
    fig = figure(net, X, y, history())
    ax = fig.axes[0]
    assert "4 classes" in ax.get_title()
    assert [f"class {c}" for c in "abcd"] == [t for t in _legend_texts(ax) if t.startswith("class")]
    filled = [c for c in ax.collections if type(c).__name__ in ("QuadContourSet", "ContourSet")]
    assert filled, "the regions are drawn as a filled contour over the predicted classes"


def test_more_than_two_features_shows_projection_and_confusion_matrix(rng, figure):
    X, y = blobs(rng, 150, 3, 5, spread=2.5)
    net = Centroids(X, y)
    fig = figure(net, X, y, history(), feature_names=[f"f{i}" for i in range(5)])
    proj, conf = fig.axes[0], fig.axes[1]
    assert proj.get_xlabel().startswith("PC1") and proj.get_ylabel().startswith("PC2")
    assert proj.axison and conf.axison  # no blank panel
    m = confusion_matrix(y, net.predict(X), 3)
    shown = sorted(int(t.get_text()) for t in conf.texts)
    assert shown == sorted(m.ravel().tolist())
    assert "the rows drawn" in conf.get_title()  # no validation split given: the matrix says whose rows it counts
    wrong = int((net.predict(X) != y).sum())
    assert f"misclassified ({wrong})" in _legend_texts(proj) or wrong == 0


def test_one_feature_is_drawn_too(rng, figure):
    X, y = blobs(rng, 60, 2, 1)
    fig = figure(Centroids(X, y), X, y, feature_names=["age"])
    assert fig.axes[0].get_xlabel() == "age" and fig.axes[0].get_ylabel() == "true class"


def test_bad_feature_names_are_refused(rng):
    X, y = blobs(rng, 20, 2, 2)
    with pytest.raises(ValueError, match="2 features but 3 feature names"):
        run_figure(Centroids(X, y), X, y, feature_names=["a", "b", "c"])


def test_plot_run_writes_a_png(tmp_path, rng):
    X, y = blobs(rng, 90, 3, 4)
    path = plot_run(Centroids(X, y), X, y, history(), tmp_path / "run.png", title="t")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["run.png"]  # no temporary file left behind


# ---------------------------------------------------------------- what the panels for tables compute


def test_principal_components_are_those_of_the_standardised_features(rng):
    from sklearn.decomposition import PCA
    from sklearn.preprocessing import StandardScaler

    X = rng.standard_normal((80, 4)) @ rng.standard_normal((4, 4))
    X[:, 2] *= 1000  # in other units: on raw features it alone would make PC1
    P, share, loadings = principal_components(X)
    pca = PCA(2).fit(StandardScaler().fit_transform(X))
    np.testing.assert_allclose(share, pca.explained_variance_ratio_, rtol=1e-9)
    expected = pca.transform(StandardScaler().fit_transform(X))
    np.testing.assert_allclose(np.abs(P), np.abs(expected), atol=1e-9)  # each component up to its sign
    assert share[0] < 0.9 and P.shape == (80, 2) and loadings.shape == (2, 4)


def test_the_projection_says_each_components_share(rng, figure):
    X, y = blobs(rng, 90, 3, 4)
    X[:, 0] *= 1e4
    fig = figure(Centroids(X, y), X, y)
    _, share, _ = principal_components(X)
    proj = fig.axes[0]
    assert proj.get_xlabel() == f"PC1 ({share[0]:.0%} of the variance)"
    assert proj.get_ylabel() == f"PC2 ({share[1]:.0%} of the variance)" and "standardised" in proj.get_title()


def test_the_confusion_matrix_counts_the_validation_split_only(rng, figure):
    X, y = blobs(rng, 150, 3, 5, spread=3.0)
    X_val, y_val = blobs(rng, 30, 3, 5, spread=3.0)
    net = Centroids(X, y, classes=["a", "b", "c"])
    conf = figure(net, X, y, validation=(X_val, y_val)).axes[1]
    m = confusion_matrix(y_val, net.predict(X_val), 3)
    assert sorted(int(t.get_text()) for t in conf.texts) == sorted(m.ravel().tolist()) and m.sum() == 30
    assert conf.get_title().startswith("confusion matrix, validation split") and "(30 rows" in conf.get_title()
    assert [t.get_text() for t in conf.get_xticklabels()] == ["a", "b", "c"]


class Line:
    """A regression with the model API the pictures use: ``target`` "values", ``predict`` (N, 1)."""

    target = "values"

    def __init__(self, w, b=0.0):
        self.w, self.b = np.asarray(w, dtype=float), b

    def predict(self, X):
        return (np.asarray(X) @ self.w + self.b)[:, None]

    def describe(self):
        return "a line"


def test_a_regression_draws_predicted_against_true_on_the_validation_split(rng, figure):
    X, X_val = rng.standard_normal((60, 3)), rng.standard_normal((15, 3))
    w = np.array([1.0, -2.0, 0.5])
    y_val = X_val @ w + rng.standard_normal(15) * 0.3
    net = Line(w)
    h = History()
    for e in range(1, 4):
        h.record(e, {"loss": 1.0 / e, "accuracy": None}, {"loss": 1.2 / e, "accuracy": None})
    fig = figure(net, X, X @ w, h, validation=(X_val, y_val))
    assert len(fig.axes) == 2 and fig.axes[1].get_title() == "loss"  # no accuracy for values
    ax = fig.axes[0]
    true, predicted = predicted_against_true(net, X_val, y_val)
    np.testing.assert_allclose(ax.collections[0].get_offsets(), np.c_[true, predicted])
    assert "validation split" in ax.get_title() and f"R² {r2(true, predicted):.3f}" in ax.get_title()
    assert (ax.get_xlabel(), ax.get_ylabel()) == ("true value", "predicted value")


def test_rows_to_score_must_match(rng):
    X, y = blobs(rng, 30, 2, 3)
    with pytest.raises(ValueError, match="rows to score"):
        run_figure(Centroids(X, y), X, y, validation=(X[:5], y[:4]))


def test_train_py_plots_a_regression(tmp_path, capsys):
    import train

    from .conftest import call_main

    csv = tmp_path / "h.csv"
    csv.write_text("a,b,y\n" + "".join(f"{i % 7},{i % 5},{(i % 7) * 2 - i % 5 + 0.1 * (i % 3)}\n" for i in range(40)))
    code, out, err = call_main(train.main, capsys, "--data", csv, "--task", "regression", "--epochs", "3",
                               "--save", tmp_path / "m.npz", "--plot", tmp_path / "r.png")
    assert code == 0, err
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG" and f"saved plot to {tmp_path / 'r.png'}" in out
