"""Hostile or damaged model files: each is refused with one line, fast, having inflated and allocated little.

Every file here is built by hand (``write_zip``), so each hostile detail — an encryption flag, a
compression method, a declared size, a CRC — is exactly the one under test; the same writer's copy of a
good model loads (``test_the_hand_written_copy_of_a_good_model_loads``), so a refusal is the detail's.
"""

import io
import json
import os
import struct
import threading
import tracemalloc
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from layers import Add, BatchNorm, Linear, ReLU, SigmoidBCELoss, SoftmaxCrossEntropyLoss
from layers.standardize import Standardize
from model import Sequential, TwoLayerNet, build_mlp, load
from model.parameters import gather
from model.registry import LIBRARY
from model.serialization import MAX_ARCHITECTURE_CHARS, MAX_LAYERS, MAX_NESTING, MAX_NUMBERS, MAX_WIDTH

ONE_MB = 1 << 20


# ---------------------------------------------------------------- writing zips by hand


@dataclass
class Member:
    """One zip member as it lies in the file: ``data`` as stored (compressed if ``method`` is 8), the
    ``crc`` and ``size`` of the inflated data (by default those of ``data``), the general purpose ``flags``."""

    data: bytes
    method: int = zipfile.ZIP_STORED
    flags: int = 0
    crc: int | None = None
    size: int | None = None


def write_zip(path, members):
    """Write ``members`` (a dict, or a list of pairs, of name -> bytes or Member) as a zip archive: local
    headers, data, central directory."""
    body, directory = bytearray(), bytearray()
    members = list(members.items() if isinstance(members, dict) else members)
    for name, member in members:
        member = member if isinstance(member, Member) else Member(member)
        crc = zlib.crc32(member.data) if member.crc is None else member.crc
        size = len(member.data) if member.size is None else member.size
        raw = name.encode()
        fields = (member.flags, member.method, 0, 0x21, crc, len(member.data), size, len(raw), 0)
        directory += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, *fields, 0, 0, 0, 0, len(body)) + raw
        body += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, *fields) + raw + member.data
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), len(body), 0)
    path.write_bytes(bytes(body + directory + end))
    return path


def npy(array):
    """``array`` as the bytes of an ``.npy`` file (objects pickled: a hostile file may hold them)."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=True)
    return buffer.getvalue()


def npy_header(descr, shape):
    """The bytes of an ``.npy`` header alone, declaring ``descr`` (a dtype descriptor) and ``shape``."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, {"descr": descr, "fortran_order": False, "shape": shape})
    return buffer.getvalue()


def members_of(path):
    """The members of a saved model, name -> inflated bytes (``format.npy``, ``param:w1.npy``, ...)."""
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def architecture_of(members):
    return json.loads(str(np.load(io.BytesIO(members["architecture.npy"]))))


def with_architecture(members, arch):
    """``members`` with the architecture replaced: a dict is dumped as JSON, a string is taken as the text."""
    text = arch if isinstance(arch, str) else json.dumps(arch)
    return {**members, "architecture.npy": npy(np.array(text))}


