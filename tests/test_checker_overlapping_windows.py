"""The hint for ``=`` where overlapping windows' gradients must add (``+=``), in a conv or a stride-1 max-pool backward.

``checking.diagnosis`` names it when every failing element sits on a pixel that several windows cover (the windows
``(kernel_size, stride, padding)`` read from the layer's public attributes, ``checking.checker.windows_of``) and the
analytic values there are one window's share of the numeric ones; it stays quiet on pixels one window covers, on
windows that do not overlap, on a gradient as large as the numeric one, and on the other slips tried here.
"""

import re

import numpy as np
import pytest

import gradcheck
from checking.checker import check_layer, windows_of
from checking.diagnosis import diagnose
from layers import Conv2d, MaxPool2d

from .conftest import call_main, hints_in
from .test_final_review import CONV_OVERWRITE, _with_backward
from .test_review28_conv_exercise import OVERWRITING_POOL_BACKWARD as POOL_OVERWRITE

ADDS = re.compile(r"\+=")


def _shares(rng, shape, k, s):
    """``(analytic, numeric)`` of ``shape`` (N, C, H, W): each pixel's numeric the sum of one random share per window
    covering it, its analytic the last share alone (what ``=`` leaves), for windows ``k``, stride ``s``, no padding."""
    n, c, h, w = shape
    analytic, numeric = np.zeros(shape), np.zeros(shape)
    for r in range(0, h - k + 1, s):
        for col in range(0, w - k + 1, s):
            share = rng.normal(size=(n, c, k, k))
            numeric[:, :, r:r + k, col:col + k] += share
            analytic[:, :, r:r + k, col:col + k] = share
    return analytic, numeric


def _failed(analytic, numeric):
    return np.abs(analytic - numeric) > 1e-6 * np.maximum(np.abs(numeric), 1)


def test_one_windows_share_on_shared_pixels_names_adding(rng):
    analytic, numeric = _shares(rng, (2, 2, 5, 6), 2, 1)
    _, hint = diagnose(analytic, numeric, _failed(analytic, numeric), windows=(2, 1, 0))
    assert ADDS.search(hint) and "2×2" in hint and "stride 1" in hint


def test_without_the_windows_the_hint_is_not_given(rng):
    analytic, numeric = _shares(rng, (2, 2, 5, 6), 2, 1)
    _, hint = diagnose(analytic, numeric, _failed(analytic, numeric))
    assert not ADDS.search(hint)


def test_a_failing_pixel_one_window_covers_keeps_it_quiet(rng):
    analytic, numeric = _shares(rng, (2, 2, 5, 6), 2, 1)
    analytic[0, 0, 0, 0] += 1.0  # the corner is in one window only: its failure is another slip's
    _, hint = diagnose(analytic, numeric, _failed(analytic, numeric), windows=(2, 1, 0))
    assert not ADDS.search(hint)


def test_windows_that_do_not_overlap_keep_it_quiet(rng):
    analytic, numeric = _shares(rng, (2, 2, 4, 6), 2, 1)
    _, hint = diagnose(analytic, numeric, _failed(analytic, numeric), windows=(2, 2, 0))  # stride = kernel
    assert not ADDS.search(hint)


def test_an_analytic_as_large_as_the_numeric_keeps_it_quiet(rng):
    _, numeric = _shares(rng, (2, 2, 5, 6), 2, 1)
    analytic = rng.permutation(numeric.ravel()).reshape(numeric.shape)  # wrong, but not a share: as large
    corners = (slice(None), slice(None), [0, 0, -1, -1], [0, -1, 0, -1])
    analytic[corners] = numeric[corners]  # right where one window covers the pixel, as a share would be
    _, hint = diagnose(analytic, numeric, _failed(analytic, numeric), windows=(2, 1, 0))
    assert not ADDS.search(hint)


def _hints(tmp_path, capsys, name, backward, cls, *argv):
    path = _with_backward(tmp_path, name, backward)
    code, out, _ = call_main(gradcheck.main, capsys, "--layer", f"{path}:{cls}", *argv)
    return code, " ".join(hints_in(out))


#: the conv exercise's backward with the kernel left unflipped where it must be (a slip of another kind)
CONV_UNFLIPPED = CONV_OVERWRITE.replace(
    "dxpad[:, :, s * r:s * r + k, s * c:s * c + k] = np.tensordot(up, W, axes=([1], [0]))",
    "dxpad[:, :, s * r:s * r + k, s * c:s * c + k] += np.tensordot(up, W[:, :, ::-1, ::-1], axes=([1], [0]))")

#: the max-pool exercise's backward routing the upstream to every pixel of the window (exercises/README.md's other slip)
POOL_EVERY_PIXEL = POOL_OVERWRITE.replace("dx[:, :, rows, cols] = won * upstream", "dx[:, :, rows, cols] += upstream")


@pytest.mark.parametrize("seed", ["0", "1", "2"])
def test_an_unflipped_kernel_is_not_called_an_overwrite(tmp_path, capsys, seed):
    assert CONV_UNFLIPPED != CONV_OVERWRITE
    code, hints = _hints(tmp_path, capsys, "conv2d", CONV_UNFLIPPED, "Conv2d", "--layer-args", '{"padding": 1}',
                         "--input-shape", "2,2,5,7", "--seed", seed)
    assert code == 1 and hints and not ADDS.search(hints)


def test_routing_to_every_pixel_is_not_called_an_overwrite(tmp_path, capsys):
    assert POOL_EVERY_PIXEL != POOL_OVERWRITE
    code, hints = _hints(tmp_path, capsys, "maxpool", POOL_EVERY_PIXEL, "MaxPool2d", "--layer-args", '{"stride": 1}',
                         "--input-shape", "2,2,4,6")
    assert code == 1 and hints and not ADDS.search(hints)


def test_the_overwrite_with_padding_and_stride_2_names_adding(tmp_path, capsys):
    code, hints = _hints(tmp_path, capsys, "conv2d", CONV_OVERWRITE, "Conv2d", "--layer-args",
                         '{"padding": 1, "stride": 2}', "--input-shape", "2,2,7,7")
    assert code == 1 and ADDS.search(hints)


@pytest.mark.parametrize("layer", [Conv2d(2, 3, 3, stride=1, padding=1, rng=np.random.default_rng(0)),
                                   MaxPool2d(2, stride=1)], ids=["conv", "pool"])
def test_correct_overlapping_layers_pass_without_a_hint(rng, layer):
    report = check_layer(layer, rng.normal(size=(2, 2, 5, 6)))
    assert report.passed and not any(row.hint for row in report.rows)


class _Windows:
    def __init__(self, **attributes):
        self.__dict__.update(attributes)


@pytest.mark.parametrize("layer, expected", [
    (MaxPool2d(3, stride=2), (3, 2, 0)),
    (Conv2d(1, 2, 3, stride=2, padding=1, rng=np.random.default_rng(0)), (3, 2, 1)),
    (_Windows(params={"W": np.zeros((2, 1, 3, 3))}, stride=1, padding=2), (3, 1, 2)),  # the exercise's: no kernel_size
    (_Windows(params={"W": np.zeros((2, 3))}), None),  # a Linear's weights
    (_Windows(kernel_size=2, stride="1"), None),  # not a count
    (_Windows(kernel_size=2, stride=0), None),
    (_Windows(kernel_size=2, stride=1, padding=-1), None),
])
def test_the_windows_come_from_public_attributes(layer, expected):
    assert windows_of(layer) == expected
