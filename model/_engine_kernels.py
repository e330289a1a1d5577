"""The engine's numeric kernels: in-place NumPy calls on preallocated buffers, no objects, no checks.

Everything here works on blocks of samples — rows (R, width) or columns (width, R), see
``model.engine`` — and writes into arrays it is given (``out=``), so a training step allocates
nothing. The layer objects in ``layers/`` are the reference these kernels are tested
against (``tests/test_engine.py``); the derivations are the layers' own, regrouped:

- **biases folded into the weights.** Each ``Linear`` is one matrix ``[[W], [b]]`` of shape
  (n_in + 1, n_out) applied to an input with a column of ones appended, so ``x @ W + b`` is one
  matrix product and ``dℓ/db`` (the batch sum of the upstream) comes out of the same ``xᵀ · upstream``
  product as ``dℓ/dW``. A hidden layer carries one extra *constant unit*: a column of its weight
  matrix that reads the input's ones column and always produces 1 after the activation, which is
  the next layer's ones column. Entries that are not parameters (that column, a missing bias row)
  have their gradient multiplied by 0 (``mask``), so they never move.
- **masks as numbers.** ReLU's ``1[a > 0]`` is a float 0/1 matrix (``sign(relu(a))`` on small
  blocks, ``a > 0`` into a float buffer on large ones), since a float × bool product costs twice a
  float × float one.
- **the fused output gradient.** Sigmoid + BCE and softmax + cross-entropy both give
  ``dℓ/dz = (p − y) / n``, computed as three in-place calls with the learning rate of plain SGD
  folded into the ``1 / n`` factor (the gradient buffer then holds ``lr · g``).
- **one flat parameter vector**, so one call updates every parameter.

Shapes (rows; columns are the transposes): ``R`` samples in a block, ``H`` a layer's width; ``A``
(R, H + 1) the pre-activation, overwritten by the activation; ``M`` (R, H + 1) the activation's
local gradient; ``z`` (R, K) the logits; ``E`` (R, K) their gradient.
"""

import math

import numpy as np
from scipy.special import expit

#: The constant unit's pre-activation, chosen so that the activation maps it to exactly 1.0 in both
#: float32 and float64: relu(1) = leaky(1) = 1; tanh(40) and expit(40) round to 1.0.
CONSTANT_INPUT = {"relu": 1.0, "leaky_relu": 1.0, "tanh": 40.0, "sigmoid": 40.0}


# ------------------------------------------------------------------ hidden activations


def activation(kind, alpha, dtype, large=False):
    """``act(A, M)``: apply the activation to ``A`` in place and write its local gradient into ``M``.

    The local gradients match the layers': ReLU ``1[a > 0]``, LeakyReLU 1 or ``alpha``, Tanh
    ``1 − h²``, Sigmoid ``h (1 − h)``, each read off the output ``h`` as the layers do. ReLU's mask
    is ``sign(relu(a))`` on small blocks (fewest calls) and, on large ones, ``a > 0`` into booleans
    copied into a float buffer (together ~25 % less than the comparison written as floats, and
    ``sign`` costs 1.1–1.4 ns per element; the calls cost more to set up).
    """
    zero, one = np.zeros((), dtype), np.ones((), dtype)
    if kind == "relu":
        maximum, sign, greater = np.maximum, np.sign, np.greater
        if large:
            flags = {}  # a boolean buffer per block shape
            multiply, copyto = np.multiply, np.copyto

            def relu_large(A, M):
                B = flags.get(A.shape)
                if B is None:
                    B = flags[A.shape] = np.empty(A.shape, bool)
                greater(A, zero, out=B)  # 1[a > 0] as booleans (a third of the float comparison's time)
                copyto(M, B)  # ... as numbers
                multiply(A, M, out=A)  # h = a ⊙ 1[a > 0], the layer's own formula

            return relu_large

        def relu(A, M):
            maximum(A, zero, out=A)
            sign(A, out=M)  # relu(a) >= 0, so its sign is 1[a > 0] as a float

        return relu
    if kind == "leaky_relu":
        a = np.asarray(alpha, dtype)
        multiply, maximum, sign = np.multiply, np.maximum, np.sign

        def leaky(A, M):
            multiply(A, a, out=M)
            maximum(A, M, out=A)  # max(a, alpha a): a where a > 0, alpha a elsewhere (0 < alpha < 1)
            sign(A, out=M)
            maximum(M, a, out=M)  # sign in {-1, 0, 1} -> slope {alpha, alpha, 1}

        return leaky
    if kind == "tanh":
        tanh, multiply, subtract = np.tanh, np.multiply, np.subtract

        def tanh_(A, M):
            tanh(A, out=A)
            multiply(A, A, out=M)
            subtract(one, M, out=M)  # 1 − h²

        return tanh_
    if kind == "sigmoid":
        multiply, subtract = np.multiply, np.subtract

        def sigmoid(A, M):
            expit(A, out=A)
            subtract(one, A, out=M)
            multiply(M, A, out=M)  # h (1 − h)

        return sigmoid
    raise ValueError(f"no engine kernel for the activation {kind!r}")


