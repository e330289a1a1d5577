"""Datasets: toy generators, a streaming CSV reader (``read_table``: any label column, classes or real targets;
gaps and text columns read as ``Cells`` says), the encoding of such a table (``data.encoding``) and a stratified
split.

Standardisation is a layer, ``layers.standardize.Standardize``, saved with the model. Arguments out of
range raise ``layers.validation.ParameterError`` naming the parameter (``n_samples``, ``noise``,
``classes``, ``val_fraction``).
"""

from .csv_loader import Cells, iter_feature_blocks, load_csv, read_table
from .dataset import Dataset
from .split import check_val_fraction, train_val_split
from .synthetic import (DATASETS, MULTICLASS_DATASETS, make_blobs, make_circles, make_dataset, make_moons,
                        make_spiral, make_xor)
from .table import Table, label_key

__all__ = ["Dataset", "make_circles", "make_moons", "make_xor", "make_spiral", "make_blobs", "make_dataset",
           "load_csv", "read_table", "iter_feature_blocks", "Cells", "Table", "label_key", "train_val_split",
           "check_val_fraction", "DATASETS", "MULTICLASS_DATASETS"]
