"""Work buffers and the compiled gradient of one block of samples.

A ``Block`` serves blocks of up to ``rows`` samples in one layout: rows (R, width), as the layers hold
them, or columns (width, R), the data transposed. Its buffers are flat; a block of r samples uses a
C-contiguous view of the first r × width entries, so any r up to ``rows`` needs no other buffer.

Names, per hidden layer l (``widths[l]`` = its units plus the constant unit):

- ``hidden[l]``: the pre-activation ``a = [x 1] @ [[W], [b]]``, overwritten in place by ``h = act(a)``;
- ``local_grad[l]``: the activation's local gradient ``dh/da``;
- ``hidden_grad[l]``: ``dℓ/da``, the upstream gradient times the local one;

and for the output: ``output_grad`` ``dℓ/dz`` (the fused ``(p − y) / n``), ``logits`` scratch space
for logits whose destination is not contiguous, ``onehot`` the one-hot targets made from class
indices, ``input_times_grad`` ``(x ⊙ dℓ/dz)ᵀ`` for the wide two-layer form.
"""

import numpy as np

from . import kernels

#: Mini-batches of at least this many samples run in the column layout (see ``model.engine.Engine``).
COLUMN_ROWS = 512
#: From this width on, a one-hidden-layer binary network regroups step 5 (see ``Block._two_layer``).
WIDE = 16


