"""The engine's numeric kernels: in-place NumPy calls on buffers they are given, no objects, no checks.

Each kernel works on a block of samples, rows (R, width) or columns (width, R), and writes into arrays
it is handed (``out=``), so a training step allocates nothing. The derivations are the layers' own
(``layers/``), which these kernels are tested against (``tests/test_engine.py``): the activations and
their local gradients, and the fused output gradient ``dℓ/dz = (p − y) / n`` of Sigmoid + BCE and of
softmax + cross-entropy.
"""

import numpy as np
from scipy.special import expit

#: The constant unit's pre-activation, chosen so that the activation maps it to exactly 1.0 in both
#: float32 and float64: relu(1) = leaky(1) = 1; tanh(40) and expit(40) round to 1.0.
CONSTANT_INPUT = {"relu": 1.0, "leaky_relu": 1.0, "tanh": 40.0, "sigmoid": 40.0}

#: Blocks of at least this many entries (samples × width) take the kernels that cost more calls to set
#: up and less per element.
LARGE_BLOCK = 4096


def activation(kind, alpha, dtype, large=False):
    """``act(hidden, local_grad)``: overwrite the pre-activation ``hidden`` with ``h = act(a)`` and write
    ``dh/da`` into ``local_grad``.

    The local gradients are the layers': ReLU ``1[a > 0]``, LeakyReLU 1 or ``alpha``, Tanh ``1 − h²``,
    Sigmoid ``h (1 − h)``, read off ``h``. ReLU's mask is a float 0/1 array (a float × bool product costs
    twice a float × float one): ``sign(relu(a))`` on small blocks (fewest calls) and, on
    ``large`` ones, ``a > 0`` into booleans copied into the float buffer (cheaper per element, dearer
    to set up).
    """
    zero, one = np.zeros((), dtype), np.ones((), dtype)
    if kind == "relu":
        return _relu_large(zero) if large else _relu_small(zero)
    if kind == "leaky_relu":
        slope = np.asarray(alpha, dtype)

        def leaky_relu(hidden, local_grad):
            np.multiply(hidden, slope, out=local_grad)
            np.maximum(hidden, local_grad, out=hidden)  # max(a, alpha a): a where a > 0, alpha a elsewhere
            np.sign(hidden, out=local_grad)
            np.maximum(local_grad, slope, out=local_grad)  # sign in {-1, 0, 1} -> slope {alpha, alpha, 1}

        return leaky_relu
    if kind == "tanh":

        def tanh(hidden, local_grad):
            np.tanh(hidden, out=hidden)
            np.multiply(hidden, hidden, out=local_grad)
            np.subtract(one, local_grad, out=local_grad)  # 1 − h²

        return tanh
    if kind == "sigmoid":

        def sigmoid(hidden, local_grad):
            expit(hidden, out=hidden)
            np.subtract(one, hidden, out=local_grad)
            np.multiply(local_grad, hidden, out=local_grad)  # h (1 − h)

        return sigmoid
    raise ValueError(f"no engine kernel for the activation {kind!r}")


def _relu_small(zero):
    maximum, sign = np.maximum, np.sign

    def relu(hidden, local_grad):
        maximum(hidden, zero, out=hidden)
        sign(hidden, out=local_grad)  # relu(a) >= 0, so its sign is 1[a > 0] as a float

    return relu


def _relu_large(zero):
    positive_by_shape = {}  # a boolean buffer per block shape
    greater, copyto, multiply = np.greater, np.copyto, np.multiply

    def relu(hidden, local_grad):
        positive = positive_by_shape.get(hidden.shape)
        if positive is None:
            positive = positive_by_shape[hidden.shape] = np.empty(hidden.shape, bool)
        greater(hidden, zero, out=positive)  # 1[a > 0] as booleans
        copyto(local_grad, positive)  # ... as numbers
        multiply(hidden, local_grad, out=hidden)  # h = a ⊙ 1[a > 0]

    return relu


def activation_forward(kind, alpha, dtype):
    """``act(hidden)``: ``h = act(a)`` in place, without the local gradient (for evaluation)."""
    zero = np.zeros((), dtype)
    if kind == "relu":
        return lambda hidden: np.maximum(hidden, zero, out=hidden)
    if kind == "leaky_relu":
        slope = np.asarray(alpha, dtype)
        return lambda hidden: np.maximum(hidden, hidden * slope, out=hidden)
    if kind == "tanh":
        return lambda hidden: np.tanh(hidden, out=hidden)
    if kind == "sigmoid":
        return lambda hidden: expit(hidden, out=hidden)
    raise ValueError(f"no engine kernel for the activation {kind!r}")


def one_hot(out, labels, index, columns=False):
    """``out`` filled with the one-hot targets of class indices ``labels`` (r,): (r, K), or (K, r) in
    ``columns``; ``index`` is ``arange(r)``."""
    out.fill(0)
    out[(labels, index) if columns else (index, labels)] = 1
    return out


def binary_output_grad(rows, dtype, large=False):
    """``grad(logits, targets, output_grad, scale)``: ``output_grad = scale · (σ(z) − y)`` for logits and
    0/1 targets of one shape ((R, 1) or (1, R)), at most ``rows`` samples.

    Small blocks use scipy's ``expit`` (three calls); ``large`` ones ``σ(z) = ½ + ½ tanh(z / 2)``, a
    few more calls but several times cheaper per element.
    """
    if not large:
        subtract, multiply = np.subtract, np.multiply

        def small(logits, targets, output_grad, scale):
            expit(logits, out=output_grad)
            subtract(output_grad, targets, out=output_grad)
            multiply(output_grad, scale, out=output_grad)

        return small
    half, one, two = (np.asarray(v, dtype) for v in (0.5, 1.0, 2.0))
    twice_targets = np.empty(rows, dtype)

    def large_block(logits, targets, output_grad, scale):
        doubled = twice_targets[:logits.size].reshape(logits.shape)
        np.multiply(logits, half, out=output_grad)
        np.tanh(output_grad, out=output_grad)
        np.add(output_grad, one, out=output_grad)  # 2 σ(z)
        np.multiply(targets, two, out=doubled)
        np.subtract(output_grad, doubled, out=output_grad)  # 2 (σ(z) − y)
        np.multiply(output_grad, scale * half, out=output_grad)

    return large_block


def softmax_output_grad(rows, classes, dtype, axis=1):
    """``grad(logits, onehot, output_grad, scale)``: ``output_grad = scale · (softmax(z) − onehot)`` over
    the class ``axis`` of the logits ((R, K) with ``axis=1``, (K, R) with ``axis=0``), computed stably
    (the maximum subtracted first), as ``SoftmaxCrossEntropyLoss`` does."""
    row_max = np.empty(rows, dtype)
    row_sum = np.empty(rows, dtype)
    ones = np.ones(classes, dtype)

    def grad(logits, onehot, output_grad, scale):
        samples = logits.shape[1 - axis]
        peak, total = row_max[:samples], row_sum[:samples]
        np.max(logits, axis=axis, out=peak)
        np.subtract(logits, peak[:, None] if axis else peak, out=output_grad)
        np.exp(output_grad, out=output_grad)
        # sums over the classes as a product with ones (BLAS)
        np.dot(output_grad, ones, out=total) if axis else np.dot(ones, output_grad, out=total)
        np.divide(output_grad, total[:, None] if axis else total, out=output_grad)
        np.subtract(output_grad, onehot, out=output_grad)
        np.multiply(output_grad, scale, out=output_grad)

    return grad
