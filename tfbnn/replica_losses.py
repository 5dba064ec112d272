"""The ELBO of one replica when W workers share the variables.

Mathematical details:
  Single-process training with global batch G = W B (`tfbnn.losses.elbo`)
  minimises, at step s, on the global batch S_s of n_s examples
  (n_s = G except for a short last batch of an epoch):

    per_example:  L = (1/n_s) sum_{b in S_s} nll_b + KL / N
    per_batch:    L = sum_{b in S_s} nll_b + KL / M_G,   M_G = ceil(N / G)
    blundell:     L = sum_{b in S_s} nll_b + pi_i KL,    i = (s mod M_G) + 1

  (all KL coefficients times beta and the warm-up ramp at step s).

  With W synchronous workers, worker w sees the part S_s^w of S_s (the S_s^w
  partition S_s) and `tf.train.SyncReplicasOptimizer` applies the *mean* of
  the W worker gradients. Worker w therefore minimises

    L_w = W c_s sum_{b in S_s^w} nll_b + k_s KL

  with c_s = 1/n_s (per_example) or 1 (per_batch, blundell) and k_s the
  single-process coefficient of batch G at the same step s (1/N, 1/M_G or
  pi_i, times beta and warm-up). Then

    (1/W) sum_w L_w = c_s sum_{b in S_s} nll_b + k_s KL = L

  exactly, for every scheme, also for a short last batch (the sizes of the
  S_s^w may differ, even be 0): the NLL is counted once and the KL, a
  function of the shared variables, once, not W times. The gradients agree
  for the same reason (the mean of the gradients is the gradient of the
  mean). The KL per example is that of single-process training with batch
  W B; M_G and pi_i use epochs of ceil(N / (W B)) global steps, and blundell
  and warm-up follow the shared global step.

  Asynchronous workers apply each L_w on its own; each is an unbiased
  estimate of L (W c_s sum over a random 1/W of S_s), so every update is a
  noisier step on the single-process batch-G objective, taken at possibly
  stale weights (Dean et al. 2012). The step s passed here is then the
  round, global_step // W, as W updates make one pass over S_s.

References:
  Blundell et al. (2015). Weight Uncertainty in Neural Networks. Eq. 8, 9.
  Chen et al. (2016). Revisiting Distributed Synchronous SGD (backup-free
    synchronous aggregation, as in SyncReplicasOptimizer).
  Dean et al. (2012). Large Scale Distributed Deep Networks (Downpour SGD).
"""
import tensorflow.compat.v1 as tf

from tfbnn import losses
from tfbnn.errors import ConfigError
from tfbnn.internal.arg_checks import check_integer_scalar

__all__ = ['replica_elbo']


def replica_elbo(nll, num_examples, global_batch_size, num_replicas, global_batch_count,
                 scheme='per_example', kl_weight=1.0, warmup_steps=0, step=None, scope=None,
                 collection=None, name=None):
    """Worker w's share L_w of the single-process batch-G ELBO; see the module docstring.

    Args:
      nll: float `Tensor` `[batch_w]` or `[num_samples, batch_w]`: the NLL of
        this worker's examples (sample axis averaged).
      num_examples: positive Python int N.
      global_batch_size: positive Python int G = W B, a multiple of W.
      num_replicas: positive Python int W (gradients averaged per update).
      global_batch_count: integer scalar `Tensor` n_s, the examples in the
        whole global batch of this step (G, or fewer for the last batch).
      scheme, kl_weight, warmup_steps: as for `tfbnn.losses.elbo`.
      step: integer scalar `Tensor`, the step s of the single-process
        schedule (the global step when synchronous, global_step // W when
        asynchronous). Needed by 'blundell' and warm-up.
      scope, collection: the KL collection filter, as for `elbo`.
      name: op name.

    Returns:
      `tfbnn.losses.Elbo` of L_w; its `nll_term` is W c_s sum nll_b.

    Raises:
      ConfigError (a ValueError): for invalid arguments (the checks of
      `tfbnn.losses.elbo` and W, G), or in eager mode.
    """
    for what, value in (('global_batch_size', global_batch_size),
                        ('num_replicas', num_replicas)):
        losses._check_int('replica_elbo', what, value, minimum=1)
    if global_batch_size < num_replicas or global_batch_size % num_replicas:
        raise ConfigError('replica_elbo: global_batch_size (%d) must be a multiple of '
                          'num_replicas (%d): G = W B, B examples per worker'
                          % (global_batch_size, num_replicas))
    if isinstance(global_batch_count, (tf.Tensor, tf.Variable)):
        check_integer_scalar('replica_elbo', 'global_batch_count', global_batch_count,
                             'an integer scalar (the examples in the global batch)')
    else:
        losses._check_int('replica_elbo', 'global_batch_count', global_batch_count, minimum=1)

    def nll_term(nll):
        per_example = nll if nll.shape.ndims == 1 else tf.reduce_mean(nll, 0)
        nll_sum = float(num_replicas) * tf.reduce_sum(per_example)
        if scheme == 'per_example':
            return nll_sum / tf.cast(global_batch_count, nll.dtype)
        return nll_sum

    return losses._assemble_elbo(  # pylint: disable=protected-access
        'tfbnn.replica_losses.replica_elbo', nll, nll_term, num_examples, global_batch_size,
        scheme, kl_weight, warmup_steps, step, scope, collection, name,
        values=[global_batch_count], nll_batch=global_batch_size // num_replicas)
