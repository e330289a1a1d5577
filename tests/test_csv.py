"""The streaming CSV loader: formats it accepts, values and labels it refuses, and where it says so."""

import os
import tracemalloc

import numpy as np
import pytest

from data import Dataset, csv_layout, load_csv, text_lines


def write(tmp_path, text, name="d.csv"):
    p = tmp_path / name
    p.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return p


def refused(tmp_path, text, *parts):
    """Load ``text`` expecting a ValueError on one line that names the file first, then carries each of ``parts``
    (where: the line, column and name; what: the value, a key word), in any wording."""
    path = write(tmp_path, text)
    with pytest.raises(ValueError) as info:
        load_csv(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ") and "\n" not in message.replace(f"{path}", "")
    assert all(part in message for part in parts), (parts, message)
    return message


# ------------------------------------------------------------------ formats accepted


def test_returns_a_dataset_with_its_source(tmp_path):
    path = write(tmp_path, "a,b,label\n1,2,0\n3,4,1\n")
    ds = load_csv(path)
    assert isinstance(ds, Dataset) and ds.source == str(path)
    assert ds.X.dtype == np.float64 and ds.X.flags.c_contiguous and ds.X.flags.writeable
    assert ds.y.dtype == np.int64 and ds.n_classes == 2


def test_quoted_numbers_and_labels(tmp_path):
    ds = load_csv(write(tmp_path, '"x","y","label"\n"0.64", "-1",1\n2,"3e-2","0"\n'))
    np.testing.assert_array_equal(ds.X, [[0.64, -1.0], [2.0, 0.03]])
    np.testing.assert_array_equal(ds.y, [1, 0])
    assert ds.feature_names == ["x", "y"]


def test_trailing_comma_on_every_line_is_dropped(tmp_path):
    ds = load_csv(write(tmp_path, "a,b,label,\n1,2,0,\n3,4,1,\n"))
    np.testing.assert_array_equal(ds.X, [[1, 2], [3, 4]])
    assert ds.feature_names == ["a", "b"] and list(ds.y) == [0, 1]
    ds = load_csv(write(tmp_path, "1,0,\n3,1,\n"))
    assert ds.X.shape == (2, 1)


def test_trailing_comma_missing_on_one_line_or_empty_fields_elsewhere(tmp_path):
    refused(tmp_path, "1,2,0,\n3,4,1\n", "line 2:", "trailing", "4 fields", "line 1", "got 3")
    refused(tmp_path, "1,2,0,\n3,4,1,5\n", "line 2:", "line 1", "trailing", "'5'")
    refused(tmp_path, "a,b,label\n1,2,0\n3,,1\n", "line 3, column 1 ('b', counting from 0):", "empty")
    refused(tmp_path, "1,2,0\n3,4,\n", "line 2, column 2 ('label', counting from 0):", "empty")
    refused(tmp_path, "a,,label\n1,2,0\n", "line 1, column 1 (counting from 0):", "empty column name")
    refused(tmp_path, "1,2,0,\n3,4,,\n", "line 2, column 2 ('label', counting from 0):", "empty")


def test_crlf_and_byte_order_mark(tmp_path):
    ds = load_csv(write(tmp_path, b"\xef\xbb\xbfa,b,label\r\n1,2,0\r\n3,4,1\r\n"))
    assert ds.feature_names == ["a", "b"]  # the BOM is not part of the first name
    np.testing.assert_array_equal(ds.X, [[1, 2], [3, 4]])
    refused(tmp_path, b"\xef\xbb\xbf1,2,0\r\n\r\n1,x,1\r\n", "line 3, column 1 ('x1'", "'x'", "not a number")


def test_lone_carriage_returns_end_lines_too(tmp_path):
    refused(tmp_path, "1,2,0\r3,4,1\r5,q,0\r", "line 3, column 1 ('x1', counting from 0):", "'q'")


def test_blank_and_whitespace_lines_are_skipped_and_still_counted(tmp_path):
    ds = load_csv(write(tmp_path, "\n  \nx,label\n\n1,0\n \t \n2,1\n\n"))
    np.testing.assert_array_equal(ds.X, [[1], [2]])
    refused(tmp_path, "\n\nx,label\n\n1,0\n\n2,1,3\n", "line 7:", "2 columns", "got 3")


@pytest.mark.parametrize("sep", [";", "\t"])
def test_semicolon_and_tab_separated_files(tmp_path, sep):
    text = "".join(sep.join(row) + "\n" for row in (["a", "b", "label"], ["1.5", "2", "yes"], ["3", "4", "no"]))
    ds = load_csv(write(tmp_path, text))
    np.testing.assert_array_equal(ds.X, [[1.5, 2], [3, 4]])
    assert ds.feature_names == ["a", "b"] and ds.classes == ["no", "yes"]
    refused(tmp_path, text + sep.join(["5", "6"]) + "\n", "line 4:", "3 columns", "got 2")


def test_semicolon_file_with_decimal_commas_is_refused_with_a_hint(tmp_path):
    refused(tmp_path, "0,5;1,25;0\n1,5;2;1\n", "line 1, column 0 ('x0', counting from 0):", "'0,5'", "decimal comma")


def test_one_column_without_delimiter(tmp_path):
    refused(tmp_path, "label\n0\n1\n", "line 1:", "feature column", "1 column")
    refused(tmp_path, "\n0.5\n1\n", "line 2:", "feature column", "1 column")


def test_header_names_kept_label_name_dropped_default_names_without_header(tmp_path):
    ds = load_csv(write(tmp_path, "sepal length, sepal width ,petal,species\n1,2,3,setosa\n4,5,6,virginica\n"))
    assert ds.feature_names == ["sepal length", "sepal width", "petal"]
    ds = load_csv(write(tmp_path, "1,2,3,0\n4,5,6,1\n"))
    assert ds.feature_names == ["x0", "x1", "x2"]


def test_exact_round_trip_of_repr_written_values(tmp_path):
    rng = np.random.default_rng(0)
    X = np.r_[rng.normal(size=(20, 3)) * 10.0 ** rng.integers(-300, 140, size=(20, 1)),
              [[5e-324, -0.0, 9.99e149]]]
    lines = [",".join(map(repr, row)) + f",{i % 2}" for i, row in enumerate(X.tolist())]
    ds = load_csv(write(tmp_path, "\n".join(lines)))
    np.testing.assert_array_equal(ds.X, X)  # bit for bit
    assert np.signbit(ds.X[-1, 1])


# ------------------------------------------------------------------ values refused


def test_digit_group_underscores_refused(tmp_path):
    refused(tmp_path, "1,2,0\n1_000,2,1\n", "line 2, column 0 ('x0', counting from 0):", "'1_000'", "underscore")


@pytest.mark.parametrize("value,problem", [
    ("nan", "not finite"), ("NaN", "not finite"), ("inf", "not finite"), ("-Infinity", "not finite"),
    ("1e309", "overflows"), ("-1e400", "overflows"), ("1e200", "1e150"), ("-1e150", "1e150"),
    ("1" + "0" * 150, "1e150"),
    ("\u0661", "ASCII"),  # Arabic-Indic 1
])
def test_non_finite_overflowing_huge_or_exotic_values_refused_naming_line_and_column(tmp_path, value, problem):
    refused(tmp_path, f"a,b,label\n1,2,0\n\n3,{value},1\n", "line 4, column 1 ('b'", repr(value), problem)


def test_largest_accepted_magnitude(tmp_path):
    ds = load_csv(write(tmp_path, "9.999e149,0\n-9.999e149,1\n"))
    assert np.abs(ds.X).max() < csv_layout.MAX_MAGNITUDE
    # why the bound: the standardiser's variance of such a column is still finite
    assert np.isfinite(ds.X.std(axis=0)).all()


# ------------------------------------------------------------------ binary content


def test_nul_byte_refused_at_its_line(tmp_path):
    refused(tmp_path, "a,b,label\n1,2,0\n\n1,\x002,1\n3,4,0\n", "line 4:", "NUL")


def test_errors_before_a_nul_come_first(tmp_path):
    refused(tmp_path, "1,2,0\n1,abc,1\n1,\x00,0\n", "line 2, column 1 ('x1', counting from 0):", "'abc'")


def test_undecodable_byte_refused_at_its_line(tmp_path):
    refused(tmp_path, b"x,label\n1,0\n1,1\n\xe9t\xe9,0\n", "line 4:", "0xe9", "UTF-8")  # Latin-1, not UTF-8


def test_utf8_names_and_labels_are_fine(tmp_path):
    ds = load_csv(write(tmp_path, "länge,breite,art\n1,2,süß\n3,4,sauer\n"))
    assert ds.feature_names == ["länge", "breite"] and ds.classes == ["sauer", "süß"]


def _peak_while_refusing(path, match):
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=match):
            load_csv(path)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_large_file_of_nul_bytes_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "zeros.csv"
    with open(path, "wb") as fh:
        fh.truncate(64 << 20)  # 64 MiB of NULs, no line end (sparse: costs no disk)
    peak = _peak_while_refusing(path, "line 1: .*NUL")
    assert peak < 4 << 20


