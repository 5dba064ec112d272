"""Pruning a trained mean-field posterior by signal-to-noise ratio.

A pruned weight is removed from the posterior itself, not only from its
mean: mu = 0 and sigma = 0, stored as `kernel_loc` = 0 and `kernel_rho` =
-inf (the one value of rho whose scale is exactly 0, see
`tfbnn.layers.dense`). Everything that reads the posterior then sees a
constant zero: the posterior-mean network, every weight draw of the sampled
predictive and the graphs `tfbnn-export` freezes, and a checkpoint saved
after pruning keeps it.

A pruned network can also be trained again (prune, then fine-tune the rest).
Against a continuous prior a point mass has an infinite KL, so in a graph
where `allow_retraining` was called before the model was built, the layers
leave pruned weights out of their KL (`tfbnn.internal.pruned_kl`); and
`freeze_pruned` zeroes the gradient of a pruned weight's mean, so under any
optimizer whose slots start at zero it stays exactly 0 (its rho, at -inf,
gets a zero gradient already: d softplus(rho) / d rho = sigmoid(-inf) = 0).
The training job does both with `--warm-start RUN --prune-fraction F`.
Without `allow_retraining` the KL of a pruned network is infinite: fine for
inference, which never computes it.

Mathematical details:
  Blundell et al. (2015), sec. 5.1: rank the weights of every Bayesian kernel
  together by |mu| / sigma and remove the lowest fraction f: one threshold
  t_f, the f-quantile of the ratios over all kernels; a weight with
  |mu| / sigma <= t_f is pruned (of weights tied at t_f, only as many as
  keep the count at the fraction asked).

References:
  Blundell, Cornebise, Kavukcuoglu, Wierstra (2015), Weight Uncertainty in
  Neural Networks, sec. 5.1 and Table 2.
"""
import numbers

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn import diagnostics
from tfbnn.errors import ConfigError
from tfbnn.graph_keys import GraphKeys
from tfbnn.internal.compat import require_graph_mode
from tfbnn.internal.own_variables import graph_variables

__all__ = ['signal_to_noise', 'snr_threshold', 'prune_by_snr', 'prepare_pruning',
           'pruned_fraction', 'allow_retraining', 'freeze_pruned']

signal_to_noise = diagnostics.signal_to_noise


