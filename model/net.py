"""The seed's network, ``p = sigmoid(relu(X @ w1) @ w2 + b)``, built from the layer classes."""

import copy
import zipfile

import numpy as np

from scipy.special import expit

from layers import BCELoss, Linear, ReLU, Sigmoid, SigmoidBCELoss
from layers.losses import bce_with_logits
from layers._validation import check_binary, check_finite

from ._atomic import atomic_write

FORMAT = "cs231n-handprop/TwoLayerNet/1"


class TwoLayerNet:
    """``Linear(D, H, bias=hidden_bias) → ReLU → Linear(H, 1) → Sigmoid`` with ``BCELoss``.

    Parameters
    ----------
    input_dim : int, default 2 (the seed's D)
    hidden_dim : int, default 3 (the seed's H)
    hidden_bias : bool, default False; the seed's first layer has no bias.
    fused : bool, default False; replace Sigmoid + BCELoss by ``SigmoidBCELoss`` on the logits.
    seed : None, int or numpy.random.Generator, for the He-initialised weights.
    dtype : numpy float dtype, default float64. Inputs are cast to it at the boundary.

    Attributes
    ----------
    params, grads : dict of str -> ndarray
        ``"w1"`` (D, H), ``"w2"`` (H, 1), ``"b"`` (1,) and, with a hidden bias, ``"b1"`` (H,). They are
        the layers' own arrays, and all are views into one flat vector ``theta`` (``grad_theta`` for
        the gradients), so an in-place update of either view changes the network.
    x_mean, x_scale : ndarray (D,)
        Input standardisation applied first, ``(X - x_mean) / x_scale`` (identity by default; the
        training loop fits it on the training data). Saved with the model, so a loaded model takes
        raw points.
    """

    def __init__(self, input_dim=2, hidden_dim=3, hidden_bias=False, fused=False, seed=None, dtype=np.float64):
        self.input_dim, self.hidden_dim = _positive_int(input_dim, "input_dim"), _positive_int(hidden_dim, "hidden_dim")
        self.hidden_bias, self.fused = bool(hidden_bias), bool(fused)
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise ValueError(f"dtype must be a floating type, got {self.dtype}")
        rng = np.random.default_rng(seed)
        self.fc1 = Linear(self.input_dim, self.hidden_dim, bias=self.hidden_bias, rng=rng, dtype=self.dtype)
        self.relu = ReLU()
        self.fc2 = Linear(self.hidden_dim, 1, rng=rng, dtype=self.dtype)
        self.sigmoid = None if self.fused else Sigmoid()
        self.criterion = SigmoidBCELoss() if self.fused else BCELoss()
        self._bind_flat_parameters()
        self.x_mean = np.zeros(self.input_dim, dtype=self.dtype)
        self.x_scale = np.ones(self.input_dim, dtype=self.dtype)
        self._scaled = False  # True once a non-identity standardisation is set

    # -------------------------------------------------------------- parameters

    def _slots(self):
        """(seed name, layer, layer's key) for every parameter, in ``theta`` order."""
        slots = [("w1", self.fc1, "W")]
        if self.hidden_bias:
            slots.append(("b1", self.fc1, "b"))
        return slots + [("w2", self.fc2, "W"), ("b", self.fc2, "b")]

    def _bind_flat_parameters(self):
        slots = self._slots()
        total = sum(layer.params[key].size for _, layer, key in slots)
        self.theta = np.empty(total, dtype=self.dtype)
        self.grad_theta = np.zeros(total, dtype=self.dtype)
        self.params, self.grads = {}, {}
        start = 0
        for name, layer, key in slots:
            shape, size = layer.params[key].shape, layer.params[key].size
            view = self.theta[start:start + size].reshape(shape)
            view[...] = layer.params[key]
            layer.params[key] = self.params[name] = view
            layer.grads[key] = self.grads[name] = self.grad_theta[start:start + size].reshape(shape)
            start += size

    def set_standardization(self, mean, scale):
        """Set the input shift and scale, each of shape (D,), scale > 0."""
        mean, scale = np.asarray(mean, dtype=self.dtype), np.asarray(scale, dtype=self.dtype)
        if mean.shape != (self.input_dim,) or scale.shape != (self.input_dim,):
            raise ValueError(f"mean and scale must have shape ({self.input_dim},), got {mean.shape} and {scale.shape}")
        if not (np.isfinite(mean).all() and np.isfinite(scale).all() and (scale > 0).all()):
            raise ValueError("mean must be finite and scale finite and > 0")
        self.x_mean[...], self.x_scale[...] = mean, scale
        self._scaled = bool(self.x_mean.any() or (self.x_scale != 1).any())

    def standardize(self, X):
        """``(X - x_mean) / x_scale`` (a new array), or ``X`` itself when the standardisation is the identity.

        The training loop calls this once on the whole data set and then passes
        ``standardize=False`` to ``loss``, so no step copies the data.
        """
        return (X - self.x_mean) / self.x_scale if self._scaled else X

    # -------------------------------------------------------------- validation at the public boundary

    def check_X(self, X):
        """Return ``X`` as a (N, D) array of ``self.dtype``, or raise ``ValueError`` saying why not."""
        X = np.asarray(X)
        if X.dtype.kind not in "fiub":
            raise ValueError(f"X must be numeric, got dtype {X.dtype}")
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (N, {self.input_dim}), got shape {X.shape}")
        if X.shape[1] != self.input_dim:
            raise ValueError(f"X must have {self.input_dim} columns (input_dim), got {X.shape[1]}")
        if X.shape[0] < 1:
            raise ValueError("X is empty: need at least one sample")
        X = X.astype(self.dtype, copy=False)
        check_finite(X, "X")
        return X

    def check_Xy(self, X, y):
        """Validate a labelled batch: ``X`` as in ``check_X``, ``y`` N labels each 0 or 1."""
        X = self.check_X(X)
        y = np.asarray(y)
        if y.ndim != 1 or y.shape[0] != X.shape[0]:
            raise ValueError(f"y must have shape ({X.shape[0]},) to match X, got {y.shape}")
        if y.dtype.kind not in "fiub":
            raise ValueError(f"y must be numeric 0/1 labels, got dtype {y.dtype}")
        check_binary(y)
        return X, y.astype(self.dtype, copy=False)

    # -------------------------------------------------------------- forward, loss, backward

    def _logits(self, X, standardize=True):
        if standardize:
            X = self.standardize(X)
        h = self.relu.forward(self.fc1.forward(X))
        return self.fc2.forward(h)

    def _inference_logits(self, X, standardize=True):
        """Logits for prediction, leaving the caches of the last ``loss`` intact for ``backward``."""
        layers = (self.fc1, self.relu, self.fc2)
        saved = [layer.cache for layer in layers]
        try:
            return self._logits(X, standardize)
        finally:
            for layer, cache in zip(layers, saved):
                layer.cache = cache

    def loss(self, X, y, check_input=True, standardize=True):
        """Forward pass and mean binary cross-entropy, caching everything ``backward`` needs.

        Parameters
        ----------
        X : array_like (N, D); y : array_like (N,) of 0/1
        check_input : bool, default True. False skips validation, for a caller (the training loop)
            that validated the data once already.
        standardize : bool, default True. False means ``X`` was already passed through
            ``standardize`` (the training loop does that once for the whole data set).

        Returns
        -------
        float
        """
        if check_input:
            X, y = self.check_Xy(X, y)
        z = self._logits(X, standardize)
        out = z if self.fused else self.sigmoid.forward(z)
        # explicit (N,) -> (N, 1): the losses never broadcast
        return self.criterion.forward(out, y.reshape(-1, 1), check_input=check_input)

    def backward(self, input_grad=True):
        """Backpropagate from the last ``loss``; fill ``grads`` and return dℓ/dX of shape (N, D).

        ``input_grad=False`` skips dℓ/dX (returns None); training never needs it.
        """
        if self.criterion.cache is None:
            raise RuntimeError("TwoLayerNet.backward() called before loss(): nothing to differentiate")
        g = self.criterion.backward(1.0)  # step 1 (fused: steps 1 and 2), dℓ/dp: (N, 1)
        if not self.fused:
            g = self.sigmoid.backward(g)  # step 2, dℓ/dz: (N, 1)
        g = self.fc2.backward(g)  # step 3, dℓ/dw2 (H, 1), dℓ/db (1,); returns dℓ/dh: (N, H)
        g = self.relu.backward(g)  # step 4, dℓ/d(Xw1): (N, H)
        g = self.fc1.backward(g, input_grad)  # step 5, dℓ/dw1 (D, H); returns dℓ/dX_std: (N, D)
        if g is None:
            return None
        return g / self.x_scale if self._scaled else g

    def kink_state(self):
        """Which hidden units were active in the last forward pass (for gradient checks)."""
        return self.relu.kink_state()

    # -------------------------------------------------------------- prediction

    def predict_proba(self, X):
        """P(class 1) for each raw point: X (N, D) -> (N,)."""
        z = self._inference_logits(self.check_X(X))
        return expit(z).ravel()

    def predict(self, X):
        """Class 0/1 for each raw point: X (N, D) -> (N,) int."""
        z = self._inference_logits(self.check_X(X))
        return (z.ravel() > 0).astype(np.int64)

    def evaluate(self, X, y, standardize=True):
        """``{"loss", "accuracy", "n"}`` on a labelled set (``standardize`` as in ``loss``)."""
        X, y = self.check_Xy(X, y)
        z = self._inference_logits(X, standardize).ravel()
        return {"loss": bce_with_logits(z, y), "accuracy": float(np.mean((z > 0) == (y > 0.5))), "n": int(len(y))}

    # -------------------------------------------------------------- copies, saving, loading

    def config(self):
        return {"input_dim": self.input_dim, "hidden_dim": self.hidden_dim, "hidden_bias": self.hidden_bias,
                "fused": self.fused}

    def astype(self, dtype):
        """A deep copy of this network (same layer objects' kinds) with everything in ``dtype``."""
        new = copy.deepcopy(self)
        new.dtype = np.dtype(dtype)
        new._bind_flat_parameters()
        new.x_mean, new.x_scale = new.x_mean.astype(dtype), new.x_scale.astype(dtype)
        return new

    def __deepcopy__(self, memo):
        # A plain deep copy keeps every layer (even a replaced one) but cuts the parameter views
        # loose from ``theta``; bind them to a fresh flat vector again.
        new = type(self).__new__(type(self))
        memo[id(self)] = new
        new.__dict__ = copy.deepcopy(self.__dict__, memo)
        new._bind_flat_parameters()
        return new

    def save(self, path):
        """Write the parameters, architecture and standardisation to an ``.npz``, atomically."""
        arrays = {f"param_{k}": v for k, v in self.params.items()}
        arrays.update(format=np.array(FORMAT), x_mean=self.x_mean, x_scale=self.x_scale,
                      dtype=np.array(self.dtype.name),
                      **{k: np.array(v) for k, v in self.config().items()})
        if not np.isfinite(self.theta).all():
            raise ValueError("refusing to save a model with non-finite parameters")
        return atomic_write(path, lambda fh: np.savez(fh, **arrays), suffix=".npz")

    @classmethod
    def load(cls, path):
        """Read a model written by ``save``; ``ValueError`` if the file is not one, or is damaged."""
        try:
            with np.load(path, allow_pickle=False) as f:
                files = {k: f[k] for k in f.files}
        except (ValueError, EOFError, zipfile.BadZipFile, OSError) as exc:
            if isinstance(exc, OSError) and not isinstance(exc, zipfile.BadZipFile) and exc.errno is not None:
                raise  # missing or unreadable: the OS's own words
            raise ValueError(f"{path}: not a model file (an .npz written by TwoLayerNet.save), or damaged") from None
        if not isinstance(files, dict) or str(files.get("format", "")) != FORMAT:
            raise ValueError(f"{path}: not a TwoLayerNet model file (no '{FORMAT}' format marker)")
        try:
            net = cls(input_dim=int(files["input_dim"]), hidden_dim=int(files["hidden_dim"]),
                      hidden_bias=bool(files["hidden_bias"]), fused=bool(files["fused"]), seed=0,
                      dtype=str(files["dtype"]))
            for name, view in net.params.items():
                value = files[f"param_{name}"]
                if value.shape != view.shape:
                    raise ValueError(f"parameter {name!r} has shape {value.shape}, the architecture needs {view.shape}")
                view[...] = value
            net.set_standardization(files["x_mean"], files["x_scale"])
        except KeyError as exc:
            raise ValueError(f"{path}: model file is missing {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from None
        if not np.isfinite(net.theta).all():
            raise ValueError(f"{path}: model parameters are not finite")
        return net

    def __repr__(self):
        c = self.config()
        return (f"TwoLayerNet(input_dim={c['input_dim']}, hidden_dim={c['hidden_dim']}, "
                f"hidden_bias={c['hidden_bias']}, fused={c['fused']}, dtype={self.dtype.name})")


def _positive_int(value, name):
    if isinstance(value, bool) or int(value) != value or int(value) < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)