def test_reading_stops_at_the_line_with_a_nul(tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "w") as fh:
        fh.write("a,b,label\n1,\x00,0\n")
        fh.write(("1.0," * 1000 + "0\n") * 4000)  # 16 MiB of valid but wrong-width lines after it
    peak = _peak_while_refusing(path, "line 2: .*NUL")
    assert peak < 4 << 20


def test_a_line_too_long_is_refused_without_reading_it_all(tmp_path, monkeypatch):
    monkeypatch.setattr(text_lines, "MAX_LINE_CHARS", 200_000)
    path = write(tmp_path, "1,2,0\n" + "7" * 1_000_000)
    with pytest.raises(ValueError, match="line 2: .*200000"):
        load_csv(path)


@pytest.mark.parametrize("line_end", ["\r\n", "\r", "\n"])
@pytest.mark.parametrize("shift", [-1, 0, 1])
def test_line_ends_at_block_boundaries_and_lines_longer_than_a_block(tmp_path, line_end, shift):
    block = text_lines.BLOCK
    name = "n" * (block - len(",b,label") - 1 + shift)  # puts the header's line end across the boundary
    text = line_end.join([f"{name},b,label", "1,2,0", "3,4,1", "x" * (block + 10) + ",4,1", ""])
    ds_text = line_end.join([f"{name},b,label", "1,2,0", "3,4,1", ""])
    ds = load_csv(write(tmp_path, ds_text))
    assert ds.feature_names == [name, "b"] and ds.X.shape == (2, 2)
    refused(tmp_path, text, "line 4, column 0 ('n")


