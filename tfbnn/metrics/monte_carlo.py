"""The Monte Carlo predictive average: log-mean-exp over weight samples and the
predictive NLL it gives."""
import numbers

import numpy as np

from tfbnn.errors import DataError
from tfbnn.metrics import _checks

__all__ = ['log_mean_exp', 'predictive_nll']


def log_mean_exp(a, axis=0):
    """log(mean(exp(a))) along `axis`, without overflow or underflow.

    Args:
      a: array_like of floats; may contain -inf (log of zero).
      axis: Python int, the axis to reduce.

    Returns:
      `float64` array of `a`'s shape without `axis` (a numpy scalar for 1-D).

    Raises:
      DataError (a ValueError): if `a` is empty along `axis` or contains NaN.

    Mathematical details:
      With m = max_k a_k, log((1/K) sum_k exp(a_k)) = m + log(sum_k exp(a_k - m)) - log K.
      Every exp(a_k - m) is in [0, 1] and the largest is 1, so the sum neither
      overflows nor underflows to 0 (a = [-1000, -1000] gives -1000, not -inf).
    """
    a = np.asarray(a, dtype=np.float64)
    if a.ndim and (isinstance(axis, bool) or not isinstance(axis, numbers.Integral)
                   or not -a.ndim <= axis < a.ndim):
        raise DataError('log_mean_exp: axis must be an int in [-%d, %d) for shape %s, got %r'
                        % (a.ndim, a.ndim, a.shape, axis))
    if a.ndim == 0 or a.shape[axis] == 0:
        raise DataError('log_mean_exp: a must have at least one entry along axis %d, got shape %s'
                        % (axis, a.shape))
    if np.isnan(a).any():
        raise DataError('log_mean_exp: a must not contain NaN')
    m = np.max(a, axis=axis, keepdims=True)
    # An all -inf (or +inf) slice has no finite shift; use 0 so exp gives 0 (or inf).
    m = np.where(np.isfinite(m), m, 0.0)
    with np.errstate(divide='ignore'):
        out = np.log(np.mean(np.exp(a - m), axis=axis, keepdims=True)) + m
    return np.squeeze(out, axis=axis)[()]  # ([()]: a numpy scalar, not a 0-d array, for 1-D)


def predictive_nll(sample_log_probs_of_label):
    """Mean negative log predictive probability of the labels.

    Args:
      sample_log_probs_of_label: [K, N] array, log p(y_n | x_n, w_k) for K
        weight samples.

    Returns:
      Python float, the mean over examples (nats).

    Mathematical details:
      NLL = -(1/N) sum_n log((1/K) sum_k p(y_n | x_n, w_k)), the Monte Carlo
      posterior predictive; the average over k is taken on probabilities
      (with `log_mean_exp`), not on log probabilities.
    """
    lp = _checks.array('predictive_nll', 'sample_log_probs_of_label',
                       sample_log_probs_of_label, 2)
    return float(-np.mean(log_mean_exp(lp, axis=0)))
