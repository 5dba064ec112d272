"""Evaluation metrics for Bayesian predictions, in numpy.

Every function takes per-example arrays (already computed by running the
graph) and returns numpy values, so the same code scores any model and tests
can check it against hand computation. Shapes: K Monte Carlo weight samples,
N examples, C classes.

  classification: [K, N, C] sample probabilities and [N] integer labels;
  regression: [N] targets and [K, N] sample means, with a noise stddev.

Bad inputs (wrong shapes, labels out of range, negative probabilities) raise
`tfbnn.errors.DataError`, a `ValueError`; bad settings such as `num_bins`
raise `ConfigError`, also a `ValueError`.
"""
import math
import numbers

import numpy as np
import scipy.stats

from tfbnn.errors import ConfigError, DataError

__all__ = ['log_mean_exp', 'predictive_nll', 'entropy', 'mutual_information',
           'reliability_bins', 'expected_calibration_error', 'brier_score', 'error_rate',
           'auroc', 'gaussian_log_likelihood', 'rmse', 'regression_metrics',
           'classification_metrics']

_HALF_LOG_2PI = 0.5 * math.log(2.0 * math.pi)
# Rows of a probability array must sum to 1 within this: loose enough for
# float32 softmax outputs, tight enough to catch logits or a transposed array.
_SUM_TOLERANCE = 1e-3


def _array(owner, name, x, ndim, allow_nan=False):
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


def _probs(owner, name, probs, ndim):
    """Probabilities over the last axis: non-negative, finite, rows sum to 1."""
    p = _array(owner, name, probs, ndim)
    if not np.isfinite(p).all() or (p < 0).any():
        raise DataError('%s: %s must be finite and non-negative, got min %g, max %g'
                        % (owner, name, np.min(p), np.max(p)))
    sums = p.sum(axis=-1)
    worst = np.max(np.abs(sums - 1.0))
    if worst > _SUM_TOLERANCE:
        raise DataError('%s: %s must sum to 1 over the last axis (classes), got row sums '
                        'off by up to %g' % (owner, name, worst))
    return p


def _labels(owner, labels, num_examples, num_classes):
    """[N] integer class labels in [0, num_classes), as int64."""
    y = np.asarray(labels)
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
    return np.squeeze(out, axis=axis)


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
    lp = _array('predictive_nll', 'sample_log_probs_of_label', sample_log_probs_of_label, 2)
    return float(-np.mean(log_mean_exp(lp, axis=0)))


def _entropy(p):
    with np.errstate(divide='ignore', invalid='ignore'):
        terms = np.where(p > 0, p * np.log(p), 0.0)
    return -terms.sum(axis=-1)


def entropy(probs):
    """Entropy of each categorical distribution, in nats.

    Args:
      probs: [N, C] array of probabilities (rows sum to 1).

    Returns:
      [N] `float64` array, H_n = -sum_c p_nc log p_nc with 0 log 0 = 0.
    """
    return _entropy(_probs('entropy', 'probs', probs, 2))


def mutual_information(sample_probs):
    """Mutual information between the label and the weights (BALD), per example.

    Args:
      sample_probs: [K, N, C] array, p(y | x_n, w_k) for K weight samples.

    Returns:
      [N] `float64` array, in nats, >= 0.

    Mathematical details:
      I(y; w | x) = H(mean_k p_k) - mean_k H(p_k): total predictive entropy
      minus the expected entropy of each sample (the aleatoric part), leaving
      the epistemic part. It is 0 when all samples agree and log 2 for two
      opposite one-hot samples. By Jensen it is >= 0; rounding negatives of
      order 1e-16 are clipped to 0.

    References:
      Houlsby, Huszar, Ghahramani, Lengyel (2011). Bayesian Active Learning
        for Classification and Preference Learning. Eq. 2.
      Gal, Islam, Ghahramani (2017). Deep Bayesian Active Learning with Image
        Data. Section 3.
    """
    p = _probs('mutual_information', 'sample_probs', sample_probs, 3)
    mi = _entropy(p.mean(axis=0)) - _entropy(p).mean(axis=0)
    return np.maximum(mi, 0.0)


