"""A network's parameters as PyTorch names them, read live from its layers; flat copies where needed.

``ParameterView`` maps a public name (``"0.W"``, or the handout's ``"w1"``) to ``layer.params[name]`` (or
``layer.grads[name]``), looked up afresh on every access, so a layer that *assigns* ``self.grads["W"] = xᵀ ·
upstream`` is seen exactly like one that writes into its array. Where one vector is needed (scipy's L-BFGS),
``gather`` copies the arrays into it and ``scatter`` writes it back into them, in place.
"""

from collections.abc import Mapping

import numpy as np


class ParameterView(Mapping):
    """A live mapping ``public name -> layer.<store>[name]``.

    Assigning writes the values into the layer's array, in place (``net.params["w1"] -= lr * g`` and
    ``net.params["w1"] = new`` both work); the layer's array itself is never replaced, so a layer that
    keeps its own reference to it (``self.W = self.params["W"]``) stays connected.

    Parameters
    ----------
    slots : list of (key, layer, name)
        Where each public key lives: ``getattr(layer, store)[name]``.
    store : "params" or "grads"
    """

    def __init__(self, slots, store):
        self._slots = {key: (layer, name) for key, layer, name in slots}
        self._store, self._source = store, slots  # a network's two views are made from one list of slots

    def __getitem__(self, key):
        layer, name = self._slots[key]
        return getattr(layer, self._store)[name]

    def __setitem__(self, key, value):
        current = self[key]
        if value is not current:  # ``+=`` and friends already worked in place, then assign the same array
            current[...] = value

    def __iter__(self):
        return iter(self._slots)

    def items(self):  # direct, not through __iter__ and __getitem__: optimizers call it every step
        store = self._store
        return [(key, getattr(layer, store)[name]) for key, (layer, name) in self._slots.items()]

    def values(self):
        store = self._store
        return [getattr(layer, store)[name] for layer, name in self._slots.values()]

    def __len__(self):
        return len(self._slots)

    def __repr__(self):
        shapes = ", ".join(f"{k!r}: {np.shape(v)}" for k, v in self.items())
        return f"{self._store}{{{shapes}}}"


def pairs(params, grads):
    """``[(key, params[key], grads[key])]`` in ``params``' order, each gradient read afresh (a layer may assign new
    ones); a network's two views are read in one pass over its layers (the optimizers call this at every step)."""
    if isinstance(params, ParameterView) and getattr(grads, "_source", None) is params._source:
        return [(key, getattr(layer, params._store)[name], getattr(layer, grads._store)[name])
                for key, (layer, name) in params._slots.items()]
    return [(key, value, grads[key]) for key, value in params.items()]


def gather(arrays, dtype=np.float64):
    """Every array of the mapping, raveled and concatenated in key order, as a new 1-D ``dtype`` vector."""
    if not arrays:
        return np.zeros(0, dtype)
    return np.concatenate([np.asarray(a, dtype=dtype).ravel() for a in arrays.values()])


def scatter(arrays, vector):
    """Write ``vector`` (as made by ``gather``) back into the mapping's arrays, in place."""
    vector = np.asarray(vector)
    sizes = [np.size(a) for a in arrays.values()]
    if vector.shape != (sum(sizes),):
        raise ValueError(f"scatter: the vector has shape {vector.shape}, the parameters need ({sum(sizes)},)")
    start = 0
    for a, size in zip(arrays.values(), sizes, strict=True):
        a[...] = vector[start:start + size].reshape(np.shape(a))
        start += size


class Snapshot:
    """A copy of what training changes: every parameter and every layer buffer (BatchNorm's running
    statistics), so that early stopping and the divergence guard restore them together."""

    def __init__(self, net):
        self._net = net
        self._saved = [np.array(a, copy=True) for a in self._live()]

    def _live(self):
        """The arrays as the layers hold them now (looked up afresh: a layer may have replaced one)."""
        net = self._net
        return list(net.params.values()) + [b for layer in net.layers for b in getattr(layer, "buffers", {}).values()]

    def capture(self):
        """Copy the network's current state in."""
        for saved, live in zip(self._saved, self._live(), strict=True):
            saved[...] = live

    def take(self, other):
        """Copy another snapshot of the same network."""
        for saved, theirs in zip(self._saved, other._saved, strict=True):
            saved[...] = theirs

    def restore(self):
        """Write this state back into the network, in place."""
        for saved, live in zip(self._saved, self._live(), strict=True):
            live[...] = saved
