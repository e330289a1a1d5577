"""The settings of a gradient check, as one object: validated once, when it is made.

A check's settings travel together from the command line or a call such as ``check_layer(..., h=1e-6)``
to every comparison: the step ``h``, the verdict thresholds ``tol`` and ``warn_tol`` (the CS231n notes'
1e-7 and 1e-4), the ``mode``, and the number and seed of the random directions.
"""

from dataclasses import dataclass

import numpy as np

from layers.validation import ParameterError, check_integer, check_real

PASS_TOL = 1e-7
WARN_TOL = 1e-4
MODES = ("elementwise", "directional", "taylor")
MAX_STEP = 1.0  # beyond it a centred difference is a secant across the function, not a derivative
MAX_ELEMENTS = 500  # elements probed per tensor by default: a bigger one is sampled (two forwards per element)
MAX_TOL = 0.1  # tolerances stay below it: a relative error of 0.1 is a gradient 22 % off, which must fail
OWNER = "gradient check"


@dataclass(frozen=True)
class CheckSettings:
    """How a check runs; refused on creation, each bad field by a ``ParameterError`` naming it.

    ``h`` finite, > 0 and at most ``MAX_STEP``; ``tol`` > 0 and ``warn_tol`` >= ``tol``, both below ``MAX_TOL``;
    ``mode`` one of ``MODES``; ``directions`` an integer >= 1; ``seed`` an integer >= 0 (or a ``SeedSequence``);
    ``max_elements`` an integer >= 1, the elements probed per tensor (sampled with ``seed``), or None for every one.
    """

    h: float = 1e-5
    tol: float = PASS_TOL
    warn_tol: float = WARN_TOL
    mode: str = "elementwise"
    directions: int = 8
    seed: object = 0
    max_elements: int = MAX_ELEMENTS

    def __post_init__(self):
        if _real(self.h, "h", f"must be a finite step > 0, got {self.h}") > MAX_STEP:
            raise ParameterError(OWNER, "h", f"must be a small step, at most {MAX_STEP:g}, got {self.h:g}: a centred "
                                             "difference measures the derivative only over a step small beside the "
                                             "inputs (1e-5 suits float64)")
        bound = f"below {MAX_TOL:g} (a gradient off by a factor 1.22 has a relative error of 0.1, and must fail)"
        tol = _real(self.tol, "tol", f"must be a relative error > 0 and {bound}, got {self.tol}", f"(0, {MAX_TOL!r})")
        _real(self.warn_tol, "warn_tol", f"must be at least the passing error {tol:g} and {bound}, got "
              f"{self.warn_tol}", within=f"[{tol!r}, {MAX_TOL!r})")
        if self.mode not in MODES:
            raise ParameterError(OWNER, "mode", f"must be one of {', '.join(MODES)}, got {self.mode!r}")
        check_integer(self.directions, "directions", OWNER, least=1)
        if isinstance(self.seed, (int, np.integer)) and self.seed < 0:  # (a SeedSequence is fine too)
            raise ParameterError(OWNER, "seed", f"must be >= 0, got {self.seed}")
        if self.max_elements is not None:
            check_integer(self.max_elements, "max_elements", OWNER, least=1)


def _real(value, name, reason, within="(0, inf)"):
    """``value`` as a float when ``check_real`` finds it a finite number ``within`` the interval; else ``reason``."""
    try:
        return check_real(value, name, OWNER, within)
    except ParameterError:
        raise ParameterError(OWNER, name, reason) from None


DEFAULT_SETTINGS = CheckSettings()  # a check's settings when none is given
