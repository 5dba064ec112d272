"""Internal: what every Bayesian layer shares.

A layer kind (dense, conv) supplies its linear map and a kernel shape; this
module creates the mean-field posterior variables, runs the chosen gradient
estimator, and registers the layer's KL once. Keeping the estimators here,
written against that one map, means dense and conv cannot drift apart.

The linear map a layer kind supplies:
  linear(x, w):     x with or without leading sample axes, one kernel `w`
                    for all of it.
With K weight samples the estimators run the map once per sample in an
in-graph loop, which keeps each iteration's kernel in cache.
"""
import collections
import math
import numbers

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn import priors as priors_lib
from tfbnn._compat import require_graph_mode
from tfbnn._random import standard_normal
from tfbnn.errors import ConfigError
from tfbnn.graph_keys import GraphKeys

__all__ = []

ESTIMATORS = ('reparameterization', 'flipout', 'local_reparameterization')

# scale = softplus(rho) + floor: keeps log(scale) finite in the KL even when
# the optimiser drives rho far negative. rho = -inf is the one exception: it
# marks a pruned weight (`tfbnn.pruning`), whose scale is exactly 0.
SCALE_FLOOR = 1e-6

# Added to the local-reparameterisation variance before the square root, whose
# gradient is infinite at 0 (an all-zero input row, e.g. after a ReLU).
_VARIANCE_EPS = {tf.float32: 1e-12, tf.float64: 1e-24}

Posterior = collections.namedtuple('Posterior', ['loc', 'rho', 'scale'])


def check_positive_int(layer, what, value):
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)) or value < 1:
        raise ConfigError('%s: %s must be a positive integer, got %r' % (layer, what, value))
    return int(value)


def check_common(layer, estimator, prior, sample, num_samples, posterior_init_scale,
                 kl_collection):
    """Validates the keywords every Bayesian layer takes; returns them normalised."""
    require_graph_mode(layer)
    if estimator not in ESTIMATORS:
        raise ConfigError('%s: estimator must be one of %s, got %r'
                          % (layer, ESTIMATORS, estimator))
    if prior is None:
        prior = priors_lib.normal()
    elif not callable(getattr(prior, 'kl_divergence', None)):
        raise ConfigError('%s: prior must have a kl_divergence(loc, scale, samples) method '
                          '(e.g. tfbnn.priors.normal() or scale_mixture()), got %r'
                          % (layer, prior))
    if isinstance(sample, (bool, np.bool_)):
        sample = bool(sample)
    elif isinstance(sample, (tf.Tensor, tf.Variable)):
        if sample.dtype.base_dtype != tf.bool or sample.shape.ndims not in (None, 0):
            raise ConfigError('%s: sample must be a Python bool or a scalar bool Tensor, '
                              'got a %s Tensor of shape %s' % (layer, sample.dtype.name, sample.shape))
    else:
        raise ConfigError('%s: sample must be a Python bool or a scalar bool Tensor, got %r'
                          % (layer, sample))
    if num_samples is not None:
        num_samples = check_positive_int(layer, 'num_samples', num_samples)
    posterior_init_scale = check_init_scale(layer, posterior_init_scale)
    if kl_collection is None:
        kl_collection = GraphKeys.KL_LOSSES
    elif not isinstance(kl_collection, str) or not kl_collection:
        raise ConfigError('%s: kl_collection must be a non-empty string, got %r'
                          % (layer, kl_collection))
    return estimator, prior, sample, num_samples, posterior_init_scale, kl_collection


def _is_scale(value):
    return (not isinstance(value, bool) and isinstance(value, (numbers.Real, np.floating))
            and SCALE_FLOOR < value < float('inf'))


def check_init_scale(layer, init_scale):
    """A float s, or a (low, high) tuple of floats with low <= high; each above the floor."""
    if isinstance(init_scale, (list, tuple)):
        if len(init_scale) == 2 and all(_is_scale(v) for v in init_scale) \
                and init_scale[0] <= init_scale[1]:
            return (float(init_scale[0]), float(init_scale[1]))
    elif _is_scale(init_scale):
        return float(init_scale)
    raise ConfigError('%s: posterior_init_scale must be a finite number above %g or a pair '
                      '(low, high) of them with low <= high, got %r'
                      % (layer, SCALE_FLOOR, init_scale))