def _num_bins(owner, num_bins):
    if isinstance(num_bins, bool) or not isinstance(num_bins, numbers.Integral) or num_bins < 1:
        raise ConfigError('%s: num_bins must be a positive integer, got %r' % (owner, num_bins))
    return int(num_bins)


def reliability_bins(probs, labels, num_bins=15):
    """Mean confidence, accuracy and count in equal-width confidence bins.

    Args:
      probs: [N, C] array of predictive probabilities.
      labels: [N] integer labels in [0, C).
      num_bins: positive Python int.

    Returns:
      A tuple `(bin_edges, confidence, accuracy, counts)`: `bin_edges` is
      `float64` [num_bins + 1], `linspace(0, 1, num_bins + 1)`; `confidence`
      and `accuracy` are `float64` [num_bins], NaN for empty bins; `counts`
      is `int64` [num_bins].

    Raises:
      DataError, ConfigError (both ValueErrors): on bad inputs.

    Mathematical details:
      The confidence of example n is max_c p_nc and its prediction the argmax
      (the first class on ties). Bin b holds the examples with
      bin_edges[b] <= confidence < bin_edges[b + 1]; the last bin also
      includes its right edge, so confidence exactly 1.0 goes to the last bin.
      The bin index is found by `searchsorted` on `bin_edges` itself, so an
      example on an edge lands in the bin those returned edges say.
    """
    owner = 'reliability_bins'
    num_bins = _num_bins(owner, num_bins)
    p = _probs(owner, 'probs', probs, 2)
    y = _labels(owner, labels, p.shape[0], p.shape[1])
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, num_bins + 1)
    index = np.clip(np.searchsorted(edges, confidence, side='right') - 1, 0, num_bins - 1)
    counts = np.bincount(index, minlength=num_bins).astype(np.int64)
    with np.errstate(divide='ignore', invalid='ignore'):
        mean_conf = np.bincount(index, weights=confidence, minlength=num_bins) / counts
        accuracy = np.bincount(index, weights=correct, minlength=num_bins) / counts
    mean_conf[counts == 0] = np.nan
    accuracy[counts == 0] = np.nan
    return edges, mean_conf, accuracy, counts


def expected_calibration_error(probs, labels, num_bins=15):
    """Expected calibration error over equal-width confidence bins.

    Args:
      probs: [N, C] array of predictive probabilities.
      labels: [N] integer labels in [0, C).
      num_bins: positive Python int; the bins are those of `reliability_bins`
        (right edge included in the last bin, so confidence 1.0 counts).

    Returns:
      Python float in [0, 1].

    Mathematical details:
      ECE = sum_b (n_b / N) |acc_b - conf_b| over the non-empty bins, with
      acc_b the fraction of correct predictions and conf_b the mean
      confidence in bin b.

    References:
      Naeini, Cooper, Hauskrecht (2015). Obtaining Well Calibrated
        Probabilities Using Bayesian Binning. AAAI.
      Guo, Pleiss, Sun, Weinberger (2017). On Calibration of Modern Neural
        Networks. ICML. Eq. 3.
    """
    _, conf, acc, counts = reliability_bins(probs, labels, num_bins)
    full = counts > 0
    return float(np.sum(counts[full] * np.abs(acc[full] - conf[full])) / counts.sum())


def brier_score(probs, labels):
    """Multi-class Brier score: mean over examples of sum_c (p_c - onehot_c)^2.

    Args:
      probs: [N, C] array of predictive probabilities.
      labels: [N] integer labels in [0, C).

    Returns:
      Python float in [0, 2].

    References:
      Brier (1950). Verification of Forecasts Expressed in Terms of
        Probability. Monthly Weather Review 78(1).
    """
    p = _probs('brier_score', 'probs', probs, 2)
    y = _labels('brier_score', labels, p.shape[0], p.shape[1])
    onehot = np.eye(p.shape[1])[y]
    return float(np.mean(np.sum(np.square(p - onehot), axis=1)))


