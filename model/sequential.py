"""``Sequential``: layers run in order, then a loss — the handout's "compose any network".

Each layer computes its own local gradient, so a network is just a list: ``loss`` calls every
``forward`` left to right and then the criterion; ``backward`` calls every ``backward`` right to left,
handing each layer the upstream gradient the next one returned. Nothing is re-derived per
architecture, and nothing here knows a concrete layer class: any object with ``forward`` and
``backward`` (and ``params``/``grads`` when it has parameters) is a layer.
"""

import copy

import numpy as np

from layers.conv import sizes_text
from layers.protocol import backward_checked, backward_layers, forward_checked, set_mode
from layers.validation import check_real, is_integer

from . import ownership, predict
from .inputs import check_Xy
from .parameters import ParameterView
from .registry import feeds, library_class

#: the library's layers of (N, C, H, W) images: their widths count channels, not the last axis, so no width of
#: theirs chains as a row's (``_chain_widths`` carries the image's shape through them instead)
IMAGE_LAYERS = ("Conv2d", "MaxPool2d", "BatchNorm2d", "Flatten")
#: the kinds of labels a loss takes (its ``target``)
BINARY, CLASSES, VALUES = "binary", "classes", "values"


class Sequential:
    """A chain of layers followed by a loss.

    Parameters
    ----------
    layers : list of layers
        Each has ``forward(x)`` and ``backward(upstream)``; one with parameters also has ``params`` and
        ``grads`` dictionaries of equal keys and shapes. Declared feature widths (``in_features`` /
        ``out_features``, or ``num_features``) must chain, and so must the images' (C, H, W) through the layers
        that say theirs (``output_shape``: ``Unflatten``, ``Conv2d``, ``MaxPool2d``, ``Flatten``); checked from
        the numbers when the network is built, before any image is made.
    loss : loss layer
        ``forward(out, y)`` -> float and ``backward(upstream=1.0)`` -> dℓ/d(out). It may declare a ``target``:
        ``"binary"`` (labels 0/1), ``"classes"`` (labels in [0, K)) or ``"values"`` (real targets); a loss that
        does not is given one from the output width and the first labels it sees (``model.inputs``).
    weight_decay : float >= 0, default 0
        λ of the L2 penalty ``(λ/2) Σ ‖W‖²`` over every weight matrix (every parameter with two or more
        dimensions; never a bias), added inside ``loss`` and ``backward`` so the gradient checker verifies
        it, as CS231n's ``reg`` does. ``evaluate`` reports the data loss alone.

    Attributes
    ----------
    params, grads : live mappings of str -> ndarray
        The layers' own arrays, keyed ``"{i}.{name}"`` by layer index (``"0.W"``, ``"2.b"``), as PyTorch's
        state dict names them, read afresh from the layer at each lookup (``model.parameters``).
    input_dim, output_dim : int or None
        Feature widths at both ends (None where no layer declares one).
    target : "binary", "classes" or "values", from the loss (None until inferred, for a loss without one).
    dtype : the parameters' dtype (float64 when there are none); inputs are cast to it.
    classes, feature_names : list or None
        The original labels and input column names, when known (saved with the model).
    encoding : ``data.encoding.Encoding`` or None
        How a table with gaps or text columns becomes the numbers the first layer reads (fitted on the training
        rows by ``model.experiment.prepare``, saved with the model); None for a table of numbers.
    training : bool, the mode set by ``train()`` / ``eval()``.

    Shapes
    ------
    loss:     X (N, D), y (N,) -> float; caches every layer's forward
    backward: -> dℓ/dX (N, D); fills every layer's ``grads``
    """

    def __init__(self, layers, loss, weight_decay=0.0):
        self.layers = list(layers)
        self.criterion = loss
        _check_layers(self.layers)
        self.target = _target_of(loss)
        ownership.check_free(self.layers + [loss], self)
        self.weight_decay = check_real(weight_decay, "weight_decay", type(self).__name__, "[0, inf)")
        self.input_dim, self.output_dim = _chain_widths(self.layers)
        if self.target == CLASSES and self.output_dim is not None and self.output_dim < 2:
            raise ValueError(f"{type(loss).__name__} needs K >= 2 outputs (one per class), the layers give "
                             f"{self.output_dim}")
        slots = [(self._param_key(i, name), layer, name)
                 for i, layer in enumerate(self.layers) for name in getattr(layer, "params", {})]
        self.params, self.grads = ParameterView(slots, "params"), ParameterView(slots, "grads")
        self.dtype = _common_dtype(self.params)
        self.classes, self.feature_names = None, None
        self.encoding = None
        self.training = True
        self._pending = False  # a loss whose backward has not been taken may still be differentiated
        self._shapes = (), None  # the last forward's input shape, and each layer's and the output's when checked
        self._passed = set()  # the input shapes of passes whose backward kept to the protocol: not checked again
        self._passed_layers = []
        self._feeds = (None, None, False)  # the last layer and loss ``data_loss`` saw, and whether one feeds the other
        ownership.claim(self.layers + [loss], self)

    # -------------------------------------------------------------- ownership

    def release(self):
        """Give the layers and the loss back, so another network may take them; this one must not be used."""
        ownership.release(self.layers + [self.criterion], self)

    def __setstate__(self, state):
        # a copy or an unpickled network owns its (copied) layers: their notes were dropped on the way
        self.__dict__.update(state)
        ownership.claim(self.layers + [self.criterion], self)

    def _param_key(self, i, name):
        """The public name of ``self.layers[i].params[name]`` (``TwoLayerNet`` keeps the handout's)."""
        return f"{i}.{name}"

    # -------------------------------------------------------------- modes

    def train(self, mode=True):
        """Training mode (``False``: evaluation) for the network and every layer that has modes (a ``train(mode)``
        method, or only a ``training`` attribute)."""
        self.training = bool(mode)
        for layer in self.layers:
            set_mode(layer, self.training)
        return self

    def eval(self):
        """Evaluation mode: Dropout is the identity, BatchNorm uses its running statistics."""
        return self.train(False)

    # -------------------------------------------------------------- forward, loss, backward

    def forward(self, X):
        """Run every layer in order (each caches what its backward needs); return the last output.

        Followed by ``criterion.forward(out, y)``, this is what ``backward`` differentiates (``loss`` does
        both, after validating ``X`` and ``y``).
        """
        first = np.shape(X)
        if self._passed and self.layers != self._passed_layers:  # a layer was swapped in: hold every pass again
            self._passed = set()
        if first in self._passed:  # the usual case: a pass of this shape kept to the protocol before
            for layer in self.layers:
                X = layer.forward(X)
            self._shapes = first, None
        else:
            finite = not self._passed  # NaN from finite values is a bug on a fresh network, divergence later
            X, shapes = forward_checked(self.layers, X, finite)
            self._shapes = first, (shapes, np.shape(X), finite)
        self._pending = True
        return X

    def loss(self, X, y):
        """Forward pass, loss and L2 penalty, caching what ``backward`` needs.

        ``X`` (N, D) and ``y`` (N,) labels are validated first (``model.inputs.check_Xy``).
        """
        X, y = check_Xy(self, X, y)
        return self.data_loss(self.forward(X), y) + self.penalty()

    def data_loss(self, out, y):
        """``criterion.forward(out, y)`` for ``y`` as ``check_Xy`` returns it and ``out`` this network's last output.

        A library loss fed by the library layer it takes its input from (``registry.feeds``) is told so
        (``check_input=False``) once a pass of the input's shape has kept to the protocol, as the layers are;
        any other loss checks what it is given every time.
        """
        last, loss = self.layers[-1], self.criterion
        if self._feeds[0] is not last or self._feeds[1] is not loss:  # decided once per last layer and loss
            self._feeds = (last, loss, feeds(last, loss))
        if self._feeds[2] and self._shapes[1] is None:  # the forward found this shape kept to the protocol before
            return loss.forward(out, y, check_input=False)
        return loss.forward(out, y)

    def penalty(self):
        """The L2 penalty (λ/2) Σ ‖W‖² over every parameter with ndim >= 2 (0.0 without weight decay)."""
        if not self.weight_decay:
            return 0.0
        return 0.5 * self.weight_decay * sum(float(np.vdot(W, W)) for W in self._decayed(self.params))

    def backward(self):
        """Backpropagate from the last ``loss``: fill every layer's ``grads``, return dℓ/dX (N, D).

        The root's gradient is dℓ/dℓ = 1; each layer gets the upstream gradient from the one after it
        and returns its downstream gradient (upstream × local). A layer whose dℓ/dx or ``grads`` break the
        shape rule is named in a ``LayerError`` (``layers.protocol``).
        """
        if not self._pending:
            raise RuntimeError(f"{type(self).__name__}.backward() called before loss(): nothing to differentiate "
                               "(prediction and evaluation do not leave a loss to differentiate)")
        upstream = self.criterion.backward(1.0)
        first, shapes = self._shapes
        if shapes is None:  # the usual case: a pass of this shape kept to the protocol before
            upstream = backward_layers(self.layers, upstream)
        else:
            upstream = backward_checked(self.layers, upstream, *shapes, loss=type(self.criterion).__name__)
            self._passed.add(first)
            self._passed_layers = list(self.layers)  # compared by identity: the layers those passes were made by
        if self.weight_decay:
            for W, dW in zip(self._decayed(self.params), self._decayed(self.grads), strict=True):
                dW += self.weight_decay * W  # d/dW of (λ/2)‖W‖² is λ W
        return upstream

    def _decayed(self, arrays):
        """The arrays of ``arrays`` that the L2 penalty covers: every parameter with ndim >= 2."""
        return [arrays[k] for k, p in self.params.items() if np.ndim(p) >= 2]

    def kink_state(self):
        """The kink states of every layer that has one (ReLU-like), for the gradient checker."""
        return tuple(layer.kink_state() for layer in self.layers if callable(getattr(layer, "kink_state", None)))

    # -------------------------------------------------------------- prediction (model/predict.py)

    def predict_proba(self, X):
        """Class probabilities: (N,) P(class 1) for a single sigmoid output, else (N, K)."""
        return predict.predict_proba(self, X)

    def predict(self, X):
        """Class indices (N,) for a classifier; values (N, K) for a regression head."""
        return predict.predict(self, X)

    def evaluate(self, X, y):
        """``{"loss", "accuracy", "n"}`` in evaluation mode; the loss is the data loss alone."""
        return predict.evaluate(self, X, y)

    # -------------------------------------------------------------- preprocessing

    def split_preprocessing(self):
        """``(pre, body)``: the leading preprocessing layers (``Standardize``) and the network without them.

        ``body`` shares every layer, parameter name and array with this network. The training loop fits
        ``pre`` once and applies it to the data once, then trains ``body``.
        """
        k = 0
        while k < len(self.layers) and getattr(self.layers[k], "preprocessing", False):
            k += 1
        body = object.__new__(type(self))  # shares every attribute; claims nothing (the layers stay ours)
        body.__dict__.update(self.__dict__)
        body.layers = self.layers[k:]
        body._pending, body._passed = False, set()  # its own passes: another chain of layers
        return self.layers[:k], body

    @property
    def standardizer(self):
        """The leading preprocessing layer (a ``Standardize``), or None."""
        first = self.layers[0]
        return first if getattr(first, "preprocessing", False) else None

    # -------------------------------------------------------------- copies, describing, saving

    def astype(self, dtype):
        """A deep copy of the network with every parameter, gradient and buffer in ``dtype``."""
        new = copy.deepcopy(self)
        for layer in new.layers:
            layer.cache = None
            for store in ("params", "grads", "buffers"):
                arrays = getattr(layer, store, {})
                for k in arrays:
                    arrays[k] = np.asarray(arrays[k]).astype(dtype)
        new.dtype, new._pending = np.dtype(dtype), False
        return new

    def describe(self):
        """A short architecture string, e.g. ``"2-16-16-3 Tanh, SoftmaxCrossEntropyLoss"``; a network that reads
        its rows as images (an ``Unflatten`` … ``Flatten`` span) names its convolution blocks first, e.g.
        ``"1x4x4 images, conv 4 (each Conv2d 3x3 padding 1, ReLU, MaxPool2d 2) to 4x2x2, then 16-1 Sigmoid,
        BCELoss"``. The one model line: the run's, the --plot title, the ONNX doc_string."""
        extras = [f"weight decay {self.weight_decay:g}"] if self.weight_decay else []
        span = _image_span(self.layers)
        if span is None:
            head = _dense_words(self.input_dim, self.layers, "linear")
        else:
            images, flat = _image_words(self.layers[span[0]:span[1]])
            dense = _dense_words(flat, self.layers[span[1] + 1:], "")
            head = f"{images}, then {dense}"
        return ", ".join([head] + extras + [type(self.criterion).__name__])

    def __repr__(self):
        inner = ",\n".join(f"  ({i}) {layer!r}" for i, layer in enumerate(self.layers))
        return f"{type(self).__name__}(\n{inner},\n  loss={self.criterion!r}, weight_decay={self.weight_decay:g})"

    def save(self, path):
        """Write the architecture (JSON), parameters, buffers, classes and dtype to an ``.npz``, atomically."""
        from . import serialization  # reads and writes layer lists; it imports no network

        return serialization.save(self, path)

    @classmethod
    def load(cls, path):
        """Read a model file as whichever of ``Sequential`` and its subclasses it names (``model.load``);
        ``ValueError`` if it holds another class of model than ``cls``."""
        from . import serialization

        ours = {c.__name__: c for c in (Sequential, *Sequential.__subclasses__()) if c.__module__.startswith("model.")}
        net = serialization.load(path, {name: ours[name] for name in serialization.MODEL_CLASSES})
        if not isinstance(net, cls):
            raise ValueError(f"{path}: holds a {type(net).__name__}, not a {cls.__name__}; use model.load")
        return net


