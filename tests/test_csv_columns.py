"""``data.read_table``: any column the label, features by name or index, labels kept as the file writes them
(numbers or names) until a task is chosen, streaming blocks, and batches of plain lines read as batches cut into
records (blank lines, quotes) are."""

import numpy as np
import pytest

from data import csv_loader, iter_feature_blocks, label_key, load_csv, read_table


def write(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def carries(info, *parts):
    """The error's message carries each of ``parts`` (the names and numbers it must say), in any wording."""
    assert all(part in str(info.value) for part in parts), (parts, str(info.value))


def refused(path, parts, **kwargs):
    with pytest.raises(ValueError) as info:
        read_table(path, **kwargs)
    assert str(info.value).startswith(f"{path}: ")
    carries(info, *parts)


# ------------------------------------------------------------------ choosing columns


def test_the_label_by_name_or_index_anywhere_and_the_rest_as_features(tmp_path):
    path = write(tmp_path, "digit,a,b\n3,1,2\n7,3,4\n")
    for label in ("digit", 0, "0", -3):
        table = read_table(path, label=label)
        np.testing.assert_array_equal(table.X, [[1, 2], [3, 4]])
        assert table.feature_names == ["a", "b"] and table.label_name == "digit"
        assert table.classification().classes == [3, 7]
    table = read_table(write(tmp_path, "3,1,2\n7,3,4\n"), label=0)
    assert table.feature_names == ["x0", "x1"] and table.label_name == "label"  # no header: default names


def test_features_chosen_by_name_or_index_in_the_order_asked(tmp_path):
    path = write(tmp_path, "a,b,c,label\n1,2,3,0\n4,5,6,1\n")
    table = read_table(path, features=["c", "a"])
    np.testing.assert_array_equal(table.X, [[3, 1], [6, 4]])
    assert table.feature_names == ["c", "a"]
    np.testing.assert_array_equal(read_table(path, features=[1]).X, [[2], [5]])


def test_a_column_that_is_not_there_is_named(tmp_path):
    path = write(tmp_path, "a,b,label\n1,2,0\n3,4,1\n")
    refused(path, ("line 1:", "'petal'", "'a', 'b', 'label'"), features=["a", "petal"])
    refused(path, ("'species'",), label="species")
    refused(path, ("label column 5", "3 columns"), label=5)
    refused(write(tmp_path, "1,2,0\n", "n.csv"), ("no header", "'a'"), features=["a"])
    refused(path, ("column 2 ('label'", "counting from 0", "label", "features"), features=["a", "label"])
    refused(write(tmp_path, "a,a,label\n1,2,0\n", "dup.csv"), ("'a'", "more than once"))


def test_a_file_without_a_label_column(tmp_path):
    table = read_table(write(tmp_path, "a,b\n1,2\n3,4\n"), label=None)
    assert not table.has_labels and table.X.shape == (2, 2) and table.feature_names == ["a", "b"]
    with pytest.raises(ValueError, match="no label column"):
        table.classification()


def test_choose_picks_columns_from_the_header(tmp_path):
    seen = []

    def choose(names, count):
        seen.append((names, count))
        return "y", ["b", "a"]

    table = read_table(write(tmp_path, "a,y,b\n1,0,2\n3,1,4\n"), choose=choose)
    assert seen == [(["a", "y", "b"], 3)]
    np.testing.assert_array_equal(table.X, [[2, 1], [4, 3]])
    assert table.label_name == "y"


# ------------------------------------------------------------------ labels as the file writes them


def test_numbers_are_values_until_a_task_is_chosen(tmp_path):
    table = read_table(write(tmp_path, "a,t\n1,151.5\n2,75\n3,3e2\n"))
    assert table.labels_are_numbers and table.distinct_labels() == 3
    np.testing.assert_array_equal(table.regression().y, [151.5, 75, 300])
    assert table.regression().task == "regression" and table.regression().classes is None
    with pytest.raises(ValueError) as info:
        table.classification()
    carries(info, "line 2, column 1 ('t', counting from 0):", "'151.5'", "non-integral")


def test_a_regression_refuses_a_label_that_is_not_a_number(tmp_path):
    table = read_table(write(tmp_path, "a,t\n1,2.5\n2,3\n3,high\n4,low\n"))
    with pytest.raises(ValueError) as info:
        table.regression()
    carries(info, "line 4, column 1 ('t', counting from 0):", "'high'", "not a number")


def test_labels_are_compared_as_numbers_or_as_text(tmp_path):
    trained = read_table(write(tmp_path, "a,y\n1,1\n2,2\n3,unknown\n", "train.csv")).classification()
    assert trained.classes == ["1", "2", "unknown"]  # a mix: every label is a name
    test = read_table(write(tmp_path, "a,y\n1,2\n2,1\n3,2.0\n", "test.csv"))  # numbers only
    np.testing.assert_array_equal(test.label_indices(trained.classes), [1, 0, 1])
    back = read_table(write(tmp_path, "a,y\n1,2\n2,1\n3,unknown\n", "back.csv"))  # the reverse
    with pytest.raises(ValueError) as info:
        back.label_indices([1, 2])
    carries(info, "'unknown'", "(1, 2)")  # names the label that is missing, not one that matches
    np.testing.assert_array_equal(back.label_indices([1, 2, "unknown"]), [1, 0, 2])
    assert label_key(2) == label_key("2.0") == label_key(" 2 ") != label_key("two")


def test_one_class_is_enough_to_place_labels(tmp_path):
    table = read_table(write(tmp_path, "a,y\n1,yes\n2,yes\n"))
    np.testing.assert_array_equal(table.label_indices(["no", "yes"]), [1, 1])
    assert table.classification(min_classes=1).classes == ["yes"]


# ------------------------------------------------------------------ plain batches and batches cut into records


def big_text(rows, label, seed=0, blank_every=None, header="a,b,c,label"):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, 3))
    lines = [header]
    for i, row in enumerate(X.tolist()):
        lines.append(",".join(map(repr, row)) + f",{label(i)}")
        if blank_every and i % blank_every == 0:
            lines.append("")
    return "\n".join(lines) + "\n", X


