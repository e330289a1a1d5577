"""What a person looks at after training: a text picture of the regions and an optional plot.

Both take any classifier with ``predict(X) -> (N,) class indices`` (and, for the plot,
``predict_proba``), with 2 or K classes. Labels ``y`` are class indices 0..K-1 (a ``Dataset``'s ``y``);
``classes``, the original label of each index (``net.classes``, ``Dataset.classes``), only names them.
The plot also draws a regression (a network whose ``target`` is ``"values"``): its predictions against the
true values. What a panel draws is computed by a function of its own (``principal_components``,
``model.metrics.confusion_matrix``, ``predicted_against_true``), which the tests read instead of pixels.
"""

import numpy as np

from layers.standardize import Standardize
from model.metrics import confusion_matrix, r2

#: Region symbols of the ASCII picture, one per predicted class (binary: "." and "#", as before).
REGION_SYMBOLS = ".#+~:=*-^%"
#: Misclassified points of the binary picture, by true class.
BINARY_WRONG = "ox"
#: Misclassified points of a K-class picture are drawn as the digit (or letter) of their true class.
WRONG_SYMBOLS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#: The default feature names' index digits as subscripts: x₀, x₁₂.
SUBSCRIPT = str.maketrans("0123456789", "₀₁₂₃₄₅₆₇₈₉")


def _grid(X, width, height, margin=0.1):
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = (hi - lo) * margin + 1e-9
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], width)
    ys = np.linspace(hi[1] + pad[1], lo[1] - pad[1], height)  # top row = largest y
    return xs, ys


def class_indices(y):
    """``y`` as (N,) class indices, refusing anything that is not an integer ≥ 0 (a ValueError naming it)."""
    y = np.asarray(y).ravel()
    ok = y.dtype.kind in "biu" or (y.dtype.kind == "f" and bool(np.all(y == np.round(y))))
    if not ok or (y.size and y.min() < 0):
        bad = y[0] if not ok else y[y < 0][0]
        raise ValueError(f"labels must be class indices 0..K-1 (a Dataset's y), found {bad!r}")
    return y.astype(np.intp)


def _classes(net, y_idx, pred, classes):
    """(class names, K): ``classes``, else the model's, else 0..K-1 with K from the data and predictions."""
    classes = classes if classes is not None else getattr(net, "classes", None)
    k = max(int(y_idx.max(initial=0)), int(np.max(pred, initial=0))) + 1
    if classes is not None:
        k = max(k, len(classes))
        return [str(c) for c in classes] + [str(i) for i in range(len(classes), k)], k
    return [str(i) for i in range(max(k, 2))], max(k, 2)


def ascii_regions(net, X, y, width=64, height=22, classes=None):
    """The learned decision regions of a 2-D model as text, with the misclassified points marked.

    Binary: ``.`` is predicted class 0, ``#`` class 1, ``o``/``x`` a misclassified point of true class
    0/1. K classes: one region symbol per class (``. # + ~ : = * - ^ %``, then again), and a
    misclassified point shows the digit of its true class. A legend follows the picture, naming the classes
    ``classes`` (default ``net.classes``, else the indices). ``net.predict(X (M, 2))`` gives (M,) class
    indices; ``X`` is (N, 2) and ``y`` (N,) class indices.
    """
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"ascii_regions draws 2-D data, got X of shape {X.shape}")
    y = class_indices(y)
    xs, ys = _grid(X, width, height)
    gx, gy = np.meshgrid(xs, ys)
    grid_pred = np.asarray(net.predict(np.c_[gx.ravel(), gy.ravel()])).reshape(height, width)
    pred = np.asarray(net.predict(X))
    names, k = _classes(net, y, np.concatenate([pred, grid_pred.ravel()]), classes)
    regions = np.array([REGION_SYMBOLS[i % len(REGION_SYMBOLS)] for i in range(k)])
    canvas = regions[grid_pred].astype("<U1")
    wrong_marks = BINARY_WRONG if k == 2 else WRONG_SYMBOLS
    wrong = pred != y
    for (px, py), label in zip(X[wrong], y[wrong], strict=True):
        col = int(np.clip(np.searchsorted(xs, px), 0, width - 1))
        row = int(np.clip(np.searchsorted(-ys, -py), 0, height - 1))
        canvas[row, col] = wrong_marks[label % len(wrong_marks)]
    count = f"({int(wrong.sum())} of {len(y)})"
    if k == 2 and names == ["0", "1"]:
        legend = f"'.' predicted 0, '#' predicted 1, o/x misclassified points of class 0/1 {count}"
    else:
        regions_text = ", ".join(f"'{regions[i]}' predicted {names[i]}" for i in range(k))
        marks = "/".join(wrong_marks[i % len(wrong_marks)] for i in range(k))
        legend = f"{regions_text}; {marks} misclassified points of class {'/'.join(names)} {count}"
    return "\n".join("".join(r) for r in canvas) + "\n" + legend


