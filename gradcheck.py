"""Gradient checking: the library (re-exported from ``layers.gradient_check``)."""

from layers.gradient_check import (  # noqa: F401
    PASS_TOL,
    WARN_TOL,
    Report,
    Row,
    check_function,
    check_layer,
    check_model,
    compare,
    numerical_gradient,
    numerical_gradient_kinks,
    rel_error,
)
