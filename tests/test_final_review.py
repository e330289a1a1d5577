"""Final review of issues 27 and 28 (a learner doing exercises/conv2d.py and exercises/maxpool.py literally).

exercises/README.md names two slips "the check catches": a gradient written into the image with ``=`` where
overlapping windows must add (``+=``), and a max routed to every pixel of its window. The check fails both, but
the hint under the failing row says only "no single pattern", and nothing in the failing run points to the
``--hint`` tiers that exist for the exercise. Pinned as ``xfail(strict=True)``, now fixed: a diagnosis pattern
names adding (+=) over overlapping windows, and a failing exercise check points to ``--hint``.
Review 3 (train.py --use suggesting a ``--layer`` command that cannot check an image layer) is fixed: the
suggestion is ``gradcheck.py --use`` (``app.learner.check_command``).
"""

import re
import shlex

import numpy as np
import pytest

import gradcheck
from app.learner import check_command, load_learner_classes

from .conftest import ROOT, call_main, run_in_process
from .test_review28_conv_exercise import OVERWRITING_POOL_BACKWARD  # the same slip the review pinned

#: the naive backward a learner writes from the conv exercise's TODO, with ``=`` where the windows' gradients add
CONV_OVERWRITE = '''    def backward(self, upstream):
        xpad, W = self.cache, self.params["W"]
        k, p, s = W.shape[2], self.padding, self.stride
        dxpad, dW = np.zeros_like(xpad), np.zeros_like(W)
        for r in range(upstream.shape[2]):
            for c in range(upstream.shape[3]):
                window = xpad[:, :, s * r:s * r + k, s * c:s * c + k]
                up = upstream[:, :, r, c]
                dW += np.tensordot(up, window, axes=([0], [0]))
                dxpad[:, :, s * r:s * r + k, s * c:s * c + k] = np.tensordot(up, W, axes=([1], [0]))
        self.grads["W"][...] = dW
        if "b" in self.params:
            self.grads["b"][...] = upstream.sum(axis=(0, 2, 3))
        return dxpad[:, :, p:xpad.shape[2] - p, p:xpad.shape[3] - p]
'''



def _with_backward(tmp_path, name, backward):
    """exercises/NAME.py with ``backward`` in place of its skeleton's backward (any method after it kept)."""
    source = (ROOT / "exercises" / f"{name}.py").read_text()
    head, rest = source.split("    def backward(self, upstream):")
    tail = rest.split("\n    def ", 1)
    path = tmp_path / f"{name}.py"
    path.write_text(head + backward + ("\n    def " + tail[1] if len(tail) > 1 else ""))
    return path


RUNS = {
    "conv": ("conv2d", CONV_OVERWRITE, "Conv2d", ("--input-shape", "2,2,5,7")),
    "pool": ("maxpool", OVERWRITING_POOL_BACKWARD, "MaxPool2d",
             ("--layer-args", '{"stride": 1}', "--input-shape", "2,2,4,6")),
}


def _run(tmp_path, capsys, which):
    name, backward, cls, argv = RUNS[which]
    path = _with_backward(tmp_path, name, backward)
    return call_main(gradcheck.main, capsys, "--layer", f"{path}:{cls}", *argv)


@pytest.mark.parametrize("which", sorted(RUNS))
def test_the_overwrite_slip_fails_the_check(tmp_path, capsys, which):
    """The premise (passes today): the slip the exercises' README names fails its documented check."""
    code, out, _ = _run(tmp_path, capsys, which)
    assert code == 1 and re.search(r"\bfail\b", out)


@pytest.mark.parametrize("which", sorted(RUNS))
def test_the_overwrite_slip_gets_a_hint_that_names_adding(tmp_path, capsys, which):
    code, out, _ = _run(tmp_path, capsys, which)
    hints = " ".join(line for line in out.splitlines() if "↳" in line or line.startswith("      "))
    assert code == 1 and re.search(r"\+=|overlap|add up|adds? (them|the)", hints), hints


def test_a_failing_exercise_check_points_to_its_hints(tmp_path, capsys):
    code, out, err = _run(tmp_path, capsys, "pool")
    assert code == 1 and "--hint" in out + err


def _bars_table(path):
    """A 1x4x4 image table: a bright row ('across') or a bright column ('down'), 24 rows."""
    rng = np.random.default_rng(0)
    rows = [",".join(f"p{i}{j}" for i in range(4) for j in range(4)) + ",bar"]
    for n in range(24):
        image = rng.integers(0, 3, size=(4, 4))
        line = n % 4
        if n % 2:
            image[:, line] = 9
        else:
            image[line, :] = 9
        rows.append(",".join(map(str, image.ravel())) + ("," + ("down" if n % 2 else "across")))
    path.write_text("\n".join(rows) + "\n")
    return path


def test_the_overwrite_conv_slip_is_refused_before_training(tmp_path):
    """The premise (passes today): train.py --use with that Conv2d refuses to train, naming a command to run."""
    layer = _with_backward(tmp_path, "conv2d", CONV_OVERWRITE)
    data = _bars_table(tmp_path / "bars.csv")
    run = run_in_process("train.py", "--data", data, "--image", "1x4x4", "--conv", "4", "--use", f"{layer}:Conv2d",
                         "--save", tmp_path / "m.npz", "--quiet")
    assert run.returncode == 1 and "python gradcheck.py --use" in run.stderr


def test_the_command_suggested_for_a_refused_image_layer_checks_it(tmp_path, capsys):
    layer = _with_backward(tmp_path, "conv2d", CONV_OVERWRITE)
    data = _bars_table(tmp_path / "bars.csv")
    run = run_in_process("train.py", "--data", data, "--image", "1x4x4", "--conv", "4", "--use", f"{layer}:Conv2d",
                         "--save", tmp_path / "m.npz", "--quiet")
    suggested = re.search(r"python gradcheck\.py (.*?)\)\s*$", run.stderr.strip().splitlines()[-1]).group(1)
    code, out, err = call_main(gradcheck.main, capsys, *shlex.split(suggested))
    assert code == 1 and re.search(r"\bfail\b", out), err  # the check ran and found the slip


def test_the_suggested_command_names_every_class_quoted_for_a_shell(tmp_path):
    """Fixed (review 3): ``app.learner.check_command``, ``gradcheck.py --use`` per class, paths quoted."""
    folder = tmp_path / "my layers"
    folder.mkdir()
    plain = "    def backward(self, upstream):\n        return upstream\n"
    sigmoid, linear = (_with_backward(folder, name, plain) for name in ("sigmoid", "linear"))
    chosen = load_learner_classes([f"{sigmoid}:Sigmoid", f"{linear}:Linear"])
    assert shlex.split(check_command(chosen)) == ["python", "gradcheck.py", "--use", f"{sigmoid}:Sigmoid",
                                                  "--use", f"{linear}:Linear"]
