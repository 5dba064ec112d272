"""Pruning a trained mean-field posterior by signal-to-noise ratio.

A pruned weight is removed from the posterior itself, not only from its
mean: mu = 0 and sigma = 0, stored as `kernel_loc` = 0 and `kernel_rho` =
-inf (the one value of rho whose scale is exactly 0, see
`tfbnn.layers.dense`). Everything that reads the posterior then sees a
constant zero: the posterior-mean network, every weight draw of the sampled
predictive and the graphs `tfbnn-export` freezes, and a checkpoint saved
after pruning keeps it. (The KL of a pruned weight is infinite: a point mass
against a continuous prior. A pruned network is for inference, not for
further training.)

Mathematical details:
  Blundell et al. (2015), sec. 5.1: rank the weights of every Bayesian kernel
  together by |mu| / sigma and remove the lowest fraction f: one threshold
  t_f, the f-quantile of the ratios over all kernels; a weight with
  |mu| / sigma <= t_f is pruned.

References:
  Blundell, Cornebise, Kavukcuoglu, Wierstra (2015), Weight Uncertainty in
  Neural Networks, sec. 5.1 and Table 2.
"""
import numpy as np

from tfbnn import diagnostics

__all__ = ['signal_to_noise', 'snr_threshold', 'prune_by_snr', 'pruned_fraction']

signal_to_noise = diagnostics.signal_to_noise


def snr_threshold(snrs, fraction):
    """t_f: the `fraction`-quantile of all ratios (-1 when nothing is pruned).

    Args:
      snrs: list of numpy arrays of |mu| / sigma.
      fraction: float in [0, 1).

    Raises:
      ValueError: fraction outside [0, 1) or no ratios at all.
    """
    if not 0.0 <= fraction < 1.0:
        raise ValueError('prune: fraction must be in [0, 1), got %r' % (fraction,))
    everything = np.concatenate([np.ravel(s) for s in snrs]) if snrs else np.zeros([0])
    if not everything.size:
        raise ValueError('prune: the graph has no Bayesian kernels to prune')
    return float(np.quantile(everything, fraction)) if fraction > 0 else -1.0


def prune_by_snr(sess, fraction, scope=None):
    """Prunes the lowest `fraction` of all Bayesian kernel weights by |mu| / sigma.

    Args:
      sess: a `tf.Session` of the default graph, variables initialised or
        restored.
      fraction: f in [0, 1); 0 prunes nothing (weights pruned before stay so).
      scope: optional variable-scope prefix of the layers to consider.

    Returns:
      (number of weights pruned, number of kernel weights, threshold t_f).

    Raises:
      ValueError: fraction outside [0, 1), or no Bayesian kernels.
    """
    pairs = list(diagnostics.kernel_posteriors(scope).values())
    values = [sess.run(pair) for pair in pairs]
    snrs = [signal_to_noise(loc, rho) for loc, rho in values]
    threshold = snr_threshold(snrs, fraction)
    pruned = 0
    for (loc_var, rho_var), (loc, rho), snr in zip(pairs, values, snrs):
        mask = snr <= threshold
        pruned += int(mask.sum())
        loc_var.load(np.where(mask, 0.0, loc).astype(loc.dtype), sess)
        rho_var.load(np.where(mask, -np.inf, rho).astype(rho.dtype), sess)
    return pruned, int(sum(s.size for s in snrs)), threshold


def pruned_fraction(sess, scope=None):
    """The fraction of Bayesian kernel weights that are pruned (rho = -inf)."""
    rhos = [sess.run(rho) for _, rho in diagnostics.kernel_posteriors(scope).values()]
    total = sum(r.size for r in rhos)
    return float(sum(int(np.isneginf(r).sum()) for r in rhos)) / max(total, 1)
