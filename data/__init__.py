"""Datasets: toy generators, a CSV loader, a stratified split and a standardiser."""

from .csv_loader import load_csv
from .split import Standardizer, train_val_split
from .synthetic import DATASETS, make_blobs, make_circles, make_moons, make_spiral, make_xor

__all__ = ["make_circles", "make_moons", "make_xor", "make_spiral", "make_blobs", "load_csv",
           "train_val_split", "Standardizer", "DATASETS"]
