"""The keywords every Bayesian weight takes, whether a layer or the getter builds it.

`tfbnn.layers` checks them through `layers._options.layer_options`,
`tfbnn.custom_getter` directly with `check_common`; both get the same
messages and normalisation.
"""
import inspect

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn import priors as priors_lib
from tfbnn.errors import ConfigError
from tfbnn.graph_keys import GraphKeys
from tfbnn.internal.arg_checks import check_positive_int
from tfbnn.internal.compat import require_graph_mode
from tfbnn.internal.posterior_scale import check_init_scale

__all__ = ['ESTIMATORS', 'check_common']

ESTIMATORS = ('reparameterization', 'flipout', 'local_reparameterization')


def check_common(layer, estimator, prior, sample, num_samples, posterior_init_scale,
                 kl_collection):
    """Checks the keywords a layer shares with `tfbnn.custom_getter`.

    Returns:
      The tuple (estimator, prior, sample, num_samples, posterior_init_scale,
      kl_collection), normalised. Layers get them through `layer_options`;
      the getter, which has no `LayerOptions`, calls this directly.
    """
    require_graph_mode(layer)
    if estimator not in ESTIMATORS:
        raise ConfigError('%s: estimator must be one of %s, got %r'
                          % (layer, ESTIMATORS, estimator))
    prior = _check_prior(layer, prior)
    sample = _check_sample(layer, sample)
    if num_samples is not None:
        num_samples = check_positive_int(layer, 'num_samples', num_samples)
    posterior_init_scale = check_init_scale(layer, posterior_init_scale)
    if kl_collection is None:
        kl_collection = GraphKeys.KL_LOSSES
    elif not isinstance(kl_collection, str) or not kl_collection:
        raise ConfigError('%s: kl_collection must be a non-empty string, got %r'
                          % (layer, kl_collection))
    return estimator, prior, sample, num_samples, posterior_init_scale, kl_collection


def _check_prior(layer, prior):
    """A prior is an object with a method kl_divergence(loc, scale, samples),
    as `tfbnn.priors`' are; a class, or a distribution whose kl_divergence
    takes another distribution (TensorFlow Probability's), is refused."""
    if prior is None:
        return priors_lib.normal()
    method = getattr(prior, 'kl_divergence', None)
    takes_three = callable(method) and not isinstance(prior, type)
    if takes_three:
        try:
            inspect.signature(method).bind(None, None, None)
        except (TypeError, ValueError):
            takes_three = False
    if not takes_three:
        raise ConfigError('%s: prior must be an object with a kl_divergence(loc, scale, samples) '
                          'method, such as tfbnn.priors.normal() or scale_mixture(); got %r%s'
                          % (layer, prior, ' (a class: call it to make the prior)'
                             if isinstance(prior, type) else ''))
    return prior


def _check_sample(layer, sample):
    if isinstance(sample, (bool, np.bool_)):
        return bool(sample)
    if isinstance(sample, (tf.Tensor, tf.Variable)):
        if sample.dtype.base_dtype != tf.bool or sample.shape.ndims not in (None, 0):
            raise ConfigError('%s: sample must be a Python bool or a scalar bool Tensor, '
                              'got a %s Tensor of shape %s' % (layer, sample.dtype.name, sample.shape))
        return sample
    raise ConfigError('%s: sample must be a Python bool or a scalar bool Tensor, got %r'
                      % (layer, sample))
