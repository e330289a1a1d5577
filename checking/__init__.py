"""Gradient checking: the finite-difference library and the suites ``python gradcheck.py`` runs.

``checker`` holds the entry points (``check_function``, ``check_layer``, ``check_model``) and imports every
public name of the package. The rest, one concept each: ``settings`` (one validated ``CheckSettings``),
``numeric`` (differences, kinks), ``directional`` and ``taylor`` (the other two modes), ``report`` (rows,
verdicts, the HTML table), ``diagnosis`` (hints), ``randomness`` (held still), ``user_layer`` (checking a
user's own layer), ``assignment_pairs``, ``assignment_check`` and ``assignment_file`` (a CS231n assignment
file's functions, ``gradcheck.py --functions``), ``suites`` (what runs by default). User code is called through
``layers.protocol``; the traces and their pictures are the ``traces`` package.
"""