def activation_forward(kind, alpha, dtype):
    """``act(A)`` in place, without the local gradient (for evaluation)."""
    zero = np.zeros((), dtype)
    if kind == "relu":
        return lambda A: np.maximum(A, zero, out=A)
    if kind == "leaky_relu":
        a = np.asarray(alpha, dtype)

        def leaky(A):
            np.maximum(A, A * a, out=A)

        return leaky
    if kind == "tanh":
        return lambda A: np.tanh(A, out=A)
    if kind == "sigmoid":
        return lambda A: expit(A, out=A)
    raise ValueError(f"no engine kernel for the activation {kind!r}")


# ------------------------------------------------------------------ output gradients


def binary_output_grad(rows, dtype, large=None):
    """``grad(z, t, E, c)``: ``E = c · (σ(z) − t)`` for logits z and 0/1 labels t of one shape
    ((R, 1) or (1, R)).

    Small blocks use scipy's ``expit`` (three calls); large blocks ``σ(z) = ½ + ½ tanh(z / 2)``,
    which costs a few more calls but ~1.5 ns per element against 4–14 for ``expit``.
    """
    if not (rows >= 512 if large is None else large):
        subtract, multiply = np.subtract, np.multiply

        def small(z, t, E, c):
            expit(z, out=E)
            subtract(E, t, out=E)
            multiply(E, c, out=E)

        return small
    half, one, two = (np.asarray(v, dtype) for v in (0.5, 1.0, 2.0))
    tmp = np.empty(rows, dtype)

    def large(z, t, E, c):
        T = tmp[:z.size].reshape(z.shape)
        np.multiply(z, half, out=E)
        np.tanh(E, out=E)
        np.add(E, one, out=E)  # 2 σ(z)
        np.multiply(t, two, out=T)
        np.subtract(E, T, out=E)  # 2 (σ(z) − t)
        np.multiply(E, c * half, out=E)

    return large


def softmax_output_grad(rows, classes, dtype, axis=1):
    """``grad(z, onehot, E, c)``: ``E = c · (softmax(z) − onehot)`` over the class ``axis`` of z
    ((R, K) with ``axis=1``, (K, R) with ``axis=0``), computed stably (the maximum subtracted first),
    as ``SoftmaxCrossEntropyLoss`` does."""
    mx = np.empty(rows, dtype)
    tot = np.empty(rows, dtype)
    ones = np.ones(classes, dtype)

    def grad(z, onehot, E, c):
        r = z.shape[1 - axis]
        m, s = mx[:r], tot[:r]
        np.max(z, axis=axis, out=m)
        if axis:
            np.subtract(z, m[:, None], out=E)
            np.exp(E, out=E)
            np.dot(E, ones, out=s)  # sums over the classes as E · 1 (BLAS), as the layers compute them
            np.divide(E, s[:, None], out=E)
        else:
            np.subtract(z, m, out=E)
            np.exp(E, out=E)
            np.dot(ones, E, out=s)
            np.divide(E, s, out=E)
        np.subtract(E, onehot, out=E)
        np.multiply(E, c, out=E)

    return grad


