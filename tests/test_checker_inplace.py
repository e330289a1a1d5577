"""Issue 20, the checker's in-place blind spot: a ``forward`` that writes into its input is refused in one line
naming the layer (it never passes), in every mode, alone and inside a network; and an absurd step is a
one-line refusal of ``--h``, not "a layer breaking the protocol"."""

import textwrap

import numpy as np
import pytest

import gradcheck
from checking.checker import LayerError, check_layer, check_model
from layers import BCELoss, Linear, Sigmoid
from model.sequential import Sequential

from .conftest import call_main


class ScaleInplaceWrong:
    """``x *= 3`` in place, and a backward that says 5: wrong, and must never pass."""

    def forward(self, x):
        x *= 3
        return x

    def backward(self, upstream):
        return upstream * 5


class StudentReLU:
    """The classic student ReLU: zeroes its input in place, and a backward without a mask."""

    def forward(self, x):
        x[x < 0] = 0
        return x

    def backward(self, upstream):
        return upstream


class StudentReLUWithoutMutation(StudentReLU):
    def forward(self, x):
        return np.maximum(0, x)


MODES = ["elementwise", "directional", "taylor"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("layer", [ScaleInplaceWrong, StudentReLU], ids=["ScaleInplaceWrong", "StudentReLU"])
def test_a_forward_that_changes_its_input_is_refused_in_every_mode(rng, layer, mode):
    x = rng.standard_normal((8, 5))
    given = x.copy()
    with pytest.raises(LayerError) as info:
        check_layer(layer(), x, mode=mode)
    message = str(info.value)
    assert message.startswith(f"{layer.__name__}.forward changes its input in place")
    assert "\n" not in message and "np.maximum(0, x)" in message
    np.testing.assert_array_equal(x, given)  # the caller's array is untouched


def test_the_same_backward_after_a_forward_that_leaves_its_input_fails(rng):
    report = check_layer(StudentReLUWithoutMutation(), rng.standard_normal((8, 5)))
    assert not report.passed and report.row("x").verdict == "fail"


def test_the_count_of_changed_elements_is_said(rng):
    x = rng.standard_normal((8, 5))
    with pytest.raises(LayerError, match=rf"\({int((x < 0).sum())} of 40 elements\)"):
        check_layer(StudentReLU(), x)


def test_a_loss_that_changes_its_labels_is_refused(rng):
    class ClipsLabels(BCELoss):
        def forward(self, p, y):
            y[...] = 1
            return super().forward(p, y)

    p, y = rng.uniform(0.1, 0.9, (6, 1)), np.zeros((6, 1))
    with pytest.raises(LayerError, match="ClipsLabels.forward changes its labels in place"):
        check_layer(ClipsLabels(), p, y=y)


def test_an_in_place_layer_inside_a_network_is_refused(rng):
    net = Sequential([Linear(2, 4, rng=rng), StudentReLU(), Linear(4, 1, rng=rng), Sigmoid()], BCELoss())
    X, y = rng.standard_normal((8, 2)), rng.integers(0, 2, 8)
    with pytest.raises(LayerError, match="StudentReLU.forward changes its input in place"):
        check_model(net, X, y)


@pytest.fixture
def inplace_file(tmp_path):
    path = tmp_path / "inplace.py"
    path.write_text(textwrap.dedent('''
        class ScaleInplaceWrong:
            def forward(self, x):
                x *= 3
                return x

            def backward(self, u):
                return u * 5


        class ReLU:
            def forward(self, x):
                x[x < 0] = 0
                return x

            def backward(self, upstream):
                return upstream
        '''))
    return path


@pytest.mark.parametrize("argv", [["--layer", "{f}:ScaleInplaceWrong"], ["--layer", "{f}:ReLU"],
                                  ["--layer", "{f}:ReLU", "--mode", "taylor"],
                                  ["--layer", "{f}:ScaleInplaceWrong", "--mode", "taylor"],
                                  ["--use", "{f}:ReLU"]])
def test_the_cli_refuses_each_in_place_example_in_one_line(capsys, inplace_file, argv):
    code, out, err = call_main(gradcheck.main, capsys, *[a.format(f=inplace_file) for a in argv])
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1
    assert "forward changes its input in place" in err and "PASSED" not in err


@pytest.mark.parametrize("h", ["1e300", "1e10", "2"])
def test_an_absurd_step_is_a_one_line_refusal_of_h(capsys, h):
    code, out, err = call_main(gradcheck.main, capsys, f"--h={h}")
    assert code == 2 and out == ""
    assert err.startswith("gradcheck.py: error: --h") and "at most 1" in err and "protocol" not in err
    assert "BCELoss" not in err and len(err.strip().splitlines()) == 1
