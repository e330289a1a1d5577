"""What a person looks at after training: a text picture of the regions and an optional plot."""

import numpy as np


def _grid(X, width, height, margin=0.1):
    lo, hi = X.min(axis=0), X.max(axis=0)
    pad = (hi - lo) * margin + 1e-9
    xs = np.linspace(lo[0] - pad[0], hi[0] + pad[0], width)
    ys = np.linspace(hi[1] + pad[1], lo[1] - pad[1], height)  # top row = largest y
    return xs, ys


def ascii_regions(net, X, y, width=64, height=22):
    """The learned decision regions of a 2-D model as text, with the misclassified points marked.

    ``.`` is predicted class 0, ``#`` class 1, ``o``/``x`` a misclassified point of true class 0/1.
    """
    X, y = np.asarray(X), np.asarray(y)
    xs, ys = _grid(X, width, height)
    gx, gy = np.meshgrid(xs, ys)
    pred = net.predict(np.c_[gx.ravel(), gy.ravel()]).reshape(height, width)
    canvas = np.where(pred == 1, "#", ".").astype("<U1")
    wrong = net.predict(X) != y
    for (px, py), label in zip(X[wrong], y[wrong]):
        col = int(np.clip(np.searchsorted(xs, px), 0, width - 1))
        row = int(np.clip(np.searchsorted(-ys, -py), 0, height - 1))
        canvas[row, col] = "x" if label == 1 else "o"
    legend = f"'.' predicted 0, '#' predicted 1, o/x misclassified points of class 0/1 ({int(wrong.sum())} of {len(y)})"
    return "\n".join("".join(r) for r in canvas) + "\n" + legend


def plot_run(net, X, y, history, path):
    """Save a PNG: decision boundary with the data, and the loss and accuracy curves.

    Needs matplotlib (the ``plot`` extra). Written atomically.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from model._atomic import atomic_write

    fig, (ax0, ax1, ax2) = plt.subplots(1, 3, figsize=(15, 4.5))
    if X.shape[1] == 2:
        xs, ys = _grid(X, 300, 300)
        gx, gy = np.meshgrid(xs, ys)
        prob = net.predict_proba(np.c_[gx.ravel(), gy.ravel()]).reshape(gx.shape)
        ax0.contourf(gx, gy, prob, levels=np.linspace(0, 1, 11), cmap="RdBu_r", alpha=0.6)
        ax0.contour(gx, gy, prob, levels=[0.5], colors="k", linewidths=1.5)
        ax0.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r", edgecolors="k", s=12, linewidths=0.3)
        ax0.set_title("decision boundary (p = 0.5) and data")
    else:
        ax0.text(0.5, 0.5, f"{X.shape[1]}-D data: no boundary picture", ha="center", va="center")
        ax0.set_axis_off()
    ax1.plot(history.epoch, history.train_loss, label="train")
    ax1.plot(history.epoch, history.val_loss, label="validation")
    ax1.set(xlabel="epoch", ylabel="BCE loss", yscale="log", title="loss")
    ax2.plot(history.epoch, history.train_acc, label="train")
    ax2.plot(history.epoch, history.val_acc, label="validation")
    ax2.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
    for ax in (ax1, ax2):
        ax.legend()
        ax.grid(alpha=0.3)
    fig.tight_layout()
    atomic_write(path, lambda fh: fig.savefig(fh, format="png", dpi=100), suffix=".png")
    plt.close(fig)
    return path
