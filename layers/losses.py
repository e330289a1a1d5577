"""Loss layers: binary cross-entropy (the handout's step 1) and its fused logit twin, multi-class
cross-entropy and its fused softmax twin, and mean squared error.

Every loss is the root of the graph: ``forward(out, y)`` checks its input and labels and returns a Python
float; ``backward(upstream=1.0)`` returns dℓ/d(out) (the upstream, a scalar, is 1 at the root). A caller that
validated both already (a network, at its boundary) passes ``check_input=False``, scikit-learn's name for it.
Besides, each loss tells a model container

- ``target``: the kind of labels it takes — ``"binary"`` (0/1 of the input's shape), ``"classes"``
  ((N,) integer class indices) or ``"values"`` (real targets of the input's shape);
- ``proba(out)`` (a classification loss): class probabilities from what it takes as input, through the
  output activation it already has (the identity when it takes probabilities).

The classification losses take an optional ``class_weight``: one weight per class, so the loss is the
weighted mean ``Σ_i w_{y_i} ℓ_i / Σ_i w_{y_i}`` instead of ``(1/N) Σ_i ℓ_i``. Both are written with each
sample's *share* of the mean — ``1/N``, or ``w_{y_i} / Σ w`` — which is also the factor in every
gradient below (the handout's ``1/N``). Weights may not all be 0; only their ratios count, so the shares are
computed from the weights divided by their largest (any finite weights work, in float32 too; the loss is the same).

Every loss here also weighs samples: its ``sample_weight`` attribute, None or (N,) weights >= 0, one per sample
(row) of the next ``forward``'s batch, multiplies the class weights: the loss is ``Σ_i w_i ℓ_i / Σ_i w_i`` (so
uniform weights give the plain mean, and a weight of 0 removes a sample). A batch whose weights are all 0 has
loss 0 and no gradient. The training loop sets it for each batch (``model.training``, which checked the weights
once) and puts None back after; a loss without the attribute does not weigh samples.
"""

import numpy as np
from scipy.special import expit

from .activations import _softmax_and_log, softmax
from .base import Layer
from .validation import (
    ParameterError,
    as_float_array,
    as_index,
    check_binary,
    check_class_labels,
    check_finite,
    check_matrix,
    check_probabilities,
    check_same_shape,
)


def _check_pair(check_input, a, y, a_name, owner, y_name="y"):
    """A float input and a target of the same shape (BCE and MSE), not empty; without ``check_input`` (the
    caller's promise) only the shapes are compared."""
    if check_input:
        a, y = as_float_array(a, a_name), np.asarray(y)
    check_same_shape(a, y, a_name, y_name)
    if not a.size:
        raise ValueError(f"{owner}: empty batch, need at least one sample")
    return a, y


class ClassWeighted(Layer):
    """A loss averaged over the batch, each sample optionally weighted by its class.

    Parameters
    ----------
    class_weight : None, or a sequence of K finite weights >= 0, not all 0 (K = 2 for the binary losses), indexed by
        class.
    """

    #: the next batch's sample weights (N,), set by the training loop; None: unweighted
    sample_weight = None

    def __init__(self, class_weight=None):
        super().__init__()
        self.weigh(class_weight)

    def weigh(self, class_weight):
        """Set ``class_weight`` (None, or K weights as the constructor takes them), checked as it checks them: the one
        way a built loss is weighted (``train.py --class-weight``, a saved model rebuilt)."""
        self.class_weight = None if class_weight is None else _check_class_weight(class_weight, type(self).__name__)

    def config(self):
        return {} if self.class_weight is None else {"class_weight": list(self.class_weight)}

    def shares(self, labels, dtype, k):
        """Each sample's share of the mean: ``1/N`` (a scalar), or ``w_{y_i} s_i / Σ_j w_{y_j} s_j`` (the labels'
        shape) with class weights ``w`` and sample weights ``s`` (``sample_weight``; each 1 when not given)."""
        sample_weight = self.sample_weight
        if self.class_weight is None:
            return 1 / labels.size if sample_weight is None else sample_shares(sample_weight, labels.shape, dtype)
        if len(self.class_weight) != k:
            raise ValueError(f"{type(self).__name__}: class_weight has {len(self.class_weight)} weights for {k} "
                             "classes")
        w = np.asarray(self.class_weight, dtype=np.float64)[as_index(labels)]  # float64 first: see sample_shares
        if sample_weight is None and not w.max() > 0:
            raise ValueError(f"{type(self).__name__}: the batch's class weights sum to 0; need > 0")
        return sample_shares(np.ones(len(w)) if sample_weight is None else sample_weight, labels.shape, dtype, w)


