"""Issue 27: tables as they come — gaps and text columns in train.py --data, the encoding saved with the model,
--id in --predict, and columns counted from 0 in every message."""

import csv
from pathlib import Path

import numpy as np
import pytest

from data import read_table
from data.csv_loader import Cells
from data.encoding import MAX_CATEGORIES, Encoding
from model import load

from .conftest import run_in_process

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "penguins_messy.csv"
FEATURES = "island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex"
MESSY = Cells(gaps=True, text="auto")


def train_py(*args, cwd):
    return run_in_process("train.py", *args, cwd=cwd)


def write(tmp_path, text, name="d.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_gaps_are_nan_and_text_columns_codes(tmp_path):
    path = write(tmp_path, "a,colour,y\n1,red,0\n,blue,1\nNA,red,0\n?,,1\nNaN,blue,0\n")
    table = read_table(path, label="y", cells=MESSY)
    assert np.isnan(table.X[1:, 0]).all() and table.X[0, 0] == 1.0
    assert table.column_texts == {1: ["red", "blue"]} and table.gaps
    np.testing.assert_array_equal(table.X[[0, 1, 2, 4], 1], [0, 1, 0, 1])
    assert np.isnan(table.X[3, 1])


def test_without_cells_a_gap_is_still_refused_naming_the_column_from_0(tmp_path):
    path = write(tmp_path, "a,b,y\n1,2,0\n3,,1\n")
    with pytest.raises(ValueError, match=r"line 3, column 1 \('b', counting from 0\): empty field"):
        read_table(path, label="y")


def test_a_text_cell_among_numbers_is_refused_not_made_a_category(tmp_path):
    path = write(tmp_path, "a,b,y\n1,2,0\n3,x,1\n4,5,0\n")
    with pytest.raises(ValueError, match=r"line 3, column 1 \('b', counting from 0\): 'x' is not a number.*numbers"):
        read_table(path, label="y", cells=MESSY)


def test_ids_and_free_text_are_refused_naming_the_column_and_features(tmp_path):
    rows = "".join(f"id{i},{i % 3},{i % 2}\n" for i in range(30))
    with pytest.raises(ValueError, match=r"column 0 \('name', counting from 0\).*--features"):
        read_table(write(tmp_path, "name,a,y\n" + rows), label="y", cells=MESSY)
    many = "".join(f"w{i % (MAX_CATEGORIES + 1)},{i % 3},{i % 2}\n" for i in range(3 * (MAX_CATEGORIES + 1)))
    with pytest.raises(ValueError, match=f"more than {MAX_CATEGORIES} distinct"):
        read_table(write(tmp_path, "word,a,y\n" + many, "w.csv"), label="y", cells=MESSY)


def test_a_missing_label_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"line 3, column 1 \('y', counting from 0\): missing label 'NA'"):
        read_table(write(tmp_path, "a,y\n1,0\n2,NA\n3,1\n"), label="y", cells=MESSY)


def test_the_encoding_imputes_training_medians_and_one_hots_training_categories():
    X = np.array([[1.0, 0.0], [np.nan, 1.0], [3.0, 0.0], [5.0, np.nan]])
    enc = Encoding.fit(X, ["a", "c"], {1: ["red", "blue"]})
    assert enc.width == 4 and enc.output_names() == ["a", "a missing", "c=blue", "c=red"]
    out = enc.transform(np.array([[np.nan, 0.0], [2.0, 1.0], [7.0, 2.0], [1.0, np.nan]]), {1: ["blue", "red", "green"]})
    np.testing.assert_array_equal(out, [[3.0, 1.0, 1.0, 0.0], [2.0, 0.0, 0.0, 1.0], [7.0, 0.0, 0.0, 0.0],
                                        [1.0, 0.0, 0.0, 0.0]])  # an unseen category and a missing cell: zeros
    assert not np.isnan(out).any()


def test_the_encoding_of_some_rows_is_those_rows_of_the_whole():
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.integers(0, 3, 40).astype(float), rng.normal(size=40)])
    X[rng.random(40) < 0.3, 1] = np.nan
    X[5, 0] = np.nan
    texts = {0: ["a", "b", "c"]}
    rows = rng.permutation(40)[:25]
    enc = Encoding.fit(X, ["t", "x"], texts, rows=rows)
    assert enc.medians[1] == np.nanmedian(X[rows, 1])
    np.testing.assert_array_equal(enc.transform(X, texts, rows=rows), enc.transform(X, texts)[rows])


