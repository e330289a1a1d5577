"""``gradcheck.py --use PATH.py:Class``: a learner's class takes the place of the library's class of the same name,
checked alone and inside the networks, or traced beside the reference step by step (naming the first step where
the two part). The learner's classes here are the exercise files, filled in."""

import shutil
from pathlib import Path

import numpy as np
import pytest

import gradcheck
import train
from checking.suites import default_suite
from layers.user_code import load_class
from traces.side_by_side import trace_beside
from traces.trace import handout_network, network_graph, routing_batch

from .conftest import ROOT, call_main

#: the body each exercise's ``raise NotImplementedError`` is replaced with: the library's formulas
ANSWERS = {
    "sigmoid.py": "        return upstream * y * (1 - y)",
    "relu.py": "        return upstream * (x > 0)",
    "tanh.py": "        return upstream * (1 - y ** 2)",
    "linear.py": ('        self.grads["W"] = x.T @ upstream  # assigned, not written in place: it trains all the same\n'
                  '        if "b" in self.params:\n'
                  '            self.grads["b"] = upstream.sum(axis=0)\n'
                  "        return upstream @ W.T"),
    "bce_loss.py": "        return upstream * (-y / p + (1 - y) / (1 - p)) / p.size",
}
HANDOUT = ["linear.py:Linear", "relu.py:ReLU", "sigmoid.py:Sigmoid", "bce_loss.py:BCELoss"]


def fill(folder, answers):
    """Copies of the exercises in ``folder``, each ``raise NotImplementedError`` replaced by its answer."""
    folder.mkdir(exist_ok=True)
    for name, body in answers.items():
        lines = (ROOT / "exercises" / name).read_text(encoding="utf-8").splitlines()
        filled = [body if "raise NotImplementedError" in line else line for line in lines]
        assert filled != lines, name
        (folder / name).write_text("\n".join(filled) + "\n", encoding="utf-8")
    return folder


@pytest.fixture
def filled(tmp_path):
    return fill(tmp_path / "filled", ANSWERS)


@pytest.fixture
def wrong_sigmoid(tmp_path):
    return fill(tmp_path / "wrong", {"sigmoid.py": "        return y * (1 - y)"}) / "sigmoid.py"


def uses(folder, specs):
    return [word for spec in specs for word in ("--use", f"{folder / spec}")]


def test_the_handouts_exercises_filled_in_pass_alone_and_inside_every_network(capsys, filled):
    code, out, err = call_main(gradcheck.main, capsys, *uses(filled, HANDOUT))
    assert code == 0 and err == "" and "PASSED" in out
    checks = {line.split("  ")[0] for line in out.splitlines()[2:] if line and not line.startswith((" ", "note"))}
    assert {f"Sigmoid ({filled / 'sigmoid.py'})", f"Linear ({filled / 'linear.py'})", f"ReLU ({filled / 'relu.py'})",
            f"BCELoss ({filled / 'bce_loss.py'})", "TwoLayerNet 2-3-1", "TwoLayerNet 2-8-1 +b1"} <= checks
    assert "Tanh" not in out and "Add " not in out  # only what the learner's classes are part of


def test_the_learners_classes_really_are_inside_the_networks_checked(filled):
    report = default_suite(layer_types={"Sigmoid": load_class(f"{filled / 'sigmoid.py'}:Sigmoid")})
    assert {r.check for r in report.rows} >= {"TwoLayerNet 2-3-1", "fused vs chained BCE"}
    assert "Sequential 2-5-4-3 λ=0.1" not in {r.check for r in report.rows}  # it holds no Sigmoid


def test_a_wrong_sigmoid_fails_inside_the_network_with_the_hint(capsys, wrong_sigmoid):
    code, out, _ = call_main(gradcheck.main, capsys, "--use", f"{wrong_sigmoid}:Sigmoid")
    assert code == 1 and "FAILED" in out
    sigmoid = next(i for i, line in enumerate(out.splitlines()) if line.startswith("Sigmoid ("))
    assert "multiply by the upstream gradient" in out.splitlines()[sigmoid + 1]
    assert any(line.startswith("TwoLayerNet 2-3-1") and line.endswith("fail") for line in out.splitlines())


def test_an_unfinished_exercise_is_one_line(capsys):
    code, out, err = call_main(gradcheck.main, capsys, "--use", f"{ROOT / 'exercises' / 'sigmoid.py'}:Sigmoid")
    assert code == 2 and out == "" and "Sigmoid.backward is not implemented yet (TODO in" in err