def _check_layers(layers):
    """At least one layer, each with forward/backward, none listed twice."""
    if not layers:
        raise ValueError("Sequential needs at least one layer")
    for i, layer in enumerate(layers):
        if not (callable(getattr(layer, "forward", None)) and callable(getattr(layer, "backward", None))):
            raise ValueError(f"layer {i} ({layer!r}) has no forward/backward method")
        twin = next((j for j in range(i) if layers[j] is layer), None)
        if twin is not None:
            raise ValueError(f"layer {i} is the same object as layer {twin} ({layer!r}); "
                             "a network needs a separate layer at each position")


def _target_of(loss):
    """The kind of labels ``loss`` declares it takes, or None (then inferred from the first labels)."""
    if not (callable(getattr(loss, "forward", None)) and callable(getattr(loss, "backward", None))):
        raise ValueError(f"the loss {loss!r} has no forward/backward method")
    target = getattr(loss, "target", None)
    if target not in (BINARY, CLASSES, VALUES, None):
        raise ValueError(f"the loss {type(loss).__name__} has target {target!r}; a loss takes 'binary', 'classes' "
                         "or 'values' labels (or declares none)")
    return target


def _layer_widths(layer):
    """(input width, output width) a layer declares (``in_features``/``out_features``, or ``num_features``), or
    reads off its weight matrix ``params["W"]`` (D_in, D_out) when it declares none (a learner's ``Linear``)."""
    if library_class(layer, "layer") in IMAGE_LAYERS:
        return None, None
    fin, fout = getattr(layer, "in_features", None), getattr(layer, "out_features", None)
    if fin is None and fout is None:
        fin = fout = getattr(layer, "num_features", None)
    weight = getattr(layer, "params", {}).get("W") if isinstance(getattr(layer, "params", None), dict) else None
    if fin is None and fout is None and np.ndim(weight) == 2:
        fin, fout = (int(n) for n in np.shape(weight))
    return tuple(w if is_integer(w) else None for w in (fin, fout))