# ------------------------------------------------------------------ labels


def test_yes_no_labels_make_a_binary_problem(tmp_path):
    ds = load_csv(write(tmp_path, "1,2,yes\n3,4,no\n5,6, yes \n"))
    assert ds.classes == ["no", "yes"]
    np.testing.assert_array_equal(ds.y, [1, 0, 1])


def test_three_iris_like_names_make_three_sorted_classes(tmp_path):
    text = "a,b,species\n1,1,virginica\n2,2,setosa\n3,3,versicolor\n4,4,setosa\n5,5,Virginica\n"
    ds = load_csv(write(tmp_path, text))
    assert ds.classes == ["Virginica", "setosa", "versicolor", "virginica"]  # lexicographic, case kept
    ds = load_csv(write(tmp_path, text.replace("Virginica", "virginica")))
    assert ds.classes == ["setosa", "versicolor", "virginica"] and ds.n_classes == 3
    np.testing.assert_array_equal(ds.y, [2, 0, 1, 0, 2])
    assert [ds.classes[i] for i in ds.y] == ["virginica", "setosa", "versicolor", "setosa", "virginica"]


def test_integer_labels_sort_numerically_and_equal_values_are_one_class(tmp_path):
    ds = load_csv(write(tmp_path, "1,2\n1,0\n1,1\n1,2.0\n1,1e0\n"))
    assert ds.classes == [0, 1, 2] and all(type(c) is int for c in ds.classes)
    np.testing.assert_array_equal(ds.y, [2, 0, 1, 2, 1])
    ds = load_csv(write(tmp_path, "1,10\n1,-1\n1,2\n1,+2\n"))
    assert ds.classes == [-1, 2, 10]  # numerically, not as text ('-1' < '10' < '2')
    np.testing.assert_array_equal(ds.y, [2, 0, 1, 1])


