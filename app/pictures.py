"""What a person looks at after training: a text picture of the regions and an optional plot.

Both take any classifier with ``predict(X) -> (N,) class indices`` (and, for the plot,
``predict_proba``), with 2 or K classes. Labels ``y`` are class indices 0..K-1 (a ``Dataset``'s ``y``);
``classes``, the original label of each index (``net.classes``, ``Dataset.classes``), only names them.
"""

import numpy as np

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


def _projection(ax, X, y, pred, names, colours, feature_names):
    """The data on its first two principal components, coloured by prediction."""
    Xc = X - X.mean(axis=0)
    _, s, vt = np.linalg.svd(Xc, full_matrices=False)
    P = Xc @ vt[:2].T
    share = s[:2] ** 2 / max(float((s ** 2).sum()), 1e-300)
    _scatter_by(ax, P, pred, names, colours, "predicted")
    _mark_wrong(ax, P, pred != y)
    ax.set(xlabel=f"PC1 ({share[0]:.0%} of the variance)", ylabel=f"PC2 ({share[1]:.0%} of the variance)",
           title=f"{X.shape[1]} features, on their first two principal components")
    top = np.argmax(np.abs(vt[:2]), axis=1)
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


def confusion_matrix(y, pred, k):
    """Counts (K, K): row = true class, column = predicted class."""
    m = np.zeros((k, k), dtype=np.int64)
    np.add.at(m, (np.asarray(y), np.asarray(pred)), 1)
    return m


def _confusion(ax, y, pred, names):
    k = len(names)
    m = confusion_matrix(y, pred, k)
    ax.imshow(m, cmap="Blues")
    for (i, j), count in np.ndenumerate(m):
        ax.text(j, i, str(count), ha="center", va="center", color="white" if count > m.max() / 2 else "black",
                fontsize=10)
    ax.set_xticks(range(k), names)
    ax.set_yticks(range(k), names)
    acc = np.trace(m) / max(m.sum(), 1)
    ax.set(xlabel="predicted class", ylabel="true class", title=f"confusion matrix (accuracy {acc:.3f})")


def _curves(ax_loss, ax_acc, history):
    for ax, key, name, scale in ((ax_loss, "loss", "loss", "log"), (ax_acc, "acc", "accuracy", "linear")):
        ax.plot(history.epoch, getattr(history, f"train_{key}"), label="train")
        ax.plot(history.epoch, getattr(history, f"val_{key}"), label="validation")
        ax.set(xlabel="epoch", ylabel=name, yscale=scale, title=name)
        ax.legend()
        ax.grid(alpha=0.3)


def plot_run(net, X, y, history, path, feature_names=None, title=None, classes=None):
    """Save a PNG of a trained classifier: what it predicts, and the loss and accuracy curves.

    - 2 features: the plane coloured by prediction (binary: P(class 1) shaded and the p = 0.5
      boundary; K classes: a region per class), the data by true class, misclassified points ringed.
    - more features (or one): the data on its first two principal components coloured by prediction,
      misclassified points ringed, and the confusion matrix.

    ``net.predict(X)`` gives (N,) class indices and ``net.predict_proba(X)`` (N,) P(class 1) or (N, K);
    ``X`` is (N, D), ``y`` (N,) class indices; ``history`` a ``model.training.History`` (None: no curves);
    ``path`` where the PNG goes (written atomically); ``feature_names`` D names for the axes (default x₀,
    x₁, …); ``title`` default ``net.describe()``; ``classes`` the original label of each class index
    (default ``net.classes``, else 0..K-1). Needs matplotlib (the ``plot`` extra). Returns ``path``.
    """
    from model.atomic import atomic_write

    fig = run_figure(net, X, y, history, feature_names, title, classes)
    atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=100), suffix=".png")
    return path


def run_figure(net, X, y, history=None, feature_names=None, title=None, classes=None):
    """The matplotlib figure ``plot_run`` saves (arguments as there), made without pyplot: no backend is chosen
    or changed, so it also shows itself in Jupyter, and nothing needs closing."""
    from matplotlib import colormaps
    from matplotlib.figure import Figure

    X, y, feature_names = _checked(X, y, feature_names)
    d = X.shape[1]
    pred = np.asarray(net.predict(X))
    names, k = _classes(net, y, pred, classes)
    cmap = colormaps["tab10" if k <= 10 else "tab20"]  # K distinct colours, as RGBA rows
    colours = np.array([cmap(i % cmap.N) for i in range(k)])
    curves = history is not None and len(getattr(history, "epoch", [])) > 0
    panels = (1 if d == 2 else 2) + (2 if curves else 0)
    fig = Figure(figsize=(5.2 * panels, 4.6))
    axes = list(fig.subplots(1, panels, squeeze=False)[0])
    ax = axes.pop(0)
    if d == 2:
        _regions(ax, net, X, y, names, colours)
        _mark_wrong(ax, X, pred != y)
        ax.set(xlabel=feature_names[0], ylabel=feature_names[1])
    else:
        (_projection if d > 1 else _strip)(ax, X, y, pred, names, colours, feature_names)
        _confusion(axes.pop(0), y, pred, names)
    ax.legend(fontsize=8, loc="best")
    if curves:
        _curves(axes[0], axes[1], history)
    fig.suptitle(title or (net.describe() if callable(getattr(net, "describe", None)) else repr(net)), fontsize=12)
    fig.tight_layout()
    return fig


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
