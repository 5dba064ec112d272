"""tfbnn.metrics.uncertainty: entropy and mutual information against hand values."""
import math

import numpy as np
import pytest

from tests.metrics.cases import LOG2, assert_raises_value_error
from tfbnn import metrics
from tfbnn.errors import DataError


@pytest.mark.parametrize('num_classes', [2, 3, 10])
def test_entropy_of_uniform_is_log_c(num_classes):
    probs = np.full((2, num_classes), 1.0 / num_classes)
    np.testing.assert_allclose(metrics.entropy(probs), [math.log(num_classes)] * 2, rtol=1e-14)


def test_entropy_treats_zero_log_zero_as_zero():
    probs = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.25, 0.25, 0.5]])
    # -(2 * 0.25 log 0.25 + 0.5 log 0.5) = log 4 / 2 + log 2 / 2 = 1.5 log 2.
    np.testing.assert_allclose(metrics.entropy(probs), [0.0, LOG2, 1.5 * LOG2], rtol=1e-14, atol=0)


def test_mutual_information_is_zero_when_samples_agree():
    p = np.array([[0.2, 0.3, 0.5], [0.7, 0.2, 0.1]])
    mi = metrics.mutual_information(np.stack([p, p, p]))
    assert mi.shape == (2,)
    assert np.all(mi >= 0.0)  # rounding negatives are clipped
    np.testing.assert_allclose(mi, 0.0, atol=1e-15)


def test_mutual_information_hand_values():
    # Example 0: opposite one-hot samples, H(mean) = log 2, each H = 0.
    # Example 1: samples [0.5, 0.5] and [1, 0]: mean [0.75, 0.25],
    #   MI = -(0.75 log 0.75 + 0.25 log 0.25) - (log 2 + 0) / 2.
    sample_probs = np.array([[[1.0, 0.0], [0.5, 0.5]],
                             [[0.0, 1.0], [1.0, 0.0]]])
    expected_1 = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25)) - LOG2 / 2.0
    np.testing.assert_allclose(metrics.mutual_information(sample_probs), [LOG2, expected_1],
                               rtol=1e-14)


@pytest.mark.parametrize('call,error,match', [
    (lambda: metrics.entropy([[1.2, -0.2]]), DataError,
     'entropy: probs must be finite and non-negative, got min -0.2'),
    (lambda: metrics.entropy([[0.5, 0.6]]), DataError,
     'probs must sum to 1 over the last axis'),
    (lambda: metrics.mutual_information([[0.5, 0.5]]), DataError,
     r'sample_probs must have 3 dimension\(s\), got shape \(1, 2\)'),
])
def test_bad_inputs_raise_value_errors_that_say_what_was_wrong(call, error, match):
    assert_raises_value_error(call, error, match)
