"""A model with a column encoding exports with the encoding in front of its network: the ONNX graph reads the raw
columns (``"numbers"`` with NaN for a gap, ``"texts"``) and gives what ``train.py --predict`` writes for the same
rows — gaps, unseen categories and missing texts included; an encoding that cannot be expressed is refused."""

import csv
import json
import math

import numpy as np
import pytest

import train
from data.encoding import Encoding, is_missing
from model import load, to_onnx
from model.onnx_encoding import NUMBERS, TEXTS

from .conftest import ROOT, call_main

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")

#: the agreement asked of the float32 graph with --predict's probabilities
TOL = 1e-5
PENGUINS = ROOT / "tests" / "fixtures" / "penguins_messy.csv"
PENGUIN_FEATURES = "island,bill_length_mm,bill_depth_mm,flipper_length_mm,body_mass_g,sex"


def run(capsys, *argv):
    return call_main(train.main, capsys, *argv)


def feeds(model, path):
    """The inputs of the ONNX ``model`` for the rows of the CSV file ``path``, read by the column names its metadata
    gives each input: numbers as float32 (NaN where a cell is missing), texts stripped, as the CSV reader takes
    them."""
    props = {p.key: json.loads(p.value) for p in model.metadata_props if p.key in (NUMBERS, TEXTS)}
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = {}
    if NUMBERS in props:
        out[NUMBERS] = np.array([[math.nan if is_missing(r[c]) else float(r[c]) for c in props[NUMBERS]] for r in rows],
                                dtype=np.float32)
    if TEXTS in props:
        out[TEXTS] = np.array([[r[c].strip() for c in props[TEXTS]] for r in rows], dtype=object)
    return out


def onnx_outputs(path, inputs):
    """``{output name: array}`` of the ONNX file ``path`` on ``inputs``, after ``onnx.checker`` accepted it."""
    onnx.checker.check_model(str(path), full_check=True)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(inputs)
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, inputs), strict=True))


def predicted(path):
    """``(predicted column, the probabilities (N, K))`` of a --predict output."""
    with open(path, newline="") as fh:
        rows = list(csv.reader(fh))[1:]
    return [r[0] for r in rows], np.array([[float(v) for v in r[1:]] for r in rows])


def agrees(onnx_path, data, prediction):
    """Whether the ONNX file gives, on the CSV file ``data``, the labels and (to ``TOL``) the probabilities that
    --predict wrote into ``prediction``."""
    got = onnx_outputs(onnx_path, feeds(onnx.load(str(onnx_path)), data))
    words, probabilities = predicted(prediction)
    return ([str(v) for v in got["label"].tolist()] == words
            and float(np.abs(got["probabilities"] - probabilities).max()) <= TOL)


def train_and_export(tmp_path, capsys, data, *options):
    """Train on ``data`` with ``options`` and export the model: ``(model path, onnx path, what --export said)``."""
    model, out = tmp_path / "m.npz", tmp_path / "m.onnx"
    code, _, err = run(capsys, "--data", data, "--epochs", "30", "--quiet", "--save", model, *options)
    assert code == 0, err
    code, said, err = run(capsys, "--export", model, "--out", out)
    assert code == 0, err
    return model, out, said


def predict(tmp_path, capsys, model, data):
    pred = tmp_path / f"{data.stem}-predicted.csv"
    code, _, err = run(capsys, "--predict", model, "--data", data, "--out", pred)
    assert code == 0, err
    return pred


def write(path, header, rows):
    with open(path, "w", newline="") as fh:
        csv.writer(fh).writerows([header, *rows])
    return path


def messier_penguins(path):
    """The penguins fixture with cells changed: islands and a sex the model never saw, a gap in each kind of
    missing-cell spelling, a text cell with spaces around it."""
    with open(PENGUINS, newline="") as fh:
        header, *rows = list(csv.reader(fh))
    col = {name: j for j, name in enumerate(header)}
    changes = [("island", "Atlantis"), ("island", ""), ("sex", "unknown"), ("sex", "?"), ("sex", " female "),
               ("bill_depth_mm", ""), ("flipper_length_mm", "NA"), ("bill_length_mm", "?"), ("body_mass_g", "nan"),
               ("island", "NaN")]
    for i, (name, cell) in enumerate(changes):
        rows[3 * i + 1][col[name]] = cell
    return write(path, header, rows)


