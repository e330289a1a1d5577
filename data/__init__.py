"""Datasets: toy generators, a streaming CSV loader and a stratified split.

Standardisation is a layer, ``layers.standardize.Standardize``, saved with the model.
"""

from .csv_loader import load_csv
from .dataset import Dataset
from .split import train_val_split
from .synthetic import (DATASETS, MULTICLASS_DATASETS, make_blobs, make_circles, make_moons, make_spiral,
                        make_xor)

__all__ = ["Dataset", "make_circles", "make_moons", "make_xor", "make_spiral", "make_blobs", "load_csv",
           "train_val_split", "DATASETS", "MULTICLASS_DATASETS"]
