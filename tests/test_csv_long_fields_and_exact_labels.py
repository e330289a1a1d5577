"""Wide headers and fields over the csv module's limit are read or refused in one line naming it; labels are the
text they are: integers beyond float64's exact ones (2**53) stay distinct classes, compared exactly."""

import numpy as np
import pytest

from data import csv_loader, label_key, read_table


def write(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


# ------------------------------------------------------------------ long lines


def test_a_header_of_fifty_thousand_columns_is_read(tmp_path):
    d = 50_000
    header = ",".join(f"c{j}" for j in range(d)) + ",label\n"
    text = header + ",".join(["1"] * d) + ",0\n" + ",".join(["2"] * d) + ",1\n"
    table = read_table(write(tmp_path, text))
    assert table.X.shape == (2, d) and table.feature_names[-1] == f"c{d - 1}"


@pytest.mark.parametrize("line", [1, 3])
def test_a_field_over_the_csv_modules_limit_is_refused_in_one_line_naming_it(tmp_path, line):
    rows = ["1,2,0", "3,4,1", "5,6,0"]
    rows[line - 1] = "7" * 200_000 + ",1,0"
    path = write(tmp_path, "\n".join(rows) + "\n")
    with pytest.raises(ValueError) as info:
        read_table(path)
    message = str(info.value)
    assert message.startswith(f"{path}: line {line}") and "\n" not in message


# ------------------------------------------------------------------ labels beyond 2**53


BIG = 2 ** 53  # 9007199254740992: float64 holds it, but not BIG + 1


def big_labels(rows):
    return "".join(f"{i % 7},{BIG + i % 2}\n" for i in range(rows))  # BIG + 1 written as its exact text


@pytest.mark.parametrize("rows", [4, 600])  # the big labels in the first batch, and after many batches
def test_integers_beyond_two_to_the_53_are_distinct_classes(tmp_path, monkeypatch, rows):
    monkeypatch.setattr(csv_loader, "BATCH_CHARS", 2000)
    text = "".join(f"{i % 7},{i % 2}\n" for i in range(rows)) + big_labels(4)
    data = read_table(write(tmp_path, text)).classification()
    assert data.classes == [0, 1, BIG, BIG + 1] and all(type(c) is int for c in data.classes)
    np.testing.assert_array_equal(data.y[-4:], [2, 3, 2, 3])
    np.testing.assert_array_equal(data.y[:4], [0, 1, 0, 1])


def test_labels_beyond_two_to_the_53_are_placed_among_a_models_classes_exactly(tmp_path):
    table = read_table(write(tmp_path, big_labels(4)))
    np.testing.assert_array_equal(table.label_indices([BIG + 1, BIG]), [1, 0, 1, 0])
    assert label_key(BIG + 1) == label_key(str(BIG + 1)) != label_key(str(BIG)) == label_key(float(BIG))
    np.testing.assert_array_equal(table.regression().y, [float(BIG)] * 2 + [float(BIG + 1)] * 2)  # still numbers
