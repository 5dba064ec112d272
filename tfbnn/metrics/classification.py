"""Scores of a classifier's predictive distribution: error rate, Brier score,
and the standard set of metrics, from weight samples or from the predictive's
per-example summaries."""
import numpy as np

from tfbnn.errors import DataError
from tfbnn.metrics import _checks, uncertainty
from tfbnn.metrics.calibration import expected_calibration_error

__all__ = ['error_rate', 'brier_score', 'classification_metrics',
           'predictive_classification_metrics']


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
    p = _checks.probs('brier_score', 'probs', probs, 2)
    y = _checks.labels('brier_score', labels, p.shape[0], p.shape[1])
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
    p = _checks.probs('error_rate', 'probs', probs, 2)
    y = _checks.labels('error_rate', labels, p.shape[0], p.shape[1])
    return float(np.mean(p.argmax(axis=1) != y))


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
      The same as `predictive_classification_metrics` of p_n and the
      mutual information.
    """
    owner = 'classification_metrics'
    _checks.num_bins(owner, num_bins)
    p = _checks.probs(owner, 'sample_probs', sample_probs, 3)
    y = _checks.labels(owner, labels, p.shape[1], p.shape[2])
    return predictive_classification_metrics(p.mean(axis=0), y, uncertainty.mutual_information(p),
                                             num_bins=num_bins)


def predictive_classification_metrics(mean_probs, labels, mutual_information, log_mean_probs=None,
                                      entropy=None, num_bins=15):
    """The metrics of `classification_metrics`, from per-example summaries.

    For a predictive that averages the K weight samples as it goes, such as
    `tfbnn.predictive.classification_predictive` run in batches, so that the
    [K, N, C] sample probabilities are never held at once.

    Args:
      mean_probs: [N, C] array, the predictive p_n = mean_k p(y | x_n, w_k).
      labels: [N] integer labels in [0, C).
      mutual_information: [N] array, the per-example mutual information.
      log_mean_probs: optional [N, C] array, log p_n, e.g. by log-sum-exp
        over the samples (accurate where p_n underflows); None takes
        log(mean_probs).
      entropy: optional [N] array, the entropy of p_n; None computes it
        from `mean_probs`.
      num_bins: positive Python int, bins for the ECE.

    Returns:
      The dict of `classification_metrics`: 'test_error', 'test_nll', 'ece',
      'brier', 'mean_entropy', 'mean_mutual_information' (Python floats).

    Raises:
      DataError, ConfigError (both ValueErrors): on bad inputs.
    """
    owner = 'predictive_classification_metrics'
    _checks.num_bins(owner, num_bins)
    mean_p = _checks.probs(owner, 'mean_probs', mean_probs, 2)
    n, c = mean_p.shape
    y = _checks.labels(owner, labels, n, c)
    mi = _checks.per_example(owner, 'mutual_information', mutual_information, n,
                             non_negative=True)
    if log_mean_probs is None:
        with np.errstate(divide='ignore'):
            log_p_label = np.log(mean_p[np.arange(n), y])
    else:
        log_p = _checks.array(owner, 'log_mean_probs', log_mean_probs, 2)
        if log_p.shape != mean_p.shape:
            raise DataError('%s: log_mean_probs must have the shape of mean_probs %s, got shape %s'
                            % (owner, mean_p.shape, log_p.shape))
        if log_p.max() > _checks.ROUNDING:
            raise DataError('%s: log_mean_probs must be log-probabilities (<= 0), got max %g'
                            % (owner, log_p.max()))
        log_p_label = log_p[np.arange(n), y]
    if entropy is None:
        ent = uncertainty.entropy(mean_p)
    else:
        ent = _checks.per_example(owner, 'entropy', entropy, n, non_negative=True)
    return {
        'test_error': error_rate(mean_p, y),
        'test_nll': float(-np.mean(log_p_label)),
        'ece': expected_calibration_error(mean_p, y, num_bins),
        'brier': brier_score(mean_p, y),
        'mean_entropy': float(np.mean(ent)),
        'mean_mutual_information': float(np.mean(mi)),
    }
