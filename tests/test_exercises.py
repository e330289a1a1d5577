"""The exercises in ``exercises/``: untouched, each backward says it is not written yet; filled with the
library's answer (computed from the skeleton's own cache), each passes the gradient check. So the
skeletons never drift from the layer protocol the checker and the library share."""

import ast
import importlib.util
from pathlib import Path

import numpy as np
import pytest

import layers
from checking.checker import LayerError, check_layer

ROOT = Path(__file__).resolve().parent.parent
EXERCISES = ROOT / "exercises"


def load(file, cls_name):
    """The class ``cls_name`` from ``exercises/<file>``, imported by path as ``gradcheck.py --layer`` does."""
    spec = importlib.util.spec_from_file_location(f"_exercise_{file[:-3]}", EXERCISES / file)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, cls_name)


def _library(make):
    """An answer that runs the library's layer, sharing the skeleton's parameter and gradient arrays, forward on
    the skeleton's last inputs (kept by ``_filled``) and backward on the upstream: whatever the two cache."""

    def answer(self, upstream=1.0):
        lib = make(self)
        lib.params, lib.grads = self.params, self.grads  # the same dicts: the library writes the skeleton's grads
        lib.forward(*self.last_inputs)
        return lib.backward(upstream)

    return answer


def _filled(skeleton, answer):
    """The skeleton with ``backward = answer``, its forward keeping its inputs for a library answer."""

    def forward(self, *inputs):
        self.last_inputs = inputs
        return skeleton.forward(self, *inputs)

    return type(skeleton.__name__, (skeleton,), {"forward": forward, "backward": answer})


def _inputs(name, rng):
    """(constructor kwargs, x, y) for each exercise; y None for a layer that is not a loss."""
    away = rng.standard_normal((6, 4))
    away = np.where(np.abs(away) < 0.05, 0.5, away)  # no ReLU input near its kink
    return {
        "Linear": ({"in_features": 4, "out_features": 3}, rng.standard_normal((6, 4)), None),
        "ReLU": ({}, away, None),
        "Sigmoid": ({}, rng.standard_normal((6, 4)) * 2, None),
        "Tanh": ({}, rng.standard_normal((6, 4)), None),
        "BCELoss": ({}, rng.uniform(0.05, 0.95, (6, 1)), rng.integers(0, 2, (6, 1))),
        "SoftmaxCrossEntropyLoss": ({}, rng.standard_normal((6, 4)) * 2, rng.integers(0, 4, 6)),
        "BatchNorm": ({"num_features": 4}, rng.standard_normal((6, 4)) * 3 + 1, None),
    }[name]


# (file, class, the answer written the library's way)
CASES = [
    ("linear.py", "Linear", _library(lambda s: layers.Linear(*s.params["W"].shape, bias="b" in s.params))),
    ("relu.py", "ReLU", _library(lambda s: layers.ReLU())),
    ("sigmoid.py", "Sigmoid", _library(lambda s: layers.Sigmoid())),
    ("tanh.py", "Tanh", _library(lambda s: layers.Tanh())),
    ("bce_loss.py", "BCELoss", _library(lambda s: layers.BCELoss())),
    ("softmax_cross_entropy.py", "SoftmaxCrossEntropyLoss", _library(lambda s: layers.SoftmaxCrossEntropyLoss())),
    ("batchnorm.py", "BatchNorm", _library(lambda s: layers.BatchNorm(len(s.params["gamma"])))),
]
IDS = [c[1] for c in CASES]


def _check(cls, name, rng, **opts):
    kwargs, x, y = _inputs(name, rng)
    layer = cls(**kwargs)
    if name == "BatchNorm":  # a γ, β away from 1 and 0, so a mistake in either shows
        layer.params["gamma"][...] = rng.uniform(0.5, 2.0, layer.params["gamma"].shape)
        layer.params["beta"][...] = rng.standard_normal(layer.params["beta"].shape)
    return check_layer(layer, x, y=y, seed=1, **opts)


def test_there_is_an_exercise_for_every_layer_the_issue_names():
    assert {f.name for f in EXERCISES.glob("*.py")} >= {c[0] for c in CASES}
    assert (EXERCISES / "README.md").is_file()


@pytest.mark.parametrize("file", [c[0] for c in CASES])
def test_each_exercise_stands_alone_with_numpy_only(file):
    tree = ast.parse((EXERCISES / file).read_text(encoding="utf-8"))
    imported = {alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import)
                for alias in node.names}
    imported |= {node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    assert imported <= {"numpy", "pathlib"}, imported


@pytest.mark.parametrize("file, name, _", CASES, ids=IDS)
def test_an_untouched_exercise_says_its_backward_is_a_todo(file, name, _, rng):
    cls = load(file, name)
    kwargs, x, y = _inputs(name, rng)
    layer = cls(**kwargs)
    out = layer.forward(x) if y is None else layer.forward(x, y)
    with pytest.raises(NotImplementedError) as info:
        layer.backward(np.ones_like(out) if y is None else 1.0)
    assert str(info.value) == f"{name}.backward is not implemented yet (TODO in exercises/{file})"
    # the checker hands the NotImplementedError on, for the CLI to turn into its one line
    with pytest.raises(LayerError) as caught:
        _check(cls, name, rng)
    assert isinstance(caught.value.__cause__, NotImplementedError)


@pytest.mark.parametrize("file, name, answer", CASES, ids=IDS)
def test_an_exercise_filled_with_the_librarys_answer_passes_the_check(file, name, answer, rng):
    filled = _filled(load(file, name), answer)
    report = _check(filled, name, rng)
    assert report.passed and {r.verdict for r in report.rows} == {"pass"}, str(report)


@pytest.mark.parametrize("file, name, answer", CASES, ids=IDS)
def test_a_wrong_answer_fails_the_check(file, name, answer, rng):
    def wrong(self, upstream=1.0):
        dx = answer(self, upstream)
        for g in self.grads.values():
            g *= 1.01
        return dx * 1.01  # off by 1 %

    filled = _filled(load(file, name), wrong)
    assert not _check(filled, name, rng).passed


@pytest.mark.parametrize("file, name, _", [c for c in CASES if c[1] != "BatchNorm"], ids=IDS[:-1])
def test_each_forward_is_the_librarys_forward(file, name, _, rng):
    kwargs, x, y = _inputs(name, rng)
    skeleton = load(file, name)(**kwargs)
    lib = getattr(layers, name)(*kwargs.values())  # Linear(in_features, out_features); the others take nothing
    lib.params.update({k: v.copy() for k, v in skeleton.params.items()})
    args = (x,) if y is None else (x, y)
    np.testing.assert_allclose(skeleton.forward(*args), lib.forward(*args), rtol=1e-12, atol=1e-15)


def test_batchnorm_forward_normalises_each_feature_in_training_and_uses_running_stats_in_eval(rng):
    bn = load("batchnorm.py", "BatchNorm")(num_features=3)
    x = rng.standard_normal((50, 3)) * 4 + 2
    out = bn.forward(x)
    np.testing.assert_allclose(out.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(out.std(axis=0), 1, rtol=1e-5)
    bn.training = False
    expected = (x - bn.running_mean) / np.sqrt(bn.running_var + bn.eps)
    np.testing.assert_allclose(bn.forward(x), expected)
