"""``explain_numpy_error`` read straight: the place it names (file and line), the product it finds on a line of
several, the rewriting it offers for each way two matrices can be combined, and what it says when the line
cannot be read. The mistakes are made here, in this file, the way a learner's ``backward`` makes them."""

import inspect
from pathlib import Path

import numpy as np
import pytest

from layers.shape_errors import explain_numpy_error, likely_fix

WHO = "Mine.backward"
HERE = "tests/test_shape_error_explanations.py"
G = np.ones((4, 2))  # a module-level factor: read from the frame's globals


@pytest.fixture(autouse=True)
def _from_the_root(monkeypatch):
    """Places are named relative to the working directory: the project's root, as the suite runs."""
    monkeypatch.chdir(Path(__file__).resolve().parents[1])


def raised(fn, *args):
    try:
        fn(*args)
    except ValueError as exc:
        return exc
    raise AssertionError("no ValueError")


def line_of(fn, text):
    """The line number of the first line of ``fn``'s source holding ``text``."""
    lines, first = inspect.getsourcelines(fn)
    return first + next(i for i, line in enumerate(lines) if text in line)


def matmul_slip(x, W):
    return x @ W


def test_the_place_of_a_failing_product_is_named_with_its_file_and_line():
    exc = raised(matmul_slip, np.ones((4, 3)), np.ones((4, 2)))
    message = explain_numpy_error(exc, WHO, {"grads['W']": (3, 2)})
    assert f"{HERE}:{line_of(matmul_slip, 'x @ W')}" in message
    assert "`x @ W`" in message and "x.T @ W" in message


def written_slip(g, v):
    g[...] = v


def test_a_write_of_the_wrong_shape_names_its_place_and_target():
    exc = raised(written_slip, np.zeros((3, 2)), np.ones((2, 3)))
    message = explain_numpy_error(exc, WHO, {})
    assert f"{HERE}:{line_of(written_slip, 'g[...] = v')}" in message
    assert "(2, 3)" in message and "(3, 2)" in message and "transpose" in message


def element_wise_slip(a, b, s, t, n):
    return s * t, n * a, a * b


def test_an_element_wise_slip_on_a_line_of_several_products_names_the_failing_one():
    exc = raised(element_wise_slip, np.ones((4, 3)), np.ones((4, 2)), np.ones((4, 1)), np.ones((1, 3)), 2)
    message = explain_numpy_error(exc, WHO, {"the input's": (4, 3)})
    assert f"{HERE}:{line_of(element_wise_slip, 'a * b')}" in message
    assert "`a * b`" in message and "(4, 3) and (4, 2)" in message
    assert "s * t" not in message.split("`a * b`")[1] and "`s * t`" not in message


def several_products(v, M, M2, u, S, x, idx):
    return np.dot(v, M), M2 @ u, M @ S, x.take(idx), x.real @ M, x @ G


def test_products_that_compose_are_passed_over_for_the_one_that_fails():
    """1-D factors on either side, a stack of matrices, a one-argument method that is no product, an attribute of
    an array other than ``.T`` (not read) and a global factor: only ``x @ G`` is named."""
    exc = raised(several_products, np.ones(3), np.ones((3, 2)), np.ones((2, 3)), np.ones(3), np.ones((5, 2, 4)),
                 np.ones((4, 3)), np.array([0, 1]))
    message = explain_numpy_error(exc, WHO, {"grads['W']": (3, 2)})
    assert "`x @ G`" in message and "(4, 3) and (4, 2)" in message
    assert "x.T @ G" in message
    for other in ("np.dot(v, M)", "M2 @ u", "M @ S", "x.take(idx)", "x.real @ M"):
        assert f"`{other}`" not in message


def matmul_call(x, W):
    return np.matmul(x, W)


def dot_method(x, W):
    return x.dot(W)


@pytest.mark.parametrize("fn, source", [(matmul_call, "np.matmul(x, W)"), (dot_method, "x.dot(W)")])
def test_a_product_written_as_a_call_is_named(fn, source):
    exc = raised(fn, np.ones((4, 3)), np.ones((4, 2)))
    message = explain_numpy_error(exc, WHO, {"grads['W']": (3, 2)})
    assert f"`{source}`" in message and "(4, 3) and (4, 2)" in message