def checked_scores(z, y, z_name, owner):
    """Unnormalised class scores ``z`` (N, K), finite, and labels ``y`` (N,) in [0, K): both checked, as arrays."""
    z = as_float_array(z, z_name)
    check_matrix(z, z_name, owner)
    check_finite(z, z_name)
    return z, check_class_labels(y, *z.shape)


def sample_shares(sample_weight, shape, dtype, weights=None):
    """Each element's share of a weighted mean over an array of ``shape`` (N, ...): ``W / Σ W`` with ``W`` the
    (N,) ``sample_weight`` spread along each row, times ``weights`` (that shape) when given; all 0 when ``Σ W`` is 0
    (a batch of weight 0 counts for nothing). Returned in ``dtype``.

    Only the weights' ratios matter (``W / Σ W`` is scale-free), so each factor is first divided by its largest
    value, in float64: weights each finite but whose sum (or product) overflows float64, or that overflow the
    ``dtype`` they would be cast to (1e39 in float32), give the same shares as their rescaled twins."""
    s = _scaled(np.asarray(sample_weight, dtype=np.float64)).reshape((shape[0],) + (1,) * (len(shape) - 1))
    w = np.broadcast_to(s, shape) if weights is None else s * _scaled(np.asarray(weights, dtype=np.float64))
    largest = w.max()
    if not largest > 0:  # every weight 0 (or underflowed to 0 in the product)
        return np.zeros(shape, dtype)
    w = w / largest  # each in [0, 1], the largest 1: the sum is in [1, N]
    return (w / w.sum()).astype(dtype)


def _scaled(w):
    """Nonnegative finite weights ``w`` divided by their largest (unchanged when all are 0)."""
    largest = w.max()
    return w / largest if largest > 0 else w


def _mean(share, terms):
    """``Σ_i share_i · terms_i``: the mean ``(1/N) Σ_i terms_i`` when ``share`` is ``1/N``, else the weighted one."""
    return float(share * terms.sum() if np.isscalar(share) else (share * terms).sum())


def _check_class_weight(class_weight, owner):
    try:
        w = [float(v) for v in class_weight]
    except (TypeError, ValueError):
        raise ParameterError(owner, "class_weight", f"must be a sequence of numbers, got {class_weight!r}") from None
    if len(w) < 2 or not all(np.isfinite(v) and v >= 0 for v in w) or not max(w) > 0:
        raise ParameterError(owner, "class_weight", f"must hold one finite weight >= 0 per class, not all 0, "
                                                    f"got {w!r}")
    return w


class BCELoss(ClassWeighted):
    """Binary cross-entropy averaged over the batch, taking probabilities ``p``.

    ``ℓ = −(1/N) Σ_i [ y_i log p_i + (1 − y_i) log(1 − p_i) ]``, with ``N = p.size``.

    Clamping: like scikit-learn's ``log_loss``, ``p`` is clipped to ``[eps, 1 − eps]`` with ``eps`` the
    machine epsilon of its dtype (2.2e-16 in float64), so a confident wrong answer costs at most
    ``−log(eps)`` ≈ 36 per sample instead of ``inf``. The gradient is the handout's step-1 formula
    evaluated at the clipped ``p``: inside the clip it is the exact derivative; at ``p`` = 0 or 1 it is
    finite but very large (≈ 1 / (N eps)) rather than the zero slope of the flat clipped region, so a
    saturated wrong prediction still pushes back (PyTorch bounds the same term likewise).

    Shapes
    ------
    forward:  p (any shape), y (same shape, values 0/1) -> scalar float;
              cache: (clipped p, y, 1 − p, 1 − y, share)
    backward: upstream scalar (default 1.0, ℓ is the root) -> dℓ/dp (shape of p)
    """

    target = "binary"

    def forward(self, p, y, check_input=True):
        p, y = _check_pair(check_input, p, y, "p", "BCELoss")
        if check_input:
            check_probabilities(p, "p", "BCELoss", "; pass logits to SigmoidBCELoss")
            check_binary(y)
        share = self.shares(y, p.dtype, 2)  # 1/N without weights
        y = y.astype(p.dtype, copy=False)  # 0/1 as numbers of p's dtype: float32 stays float32
        eps = np.finfo(p.dtype).eps
        p = p.clip(eps, 1 - eps)  # the clip of the docstring (the identity where p is inside, as it usually is)
        one_minus_p, one_minus_y = 1 - p, 1 - y  # both reappear in the backward: kept, not recomputed
        self.cache = (p, y, one_minus_p, one_minus_y, share)
        # Step 1's forward, each term times its share of the mean: −Σ share · (y log p + (1 − y) log(1 − p))
        return -_mean(share, y * np.log(p) + one_minus_y * np.log(one_minus_p))

    def backward(self, upstream=1.0):
        p, y, one_minus_p, one_minus_y, share = self.cache
        # Step 1: dℓ/dp = (1/N) (−y/p + (1 − y)/(1 − p)), times the upstream (1 at the root)
        return upstream * share * (one_minus_y / one_minus_p - y / p)

    def proba(self, out):
        """The input already is the probability of class 1: returned unchanged."""
        return out


