"""A big tensor is probed at a sample of its elements (two forward passes each), deterministically, and its row
says so; ``max_elements=None`` probes every one."""

import numpy as np
import pytest

from checking.checker import check_layer
from checking.settings import MAX_ELEMENTS, CheckSettings
from layers import Linear
from layers.validation import ParameterError


def big_linear_and_input():
    return Linear(60, 20, rng=0), np.random.default_rng(0).standard_normal((4, 60))  # W has 1200 elements


def test_a_big_tensor_is_sampled_and_its_row_says_so():
    layer, x = big_linear_and_input()
    report = check_layer(layer, x)
    w = report.row("W")
    assert report.passed and w.n_checked == MAX_ELEMENTS < layer.params["W"].size and w.sampled
    assert f"{MAX_ELEMENTS} sampled" in report.table()
    assert not report.row("b").sampled and report.row("b").n_checked == 20  # small: every element


def test_the_sample_is_the_same_every_run_and_follows_the_seed():
    layer, x = big_linear_and_input()
    worst = [check_layer(layer, x, seed=s).row("W").worst_index for s in (0, 0, 1)]
    assert worst[0] == worst[1]


def test_every_element_on_demand():
    layer, x = big_linear_and_input()
    w = check_layer(layer, x, max_elements=None).row("W")
    assert w.n_checked == 1200 and not w.sampled


def test_a_wrong_gradient_still_fails_when_sampled():
    class HalfWrong(Linear):
        def backward(self, upstream):
            dx = super().backward(upstream)
            self.grads["W"][::2] *= 2
            return dx

    layer, x = big_linear_and_input()
    w = check_layer(HalfWrong(60, 20, rng=0), x).row("W")
    assert w.verdict == "fail" and w.sampled


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_max_elements_is_refused_naming_it(bad):
    with pytest.raises(ParameterError, match="max_elements"):
        CheckSettings(max_elements=bad)


def test_every_element_is_the_command_lines_way_to_probe_them_all(capsys, tmp_path):
    import gradcheck

    from .conftest import call_main

    path = tmp_path / "wide.py"
    path.write_text("import numpy as np\n\n\nclass Scale:\n    def __init__(self):\n"
                    "        self.params = {'W': np.random.default_rng(0).normal(size=(30, 30))}\n"
                    "        self.grads = {'W': np.zeros((30, 30))}\n\n    def forward(self, x):\n        self.x = x\n"
                    "        return x @ self.params['W']\n\n    def backward(self, up):\n"
                    "        self.grads['W'][...] = self.x.T @ up\n        return up @ self.params['W'].T\n")
    argv = ("--layer", f"{path}:Scale", "--input-shape", "4,30")
    code, sampled, _ = call_main(gradcheck.main, capsys, *argv)
    assert code == 0 and "500 sampled" in sampled
    code, every, _ = call_main(gradcheck.main, capsys, *argv, "--every-element")
    assert code == 0 and "900 " in every and "sampled" not in every
    code, _, err = call_main(gradcheck.main, capsys, "--every-element")
    assert code == 2 and "--layer" in err and len(err.splitlines()) == 1
