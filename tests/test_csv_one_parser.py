"""One parser reads every row (numpy's, a batch of records at a time); the ``csv`` module only splits the one record
refused to say what is wrong. Quotes as the standard library reads them; lines as the file has them."""

import numpy as np
import pytest

from data import csv_loader, load_csv, read_table


def write(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def message(path, **kwargs):
    with pytest.raises(ValueError) as info:
        read_table(path, **kwargs)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "\n" not in text
    return text


def test_a_quote_never_closed_is_named_on_the_line_it_opens(tmp_path):
    text = message(write(tmp_path, '1,2,0\n"3\n",4,"5\n6,7,1\n8,9,0\n'))  # the record starts on line 2
    assert "line 3" in text and "never closed" in text and "line 2" not in text


def test_a_bad_cell_of_a_record_over_several_lines_is_named_on_its_own_line(tmp_path):
    assert "line 2, column 0" in message(write(tmp_path, '1,2,0\nx,"3\n",1\n'))
    assert "line 3, column 1" in message(write(tmp_path, '1,2,0\n"3\r\n",x,1\n'))
    assert "line 4, column 2" in message(write(tmp_path, '1,2,0\n"3\n\n",4,\n'))  # the empty label


def test_a_long_quote_never_closed_is_refused_at_the_field_limit_naming_where_it_opens(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_loader, "BATCH_CHARS", 1000)
    path = write(tmp_path, '1,2,0\n3,"4,1\n' + "5,6,0\n" * 40_000)
    text = message(path)
    assert "line 2" in text and "field limit" in text


def test_records_over_several_lines_across_batches_keep_values_and_line_numbers(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_loader, "BATCH_CHARS", 40)
    rows = [f'{i},"{i}.5\n","name\n{i % 3}"\n' for i in range(30)]  # three lines a record
    table = read_table(write(tmp_path, "a,b,label\n" + "".join(rows)))
    np.testing.assert_array_equal(table.X, [[i, i + 0.5] for i in range(30)])
    assert table.texts == ["name\n0", "name\n1", "name\n2"]
    assert [table.text_lines[t] for t in table.texts] == [3, 6, 9]  # where each label's cell is
    bad = write(tmp_path, "a,b,label\n" + "".join(rows) + '"1\n",x,0\n', "x.csv")
    assert "line 93, column 1 ('b', counting from 0)" in message(bad)


def test_quoted_labels_may_hold_the_delimiter_and_numbers_before_a_name_become_names(tmp_path):
    ds = load_csv(write(tmp_path, '1,2,3\n1,2,"a,b"\n3,4," c "\n'))
    assert ds.classes == ["3", "a,b", "c"]
    np.testing.assert_array_equal(ds.y, [0, 1, 2])


def test_spaces_before_an_opening_quote_are_skipped_on_every_row(tmp_path):
    table = read_table(write(tmp_path, '"a", "b", "label"\n "1", "2", "x"\n3,  "4",y\n'))
    assert table.feature_names == ["a", "b"] and table.texts == ["x", "y"]
    np.testing.assert_array_equal(table.X, [[1, 2], [3, 4]])


def test_a_record_the_parser_refuses_but_no_rule_explains_is_still_one_line_naming_it(tmp_path, monkeypatch):
    monkeypatch.setattr(csv_loader, "number_problem", lambda field: "")  # the explanation finds nothing
    text = message(write(tmp_path, "1,2,0\n1,x,1\n"))
    assert "line 2" in text and "malformed" in text
