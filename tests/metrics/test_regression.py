"""tfbnn.metrics.regression against scipy, hand computation and the original units."""
import math

import numpy as np
import pytest
import scipy.stats

from tests.metrics.cases import LOG2, assert_raises_value_error
from tfbnn import metrics
from tfbnn.errors import ConfigError, DataError

PHI0 = 1.0 / math.sqrt(2.0 * math.pi)         # N(0; 0, 1)
PHI1 = math.exp(-0.5) / math.sqrt(2.0 * math.pi)  # N(1; 0, 1)


def test_gaussian_log_likelihood_single_sample_is_normal_logpdf():
    y = np.array([0.3, -1.2, 2.0])
    means = np.array([[0.0, -1.0, 0.5]])
    np.testing.assert_allclose(metrics.gaussian_log_likelihood(y, means, 0.7),
                               scipy.stats.norm(means[0], 0.7).logpdf(y), rtol=1e-13)
    std = np.array([0.5, 1.0, 2.0])
    np.testing.assert_allclose(metrics.gaussian_log_likelihood(y, means, std),
                               scipy.stats.norm(means[0], std).logpdf(y), rtol=1e-13)


def test_gaussian_log_likelihood_two_component_mixture():
    # y = 0, means 0 and 1, unit noise: log((N(0; 0, 1) + N(0; 1, 1)) / 2).
    ll = metrics.gaussian_log_likelihood([0.0], [[0.0], [1.0]], 1.0)
    np.testing.assert_allclose(ll, [math.log(0.5 * (PHI0 + PHI1))], rtol=1e-14)
    # Per-sample noise [K, N]: 0.5 N(0.2; 0, 0.5^2) + 0.5 N(0.2; 1, 2^2).
    ll = metrics.gaussian_log_likelihood([0.2], [[0.0], [1.0]], [[0.5], [2.0]])
    expected = math.log(0.5 * scipy.stats.norm(0, 0.5).pdf(0.2) + 0.5 * scipy.stats.norm(1, 2).pdf(0.2))
    np.testing.assert_allclose(ll, [expected], rtol=1e-14)


def test_gaussian_log_likelihood_is_finite_where_densities_underflow():
    # Both densities are 0 in float64; the log is -5000 - log(sqrt(2 pi)) + log(1/2 + ~0).
    ll = metrics.gaussian_log_likelihood([0.0], [[100.0], [200.0]], 1.0)
    np.testing.assert_allclose(ll, [-5000.0 - 0.5 * math.log(2 * math.pi) - LOG2], rtol=1e-14)


def test_rmse_hand_value():
    # Errors 1, -1, 3: sqrt((1 + 1 + 9) / 3).
    assert metrics.rmse([1.0, 2.0, 3.0], [0.0, 3.0, 0.0]) == pytest.approx(math.sqrt(11.0 / 3.0))
    for y, pred in (([1.0, np.nan], [0.0, 1.0]), ([1.0, 2.0], [np.inf, 1.0])):
        with pytest.raises(DataError, match=r'^rmse: y and pred must be finite \(no NaN or inf\)$'):
            metrics.rmse(y, pred)


def test_regression_metrics_are_python_floats_for_float32_normalisation():
    # numpy 2 keeps float32 in float * np.float32: json.dumps would refuse it.
    y = np.array([0.5, -0.5], np.float32)
    out = metrics.regression_metrics(y, y[None] + 0.25, 0.5, np.float32(3.0), np.float32(2.0))
    assert all(type(v) is float for v in out.values()), out
    assert out['rmse'] == pytest.approx(0.5)  # 0.25 x target_std 2


def test_regression_metrics_unit_conversion_by_hand():
    # Normalised: y = [0, 1], samples [[0, 2], [1, 1]], noise 1.
    #   predictive mean [0.5, 1.5], errors 0.5 each -> rmse 0.5; x target_std 2 -> 1.
    #   both examples: log((N(0; 0, 1) + N(0; 1, 1)) / 2); minus log 2 for the units.
    #   var_k(means) = 0.25 for both; total var 1.25; std x 2 = sqrt(5).
    # target_mean shifts everything and changes none of them.
    out = metrics.regression_metrics([0.0, 1.0], [[0.0, 2.0], [1.0, 1.0]], 1.0,
                                     target_mean=5.0, target_std=2.0)
    assert set(out) == {'rmse', 'test_ll', 'predictive_std_mean'}
    assert out['rmse'] == pytest.approx(1.0, abs=1e-14)
    assert out['test_ll'] == pytest.approx(math.log(0.5 * (PHI0 + PHI1)) - LOG2, abs=1e-14)
    assert out['predictive_std_mean'] == pytest.approx(math.sqrt(5.0), abs=1e-14)


def test_regression_metrics_agree_with_metrics_computed_in_original_units():
    rng = np.random.RandomState(2)
    y, means, noise = rng.randn(20), rng.randn(7, 20), rng.uniform(0.3, 1.0, size=(7, 20))
    mean, std = 10.0, 3.5
    out = metrics.regression_metrics(y, means, noise, mean, std)
    ll_orig = metrics.gaussian_log_likelihood(mean + std * y, mean + std * means, std * noise)
    assert out['test_ll'] == pytest.approx(np.mean(ll_orig), rel=1e-12)
    assert out['rmse'] == pytest.approx(
        metrics.rmse(mean + std * y, mean + std * means.mean(axis=0)), rel=1e-12)


@pytest.mark.parametrize('call,error,match', [
    (lambda: metrics.gaussian_log_likelihood([np.inf], [[np.inf]], 1.0), DataError,
     r'^gaussian_log_likelihood: y must be finite, got 1 infinite value\(s\)'),
    (lambda: metrics.regression_metrics([0.0], [[np.inf], [0.0]], 1.0), DataError,
     r'^regression_metrics: sample_means must be finite'),
    (lambda: metrics.gaussian_log_likelihood([0.0, 1.0], [[0.0, 1.0, 2.0]], 1.0), DataError,
     r'sample_means must have shape \[K, 2\] to match y, got shape \(1, 3\)'),
    (lambda: metrics.gaussian_log_likelihood([0.0], [[0.0]], 0.0), DataError,
     'noise_std must be positive and finite, got min 0'),
    (lambda: metrics.gaussian_log_likelihood([0.0, 1.0], [[0.0, 1.0]], [1.0, 1.0, 1.0]), DataError,
     r'noise_std must be a scalar or have shape \[N\], \[K, 1\] or \[K, N\] = \(1, 2\), '
     r'got shape \(3,\)'),
    (lambda: metrics.regression_metrics([0.0], [[0.0]], 1.0, target_std=0.0), ConfigError,
     'target_std must be positive, got 0.0'),
    (lambda: metrics.regression_metrics([0.0], [[0.0]], 1.0, target_mean=float('nan')), ConfigError,
     'target_mean must be a finite number'),
    (lambda: metrics.rmse([1.0, 2.0], [1.0]), DataError,
     r'rmse: y and pred must be non-empty with the same shape, got \(2,\) and \(1,\)'),
])
def test_bad_inputs_raise_value_errors_that_say_what_was_wrong(call, error, match):
    assert_raises_value_error(call, error, match)
