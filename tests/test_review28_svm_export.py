"""Review of issue 28 (ONNX export and the SVM loss): one network, two answers to "does it have probabilities?".

``train.py --predict`` (``model.predict.proba``) writes ``p_<class>`` columns for a network trained with
``SVMLoss`` (the softmax of its scores: once guessed from the data, as for any loss without a ``proba``, now
``SVMLoss.proba``'s convention), while ``to_onnx`` refused the same network because "its scores have no
probabilities". Fixed: both give the softmax of the scores (``SVMLoss.proba``, and its entry in
``model.onnx_export.NODES``).
"""

import numpy as np
import pytest

from layers import Linear, ReLU, SVMLoss
from model import Sequential, to_onnx


@pytest.fixture
def svm_net(rng):
    X = rng.normal(size=(12, 2))
    net = Sequential([Linear(2, 4, rng=rng), ReLU(), Linear(4, 3, rng=rng)], SVMLoss())
    return net.eval(), X


def test_predict_proba_gives_probabilities_for_an_svm_network(svm_net):
    """The finding's premise: the probabilities --predict writes, rows summing to 1."""
    net, X = svm_net
    p = net.predict_proba(X)
    assert p.shape == (12, 3) and np.allclose(p.sum(axis=1), 1)


def test_export_and_predict_agree_on_whether_an_svm_network_has_probabilities(svm_net, tmp_path):
    pytest.importorskip("onnx")
    net, X = svm_net
    try:
        net.predict_proba(X)
        has_probabilities = True
    except ValueError:
        has_probabilities = False
    try:
        to_onnx(net, tmp_path / "svm.onnx")
        exported = True
    except ValueError:
        exported = False
    assert exported == has_probabilities


def test_svm_loss_proba_is_the_softmax_of_the_scores_ranking_the_classes_as_they_do(rng):
    scores = rng.normal(size=(6, 4)) * 5
    p = SVMLoss().proba(scores)
    shifted = np.exp(scores - scores.max(axis=1, keepdims=True))
    assert np.allclose(p, shifted / shifted.sum(axis=1, keepdims=True))
    assert (p.argmax(axis=1) == scores.argmax(axis=1)).all()


def test_an_svm_networks_probabilities_follow_the_losss_rule_even_when_its_scores_look_like_probabilities():
    """Scores of (0.2, 0.3, 0.5) in every row: non-negative and summing to 1, which a rule guessing from the data
    takes for probabilities already; the loss's own rule gives their softmax."""
    linear = Linear(2, 3, rng=0)
    linear.params["W"][...] = 0.0
    linear.params["b"][...] = [0.2, 0.3, 0.5]
    net = Sequential([linear], SVMLoss()).eval()
    p = net.predict_proba(np.ones((4, 2)))
    expected = np.exp([0.2, 0.3, 0.5]) / np.exp([0.2, 0.3, 0.5]).sum()
    assert np.allclose(p, expected) and not np.allclose(p, [0.2, 0.3, 0.5])


def test_every_library_classification_loss_has_its_own_proba():
    """So ``model.predict.proba`` guesses from the data only for a learner's loss, never for the library's."""
    from model.registry import LIBRARY, named

    classifying = [name for name in named("loss") if LIBRARY[name].target != "values"]
    assert "SVMLoss" in classifying
    assert [name for name in classifying if not callable(getattr(LIBRARY[name], "proba", None))] == []