def _chain_widths(layers):
    """Check that the declared sizes chain; return (input width, output width), None where unknown.

    What each layer gives is carried as one sample's shape: (D,) a row of D features, (C, H, W) an image, None
    unknown. A layer with an ``output_shape`` method (the image layers of ``layers.conv``) says its own; ``Unflatten``
    declares the row it takes, so an image's (C, H, W) is known from it on, and every size through the
    convolutions and poolings is checked from the numbers alone, before any image is made. A layer that
    declares no sizes keeps its input's shape when it has no parameters (an activation) and makes it unknown
    when it has some (a learner's ``Linear`` that does not say its sizes), so it never causes a refusal it
    cannot justify.
    """
    shape, giver = None, None
    for i, layer in enumerate(layers):
        source = "its input" if giver is None else f"layer {giver} ({layers[giver]!r})"
        try:
            after = _shape_after(layer, shape)
        except _Mismatch as exc:
            raise ValueError(f"the layers do not chain: layer {i} ({layer!r}) {exc}, but {source} gives "
                             f"{_in_words(shape)}") from None
        except ValueError as exc:  # the layer's own output_shape refused
            raise ValueError(f"the layers do not chain: layer {i} ({layer!r}) does not take what {source} gives: "
                             f"{exc}") from None
        if after != shape or after is None or getattr(layer, "params", None):
            giver = i  # the layer the next one's input comes from (an activation passes its input on)
        shape = after
    return _layer_widths(layers[0])[0], shape[0] if shape is not None and len(shape) == 1 else None


