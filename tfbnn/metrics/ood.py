"""Out-of-distribution detection: how well an uncertainty score separates
in-distribution inputs from out-of-distribution ones."""
import numpy as np
import scipy.stats

from tfbnn.metrics import _checks

__all__ = ['auroc']


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
    neg = _checks.array('auroc', 'scores_negative', scores_negative, 1)
    pos = _checks.array('auroc', 'scores_positive', scores_positive, 1)
    ranks = scipy.stats.rankdata(np.concatenate([neg, pos]))  # average ranks on ties
    n0, n1 = neg.size, pos.size
    u = np.sum(ranks[n0:]) - n1 * (n1 + 1) / 2.0
    return float(u / (n0 * n1))