def check_inputs(layer, inputs, min_rank, max_rank, num_samples, shared_inputs=False):
    """Converts `inputs` and checks rank, dtype and a defined last dimension."""
    if not isinstance(shared_inputs, (bool, np.bool_)):
        raise ConfigError('%s: shared_inputs must be a Python bool, got %r' % (layer, shared_inputs))
    if shared_inputs and num_samples is None:
        raise ConfigError('%s: shared_inputs=True needs num_samples (the K slices that share '
                          'the inputs)' % layer)
    if shared_inputs:
        num_samples = None  # the inputs carry no sample axis
    inputs = tf.convert_to_tensor(inputs)
    if inputs.dtype.base_dtype not in (tf.float32, tf.float64):
        raise ConfigError('%s: inputs must be float32 or float64, got %s'
                          % (layer, inputs.dtype.name))
    extra = 0 if num_samples is None else 1
    rank = inputs.shape.ndims
    lo, hi = min_rank + extra, (None if max_rank is None else max_rank + extra)
    if rank is None or rank < lo or (hi is not None and rank > hi):
        allowed = ('%d' % lo) if hi == lo else ('%d or more' % lo if hi is None else '%d..%d' % (lo, hi))
        axis_note = (' ([num_samples, batch, ...] because num_samples=%d)' % num_samples
                     if num_samples is not None else '')
        raise ConfigError('%s: inputs must have rank %s%s, got shape %s'
                          % (layer, allowed, axis_note, inputs.shape))
    if num_samples is not None and tf.dimension_value(inputs.shape[0]) not in (None, num_samples):
        raise ConfigError('%s: num_samples=%d but the inputs\' leading (sample) axis has size %d'
                          % (layer, num_samples, tf.dimension_value(inputs.shape[0])))
    if tf.dimension_value(inputs.shape[-1]) is None:
        raise ConfigError('%s: the last dimension of the inputs must be defined, got shape %s'
                          % (layer, inputs.shape))
    return inputs


def _variable_exists(full_name):
    return any(v.op.name == full_name for v in tf.global_variables())


def _softplus_inverse(x):
    return float(np.log(np.expm1(x)))


def scale_from_rho(rho, name=None):
    """scale = softplus(rho) + floor, and exactly 0 where rho = -inf (pruned)."""
    floor = SCALE_FLOOR * tf.cast(rho > -np.inf, rho.dtype.base_dtype)
    return tf.add(tf.nn.softplus(rho), floor, name=name)


def rho_initializer(init_scale):
    """The initializer of rho for an initial scale: a number s (every rho at
    softplus^-1(s - floor)) or a pair (low, high) (scales uniform in it)."""
    if isinstance(init_scale, tuple):
        low, high = (_softplus_inverse(s - SCALE_FLOOR) for s in init_scale)
        return tf.random_uniform_initializer(low, high)
    return tf.constant_initializer(_softplus_inverse(init_scale - SCALE_FLOOR))


def make_posterior(prefix, shape, dtype, loc_initializer, init_scale, trainable):
    """Creates `<prefix>_loc` and `<prefix>_rho`; scale = softplus(rho) + floor."""
    loc = tf.get_variable(prefix + '_loc', shape=shape, dtype=dtype,
                          initializer=loc_initializer, trainable=trainable)
    rho = tf.get_variable(prefix + '_rho', shape=shape, dtype=dtype,
                          initializer=rho_initializer(init_scale), trainable=trainable)
    return Posterior(loc, rho, scale_from_rho(rho, name=prefix + '_scale'))


def _noise(post, num_samples):
    """scale * eps with eps ~ N(0, 1); shape [K] + loc.shape when K is set."""
    shape = tf.shape(post.loc) if num_samples is None else tf.concat(
        [[num_samples], tf.shape(post.loc)], axis=0)
    return post.scale * standard_normal(shape, post.loc.dtype.base_dtype)


def _draw(post, num_samples):
    """Reparameterised weight draw(s) loc + scale * eps."""
    return post.loc + _noise(post, num_samples)


def _rademacher(shape, dtype):
    return 2.0 * tf.cast(tf.random.uniform(shape, maxval=2, dtype=tf.int32), dtype) - 1.0


def _broadcast_per_sample(values, out_rank):
    """[K, C] -> [K, 1, ..., 1, C] so it adds to outputs of rank `out_rank`."""
    k_and_c = tf.shape(values)
    return tf.reshape(values, tf.concat([k_and_c[:1], tf.ones([out_rank - 2], tf.int32),
                                         k_and_c[1:]], axis=0))


