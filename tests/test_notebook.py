"""The notebook ``notebooks/backprop.ipynb``: stored without outputs, and executed by a real kernel both ways.

Untouched, a *Run All* must run every cell: each exercise's check says "Sigmoid.backward is not implemented
yet", the cells that need the learner's layers say they are skipped, and the sections after the exercises (the
deeper network, the two modes) run in full. With each exercise cell followed by the library's answer (as
``tests/test_exercises.py`` fills ``exercises/``), every cell must run, every check pass, the learner's layers
agree with the reference at every step and the pictures show themselves (SVG circuits, HTML reports, PNG plots).

Both runs share one kernel (``executed``): the untouched run goes to the end, and the filled run goes on from
the first exercise cell in the same kernel, as a learner who wrote the answers and ran the cells again would.
Every cell from there on draws its own seeded random numbers, so running one twice gives what running it once
does. Only nbclient, nbformat and ipykernel are needed (the test extra); no browser.
"""

import base64
import copy
import json
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from model.history import History

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOK = ROOT / "notebooks" / "backprop.ipynb"

#: exercise class -> the library layer that answers it, built from the learner's instance ``s``
ANSWERS = {
    "Sigmoid": "_library.Sigmoid()",
    "BCELoss": "_library.BCELoss()",
    "ReLU": "_library.ReLU()",
    "Linear": '_library.Linear(*s.params["W"].shape, bias="b" in s.params)',
    "MaxPool2d": "_library.MaxPool2d(s.kernel_size)",
}
HANDOUT = ("Sigmoid", "BCELoss", "ReLU", "Linear")  # the exercises of section 4, which its later cells need

#: Defined in the kernel before the filled run: the learner's class with its ``backward`` answered by the
#: library's layer, which shares the learner's ``params``/``grads`` dicts (so it fills the learner's grads) and
#: runs forward on the learner's last inputs (so it caches what its backward needs).
FILL_HELPER = '''
import layers as _library


def _answered_by_library(cls, make):
    def forward(self, *inputs):
        self.last_inputs = inputs
        return cls.forward(self, *inputs)

    def backward(self, upstream=1.0):
        reference = make(self)
        reference.params, reference.grads = self.params, self.grads
        reference.forward(*self.last_inputs)
        return reference.backward(upstream)

    return type(cls.__name__, (cls,), {"forward": forward, "backward": backward})
'''

PNG = "image/png"
SVG = "image/svg+xml"
HTML = "text/html"


def read_notebook():
    return nbformat.read(NOTEBOOK, as_version=4)


def cell_index(nb, cell_id):
    return next(i for i, cell in enumerate(nb.cells) if cell.get("id") == cell_id)


def exercise_name(cell):
    """The class an exercise cell defines (``exercise-sigmoid`` defines ``class Sigmoid``); None for other cells."""
    if cell.cell_type != "code" or not cell.get("id", "").startswith("exercise-"):
        return None
    return re.search(r"^class (\w+)", cell.source, re.MULTILINE).group(1)


def filled(nb, start):
    """The cells from ``start`` on, each exercise cell followed by a cell swapping in the library's answer."""
    cells = [nbformat.v4.new_code_cell(FILL_HELPER, id="fill-helper")]
    for cell in copy.deepcopy(nb.cells[start:]):
        cells.append(cell)
        name = exercise_name(cell)
        if name:
            cells.append(nbformat.v4.new_code_cell(
                f"{name} = _answered_by_library({name}, lambda s: {ANSWERS[name]})", id=f"fill-{name.lower()}"))
    return cells