class _Mismatch(ValueError):
    """What a layer expects (``"expects 8 input features"``) where the layer before it gives something else."""


def _in_words(shape):
    """``"16 features"`` for a row's shape (16,), ``"images of 4x2x2"`` for an image's (4, 2, 2)."""
    return f"{shape[0]} features" if len(shape) == 1 else f"images of {sizes_text(shape)}"


def _shape_after(layer, shape):
    """One sample's shape after ``layer`` given ``shape`` (None: unknown); ``ValueError`` where they do not fit."""
    declares = callable(getattr(layer, "output_shape", None))
    if declares and shape is None and is_integer(getattr(layer, "in_features", None)):
        shape = (layer.in_features,)  # an Unflatten: the row it reads is declared
    if declares:
        return None if shape is None else tuple(layer.output_shape(shape))
    has_params = bool(getattr(layer, "params", None))
    if shape is not None and len(shape) == 3:
        return _image_after(layer, shape, has_params)
    fin, fout = _layer_widths(layer)
    if fin is not None and shape is not None and fin != shape[0]:
        raise _Mismatch(f"expects {fin} input features")
    if fout is not None:
        return (fout,)
    return None if fin is None and has_params else shape


def _image_after(layer, shape, has_params):
    """One image's shape (C, H, W) after ``layer``, which has no ``output_shape``: a channel layer of
    ``IMAGE_LAYERS`` (``BatchNorm2d``) keeps it once its ``num_features`` are the C channels; a layer that reads
    rows (``in_features``) is refused; another of the library's keeps it without parameters (an activation); any
    other makes it unknown (a learner's max pooling has no parameters either)."""
    if library_class(layer, "layer") in IMAGE_LAYERS:
        channels = getattr(layer, "num_features", None)
        if is_integer(channels) and channels != shape[0]:
            raise _Mismatch(f"expects images of {channels} channels (num_features)")
        return shape
    rows = getattr(layer, "in_features", None)
    if is_integer(rows):
        raise _Mismatch(f"expects rows of {rows} features (a Flatten makes rows of images)")
    return shape if library_class(layer, "layer") and not has_params else None


