"""Build the networks the command lines train, from a few words: widths, activation, classes."""

import copy
from dataclasses import dataclass

import numpy as np

from layers.conv import MaxPool2d, sizes_text
from layers.validation import ParameterError, check_count, check_integer, check_real

from .net import TwoLayerNet
from .factory import check_types, make
from .registry import ACTIVATIONS, MAX_WIDTH
from .sequential import Sequential

#: the side of the image blocks' filters (padded by half of it, so a convolution keeps the image's size) and
#: of their max pooling windows (each block halves the image's sides, floored)
CONV_KERNEL, POOL = 3, 2


def build_mlp(input_dim, hidden=(3,), activation="relu", hidden_bias=False, classes=2, fused=False,
              weight_decay=0.0, standardize=True, dropout=0.0, batchnorm=False, seed=None, dtype=np.float64):
    """A multi-layer perceptron whose loss follows the labels.

    Two classes: a single output with ``Sigmoid`` + ``BCELoss`` (the handout's; ``fused`` uses
    ``SigmoidBCELoss`` on the logits). More: ``K`` outputs with ``SoftmaxCrossEntropyLoss``. With one
    hidden layer, ReLU, two classes, no dropout and no batch norm, this is exactly the handout's
    ``TwoLayerNet`` (parameters ``w1``, ``w2``, ``b``).

    Parameters
    ----------
    input_dim : int, D
    hidden : sequence of int, the hidden widths (one number: today's two-layer net)
    activation : "relu", "tanh", "sigmoid" or "leaky_relu", after every hidden Linear
    hidden_bias : bool, biases on the hidden Linear layers (the output layer always has one)
    classes : int >= 2, K
    weight_decay : float >= 0, λ of the L2 penalty on every weight matrix
    standardize : bool, a leading ``Standardize`` layer (fitted by the training loop)
    dropout : float in [0, 1), a ``Dropout(p)`` after each hidden activation when > 0
    batchnorm : bool, a ``BatchNorm`` after each hidden Linear, before its activation
    seed : None, int or Generator, for the initial weights (and dropout masks)
    dtype : float32 or float64

    Returns
    -------
    Sequential (a ``TwoLayerNet`` in the handout's case)
    """
    arch = Architecture(hidden=hidden, activation=activation, hidden_bias=hidden_bias, fused=fused,
                        weight_decay=weight_decay, standardize=standardize, dropout=dropout, batchnorm=batchnorm,
                        dtype=dtype)
    return arch.build(input_dim, classes=classes, seed=seed)


def layer_stack(arch, input_dim, outputs, rng, types, activation):
    """``[Standardize] + (Linear → [BatchNorm] → activation → [Dropout]) per hidden width + Linear(H, outputs)``.

    ``activation``: the class name (``model.registry``) after each hidden Linear, None for none."""
    dtype = arch.dtype
    stack = [make(types, "Standardize", input_dim, dtype=dtype)] if arch.standardize else []
    width = input_dim
    if arch.image:
        stack += image_blocks(arch, rng, types, activation)
        width = arch.flat_width()
    for h in arch.hidden:
        stack.append(make(types, "Linear", width, h, bias=arch.hidden_bias, rng=rng, dtype=dtype))
        if arch.batchnorm:
            stack.append(make(types, "BatchNorm", h, dtype=dtype))
        if activation:
            stack.append(make(types, activation))
        if arch.dropout:
            stack.append(make(types, "Dropout", arch.dropout, rng=rng))
        width = h
    return stack + [make(types, "Linear", width, outputs, rng=rng, dtype=dtype)]


def image_blocks(arch, rng, types, activation):
    """``Unflatten(C, H, W)``, then per channel count Ci of ``arch.conv`` a block ``Conv2d(3×3, padding 1) →
    activation → MaxPool2d(2)``, then ``Flatten``: rows of C·H·W pixels in, rows of ``arch.flat_width()`` out.

    Shapes: (N, C·H·W) -> (N, C, H, W) -> per block (N, Ci, H_i, W_i), each side halved (floored) -> (N, D')."""
    channels = arch.image[0]
    stack = [make(types, "Unflatten", *arch.image)]
    for out in arch.conv:
        stack.append(make(types, "Conv2d", channels, out, CONV_KERNEL, padding=CONV_KERNEL // 2, rng=rng,
                          dtype=arch.dtype))
        if activation:
            stack.append(make(types, activation))
        stack.append(make(types, "MaxPool2d", POOL))
        channels = out
    return stack + [make(types, "Flatten")]


