"""Predictive uncertainty of a classifier: the entropy of the predictive (total)
and the mutual information between label and weights (epistemic)."""
import numpy as np

from tfbnn.metrics import _checks

__all__ = ['entropy', 'mutual_information']


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
    return _entropy(_checks.probs('entropy', 'probs', probs, 2))


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
    p = _checks.probs('mutual_information', 'sample_probs', sample_probs, 3)
    mi = _entropy(p.mean(axis=0)) - _entropy(p).mean(axis=0)
    return np.maximum(mi, 0.0)