class Block:
    """Buffers and compiled functions for blocks of up to ``rows`` samples.

    Attributes
    ----------
    grad : ``grad(inputs, targets, logits, weight_grads, scale)``: the forward pass of a block
        (``inputs`` [x 1] (r, D + 1), or (D + 1, r) in columns) writes its logits into ``logits`` and
        the backward pass the gradient of ``scale`` × the summed loss into the folded matrices
        ``weight_grads``. ``targets``: 0/1 (r, 1) or (1, r) for a binary head; one-hot (r, K) or class
        indices for softmax.
    forward : ``forward(inputs, logits)``: the logits of a block in columns, no local gradients.
    """

    def __init__(self, plan, folded, rows, columns):
        dtype, classes = plan.dtype, plan.classes
        self.rows, self.columns, self.classes = rows, columns, classes
        self.widths = folded.widths[:-1]
        self.hidden = [np.empty(rows * w, dtype) for w in self.widths]
        self.local_grad = [np.empty(rows * w, dtype) for w in self.widths]
        self.hidden_grad = [np.empty(rows * w, dtype) for w in self.widths]
        self.output_grad = np.empty(rows * classes, dtype)
        self.logits = np.empty(rows * classes, dtype)
        self.input_times_grad = np.empty(rows * (plan.input_dim + 1), dtype)
        self.onehot = np.empty(rows * classes, dtype) if plan.head.kind == "softmax" else None
        self.sample_index = np.arange(rows)
        hidden_stages = plan.stages[:-1]
        activations = [kernels.activation(s.activation, s.alpha, dtype, rows * w >= kernels.LARGE_BLOCK)
                       for s, w in zip(hidden_stages, self.widths, strict=True)]
        forwards = [kernels.activation_forward(s.activation, s.alpha, dtype) for s in hidden_stages]
        if plan.head.kind == "binary":
            head = kernels.binary_output_grad(rows, dtype, large=columns or rows >= COLUMN_ROWS)
        else:
            head = kernels.softmax_output_grad(rows, classes, dtype, axis=0 if columns else 1)
        if len(plan.stages) == 2 and classes == 1:
            self.grad = self._two_layer(folded, activations[0], head)
        else:
            self.grad = self._general(folded, activations, head)
        self.forward = self._inference(folded, forwards)

    def view(self, buffer, width, samples, columns=None):
        """The first ``samples`` of a flat buffer as a C-contiguous (samples, width) or (width, samples) array
        (as the block's layout, unless ``columns`` says)."""
        columns = self.columns if columns is None else columns
        return buffer[:samples * width].reshape((width, samples) if columns else (samples, width))

    def _views(self, specs):
        """``views(r)``: the (buffer, width[, columns]) specs as arrays of r samples, made once per r."""
        cache = {}

        def views(samples):
            hit = cache.get(samples)
            if hit is None:
                hit = cache[samples] = tuple(self.view(buffer, width, samples, *layout)
                                             for buffer, width, *layout in specs)
            return hit

        return views

    def _two_layer(self, folded, activation, head):
        """One hidden layer, one logit: the handout's family, in rows (a small batch) or in columns, where
        x is (D + 1, R), hidden (H + 1, R) and the logits and their gradient (1, R).

        Step 5's gradient is ``xᵀ ((e w2ᵀ) ⊙ dh/da)`` at small H (fewest calls) and, when H is wide,
        ``((x ⊙ e)ᵀ dh/da) ⊙ w2ᵀ``, which never materialises dℓ/dh: two fewer (B, H) passes."""
        dot, multiply, matmul = np.dot, np.multiply, np.matmul
        W1, W2 = folded.weights
        W1T, W2T, w2_row = W1.T, W2.T, W2.reshape(1, -1)
        mask1, mask2 = folded.masks
        units, inputs_width = W1.shape[1], W1.shape[0]
        wide = units >= WIDE
        views = self._views(((self.hidden[0], units), (self.local_grad[0], units), (self.hidden_grad[0], units),
                             (self.output_grad, 1), (self.input_times_grad, inputs_width, True),
                             (self.output_grad, 1, True)))  # the last two: (x ⊙ e)ᵀ and eᵀ, for the wide form
        first = matmul if self.rows * units >= kernels.LARGE_BLOCK else dot  # matmul wins for (256, 3) @ (3, 65)

        def rows_grad(x, targets, logits, weight_grads, scale):
            hidden, local_grad, hidden_grad, output_grad, input_times_grad, grad_row = views(len(x))
            grad_W1, grad_W2 = weight_grads
            first(x, W1, out=hidden)  # step 5 forward: a = [x 1] @ [[W1], [b1]]
            activation(hidden, local_grad)  # step 4 forward: h = act(a), and dh/da
            dot(hidden, W2, out=logits)  # step 3 forward: z = [h 1] @ [[w2], [b]]
            head(logits, targets, output_grad, scale)  # steps 1+2: e = dℓ/dz = scale (σ(z) − y)
            dot(hidden.T, output_grad, out=grad_W2)  # step 3: dℓ/d[w2; b] = [h 1]ᵀ e
            if mask2 is not None:
                multiply(grad_W2, mask2, out=grad_W2)
            if wide:
                multiply(x.T, grad_row, out=input_times_grad)  # (x ⊙ e)ᵀ, written transposed: half the time
                dot(input_times_grad, local_grad, out=grad_W1)  # steps 3-5 regrouped: Σ_n x_n e_n dh/da_n
                multiply(grad_W1, w2_row, out=grad_W1)  # ... ⊙ w2
            else:
                dot(output_grad, w2_row, out=hidden_grad)  # step 3: dℓ/dh = e w2ᵀ
                multiply(hidden_grad, local_grad, out=hidden_grad)  # step 4: dℓ/da = dℓ/dh ⊙ dh/da
                dot(x.T, hidden_grad, out=grad_W1)  # step 5: dℓ/d[W1; b1] = [x 1]ᵀ dℓ/da
            multiply(grad_W1, mask1, out=grad_W1)  # the constant unit (and a missing b1) never move

        def columns_grad(x, targets, logits, weight_grads, scale):
            hidden, local_grad, hidden_grad, output_grad, input_times_grad, _ = views(x.shape[1])
            grad_W1, grad_W2 = weight_grads
            matmul(W1T, x, out=hidden)  # step 5 forward, transposed (matmul: OpenBLAS is slow on a 3-long axis)
            activation(hidden, local_grad)  # step 4 forward
            dot(W2T, hidden, out=logits)  # step 3 forward
            head(logits, targets, output_grad, scale)  # steps 1+2
            dot(hidden, output_grad.T, out=grad_W2)  # step 3: dℓ/d[w2; b] = [h 1]ᵀ e
            if mask2 is not None:
                multiply(grad_W2, mask2, out=grad_W2)
            if wide:
                multiply(x, output_grad, out=input_times_grad)
                dot(input_times_grad, local_grad.T, out=grad_W1)  # steps 3-5 regrouped, then ⊙ w2
                multiply(grad_W1, w2_row, out=grad_W1)
            else:
                multiply(W2, output_grad, out=hidden_grad)  # step 3: dℓ/dh = w2 e (broadcast along R)
                multiply(hidden_grad, local_grad, out=hidden_grad)  # step 4
                dot(x, hidden_grad.T, out=grad_W1)  # step 5: dℓ/d[W1; b1] = [x 1]ᵀ dℓ/da
            multiply(grad_W1, mask1, out=grad_W1)  # the constant unit (and a missing b1) never move

        return columns_grad if self.columns else rows_grad

    def _general(self, folded, activations, head):
        """Any depth, any head, either layout."""
        dot, multiply = np.dot, np.multiply
        weights, masks, classes = folded.weights, folded.masks, self.classes
        transposed = [w.T for w in weights]
        columns, view, widths = self.columns, self.view, self.widths
        last = len(weights) - 1

        def forward_and_head(x, targets, logits, scale):
            samples = x.shape[1] if columns else len(x)
            below = x
            for layer in range(last):
                hidden = view(self.hidden[layer], widths[layer], samples)
                dot(transposed[layer], below, out=hidden) if columns else dot(below, weights[layer], out=hidden)
                activations[layer](hidden, view(self.local_grad[layer], widths[layer], samples))
                below = hidden
            out = logits if logits.flags.c_contiguous else view(self.logits, classes, samples)
            dot(transposed[last], below, out=out) if columns else dot(below, weights[last], out=out)
            if out is not logits:
                logits[...] = out
            if self.onehot is not None and targets.ndim == 1:  # class indices: make the one-hot block
                targets = kernels.one_hot(view(self.onehot, classes, samples), targets, self.sample_index[:samples],
                                          columns)
            output_grad = view(self.output_grad, classes, samples)
            head(out, targets, output_grad, scale)
            return samples, output_grad

        def grad(x, targets, logits, weight_grads, scale):
            samples, upstream = forward_and_head(x, targets, logits, scale)
            for layer in range(last, -1, -1):
                below = x if layer == 0 else view(self.hidden[layer - 1], widths[layer - 1], samples)
                grad_W = weight_grads[layer]
                # dℓ/d[W; b] = [h 1]ᵀ upstream
                dot(below, upstream.T, out=grad_W) if columns else dot(below.T, upstream, out=grad_W)
                if masks[layer] is not None:
                    multiply(grad_W, masks[layer], out=grad_W)
                if layer:
                    hidden_grad = view(self.hidden_grad[layer - 1], widths[layer - 1], samples)
                    # the upstream of the layer below, times its activation's local gradient
                    if columns:
                        dot(weights[layer], upstream, out=hidden_grad)
                    else:
                        dot(upstream, transposed[layer], out=hidden_grad)
                    multiply(hidden_grad, view(self.local_grad[layer - 1], widths[layer - 1], samples), out=hidden_grad)
                    upstream = hidden_grad

        return grad

    def _inference(self, folded, forwards):
        """``forward(x, logits)``: the logits of a block in columns, no local gradients."""
        dot, classes = np.dot, self.classes
        transposed = [w.T for w in folded.weights]
        view, widths, last = self.view, self.widths, len(folded.weights) - 1

        def forward(x, logits):
            samples = x.shape[1]
            below = x
            for layer in range(last):
                hidden = view(self.hidden[layer], widths[layer], samples)
                dot(transposed[layer], below, out=hidden)
                forwards[layer](hidden)
                below = hidden
            out = logits if logits.flags.c_contiguous else view(self.logits, classes, samples)
            dot(transposed[last], below, out=out)
            if out is not logits:
                logits[...] = out

        return forward
