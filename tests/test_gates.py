import numpy as np
import pytest

from checking.checker import check_function
from layers import Add, Copy, Max, Multiply, ReLU


def test_seed_warm_up_graph_from_gates():
    x, y, z = -2.0, 5.0, -4.0
    add, mul = Add(), Multiply()
    q = add.forward(x, y)
    f = mul.forward(q, z)
    assert q == 3.0 and f == -12.0
    dq, dz = mul.backward(1.0)  # multiply gate: swap and scale
    dx, dy = add.backward(dq)  # add gate: distribute
    assert (dx, dy, dz) == (-4.0, -4.0, 3.0)


def test_warm_up_gradients_match_finite_differences():
    arrays = {"x": np.array(-2.0), "y": np.array(5.0), "z": np.array(-4.0)}
    add, mul = Add(), Multiply()

    def f():
        return float(mul.forward(add.forward(arrays["x"], arrays["y"]), arrays["z"]))

    f()
    dq, dz = mul.backward(1.0)
    dx, dy = add.backward(dq)
    report = check_function(f, arrays, {"x": dx, "y": dy, "z": dz}, check="(x+y)*z")
    assert report.passed and max(r.max_rel_error for r in report.rows) < 1e-9


@pytest.mark.parametrize("shape", [(), (1,), (3, 4)])
def test_binary_gates_closed_forms_and_numerics(rng, shape):
    a, b, g = rng.standard_normal(shape), rng.standard_normal(shape), rng.standard_normal(shape)
    expected = {
        Add: (a + b, g, g),
        Multiply: (a * b, g * b, g * a),
        Max: (np.maximum(a, b), g * (a > b), g * (a <= b)),
    }
    for gate_cls, (out, da, db) in expected.items():
        gate = gate_cls()
        np.testing.assert_array_equal(gate.forward(a, b), out)
        got_a, got_b = gate.backward(g)
        np.testing.assert_array_equal(got_a, da)
        np.testing.assert_array_equal(got_b, db)
        assert np.shape(got_a) == np.shape(a) and np.shape(got_b) == np.shape(b)
        report = _check_gate(gate, a, b, g, {"a": got_a, "b": got_b})
        assert report.passed, report


def _check_gate(gate, a, b, g, analytic):
    """Finite differences of ``sum(gate(a, b) · g)`` against the gate's gradients."""
    arrays = {"a": a.copy(), "b": b.copy()}
    return check_function(lambda: float(np.sum(gate.forward(arrays["a"], arrays["b"]) * g)), arrays, analytic,
                          check=type(gate).__name__)


def test_max_routes_to_the_winner_and_ties_go_to_b():
    gate = Max()
    gate.forward(np.array([3.0, 1.0, 2.0]), np.array([1.0, 3.0, 2.0]))
    da, db = gate.backward(np.array([10.0, 10.0, 10.0]))
    np.testing.assert_array_equal(da, [10.0, 0.0, 0.0])
    np.testing.assert_array_equal(db, [0.0, 10.0, 10.0])


def test_max_against_zero_is_relu(rng):
    x, g = np.array([-1.0, 0.0, 2.0]), np.array([1.0, 2.0, 3.0])
    gate, relu = Max(), ReLU()
    np.testing.assert_array_equal(gate.forward(x, np.zeros(3)), relu.forward(x))
    np.testing.assert_array_equal(gate.backward(g)[0], relu.backward(g))


def test_copy_adds_gradients():
    gate = Copy()
    x1, x2 = gate.forward(np.array([1.0, 2.0]))
    np.testing.assert_array_equal(x1, x2)
    np.testing.assert_array_equal(gate.backward(np.array([1.0, 2.0]), np.array([10.0, 20.0])), [11.0, 22.0])


def test_copy_in_a_graph_matches_numerics():
    # f(x) = x * x through a branch: the two paths' gradients add up to 2x
    arrays = {"x": np.array([1.5, -0.5])}
    copy, mul = Copy(), Multiply()

    def f():
        return float(np.sum(mul.forward(*copy.forward(arrays["x"]))))

    f()
    dx = copy.backward(*mul.backward(np.ones(2)))
    np.testing.assert_allclose(dx, 2 * arrays["x"])
    assert check_function(f, arrays, {"x": dx}).passed


@pytest.mark.parametrize("gate", [Add(), Multiply(), Max()])
def test_gates_refuse_mismatched_shapes(gate):
    with pytest.raises(ValueError, match="same shape"):
        gate.forward(np.ones(3), np.ones((3, 1)))
