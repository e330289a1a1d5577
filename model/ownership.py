"""Which network a layer or loss belongs to: one at a time, so two networks never overwrite each other's caches.

Each object carries a note (``obj._network``, an ``Owner``) holding a weak reference to its network: a network
that is gone frees its layers, ``Sequential.release()`` gives them back, and a copy or a pickle of a layer drops
the note (the copied network claims its copied layers again).
"""

import contextlib
import weakref


class Owner:
    """A layer's note of the network it belongs to: a weak reference, dropped by copies and pickles."""

    __slots__ = ("ref",)

    def __init__(self, net=None):
        self.ref = None if net is None else weakref.ref(net)

    def network(self):
        return None if self.ref is None else self.ref()

    def __reduce__(self):  # copies (copy.deepcopy too) and pickles make an empty note
        return (Owner, ())

    def __repr__(self):
        return "Owner()"


def owner(obj):
    """The live network ``obj`` belongs to, or None."""
    note = getattr(obj, "_network", None)
    return note.network() if isinstance(note, Owner) else None


def check_free(objects, net):
    """Refuse a layer or loss that another live network holds: two networks would overwrite each other's
    caches, and a backward would differentiate the other network's forward pass."""
    for i, obj in enumerate(objects):
        holder = owner(obj)
        if holder is not None and holder is not net:
            what = "the loss" if i == len(objects) - 1 else f"layer {i}"
            raise ValueError(f"{what} ({obj!r}) already belongs to another network, which would overwrite its cache; "
                             "pass copy.deepcopy(it), or call release() on that network first")


def claim(objects, net):
    """Note on each object that it belongs to ``net``."""
    for obj in objects:
        with contextlib.suppress(AttributeError):  # an object that takes no attributes cannot be tracked
            obj._network = Owner(net)


def release(objects, net):
    """Give back each object that ``net`` holds."""
    for obj in objects:
        if owner(obj) is net:
            obj._network = Owner()