@pytest.mark.parametrize("argv, text", [
    (["--use", "{f}/sigmoid.py:Sigmod"], "the library has no class named 'Sigmod'"),
    (["--use", "{f}/sigmoid.py"], "want PATH.py:Class"),
    (["--use", "{f}/sigmoid.py:Sigmoid", "--use", "{f}/sigmoid.py:Sigmoid"], "Sigmoid is already replaced"),
    (["--use", "{f}/nothing.py:Sigmoid"], "nothing.py: no such file"),
    (["--use", "{f}/sigmoid.py:Sigmoid", "--layer", "{f}/sigmoid.py:Sigmoid"], "give one or the other"),
    (["--use", "{f}/sigmoid.py:Sigmoid", "--trace", "warmup"], "--trace net or chain"),
    (["--use", "{f}/sigmoid.py:Sigmoid", "--trace", "--svg", "x.svg"], "without --svg"),
])
def test_bad_uses_are_one_line_exit_2(capsys, filled, argv, text):
    code, _, err = call_main(gradcheck.main, capsys, *[a.format(f=filled) for a in argv])
    assert code == 2 and text in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("source, spec, texts", [
    (None, "missing.py:Sigmoid", ("missing.py", "no such file")),
    ("def broken(:\n", "mine.py:Sigmoid", ("mine.py", "SyntaxError")),
    ("import sys\nsys.exit(3)\n", "mine.py:Sigmoid", ("mine.py", "SystemExit(3)")),
    ("x = 1\n", "mine.py:Sigmoid", ("mine.py", "'Sigmoid'")),
    ("class Sigmoid:\n    def forward(self, x):\n        return x\n", "mine.py:Sigmoid", ("Sigmoid", "backward")),
    ("", "mine.py", ("mine.py", "PATH.py:ClassName")),
])
def test_one_loader_says_the_same_line_to_gradcheck_and_train(capsys, tmp_path, source, spec, texts):
    if source is not None:
        (tmp_path / "mine.py").write_text(source)
    spec = f"{tmp_path}/{spec}"
    with pytest.raises(ValueError) as info:
        load_class(spec)
    message = str(info.value)
    assert all(text in message for text in texts) and "\n" not in message, message
    for main, flag, rest in ((gradcheck.main, "--use", ()), (gradcheck.main, "--layer", ()),
                             (train.main, "--use", ("--save", tmp_path / "m.npz"))):
        code, out, err = call_main(main, capsys, flag, spec, *rest)
        assert code == 2 and out == "" and err.strip().endswith(f"{flag} {message}"), (flag, err)


def test_a_class_the_library_has_no_class_of_is_refused(capsys, tmp_path):
    (tmp_path / "mine.py").write_text("class MySigmoid:\n    def forward(self, x): return x\n"
                                      "    def backward(self, g): return g\n")
    code, _, err = call_main(gradcheck.main, capsys, "--use", f"{tmp_path / 'mine.py'}:MySigmoid")
    assert code == 2 and "the library has no class named 'MySigmoid'" in err and "Sigmoid" in err


# ---------------------------------------------------------------- traced beside the reference


def test_trace_with_the_filled_exercises_agrees_at_every_step(capsys, filled):
    code, out, _ = call_main(gradcheck.main, capsys, "--trace", *uses(filled, HANDOUT))
    assert code == 0 and out.rstrip().endswith("Yours agree with the reference at every step ✓")
    assert "✗" not in out
    for step in ("[step 1]", "[step 2]", "[step 3]", "[step 4]", "[step 5]"):
        assert step in out
    assert f"your Sigmoid ({filled / 'sigmoid.py'})" in out and "yours = reference =" in out


def test_trace_of_a_wrong_sigmoid_names_step_2_and_prints_both_values(capsys, wrong_sigmoid):
    code, out, _ = call_main(gradcheck.main, capsys, "--trace", "--use", f"{wrong_sigmoid}:Sigmoid")
    assert code == 1
    lines = out.splitlines()
    step2 = next(i for i, line in enumerate(lines) if line.strip().startswith("[step 2]"))
    assert "dℓ/dz: yours     =" in lines[step2 + 1] and lines[step2 + 1].rstrip().endswith("✗")
    assert "reference =" in lines[step2 + 2]
    assert "✗" not in "\n".join(lines[:step2]) and "\n".join(lines[:step2]).count("yours = reference =") == 6
    assert "They part first at [step 2] the σ node's backward, your Sigmoid" in out
    assert "hint: matches the local derivative alone: multiply by the upstream gradient" in out


def test_the_printed_values_are_the_learners_and_the_references(wrong_sigmoid):
    types = {"Sigmoid": load_class(f"{wrong_sigmoid}:Sigmoid")}
    reference, learner = handout_network(0), handout_network(0, types)
    X, y = routing_batch(reference.params["w1"], 0, 4)
    text, ok, graph = trace_beside(reference, learner, X, y, lambda net, X, y: network_graph(X, y, net=net)[0])
    assert not ok
    p = graph.value("p")  # yours: p(1 − p), the local gradient alone; the reference's: upstream × it
    np.testing.assert_allclose(graph.grad("z"), graph.grad("p") * p * (1 - p))
    yours = learner.layers[-1].backward(np.ones_like(p))
    np.testing.assert_allclose(yours, p * (1 - p))
    assert f"{float((p * (1 - p))[0, 0]):.4f}" in text and f"{float(graph.grad('z')[0, 0]):.4f}" in text


