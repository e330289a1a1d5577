"""Gradient checking: the finite-difference library, the suites ``python gradcheck.py`` runs, the traces.

``checker`` holds the entry points (``check_function``, ``check_layer``, ``check_model``) and imports every
public name of the package. The rest, one concept each: ``settings`` (one validated ``CheckSettings``),
``numeric`` (differences, kinks), ``directional`` and ``taylor`` (the other two modes), ``report`` (rows,
verdicts, the HTML table), ``diagnosis`` (hints), ``shapes`` (shape mistakes in the shape rule's words),
``randomness`` (held still), ``protocol`` (calling user code), ``user_layer`` (a user's own layer and classes),
``suites`` (what runs by default), ``graph``, ``trace``, ``chain_text``, ``gate_patterns`` and ``svg`` (the
traced graphs, their text and pictures), ``side_by_side`` (a learner's layers traced beside the reference).
"""