def _mark_wrong(ax, P, wrong):
    """Misclassified points: a black ring with a cross, over the data."""
    if wrong.any():
        ax.scatter(P[wrong, 0], P[wrong, 1], s=46, facecolors="none", edgecolors="k", linewidths=1.1,
                   label=f"misclassified ({int(wrong.sum())})", zorder=4)
        ax.scatter(P[wrong, 0], P[wrong, 1], s=16, c="k", marker="x", linewidths=0.9, zorder=4)


def _regions(ax, net, X, y, names, colours):
    """The plane coloured by prediction (``plot_run`` says how), the points ``X`` (N, 2) by true class."""
    k = len(names)
    gx, gy = np.meshgrid(*_grid(X, 300, 300))
    points = np.c_[gx.ravel(), gy.ravel()]
    if k == 2:
        prob = np.asarray(net.predict_proba(points))
        prob = (prob[:, 1] if prob.ndim == 2 else prob).reshape(gx.shape)
        ax.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.55)
        ax.contour(gx, gy, prob, levels=[0.5], colors="k", linewidths=1.5)
        colours, title = ("#2166ac", "#b2182b"), "decision boundary (p = 0.5), P(class 1) shaded"
    else:
        from matplotlib.colors import ListedColormap

        grid = np.asarray(net.predict(points)).reshape(gx.shape)
        ax.contourf(gx, gy, grid, levels=np.arange(k + 1) - 0.5, cmap=ListedColormap(colours), alpha=0.35)
        ax.contour(gx, gy, grid, levels=np.arange(k - 1) + 0.5, colors="k", linewidths=0.8)
        title = f"predicted regions, {k} classes"
    _scatter_by(ax, X, y, names, colours, "class")
    ax.set_title(title)


def _scatter_by(ax, P, which, names, colours, word):
    """Points ``P`` (N, 2) coloured by their class in ``which`` (true or predicted, said by ``word``)."""
    for i, name in enumerate(names):
        sel = which == i
        if sel.any():
            ax.scatter(P[sel, 0], P[sel, 1], color=colours[i], edgecolors="k", s=14, linewidths=0.3,
                       label=f"{word} {name}", zorder=3)


def principal_components(X):
    """The first two principal components of the **standardised** features (each to mean 0 and standard deviation
    1, as the network's ``Standardize`` layer does), so that no feature weighs by its units alone.

    ``X`` (N, D). Returns ``P`` (N, 2), the rows' coordinates on the two components (0 where there is no second);
    ``share`` (2,), each component's share of the total variance; ``loadings`` (2, D), the components themselves.
    """
    X = np.asarray(X, dtype=np.float64)
    Z = Standardize(X.shape[1]).fit(X).forward(X)
    Z = Z - Z.mean(axis=0)  # exactly centred (the layer's mean is one rounding away)
    _, s, vt = np.linalg.svd(Z, full_matrices=False)
    share = s ** 2 / max(float((s ** 2).sum()), 1e-300)
    k = min(2, len(s))
    P = np.zeros((len(X), 2))
    P[:, :k] = Z @ vt[:k].T
    loadings = np.zeros((2, X.shape[1]))
    loadings[:k] = vt[:k]
    return P, np.pad(share[:k], (0, 2 - k)), loadings


def _projection(ax, X, y, pred, names, colours, feature_names):
    """The data on the first two principal components of its standardised features, coloured by prediction."""
    P, share, loadings = principal_components(X)
    _scatter_by(ax, P, pred, names, colours, "predicted")
    _mark_wrong(ax, P, pred != y)
    ax.set(xlabel=f"PC1 ({share[0]:.0%} of the variance)", ylabel=f"PC2 ({share[1]:.0%} of the variance)",
           title=f"principal components of {X.shape[1]} standardised features")
    top = np.argmax(np.abs(loadings), axis=1)
    ax.text(0.01, 0.01, f"PC1 mostly {feature_names[top[0]]}, PC2 mostly {feature_names[top[1]]}",
            transform=ax.transAxes, fontsize=8, color="0.35")