# ------------------------------------------------------------------ metrics


class BinaryMetrics:
    """Summed loss and count of correct predictions over blocks of logits z (R, 1), labels t (R, 1).

    The loss is the binary cross-entropy from logits, ``softplus(z) − t z``, with
    ``softplus(z) = max(z, 0) + log(1 + exp(−|z|))``: never overflows, and is exact to a unit in the
    last place of 1 per sample (``log(1 + x)`` for x in (0, 1] stands in for ``log1p``, 3× cheaper).
    ``clip`` (``−log eps``) caps each sample's loss as ``BCELoss`` does by clipping probabilities at
    the machine epsilon; None leaves it exact, as ``SigmoidBCELoss`` is. A sample counts as correct
    when ``z > 0`` (σ(z) > ½) agrees with its label. Sums are dot products with a vector of ones
    (BLAS: half the time of ``ndarray.sum`` on a column).
    """

    def __init__(self, rows, dtype, clip=None):
        self.u = np.empty(rows, dtype)
        self.v = np.empty(rows, dtype)
        self.ones = np.ones(rows, dtype)
        self.p, self.q = np.empty(rows, bool), np.empty(rows, bool)
        self.one, self.half = np.ones((), dtype), np.asarray(0.5, dtype)
        self.zero = np.zeros((), dtype)
        self.clip = None if clip is None else np.asarray(clip, dtype)
        # a sample's loss is at most |z| + log 2: below this no sample is capped
        self.clip_free = None if clip is None else float(clip) - 1.0

    def __call__(self, z, t):
        z, t = z.reshape(-1), t.reshape(-1)  # (R, 1) or (1, R), contiguous: views
        r = len(z)
        u, v, ones = self.u[:r], self.v[:r], self.ones[:r]
        vdot = np.vdot
        np.abs(z, out=u)
        np.negative(u, out=v)
        np.exp(v, out=v)
        np.add(v, self.one, out=v)
        np.log(v, out=v)  # log(1 + exp(−|z|))
        if self.clip is None or float(np.maximum.reduce(u)) < self.clip_free:  # no sample reaches the cap
            # Σ max(z, 0) − t z = Σ (|z| + z) / 2 − tᵀz
            loss = float(vdot(ones, v)) + 0.5 * (float(vdot(ones, u)) + float(vdot(ones, z))) - float(vdot(t, z))
        else:  # per sample, each capped
            np.add(u, z, out=u)
            np.multiply(u, self.half, out=u)  # max(z, 0), exactly
            np.add(v, u, out=v)
            np.multiply(t, z, out=u)
            np.subtract(v, u, out=v)
            np.minimum(v, self.clip, out=v)
            loss = float(vdot(ones, v))
        p, q = self.p[:r], self.q[:r]
        np.greater(z, self.zero, out=p)  # predicted class 1 (σ(z) > ½)
        np.greater(t, self.half, out=q)  # labelled class 1
        np.equal(p, q, out=p)
        return loss, float(np.count_nonzero(p))  # booleans: 2-3x cheaper than the same count in floats


