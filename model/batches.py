"""Which samples each mini-batch holds: one shuffler for every training path.

An epoch visits the N samples in a new random order, ``rng.permutation(N)`` from
``np.random.default_rng(seed)``, and cuts that order into consecutive batches of ``batch_size``
(the last one ragged when ``batch_size`` does not divide N). At full batch nothing is shuffled: the
one batch is the data in its own order. The layer path (``model.training``) and the engine
(``model.engine``) both draw their orders here, so with the same seed they see the same batches.
"""

import numpy as np


def batch_count(n, batch_size):
    """Batches in an epoch of ``n`` samples: ``ceil(n / batch_size)``, the last ragged."""
    return -(-int(n) // int(batch_size))


class Shuffler:
    """The epochs' sample orders for ``n`` samples in batches of ``batch_size``.

    Parameters
    ----------
    n : int >= 1, the number of training samples.
    batch_size : int >= 1; a size of ``n`` or more means the full batch (kept as ``n``; ``full_batch`` True,
        nothing is shuffled then).
    seed : None, int or numpy.random.Generator, the source of the orders.
    shuffle : bool, default True. False keeps the samples in their own order every epoch.
    """

    def __init__(self, n, batch_size, seed=None, shuffle=True):
        self.n, self.shuffle = int(n), bool(shuffle)
        self.batch_size = min(int(batch_size), self.n)
        self.full_batch = self.batch_size >= self.n
        self.rng = np.random.default_rng(seed)

    def next_order(self):
        """The next epoch's order of the samples, a permutation of ``range(n)``; None at full batch."""
        if self.full_batch:
            return None
        return self.rng.permutation(self.n) if self.shuffle else np.arange(self.n)

    def batches(self):
        """The epoch's batches as slices of the ordered samples: ``[0, b)``, ``[b, 2b)``, …, the last ragged."""
        n, b = self.n, self.batch_size
        return [slice(start, min(start + b, n)) for start in range(0, n, b)]

    @property
    def steps(self):
        """Batches per epoch, ``ceil(n / batch_size)``."""
        return batch_count(self.n, self.batch_size)