def test_the_encoding_round_trips_and_a_damaged_one_is_refused():
    enc = Encoding.fit(np.array([[1.0, 0.0], [np.nan, 1.0]]), ["a", "c"], {1: ["x", "y"]})
    back = Encoding.from_config(enc.config(), enc.width)
    assert back.config() == enc.config()
    bad = {**enc.config(), "medians": [float("nan"), 0.0]}
    bad["categories"] = [None, ["y", "x"]]  # unsorted
    with pytest.raises(ValueError, match="categories"):
        Encoding.from_config(bad, enc.width)
    with pytest.raises(ValueError, match="makes 4 columns, the network reads 5"):
        Encoding.from_config(enc.config(), 5)


def test_train_evaluate_predict_with_id_end_to_end(tmp_path):
    model, out = tmp_path / "m.npz", tmp_path / "p.csv"
    trained = train_py("--data", FIXTURE, "--label", "species", "--features", FEATURES, "--epochs", 30,
                       "--save", model, cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "columns: 2 text one-hot (island 3, sex 2)" in trained.stdout.splitlines()[2]
    net = load(model)
    assert net.encoding is not None and net.encoding.categories[0] == ["Biscoe", "Dream", "Torgersen"]
    evaluated = train_py("--evaluate", model, "--data", FIXTURE, "--label", "species", cwd=tmp_path)
    assert evaluated.returncode == 0 and "n 90" in evaluated.stdout
    predicted = train_py("--predict", model, "--data", FIXTURE, "--id", "id", "--out", out, cwd=tmp_path)
    assert predicted.returncode == 0, predicted.stderr
    rows = list(csv.reader(out.read_text().splitlines()))
    assert rows[0][:2] == ["id", "predicted"] and len(rows) == 91
    ids = [r[0] for r in list(csv.reader(FIXTURE.read_text().splitlines()))[1:]]
    assert [r[0] for r in rows[1:]] == ids


def test_id_refusals_as_for_the_label(tmp_path):
    model = tmp_path / "m.npz"
    train_py("--data", FIXTURE, "--label", "species", "--features", FEATURES, "--epochs", 2, "--save", model,
             cwd=tmp_path)
    clash = train_py("--predict", model, "--data", FIXTURE, "--id", "island", "--out", tmp_path / "p.csv", cwd=tmp_path)
    assert clash.returncode == 1 and "column 2 ('island', counting from 0)" in clash.stderr
    assert "Traceback" not in clash.stderr and not (tmp_path / "p.csv").exists()
    missing = train_py("--predict", model, "--data", FIXTURE, "--id", "nope", "--out", tmp_path / "p.csv", cwd=tmp_path)
    assert missing.returncode == 1 and "'nope'" in missing.stderr
    alone = train_py("--evaluate", model, "--data", FIXTURE, "--id", "id", cwd=tmp_path)
    assert alone.returncode == 2 and "--id" in alone.stderr


def test_a_clean_numeric_file_trains_as_before_with_no_encoding(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 2))
    text = "a,b,y\n" + "".join(f"{a!r},{b!r},{int(a > 0)}\n" for a, b in X.tolist())
    model = tmp_path / "m.npz"
    result = train_py("--data", write(tmp_path, text), "--epochs", 2, "--save", model, cwd=tmp_path)
    assert result.returncode == 0
    assert not [line for line in result.stdout.splitlines() if line.startswith("columns:")]  # no encoding line
    assert load(model).encoding is None


def test_the_column_a_parse_error_names_is_the_index_label_takes(tmp_path):
    path = write(tmp_path, "a,b,c\n1,2,0\n3,x,1\n")
    with pytest.raises(ValueError) as info:
        read_table(path, label=2)
    index = int(str(info.value).split("column ")[1].split()[0])
    assert read_table(write(tmp_path, "a,b,c\n1,2,0\n3,4,1\n", "ok.csv"), label=index).label_name == "b"


