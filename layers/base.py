"""The ``Layer`` base class shared by every module in this package.

A layer is a node of the computational graph. ``forward`` computes the output and caches exactly
what ``backward`` will need; ``backward`` receives the upstream gradient dℓ/d(output), multiplies it by
the node's local gradient and returns dℓ/d(input) (the handout's "upstream × local"). Layers with
parameters also fill ``self.grads``, whose keys and shapes match ``self.params`` (the shape rule: a
gradient has the shape of what it is taken with respect to; ``layers.protocol`` holds user code to it).

Beyond that, every layer has a mode (``train()`` / ``eval()``, as in PyTorch; only Dropout and
BatchNorm behave differently in the two), a ``config()`` from which it can be rebuilt
(``type(layer)(**layer.config())``) and a ``buffers`` dictionary of non-trainable arrays that are
saved with a model (BatchNorm's running statistics).
"""

import copy

import numpy as np

from .validation import ParameterError


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
        self.grads[name] = np.zeros(value.shape, value.dtype)  # its pages are taken when first written

    def astype(self, dtype):
        """Return a copy whose parameters (and gradients) and buffers have ``dtype``; the cache is dropped."""
        new = copy.deepcopy(self)
        new.cache = None
        for k in new.params:
            new.params[k] = new.params[k].astype(dtype)
            new.grads[k] = np.zeros_like(new.params[k])
        for k in new.buffers:
            new.buffers[k] = new.buffers[k].astype(dtype)
        return new

