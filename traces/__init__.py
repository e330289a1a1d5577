"""The handout's worked examples, step by step, and their pictures: what ``gradcheck.py --trace`` prints.

``trace`` (the warm-up, the handout's network, any chain of layers, each into a ``graph.Graph``),
``chain_text`` and ``gate_patterns`` (their text), ``svg`` (the picture), ``formatting`` (how every number
is written), ``side_by_side`` (a learner's layers traced beside the reference's).
"""