def snr_threshold(snrs, fraction):
    """t_f: the `fraction`-quantile of all ratios (-1 when nothing is pruned).

    Args:
      snrs: list of numpy arrays of |mu| / sigma.
      fraction: float in [0, 1).

    Raises:
      ValueError: fraction outside [0, 1) or no ratios at all.
    """
    if (isinstance(fraction, (bool, np.bool_)) or not isinstance(fraction, numbers.Real)
            or not 0.0 <= fraction < 1.0):
        raise ValueError('prune: fraction must be a number in [0, 1), got %r' % (fraction,))
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
      scope: optional variable scope of the layers to consider, matched at a
        '/' ('net' ranks and prunes 'net/...', never 'net_1/...'; see
        `tfbnn.losses.get_kl_losses`).

    Returns:
      (number of kernel weights pruned after the call, those pruned before
      included; number of kernel weights; threshold t_f, numpy's
      interpolated f-quantile, which may fall between two weights' ratios).

    Raises:
      ValueError: fraction outside [0, 1), or no Bayesian kernels.
    """
    require_graph_mode('tfbnn.pruning.prune_by_snr')
    pairs = list(diagnostics.kernel_posteriors(scope).values())
    if not pairs:
        raise ValueError('prune: the graph has no Bayesian kernels to prune%s'
                         % ('' if scope is None else " under the scope '%s'" % scope))
    values = [sess.run(pair) for pair in pairs]
    snrs = [signal_to_noise(loc, rho) for loc, rho in values]
    threshold = snr_threshold(snrs, fraction)
    pruned = 0
    before = [np.isneginf(rho) for _, rho in values]
    masks = _lowest(snrs, before, fraction, threshold)
    for (loc_var, rho_var), (loc, rho), mask, was in zip(pairs, values, masks, before):
        pruned += int((mask | was).sum())
        _store(sess, loc_var, np.where(mask, 0.0, loc).astype(loc.dtype))
        _store(sess, rho_var, np.where(mask, -np.inf, rho).astype(rho.dtype))
    return pruned, int(sum(s.size for s in snrs)), threshold


def _lowest(snrs, before, fraction, threshold):
    """Masks of the weights to prune: the k = floor(f (n - 1)) + 1 lowest ratios
    of all n (none for f = 0): every ratio below t_f, then ratios equal to
    t_f, those pruned before first, until there are k. Without ties that is
    every ratio <= t_f; with them (many identical weights) no more than the
    fraction asked, unless more were pruned before."""
    flat = np.concatenate([np.ravel(s) for s in snrs])
    mask = flat < threshold
    if fraction > 0:
        k = int(np.floor(fraction * (flat.size - 1))) + 1
        ties = np.flatnonzero(flat == threshold)
        pruned_before = np.concatenate([np.ravel(b) for b in before])[ties]
        ties = ties[np.argsort(~pruned_before, kind='stable')]
        mask[ties[:max(k - int(mask.sum()), 0)]] = True
    bounds = np.cumsum([s.size for s in snrs])[:-1]
    return [m.reshape(s.shape) for m, s in zip(np.split(mask, bounds), snrs)]


def _store(sess, variable, value):
    """Assigns a numpy value to `variable` (`_store_input`)."""
    value_in = _store_input(variable)
    sess.run(value_in.consumers()[0], {value_in: value})


def _store_input(variable):
    """The placeholder an assignment to `variable` is fed through (not
    `Variable.load`, which needs the variable's own initialiser: a warm start
    replaces that): built once per variable, as `<variable>/tfbnn_store/value`,
    and found again by name, so pruning again adds nothing to the graph."""
    graph = variable.graph
    scope = variable.op.name + '/tfbnn_store/'
    try:
        return graph.get_tensor_by_name(scope + 'value:0')
    except KeyError:
        if graph.finalized:
            raise ConfigError('prune: the graph is finalized (tf.train.MonitoredTrainingSession '
                              'finalizes it) and pruning assigns through ops of its own: call '
                              'tfbnn.pruning.prepare_pruning() before the session is made')
    with graph.as_default(), tf.name_scope(None), tf.name_scope(scope):
        value_in = tf.placeholder(variable.dtype.base_dtype, variable.shape, name='value')
        tf.assign(variable, value_in)
    return value_in


def prepare_pruning(scope=None):
    """Builds the assignments `prune_by_snr` runs, for every Bayesian kernel
    under `scope`, so that a graph finalized later
    (`tf.train.MonitoredTrainingSession`) can still be pruned.

    Raises:
      ConfigError: in eager mode, or in a finalized graph.
    """
    require_graph_mode('tfbnn.pruning.prepare_pruning')
    for pair in diagnostics.kernel_posteriors(scope).values():
        for variable in pair:
            _store_input(variable)


def pruned_fraction(sess, scope=None):
    """The fraction of Bayesian kernel weights that are pruned (rho = -inf),
    of those under the variable scope `scope` (as for `prune_by_snr`)."""
    require_graph_mode('tfbnn.pruning.pruned_fraction')
    rhos = [sess.run(rho) for _, rho in diagnostics.kernel_posteriors(scope).values()]
    total = sum(r.size for r in rhos)
    return float(sum(int(np.isneginf(r).sum()) for r in rhos)) / max(total, 1)


def allow_retraining():
    """Makes the Bayesian layers (and `tfbnn.custom_getter` posteriors) built
    after this call in the default graph leave pruned weights out of their
    KL, so a pruned network can be trained again. Call it before building
    the model; calling it again changes nothing.

    Raises:
      ConfigError: in eager mode, which has no graph collections.
    """
    require_graph_mode('tfbnn.pruning.allow_retraining')
    if not tf.get_collection(GraphKeys.PRUNED_RETRAINING):
        tf.add_to_collection(GraphKeys.PRUNED_RETRAINING, 'kl of the kept weights')


def _rho_of(variable, by_name):
    """The rho variable beside a posterior mean (`<x>_loc` -> `<x>_rho`, a
    `tfbnn.custom_getter` mean `<name>` -> `<name>_rho`), or None."""
    name = variable.op.name
    if name.endswith('_loc') and name[:-len('_loc')] + '_rho' in by_name:
        return by_name[name[:-len('_loc')] + '_rho']
    return by_name.get(name + '_rho')


def freeze_pruned(grads_and_vars, name=None):
    """Zeroes the gradient of every pruned weight's mean, so training keeps it at 0.

    Put it between `compute_gradients` and `apply_gradients`. A mean's
    gradient is multiplied by 1 where its rho is finite and by 0 where rho
    is -inf (pruned); the optimizer's slots for the mean must start at zero
    (a new optimizer, not one restored with momentum from before the
    pruning), or momentum would still move it.

    Args:
      grads_and_vars: list of (gradient, variable) pairs, as
        `tf.train.Optimizer.compute_gradients` returns them; a gradient may
        be None or `tf.IndexedSlices`.
      name: optional name scope.

    Returns:
      A new list of (gradient, variable) pairs in the same order; pairs of
      variables that are not posterior means are returned unchanged.
    """
    require_graph_mode('tfbnn.pruning.freeze_pruned')
    pairs = list(grads_and_vars)
    by_name = {v.op.name: v for v in graph_variables()}
    out = []
    with tf.name_scope(name, 'freeze_pruned'):
        for grad, var in pairs:
            rho = _rho_of(var, by_name) if grad is not None else None
            if rho is not None:
                kept = tf.cast(rho > -np.inf, grad.dtype.base_dtype)
                if isinstance(grad, tf.IndexedSlices):
                    grad = tf.IndexedSlices(grad.values * tf.gather(kept, grad.indices),
                                            grad.indices, grad.dense_shape)
                else:
                    grad = grad * kept
            out.append((grad, var))
    return out