def _dense_words(width, layers, none):
    """``"16-32-1 Tanh/Sigmoid"``: ``width`` (None: unknown) and each layer's ``out_features``, then the kinds of
    layers without parameters (each once, in order; ``none`` when there are none); an unknown ``width`` is the
    one the first layer declares."""
    if width is None and layers:
        width = _layer_widths(layers[0])[0]
    widths = [w for w in [width] + [getattr(layer, "out_features", None) for layer in layers] if w is not None]
    plain = [type(layer).__name__ for layer in layers
             if not getattr(layer, "params", None) and not getattr(layer, "preprocessing", False)]
    kinds = "/".join(dict.fromkeys(plain)) or none
    return " ".join(part for part in ("-".join(map(str, widths)), kinds) if part)


def _image_span(layers):
    """``(i, j)``: layer i reads rows as images (it declares ``channels``, ``height`` and ``width``, an
    ``Unflatten``) and layer j, the first ``Flatten`` after it, makes rows again; None without such a span."""
    start = next((i for i, layer in enumerate(layers)
                  if all(is_integer(getattr(layer, a, None)) for a in ("channels", "height", "width"))), None)
    if start is None:
        return None
    end = next((j for j in range(start + 1, len(layers))
                if "Flatten" in (type(layers[j]).__name__, library_class(layers[j], "layer"))), None)
    return None if end is None else (start, end)


