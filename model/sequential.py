"""``Sequential``: layers run in order, then a loss — the handout's "compose any network".

Each layer computes its own local gradient, so a network is just a list: ``loss`` calls every
``forward`` left to right and the criterion, ``backward`` calls every ``backward`` right to left,
handing each layer the upstream gradient the next one returned. Nothing here is re-derived per
architecture; changing the loss means changing one object.
"""

import copy
import math

import numpy as np

from layers import BCELoss, CrossEntropyLoss, Linear, Sigmoid, Softmax
from layers.validation import check_binary, check_class_labels, check_finite

#: what ``predict``/``evaluate`` make of the network's output, by the criterion's ``target``
BINARY, CLASSES, VALUES = "binary", "classes", "values"


class Sequential:
    """A chain of layers followed by a loss layer.

    Parameters
    ----------
    layers : list of layers
        Each has ``forward(x)``, ``backward(upstream)`` and ``params``/``grads`` dictionaries. Their
        feature widths must chain (a ``Linear(8, 1)`` cannot follow a ``Linear(2, 16)``).
    loss : loss layer
        ``forward(out, y)`` -> float, ``backward()`` -> dℓ/d(out), and a ``target`` of ``"binary"``
        (BCE: labels 0/1), ``"classes"`` (cross-entropy: labels in [0, K)) or ``"values"`` (MSE).
    weight_decay : float >= 0, default 0
        λ of the L2 penalty ``(λ/2) Σ ‖W‖²`` over every ``Linear`` weight (not the biases), added
        inside ``loss`` (and ``λ W`` inside ``backward``) so the gradient checker verifies it, as
        CS231n's ``reg`` does. ``evaluate`` reports the data loss alone.

    Attributes
    ----------
    params, grads : dict of str -> ndarray
        The layers' own arrays, keyed ``"{i}.{name}"`` by layer index (``"0.W"``, ``"0.b"``,
        ``"2.W"``, …) as PyTorch's state dict names them. All are views into one flat vector
        ``theta`` (``grad_theta`` for the gradients): an in-place update of either changes the network,
        and an optimizer may update everything in one call.
    input_dim, output_dim : int or None
        Feature widths at both ends (None when no layer fixes them).
    classes : list or None
        The original class labels, when the model was fitted on labelled data (saved with it).
    feature_names : list of str or None
        The input columns' names (saved with the model).
    training : bool
        Mode flag, propagated to the layers by ``train()`` / ``eval()``.

    Shapes
    ------
    loss:     X (N, D), y (N,) -> float; caches every layer's forward
    backward: -> dℓ/dX (N, D); fills ``grads``
    predict_proba: X (N, D) -> (N,) P(class 1) for a single sigmoid output, (N, K) for K classes
    """

    def __init__(self, layers, loss, weight_decay=0.0):
        self.layers = list(layers)
        self.criterion = loss
        if not self.layers:
            raise ValueError("Sequential needs at least one layer")
        for i, layer in enumerate(self.layers):
            if not (callable(getattr(layer, "forward", None)) and callable(getattr(layer, "backward", None))):
                raise ValueError(f"layer {i} ({layer!r}) has no forward/backward method")
        _check_distinct_and_free(self.layers)
        self.target = getattr(loss, "target", None)
        if self.target not in (BINARY, CLASSES, VALUES):
            raise ValueError(f"the loss {type(loss).__name__} has no target 'binary', 'classes' or 'values'")
        weight_decay = float(weight_decay)
        if not (np.isfinite(weight_decay) and weight_decay >= 0):
            raise ValueError(f"weight_decay must be a finite number >= 0, got {weight_decay}")
        self.weight_decay = weight_decay
        self.input_dim, self.output_dim = _chain_widths(self.layers)
        if self.target == CLASSES and (self.output_dim is None or self.output_dim < 2):
            raise ValueError(f"{type(loss).__name__} needs K >= 2 outputs (one per class); the layers give "
                             f"{self.output_dim or 'no fixed width: end them with a Linear(H, K)'}")
        _check_probabilities(self.layers, loss)
        self.classes, self.feature_names = None, None
        self.training = True
        self._bind_flat_parameters()

    # -------------------------------------------------------------- parameters

    def _param_key(self, i, name):
        """The public name of ``self.layers[i].params[name]`` (subclasses may rename)."""
        return f"{i}.{name}"

    def _bind_flat_parameters(self):
        """Make every parameter (and gradient) a view into one flat vector, keeping its values."""
        slots = [(self._param_key(i, name), layer, name)
                 for i, layer in enumerate(self.layers) for name in getattr(layer, "params", {})]
        dtypes = {np.asarray(layer.params[name]).dtype for _, layer, name in slots}
        if len(dtypes) > 1:
            raise ValueError(f"all parameters must share one dtype, got {sorted(map(str, dtypes))}")
        self.dtype = dtypes.pop() if dtypes else np.dtype(np.float64)
        total = sum(np.size(layer.params[name]) for _, layer, name in slots)
        self.theta = np.empty(total, dtype=self.dtype)
        self.grad_theta = np.zeros(total, dtype=self.dtype)
        self.params, self.grads = {}, {}
        start = 0
        for key, layer, name in slots:
            shape, size = np.shape(layer.params[name]), np.size(layer.params[name])
            view = self.theta[start:start + size].reshape(shape)
            view[...] = layer.params[name]
            layer.params[name] = self.params[key] = view
            layer.grads[name] = self.grads[key] = self.grad_theta[start:start + size].reshape(shape)
            start += size
        self._first = self._first_trainable()
        # the weights the L2 penalty covers: every Linear's W, never a bias
        self._decayed = [(layer.params["W"], layer.grads["W"]) for layer in self.layers if isinstance(layer, Linear)]

    def __copy__(self):
        # A shallow copy shares the layers and the flat vector (as PyTorch's does); going through
        # __setstate__ would rebind the shared layers to a new theta and cut this network loose.
        return self._shallow_copy()

    def __setstate__(self, state):
        # A pickled (or deep-copied) network arrives with its parameter arrays cut loose from
        # ``theta``; bind them to a fresh flat vector again so in-place updates keep working.
        self.__dict__.update(state)
        self._bind_flat_parameters()

    def _shallow_copy(self):
        """A new network object sharing every attribute (layers, theta) — not ``copy.copy``, which
        goes through ``__setstate__`` and would rebind the shared layers to a new ``theta``."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        return new

    def astype(self, dtype):
        """A copy of the network with every parameter (and buffer) in ``dtype``.

        The layers are deep-copied together, so whatever they share (one random generator for every
        Dropout) stays shared in the copy.
        """
        new = self._shallow_copy()
        new.layers, new.criterion = copy.deepcopy((self.layers, self.criterion))
        for layer in new.layers:
            layer.cache = None
            for store in (getattr(layer, "params", {}), getattr(layer, "buffers", {})):
                for k in store:
                    store[k] = np.asarray(store[k]).astype(dtype)
            for k in getattr(layer, "grads", {}):
                layer.grads[k] = np.zeros_like(layer.params[k])
        new._relink(self)
        new._bind_flat_parameters()
        return new

    def _relink(self, old):
        """Hook for subclasses holding named references to layers (``astype`` replaced them)."""

    # -------------------------------------------------------------- modes

    def train(self, mode=True):
        """Set training mode (``False``: evaluation) on the network and every layer that has modes."""
        self.training = bool(mode)
        for layer in self.layers:
            if callable(getattr(layer, "train", None)):
                layer.train(self.training)
        return self

    def eval(self):
        """Evaluation mode: Dropout is the identity, BatchNorm uses its running statistics."""
        return self.train(False)

    # -------------------------------------------------------------- validation at the public boundary

    def check_X(self, X):
        """Return ``X`` as a (N, D) array of ``self.dtype``, or raise ``ValueError`` saying why not."""
        X = np.asarray(X)
        if X.dtype != self.dtype:
            if X.dtype.kind not in "fiub":
                raise ValueError(f"X must be numeric, got dtype {X.dtype}")
            X = X.astype(self.dtype)
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D (N, {self.input_dim or 'D'}), got shape {X.shape}")
        if self.input_dim is not None and X.shape[1] != self.input_dim:
            raise ValueError(f"X must have {self.input_dim} columns (the network's input width), got {X.shape[1]}")
        if X.shape[0] < 1:
            raise ValueError("X is empty: need at least one sample")
        if not math.isfinite(X.sum()):  # NaN and inf survive a sum: the cheap test, then the one that names them
            check_finite(X, "X")
        return X

    def check_Xy(self, X, y):
        """Validate a labelled batch; return ``X`` and ``y`` in the form the loss takes.

        ``y`` must hold one label per row of ``X``: shape (N,) (or (N, K) for a K-wide binary or
        values head). A single-output head's (N,) labels are reshaped to (N, 1) explicitly — never
        broadcast. Binary labels must be 0 or 1; class labels integers in [0, K).
        """
        X = self.check_X(X)
        y = np.asarray(y)
        n = X.shape[0]
        if y.dtype.kind not in "fiub":
            raise ValueError(f"y must hold numeric labels, got dtype {y.dtype}")
        if self.target == CLASSES:
            return X, check_class_labels(y, n, self.output_dim)
        width = self.output_dim or 1
        want = (n,) if width == 1 else (n, width)  # a single output takes (N,): reshaped here, never broadcast
        if y.shape != want:
            raise ValueError(f"y must have shape {want} to match X and the network's output, got {y.shape}")
        if self.target == BINARY and (y.dtype.kind not in "iu" or np.count_nonzero(y & -2)):
            check_binary(y)  # integer 0/1 labels pass the one-call test (only 0 and 1 have no bit above the first)
        labels = y.astype(self.dtype, copy=False).reshape(n, width)
        if self.target == VALUES and not np.isfinite(labels).all():
            check_finite(labels, "y")
        return X, labels

    # -------------------------------------------------------------- forward, loss, backward

    def forward(self, X):
        """Run every layer in order (caching for ``backward``); returns the last layer's output."""
        for layer in self.layers:
            X = layer.forward(X)
        return X

    def loss(self, X, y, check_input=True):
        """Forward pass and loss (plus the L2 penalty, if any), caching what ``backward`` needs.

        Parameters
        ----------
        X : array_like (N, D)
        y : array_like (N,) labels (see ``check_Xy``)
        check_input : bool, default True. False skips validation, for a caller that passes data
            already returned by ``check_Xy`` (the training loop validates once).

        Returns
        -------
        float
        """
        if check_input:
            X, y = self.check_Xy(X, y)
        value = self.criterion.forward(self.forward(X), y, check_input=False)
        if self.weight_decay:
            value += 0.5 * self.weight_decay * sum(float(np.vdot(W, W)) for W, _ in self._decayed)
        return value

    def backward(self, input_grad=True):
        """Backpropagate from the last ``loss``: fill ``grads``, return dℓ/dX (N, D).

        Each layer gets the upstream gradient from the one after it and returns its downstream
        gradient (upstream × local). ``input_grad=False`` stops at the first layer with parameters
        and returns None: training never needs dℓ/dX.
        """
        if getattr(self.criterion, "cache", None) is None:
            raise RuntimeError(f"{type(self).__name__}.backward() called before loss(): nothing to differentiate")
        g = self.criterion.backward(1.0)  # the root: dℓ/dℓ = 1
        layers = self.layers
        if input_grad:
            for layer in reversed(layers):
                g = layer.backward(g)
        else:
            stop = self._first
            for i in range(len(layers) - 1, stop, -1):
                g = layers[i].backward(g)
            if stop < len(layers):
                first = layers[stop]
                first.backward(g, input_grad=False) if isinstance(first, Linear) else first.backward(g)
            g = None
        if self.weight_decay:
            for W, dW in self._decayed:  # d/dW of (λ/2)‖W‖² is λ W
                dW += self.weight_decay * W
        return g

    def _first_trainable(self):
        """The index of the first layer with parameters (where a backward without dℓ/dX may stop)."""
        return next((i for i, layer in enumerate(self.layers) if getattr(layer, "params", None)), len(self.layers))

    def kink_state(self):
        """The kink states of every layer that has one (ReLU-like), for the gradient checker."""
        return tuple(layer.kink_state() for layer in self.layers if callable(getattr(layer, "kink_state", None)))

    # -------------------------------------------------------------- prediction

    def _inference(self, X):
        """The output for ``X`` in evaluation mode, leaving every layer's cache and mode as it was
        (so a pending ``backward`` still differentiates the last ``loss``)."""
        saved = [dict(vars(layer)) for layer in self.layers]
        try:
            for layer in self.layers:
                if callable(getattr(layer, "train", None)):
                    layer.train(False)
            return self.forward(X)
        finally:
            for layer, state in zip(self.layers, saved):
                vars(layer).clear()
                vars(layer).update(state)

    def predict_proba(self, X):
        """Class probabilities for raw points: (N,) P(class 1) for a single sigmoid output, else (N, K)."""
        if self.target == VALUES:
            raise ValueError("predict_proba needs a classification loss; this network regresses values")
        p = self.criterion.proba(self._inference(self.check_X(X)))
        return p.ravel() if p.shape[1] == 1 else p

    def predict(self, X):
        """Class indices (N,) for a classifier (values (N, K) for a regression head)."""
        out = self._inference(self.check_X(X))
        return self._decide(out)

    def _decide(self, out):
        if self.target == VALUES:
            return out
        if self.target == CLASSES:
            return out.argmax(axis=1)
        p = self.criterion.proba(out)
        return (p > 0.5).astype(np.int64).ravel() if p.shape[1] == 1 else (p > 0.5).astype(np.int64)

    def evaluate(self, X, y, check_input=True):
        """``{"loss", "accuracy", "n"}`` on a labelled set, in evaluation mode.

        The loss is the **data loss alone** (no weight-decay penalty), so it is comparable across
        values of λ; accuracy is None for a regression head. ``check_input=False`` as in ``loss``.
        """
        if check_input:
            X, y = self.check_Xy(X, y)
        out = self._inference(X)
        loss = float(self.criterion.value(out, y))
        if self.target == VALUES:
            acc = None
        else:
            decided = self._decide(out)
            labels = y if self.target == CLASSES else (y > 0.5).astype(np.int64)
            acc = float(np.mean(decided == labels.reshape(decided.shape)))
        return {"loss": loss, "accuracy": acc, "n": int(X.shape[0])}

    # -------------------------------------------------------------- preprocessing

    def split_preprocessing(self):
        """``(pre, body)``: the leading fixed preprocessing layers (``Standardize``) and a view of the
        network without them that shares every parameter array.

        The training loop fits ``pre`` on the training data and applies it once to the whole data
        set, then trains ``body``: no step re-standardises (copies) the data.
        """
        k = 0
        while k < len(self.layers) and getattr(self.layers[k], "preprocessing", False):
            k += 1
        body = self._shallow_copy()
        body.layers = self.layers[k:]
        body.input_dim = self.input_dim
        body._first = body._first_trainable()
        return self.layers[:k], body

    @property
    def standardizer(self):
        """The leading ``Standardize`` layer, or None."""
        first = self.layers[0]
        return first if getattr(first, "preprocessing", False) else None

    # -------------------------------------------------------------- describing, saving

    def describe(self):
        """A short architecture string, e.g. ``"2-16-16-3 Tanh, SoftmaxCrossEntropyLoss"``."""
        widths = [self.input_dim] + [layer.out_features for layer in self.layers if isinstance(layer, Linear)]
        kinds = {type(layer).__name__: layer for layer in self.layers}
        hidden = self.layers[:-1] if isinstance(self.layers[-1], (Sigmoid, Softmax)) else self.layers
        acts = sorted({type(layer).__name__ for layer in hidden if not getattr(layer, "params", None)
                       and not getattr(layer, "preprocessing", False) and type(layer).__name__ != "Dropout"})
        extras = (["batch norm"] if "BatchNorm" in kinds else []) + (
            [f"dropout {kinds['Dropout'].p:g}"] if "Dropout" in kinds else []) + (
            [f"weight decay {self.weight_decay:g}"] if self.weight_decay else [])
        return ", ".join([f"{'-'.join(str(w) for w in widths)} {'/'.join(acts) or 'linear'}"] + extras
                         + [type(self.criterion).__name__])

    def __repr__(self):
        inner = ",\n".join(f"  ({i}) {layer!r}" for i, layer in enumerate(self.layers))
        return f"{type(self).__name__}(\n{inner},\n  loss={self.criterion!r}, weight_decay={self.weight_decay:g})"

    def save(self, path):
        """Write the architecture (JSON), parameters, buffers, classes and dtype to an ``.npz``, atomically."""
        from .serialization import save

        return save(self, path)

    @classmethod
    def load(cls, path):
        """Read a model file (see ``model.load``); ``ValueError`` if it holds another class of model."""
        from .serialization import load

        net = load(path)
        if not isinstance(net, cls):
            raise ValueError(f"{path}: holds a {type(net).__name__}, not a {cls.__name__}; use model.load")
        return net


