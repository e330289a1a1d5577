"""Regression targets too large to standardise are refused before training, by the features' rule (magnitudes of
1e150 or more): a ValueError from the library, one line and exit 1 (bad data, as for features) from train.py."""

import numpy as np
import pytest

import train
from data import Dataset, csv_layout

from .conftest import call_main


@pytest.mark.parametrize("target", [1e154, -1e200, 1e300])
def test_a_dataset_refuses_targets_too_large_to_standardise(target):
    with pytest.raises(ValueError) as info:
        Dataset(np.zeros((3, 1)), np.array([1.0, target, 2.0]), None, None, source="t.csv")
    assert str(info.value).startswith("t.csv: ") and repr(abs(target)) in str(info.value) and "1e150" in str(info.value)


def test_the_largest_target_accepted_is_the_largest_feature_accepted():
    y = np.array([-0.999, 0.999]) * csv_layout.MAX_MAGNITUDE
    assert Dataset(np.zeros((2, 1)), y, None, None).y.tolist() == y.tolist()


def test_train_py_refuses_a_huge_target_before_training(tmp_path, capsys):
    data, model = tmp_path / "d.csv", tmp_path / "m.npz"
    data.write_text("a,b,y\n" + "".join(f"{i},{i % 3},{1e200 if i == 7 else i}\n" for i in range(20)))
    code, out, err = call_main(train.main, capsys, "--data", data, "--task", "regression", "--save", model)
    assert code == 1 and not model.exists()
    assert err.count("\n") == 1 and "1e+200" in err and "Warning" not in err and "epoch" not in out