def deflated_zeros(prefix, n_zeros, segment=16_000_000):
    """A deflated member holding ``prefix`` then ``n_zeros`` zero bytes, built without ever holding them.

    Deflate resets its window at a full flush, so one compressed segment of zeros can be repeated: a
    ratio of about 1000 to 1, the zip bomb's.
    """
    assert n_zeros % segment == 0
    first, body = zlib.compressobj(9, zlib.DEFLATED, -15), zlib.compressobj(9, zlib.DEFLATED, -15)
    zeros = bytes(segment)
    start = first.compress(prefix) + first.flush(zlib.Z_FULL_FLUSH)
    block = body.compress(zeros) + body.flush(zlib.Z_FULL_FLUSH)
    final = zlib.compressobj(9, zlib.DEFLATED, -15).flush()  # an empty last block
    crc = zlib.crc32(prefix)
    for _ in range(n_zeros // segment):
        crc = zlib.crc32(zeros, crc)
    return Member(start + block * (n_zeros // segment) + final, method=zipfile.ZIP_DEFLATED, crc=crc,
                  size=len(prefix) + n_zeros)


# ---------------------------------------------------------------- how a refusal must look


def refused(path, match):
    """Load ``path``; the error must be the one-line ValueError naming it and matching ``match``."""
    with pytest.raises(ValueError) as info:
        load(path)
    message = str(info.value)
    assert type(info.value) is ValueError and "\n" not in message and len(message) < 600
    assert message.startswith(f"{path}: not a model file or damaged: ")
    assert info.match(match)
    return message


def refused_cheaply(path, match, peak=ONE_MB):
    """``refused``, with at most ``peak`` bytes allocated at the peak (no clock: the machine may be busy; a
    refusal that reads what it need not shows in the bytes it allocates)."""
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        message = refused(path, match)
        allocated = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert allocated < peak, f"allocated {allocated:,} bytes before refusing"
    return message


@pytest.fixture
def bn_model(tmp_path):
    """A saved Standardize → Linear → BatchNorm → ReLU → Linear classifier: its members by name."""
    net = build_mlp(2, hidden=(4,), batchnorm=True, classes=3, seed=0)
    return members_of(net.save(tmp_path / "good.npz"))


@pytest.fixture
def handout_model(tmp_path):
    """A saved TwoLayerNet (the handout's 2-3-1): its members by name."""
    return members_of(TwoLayerNet(seed=0).save(tmp_path / "good.npz"))


def test_the_hand_written_copy_of_a_good_model_loads(tmp_path, bn_model):
    net = build_mlp(2, hidden=(4,), batchnorm=True, classes=3, seed=0)
    loaded = load(write_zip(tmp_path / "copy.npz", bn_model))
    np.testing.assert_array_equal(gather(loaded.params), gather(net.params))
    deflated = {}
    for name, data in bn_model.items():
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        deflated[name] = Member(compressor.compress(data) + compressor.flush(), zipfile.ZIP_DEFLATED,
                                crc=zlib.crc32(data), size=len(data))
    assert [type(layer) for layer in load(write_zip(tmp_path / "z.npz", deflated)).layers] == \
        [type(layer) for layer in net.layers]  # what numpy.savez_compressed writes loads too


# ---------------------------------------------------------------- the architecture's JSON


def test_an_architecture_nested_100000_deep_is_refused_before_it_is_parsed(tmp_path, bn_model):
    text = '{"class": "Sequential", "layers": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path = write_zip(tmp_path / "deep.npz", with_architecture(bn_model, text))
    refused_cheaply(path, f"nested more than {MAX_NESTING} deep", peak=8 * ONE_MB)


def test_brackets_inside_strings_do_not_count_as_nesting(tmp_path, bn_model):
    arch = architecture_of(bn_model)
    arch["feature_names"] = ["[[[[[[[[[[[[[[[[[[[[[[[[", "{{{{{{{{{{{{{{{{{{{{{{{{\\\"[[[["]
    loaded = load(write_zip(tmp_path / "names.npz", with_architecture(bn_model, arch)))
    assert loaded.feature_names == arch["feature_names"]


def test_an_architecture_of_escaped_quotes_is_read_once_not_once_per_quote(tmp_path, bn_model):
    # '"' then '\\"' again and again: a string never closed. Scanned anew from every quote, this took
    # minutes at this size (hours at 1.3 million); read once, it is refused as the JSON it is not.
    text = '"' + '\\"' * 40_000
    refused(write_zip(tmp_path / "quotes.npz", with_architecture(bn_model, text)), "not valid JSON: Unterminated")


def test_strings_full_of_escapes_keep_their_brackets_out_of_the_count(tmp_path, bn_model):
    arch = architecture_of(bn_model)
    arch["feature_names"] = ["\\" * 9 + "[" * 20 + "\u00e9{" * 20, '\\"[[[[[[[[[[[[[[[[[[[[\\']
    loaded = load(write_zip(tmp_path / "names.npz", with_architecture(bn_model, arch)))
    assert loaded.feature_names == arch["feature_names"]
    deep = json.dumps(arch)[:-1] + ', "x": ' + "[" * (MAX_NESTING + 1) + '"' + "]" * (MAX_NESTING + 1) + "}"
    refused(write_zip(tmp_path / "deep.npz", with_architecture(bn_model, deep)), f"nested more than {MAX_NESTING}")


@pytest.mark.parametrize("number", ["1e400", "-1e400", "123456789012345678901234567890", "NaN", "Infinity"])
def test_numbers_out_of_range_in_the_architecture(tmp_path, bn_model, number):
    text = json.dumps(architecture_of(bn_model)).replace('"in_features": 2', f'"in_features": {number}', 1)
    assert number in text
    refused(write_zip(tmp_path / "big.npz", with_architecture(bn_model, text)), "damaged architecture: .*number")


@pytest.mark.parametrize("field,value,match", [
    ("in_features", 1.5, "in_features of Linear must be a whole number"),
    ("in_features", True, "in_features of Linear must be a whole number"),
    ("in_features", MAX_WIDTH + 1, "in_features of Linear must be a whole number in \\[1, 1,000,000\\]"),
    ("in_features", 0, "in_features of Linear must be a whole number"),
    ("bias", "yes", "bias of Linear must be true or false"),
])
def test_config_values_of_the_wrong_kind(tmp_path, bn_model, field, value, match):
    arch = architecture_of(bn_model)
    arch["layers"][1]["config"][field] = value
    refused(write_zip(tmp_path / "m.npz", with_architecture(bn_model, arch)), match)


@pytest.mark.parametrize("dtype", ["object", "U5"])
def test_a_batchnorm_config_naming_a_dtype_is_refused(tmp_path, bn_model, dtype):
    arch = architecture_of(bn_model)
    assert arch["layers"][2]["type"] == "BatchNorm"
    arch["layers"][2]["config"]["dtype"] = dtype
    refused(write_zip(tmp_path / "m.npz", with_architecture(bn_model, arch)),
            "cannot build BatchNorm.*unexpected 'dtype'")


@pytest.mark.parametrize("entry,kind,match", [
    ("layer", "Add", "names Add as a layer, where only Linear, ReLU"),
    ("layer", "Copy", "names Copy as a layer"),
    ("layer", "SigmoidBCELoss", "names SigmoidBCELoss as a layer"),
    ("loss", "ReLU", "names ReLU as a loss, where only BCELoss"),
    ("loss", "Linear", "names Linear as a loss"),
    ("layer", "__import__", "unknown layer type '__import__'"),
])
def test_only_layers_stand_where_layers_stand_and_only_losses_as_the_loss(tmp_path, bn_model, entry, kind, match):
    arch = architecture_of(bn_model)
    if entry == "layer":
        arch["layers"][3] = {"type": kind, "config": {}}  # where the ReLU stood
    else:
        arch["loss"] = {"type": kind, "config": {}}
    refused(write_zip(tmp_path / "m.npz", with_architecture(bn_model, arch)), match)


@pytest.mark.parametrize("last,loss,match", [
    (None, "BCELoss", "Linear followed by BCELoss: BCELoss takes probabilities, which only a Sigmoid"),
    (None, "CrossEntropyLoss", "Linear followed by CrossEntropyLoss: .* only a Softmax"),
    ("Softmax", "SoftmaxCrossEntropyLoss", "Softmax followed by SoftmaxCrossEntropyLoss: .* takes logits"),
    ("Sigmoid", "SigmoidBCELoss", "Sigmoid followed by SigmoidBCELoss: .* takes logits"),
    ("Softmax", "BCELoss", "Softmax followed by BCELoss"),
])
def test_a_loss_after_a_layer_that_does_not_give_what_it_takes_is_refused(tmp_path, bn_model, last, loss, match):
    # the model's last layer is a Linear with 3 outputs: BCELoss there would give negative "probabilities"
    arch = architecture_of(bn_model)
    arch["layers"] += [{"type": last, "config": {}}] if last else []
    arch["loss"] = {"type": loss, "config": {}}
    refused(write_zip(tmp_path / "m.npz", with_architecture(bn_model, arch)), match)
    net = Sequential([Linear(2, 3)] + ([LIBRARY[last]()] if last else []), LIBRARY[loss]())
    with pytest.raises(ValueError, match=match):
        net.save(tmp_path / "never.npz")  # save writes none of them either
    assert not (tmp_path / "never.npz").exists()


def test_a_gate_cannot_be_saved_as_a_layer_either(tmp_path):
    net = Sequential([Linear(2, 3), Add(), Linear(3, 1)], SigmoidBCELoss())
    with pytest.raises(ValueError, match="cannot save a model holding a Add as a layer"):
        net.save(tmp_path / "m.npz")
    assert list(tmp_path.iterdir()) == []


def test_too_many_layers_or_too_many_numbers(tmp_path, bn_model):
    arch = architecture_of(bn_model)
    arch["layers"] = arch["layers"] + [{"type": "ReLU", "config": {}}] * MAX_LAYERS
    refused(write_zip(tmp_path / "long.npz", with_architecture(bn_model, arch)), f"1 to {MAX_LAYERS:,} layers")
    arch = architecture_of(bn_model)
    arch["layers"][1]["config"].update(in_features=MAX_WIDTH, out_features=MAX_WIDTH)
    refused_cheaply(write_zip(tmp_path / "wide.npz", with_architecture(bn_model, arch)),
                    f"declares 1,000,00.* numbers .* more than the {MAX_NUMBERS:,}")


def test_an_architecture_longer_than_the_bound_is_refused_unread(tmp_path, bn_model):
    chars = MAX_ARCHITECTURE_CHARS + 1  # 16 MB of text, deflated to 16 kB
    header = npy_header(f"<U{chars}", ())
    members = {**bn_model, "architecture.npy": deflated_zeros(header, 4 * chars, segment=4 * chars)}
    refused_cheaply(write_zip(tmp_path / "long.npz", members), "not one text of at most 4,194,304 characters")


# ---------------------------------------------------------------- sizes declared, sizes held


def _declare_handout_widths(members, width, init=True, layers=True):
    arch = architecture_of(members)
    if init:
        arch["init"].update(input_dim=width, hidden_dim=width)
    if layers:
        arch["layers"][0]["config"]["num_features"] = width
        arch["layers"][1]["config"].update(in_features=width, out_features=width)
        arch["layers"][3]["config"]["in_features"] = width
    return with_architecture(members, arch)


@pytest.mark.parametrize("width,init,layers,match", [
    (15000, True, True, "declares 225,0.* numbers"),
    (15000, True, False, "declares 225,0.* numbers"),  # a TwoLayerNet's arrays follow from its init alone
    (5000, True, True, "parameter 'w1' has shape \\(2, 3\\), the architecture needs \\(5000, 5000\\)"),
])
def test_a_4kb_file_declaring_a_huge_network_is_refused_before_anything_is_allocated(
        tmp_path, handout_model, width, init, layers, match):
    path = write_zip(tmp_path / "huge.npz", _declare_handout_widths(handout_model, width, init, layers))
    assert path.stat().st_size < 5000
    refused_cheaply(path, match)


def test_the_same_for_a_file_of_the_first_release(tmp_path):
    members = members_of(Path(__file__).parent / "fixtures" / "legacy_v1_2-3-1.npz")
    members.update({"input_dim.npy": npy(np.int64(15000)), "hidden_dim.npy": npy(np.int64(5000))})
    refused_cheaply(write_zip(tmp_path / "v1.npz", members), "param_w1 has shape \\(2, 3\\), the architecture needs")
    members["hidden_dim.npy"] = npy(np.int64(MAX_WIDTH))
    refused_cheaply(write_zip(tmp_path / "v1.npz", members), "declares 15,00.* numbers")
    members["hidden_dim.npy"] = npy(np.float64(3))
    refused(write_zip(tmp_path / "v1.npz", members), "'hidden_dim' has dtype float64; only int or unsigned")


@pytest.fixture(scope="module")
def zip_bomb():
    """Two billion zero bytes, deflated to about 2 MB."""
    return deflated_zeros(b"", 2_000_000_000)


@pytest.mark.parametrize("name", ["junk.npy", "param:spare.npy", "buffer:9:x.npy", "x_mean.npy"])
def test_an_unused_member_is_refused_unread_even_a_zip_bomb(tmp_path, bn_model, zip_bomb, name):
    path = write_zip(tmp_path / "bomb.npz", {**bn_model, name: zip_bomb})
    with zipfile.ZipFile(path) as archive:  # a real bomb: 2e9 bytes declared, 2 MB on disk, zeros inside
        assert archive.getinfo(name).file_size == 2_000_000_000 and path.stat().st_size < 3 * ONE_MB
        with archive.open(name) as member:
            assert member.read(ONE_MB) == bytes(ONE_MB)
    refused_cheaply(path, "parameters \\[.*'spare'\\]|member '(junk|buffer:9:x|x_mean)', which the format does "
                          "not define \\(refused unread\\)")


def test_a_defined_member_declaring_more_bytes_than_its_header_is_refused_before_it_is_inflated(
        tmp_path, handout_model, zip_bomb):
    header = npy_header("<f8", (2, 3))
    members = {**handout_model, "param:w1.npy": deflated_zeros(header, 192_000_000)}
    refused_cheaply(write_zip(tmp_path / "bomb.npz", members),
                    "member 'param:w1' declares 192000128 bytes, its header says 176")


def test_a_member_holding_more_or_fewer_bytes_than_its_header_says(tmp_path, handout_model):
    data = handout_model["param:w2.npy"]
    refused(write_zip(tmp_path / "long.npz", {**handout_model, "param:w2.npy": data + b"\0" * 8}),
            "member 'param:w2' declares 160 bytes, its header says 152")
    cut = Member(data[:-8], size=len(data))  # the zip says 152 bytes, only 144 are there
    refused(write_zip(tmp_path / "short.npz", {**handout_model, "param:w2.npy": cut}),
            "member 'param:w2' is damaged")


def test_loading_a_real_model_peaks_at_a_small_multiple_of_its_size(tmp_path):
    net = build_mlp(500, hidden=(1000,), classes=10, seed=0)  # 510,000 float64 parameters, about 4 MB
    path = net.save(tmp_path / "m.npz")
    size = sum(p.nbytes for p in net.params.values())
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        loaded = load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(gather(loaded.params), gather(net.params))
    assert peak < 4 * size, f"loading {size:,} bytes of parameters peaked at {peak:,} bytes"


# ---------------------------------------------------------------- the zip itself


def test_an_encrypted_member_is_refused(tmp_path, handout_model):
    members = {**handout_model, "param:w1.npy": Member(handout_model["param:w1.npy"], flags=0x1)}
    refused(write_zip(tmp_path / "secret.npz", members), "member 'param:w1' is encrypted")
    members = {**handout_model, "format.npy": Member(handout_model["format.npy"], flags=0x1)}
    refused(write_zip(tmp_path / "secret.npz", members), "member 'format' is encrypted")


@pytest.mark.parametrize("method", [9, 12, 14, 99])
def test_an_unknown_compression_method_is_refused(tmp_path, handout_model, method):
    members = {**handout_model, "param:w2.npy": Member(handout_model["param:w2.npy"], method=method)}
    refused(write_zip(tmp_path / "m.npz", members), f"member 'param:w2' uses compression method {method}; only stored "
                                                    "and deflated")


def test_a_bad_crc_is_refused(tmp_path, handout_model):
    data = bytearray(handout_model["param:w1.npy"])
    data[-1] ^= 0xFF  # the last byte of the last weight
    members = {**handout_model, "param:w1.npy": Member(bytes(data), crc=zlib.crc32(handout_model["param:w1.npy"]))}
    refused(write_zip(tmp_path / "m.npz", members), "member 'param:w1' .*: Bad CRC-32")


def test_a_member_listed_twice_is_refused(tmp_path, handout_model):
    members = list(handout_model.items()) + [("param:w1.npy", npy(np.zeros((2, 3))))]
    refused(write_zip(tmp_path / "m.npz", members), "holds the member 'param:w1' twice")
    members = list(handout_model.items()) + [("param:w1", npy(np.zeros((2, 3))))]  # the same name without .npy
    refused(write_zip(tmp_path / "m.npz", members), "holds the member 'param:w1' twice")


@pytest.mark.parametrize("keep", [0, 30, 200, "half", -22, -1])
def test_a_truncated_file_is_refused(tmp_path, bn_model, keep):
    data = write_zip(tmp_path / "good.npz", bn_model).read_bytes()
    keep = len(data) // 2 if keep == "half" else keep
    path = tmp_path / "cut.npz"
    path.write_bytes(data[:keep])
    refused(path, "not a zip archive")


@pytest.mark.parametrize("content", [b"", b"1,2,0\n", b"PK\x03\x04 not really", npy(np.ones(3))])
def test_a_file_that_is_not_an_npz_is_refused(tmp_path, content):
    path = tmp_path / "m.npz"
    path.write_bytes(content)
    refused(path, "not a zip archive")


@pytest.mark.parametrize("prefix", [bytes(range(250)) * 4, b"PK\x03\x04" + bytes(996)])
def test_bytes_before_a_valid_model_file_are_refused(tmp_path, handout_model, prefix):
    good = write_zip(tmp_path / "good.npz", handout_model)
    path = tmp_path / "prefixed.npz"
    path.write_bytes(prefix + good.read_bytes())
    assert zipfile.ZipFile(path).testzip() is None  # the zip module itself reads past the prefix
    refused(path, "1,000 bytes stand before the archive's first member")


def test_a_missing_file_is_the_os_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")


# ---------------------------------------------------------------- the arrays' headers


@pytest.mark.parametrize("array,match", [
    (np.array([[1, "a"], [2, "b"]], dtype=object), "dtype object; only float or int or unsigned or bool"),
    (np.array([["a", "b", "c"]] * 2, dtype="U5"), "dtype <U5; only float"),
    (np.ones((2, 3), dtype=complex), "dtype complex128; only float"),
    (np.zeros((2, 3), dtype=[("a", "f8")]), "only float"),
])
def test_arrays_of_a_dtype_the_format_does_not_hold_are_refused_from_their_header(
        tmp_path, handout_model, array, match):
    refused(write_zip(tmp_path / "m.npz", {**handout_model, "param:w1.npy": npy(array)}), match)


@pytest.mark.parametrize("header,match", [
    (npy_header(("<f8", (3,)), (2,)), "has dtype \\('<f8', \\(3,\\)\\); only float"),  # a sub-array dtype
    (npy_header("<f8", (-2, -3)), "declares the shape \\(-2, -3\\)"),
    (npy_header("|O", (2, 3)), "dtype object"),
    (b"\x93NUMPY\x03\x00" + npy_header("<f8", (2, 3))[8:], ".npy version 3.0"),
    (b"\x93NUMPX" + npy_header("<f8", (2, 3))[6:], "not a readable .npy array"),
    (npy_header("<f8", (2, 3))[:10] + b"{'descr': __import__('os')}" + b" " * 90 + b"\n", "not a readable .npy array"),
])
def test_a_hand_made_header_is_read_without_trusting_it(tmp_path, handout_model, header, match):
    refused(write_zip(tmp_path / "m.npz", {**handout_model, "param:w1.npy": header + bytes(48)}), match)


def test_a_fortran_ordered_array_loads_the_same(tmp_path, handout_model):
    w1 = np.asfortranarray(np.load(io.BytesIO(handout_model["param:w1.npy"])))
    assert np.lib.format.header_data_from_array_1_0(w1)["fortran_order"]
    loaded = load(write_zip(tmp_path / "f.npz", {**handout_model, "param:w1.npy": npy(w1)}))
    np.testing.assert_array_equal(loaded.params["w1"], w1)


def test_a_format_marker_that_is_not_text_or_too_long_is_refused(tmp_path, handout_model):
    refused(write_zip(tmp_path / "m.npz", {**handout_model, "format.npy": npy(np.arange(3))}),
            "member 'format' has dtype int64; only text")
    refused(write_zip(tmp_path / "m.npz", {**handout_model, "format.npy": npy(np.array("x" * 65))}),
            "not one text of at most 64 characters")
    refused(write_zip(tmp_path / "m.npz", {**handout_model, "format.npy": npy(np.array("other/1"))}),
            "unknown format 'other/1'")


# ---------------------------------------------------------------- buffers


@pytest.mark.parametrize("member,value,match", [
    ("buffer:2:running_var.npy", [1.0, -0.5, 1.0, 1.0], "buffer 'running_var' of layer 2 \\(BatchNorm\\) must be >= 0"),
    ("buffer:0:scale.npy", [1.0, 0.0], "buffer 'scale' of layer 0 \\(Standardize\\) must be > 0"),
    ("buffer:0:scale.npy", [-1.0, 1.0], "must be > 0"),
    ("buffer:2:running_mean.npy", [0.0, np.inf, 0.0, 0.0], "buffers are not finite"),
    ("param:1.W.npy", np.full((2, 4), np.nan), "parameters are not finite"),
])
def test_buffers_out_of_range_are_refused(tmp_path, bn_model, member, value, match):
    refused(write_zip(tmp_path / "m.npz", {**bn_model, member: npy(np.asarray(value, dtype=np.float64))}), match)


def test_a_float64_too_large_for_a_float32_model_is_refused_not_turned_into_inf(tmp_path):
    members = members_of(build_mlp(2, hidden=(3,), seed=0, dtype=np.float32).save(tmp_path / "m.npz"))
    members["param:w1.npy"] = npy(np.full((2, 3), 1e300))
    refused(write_zip(tmp_path / "m.npz", members), "parameters are not finite")


def test_a_valid_batchnorm_model_with_its_statistics_round_trips(tmp_path):
    rng = np.random.default_rng(0)
    net = Sequential([Standardize(3), Linear(3, 4, rng=rng), BatchNorm(4), ReLU(), Linear(4, 3, rng=rng)],
                     SoftmaxCrossEntropyLoss())
    net.layers[2].running_var[...] = [0.0, 0.5, 2.0, 3.0]  # a variance of exactly 0 is a variance
    loaded = load(net.save(tmp_path / "m.npz"))
    np.testing.assert_array_equal(loaded.layers[2].running_var, net.layers[2].running_var)


# ---------------------------------------------------------------- paths that are not regular files


def test_a_fifo_is_refused_without_blocking(tmp_path):
    fifo = tmp_path / "m.npz"
    os.mkfifo(fifo)
    outcome = []

    def attempt():
        try:
            load(fifo)
        except ValueError as exc:
            outcome.append(str(exc))

    reader = threading.Thread(target=attempt, daemon=True)  # a blocked open must not hang the suite
    reader.start()
    reader.join(5)
    assert not reader.is_alive(), "load blocked on a FIFO"
    assert outcome == [f"{fifo}: not a model file or damaged: it is a FIFO, not a regular file"]


def test_a_directory_or_a_device_is_refused(tmp_path):
    refused(tmp_path, "it is a directory, not a regular file")
    refused(os.devnull, "it is a character device, not a regular file")


@pytest.mark.parametrize("damage,match", [
    (lambda a: a["layers"][2].update(type="os.system"), r"unknown layer type 'os\.system'"),
    (lambda a: a["layers"][2].update(type="BCELoss"), "names BCELoss as a layer"),
    (lambda a: a["layers"][1]["config"].update(out_features=True), "out_features of Linear must be"),
    (lambda a: a["layers"][1].update(config=[1]), r"the config of Linear is \[1\]"),
    (lambda a: a.update(layers={"no": "list"}), "1 to 1,000 layers"),
    (lambda a: a.update(loss={"type": "ReLU", "config": {}}), "names ReLU as a loss"),
])
def test_a_two_layer_net_file_names_the_damaged_entry_as_a_sequential_file_does(tmp_path, damage, match):
    path = TwoLayerNet(seed=0).save(tmp_path / "net.npz")
    members = members_of(path)
    arch = architecture_of(members)
    damage(arch)
    refused(write_zip(tmp_path / "damaged.npz", with_architecture(members, arch)), match)