def _image_words(layers):
    """``("1x4x4 images, conv 4 (each Conv2d 3x3 padding 1, ReLU, MaxPool2d 2) to 4x2x2", 16)``: the images an
    ``Unflatten`` (``layers[0]``) makes, the blocks after it (each from a convolution, a layer with a 4-d
    ``params["W"]`` of shape (F, C, HH, WW), to the next), their output's shape and its width (None where a layer
    does not say its shape)."""
    shape = (layers[0].channels, layers[0].height, layers[0].width)
    text, blocks = f"{sizes_text(shape)} images", []
    for layer in layers[1:]:
        if _kernel(layer) is not None or not blocks:
            blocks.append([])
        blocks[-1].append(layer)
        try:
            shape = None if shape is None else _shape_after(layer, shape)
        except ValueError:
            shape = None
    text += _blocks_words(blocks) if blocks else ""
    known = shape is not None and len(shape) == 3
    return text + (f" to {sizes_text(shape)}" if known else ""), int(np.prod(shape)) if known else None


def _blocks_words(blocks):
    """``", conv 4,8 (each Conv2d 3x3 padding 1, ReLU, MaxPool2d 2)"``: each block's channels (its convolution's F)
    and, said once when all blocks are alike, its layers; ``", conv 4 (…), 8 (…)"`` when they differ."""
    words = [", ".join(_block_layer_words(layer) for layer in block) for block in blocks]
    channels = [next((str(_kernel(layer)[0]) for layer in block if _kernel(layer) is not None), "?")
                for block in blocks]
    if len(set(words)) == 1:
        return f", conv {','.join(channels)} (each {words[0]})"
    return ", conv " + ", ".join(f"{c} ({w})" for c, w in zip(channels, words, strict=True))


def _kernel(layer):
    """The shape (F, C, HH, WW) of a convolution's weights ``params["W"]``, None for a layer that is none."""
    params = getattr(layer, "params", None)
    weight = params.get("W") if isinstance(params, dict) else None
    return tuple(np.shape(weight)) if np.ndim(weight) == 4 else None


def _block_layer_words(layer):
    """``"Conv2d 3x3 padding 1"``, ``"MaxPool2d 2"`` (with ``stride S`` where it is not the default), or the name."""
    name, kernel = type(layer).__name__, _kernel(layer)
    stride, padding = getattr(layer, "stride", None), getattr(layer, "padding", 0)
    if kernel is not None:
        return (f"{name} {kernel[2]}x{kernel[3]} padding {padding}"
                + (f" stride {stride}" if is_integer(stride) and stride != 1 else ""))
    size = getattr(layer, "kernel_size", None)
    if is_integer(size) and not getattr(layer, "params", None):
        return f"{name} {size}" + (f" stride {stride}" if is_integer(stride) and stride != size else "")
    return name


def _common_dtype(params):
    dtypes = {np.asarray(p).dtype for p in params.values()}
    if len(dtypes) > 1:
        raise ValueError(f"all parameters must share one dtype, got {sorted(map(str, dtypes))}")
    return dtypes.pop() if dtypes else np.dtype(np.float64)
