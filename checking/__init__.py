"""Gradient checking: the finite-difference library, the suites ``python gradcheck.py`` runs, the trace."""
