"""A training engine beside the layers: the same networks, trained by a few fixed NumPy calls per step.

The layer objects (``net.loss`` / ``net.backward``) are the readable reference that the gradient
checker verifies. For the networks most runs train — a chain of ``Linear`` layers with ReLU, LeakyReLU,
Tanh or Sigmoid between them, ending in Sigmoid + ``BCELoss``, ``SigmoidBCELoss``,
``SoftmaxCrossEntropyLoss`` or Softmax + ``CrossEntropyLoss``, with or without weight decay, under
``SGD`` (with or without (Nesterov) momentum) or ``Adam`` — ``model.training.train`` uses this engine
instead: it computes the same gradients (the tests show the parameters after several epochs equal the
layer path's to 1e-12) with ~13 NumPy calls per step on preallocated buffers, and takes each step
with a ``model.optim`` optimizer over one flat vector, so the update formulas live in one place.

The parts, one concept per module:

- ``plan``: what the engine runs (``unsupported_reason``) and the flat, folded parameter layout;
- ``kernels``: the in-place activations and output gradients;
- ``blocks``: the named work buffers and the compiled gradient of one block of samples;
- ``metrics``: the running loss and accuracy from the logits;
- ``data``: how a pass walks the samples (``Schedule``) and the stage buffers each block of them is
  copied into, shuffled by ``model.batches.Shuffler`` (no pass copies a whole data set);
- ``engine``: ``Engine``, which runs epochs, evaluates and computes one batch's gradients.

Anything else (Dropout, BatchNorm, MSE, user layers, L-BFGS) stays on the layer path. Where the two
paths differ, on purpose: the engine always uses the fused output gradient ``(p − y) / n``; the
handout's chained Sigmoid → BCELoss (and Softmax → CrossEntropyLoss) equals it to rounding except where
the probability saturates to exactly 0 or 1, where the chained product collapses to 0 and the
engine's does not.
"""

from .engine import Engine
from .plan import unsupported_reason

__all__ = ["Engine", "unsupported_reason"]
