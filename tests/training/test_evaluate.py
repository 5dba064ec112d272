"""tfbnn/training/evaluate.py: validation scores from the predictive's outputs."""
import math

import numpy as np
import pytest

from tfbnn.training import evaluate


class _Split(object):
    def __init__(self, x_val, y_val, task='classification'):
        self.x_val, self.y_val, self.task, self.name = x_val, y_val, task, 'fixture'


def test_validation_scores_against_hand_values():
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.7, 0.3], [0.2, 0.8]])
    labels = np.array([0, 0, 0, 1])
    pred = dict(mean_probs=probs, log_mean_probs=np.log(probs),
                mutual_information=np.zeros(4), entropy=-np.sum(probs * np.log(probs), 1))
    scores = evaluate.validation_metrics(None, None, _Split(np.zeros((4, 1)), labels), None, pred)
    assert scores['val_error'] == pytest.approx(0.25)  # the second is wrong
    assert scores['val_nll'] == pytest.approx(-(math.log(0.9) + math.log(0.4) + math.log(0.7)
                                                + math.log(0.8)) / 4, rel=1e-12)
    assert scores['val_confidence'] == pytest.approx((0.9 + 0.6 + 0.7 + 0.8) / 4)
    # 15 bins of width 1/15: confidences 0.6 (wrong) | 0.7 (right) | 0.8 (right) | 0.9 (right)
    # each alone in its bin: ECE = (0.6 + 0.3 + 0.2 + 0.1) / 4
    assert scores['val_ece'] == pytest.approx((0.6 + 0.3 + 0.2 + 0.1) / 4, rel=1e-9)


def test_no_validation_split_is_an_error():
    with pytest.raises(ValueError, match="dataset 'fixture' has no validation split"):
        evaluate.validation_metrics(None, None, _Split(None, None), None, {})
