"""Internal: the keywords every Bayesian layer takes, checked once into one object.

A public builder (`tfbnn.layers.dense`, `conv1d`, ...) checks its own
geometry (units, kernel size, ...), then hands all the keywords it shares with
the other builders to `layer_options`, which checks and normalises them into
one immutable `LayerOptions`. That object, not a list of positional
parameters, travels to `_bayesian.build_layer`: a new keyword is a new field
here and a new keyword in the builders' signatures, nothing in between.
"""
import dataclasses
import numbers
from typing import Any

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn import priors as priors_lib
from tfbnn._compat import require_graph_mode
from tfbnn.errors import ConfigError
from tfbnn.graph_keys import GraphKeys

__all__ = []

ESTIMATORS = ('reparameterization', 'flipout', 'local_reparameterization')

# scale = softplus(rho) + floor: keeps log(scale) finite in the KL even when
# the optimiser drives rho far negative. rho = -inf is the one exception: it
# marks a pruned weight (`tfbnn.pruning`), whose scale is exactly 0.
SCALE_FLOOR = 1e-6

# The keywords a layer shares with `tfbnn.custom_getter`, in checking order.
_COMMON = ('estimator', 'prior', 'sample', 'num_samples', 'posterior_init_scale',
           'kl_collection')


# eq=False: fields may hold Tensors (`sample`), whose == is no Python bool
# on TF 2.x and which cannot be hashed; two option objects are equal only if
# they are the same object.
@dataclasses.dataclass(frozen=True, eq=False)
class LayerOptions:
    """The shared keywords of one Bayesian layer call, checked and normalised.

    Built by `layer_options`, never by hand outside tests. `kind` names the
    layer kind ('dense', 'conv2d'); every other field is the builder keyword
    of that name, documented in `tfbnn.layers.dense`. After checking:
    `prior` is never None, `sample` is a Python bool or a scalar bool
    `Tensor`, `num_samples` None or a Python int, `posterior_init_scale` a
    float or a pair of floats, `kl_collection` a non-empty string and
    `shared_inputs` a Python bool.
    """
    kind: str
    activation: Any
    use_bias: Any
    estimator: str
    prior: Any
    sample: Any
    kl_collection: Any
    num_samples: Any
    shared_inputs: Any
    bayesian_bias: Any
    kernel_loc_initializer: Any
    bias_loc_initializer: Any
    posterior_init_scale: Any
    trainable: Any
    name: Any
    reuse: Any

    @property
    def default_name(self):
        """The variable scope's default name, e.g. 'bayesian_dense'."""
        return 'bayesian_' + self.kind

    @property
    def label(self):
        """The layer as error messages name it, e.g. "dense 'fc1'"."""
        return layer_label(self.kind, self.name)


def layer_label(kind, name):
    """"dense 'fc1'", or "dense 'bayesian_dense'" when `name` is None."""
    return "%s '%s'" % (kind, name or 'bayesian_' + kind)


def layer_options(kind, **keywords):
    """Checks a builder's shared keywords and returns them as a `LayerOptions`.

    Args:
      kind: the layer kind, e.g. 'dense' or 'conv2d'.
      **keywords: every field of `LayerOptions` but `kind`, as the user gave it.

    Returns:
      A `LayerOptions` with the keywords normalised (defaults resolved).

    Raises:
      ConfigError (a ValueError): an invalid keyword, naming the layer and
        what is allowed; the first invalid one in the order of `_COMMON`,
        then `shared_inputs`, then `activation`.
      TypeError: a keyword missing or unknown (a bug in the builder).
    """
    options = LayerOptions(kind=kind, **keywords)
    layer = options.label
    common = check_common(layer, *(getattr(options, f) for f in _COMMON))
    options = dataclasses.replace(options, **dict(zip(_COMMON, common)))
    return dataclasses.replace(
        options,
        shared_inputs=_check_shared_inputs(layer, options.shared_inputs, options.num_samples),
        activation=_check_activation(layer, options.activation))


def check_positive_int(layer, what, value):
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)) or value < 1:
        raise ConfigError('%s: %s must be a positive integer, got %r' % (layer, what, value))
    return int(value)


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
    if prior is None:
        return priors_lib.normal()
    if not callable(getattr(prior, 'kl_divergence', None)):
        raise ConfigError('%s: prior must have a kl_divergence(loc, scale, samples) method '
                          '(e.g. tfbnn.priors.normal() or scale_mixture()), got %r'
                          % (layer, prior))
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


def _check_shared_inputs(layer, shared_inputs, num_samples):
    if not isinstance(shared_inputs, (bool, np.bool_)):
        raise ConfigError('%s: shared_inputs must be a Python bool, got %r' % (layer, shared_inputs))
    if shared_inputs and num_samples is None:
        raise ConfigError('%s: shared_inputs=True needs num_samples (the K slices that share '
                          'the inputs)' % layer)
    return bool(shared_inputs)


def _check_activation(layer, activation):
    if activation is not None and not callable(activation):
        raise ConfigError('%s: activation must be callable or None, got %r' % (layer, activation))
    return activation


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