@dataclass
class Architecture:
    """The words ``build_mlp`` takes, bundled and validated once: what ``train.py``'s model options describe.

    ``build(input_dim, classes, seed)`` makes the network once the data says D and K. Every refusal is a
    ``ParameterError`` naming the field.

    ``image`` (C, H, W) and ``conv`` (channel counts C1, C2, …) go together: each row of D = C·H·W numbers is read
    as an image (``Unflatten``, PyTorch's C-order), then per Ci a block ``Conv2d(3×3, padding 1) → activation →
    MaxPool2d(2)`` (``image_blocks``), then ``Flatten``, and ``hidden`` — which may then be empty — and the output
    as for a table. Blocks that would pool a side below 1 are refused.
    """

    hidden: tuple = (3,)
    activation: str = "relu"
    hidden_bias: bool = False
    fused: bool = False
    weight_decay: float = 0.0
    standardize: bool = True
    dropout: float = 0.0
    batchnorm: bool = False
    dtype: str = "float64"
    image: tuple = None
    conv: tuple = ()

    def __post_init__(self):
        self.image, self.conv = _check_images(self.image, self.conv)
        hidden = (self.hidden,) if np.isscalar(self.hidden) else tuple(self.hidden)
        if not hidden and not self.conv:
            _refuse("hidden", f"must be positive integer widths, got {self.hidden!r}")
        self.hidden = _widths(hidden, "hidden")
        if self.activation not in ACTIVATIONS:
            _refuse("activation", f"must be one of {', '.join(ACTIVATIONS)}, got {self.activation!r}")
        self.weight_decay = check_real(self.weight_decay, "weight_decay", "Architecture", "[0, inf)")
        self.dropout = check_real(self.dropout, "dropout", "Architecture", "[0, 1)", " (the drop probability)")
        if not self.hidden and (self.dropout or self.batchnorm):
            _refuse("dropout" if self.dropout else "batchnorm", "applies after each hidden Linear, and with conv "
                    "blocks but no hidden widths there is none")
        try:
            name = np.dtype(self.dtype).name
        except TypeError:
            name = None
        if name not in ("float32", "float64"):
            _refuse("dtype", f"must be float32 or float64, got {self.dtype!r}")
        self.dtype = name

    def is_handouts(self, classes=2):
        """Whether this is the handout's family: one hidden ReLU layer, two classes, no dropout or batch norm."""
        return (len(self.hidden) == 1 and self.activation == "relu" and classes == 2 and not self.dropout
                and not self.batchnorm and not self.conv)

    def build(self, input_dim, classes=2, seed=None, layer_types=None):
        """The network for ``input_dim`` features and ``classes`` classes (K >= 2), seeded.

        ``layer_types`` (class name -> class) puts a learner's classes where the library's of those names
        stand (see ``model.factory``).
        """
        classes = check_integer(classes, "classes", "Architecture", least=2)
        input_dim, types = self._check_input(input_dim), check_types(layer_types)
        if self.is_handouts(classes):
            return TwoLayerNet(input_dim, self.hidden[0], hidden_bias=self.hidden_bias, fused=self.fused, seed=seed,
                               dtype=self.dtype, weight_decay=self.weight_decay, standardize=self.standardize,
                               layer_types=types)
        squash = [] if classes > 2 or self.fused else ["Sigmoid"]
        loss = "SoftmaxCrossEntropyLoss" if classes > 2 else "SigmoidBCELoss" if self.fused else "BCELoss"
        return self._network(input_dim, 1 if classes == 2 else classes, squash, loss, seed, types)

    def build_regressor(self, input_dim, outputs=1, seed=None, layer_types=None):
        """The regression network: the same hidden layers, a linear output of ``outputs`` values, ``MSELoss``."""
        if self.fused:
            _refuse("fused", "applies to a binary classifier's sigmoid, not to a regression's linear output")
        input_dim = self._check_input(input_dim)
        outputs = check_count(outputs, "outputs", "Architecture")
        return self._network(input_dim, outputs, [], "MSELoss", seed, check_types(layer_types))

    def _check_input(self, input_dim):
        """``input_dim`` as a positive int, which with ``image`` must be its C·H·W (a ``ParameterError`` otherwise)."""
        input_dim = check_count(input_dim, "input_dim", "Architecture")
        if self.image and input_dim != np.prod(self.image):
            _refuse("image", f"{sizes_text(self.image)} is {np.prod(self.image)} numbers a row, but the data has "
                    f"{input_dim} features")
        return input_dim

    def sides(self):
        """The (H, W) of the image after each conv block, the first the input's: each block's convolution keeps the
        sides (padded by half its kernel) and its 2×2 pooling floors their half (``MaxPool2d.output_shape``)."""
        return _pooled_sides(self.image, len(self.conv))

    def flat_width(self):
        """The width the image blocks give the layers after them: the last block's channels × its H × its W."""
        h, w = self.sides()[-1]
        return self.conv[-1] * h * w

    def describe(self, net):
        """The model line for ``net``, built by ``build``: ``net.describe()`` (``Sequential.describe`` names the
        image blocks too), the one home of a network's description."""
        return net.describe()

    def _network(self, input_dim, outputs, tail, loss, seed, types):
        """``layer_stack`` of ``outputs``, then the layers named in ``tail``, then the loss named ``loss``."""
        stack = layer_stack(self, input_dim, outputs, np.random.default_rng(seed), types, ACTIVATIONS[self.activation])
        return Sequential(stack + [make(types, name) for name in tail], make(types, loss),
                          weight_decay=self.weight_decay)