def error_rate(probs, labels):
    """Fraction of examples whose argmax class (first on ties) is not the label.

    Args:
      probs: [N, C] array of predictive probabilities.
      labels: [N] integer labels in [0, C).

    Returns:
      Python float in [0, 1].
    """
    p = _probs('error_rate', 'probs', probs, 2)
    y = _labels('error_rate', labels, p.shape[0], p.shape[1])
    return float(np.mean(p.argmax(axis=1) != y))


def auroc(scores_negative, scores_positive):
    """Area under the ROC curve, for scores meant to be higher on positives.

    Used for out-of-distribution detection: negatives are in-distribution
    inputs, positives out-of-distribution ones, the score e.g. predictive
    entropy.

    Args:
      scores_negative: [n0] array of finite-or-infinite, non-NaN scores.
      scores_positive: [n1] array, likewise.

    Returns:
      Python float in [0, 1]; 0.5 for an uninformative score.

    Mathematical details:
      AUROC = P(s_pos > s_neg) + 0.5 P(s_pos = s_neg) over all n0 * n1 pairs,
      the Mann-Whitney U statistic divided by n0 n1. With R the ranks of all
      n0 + n1 scores together, tied scores sharing their average rank,
        U = sum_{i positive} R_i - n1 (n1 + 1) / 2,
      which counts each tied pair as exactly 1/2, in O(n log n).

    References:
      Hanley, McNeil (1982). The Meaning and Use of the Area under a Receiver
        Operating Characteristic (ROC) Curve. Radiology 143(1).
    """
    neg = _array('auroc', 'scores_negative', scores_negative, 1)
    pos = _array('auroc', 'scores_positive', scores_positive, 1)
    ranks = scipy.stats.rankdata(np.concatenate([neg, pos]))  # average ranks on ties
    n0, n1 = neg.size, pos.size
    u = np.sum(ranks[n0:]) - n1 * (n1 + 1) / 2.0
    return float(u / (n0 * n1))


def _regression_inputs(owner, y, sample_means, noise_std):
    """Checked [N] targets, [K, N] means and noise_std broadcast to [K, N]."""
    y = _array(owner, 'y', y, 1)
    means = _array(owner, 'sample_means', sample_means, 2)
    if means.shape[1] != y.shape[0]:
        raise DataError('%s: sample_means must have shape [K, %d] to match y, got shape %s'
                        % (owner, y.shape[0], means.shape))
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
        'rmse': rmse(y, means.mean(axis=0)) * target_std,
        'test_ll': float(np.mean(log_lik)) - math.log(target_std),
        'predictive_std_mean': float(np.mean(np.sqrt(total_var))) * target_std,
    }


def classification_metrics(sample_probs, labels, num_bins=15):
    """The standard classification metrics of the MC predictive distribution.

    Args:
      sample_probs: [K, N, C] array, p(y | x_n, w_k) for K weight samples.
      labels: [N] integer labels in [0, C).
      num_bins: positive Python int, bins for the ECE.

    Returns:
      A dict of Python floats, all computed on the predictive mean
      p_n = mean_k p_kn except the mutual information:
        'test_error': `error_rate`;
        'test_nll': -mean_n log p_n(y_n) (inf if some p_n(y_n) is 0);
        'ece': `expected_calibration_error`;
        'brier': `brier_score`;
        'mean_entropy': mean_n of `entropy` (total predictive uncertainty);
        'mean_mutual_information': mean_n of `mutual_information` (epistemic).
    """
    owner = 'classification_metrics'
    p = _probs(owner, 'sample_probs', sample_probs, 3)
    y = _labels(owner, labels, p.shape[1], p.shape[2])
    mean_p = p.mean(axis=0)
    with np.errstate(divide='ignore'):
        nll = -np.mean(np.log(mean_p[np.arange(y.size), y]))
    return {
        'test_error': error_rate(mean_p, y),
        'test_nll': float(nll),
        'ece': expected_calibration_error(mean_p, y, num_bins),
        'brier': brier_score(mean_p, y),
        'mean_entropy': float(np.mean(_entropy(mean_p))),
        'mean_mutual_information': float(np.mean(mutual_information(p))),
    }
