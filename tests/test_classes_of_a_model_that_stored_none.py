"""A model saved without classes (built by hand) knows 0 .. K − 1 alike in ``--evaluate`` and ``--predict``."""

import train
from layers import Linear, SoftmaxCrossEntropyLoss
from model import Sequential

from .conftest import call_main


def test_evaluate_and_predict_agree_on_the_classes_of_a_model_that_stored_none(tmp_path, capsys):
    model, data = tmp_path / "m.npz", tmp_path / "d.csv"
    Sequential([Linear(2, 3, rng=0)], SoftmaxCrossEntropyLoss()).save(model)
    data.write_text("a,b,label\n1,2,0\n3,4,1\n5,6,2\n")
    code, out, err = call_main(train.main, capsys, "--evaluate", str(model), "--data", str(data))
    assert code == 0 and "n 3" in out, err
    code, out, err = call_main(train.main, capsys, "--predict", str(model), "--data", str(data),
                               "--out", str(tmp_path / "p.csv"))
    assert code == 0, err
    assert (tmp_path / "p.csv").read_text().splitlines()[0] == "predicted,p_0,p_1,p_2"