def _refuse(param, reason):
    raise ParameterError("Architecture", param, reason)


def _widths(values, param):
    """``values`` as a tuple of positive ints, each at most ``MAX_WIDTH``; a ``ParameterError`` naming ``param``."""
    widths = tuple(check_count(v, param, "Architecture") for v in values)
    if widths and max(widths) > MAX_WIDTH:
        _refuse(param, f"widths must be at most {MAX_WIDTH:,}, got {max(widths):,}")
    return widths


def _pooled_sides(image, blocks):
    """The (H, W) of a (C, H, W) ``image`` after each of up to ``blocks`` 2×2 max poolings, the first the input's;
    fewer when the image becomes smaller than the pooling window, which ``MaxPool2d.output_shape`` refuses."""
    pool, shape, sides = MaxPool2d(POOL), tuple(image), [tuple(image[1:])]
    for _ in range(blocks):
        try:
            shape = pool.output_shape(shape)
        except ValueError:  # a side below the window: no further block fits
            break
        sides.append(shape[1:])
    return sides


def _check_images(image, conv):
    """``(image, conv)`` checked: None and () (no images), or a (C, H, W) of positive sizes and at least one
    channel count, with no more blocks than halve the image's shorter side down to 1."""
    conv = _widths((conv,) if np.isscalar(conv) else conv, "conv")
    if image is None:
        if conv:
            _refuse("image", "is needed with conv: the C x H x W shape each row of the table is read as, got None")
        return None, ()
    image = _widths((image,) if np.isscalar(image) else image, "image")
    if len(image) != 3:
        _refuse("image", f"must be three sizes, C x H x W, got {len(image)}: {image!r}")
    if not conv:
        _refuse("conv", "needs at least one channel count with image (a block of convolution and pooling each)")
    fit = len(_pooled_sides(image, len(conv))) - 1  # the poolings that leave each side at least 1
    if len(conv) > fit:
        _refuse("conv", f"has {len(conv)} blocks, each halving the sides by {POOL}x{POOL} max pooling, which take "
                f"{image[1]}x{image[2]} images below 1x1 after {fit + 1}; at most {fit} fit")
    return image, conv


def odd_logits(net, seed=0):
    """Whether every logit of ``net`` obeys z(x) + z(−x) = constant, whatever its weights.

    So it is with no hidden biases and an activation with f(−a) = c − f(a) (tanh at any depth, sigmoid in one hidden
    layer): z(x) = V f(W x) + b gives z(−x) = V c + 2b − z(x). Such a network cannot separate data that put the same
    class at x and −x (``data.synthetic.SYMMETRIC``): a pair of one class has z(x) + z(−x) > 0, of the other < 0.
    Read off a copy of ``net`` with random weights at 8 random points; the logits are the output of its last
    layer with parameters.
    """
    body = copy.deepcopy(net).split_preprocessing()[1].eval()  # Dropout the identity, as once trained
    rng = np.random.default_rng(seed)
    for p in body.params.values():  # any weights: a bias that starts at 0 is still a bias
        p[...] = rng.normal(size=p.shape)
    last = max(i for i, layer in enumerate(body.layers) if getattr(layer, "params", None))
    x = rng.normal(size=(8, body.input_dim))
    ends = []
    for h in (x, -x):
        for layer in body.layers[:last + 1]:
            h = layer.forward(h)
        ends.append(h)
    total = ends[0] + ends[1]
    return bool(np.ptp(total, axis=0).max() <= 1e-9 * (1 + np.abs(total).max()))
