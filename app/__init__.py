"""The command-line side: option plumbing, one training run from data to model, the choices about a CSV
table's columns and task, progress, signals, a learner's classes (``--use``), predictions, pictures."""
