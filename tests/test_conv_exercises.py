"""``exercises/conv2d.py`` and ``exercises/maxpool.py`` (issue 28): untouched, each backward says it is a TODO; a
learner's naive-loop answer, written into the file where the ``raise`` stands, passes ``gradcheck.py --layer``
and ``--use``, and trains in a network of the library's layers; the usual slips fail the check: a scatter with
``=`` where overlapping windows must add, a max routed to every pixel of its window. The hints come in tiers."""

import importlib.util
import re
import textwrap

import numpy as np
import pytest

import gradcheck
from app.hints import hint, read_hints
from checking.checker import LayerError, check_layer
from layers import Flatten, Linear, ReLU, SoftmaxCrossEntropyLoss
from model import Sequential
from model.factory import make
from model.training import train

from .conftest import ROOT
from .test_exercises import EXERCISES, load

RAISE = re.compile(r"^        raise NotImplementedError\(.*\)$", re.MULTILINE)

#: a learner's answers, the naive loops of CS231n's assignment, as they would write them in place of the raise
CONV_RIGHT = """
        f, c, k, _ = W.shape
        s, p = self.stride, self.padding
        dxpad, dW = np.zeros_like(xpad), np.zeros_like(W)
        n_, _, hout, wout = upstream.shape
        for n in range(n_):
            for f_ in range(f):
                for r in range(hout):
                    for c_ in range(wout):
                        g = upstream[n, f_, r, c_]
                        dW[f_] += xpad[n, :, s * r:s * r + k, s * c_:s * c_ + k] * g
                        dxpad[n, :, s * r:s * r + k, s * c_:s * c_ + k] {op} W[f_] * g
        self.grads["W"][...] = dW
        if "b" in self.params:
            self.grads["b"][...] = upstream.sum(axis=(0, 2, 3))
        return dxpad[:, :, p:dxpad.shape[2] - p, p:dxpad.shape[3] - p]
"""
CONV_OVERWRITES = CONV_RIGHT.replace("{op}", "=")  # the slip: a later window overwrites an earlier one's gradient
CONV_RIGHT = CONV_RIGHT.replace("{op}", "+=")

POOL_RIGHT = """
        dx = np.zeros_like(x)
        k = self.kernel_size
        for r, c, rows, cols in self._windows(x.shape):
            window = x[:, :, rows, cols]
            won = window.reshape(*window.shape[:2], -1).argmax(axis=2)
            i, j = np.unravel_index(won, (k, k))
            for n in range(x.shape[0]):
                for ch in range(x.shape[1]):
                    dx[n, ch, rows.start + i[n, ch], cols.start + j[n, ch]] {op} upstream[n, ch, r, c]
        return dx
"""
POOL_OVERWRITES = POOL_RIGHT.replace("{op}", "=")
POOL_RIGHT = POOL_RIGHT.replace("{op}", "+=")
POOL_EVERYWHERE = """
        dx = np.zeros_like(x)
        for r, c, rows, cols in self._windows(x.shape):
            dx[:, :, rows, cols] += upstream[:, :, r, c][:, :, None, None]  # the slip: to every pixel of the window
        return dx
"""


def solved(tmp_path, file, body):
    """``exercises/<file>`` with ``body`` where its ``raise`` stands: the path of the learner's file."""
    text = (EXERCISES / file).read_text(encoding="utf-8")
    assert len(RAISE.findall(text)) == 1
    path = tmp_path / file
    path.write_text(RAISE.sub(lambda _: textwrap.indent(textwrap.dedent(body).strip(), " " * 8), text),
                    encoding="utf-8")
    return path