class SoftmaxMetrics:
    """Summed loss and count of correct predictions over blocks of logits z, labels (R,) intp, the
    classes along ``axis`` of z ((R, K) with ``axis=1``, (K, R) with ``axis=0``).

    The loss is the cross-entropy of ``softmax(z)``, ``log Σ exp(z − max) − (z_y − max)``
    (log-sum-exp, as ``SoftmaxCrossEntropyLoss``), each sample capped at ``clip`` when given
    (``CrossEntropyLoss`` clips the picked probability at the machine epsilon). Correct: the
    arg-max (first on ties, as ``np.argmax``) is the label.
    """

    def __init__(self, rows, classes, dtype, clip=None, axis=1):
        self.S = np.empty(rows * classes, dtype)
        self.mx = np.empty(rows, dtype)
        self.tot = np.empty(rows, dtype)
        self.ones = np.ones(classes, dtype)
        self.ar = np.arange(rows)
        self.axis = axis
        self.clip = None if clip is None else np.asarray(clip, dtype)

    def __call__(self, z, labels):
        axis = self.axis
        r = z.shape[1 - axis]
        S, mx, tot, ar = self.S[:z.size].reshape(z.shape), self.mx[:r], self.tot[:r], self.ar[:r]
        np.max(z, axis=axis, out=mx)
        np.subtract(z, mx[:, None] if axis else mx, out=S)
        picked = S[ar, labels] if axis else S[labels, ar]  # z_y − max
        np.exp(S, out=S)
        np.dot(S, self.ones, out=tot) if axis else np.dot(self.ones, S, out=tot)
        np.log(tot, out=tot)
        np.subtract(tot, picked, out=tot)  # per-sample loss
        if self.clip is not None:
            np.minimum(tot, self.clip, out=tot)
        correct = int(np.count_nonzero(np.argmax(z, axis=axis) == labels))
        return float(tot.sum()), float(correct)


# ------------------------------------------------------------------ updates


def make_update(kind, P, G, lr, dtype, momentum=0.0, betas=(0.9, 0.999), eps=1e-8, decay=None):
    """``(step, fold)``: ``step()`` updates ``P`` in place from ``G``; ``fold`` is the factor the output
    gradient must be scaled by besides ``1 / n`` (the learning rate for the SGD family, whose update is
    then a plain subtraction; 1 for Adam, which needs the gradient itself).

    ``decay`` (same shape as ``P``, or None): the L2 term's coefficient per entry (``λ`` on every
    weight, 0 on biases and frozen entries), added as ``G += decay ⊙ P`` before the update, times
    ``lr`` when the learning rate is folded in.

    The formulas are those of ``model.optim`` (PyTorch's momentum, Kingma & Ba's Adam), with the
    learning rate folded into the velocity for (Nesterov) momentum: ``V = lr · v``.
    """
    T = np.empty_like(P)
    subtract, add, multiply = np.subtract, np.add, np.multiply
    fold = 1.0 if kind == "adam" else float(lr)
    D = None if decay is None else (decay * fold).astype(dtype)

    def add_decay():
        multiply(P, D, out=T)
        add(G, T, out=G)

    if kind == "sgd":
        def update():
            subtract(P, G, out=P)
    elif kind == "momentum":
        V = np.zeros_like(P)
        mu = np.asarray(momentum, dtype)

        def update():
            multiply(V, mu, out=V)
            add(V, G, out=V)
            subtract(P, V, out=P)
    elif kind == "nesterov":
        V = np.zeros_like(P)
        mu = np.asarray(momentum, dtype)

        def update():
            multiply(V, mu, out=V)
            add(V, G, out=V)
            multiply(V, mu, out=T)
            add(T, G, out=T)  # lr (g + mu v)
            subtract(P, T, out=P)
    elif kind == "adam":
        b1, b2 = betas
        m, v, U = np.zeros_like(P), np.zeros_like(P), np.empty_like(P)
        state = {"t": 0}

        def update():
            # the operations and their order are Adam.step's in model.optim, so the numbers agree
            state["t"] += 1
            t = state["t"]
            step = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
            multiply(m, b1, out=m)
            multiply(G, 1 - b1, out=U)
            add(m, U, out=m)
            multiply(v, b2, out=v)
            multiply(G, 1 - b2, out=U)
            multiply(U, G, out=U)
            add(v, U, out=v)
            multiply(m, step, out=U)
            np.sqrt(v, out=T)
            add(T, eps, out=T)
            np.divide(U, T, out=U)
            subtract(P, U, out=P)
    else:
        raise ValueError(f"no engine update for the optimizer {kind!r}")
    if D is None:
        return update, fold

    def update_with_decay():
        add_decay()
        update()

    return update_with_decay, fold