def _add_bias(outputs, bias, num_samples):
    if bias is None:
        return outputs
    if num_samples is not None and bias.shape.ndims == 2:
        bias = _broadcast_per_sample(bias, outputs.shape.ndims)
    return outputs + bias


# How a call samples: the layer kind's linear map, the sample count K (None: no
# sample axis) and whether the inputs lack the sample axis although K is set
# (`shared`: the same inputs for all K slices, e.g. a network's input).
Sampling = collections.namedtuple('Sampling', ['linear', 'sign_shape', 'num_samples', 'shared',
                                               'keep_draws'])


def tile_samples(x, num_samples):
    """[batch, ...] -> [K, batch, ...], the same batch K times."""
    return tf.tile(tf.expand_dims(x, 0), [num_samples] + [1] * x.shape.ndims)


def fold_samples(x, fn):
    """Applies `fn` (which takes [batch, ...]) to x of shape [K, batch, ...].

    The sample axis is folded into the batch for one call of `fn` and
    unfolded from its result, for ops with no notion of a sample axis
    (convolutions, pooling).
    """
    shape = tf.shape(x)
    y = fn(tf.reshape(x, tf.concat([[-1], shape[2:]], axis=0)))
    out = tf.reshape(y, tf.concat([shape[:2], tf.shape(y)[1:]], axis=0))
    out.set_shape(x.shape[:2].concatenate(y.shape[1:]))
    return out


def _mean_outputs(x, kernel, bias, how):
    out = _add_bias(how.linear(x, kernel.loc),
                    bias.loc if isinstance(bias, Posterior) else bias, None)
    return tile_samples(out, how.num_samples) if how.shared else out


def _over_samples(chain, x, how):
    """Runs `chain(x_k) -> (output_k, weight_draw_k)` for the K weight samples.

    An in-graph loop (`tf.map_fn`), so the graph does not grow with K and
    each iteration's kernel draw stays in cache: measured faster than one
    [K, in, out] draw with a batched product, and than K `sess.run` calls
    (scripts/bench_predictive.py). The draws are stacked only when the
    prior's Monte Carlo KL needs them.
    """
    if how.shared:
        elems, body = tf.range(how.num_samples), lambda _: chain(x)
    else:
        elems, body = x, chain
    dtype = x.dtype.base_dtype
    # One iteration at a time: stateful random ops in concurrent iterations
    # would draw in a varying order and break seeded repeatability.
    if how.keep_draws:
        return tf.map_fn(body, elems, dtype=(dtype, dtype), parallel_iterations=1)
    return tf.map_fn(lambda e: body(e)[0], elems, dtype=dtype, parallel_iterations=1), None


def _reparameterization(x, kernel, bias, how):
    k = how.num_samples

    def chain(xk):
        w = _draw(kernel, None)
        return how.linear(xk, w), w

    out, w = chain(x) if k is None else _over_samples(chain, x, how)
    b = _draw(bias, k) if isinstance(bias, Posterior) else bias
    return _add_bias(out, b, k), w, (b if isinstance(bias, Posterior) else None)


def _flipout(x, kernel, bias, how):
    """Wen et al. 2018: one shared perturbation, decorrelated per example by signs."""
    k = how.num_samples
    mean = how.linear(x, kernel.loc)  # once, also when K slices share x

    def chain(xk):
        delta = _noise(kernel, None)
        sign_in = _rademacher(how.sign_shape(xk, tf.shape(xk)[-1]), xk.dtype)
        pert = how.linear(xk * sign_in, delta)
        sign_out = _rademacher(how.sign_shape(pert, tf.shape(pert)[-1]), xk.dtype)
        return pert * sign_out, kernel.loc + delta

    pert, w = chain(x) if k is None else _over_samples(chain, x, how)
    b = _draw(bias, k) if isinstance(bias, Posterior) else bias
    return _add_bias(mean + pert, b, k), w, (b if isinstance(bias, Posterior) else None)