class SigmoidBCELoss(ClassWeighted):
    """Sigmoid followed by binary cross-entropy, fused: takes logits ``z`` (beyond the handout).

    ``ℓ_i = softplus(z_i) − y_i z_i``, with softplus computed as ``logaddexp(0, z)``, which never
    overflows. The chained Sigmoid → BCELoss gradient multiplies a huge ``1/p`` by a tiny
    ``p(1 − p)``; simplified by hand the product is ``(σ(z) − y) / N``. Where both are finite the two
    paths agree to rounding; at ``|z|`` ≈ 50 the chained pair's σ saturates to exactly 0 or 1 and its
    gradient collapses, while this one stays ``±1/N``.

    Shapes
    ------
    forward:  z (any shape), y (same shape, values 0/1) -> scalar float; cache: (z, y, share)
    backward: upstream scalar (default 1.0) -> dℓ/dz (shape of z)
    """

    target = "binary"

    def forward(self, z, y, check_input=True):
        z, y = _check_pair(check_input, z, y, "z", "SigmoidBCELoss")
        if check_input:
            check_finite(z, "z")
            check_binary(y)
        share = self.shares(y, z.dtype, 2)  # 1/N without weights
        y = y.astype(z.dtype, copy=False)  # 0/1 as numbers of z's dtype: float32 stays float32
        self.cache = (z, y, share)
        # Σ share · (softplus(z) − y z), softplus(z) = log(1 + e^z) computed as logaddexp(0, z): never overflows
        return _mean(share, np.logaddexp(0, z) - y * z)

    def backward(self, upstream=1.0):
        z, y, share = self.cache
        # Steps 1 and 2 at once: dℓ/dz = (σ(z) − y) / N, times the upstream
        return upstream * share * (expit(z) - y)

    def proba(self, out):
        """``σ(z)``, the probability of class 1."""
        return expit(out)


class CrossEntropyLoss(ClassWeighted):
    """Multi-class cross-entropy averaged over the batch, taking probabilities ``p``.

    ``ℓ = −(1/N) Σ_i log p[i, y_i]``: only the probability given to the true class counts.

    Clamping as in ``BCELoss``: the picked probabilities are clipped below at the machine epsilon of
    p's dtype, so a zero probability for the true class costs ``−log(eps)`` ≈ 36 instead of ``inf``,
    and the gradient is the exact formula evaluated at the clipped value. Only ``log p`` appears (no
    ``log(1 − p)``), so unlike BCE there is nothing to clip at the top.

    Shapes
    ------
    forward:  p (N, K) probabilities, y (N,) class indices in [0, K) -> scalar float;
              cache: (clipped picked probabilities (N,), y (N,), share, p's shape)
    backward: upstream scalar (default 1.0) -> dℓ/dp (N, K), nonzero only in each row's label column
    """

    target = "classes"

    def forward(self, p, y, check_input=True):
        if check_input:
            p = as_float_array(p, "p")
            check_matrix(p, "p", "CrossEntropyLoss")
            check_probabilities(p, "p", "CrossEntropyLoss", "; pass logits to SoftmaxCrossEntropyLoss")
            y = check_class_labels(y, *p.shape)
        share = self.shares(y, p.dtype, p.shape[1])  # 1/N without weights
        picked = np.maximum(p[np.arange(len(y)), y], np.finfo(p.dtype).eps)  # p[i, y_i], clipped below at eps
        self.cache = (picked, y, share, p.shape)
        return -_mean(share, np.log(picked))

    def backward(self, upstream=1.0):
        picked, y, share, shape = self.cache
        dp = np.zeros(shape, dtype=picked.dtype)
        # dℓ/dp[i, y_i] = −1 / (N p[i, y_i]); no other entry of p appears in ℓ, so its gradient is 0
        dp[np.arange(len(y)), y] = -share / picked
        return upstream * dp

    def proba(self, out):
        """The input already is the class probabilities: returned unchanged."""
        return out


