"""A gradient stored under a key with no parameter (``grads["dW"]`` beside ``params["W"]``) is named, with its keys,
by the checker, the trace and the network alike (``layers.protocol.same_keys``), never "a path's gradient is
missing"."""

import numpy as np
import pytest

import gradcheck
import train
from checking.checker import check_layer
from layers.protocol import LayerError

from .conftest import call_main
from .test_train_use import filled

WRONG_KEY = ['self.grads["dW"] = self.cache.T @ upstream', 'if "b" in self.params:',
             '    self.grads["b"][...] = upstream.sum(axis=0)', 'return upstream @ self.params["W"].T']


@pytest.fixture
def spec(tmp_path):
    return f"{filled(tmp_path, 'linear.py', WRONG_KEY)}:Linear"


def test_the_checker_names_the_key(spec):
    from layers.user_code import load_class

    with pytest.raises(LayerError, match=r"grads has keys \['W', 'b', 'dW'\], its params \['W', 'b'\]"):
        check_layer(load_class(spec)(5, 3), np.ones((4, 5)))


@pytest.mark.parametrize("main, argv", [(gradcheck.main, ("--layer",)), (gradcheck.main, ("--use",)),
                                        (gradcheck.main, ("--trace", "--use")), (train.main, ("--use",))])
def test_every_path_names_the_key(capsys, tmp_path, spec, main, argv):
    extra = ("--save", tmp_path / "m.npz") if main is train.main else ()
    _, out, err = call_main(main, capsys, *argv, spec, *extra)
    assert "'dW'" in out + err and "a path's gradient is missing" not in out + err
