"""Datasets: toy generators, a streaming CSV loader and a stratified split.

Standardisation is a layer, ``layers.standardize.Standardize``, saved with the model. Arguments out of
range raise ``layers.validation.ParameterError`` naming the parameter (``n_samples``, ``noise``,
``classes``, ``val_fraction``).
"""

from .csv_loader import load_csv
from .dataset import Dataset
from .split import check_val_fraction, train_val_split
from .synthetic import (DATASETS, MULTICLASS_DATASETS, make_blobs, make_circles, make_dataset, make_moons,
                        make_spiral, make_xor)

__all__ = ["Dataset", "make_circles", "make_moons", "make_xor", "make_spiral", "make_blobs", "make_dataset",
           "load_csv", "train_val_split", "check_val_fraction", "DATASETS", "MULTICLASS_DATASETS"]
