"""``train.py --use PATH.py:Class``: the learner's classes train the handout's network, and the output says so.

The exercises are filled in here, in copies under ``tmp_path``, with the library's formulas written the way a
learner would (each ``raise NotImplementedError`` replaced by the answer), as ``tests/test_exercises.py``
checks them."""

import json

import pytest

import train
from model.experiment import load_dataset
from model import load

from .conftest import ROOT, call_main

EXERCISES = ROOT / "exercises"
#: each exercise's backward, as a learner finishes it (from the skeleton's own cache)
ANSWERS = {
    "linear.py": ['self.grads["W"][...] = self.cache.T @ upstream',
                  'if "b" in self.params:',
                  '    self.grads["b"][...] = upstream.sum(axis=0)',
                  'return upstream @ self.params["W"].T'],
    "relu.py": ["return upstream * (self.cache > 0)"],  # the cache is the input or its 0/1 mask: either works
    "sigmoid.py": ["return upstream * self.cache * (1 - self.cache)"],
    "bce_loss.py": ["p, y = self.cache",
                    "return upstream * (p - y) / (p * (1 - p)) / p.size"],
}
HANDOUT = [("linear.py", "Linear"), ("relu.py", "ReLU"), ("sigmoid.py", "Sigmoid"), ("bce_loss.py", "BCELoss")]


def run(capsys, *argv):
    return call_main(train.main, capsys, *argv)


def filled(tmp_path, name, answer=None):
    """A copy of ``exercises/name`` in ``tmp_path`` whose ``raise NotImplementedError(...)`` is the answer."""
    lines = (EXERCISES / name).read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if "raise NotImplementedError" in line)
    end, depth = start, lines[start].count("(") - lines[start].count(")")
    while depth > 0:
        end += 1
        depth += lines[end].count("(") - lines[end].count(")")
    indent = lines[start][: len(lines[start]) - len(lines[start].lstrip())]
    lines[start:end + 1] = [indent + line for line in (answer or ANSWERS[name])]
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n")
    return path


def use(tmp_path, pairs=HANDOUT):
    return [arg for name, cls in pairs for arg in ("--use", f"{filled(tmp_path, name)}:{cls}")]


def test_the_learners_four_layers_train_the_handouts_network_as_well_as_the_librarys(tmp_path, capsys):
    code, out, err = run(capsys, *use(tmp_path), "--epochs", "60", "--json", "--save", tmp_path / "m.npz")
    assert code == 0, err
    theirs = json.loads(out)
    ours = json.loads(run(capsys, "--epochs", "60", "--json", "--quiet", "--save", tmp_path / "lib.npz").out)
    assert theirs["engine"] == "layers" and ours["engine"] == "engine"
    assert theirs["val_acc"] >= 0.99 and ours["val_acc"] >= 0.99
    files = ", ".join(f"{cls} ({tmp_path / name})" for name, cls in HANDOUT)
    assert f"path: the layer objects, with your {files}" in err
    assert err.index("path:") < err.index("done:")
    assert "(the library's layer classes with your trained weights" in err  # model files name library classes
    data = load_dataset("circles")
    assert load(tmp_path / "m.npz").evaluate(data.X, data.y)["accuracy"] >= 0.99


def test_a_class_the_network_does_not_have_or_cannot_be_loaded_is_refused(tmp_path, capsys):
    tanh = filled(tmp_path, "relu.py")
    code, _, err = run(capsys, "--use", f"{tanh}:ReLU", "--activation", "tanh", "--save", tmp_path / "m.npz")
    assert code == 2 and "the network has no ReLU to replace" in err
    for spec, match in [(f"{tanh}:Nothing", "no class named 'Nothing'"),
                        (f"{tmp_path / 'missing.py'}:ReLU", "no such file"),
                        ("relu.py", "want PATH.py:Class")]:
        code, _, err = run(capsys, "--use", spec, "--save", tmp_path / "m.npz")
        assert code == 2 and match in err and len(err.splitlines()) == 1


@pytest.mark.parametrize("answer,match", [
    (None, "NotImplementedError: Sigmoid.backward is not implemented yet"),
    (["return upstream[:, :0]"], "with your Sigmoid"),
])
def test_a_learners_layer_that_fails_in_training_is_one_line(tmp_path, capsys, answer, match):
    source = (EXERCISES / "sigmoid.py") if answer is None else filled(tmp_path, "sigmoid.py", answer)
    code, _, err = run(capsys, "--use", f"{source}:Sigmoid", "--epochs", "2", "--save", tmp_path / "m.npz")
    assert code == 1 and match in err and len(err.splitlines()) == 1 and "Traceback" not in err
    assert "python gradcheck.py --use" in err
