"""Review of issue 28 (a learner following exercises/conv2d.py and docs/learn.md literally): a ``Conv2d.backward``
with a height-for-width slip passes every check the exercise and the docs suggest, all of them on square images.

The backward is written here into a copy of the exercise (``tmp_path``). The findings were pinned as
``xfail(strict=True)``; the checks the exercises and the docs suggest now hold non-square images (and, for the
pooling, a stride of 1, where windows overlap), and so does the default run their ``--use`` repeats, so they are
plain tests, on the commands the docs show now.
"""

import pytest

import gradcheck

from .conftest import ROOT, call_main

#: the exercise's backward, written with the output's height read for its width too, and the padding cut off with
#: the height on both sides: right exactly when the images are square
SQUARE_ONLY_BACKWARD = '''    def backward(self, upstream):
        xpad, W = self.cache, self.params["W"]
        k, p, s = W.shape[2], self.padding, self.stride
        hout, wout = upstream.shape[2], upstream.shape[2]
        dxpad, dW = np.zeros_like(xpad), np.zeros_like(W)
        for r in range(hout):
            for c in range(wout):
                window = xpad[:, :, s * r:s * r + k, s * c:s * c + k]
                up = upstream[:, :, r, c]
                dW += np.tensordot(up, window, axes=([0], [0]))
                dxpad[:, :, s * r:s * r + k, s * c:s * c + k] += np.tensordot(up, W, axes=([1], [0]))
        self.grads["W"][...] = dW
        if "b" in self.params:
            self.grads["b"][...] = upstream.sum(axis=(0, 2, 3))
        h = xpad.shape[2] - 2 * p
        return dxpad[:, :, p:p + h, p:p + h]
'''


@pytest.fixture
def square_only(tmp_path):
    """exercises/conv2d.py with ``SQUARE_ONLY_BACKWARD`` in place of its skeleton's backward."""
    head = (ROOT / "exercises" / "conv2d.py").read_text().split("    def backward(self, upstream):")[0]
    path = tmp_path / "conv2d.py"
    path.write_text(head + SQUARE_ONLY_BACKWARD)
    return f"{path}:Conv2d"


def test_the_square_only_backward_is_refused_on_a_non_square_image(square_only, capsys):
    """The finding's premise: on 5x6 images its dx has the wrong shape, and the check says so."""
    code, out, err = call_main(gradcheck.main, capsys, "--layer", square_only, "--input-shape", "2,2,5,6")
    assert code != 0 and "(2, 2, 5, 6)" in err


def test_some_documented_check_of_the_exercise_fails_a_square_only_backward(square_only, capsys):
    runs = [("--layer", square_only, "--input-shape", "2,2,5,7"),
            ("--layer", square_only, "--input-shape", "2,2,5,7", "--layer-args", '{"stride": 2, "padding": 1}'),
            ("--use", square_only)]
    codes = [call_main(gradcheck.main, capsys, *argv).code for argv in runs]
    assert all(code != 0 for code in codes)


#: the max-pooling exercise's backward with ``=`` where overlapping windows must add: right when windows do not
#: overlap (stride = kernel, the exercise's default and every documented check), wrong when they do
OVERWRITING_POOL_BACKWARD = '''    def backward(self, upstream):
        x = self.cache
        dx = np.zeros_like(x)
        for r, c, rows, cols in self._windows(x.shape):
            window = x[:, :, rows, cols]
            won = window == window.max(axis=(2, 3), keepdims=True)
            dx[:, :, rows, cols] = won * upstream[:, :, r, c][:, :, None, None]
        return dx

'''


@pytest.fixture
def overwriting_pool(tmp_path):
    """exercises/maxpool.py with ``OVERWRITING_POOL_BACKWARD`` in place of its skeleton's backward."""
    source = (ROOT / "exercises" / "maxpool.py").read_text()
    head, rest = source.split("    def backward(self, upstream):")
    tail = "    def kink_state(self):" + rest.split("    def kink_state(self):")[1]
    path = tmp_path / "maxpool.py"
    path.write_text(head + OVERWRITING_POOL_BACKWARD + tail)
    return f"{path}:MaxPool2d"


def test_the_overwriting_pool_backward_fails_where_windows_overlap(overwriting_pool, capsys):
    """The finding's premise: with stride 1 the windows overlap and the check fails it."""
    code = call_main(gradcheck.main, capsys, "--layer", overwriting_pool, "--input-shape", "2,2,4,4",
                     "--layer-args", '{"kernel_size": 2, "stride": 1}').code
    assert code == 1


def test_some_documented_check_of_the_pool_exercise_fails_an_overwriting_backward(overwriting_pool, capsys):
    runs = [("--layer", overwriting_pool, "--input-shape", "2,2,4,6", "--layer-args", '{"stride": 1}'),
            ("--use", overwriting_pool)]
    assert all(call_main(gradcheck.main, capsys, *argv).code == 1 for argv in runs)
