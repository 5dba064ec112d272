"""tfbnn.metrics.monte_carlo: log_mean_exp and predictive_nll against hand values."""
import math

import numpy as np
import pytest

from tests.metrics.cases import LOG2
from tfbnn import metrics
from tfbnn.errors import DataError


def test_log_mean_exp_hand_values():
    # mean(exp([0, log 3])) = (1 + 3) / 2 = 2.
    assert metrics.log_mean_exp(np.array([0.0, math.log(3.0)])) == pytest.approx(LOG2, abs=1e-15)
    assert isinstance(metrics.log_mean_exp([0.0, 1.0]), np.float64)  # a scalar, not a 0-d array
    a = np.array([[0.0, math.log(3.0)], [math.log(5.0), math.log(7.0)]])
    np.testing.assert_allclose(metrics.log_mean_exp(a, axis=1), [LOG2, LOG2 + math.log(3.0)],
                               rtol=1e-14)
    np.testing.assert_allclose(metrics.log_mean_exp(a, axis=0),
                               [math.log(3.0), math.log(5.0)], rtol=1e-14)


def test_log_mean_exp_is_stable_for_very_negative_and_infinite_values():
    # A naive log(mean(exp(a))) gives log(0) = -inf for all of these.
    assert metrics.log_mean_exp(np.array([-1000.0, -1000.0])) == pytest.approx(-1000.0, abs=1e-12)
    # (1 + 3) / 2 = 2 again, shifted by -1000.
    value = metrics.log_mean_exp(np.array([-1000.0, -1000.0 + math.log(3.0)]))
    assert value == pytest.approx(-1000.0 + LOG2, abs=1e-12)
    # One zero probability among two: log(0.5 e^-1000).
    assert metrics.log_mean_exp(np.array([-np.inf, -1000.0])) == pytest.approx(-1000.0 - LOG2)
    assert metrics.log_mean_exp(np.array([-np.inf, -np.inf])) == -np.inf
    # And no overflow at the top either.
    assert metrics.log_mean_exp(np.array([1000.0, 1000.0])) == pytest.approx(1000.0)


def test_log_mean_exp_rejects_empty_axis():
    with pytest.raises(DataError, match='at least one entry along axis 0'):
        metrics.log_mean_exp(np.zeros((0, 3)))
    for axis in (2, -3, 0.0, True):
        with pytest.raises(DataError, match=r'^log_mean_exp: axis must be an int in \[-2, 2\) for '
                                            r'shape \(2, 3\), got %s$' % axis):
            metrics.log_mean_exp(np.zeros((2, 3)), axis=axis)
    assert metrics.log_mean_exp(np.zeros((2, 3)), axis=-1).shape == (2,)


def test_predictive_nll_averages_probabilities_not_log_probabilities():
    # Samples give p(y_0) in {0.2, 0.4} and p(y_1) in {0.9, 0.5}: means 0.3, 0.7.
    lp = np.log(np.array([[0.2, 0.9], [0.4, 0.5]]))
    expected = -(math.log(0.3) + math.log(0.7)) / 2.0
    assert metrics.predictive_nll(lp) == pytest.approx(expected, rel=1e-14)
    assert metrics.predictive_nll(lp) < -np.mean(lp)  # Jensen: strictly better here


def test_predictive_nll_rejects_wrong_rank():
    with pytest.raises(DataError,
                       match=r'predictive_nll: .* must have 2 dimension\(s\), got shape \(3,\)'):
        metrics.predictive_nll([0.1, 0.2, 0.3])
