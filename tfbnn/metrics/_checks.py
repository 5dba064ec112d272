"""Internal: the argument checks shared by the `tfbnn.metrics` modules.

Each returns a checked copy (float64 arrays, int64 labels) or raises
`DataError` (bad data) or `ConfigError` (bad settings), both `ValueError`s,
naming the calling function and the argument.
"""
import numbers

import numpy as np

from tfbnn.errors import ConfigError, DataError

# Rows of a probability array must sum to 1 within this: loose enough for
# float32 softmax outputs, tight enough to catch logits or a transposed array.
SUM_TOLERANCE = 1e-3
# How far rounding may carry a quantity that is >= 0 (<= 0 for a log-probability)
# past 0: float32 sums of terms of size ~log C.
ROUNDING = 1e-4


def array(owner, name, x, ndim, allow_nan=False):
    """`x` as a non-empty float64 array with `ndim` dimensions."""
    x = np.asarray(x)
    if x.ndim != ndim:
        raise DataError('%s: %s must have %d dimension(s), got shape %s'
                        % (owner, name, ndim, x.shape))
    if x.size == 0:
        raise DataError('%s: %s must not be empty, got shape %s' % (owner, name, x.shape))
    if x.dtype == np.bool_ or not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise DataError('%s: %s must be numeric, got dtype %s' % (owner, name, x.dtype))
    x = x.astype(np.float64)
    if not allow_nan and np.isnan(x).any():
        raise DataError('%s: %s must not contain NaN, got %d NaN value(s)'
                        % (owner, name, int(np.isnan(x).sum())))
    return x


def per_example(owner, name, x, num_examples, non_negative=False):
    """`x` as a float64 array of shape [num_examples], one value per example;
    with `non_negative`, finite and >= 0 within `ROUNDING` (an entropy or a
    mutual information, which rounding may leave a hair below 0)."""
    x = array(owner, name, x, 1)
    if x.shape != (num_examples,):
        raise DataError('%s: %s must have shape (%d,) to match the probabilities, got shape %s'
                        % (owner, name, num_examples, x.shape))
    if non_negative and (not np.isfinite(x).all() or x.min() < -ROUNDING):
        raise DataError('%s: %s must be finite and >= 0, got min %g, max %g'
                        % (owner, name, x.min(), x.max()))
    return x


def probs(owner, name, p, ndim):
    """Probabilities over the last axis: non-negative, finite, rows sum to 1."""
    p = array(owner, name, p, ndim)
    if not np.isfinite(p).all() or (p < 0).any():
        raise DataError('%s: %s must be finite and non-negative, got min %g, max %g'
                        % (owner, name, np.min(p), np.max(p)))
    sums = p.sum(axis=-1)
    worst = np.max(np.abs(sums - 1.0))
    if worst > SUM_TOLERANCE:
        raise DataError('%s: %s must sum to 1 over the last axis (classes), got row sums '
                        'off by up to %g' % (owner, name, worst))
    return p


def labels(owner, y, num_examples, num_classes):
    """[N] integer class labels in [0, num_classes), as int64."""
    y = np.asarray(y)
    if y.shape != (num_examples,):
        raise DataError('%s: labels must have shape (%d,) to match the probabilities, '
                        'got shape %s' % (owner, num_examples, y.shape))
    integral = np.issubdtype(y.dtype, np.integer) or (
        np.issubdtype(y.dtype, np.floating) and np.all(np.isfinite(y)) and np.all(y == np.round(y)))
    if y.dtype == np.bool_ or not integral:
        raise DataError('%s: labels must be integers, got dtype %s' % (owner, y.dtype))
    if y.min() < 0 or y.max() >= num_classes:
        raise DataError('%s: labels must be in [0, %d), got values in [%d, %d]'
                        % (owner, num_classes, y.min(), y.max()))
    return y.astype(np.int64)


def num_bins(owner, value):
    """A positive Python int number of bins."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ConfigError('%s: num_bins must be a positive integer, got %r' % (owner, value))
    return int(value)
