"""Internal: the KL of a posterior some of whose weights are pruned.

A pruned weight (`tfbnn.pruning`: mu = 0, rho = -inf, so sigma = 0) is a
point mass at 0. Against a continuous prior its KL is infinite, and so is the
gradient of a loss that adds it: a network with pruned weights could not be
trained again. Pruning removes the weight from the model, so its KL term
goes with it: the KL of a layer is the sum over its weights that are kept.

Mathematical details:
  With K the set of kept weights (rho_i > -inf),

    KL(q || p) = sum_{i in K} KL(q_i || p_i),

  evaluated by the prior's own `kl_divergence` on the kept weights alone
  (flattened: [n_kept] means and scales, [S, n_kept] samples), so every
  prior, a user's own included, is covered as long as it is elementwise.
  When no weight is pruned, the prior sees the tensors unchanged: the graph
  of an unpruned network computes exactly what it computed before.

The switch between the two costs a training step time (a `tf.cond` over
every weight, and the zeros its gradient fills in for the branch not taken:
an unpruned MNIST 784-400-400-10 step ran at 0.70 to 0.93 of its speed
without it, benchmarks/bench_pruned_kl.py), so layers build it only in a
graph where `tfbnn.pruning.allow_retraining` was called; elsewhere
`layer_kl` is the prior's own KL.
"""
import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn.graph_keys import GraphKeys

__all__ = []


def layer_kl(prior, loc, scale, rho, samples=None):
    """The KL a Bayesian layer registers: `kept_kl` in a graph that allows
    retraining pruned weights, else the prior's KL over every weight."""
    if tf.get_collection(GraphKeys.PRUNED_RETRAINING):
        return kept_kl(prior, loc, scale, rho, samples)
    return prior.kl_divergence(loc, scale, samples)


def kept_kl(prior, loc, scale, rho, samples=None, name=None):
    """Scalar KL of the weights whose rho is not -inf.

    Args:
      prior: a `tfbnn.priors` prior (elementwise; `kl_divergence(loc, scale,
        samples)`).
      loc, scale, rho: `Tensor`s of one shape: the posterior means, scales
        and the rho the scales come from.
      samples: `Tensor` of shape [S] + loc.shape for a Monte Carlo KL, or None.
      name: optional name scope.

    Returns:
      Scalar `Tensor`: the prior's KL over every weight when none is pruned,
      else over the kept ones only.
    """
    with tf.name_scope(name, 'kept_kl', [loc, scale, rho]):
        pruned = tf.equal(rho, tf.constant(-np.inf, rho.dtype.base_dtype))

        def everything():
            return prior.kl_divergence(loc, scale, samples)

        def kept_only():
            # (indices and a gather rather than tf.boolean_mask, whose TF 1.15
            # version warns of a deprecated tf.where)
            kept = tf.where_v2(tf.logical_not(tf.reshape(pruned, [-1])))[:, 0]
            kept_samples = None
            if samples is not None:
                flat = tf.reshape(samples, [tf.shape(samples)[0], -1])
                kept_samples = tf.gather(flat, kept, axis=1)
            return prior.kl_divergence(tf.gather(tf.reshape(loc, [-1]), kept),
                                       tf.gather(tf.reshape(scale, [-1]), kept), kept_samples)

        return tf.cond(tf.reduce_any(pruned), kept_only, everything)