@pytest.fixture(scope="module")
def executed():
    """(the untouched notebook as run, its first error or None, the filled cells as run).

    The filled run goes on from the first exercise only if the untouched run went to the end: otherwise it is None.
    """
    nb = read_notebook()
    first_exercise = cell_index(nb, "exercise-sigmoid")
    client = NotebookClient(nb, timeout=120, kernel_name="python3", shutdown_kernel="immediate",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    error = None
    with client.setup_kernel():
        for index, cell in enumerate(nb.cells):
            try:
                client.execute_cell(cell, index)
            except CellExecutionError as exc:
                error = (index, exc)
                break
        if error is not None:
            return nb, error, None
        client.nb = nbformat.v4.new_notebook(cells=filled(nb, first_exercise), metadata=nb.metadata)
        for index, cell in enumerate(client.nb.cells):
            client.execute_cell(cell, index)  # raises CellExecutionError: the filled run must not fail anywhere
    return nb, error, client.nb.cells


def filled_run(executed):
    """The filled run's cells, once the untouched run reached the exercises."""
    nb, error, cells = executed
    assert cells is not None, f"the untouched run failed at {nb.cells[error[0]].id}: {error[1].evalue}"
    return cells


# ---------------------------------------------------------------- stored


def test_the_notebook_is_stored_without_outputs():
    nb = read_notebook()
    nbformat.validate(nb)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert code and all(cell.outputs == [] and cell.execution_count is None for cell in code)
    assert all("attachments" not in cell for cell in nb.cells)
    assert set(nb.metadata) <= {"kernelspec", "language_info"}  # no widget state, no editor leftovers
    raw = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert all(not cell.get("outputs") for cell in raw["cells"])


def test_every_cell_has_an_id_of_its_own_and_the_exercises_come_in_the_issues_order():
    nb = read_notebook()
    ids = [cell.get("id") for cell in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids)
    names = [name for name in map(exercise_name, nb.cells) if name]
    assert names == [*HANDOUT, "MaxPool2d"]
    for name in names:
        index = cell_index(nb, f"exercise-{name.lower()}")
        assert f'raise NotImplementedError("{name}.backward is not implemented yet")' in nb.cells[index].source
        check = nb.cells[index + 1]  # the next cell checks it
        assert check.id == f"check-{name.lower()}" and f"check_yours({name}(" in check.source


# ---------------------------------------------------------------- executed untouched


def errors(cell):
    return [out for out in cell.get("outputs", []) if out.output_type == "error"]


def test_untouched_run_all_runs_every_cell_and_says_what_waits_for_the_learner(executed):
    nb, error, _ = executed
    assert error is None, f"the untouched run stopped at {nb.cells[error[0]].id}: {error[1].evalue}"
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None and not errors(cell) for cell in code)
    for name in ANSWERS:
        assert f"{name}.backward is not implemented yet" in stdout(outputs_of(nb.cells, f"check-{name.lower()}"))
    for cell_id in ("beside-reference", "train-yours", "regions-yours"):
        said = stdout(outputs_of(nb.cells, cell_id))
        assert "skipped" in said and all(name in said for name in HANDOUT), (cell_id, said)


def test_untouched_the_deeper_network_and_the_two_modes_run(executed):
    nb, _, _ = executed
    assert "2-16-16-3 Tanh, SoftmaxCrossEntropyLoss" in stdout(outputs_of(nb.cells, "deep-build"))
    for cell_id in ("deep-check", "regularization-check"):
        (report,) = data(outputs_of(nb.cells, cell_id), HTML)
        assert "PASSED" in report
    trained = outputs_of(nb.cells, "deep-train")
    assert float(re.search(r"validation accuracy (\S+)", stdout(trained)).group(1)) >= 0.9
    assert data(outputs_of(nb.cells, "deep-regions"), PNG) and "one sample:" in stdout(outputs_of(nb.cells,
                                                                                                 "batchnorm-modes"))


def test_the_notebooks_hints_come_one_tier_at_a_time(executed):
    nb, _, _ = executed
    setup = nb.cells[cell_index(nb, "exercises-setup")].source
    assert "from app.hints import hint" in setup
    assert 'hint("Sigmoid", 1)' in nb.cells[cell_index(nb, "exercises")].source


def outputs_of(cells, cell_id):
    return next(cell for cell in cells if cell.get("id") == cell_id).outputs


def data(outputs, mime):
    return [out.data[mime] for out in outputs if out.output_type in ("execute_result", "display_data")
            and mime in out.data]


def stdout(outputs):
    return "".join(out.text for out in outputs if out.output_type == "stream" and out.name == "stdout")


def test_untouched_the_sections_before_the_exercises_show_their_numbers_and_pictures(executed):
    nb, _, _ = executed
    cells = nb.cells
    assert "df/dx = -4.0, df/dy = -4.0, df/dz = 3.0" in stdout(outputs_of(cells, "warmup-backward"))
    assert "df/dx = -4.0, df/dy = -4.0, df/dz = 3.0" in stdout(outputs_of(cells, "warmup-gates"))
    picture = outputs_of(cells, "warmup-picture")
    assert "df/dx ≈ -4.000000, df/dy ≈ -4.000000, df/dz ≈ 3.000000 ✓" in stdout(picture)
    (svg,) = data(picture, SVG)
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    assert data(outputs_of(cells, "warmup-yours"), SVG)
    assert "Every pattern agrees with centred differences ✓" in stdout(outputs_of(cells, "gate-patterns"))
    assert "da = 2.0, db = 0.0" in stdout(outputs_of(cells, "gates-yours"))
    assert "dx = 1.0" in stdout(outputs_of(cells, "gates-yours"))
    assert "loss = " in stdout(outputs_of(cells, "net-forward"))
    backward = stdout(outputs_of(cells, "net-backward"))
    assert all(f"dℓ/d{name} " in backward for name in ("p", "z", "h", "(X·w1)", "w2", "b", "w1"))
    trace = stdout(outputs_of(cells, "net-trace"))
    assert "[step 5]" in trace and "✗" not in trace
    assert data(outputs_of(cells, "net-picture"), SVG)
    (report,) = data(outputs_of(cells, "net-check"), HTML)
    assert "PASSED" in report and "<table" in report
    before, after = map(float, re.search(r"loss (\S+) -> (\S+)", stdout(outputs_of(cells, "net-step"))).groups())
    assert after < before