def _strip(ax, X, y, pred, names, colours, feature_names):
    """One feature: its values along x, each point at the height of its true class, coloured by prediction."""
    jitter = np.random.default_rng(0).uniform(-0.15, 0.15, len(y))  # fixed seed: the same picture every time
    P = np.c_[X[:, 0], y + jitter]
    _scatter_by(ax, P, pred, names, colours, "predicted")
    _mark_wrong(ax, P, pred != y)
    ax.set_yticks(range(len(names)), names)
    ax.set(xlabel=feature_names[0], ylabel="true class", title="1 feature: points by true class")


def _confusion(ax, y, pred, names, where):
    """The confusion matrix of ``y`` and ``pred`` (class indices) as a grid of counts, titled with ``where`` they
    are from."""
    k = len(names)
    m = confusion_matrix(y, pred, k)
    ax.imshow(m, cmap="Blues")
    for (i, j), count in np.ndenumerate(m):
        ax.text(j, i, str(count), ha="center", va="center", color="white" if count > m.max() / 2 else "black",
                fontsize=10)
    ax.set_xticks(range(k), names)
    ax.set_yticks(range(k), names)
    acc = np.trace(m) / max(m.sum(), 1)
    ax.set(xlabel="predicted class", ylabel="true class",
           title=f"confusion matrix, {where}\n({m.sum()} rows, accuracy {acc:.3f})")


def predicted_against_true(net, X, y):
    """``(true, predicted)``, each (N,), of a regression network ``net`` on ``X`` (N, D) with targets ``y`` (N,)."""
    return np.asarray(y, dtype=np.float64).reshape(-1), np.asarray(net.predict(X), dtype=np.float64).reshape(-1)


def _regression(ax, net, X, y, where):
    """Predictions against true values, with the diagonal where they would be equal."""
    true, predicted = predicted_against_true(net, X, y)
    ax.scatter(true, predicted, s=14, color="#2166ac", edgecolors="k", linewidths=0.3, zorder=3)
    lo, hi = float(min(true.min(), predicted.min())), float(max(true.max(), predicted.max()))
    ax.plot([lo, hi], [lo, hi], color="0.4", linewidth=1, label="predicted = true")
    ax.set(xlabel="true value", ylabel="predicted value",
           title=f"predicted against true, {where}\n({len(true)} rows, R² {r2(true, predicted):.3f})")
    ax.legend(fontsize=8, loc="best")


def _curves(axes, history, accuracy=True):
    """The loss curves on ``axes[0]`` and, with ``accuracy``, the accuracy curves on ``axes[1]``."""
    panels = (("loss", "loss", "log"), ("acc", "accuracy", "linear"))[:2 if accuracy else 1]
    for ax, (key, name, scale) in zip(axes, panels, strict=True):
        ax.plot(history.epoch, getattr(history, f"train_{key}"), label="train")
        ax.plot(history.epoch, getattr(history, f"val_{key}"), label="validation")
        ax.set(xlabel="epoch", ylabel=name, yscale=scale, title=name)
        ax.legend()
        ax.grid(alpha=0.3)


def plot_run(net, X, y, history, path, feature_names=None, title=None, classes=None, validation=None):
    """Save a PNG of a trained network: what it predicts, and its curves.

    - a classifier on 2 features: the plane coloured by prediction (binary: P(class 1) shaded and the p = 0.5
      boundary; K classes: a region per class), the data by true class, misclassified points ringed;
    - a classifier on more features (or one): the data on the first two principal components of its
      standardised features (``principal_components``; each axis says its share of the variance) coloured
      by prediction, misclassified points ringed, and the confusion matrix of ``validation`` (or, without it,
      of the rows drawn), its title saying which;
    - a regression (``net.target == "values"``): its predictions against the true values of ``validation`` (or
      of the rows given), with R²;
    - then the loss curves, and a classifier's accuracy curves.

    ``net.predict(X)`` gives (N,) class indices (a regression's values) and ``net.predict_proba(X)`` (N,)
    P(class 1) or (N, K); ``X`` is (N, D), ``y`` (N,) class indices (real targets for a regression);
    ``validation`` None or ``(X_val (M, D), y_val (M,))``, the validation split; ``history`` a
    ``model.training.History`` (None: no curves); ``path`` where the PNG goes (written atomically);
    ``feature_names`` D names for the axes (default x₀, x₁, …); ``title`` default ``net.describe()``;
    ``classes`` the original label of each class index (default ``net.classes``, else 0..K-1). Needs
    matplotlib (the ``plot`` extra). Returns ``path``.
    """
    from model.atomic import atomic_write

    fig = run_figure(net, X, y, history, feature_names, title, classes, validation)
    atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=100), suffix=".png")
    return path