def load_solved(tmp_path, file, body, name):
    spec = importlib.util.spec_from_file_location(f"_solved_{file[:-3]}", solved(tmp_path, file, body))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def images(shape=(2, 2, 5, 5), seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# ---------------------------------------------------------------- untouched


@pytest.mark.parametrize("file, name, argv", [
    ("conv2d.py", "Conv2d", ["--input-shape", "2,2,5,5"]), ("maxpool.py", "MaxPool2d", ["--input-shape", "2,2,4,4"])])
def test_an_untouched_exercise_says_its_backward_is_a_todo_in_one_line(capsys, file, name, argv):
    layer = load(file, name)()
    out = layer.forward(images((2, 2, 5, 5)))
    with pytest.raises(NotImplementedError, match=f"{name}.backward is not implemented yet .TODO in exercises/{file}"):
        layer.backward(np.ones_like(out))
    with pytest.raises(LayerError):
        check_layer(load(file, name)(), images((2, 2, 4, 4)))
    assert gradcheck.main(["--layer", f"exercises/{file}:{name}", *argv]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and f"{name}.backward is not implemented yet" in err


@pytest.mark.parametrize("kwargs", [{}, {"stride": 2, "padding": 1}, {"kernel_size": 2, "padding": 2, "stride": 3}])
def test_the_conv_exercises_forward_is_the_librarys(kwargs):
    mine = load("conv2d.py", "Conv2d")(**kwargs)
    lib = make(None, "Conv2d", 2, 3, kwargs.get("kernel_size", 3), stride=kwargs.get("stride", 1),
               padding=kwargs.get("padding", 0))
    lib.params["W"][...] = mine.params["W"]
    lib.params["b"][...] = np.arange(3.0)
    mine.params["b"][...] = np.arange(3.0)
    x = images()
    np.testing.assert_allclose(mine.forward(x), lib.forward(x), rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("stride", [None, 1, 3])
def test_the_maxpool_exercises_forward_is_the_librarys(stride):
    x = images((2, 3, 7, 6))
    np.testing.assert_array_equal(load("maxpool.py", "MaxPool2d")(2, stride).forward(x),
                                  make(None, "MaxPool2d", 2, stride=stride).forward(x))


# ---------------------------------------------------------------- a learner's right answer


@pytest.mark.parametrize("args", [None, '{"stride": 2, "padding": 1}', '{"kernel_size": 2, "stride": 1}'])
def test_a_right_conv_answer_passes_the_check_of_its_file(capsys, tmp_path, args):
    path = solved(tmp_path, "conv2d.py", CONV_RIGHT)
    extra = [] if args is None else ["--layer-args", args]
    assert gradcheck.main(["--layer", f"{path}:Conv2d", *extra, "--input-shape", "2,2,5,5"]) == 0
    out = capsys.readouterr().out
    assert re.findall(r"^\S+\s+(x|W|b)\s", out, re.MULTILINE) == ["x", "W", "b"] and "PASSED" in out


@pytest.mark.parametrize("stride", [None, 1])
def test_a_right_maxpool_answer_passes_the_check_of_its_file(capsys, tmp_path, stride):
    path = solved(tmp_path, "maxpool.py", POOL_RIGHT)
    extra = [] if stride is None else ["--layer-args", f'{{"stride": {stride}}}']
    assert gradcheck.main(["--layer", f"{path}:MaxPool2d", *extra, "--input-shape", "2,2,4,4"]) == 0
    assert "PASSED" in capsys.readouterr().out


@pytest.mark.parametrize("file, name, body", [("conv2d.py", "Conv2d", CONV_RIGHT),
                                              ("maxpool.py", "MaxPool2d", POOL_RIGHT)])
def test_a_right_answer_passes_where_the_librarys_class_stands(capsys, tmp_path, file, name, body):
    path = solved(tmp_path, file, body)
    assert gradcheck.main(["--use", f"{path}:{name}"]) == 0
    out = capsys.readouterr().out
    assert path.name in out and "PASSED" in out and " 0 fail;" in out


def test_right_answers_train_a_convnet_in_place_of_the_librarys_layers(tmp_path):
    types = {"Conv2d": load_solved(tmp_path, "conv2d.py", CONV_RIGHT, "Conv2d"),
             "MaxPool2d": load_solved(tmp_path, "maxpool.py", POOL_RIGHT, "MaxPool2d")}
    rng = np.random.default_rng(0)
    X = rng.standard_normal((48, 1, 6, 6))
    y = (X[:, 0, :3].sum(axis=(1, 2)) > X[:, 0, 3:].sum(axis=(1, 2))).astype(int)  # the brighter half
    net = Sequential([make(types, "Conv2d", 1, 4, 3, padding=1, rng=rng), ReLU(), make(types, "MaxPool2d", 2),
                      Flatten(), Linear(36, 2, rng=rng)], SoftmaxCrossEntropyLoss())
    assert [type(layer) for layer in net.layers[:3:2]] == [types["Conv2d"], types["MaxPool2d"]]
    before = net.evaluate(X, y)["loss"]
    train(net, X, y, epochs=20, lr=0.1, seed=0)
    assert net.evaluate(X, y)["loss"] < before / 2 and (net.predict(X) == y).mean() >= 0.9


# ---------------------------------------------------------------- the usual slips fail


@pytest.mark.parametrize("file, name, body, args, shape", [
    ("conv2d.py", "Conv2d", CONV_OVERWRITES, '{"stride": 1}', "2,2,5,5"),  # overlapping windows, and 3 filters
    ("maxpool.py", "MaxPool2d", POOL_EVERYWHERE, '{"stride": 2}', "2,2,4,4"),  # side by side: still wrong
    ("maxpool.py", "MaxPool2d", POOL_OVERWRITES, '{"stride": 1}', "2,2,4,4"),  # overlapping: a pixel wins twice
])
def test_a_typical_slip_fails_the_check(capsys, tmp_path, file, name, body, args, shape):
    path = solved(tmp_path, file, body)
    assert gradcheck.main(["--layer", f"{path}:{name}", "--layer-args", args, "--input-shape", shape]) == 1
    out = capsys.readouterr().out
    assert re.search(r"^\S+\s+x\s.*fail", out, re.MULTILINE) and "FAILED" in out


# ---------------------------------------------------------------- hints


@pytest.mark.parametrize("file, name, formula", [("conv2d.py", "Conv2d", "dxpad[n, :, s*r:s*r + k, s*c:s*c + k] +="),
                                                 ("maxpool.py", "MaxPool2d", "np.unravel_index(won, (k, k))")])
def test_the_hints_come_in_three_tiers_and_the_exercise_keeps_only_its_todo(file, name, formula):
    tiers = read_hints()[name]
    assert sorted(tiers) == [1, 2, 3] and tiers[1].startswith("The pattern") and tiers[2].startswith("The shape")
    assert formula in tiers[3] and "naive loops" in tiers[3] and "layers/conv.py" in tiers[3]
    assert formula not in tiers[1] + tiers[2]
    text = (EXERCISES / file).read_text(encoding="utf-8")
    assert "TODO" in text and "Shapes" in text and "Shape rule" in text and formula not in text
    assert f"python gradcheck.py --layer exercises/{file}:{name} --hint 1" in text
    assert hint(name, 2).startswith(f"Hint 2 of 3 for {name}")
    assert (ROOT / "layers" / "conv.py").is_file()


def test_gradcheck_prints_the_conv_hint_and_checks_nothing(capsys):
    assert gradcheck.main(["--layer", "exercises/conv2d.py:Conv2d", "--hint", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Hint 3 of 3 for Conv2d") and "+=" in out and "pass" not in out
