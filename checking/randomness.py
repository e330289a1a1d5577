"""Hold a layer's randomness still during a gradient check.

A Dropout layer in training mode draws a new mask on every ``forward``. A finite difference between
two forwards with different masks measures the masks, not the gradient: the check turns into noise.
``FrozenRandomness`` finds every NumPy random generator reachable from the object under check —
through its attributes, recursively, and through lists, tuples, sets and dicts (a model's ``layers``,
a Dropout's ``self.rng``) — records their states, and ``restore()`` puts them back, so every
evaluation of ``f`` (and the forward before the analytic ``backward``) draws the same numbers.

NumPy's global ``np.random`` functions (``np.random.rand``, as CS231n's dropout draws its mask) are held
still too: their state is recorded and put back alike. Only a generator held where no attribute reaches it (in
a closure) cannot be; the project's layers never do that.
"""

import copy
import types

import numpy as np

_SKIP = (np.ndarray, np.generic, str, bytes, int, float, complex, bool, type(None), type, types.ModuleType,
         types.FunctionType, types.BuiltinFunctionType, types.MethodType)
MAX_DEPTH = 12


def find_generators(obj):
    """Every ``np.random.Generator``, ``RandomState`` and bare ``BitGenerator`` reachable from ``obj``."""
    found, seen = [], set()

    def walk(o, depth):
        if id(o) in seen or depth > MAX_DEPTH or isinstance(o, _SKIP):
            return
        seen.add(id(o))
        if isinstance(o, (np.random.Generator, np.random.RandomState, np.random.BitGenerator)):
            found.append(o)
            return
        if isinstance(o, dict):
            children = list(o.values())
        elif isinstance(o, (list, tuple, set, frozenset)):
            children = list(o)
        else:
            d = getattr(o, "__dict__", None)
            children = list(d.values()) if isinstance(d, dict) else []
            slots = [s for klass in type(o).__mro__ for s in getattr(klass, "__slots__", ()) if isinstance(s, str)]
            children += [getattr(o, s) for s in slots if hasattr(o, s)]
        for child in children:
            walk(child, depth + 1)

    walk(obj, 0)
    return found


class FrozenRandomness:
    """The states of the generators reachable from ``obj`` (a layer, a model), recorded now; ``restore()`` rewinds
    them."""

    def __init__(self, obj):
        self.generators = find_generators(obj)
        self.states = [copy.deepcopy(_get(g)) for g in self.generators]
        self.global_state = np.random.get_state()

    def restore(self):
        """Put every generator, and NumPy's global one, back in the recorded state."""
        for g, state in zip(self.generators, self.states, strict=True):
            _set(g, state)
        np.random.set_state(self.global_state)


def _get(g):  # a Generator's state is its bit generator's
    return g.get_state(legacy=False) if isinstance(g, np.random.RandomState) else getattr(g, "bit_generator", g).state


def _set(g, state):
    if isinstance(g, np.random.RandomState):
        g.set_state(state)
    else:
        getattr(g, "bit_generator", g).state = state
