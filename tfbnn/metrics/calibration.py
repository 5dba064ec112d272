"""Calibration of a classifier's confidence: reliability bins and the expected
calibration error (ECE)."""
import numpy as np

from tfbnn.metrics import _checks

__all__ = ['reliability_bins', 'expected_calibration_error']


def reliability_bins(probs, labels, num_bins=15):
    """Mean confidence, accuracy and count in equal-width confidence bins.

    Args:
      probs: [N, C] array of predictive probabilities.
      labels: [N] integer labels in [0, C).
      num_bins: positive Python int.

    Returns:
      A tuple `(bin_edges, confidence, accuracy, counts)`: `bin_edges` is
      `float64` [num_bins + 1], b / num_bins each correctly rounded;
      `confidence` and `accuracy` are `float64` [num_bins], NaN for empty
      bins; `counts` is `int64` [num_bins].

    Raises:
      DataError, ConfigError (both ValueErrors): on bad inputs.

    Mathematical details:
      The confidence of example n is max_c p_nc and its prediction the argmax
      (the first class on ties). Bin b holds the examples with
      bin_edges[b] <= confidence < bin_edges[b + 1]; the last bin also
      includes its right edge, so confidence exactly 1.0 goes to the last bin.
      The bin index is found by `searchsorted` on `bin_edges` itself, so an
      example on an edge lands in the bin those returned edges say. Each edge
      is the float nearest b / num_bins (`linspace` is not: its 0.3 is
      0.30000000000000004, which put a confidence of exactly 0.3, as from 10
      one-hot samples, in the bin below), rounded to the probabilities' own
      float type for the comparison (float32's 0.7 opens bin 7 too).
    """
    owner = 'reliability_bins'
    num_bins = _checks.num_bins(owner, num_bins)
    given = np.asarray(probs).dtype
    p = _checks.probs(owner, 'probs', probs, 2)
    y = _checks.labels(owner, labels, p.shape[0], p.shape[1])
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.arange(num_bins + 1) / float(num_bins)
    # Compared at the precision the probabilities came in: float32's 0.7 is
    # 0.69999998..., below float64's 0.7, yet the same tenth.
    at = edges.astype(given).astype(np.float64) if np.issubdtype(given, np.floating) else edges
    index = np.clip(np.searchsorted(at, confidence, side='right') - 1, 0, num_bins - 1)
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