class SoftmaxCrossEntropyLoss(ClassWeighted):
    """Softmax followed by cross-entropy, fused: takes logits ``z`` — the multi-class ``SigmoidBCELoss``.

    ``ℓ = −(1/N) Σ_i log softmax(z_i)[y_i]``, with the log-softmax computed by log-sum-exp, so logits of
    ±1000 give a finite loss and gradient. Chaining ``Softmax`` → ``CrossEntropyLoss`` by hand — the
    Jacobian-vector product of softmax applied to ``−1/(N p_y)`` at the label — simplifies to
    ``dℓ/dz = (softmax(z) − onehot(y)) / N``. Where the chained pair is finite the two agree to
    rounding; where softmax underflows to exactly 0 at the label (a logit more than ~745 below the row maximum)
    the chained gradient collapses to 0 while this one stays ``≈ −1/N`` there.

    Shapes
    ------
    forward:  z (N, K) logits, y (N,) class indices in [0, K) -> scalar float;
              cache: (softmax(z) (N, K), y (N,), share)
    backward: upstream scalar (default 1.0) -> dℓ/dz (N, K)
    """

    target = "classes"

    def forward(self, z, y, check_input=True):
        if check_input:
            z, y = checked_scores(z, y, "z", "SoftmaxCrossEntropyLoss")
        share = self.shares(y, z.dtype, z.shape[1])  # 1/N without weights
        p, log_p = _softmax_and_log(z)
        self.cache = (p, y, share)
        return -_mean(share, log_p[np.arange(len(y)), y])  # the mean −log p[i, y_i]

    def backward(self, upstream=1.0):
        p, y, share = self.cache
        onehot = np.zeros_like(p)
        onehot[np.arange(len(y)), y] = 1
        # Softmax and cross-entropy at once: dℓ/dz = (softmax(z) − onehot(y)) / N, times the upstream
        share = share if np.isscalar(share) else share[:, None]  # a row's share, for each of its K entries
        return upstream * share * (p - onehot)

    def proba(self, out):
        """``softmax(z)`` over the last axis, computed stably."""
        return softmax(out)


class MSELoss(Layer):
    """Mean squared error over all elements, ``ℓ = (1/M) Σ (pred − target)²`` (PyTorch's default).

    ``M = pred.size``: for (N, D) outputs that is N·D, the mean over samples *and* outputs. With
    ``sample_weight`` (N,) set, the rows' weighted mean of their mean over outputs, ``Σ_i s_i ‖d_i‖² / (D Σ_i s_i)``.

    Shapes
    ------
    forward:  pred (any shape), target (same shape; a different shape is refused, never broadcast)
              -> scalar float; cache: the difference ``pred − target`` (pred's shape and dtype) and each
              element's share of the mean (``1/M``, or pred's shape with sample weights)
    backward: upstream scalar (default 1.0) -> dℓ/dpred (pred's shape)
    """

    target = "values"
    #: the next batch's sample weights (N,), set by the training loop; None: unweighted
    sample_weight = None

    def forward(self, pred, target, check_input=True):
        pred, target = _check_pair(check_input, pred, target, "pred", "MSELoss", "target")
        if check_input:
            target = as_float_array(target, "target")
            check_finite(pred, "pred")
            check_finite(target, "target")
        diff = (pred - target).astype(pred.dtype, copy=False)  # a float64 target must not promote float32
        weights = self.sample_weight
        share = 1 / diff.size if weights is None else sample_shares(weights, diff.shape, diff.dtype)
        self.cache = (diff, share)
        if weights is None:
            return float((diff**2).mean())
        return _mean(share, diff**2)

    def backward(self, upstream=1.0):
        diff, share = self.cache
        # dℓ/dpred = 2 (pred − target) / M (each element's share of the mean), times the upstream
        return upstream * 2 * share * diff