def test_val_data_and_evaluate_read_unseen_categories_and_gaps_as_the_training_did(tmp_path):
    rows = "".join(f"{['red', 'blue'][i % 2]},{'' if i % 7 == 0 else i % 5},{i % 2}\n" for i in range(40))
    train = write(tmp_path, "colour,size,y\n" + rows, "train.csv")
    val = write(tmp_path, "colour,size,y\ngreen,1,0\nred,NA,0\nblue,3,1\n", "val.csv")
    model = tmp_path / "m.npz"
    result = train_py("--data", train, "--label", "y", "--val-data", val, "--epochs", 5, "--save", model, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "validation: " in result.stdout and "3 rows" in result.stdout
    evaluated = train_py("--evaluate", model, "--data", val, "--label", "y", cwd=tmp_path)
    assert evaluated.returncode == 0 and "n 3" in evaluated.stdout, evaluated.stderr


def test_a_model_of_numbers_still_refuses_a_gap_naming_the_cell(tmp_path):
    rng = np.random.default_rng(1)
    text = "a,b,y\n" + "".join(f"{a!r},{b!r},{int(a > 0)}\n" for a, b in rng.normal(size=(30, 2)).tolist())
    model = tmp_path / "m.npz"
    assert train_py("--data", write(tmp_path, text), "--epochs", 2, "--save", model, cwd=tmp_path).returncode == 0
    gap = write(tmp_path, "a,b,y\n1,2,0\n3,,1\n", "gap.csv")
    evaluated = train_py("--evaluate", model, "--data", gap, cwd=tmp_path)
    assert evaluated.returncode == 1 and "line 3, column 1 ('b', counting from 0): empty field" in evaluated.stderr


def _rewritten(source, target, change):
    """A copy of the model file ``source`` at ``target`` whose architecture's encoding ``change`` edits."""
    import json

    with np.load(source) as npz:
        members = {name: npz[name] for name in npz.files}
    arch = json.loads(str(members["architecture"]))
    change(arch["encoding"])
    members["architecture"] = np.array(json.dumps(arch))
    np.savez(target, **members)
    return target


@pytest.mark.parametrize(("change", "words"), [
    (lambda e: e["medians"].pop(), "entries"),
    (lambda e: e["categories"][0].reverse(), "categories"),
    (lambda e: e["categories"].__setitem__(0, ["x"] * 2), "categories"),
    (lambda e: e["indicators"].__setitem__(1, 1), "indicators"),
    (lambda e: e.pop("names"), "names"),
    (lambda e: e["categories"][0].append("Zzz"), "columns"),
])
def test_a_damaged_encoding_in_a_model_file_is_refused_in_one_line(tmp_path, change, words):
    model = tmp_path / "m.npz"
    assert train_py("--data", FIXTURE, "--label", "species", "--features", FEATURES, "--epochs", 2, "--save", model,
                    cwd=tmp_path).returncode == 0
    bad = _rewritten(model, tmp_path / "bad.npz", change)
    with pytest.raises(ValueError, match=f"not a model file or damaged: damaged encoding.*{words}"):
        load(bad)


@pytest.mark.parametrize(("cell", "words"), [("inf", "not finite"), ("1_000", "underscores"), ("1e200", "too large")])
def test_a_column_with_gaps_still_refuses_what_is_no_plain_finite_number(tmp_path, cell, words):
    path = write(tmp_path, f"a,b,y\n1,2,0\n,3,1\n{cell},4,0\n")
    with pytest.raises(ValueError, match=rf"line 4, column 0 \('a', counting from 0\): '{cell}' .*{words}"):
        read_table(path, label="y", cells=MESSY)


def test_an_id_by_index_without_a_header_is_written_under_id(tmp_path):
    from app.predictions import write_predictions

    rng = np.random.default_rng(2)
    rows = "".join(f"{a!r},{b!r},{int(a > 0)}\n" for a, b in rng.normal(size=(30, 2)).tolist())
    model = tmp_path / "m.npz"
    assert train_py("--data", write(tmp_path, rows), "--epochs", 2, "--save", model, cwd=tmp_path).returncode == 0
    new = write(tmp_path, "k1,0.5,1.5\nk2,-1,2\n", "new.csv")
    assert write_predictions(load(model), new, tmp_path / "p.csv", ident=0) == 2
    lines = (tmp_path / "p.csv").read_text().splitlines()
    assert lines[0].startswith("id,predicted,") and [r.split(",")[0] for r in lines[1:]] == ["k1", "k2"]


def test_streamed_blocks_need_their_text_columns_named(tmp_path):
    from data import iter_feature_blocks

    path = write(tmp_path, "a,c\n1,red\n2,blue\n3,NA\n")
    with pytest.raises(ValueError, match="auto"):
        next(iter_feature_blocks(path, cells=MESSY))
    blocks = iter_feature_blocks(path, cells=Cells(gaps=True, text=[1]))
    next(blocks)
    block = next(blocks)
    assert block.texts == {1: ["red", "blue"]} and np.isnan(block.X[2, 1]) and block.ids is None


def test_a_raw_tables_rows_are_released_once_encoded_and_only_a_raw_tables(tmp_path):
    """``train.py`` lets the raw matrix go once the encoded rows exist: X keeps its shape, not its N·D numbers."""
    raw = read_table(write(tmp_path, "a,colour,y\n1,red,0\n,blue,1\n3,red,0\n4,blue,1\n"), cells=MESSY).classification()
    shape = raw.X.shape
    raw.release_rows()
    assert raw.X.shape == shape and raw.X.strides == (0, 0) and not raw.X.flags.writeable
    clean = read_table(write(tmp_path, "a,b,y\n1,2,0\n3,4,1\n", "clean.csv")).classification()
    with pytest.raises(ValueError, match="raw table"):
        clean.release_rows()
