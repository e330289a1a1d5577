"""What a network holds every layer to while it backpropagates: the shape rule, and gradients that reach the
optimizer. A layer that breaks it is named in one ``ValueError``, never in NumPy's words.

After ``layer.backward(upstream)``: the returned dℓ/dx has the shape of the layer's input (a gradient has the
shape of what it is taken with respect to), and ``grads`` has the keys and shapes of ``params`` (a gradient
stored under another name, or transposed, would never reach its parameter).
"""

import numpy as np


class LayerProtocolError(ValueError):
    """A layer's backward broke the protocol inside a network; the message names the layer and the fix."""


def backward_through(layer, index, upstream, input_shape):
    """``layer.backward(upstream)``, checked: dℓ/dx of ``input_shape``, ``grads`` matching ``params``."""
    try:
        downstream = layer.backward(upstream)
    except (ValueError, TypeError, IndexError) as exc:  # NumPy's shape errors inside the layer's own code
        if isinstance(exc, LayerProtocolError):
            raise
        raise LayerProtocolError(f"{_name(layer, index)}.backward failed for an upstream of shape {np.shape(upstream)} "
                                 f"and an input of shape {input_shape}: {_reason(exc)}") from exc
    got = downstream.shape if type(downstream) is np.ndarray else np.shape(downstream)
    if got != input_shape:
        raise LayerProtocolError(f"{_name(layer, index)}.backward returned dℓ/dx of shape {got}, but its input had "
                                 f"shape {input_shape}: a gradient has the shape of what it is taken with respect to"
                                 f"{_hint(got, input_shape, 'dℓ/dx = upstream · Wᵀ')}")
    params = getattr(layer, "params", None)
    if params:
        check_grads(layer, index, params)
    return downstream


def check_grads(layer, index, params):
    """Refuse ``grads`` whose keys or shapes differ from ``params``'."""
    grads = getattr(layer, "grads", {})
    if grads.keys() != params.keys():
        raise LayerProtocolError(f"{_name(layer, index)}.grads has keys {sorted(grads)}, its params {sorted(params)}: "
                                 "a gradient stored under another name never reaches its parameter")
    for key, param in params.items():
        grad = grads[key]
        if type(grad) is np.ndarray and type(param) is np.ndarray and grad.shape == param.shape:
            continue  # the usual case, decided without a call
        got, want = np.shape(grad), np.shape(param)
        if got != want:
            raise LayerProtocolError(f"{_name(layer, index)}.grads[{key!r}] has shape {got}, params[{key!r}] has "
                                     f"shape {want}{_hint(got, want, 'dℓ/dW = xᵀ · upstream')}")


def _hint(got, want, formula):
    return f" (transposed? {formula})" if len(got) == 2 and got == want[::-1] else ""


def _name(layer, index):
    return f"layer {index} ({type(layer).__name__})"


def _reason(exc):
    """The exception in a few words: NumPy's shape complaints as what they mean, anything else as it says."""
    text = " ".join(str(exc).split())
    if isinstance(exc, ValueError) and any(word in text for word in ("broadcast", "mismatch", "shape", "aligned")):
        return ("the shapes inside it do not fit (a product with a missing .T, a sum over the wrong axis?); "
                "the gradient checker names the shapes each gradient needs")
    return f"{type(exc).__name__}: {text}"
