"""Final review of issues 27 and 28 together (a practitioner with an image table that has one empty cell).

Issue 27 imputes a gap and adds a missing-indicator column after it; issue 28's ``--image CxHxW`` reads C·H·W
feature columns. One empty pixel makes the encoded table one column wider, and the run is refused with
"--image 1x4x4 is 16 numbers a row, but the data has 17 features" — the file has 16 pixel columns, and nothing
said the 17th is an indicator the encoding added (nor which pixel had the gap). Fixed by refusing: an --image
table's cells are pixels, each a number; the refusal names the first gap's line and column and ``--image``
(``app.train_cli.refuse_image_cells``). Imputing a pixel without an indicator would be a silent modelling choice.
"""

import numpy as np
import pytest

from .conftest import run_in_process


def _image_table(path, gap=None, cell=""):
    """24 rows of 1x4x4 images (a bright row 'across', a bright column 'down'); ``gap`` (row, column) holds
    ``cell`` (empty: a missing cell)."""
    rng = np.random.default_rng(0)
    lines = [",".join(f"p{i}{j}" for i in range(4) for j in range(4)) + ",bar"]
    for n in range(24):
        image = rng.integers(0, 3, size=(4, 4))
        if n % 2:
            image[:, n % 4] = 9
        else:
            image[n % 4, :] = 9
        cells = [str(v) for v in image.ravel()]
        if gap is not None and gap[0] == n:
            cells[gap[1]] = cell
        lines.append(",".join(cells) + "," + ("down" if n % 2 else "across"))
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_same_table_without_a_gap_trains(tmp_path):
    """The premise (passes today)."""
    data = _image_table(tmp_path / "images.csv")
    run = run_in_process("train.py", "--data", data, "--image", "1x4x4", "--conv", "4", "--save", tmp_path / "m.npz",
                         "--quiet")
    assert run.returncode == 0, run.stderr


def test_an_image_table_with_one_gap_trains_or_the_refusal_names_the_gap(tmp_path):
    data = _image_table(tmp_path / "images.csv", gap=(2, 5))  # p11 of the third row
    run = run_in_process("train.py", "--data", data, "--image", "1x4x4", "--conv", "4", "--save", tmp_path / "m.npz",
                         "--quiet")
    assert run.returncode == 0 or ("p11" in run.stderr and "missing" in run.stderr), run.stderr
    assert run.returncode == 1 and len(run.stderr.splitlines()) == 1 and "Traceback" not in run.stderr
    assert "--image 1x4x4" in run.stderr and "line 4" in run.stderr


@pytest.mark.parametrize("cell", ["NA", "?"])
def test_a_cell_marked_missing_is_refused_the_same_way(tmp_path, cell):
    data = _image_table(tmp_path / "images.csv", gap=(5, 0), cell=cell)  # p00 of the sixth row: line 7
    run = run_in_process("train.py", "--data", data, "--image", "1x4x4", "--conv", "4", "--save", tmp_path / "m.npz",
                         "--quiet")
    assert run.returncode == 1 and "p00" in run.stderr and "line 7" in run.stderr and "--image" in run.stderr
    assert not (tmp_path / "m.npz").exists()


def test_a_text_column_in_an_image_table_is_refused(tmp_path):
    data = _image_table(tmp_path / "images.csv")
    lines = data.read_text().splitlines()
    data.write_text("\n".join([lines[0].replace(",bar", ",p40,bar")]
                              + [line.replace(",down", ",red,down").replace(",across", ",blue,across")
                                 for line in lines[1:]]) + "\n")
    run = run_in_process("train.py", "--data", data, "--image", "1x4x4", "--conv", "4", "--save", tmp_path / "m.npz",
                         "--quiet")
    assert run.returncode == 1 and "p40" in run.stderr and "--image" in run.stderr and "line 2" in run.stderr


def test_without_image_the_same_gap_is_imputed(tmp_path):
    """The refusal is --image's: a table network still imputes the gap (issue 27)."""
    data = _image_table(tmp_path / "images.csv", gap=(2, 5))
    run = run_in_process("train.py", "--data", data, "--save", tmp_path / "m.npz", "--quiet")
    assert run.returncode == 0, run.stderr