def test_untouched_the_convolution_section_traces_checks_and_waits_for_max_pooling(executed):
    nb, _, _ = executed
    traced = outputs_of(nb.cells, "conv-trace")
    text = stdout(traced)
    assert "copy gate: gather the patches" in text and "dℓ/dx (4, 4) =" in text and "✗" not in text
    assert text.count("✓") == 4
    (svg,) = data(traced, SVG)
    assert "<svg" in svg and "patches" in svg
    (report,) = data(outputs_of(nb.cells, "conv-check"), HTML)
    assert "PASSED" in report
    assert "MaxPool2d.backward is not implemented yet" in stdout(outputs_of(nb.cells, "check-maxpool2d"))


# ---------------------------------------------------------------- executed with the library's answers


def test_filled_every_cell_runs_and_prints_nothing_on_stderr(executed):
    cells = filled_run(executed)
    code = [cell for cell in cells if cell.cell_type == "code"]
    assert all(cell.execution_count is not None and not errors(cell) for cell in code)
    stderr = [out.text for cell in code for out in cell.outputs if out.output_type == "stream" and out.name == "stderr"]
    assert stderr == []


@pytest.mark.parametrize("cell_id", ["check-sigmoid", "check-bceloss", "check-relu", "check-linear", "deep-check",
                                     "regularization-check", "conv-check", "check-maxpool2d"])
def test_filled_every_check_passes_and_shows_itself_as_a_table(executed, cell_id):
    cells = filled_run(executed)
    (report,) = data(outputs_of(cells, cell_id), HTML)
    assert "<table" in report and "PASSED" in report and "FAILED" not in report


def test_filled_the_learners_layers_agree_with_the_reference_at_every_step(executed):
    cells = filled_run(executed)
    text = stdout(outputs_of(cells, "beside-reference"))
    assert text.rstrip().endswith("Yours agree with the reference at every step ✓")
    assert "your Sigmoid" in text and "your Linear" in text and "✗" not in text


def png_size(png):
    """(width, height) of base64 PNG data, read from its IHDR chunk."""
    raw = base64.b64decode(png)
    assert raw.startswith(b"\x89PNG\r\n\x1a\n")
    return int.from_bytes(raw[16:20], "big"), int.from_bytes(raw[20:24], "big")


def test_filled_the_network_with_the_learners_layers_learns_and_its_pictures_show(executed):
    cells = filled_run(executed)
    trained = outputs_of(cells, "train-yours")
    accuracy = float(re.search(r"validation accuracy (\S+)", stdout(trained)).group(1))
    assert accuracy >= 0.9
    (curves,) = data(trained, PNG)  # the History draws itself
    (regions,) = data(outputs_of(cells, "regions-yours"), PNG)
    assert min(png_size(curves)) > 100 and min(png_size(regions)) > 100


def test_filled_the_deeper_network_learns_the_spiral(executed):
    cells = filled_run(executed)
    assert "2-16-16-3 Tanh, SoftmaxCrossEntropyLoss" in stdout(outputs_of(cells, "deep-build"))
    trained = outputs_of(cells, "deep-train")
    assert float(re.search(r"validation accuracy (\S+)", stdout(trained)).group(1)) >= 0.9
    assert data(trained, PNG) and data(outputs_of(cells, "deep-regions"), PNG)


def test_filled_dropout_and_batchnorm_show_their_two_modes(executed):
    cells = filled_run(executed)
    dropout = stdout(outputs_of(cells, "dropout-modes"))
    training, evaluation = dropout.split("evaluation:")
    assert "0." in training and "2." in training  # dropped, and the survivors scaled by 1/(1 − p)
    assert set(re.findall(r"\d+\.\d*", evaluation)) == {"1."}
    batchnorm = stdout(outputs_of(cells, "batchnorm-modes"))
    assert "training output: mean" in batchnorm and "one sample:" in batchnorm


# ---------------------------------------------------------------- History's picture


def history(epochs=5, accuracy=True):
    h = History()
    for epoch in range(1, epochs + 1):
        h.record(epoch, {"loss": 1.0 / epoch, "accuracy": 0.5 + 0.1 * epoch if accuracy else None},
                 {"loss": 1.2 / epoch, "accuracy": 0.5 if accuracy else None})
    return h


def test_a_history_shows_itself_as_its_curves_where_matplotlib_is_installed():
    png = history()._repr_png_()
    width, height = png_size(base64.b64encode(png))
    assert width > 2 * height  # two panels side by side: the loss and the accuracy
    regression = history(accuracy=False)._repr_png_()
    width, height = png_size(base64.b64encode(regression))
    assert width < 2 * height  # the loss alone: a regression has no accuracy
    assert History()._repr_png_() is None  # no epochs: the plain text
    assert repr(history()).startswith("History(epoch=[1, 2, 3, 4, 5]")  # the text is what it was


def test_without_matplotlib_a_history_stays_plain_text(monkeypatch):
    assert history()._repr_png_() is not None
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # importing matplotlib now raises ImportError
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    assert history()._repr_png_() is None