# ---------------------------------------------------------------- through train.py --export and --predict

def test_the_messy_penguins_export_gives_what_predict_writes(tmp_path, capsys):
    model, out, said = train_and_export(tmp_path, capsys, PENGUINS, "--label", "species", "--features",
                                        PENGUIN_FEATURES)
    assert "numbers (N, 4) float32, texts (N, 2) string -> probabilities (N, 3) float32, label (N,) string" in said
    assert agrees(out, PENGUINS, predict(tmp_path, capsys, model, PENGUINS))
    messier = messier_penguins(tmp_path / "messier.csv")
    assert agrees(out, messier, predict(tmp_path, capsys, model, messier))


def test_the_metadata_names_the_columns_of_each_input(tmp_path, capsys):
    _, out, _ = train_and_export(tmp_path, capsys, PENGUINS, "--label", "species", "--features", PENGUIN_FEATURES)
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    props = {key: json.loads(props[key]) for key in (NUMBERS, TEXTS, "feature_names")}
    assert props[NUMBERS] == ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
    assert props[TEXTS] == ["island", "sex"]
    assert props["feature_names"] == PENGUIN_FEATURES.split(",")


def generated(path, rng, n, gaps_in):
    """A table of numbers ``a`` (a gap in every 7th row), ``b`` (gaps where ``gaps_in`` says) and a text column
    ``colour``, the label decided by all three."""
    a, b = rng.normal(size=n) * 10 + 100, rng.normal(size=n)
    colour = rng.choice(["red", "green", "blue"], size=n)
    label = np.where(a / 10 + b + (colour == "red") > 10.5, "yes", "no")
    rows = [[("" if i % 7 == 3 else repr(float(a[i]))), ("NA" if gaps_in(i) else repr(float(b[i]))), colour[i],
             label[i]] for i in range(n)]
    return write(path, ["a", "b", "colour", "label"], rows)


def test_a_gap_in_a_column_that_had_none_in_training_is_the_median(tmp_path, capsys, rng):
    data = generated(tmp_path / "train.csv", rng, 80, gaps_in=lambda i: False)
    model, out, said = train_and_export(tmp_path, capsys, data, "--header")
    assert "numbers (N, 2) float32, texts (N, 1) string" in said
    assert load(model).encoding.output_names() == ["a", "a missing", "b", "colour=blue", "colour=green", "colour=red"]
    new = generated(tmp_path / "new.csv", rng, 40, gaps_in=lambda i: i % 3 == 0)
    with open(new) as fh:
        text = fh.read().replace(",green,", ",purple,", 2).replace(",red,", ",,", 2)  # unseen, missing
    new.write_text(text)
    assert agrees(out, new, predict(tmp_path, capsys, model, new))


def test_a_wrong_median_or_category_order_is_caught_by_the_comparison(tmp_path, capsys, rng):
    data = generated(tmp_path / "train.csv", rng, 80, gaps_in=lambda i: i % 5 == 0)
    model, out, _ = train_and_export(tmp_path, capsys, data, "--header")
    pred = predict(tmp_path, capsys, model, data)
    assert agrees(out, data, pred)
    net = load(model)
    net.encoding.medians[1] += 3.0  # b's median: b's gaps now read as another number
    to_onnx(net, tmp_path / "median.onnx")
    assert not agrees(tmp_path / "median.onnx", data, pred)
    net = load(model)
    net.encoding.categories[2] = net.encoding.categories[2][::-1]  # red, green, blue: blue and red swap columns
    to_onnx(net, tmp_path / "order.onnx")
    assert not agrees(tmp_path / "order.onnx", data, pred)


# ---------------------------------------------------------------- model.to_onnx in Python

def encoded_net(names, medians, indicators, categories, seed=0):
    """A network for the encoding of those columns, its Standardize fitted on random encoded rows."""
    from model import build_mlp

    encoding = Encoding(names, np.array(medians, dtype=np.float64), indicators, categories)
    net = build_mlp(encoding.width, (5,), classes=3, seed=seed)
    net.layers[0].fit(np.random.default_rng(seed).normal(size=(20, encoding.width)))
    net.encoding, net.classes, net.feature_names = encoding, ["x", "y", "z"], list(names)
    return net


