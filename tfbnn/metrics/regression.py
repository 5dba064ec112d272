"""Regression under a Gaussian likelihood: the log predictive density of the
Monte Carlo mixture, the RMSE, and both in the targets' original units."""
import math
import numbers

import numpy as np

from tfbnn.errors import ConfigError, DataError
from tfbnn.metrics import _checks
from tfbnn.metrics.monte_carlo import log_mean_exp

__all__ = ['gaussian_log_likelihood', 'rmse', 'regression_metrics']

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)


def _regression_inputs(owner, y, sample_means, noise_std):
    """Checked [N] targets, [K, N] means and noise_std broadcast to [K, N]."""
    y = _checks.array(owner, 'y', y, 1)
    means = _checks.array(owner, 'sample_means', sample_means, 2)
    if means.shape[1] != y.shape[0]:
        raise DataError('%s: sample_means must have shape [K, %d] to match y, got shape %s'
                        % (owner, y.shape[0], means.shape))
    for name, values in (('y', y), ('sample_means', means)):
        if not np.isfinite(values).all():
            raise DataError('%s: %s must be finite, got %d infinite value(s)'
                            % (owner, name, int(np.isinf(values).sum())))
    noise = np.asarray(noise_std, dtype=np.float64)
    try:
        noise = np.broadcast_to(noise, means.shape)
    except ValueError:
        raise DataError('%s: noise_std must be a scalar or have shape [N], [K, 1] or [K, N] '
                        '= %s, got shape %s' % (owner, means.shape, noise.shape))
    if not (np.isfinite(noise).all() and (noise > 0).all()):
        raise DataError('%s: noise_std must be positive and finite, got min %g'
                        % (owner, np.min(noise)))
    return y, means, noise


def gaussian_log_likelihood(y, sample_means, noise_std):
    """Log predictive density of each target under the Gaussian MC mixture.

    Args:
      y: [N] targets.
      sample_means: [K, N] predicted means, one row per weight sample.
      noise_std: positive observation-noise stddev; a scalar or an array of
        shape [N], [K, 1] or [K, N] (anything that broadcasts to [K, N]).

    Returns:
      [N] `float64` array of log p(y_n | x_n).

    Mathematical details:
      p(y_n | x_n) ~= (1/K) sum_k N(y_n; mu_kn, s_kn^2), an equal-weight
      mixture, so log p = log_mean_exp_k(-(y_n - mu_kn)^2 / (2 s_kn^2)
      - log s_kn - log(2 pi) / 2), finite even where every density underflows.
    """
    y, means, noise = _regression_inputs('gaussian_log_likelihood', y, sample_means, noise_std)
    z = (y[np.newaxis, :] - means) / noise
    return log_mean_exp(-0.5 * np.square(z) - np.log(noise) - _HALF_LOG_2PI, axis=0)


def rmse(y, pred):
    """Root mean squared error between two arrays of the same shape.

    Args:
      y: array of targets, non-empty.
      pred: array of predictions, `y`'s shape.

    Returns:
      Python float.
    """
    y = np.asarray(y, dtype=np.float64)
    pred = np.asarray(pred, dtype=np.float64)
    if y.shape != pred.shape or y.size == 0:
        raise DataError('rmse: y and pred must be non-empty with the same shape, got %s and %s'
                        % (y.shape, pred.shape))
    if not (np.isfinite(y).all() and np.isfinite(pred).all()):
        raise DataError('rmse: y and pred must be finite (no NaN or inf)')
    return float(np.sqrt(np.mean(np.square(y - pred))))


def regression_metrics(y, sample_means, noise_std, target_mean=0.0, target_std=1.0):
    """RMSE, test log-likelihood and predictive stddev in the original units.

    Args:
      y: [N] targets in normalised units, (y_orig - target_mean) / target_std.
      sample_means: [K, N] predicted means in normalised units.
      noise_std: normalised noise stddev, as for `gaussian_log_likelihood`.
      target_mean: the mean subtracted when normalising. Every metric here is
        invariant to a shift, so it only documents the normalisation (and is
        checked to be finite).
      target_std: positive float, the stddev divided out when normalising.

    Returns:
      A dict of Python floats:
        'rmse': RMSE of the predictive mean mean_k mu_kn, original units;
        'test_ll': mean log predictive density, original units;
        'predictive_std_mean': mean over n of the predictive stddev, original units.

    Mathematical details:
      With y_orig = target_mean + target_std * y, errors scale by target_std
      and densities by 1 / target_std, so
        rmse_orig = target_std * rmse,  ll_orig = ll - log(target_std)
      (the UCI protocol of Hernandez-Lobato & Adams 2015). The predictive
      variance of the mixture is, by the law of total variance,
        var_n = var_k(mu_kn) + mean_k s_kn^2   (var_k with divisor K),
      and predictive_std_mean = target_std * mean_n sqrt(var_n).

    References:
      Hernandez-Lobato, Adams (2015). Probabilistic Backpropagation for
        Scalable Learning of Bayesian Neural Networks. ICML. Section 5.
    """
    owner = 'regression_metrics'
    for name, value in (('target_mean', target_mean), ('target_std', target_std)):
        if (isinstance(value, bool) or not isinstance(value, numbers.Real)
                or not math.isfinite(value)):
            raise ConfigError('%s: %s must be a finite number, got %r' % (owner, name, value))
    if not target_std > 0:
        raise ConfigError('%s: target_std must be positive, got %r' % (owner, target_std))
    y, means, noise = _regression_inputs(owner, y, sample_means, noise_std)
    log_lik = gaussian_log_likelihood(y, means, noise)
    total_var = means.var(axis=0) + np.mean(np.square(noise), axis=0)
    return {
        'rmse': rmse(y, means.mean(axis=0)) * float(target_std),
        'test_ll': float(np.mean(log_lik)) - math.log(target_std),
        'predictive_std_mean': float(np.mean(np.sqrt(total_var))) * float(target_std),
    }