@pytest.mark.parametrize("body,fragments", [
    ("        dx = upstream * y * (1 - y)", ["yours is None: does the method end with a return? ✗"]),
    ("        return (upstream * y * (1 - y)).sum(axis=0)", ["yours has shape (1,), the reference's (4, 1) ✗"]),
])
def test_trace_of_a_sigmoid_whose_gradient_cannot_go_on_parts_at_step_2_and_stops_there(capsys, tmp_path, body,
                                                                                        fragments):
    sigmoid = fill(tmp_path / "slip", {"sigmoid.py": body}) / "sigmoid.py"
    code, out, _ = call_main(gradcheck.main, capsys, "--trace", "--use", f"{sigmoid}:Sigmoid")
    assert code == 1 and "They part first at [step 2]" in out and "agree with the reference at every step" not in out
    assert all(fragment in out for fragment in fragments)
    assert "[step 3]" not in out and "layers/linear.py" not in out  # the library's next node is never blamed


def test_trace_of_an_unfinished_exercise_parts_where_it_stops(capsys):
    code, out, _ = call_main(gradcheck.main, capsys, "--trace", "--use", f"{ROOT / 'exercises' / 'relu.py'}:ReLU")
    assert code == 1 and "ReLU.backward is not implemented yet" in out
    assert "They part first at [step 4]" in out


def test_trace_chain_with_a_learners_tanh(capsys, filled):
    code, out, _ = call_main(gradcheck.main, capsys, "--trace", "chain", "--hidden", "4", "--activation", "tanh",
                             "--use", f"{filled / 'tanh.py'}:Tanh")
    assert code == 0 and f"your Tanh ({filled / 'tanh.py'})" in out and "at every step ✓" in out


def test_the_exercises_copied_into_a_working_directory_are_named_relative_to_it(capsys, filled, monkeypatch):
    here = filled.parent / "work"
    shutil.copytree(filled, here / "exercises")
    monkeypatch.chdir(here)
    code, out, _ = call_main(gradcheck.main, capsys, "--trace", "--use", "exercises/sigmoid.py:Sigmoid")
    assert code == 0 and "your Sigmoid (exercises/sigmoid.py)" in out
    assert Path("exercises/sigmoid.py").is_file()


def test_two_classes_of_one_file_come_from_one_import_of_it(tmp_path, capsys):
    from app.learner import load_learner_classes

    mine = tmp_path / "mine.py"
    mine.write_text("import layers\nprint('importing mine.py')\n\n\nclass Linear(layers.Linear):\n    pass\n\n\n"
                    "class ReLU(layers.ReLU):\n    pass\n", encoding="utf-8")
    chosen = load_learner_classes([f"{mine}:Linear", f"{mine}:ReLU"])
    assert capsys.readouterr().out.count("importing mine.py") == 1
    assert chosen["Linear"].cls.__module__ == chosen["ReLU"].cls.__module__


# ---------------------------------------------------------------- your class under your name


def test_a_class_of_any_name_stands_where_the_library_class_after_the_equals_sign_stands(capsys, filled, tmp_path):
    mine = tmp_path / "mine.py"
    mine.write_text((filled / "sigmoid.py").read_text().replace("class Sigmoid", "class MySigmoid"))
    spec = f"{mine}:MySigmoid=Sigmoid"
    code, out, err = call_main(gradcheck.main, capsys, "--use", spec)
    assert code == 0 and "PASSED" in out and "TwoLayerNet 2-3-1" in out, err
    code, out, err = call_main(train.main, capsys, "--use", spec, "--epochs", "2", "--save", tmp_path / "m.npz")
    assert code == 0 and "MySigmoid as Sigmoid" in out and "2-3-1" in out, err
    code, out, err = call_main(gradcheck.main, capsys, "--layer", spec)
    assert code == 0 and "PASSED" in out, err
    code, _, err = call_main(gradcheck.main, capsys, "--use", f"{mine}:MySigmoid=Sigmod")
    assert code == 2 and "no class named 'Sigmod'" in err and "MyClass=Sigmoid" in err


@pytest.mark.parametrize("spec", ["mine.py:My Sigmoid", "mine.py:MySigmoid=", "mine.py:=Sigmoid", "mine.py:A=B=C"])
def test_a_malformed_name_pair_is_refused_by_the_one_parser(tmp_path, spec):
    with pytest.raises(ValueError, match="PATH.py:ClassName=LibraryClass"):
        load_class(f"{tmp_path}/{spec}")