def factors_unread(a, b):
    return np.asarray(a) @ np.asarray(b)


def test_factors_that_cannot_be_read_give_the_inner_sizes_numpy_reported():
    exc = raised(factors_unread, np.ones((4, 3)), np.ones((4, 2)))
    message = explain_numpy_error(exc, WHO, {"grads['W']": (3, 2)})
    assert "4 and 3" in message and "grads['W'] shape (3, 2)" in message


def test_a_product_no_rewriting_fixes_names_the_shape_the_result_needs():
    exc = raised(matmul_slip, np.ones((4, 3)), np.ones((4, 2)))
    message = explain_numpy_error(exc, WHO, {"out": (5, 5)})
    assert "`x @ W`" in message and "out shape (5, 5)" in message


def test_a_matrix_times_a_vector_that_fails_names_them_without_a_rewriting():
    exc = raised(matmul_slip, np.ones((2, 3)), np.ones(4))
    message = explain_numpy_error(exc, WHO, {"out": (2,)})
    assert "`x @ W`" in message and "(2, 3) and (4,)" in message and "out shape (2,)" in message


# (left shape, right shape, expected shape, the rewriting): each way is the first that fits once (W.T @ x.T and
# x @ W compose exactly when x @ W does, so a failing product is never rewritten as either)
@pytest.mark.parametrize("a, b, want, fix", [
    ((3, 4), (3, 4), (3, 3), "x @ W.T"),
    ((4, 3), (4, 2), (3, 2), "x.T @ W"),
    ((3, 4), (2, 3), (2, 4), "W @ x"),
    ((3, 4), (2, 4), (2, 3), "W @ x.T"),
    ((4, 3), (4, 2), (2, 3), "W.T @ x"),
    ((3, 4), (2, 3), (4, 2), "x.T @ W.T"),
])
def test_each_rewriting_of_a_failing_product_is_offered_when_it_is_the_first_to_fit(a, b, want, fix):
    exc = raised(matmul_slip, np.ones(a), np.ones(b))
    message = explain_numpy_error(exc, WHO, {"grads['W']": want})
    assert f"`{fix}` gives {want}" in message


def written_product(g, x, W):
    g[...] = x @ W


def written_scaled_product(g, x, W):
    g[...] = 2 * (x @ W)


def written_unread_factor(g, x):
    g[...] = x @ np.ones((4, 2))


def test_a_product_written_into_the_wrong_shape_is_rewritten_only_when_it_is_the_whole_value():
    x, W, g = np.ones((3, 4)), np.ones((4, 2)), np.zeros((2, 3))
    message = explain_numpy_error(raised(written_product, g, x, W), WHO, {})
    assert "`W.T @ x.T` has the shape (2, 3)" in message
    scaled = explain_numpy_error(raised(written_scaled_product, g, x, W), WHO, {})
    assert "transpose" in scaled and "W.T @ x.T" not in scaled
    unread = explain_numpy_error(raised(written_unread_factor, g, x), WHO, {})
    assert "transpose" in unread and "(3, 2)" in unread


def test_a_write_no_slip_explains_names_the_shape_it_must_have():
    exc = raised(written_slip, np.zeros((3, 2)), np.ones((5, 7)))
    message = explain_numpy_error(exc, WHO, {})
    assert message.count("(3, 2)") == 2 and "(5, 7)" in message and "None" not in message


def test_a_line_whose_source_cannot_be_read_is_explained_from_numpys_shapes_alone():
    """A class made from a string (a notebook's, an ``exec``'s): no file line to read, no place named."""
    scope = {}
    exec(compile("def slip(g, v):\n    g[...] = v\n", "<learner>", "exec"), scope)  # noqa: S102 — a test's own code
    exc = raised(scope["slip"], np.zeros((3, 2)), np.ones((2, 3)))
    message = explain_numpy_error(exc, WHO, {})
    assert message.split()[0] == WHO and "<learner>" not in message
    assert "(2, 3)" in message and "(3, 2)" in message and "transpose" in message and "None" not in message


def test_an_extra_axis_is_told_to_reshape_to_the_expected_shape():
    assert "(3, 2)" in likely_fix((3, 2, 1), (3, 2))