def test_a_float64_graph_of_an_encoding_agrees_with_the_network_to_rounding(tmp_path):
    net = encoded_net(["u", "kind", "v"], [1.5, 0.0, -2.0], [True, False, False], [None, ["a", "b"], None])
    numbers = np.array([[np.nan, 3.0], [0.5, np.nan], [2.0, 1.0], [np.nan, np.nan]])
    texts = np.array([["b"], ["a"], ["c"], [""]], dtype=object)
    raw = np.column_stack([numbers[:, 0], [1.0, 0.0, np.nan, np.nan], numbers[:, 1]])  # kind as codes into a, b
    expected = net.predict_proba(net.encoding.transform(raw, {1: ["a", "b"]}))
    to_onnx(net, tmp_path / "m.onnx", dtype=np.float64)
    got = onnx_outputs(tmp_path / "m.onnx", {NUMBERS: numbers, TEXTS: texts})
    np.testing.assert_allclose(got["probabilities"], expected, rtol=1e-12, atol=1e-14)


def test_an_encoding_of_numbers_only_or_texts_only_has_that_input_alone(tmp_path):
    net = encoded_net(["u", "v"], [1.0, 2.0], [True, False], [None, None])
    to_onnx(net, tmp_path / "n.onnx")
    got = onnx_outputs(tmp_path / "n.onnx", {NUMBERS: np.array([[np.nan, np.nan]], dtype=np.float32)})
    expected = net.predict_proba(np.array([[1.0, 1.0, 2.0]]))
    np.testing.assert_allclose(got["probabilities"], expected, atol=TOL)
    net = encoded_net(["kind"], [0.0], [False], [["p", "q", "r"]])
    to_onnx(net, tmp_path / "t.onnx")
    got = onnx_outputs(tmp_path / "t.onnx", {TEXTS: np.array([["q"], ["s"]], dtype=object)})
    expected = net.predict_proba(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]))
    np.testing.assert_allclose(got["probabilities"], expected, atol=TOL)


def test_an_encoding_without_indicators_imputes_and_adds_no_column(tmp_path):
    net = encoded_net(["u", "kind", "v"], [4.0, 0.0, -1.0], [False, False, False], [None, ["a"], None])
    to_onnx(net, tmp_path / "m.onnx")
    numbers = np.array([[np.nan, 2.0], [1.0, np.nan]], dtype=np.float32)
    got = onnx_outputs(tmp_path / "m.onnx", {NUMBERS: numbers, TEXTS: np.array([["a"], ["NA"]], dtype=object)})
    expected = net.predict_proba(np.array([[4.0, 1.0, 2.0], [1.0, 0.0, -1.0]]))
    np.testing.assert_allclose(got["probabilities"], expected, atol=TOL)


@pytest.mark.parametrize(("encoding", "named"), [
    ({"impute": [0.0, 0.0]}, "data.encoding.Encoding, got dict"),
    (Encoding(["u"], np.zeros(1), [True], [None]), "makes 2 columns but the network reads 3"),
])
def test_an_encoding_that_cannot_be_expressed_is_refused_in_one_line(tmp_path, encoding, named):
    net = encoded_net(["u", "v"], [1.0, 2.0], [True, False], [None, None])
    net.encoding = encoding
    with pytest.raises(ValueError, match=named) as caught:
        to_onnx(net, tmp_path / "m.onnx")
    assert "\n" not in str(caught.value)
    assert not (tmp_path / "m.onnx").exists()


def test_a_median_beyond_float32_is_refused_naming_the_medians(tmp_path):
    net = encoded_net(["u", "v"], [1.0, 1e300], [False, False], [None, None])
    with pytest.raises(ValueError, match=r"encoding\.medians.*not finite in float32"):
        to_onnx(net, tmp_path / "m.onnx")
    to_onnx(net, tmp_path / "m.onnx", dtype=np.float64)  # finite in float64: exported