def test_a_mix_of_numbers_and_words_makes_every_label_a_name(tmp_path):
    ds = load_csv(write(tmp_path, "1,10\n1,2\n1,other\n1,2.0\n"))
    assert ds.classes == ["10", "2", "2.0", "other"]


@pytest.mark.parametrize("label", ["0.5", "-1.25", "1e-3"])
def test_non_integral_number_label_refused_naming_line_and_label(tmp_path, label):
    refused(tmp_path, f"x,y,cls\n1,2,0\n1,2,1\n\n1,2,{label}\n1,2,{label}\n", "line 5, column 2 ('cls'", f"'{label}'",
            "non-integral")


@pytest.mark.parametrize("label", ["1", "setosa"])
def test_a_single_class_is_refused(tmp_path, label):
    refused(tmp_path, f"1,2,{label}\n3,4,{label}\n", f"'{label}'", "two classes")


# ------------------------------------------------------------------ layout and line numbers


def test_ragged_row_names_its_line_expected_and_got(tmp_path):
    refused(tmp_path, "a,b,label\n1,2,0\n\n3,4\n", "line 4:", "3 columns", "got 2")
    refused(tmp_path, "1,2,0\n3,4,1\n5,6,0,7\n", "line 3:", "3 columns", "got 4")


def test_quoted_field_spanning_lines_keeps_later_line_numbers_right(tmp_path):
    ds = load_csv(write(tmp_path, 'a,"b\nsecond half",label\n1,2,0\n3,4,1\n'))
    assert ds.feature_names == ["a", "b second half"]
    refused(tmp_path, 'a,"b\nsecond half",label\n1,2,0\n3,x,1\n', "line 4, column 1 ('b second half'", "'x'")
    refused(tmp_path, '1,2,0\n"3\n\n",4,1\n5,6\n', "line 5:", "3 columns", "got 2")
    refused(tmp_path, '1,2,0\n1,2,"a\n\x00"\n', "line 3:", "NUL")


def test_unclosed_quote_names_where_its_record_starts(tmp_path):
    refused(tmp_path, '1,2,0\n1,"2,1\n3,4,0\n5,6,1\n', "line 4:", "malformed", "quote", "line 2")


def test_a_field_over_the_csv_modules_limit_names_its_line(tmp_path):
    refused(tmp_path, "1,2,0\n3,4,1\n" + "7" * 200_000 + ",1,0\n", "line 3:", "malformed", "field limit")


def test_text_after_a_closing_quote_belongs_to_the_field_as_the_csv_module_reads_it(tmp_path):
    import csv  # the standard library's default dialect is the reference: '"2"3' is '23'
    assert next(csv.reader(['1,"2"3,1'])) == ["1", "23", "1"]
    np.testing.assert_array_equal(load_csv(write(tmp_path, '1,2,0\n1,"2"3,1\n')).X, [[1, 2], [1, 23]])


@pytest.mark.parametrize("text", ["", "\n\n", "\r\n \n", b"\xef\xbb\xbf"])
def test_empty_files(tmp_path, text):
    refused(tmp_path, text, "empty")


def test_header_without_rows(tmp_path):
    refused(tmp_path, "\nx,y,label\n\n", "line 2:", "header", "no data rows")


def test_unreadable_path_is_an_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load_csv(tmp_path / "missing.csv")
    if os.name == "posix":
        with pytest.raises(IsADirectoryError):
            load_csv(tmp_path)