@pytest.mark.parametrize("blank_every", [None, 97])
def test_plain_batches_and_batches_cut_into_records_read_the_same(tmp_path, monkeypatch, blank_every):
    monkeypatch.setattr(csv_loader, "BATCH_CHARS", 2000)  # many batches, plain ones and ones cut into records
    text, X = big_text(600, lambda i: i % 3, blank_every=blank_every)
    table = read_table(write(tmp_path, text))
    np.testing.assert_array_equal(table.X, X)  # bit for bit
    np.testing.assert_array_equal(table.values, np.arange(600) % 3)
    lines = text.splitlines()
    first, rest = lines[300].split(",", 1)
    lines[300] = f'"{first}",{rest}'  # a quote: its batch is cut into records
    quoted = read_table(write(tmp_path, "\n".join(lines) + "\n", "q.csv"))
    np.testing.assert_array_equal(quoted.X, X)


def test_a_name_after_many_numbers_makes_every_label_a_name(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_loader, "BATCH_CHARS", 2000)
    text, _ = big_text(400, lambda i: "other" if i == 350 else i % 2 + 1)
    data = read_table(write(tmp_path, text)).classification()
    assert data.classes == ["1", "2", "other"]
    assert [data.classes[k] for k in data.y[[0, 1, 350]]] == ["1", "2", "other"]


def test_errors_name_the_line_on_either_path(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_loader, "BATCH_CHARS", 2000)
    text, _ = big_text(300, lambda i: i % 2)
    lines = text.splitlines()
    lines[250] = lines[250].replace(",", ",x", 1)
    path = write(tmp_path, "\n".join(lines) + "\n")
    with pytest.raises(ValueError) as info:
        load_csv(path)
    carries(info, "line 251, column 1 ('b', counting from 0):", "'x")
    lines = text.splitlines()
    lines[200] += ",9"
    with pytest.raises(ValueError) as info:
        load_csv(write(tmp_path, "\n".join(lines) + "\n", "w.csv"))
    carries(info, "line 201:", "4 columns", "got 5")


def test_the_arrays_grow_past_a_wrong_guess_and_are_trimmed(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_loader, "_expected_rows", lambda fh, reader: 20)
    monkeypatch.setattr(csv_loader, "BATCH_CHARS", 1000)
    text, X = big_text(500, lambda i: i % 2)
    table = read_table(write(tmp_path, text))
    np.testing.assert_array_equal(table.X, X)
    assert table.X.shape == (500, 3) and table.values.shape == (500,)


# ------------------------------------------------------------------ streaming


def test_feature_blocks_stream_a_file_in_blocks_of_rows(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_loader, "BATCH_CHARS", 1500)
    text, X = big_text(1000, lambda i: "yes" if i % 2 else "no")
    blocks = iter_feature_blocks(write(tmp_path, text), features=["c", "a"], rows=128)
    layout = next(blocks)
    assert layout.feature_names == ["c", "a"]
    parts = [block.X for block in blocks]
    assert [len(p) for p in parts] == [128] * 7 + [104]
    np.testing.assert_array_equal(np.concatenate(parts), X[:, [2, 0]])
    with pytest.raises(ValueError, match="a header but no data rows"):
        list(iter_feature_blocks(write(tmp_path, "a,b\n", "h.csv")))
