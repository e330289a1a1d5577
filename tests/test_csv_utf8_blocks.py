"""The file is read as bytes, a block at a time: a UTF-8 character cut by a block's end is whole again in the next,
and a byte that is not UTF-8 is refused on its line wherever the blocks fall."""

import numpy as np
import pytest

from data import load_csv, text_lines

HEADER = b"a,b,label\n1,2,0\n"
ROWS = (text_lines.BLOCK - 100) // 6  # rows of filler after the header: the next row crosses the block's end


def file_with(tmp_path, data, at):
    """A file whose row after the filler puts ``data`` at byte ``text_lines.BLOCK + at``, and that row's line."""
    start = HEADER + b"3,4,1\n" * ROWS + b"5,"
    path = tmp_path / "d.csv"
    path.write_bytes(start + b"6" * (text_lines.BLOCK + at - len(start)) + data + b"\n7,8,1\n")
    return path, 3 + ROWS


@pytest.mark.parametrize("cut", [1, 2])  # the block ends after the first or the second byte of the character
def test_a_character_cut_by_a_block_is_read_whole(tmp_path, cut):
    path, _ = file_with(tmp_path, b",s\xe2\x82\xac", -2 - cut)  # ',s€' with '€' from byte BLOCK - cut on
    assert load_csv(path).classes == ["0", "1", "s\u20ac"]


@pytest.mark.parametrize("data,at,byte", [
    (b"\xe9,0", -1, "0xe9"), (b"\xe9,0", 0, "0xe9"), (b"\xe9,0", 1, "0xe9"),
    (b"\xc3A,0", -1, "0xc3"),  # a character begun at the block's end and not finished in the next
    (b"\x00,0", 0, "NUL"),
])
def test_a_byte_that_is_not_utf8_is_refused_on_its_line_wherever_the_block_ends(tmp_path, data, at, byte):
    path, line = file_with(tmp_path, data, at)
    with pytest.raises(ValueError, match=rf"line {line}: .*{byte}"):
        load_csv(path)


def test_a_file_ending_inside_a_character_is_refused(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes(b"a,b,label\n1,2,0\n3,4,\xe2\x82")
    with pytest.raises(ValueError, match=r"line 3: .*0xe2"):
        load_csv(path)


def test_the_byte_order_mark_is_dropped_and_utf8_names_are_kept(tmp_path):
    path = tmp_path / "d.csv"
    path.write_bytes("\ufeffl\u00e4nge,b,art\n1,2,s\u00fc\u00df\n3,4,sauer\n".encode())
    ds = load_csv(path)
    assert ds.feature_names == ["l\u00e4nge", "b"] and ds.classes == ["sauer", "s\u00fc\u00df"]
    np.testing.assert_array_equal(ds.X, [[1, 2], [3, 4]])
