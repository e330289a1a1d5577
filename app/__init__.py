"""The command-line side: option plumbing, ``train.py``'s options and what they do, progress, signals, a
learner's classes (``--use``), predictions, pictures; the library's fit path lives in ``model.experiment``."""
