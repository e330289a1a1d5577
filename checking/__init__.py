"""Gradient checking: the finite-difference library, the suites ``python gradcheck.py`` runs, the traces.

``checker`` holds the entry points (``check_function``, ``check_layer``, ``check_model``) and imports
every public name of the package. The rest, one concept each: ``numeric`` (differences, kinks),
``directional`` and ``taylor`` (the other two modes), ``report`` (rows, verdicts), ``diagnosis``
(hints), ``randomness`` (held still), ``protocol`` (calling user code), ``user_layer`` (a user's own
layer), ``suites`` (what runs by default), ``graph``, ``trace`` and ``svg`` (the traced graphs).
"""
