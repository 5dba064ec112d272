"""Internal: what every Bayesian layer shares.

A layer kind (dense, conv) supplies two linear maps and a kernel shape; this
module creates the mean-field posterior variables, runs the chosen gradient
estimator, and registers the layer's KL once. Keeping the estimators here,
written against the two maps, means dense and conv cannot drift apart.

The two maps a layer kind supplies:
  shared(x, w):     x with or without a leading sample axis, one kernel `w`
                    for all of it.
  per_sample(x, w): x of shape [K, ...] and w of shape [K] + kernel_shape;
                    slice k of x uses kernel w[k]. Only called with K set.
"""
import collections
import math
import numbers

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn import priors as priors_lib
from tfbnn._random import standard_normal
from tfbnn.errors import ConfigError
from tfbnn.graph_keys import GraphKeys

__all__ = []

ESTIMATORS = ('reparameterization', 'flipout', 'local_reparameterization')

# scale = softplus(rho) + floor: keeps log(scale) finite in the KL even when
# the optimiser drives rho far negative.
SCALE_FLOOR = 1e-6

# Added to the local-reparameterisation variance before the square root, whose
# gradient is infinite at 0 (an all-zero input row, e.g. after a ReLU).
_VARIANCE_EPS = {tf.float32: 1e-12, tf.float64: 1e-24}

Posterior = collections.namedtuple('Posterior', ['loc', 'rho', 'scale'])
LinearMaps = collections.namedtuple('LinearMaps', ['shared', 'per_sample'])


def check_positive_int(layer, what, value):
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)) or value < 1:
        raise ConfigError('%s: %s must be a positive integer, got %r' % (layer, what, value))
    return int(value)


def check_common(layer, estimator, prior, sample, num_samples, posterior_init_scale,
                 kl_collection):
    """Validates the keywords every Bayesian layer takes; returns them normalised."""
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
    if (isinstance(posterior_init_scale, bool)
            or not isinstance(posterior_init_scale, numbers.Real)
            or not SCALE_FLOOR < posterior_init_scale < float('inf')):
        raise ConfigError('%s: posterior_init_scale must be a finite number above %g, got %r'
                          % (layer, SCALE_FLOOR, posterior_init_scale))
    if kl_collection is None:
        kl_collection = GraphKeys.KL_LOSSES
    elif not isinstance(kl_collection, str) or not kl_collection:
        raise ConfigError('%s: kl_collection must be a non-empty string, got %r'
                          % (layer, kl_collection))
    return estimator, prior, sample, num_samples, float(posterior_init_scale), kl_collection


def check_inputs(layer, inputs, min_rank, max_rank, num_samples):
    """Converts `inputs` and checks rank, dtype and a defined last dimension."""
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
    if num_samples is not None and inputs.shape[0].value not in (None, num_samples):
        raise ConfigError('%s: num_samples=%d but the inputs\' leading (sample) axis has size %d'
                          % (layer, num_samples, inputs.shape[0].value))
    if inputs.shape[-1].value is None:
        raise ConfigError('%s: the last dimension of the inputs must be defined, got shape %s'
                          % (layer, inputs.shape))
    return inputs


def _variable_exists(full_name):
    return any(v.op.name == full_name for v in tf.global_variables())


def _softplus_inverse(x):
    return float(np.log(np.expm1(x)))


def make_posterior(prefix, shape, dtype, loc_initializer, init_scale, trainable):
    """Creates `<prefix>_loc` and `<prefix>_rho`; scale = softplus(rho) + floor."""
    loc = tf.get_variable(prefix + '_loc', shape=shape, dtype=dtype,
                          initializer=loc_initializer, trainable=trainable)
    rho = tf.get_variable(prefix + '_rho', shape=shape, dtype=dtype,
                          initializer=tf.constant_initializer(_softplus_inverse(init_scale - SCALE_FLOOR)),
                          trainable=trainable)
    scale = tf.add(tf.nn.softplus(rho), tf.constant(SCALE_FLOOR, dtype), name=prefix + '_scale')
    return Posterior(loc, rho, scale)


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


def _mean_outputs(x, kernel, bias, maps):
    return _add_bias(maps.shared(x, kernel.loc), bias.loc if isinstance(bias, Posterior) else bias, None)


def _reparameterization(x, kernel, bias, maps, num_samples):
    w = _draw(kernel, num_samples)
    out = maps.shared(x, w) if num_samples is None else maps.per_sample(x, w)
    b = _draw(bias, num_samples) if isinstance(bias, Posterior) else bias
    return _add_bias(out, b, num_samples), w, (b if isinstance(bias, Posterior) else None)


def _flipout(x, kernel, bias, maps, num_samples, sign_shape_fn):
    """Wen et al. 2018: one shared perturbation, decorrelated per example by signs."""
    delta = _noise(kernel, num_samples)
    sign_in = _rademacher(sign_shape_fn(x, tf.shape(x)[-1]), x.dtype)
    perturbed_in = x * sign_in
    pert = (maps.shared(perturbed_in, delta) if num_samples is None
            else maps.per_sample(perturbed_in, delta))
    sign_out = _rademacher(sign_shape_fn(pert, tf.shape(pert)[-1]), x.dtype)
    out = maps.shared(x, kernel.loc) + pert * sign_out
    b = _draw(bias, num_samples) if isinstance(bias, Posterior) else bias
    return _add_bias(out, b, num_samples), kernel.loc + delta, (b if isinstance(bias, Posterior) else None)


def _local_reparameterization(x, kernel, bias, maps):
    """Kingma et al. 2015: sample each pre-activation from its exact marginal."""
    mean = maps.shared(x, kernel.loc)
    var = maps.shared(tf.square(x), tf.square(kernel.scale))
    if isinstance(bias, Posterior):
        mean += bias.loc
        var += tf.square(bias.scale)
    elif bias is not None:
        mean += bias
    var += _VARIANCE_EPS[x.dtype.base_dtype]
    return mean + tf.sqrt(var) * standard_normal(tf.shape(mean), x.dtype.base_dtype), None, None


def _sampled_outputs(estimator, x, kernel, bias, maps, num_samples, sign_shape_fn):
    if estimator == 'reparameterization':
        return _reparameterization(x, kernel, bias, maps, num_samples)
    if estimator == 'flipout':
        return _flipout(x, kernel, bias, maps, num_samples, sign_shape_fn)
    return _local_reparameterization(x, kernel, bias, maps)


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


def build_layer(layer_kind, default_name, inputs, kernel_shape, units, maps, sign_shape_fn,
                activation, use_bias, estimator, prior, sample, kl_collection, num_samples,
                bayesian_bias, kernel_loc_initializer, bias_loc_initializer,
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

        kernel_draw = bias_draw = None
        if sample is True:
            outputs, kernel_draw, bias_draw = _sampled_outputs(
                estimator, inputs, kernel, bias, maps, num_samples, sign_shape_fn)
        elif sample is False:
            outputs = _mean_outputs(inputs, kernel, bias, maps)
        else:
            outputs = tf.cond(
                sample,
                lambda: _sampled_outputs(estimator, inputs, kernel, bias, maps, num_samples,
                                         sign_shape_fn)[0],
                lambda: _mean_outputs(inputs, kernel, bias, maps))

        if creating:
            kl = _layer_kl(prior, kernel, bias, kernel_draw, bias_draw, num_samples)
            tf.add_to_collection(kl_collection, kl)
        if activation is not None:
            outputs = activation(outputs)
        return outputs