# ------------------------------------------------------------------ helpers


def _layer_widths(layer):
    """(input width, output width) a layer fixes, or None where it keeps whatever it gets."""
    if isinstance(layer, Linear):
        return layer.in_features, layer.out_features
    n = getattr(layer, "num_features", None)
    return (n, n) if isinstance(n, int) else (None, None)


def _chain_widths(layers):
    """Check that the layers' feature widths chain; return (input width, output width)."""
    first, width, giver = None, None, None
    for i, layer in enumerate(layers):
        fin, fout = _layer_widths(layer)
        if fin is not None:
            if width is None and first is None:
                first = fin
            elif width is not None and fin != width:
                raise ValueError(f"the layers do not chain: layer {i} ({layer!r}) expects {fin} input features, "
                                 f"but layer {giver} ({layers[giver]!r}) gives {width}")
        if fout is not None:
            width, giver = fout, i
    return first, width


def _check_distinct_and_free(layers):
    """Refuse a layer listed twice, or one whose parameters are already another network's views
    (binding it here would cut that network loose from its own flat vector)."""
    seen = {}
    for i, layer in enumerate(layers):
        if id(layer) in seen:
            raise ValueError(f"layer {i} is the same object as layer {seen[id(layer)]} ({layer!r}); "
                             "a network needs a separate layer at each position")
        seen[id(layer)] = i
        if any(np.asarray(p).base is not None for p in getattr(layer, "params", {}).values()):
            raise ValueError(f"layer {i} ({layer!r}) already belongs to a network (its parameters are views of "
                             "that network's flat vector); pass copy.deepcopy(layer) to share its values")


def _check_probabilities(layers, loss):
    """A loss that takes probabilities must follow the layer that makes them."""
    needs = {BCELoss: (Sigmoid, "Sigmoid", "SigmoidBCELoss"), CrossEntropyLoss: (Softmax, "Softmax",
                                                                                 "SoftmaxCrossEntropyLoss")}
    for kind, (maker, maker_name, fused) in needs.items():
        if type(loss) is kind and not isinstance(layers[-1], maker):
            raise ValueError(f"{kind.__name__} takes probabilities: end the layers with {maker_name}, "
                             f"or use {fused} on the logits")
