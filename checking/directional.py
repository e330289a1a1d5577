"""The directional check: ``∇f·v`` against ``(f(θ + h v) − f(θ − h v)) / 2h`` along random unit ``v``.

``θ`` is all the checked tensors together. Two evaluations of ``f`` per direction (and one of
``f(θ)``) instead of two per element: the check for big models, where the element-wise one would take
thousands of passes. A wrong gradient almost surely shows in a random direction; it does not say
*which* element is wrong, so follow a failure with an element-wise check on a smaller model. A
direction through a kink is verified by its one-sided slopes, as an element is (``checking.numeric``).
"""

import numpy as np

from .diagnosis import NO_CLUES, Clues
from .numeric import Mover, Probes, same_state, snapshot_state
from .report import compare_probes, resolved
from .settings import DEFAULT_SETTINGS


def directional_check(f, arrays, analytic, check="function", settings=DEFAULT_SETTINGS, state=None, clues=NO_CLUES):
    """Compare ``∇f·v`` with the centred difference of ``f`` along ``directions`` random unit ``v``.

    Parameters
    ----------
    f : callable ``f() -> float`` reading the current values of ``arrays``
    arrays : dict of str -> float64 ndarray, moved together along each direction (and restored)
    analytic : dict of str -> ndarray, the gradients, same keys and shapes
    settings : ``CheckSettings``: the step ``h``, the tolerances, and how many directions, and their seed
    state, clues : as for ``checking.checker.check_arrays``

    Returns one ``Row``, an entry per direction (``worst_index`` is the worst direction's number).
    """
    names, h, directions = list(arrays), settings.h, settings.directions
    grad = np.concatenate([np.asarray(analytic[k], dtype=np.float64).ravel() for k in names])
    vs = [v / np.linalg.norm(v) for v in np.random.default_rng(settings.seed).standard_normal((directions, grad.size))]
    exact = np.array([grad @ v for v in vs])
    move = Mover(f, arrays)
    f_plus, f_minus, changed = np.empty(directions), np.empty(directions), np.zeros(directions, bool)
    try:
        f0 = float(f())
        for d, v in enumerate(vs):
            f_plus[d] = move(v, h)
            s_plus = snapshot_state(state)
            f_minus[d] = move(v, -h)
            changed[d] = not same_state(s_plus, snapshot_state(state))
        probes = Probes.measured(f0, f_plus, f_minus, h, changed)
        pair = lambda d, step: (move(vs[d], step), move(vs[d], -step))  # noqa: E731 — one line, used twice
        probes.confirm(pair)
        probes = resolved(probes, pair, settings, max(float(np.max(np.abs(a), initial=0.0)) for a in arrays.values()))
    finally:
        move.restore()
    return compare_probes(check, f"{'+'.join(names)} ({directions} directions)", exact, probes, settings,
                          "directional", Clues(clues.batch_size))  # one number per direction: no per-element clue