def run_figure(net, X, y, history=None, feature_names=None, title=None, classes=None, validation=None):
    """The matplotlib figure ``plot_run`` saves (arguments as there), made without pyplot: no backend is chosen
    or changed, so it also shows itself in Jupyter, and nothing needs closing."""
    from matplotlib.figure import Figure

    curves = history is not None and len(getattr(history, "epoch", [])) > 0
    regression = getattr(net, "target", None) == "values"
    scored, where = _scored(X, y, validation, regression)
    d = np.shape(X)[1] if np.ndim(X) == 2 else 0
    panels = (1 if regression or d == 2 else 2) + (1 if curves and regression else 2 if curves else 0)
    fig = Figure(figsize=(5.2 * panels, 4.6))
    axes = list(fig.subplots(1, panels, squeeze=False)[0])
    if regression:
        _regression(axes.pop(0), net, *scored, where)
    else:
        _classifier(axes, net, X, y, feature_names, classes, scored, where)
    if curves:
        _curves(axes, history, accuracy=not regression)
    fig.suptitle(title or (net.describe() if callable(getattr(net, "describe", None)) else repr(net)), fontsize=12)
    fig.tight_layout()
    return fig


def _scored(X, y, validation, regression):
    """``((X, y), where)``: the rows a confusion matrix or a regression's panel shows — the validation split when
    there is one (with rows), else the rows drawn — and the words that say which, each checked."""
    where = "validation split"
    if validation is None or len(validation[1]) == 0:
        validation, where = (X, y), "the rows drawn"
    X_s, y_s = np.asarray(validation[0], dtype=np.float64), np.asarray(validation[1])
    if X_s.ndim != 2 or len(X_s) == 0 or len(y_s) != len(X_s):
        raise ValueError(f"plot_run needs rows to score, X (N, D) and y (N,), got shapes {X_s.shape} and {y_s.shape}")
    return (X_s, y_s.astype(np.float64) if regression else class_indices(y_s)), where


def _classifier(axes, net, X, y, feature_names, classes, scored, where):
    """A classifier's panels on ``axes`` (taking what they use): the regions on 2 features, else the projection (or
    the strip of one feature) and the confusion matrix of ``scored``, ``(X, y)`` from ``where``."""
    from matplotlib import colormaps

    X, y, feature_names = _checked(X, y, feature_names)
    pred = np.asarray(net.predict(X))
    scored_pred = np.asarray(net.predict(scored[0]))
    names, k = _classes(net, np.concatenate([y, scored[1]]), np.concatenate([pred, scored_pred]), classes)
    cmap = colormaps["tab10" if k <= 10 else "tab20"]  # K distinct colours, as RGBA rows
    colours = np.array([cmap(i % cmap.N) for i in range(k)])
    ax = axes.pop(0)
    if X.shape[1] == 2:
        _regions(ax, net, X, y, names, colours)
        _mark_wrong(ax, X, pred != y)
        ax.set(xlabel=feature_names[0], ylabel=feature_names[1])
    else:
        (_projection if X.shape[1] > 1 else _strip)(ax, X, y, pred, names, colours, feature_names)
        _confusion(axes.pop(0), scored[1], scored_pred, names, where)
    ax.legend(fontsize=8, loc="best")


def _checked(X, y, feature_names):
    """``X`` (N, D) as floats, ``y`` as N class indices and D feature names (default x₀, x₁, …), or a ValueError."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"plot_run needs X of shape (N, D), got {X.shape}")
    d = X.shape[1]
    feature_names = [f"x{i}".translate(SUBSCRIPT) for i in range(d)] if feature_names is None else list(feature_names)
    if len(feature_names) != d:
        raise ValueError(f"{d} features but {len(feature_names)} feature names")
    y = class_indices(y)
    if len(y) != len(X):
        raise ValueError(f"y has {len(y)} labels for {len(X)} points")
    return X, y, feature_names
