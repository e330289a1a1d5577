"""The ``Layer`` protocol shared by every module in this package.

A layer is a node of the computational graph. ``forward`` computes the output and caches exactly
what ``backward`` will need; ``backward`` receives the upstream gradient dℓ/d(output), multiplies it by
the node's local gradient and returns dℓ/d(input) (the handout's "upstream × local"). Layers with
parameters also fill ``self.grads``, whose keys and shapes match ``self.params`` (the shape rule: a
gradient has the shape of what it is taken with respect to).

What every ``backward`` would otherwise open with lives here, once. ``Layer`` wraps the ``forward``
and ``backward`` each subclass defines (``__init_subclass__``): after ``forward`` it notes the shape and
dtype of each output (and refuses an input that is not real numbers: complex values would pass through
silently); before ``backward`` it refuses to run without a cache and checks each upstream
gradient against the output it is the gradient of, handing it on in that output's dtype (an integer
upstream becomes float; float32 stays float32). A loss's output is a Python float, so its upstream
must be a scalar and is handed on as a Python float, which takes the dtype of the array it multiplies.
So a subclass's ``backward`` holds only its math. A layer that does not subclass ``Layer`` is not
touched: the network and the gradient checker only call ``forward`` and ``backward``.

Beyond that, every layer has a mode (``train()`` / ``eval()``, as in PyTorch; only Dropout and
BatchNorm behave differently in the two), a ``config()`` from which it can be rebuilt
(``type(layer)(**layer.config())``) and a ``buffers`` dictionary of non-trainable arrays that are
saved with a model (BatchNorm's running statistics).
"""

import copy
import functools
import inspect

import numpy as np

from .validation import ParameterError, check_upstream


class Layer:
    """Base class: ``params``/``grads`` dictionaries and the cache discipline.

    Attributes
    ----------
    params : dict of str -> ndarray
        Trainable arrays. Optimizers update them **in place**, so never rebind them while training.
    grads : dict of str -> ndarray
        dℓ/d(param) for each entry of ``params``, same keys and shapes, written by ``backward``.
    cache : object or None
        What ``forward`` saved for ``backward``; ``None`` until the first ``forward``.
    buffers : dict of str -> ndarray
        Non-trainable state that belongs to the model and must be saved with it (no gradient, not
        touched by optimizers), e.g. BatchNorm's running statistics. Empty for most layers.
    training : bool
        True (the default) in training mode, False in evaluation mode; see ``train`` and ``eval``.
        Layers without modes ignore it.
    """

    def __init__(self):
        self.params = {}
        self.grads = {}
        self.cache = None
        self.buffers = {}
        self.training = True
        self._upstream_spec = None  # (shape, dtype) of forward's last output (a list of them for several)

    def __init_subclass__(cls, **kwargs):
        """Wrap the subclass's own ``forward`` and ``backward`` with the checks of the module docstring."""
        super().__init_subclass__(**kwargs)
        if "forward" in cls.__dict__:
            cls.forward = _noting_the_outputs(cls.forward)
        if "backward" in cls.__dict__:
            cls.backward = _checking_the_upstreams(cls.backward)

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    def __repr__(self):
        shapes = ", ".join(f"{k}={v.shape}" for k, v in self.params.items())
        return f"{type(self).__name__}({shapes})"

    def train(self, mode=True):
        """Switch to training mode (``mode=True``) or evaluation mode (``False``); return ``self``."""
        if not isinstance(mode, (bool, np.bool_)):
            raise ParameterError(f"{type(self).__name__}.train", "mode", f"must be True or False, got {mode!r}")
        self.training = bool(mode)
        return self

    def eval(self):
        """Switch to evaluation mode, the same as ``train(False)``; return ``self``."""
        return self.train(False)

    def config(self):
        """The constructor keyword arguments that rebuild this layer, as JSON-able plain values.

        ``type(layer)(**layer.config())`` makes a fresh layer of the same architecture (new initial
        parameters, no cache). Arrays, random generators and dtypes are not part of it. The base
        returns ``{}``: right for every layer whose constructor takes no arguments.
        """
        return {}

    def _add_param(self, name, value):
        self.params[name] = value
        self.grads[name] = np.zeros_like(value)

    def zero_grad(self):
        """Set every gradient to zero in place."""
        for g in self.grads.values():
            g.fill(0)

    def astype(self, dtype):
        """Return a copy whose parameters (and gradients) and buffers have ``dtype``; the cache is dropped."""
        new = copy.deepcopy(self)
        new.cache = new._upstream_spec = None
        for k in new.params:
            new.params[k] = new.params[k].astype(dtype)
            new.grads[k] = np.zeros_like(new.params[k])
        for k in new.buffers:
            new.buffers[k] = new.buffers[k].astype(dtype)
        return new