def _local_reparameterization(x, kernel, bias, how):
    """Kingma et al. 2015: sample each pre-activation from its exact marginal.

    With shared inputs the mean and variance are computed once and only the
    K noise draws differ: the K-sample predictive of a first layer costs two
    matrix products, not 2K. With a sample axis, the slices go through the
    in-graph loop like the other estimators' (cache-sized working sets).
    """
    def moments(xk):
        mean = how.linear(xk, kernel.loc)
        var = how.linear(tf.square(xk), tf.square(kernel.scale))
        if isinstance(bias, Posterior):
            mean += bias.loc
            var += tf.square(bias.scale)
        elif bias is not None:
            mean += bias
        # var / sqrt(var + eps) = sqrt(var) (1 + O(eps / var)): a finite
        # gradient at var = 0 (sqrt's is infinite: an all-zero input row) and
        # an exactly zero std there (that row, or only pruned weights).
        return mean, var * tf.rsqrt(var + _VARIANCE_EPS[xk.dtype.base_dtype])

    def chain(xk):
        mean, std = moments(xk)
        return mean + std * standard_normal(tf.shape(mean), xk.dtype.base_dtype), mean

    if how.num_samples is None:
        return chain(x)[0], None, None
    if how.shared:
        mean, std = moments(x)
        shape = tf.concat([[how.num_samples], tf.shape(mean)], axis=0)
        return mean + std * standard_normal(shape, x.dtype.base_dtype), None, None
    return _over_samples(chain, x, how._replace(keep_draws=False))[0], None, None


def _sampled_outputs(estimator, x, kernel, bias, how):
    if estimator == 'reparameterization':
        return _reparameterization(x, kernel, bias, how)
    if estimator == 'flipout':
        return _flipout(x, kernel, bias, how)
    return _local_reparameterization(x, kernel, bias, how)


def _as_samples(draw, num_samples):
    return tf.expand_dims(draw, 0) if num_samples is None else draw


def _layer_kl(prior, kernel, bias, kernel_draw, bias_draw, num_samples):
    """Scalar KL of the layer: kernel plus (Bayesian) bias."""
    def one(post, draw):
        samples = None
        if getattr(prior, 'requires_samples', False):
            samples = (_as_samples(draw, num_samples) if draw is not None
                       else tf.expand_dims(_draw(post, None), 0))
        return prior.kl_divergence(post.loc, post.scale, samples)
    kl = one(kernel, kernel_draw)
    if isinstance(bias, Posterior):
        kl += one(bias, bias_draw)
    return tf.identity(kl, name='kl_divergence')


def build_layer(layer_kind, default_name, inputs, kernel_shape, units, linear, sign_shape_fn,
                activation, use_bias, estimator, prior, sample, kl_collection, num_samples,
                shared_inputs, bayesian_bias, kernel_loc_initializer, bias_loc_initializer,
                posterior_init_scale, trainable, name, reuse):
    """Creates or reuses a Bayesian layer's variables and returns its outputs.

    `inputs` must already be checked by `check_inputs` and the common keywords
    by `check_common`. See `tfbnn.layers.dense` for the meaning of the rest.
    """
    if activation is not None and not callable(activation):
        raise ConfigError('%s: activation must be callable or None, got %r' % (layer_kind, activation))
    dtype = inputs.dtype.base_dtype
    with tf.variable_scope(name, default_name=default_name, values=[inputs], reuse=reuse) as vs:
        creating = not _variable_exists(vs.name + '/kernel_loc')
        kernel = make_posterior('kernel', kernel_shape, dtype,
                                kernel_loc_initializer or tf.glorot_uniform_initializer(),
                                posterior_init_scale, trainable)
        bias = None
        if use_bias:
            bias_init = bias_loc_initializer or tf.zeros_initializer()
            if bayesian_bias:
                bias = make_posterior('bias', [units], dtype, bias_init, posterior_init_scale, trainable)
            else:
                bias = tf.get_variable('bias', shape=[units], dtype=dtype, initializer=bias_init,
                                       trainable=trainable)

        how = Sampling(linear, sign_shape_fn, num_samples, bool(shared_inputs),
                       keep_draws=creating and getattr(prior, 'requires_samples', False))
        kernel_draw = bias_draw = None
        if sample is True:
            outputs, kernel_draw, bias_draw = _sampled_outputs(estimator, inputs, kernel, bias, how)
        elif sample is False:
            outputs = _mean_outputs(inputs, kernel, bias, how)
        else:
            outputs = tf.cond(sample,
                              lambda: _sampled_outputs(estimator, inputs, kernel, bias, how)[0],
                              lambda: _mean_outputs(inputs, kernel, bias, how))

        if creating:
            kl = _layer_kl(prior, kernel, bias, kernel_draw, bias_draw, num_samples)
            tf.add_to_collection(kl_collection, kl)
        if activation is not None:
            outputs = activation(outputs)
        return outputs