def _noting_the_outputs(forward):
    """``forward``, noting the shape and dtype of its output (of each, for several) for ``backward``'s check."""

    @functools.wraps(forward)
    def noting(self, *inputs, **options):
        kind = getattr(getattr(inputs[0], "dtype", None), "kind", "f") if inputs else "f"
        if kind not in "fiub":  # complex numbers would flow through silently; strings and objects fail obscurely
            raise ValueError(f"{type(self).__name__}.forward takes real numbers, got an array of dtype "
                             f"{inputs[0].dtype}")
        out = forward(self, *inputs, **options)
        if type(out) is np.ndarray and out.dtype.kind == "f":  # the usual output: a float array
            self._upstream_spec = out.shape, out.dtype
        else:
            self._upstream_spec = [_gradient_spec(o) for o in out] if type(out) is tuple else _gradient_spec(out)
        return out

    return noting


def _gradient_spec(output):
    """``(shape, dtype)`` of a gradient with respect to ``output``: its shape, and its dtype if floating
    (float64 otherwise). A Python number is a loss's value: ``((), None)``, see ``_gradient_like``."""
    if type(output) in (int, float):
        return (), None
    output = np.asarray(output)
    return output.shape, (output.dtype if output.dtype.kind == "f" else np.dtype(np.float64))


def _checking_the_upstreams(backward):
    """``backward``, after refusing a missing cache and checking each upstream against its output."""
    signature = inspect.signature(backward)

    @functools.wraps(backward)
    def checking(self, *upstreams, **named):
        if getattr(self, "cache", None) is None:
            raise RuntimeError(f"{type(self).__name__}.backward() called before forward(): "
                               "there is no cache to differentiate at")
        if named:  # upstreams passed by name: put them in the signature's order
            upstreams = tuple(signature.bind(self, *upstreams, **named).arguments.values())[1:]
        spec = getattr(self, "_upstream_spec", None)  # None if the cache was put there by hand: nothing to compare
        if spec is None or not upstreams:  # no upstream: the subclass's default (a loss's 1.0)
            return backward(self, *upstreams)
        if type(spec) is tuple and len(upstreams) == 1:  # one output, one upstream: all but Copy
            g = upstreams[0]
            if type(g) is np.ndarray and spec[1] is not None and g.shape == spec[0] and g.dtype == spec[1]:
                return backward(self, g)  # already the output's shape and dtype: hand it on
            return backward(self, _gradient_like(g, spec, type(self).__name__))
        return backward(self, *_gradients_like(upstreams, spec, type(self).__name__))

    return checking


def _gradients_like(upstreams, spec, owner):
    """One upstream per output of forward (``spec`` a list of specs for several), each as ``_gradient_like``."""
    specs = spec if type(spec) is list else [spec]
    if len(upstreams) != len(specs):
        raise TypeError(f"{owner}.backward takes {len(specs)} upstream gradient(s), one per output of forward, "
                        f"got {len(upstreams)}")
    return [_gradient_like(g, one, owner, f" {i} of {len(specs)}")
            for i, (g, one) in enumerate(zip(upstreams, specs, strict=True), 1)]


def _gradient_like(upstream, spec, owner, which=""):
    """``upstream`` checked to have the output's shape (``ValueError``) and cast to its float dtype.

    For a loss, whose output is a Python number, the upstream must be a scalar and becomes a Python
    float, which NumPy multiplies into an array of any float dtype without changing that dtype.
    """
    shape, dtype = spec
    g = check_upstream(upstream, shape, owner, which)
    if dtype is None:
        return float(g)
    return g if g.dtype == dtype else g.astype(dtype)
