"""Internal: the keywords every Bayesian layer takes, checked once into one object.

A public builder (`tfbnn.layers.dense`, `conv1d`, ...) checks its own
geometry (units, kernel size, ...), then hands all the keywords it shares with
the other builders to `layer_options`, which checks and normalises them into
one immutable `LayerOptions`. That object, not a list of positional
parameters, travels to `_bayesian.build_layer`: a new keyword is a new field
here and a new keyword in the builders' signatures, nothing in between.
"""
import dataclasses
from typing import Any

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn.errors import ConfigError
from tfbnn.internal.arg_checks import check_bools, check_callable
from tfbnn.internal.weight_options import check_common

__all__ = []

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


# The builders read their own locals(): AutoGraph (a tf.function on TF 1.15
# converts what it calls) would rename them. They have no Python control flow
# on tensors to convert.
not_converted = tf.autograph.experimental.do_not_convert


def builder_keywords(arguments):
    """The `LayerOptions` fields among a builder's arguments (its `locals()`).

    A builder calls `layer_options(kind, **builder_keywords(locals()))`
    before it defines locals of its own that share a field's name; its
    geometry arguments (units, filters, ...) are left out and every shared
    keyword is passed on by name, none forgotten.
    """
    return {f.name: arguments[f.name] for f in dataclasses.fields(LayerOptions)
            if f.name != 'kind'}


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
      TypeError, KeyError: a keyword missing or unknown (a bug in the builder).
    """
    options = LayerOptions(kind=kind, **keywords)
    layer = options.label
    common = check_common(layer, *(getattr(options, f) for f in _COMMON))
    options = dataclasses.replace(options, **dict(zip(_COMMON, common)))
    for name in ('kernel_loc_initializer', 'bias_loc_initializer'):
        check_callable(layer, name, getattr(options, name), _AN_INITIALIZER)
    _check_switches(layer, options)
    return dataclasses.replace(
        options,
        shared_inputs=_check_shared_inputs(layer, options.shared_inputs, options.num_samples),
        activation=check_callable(layer, 'activation', options.activation))


def _check_switches(layer, options):
    """use_bias, bayesian_bias and trainable are bools ('no' would be true),
    name a string or None, reuse None, a bool or tf.AUTO_REUSE."""
    check_bools(layer, use_bias=options.use_bias, bayesian_bias=options.bayesian_bias,
                trainable=options.trainable)
    if options.name is not None and not isinstance(options.name, str):
        raise ConfigError('%s: name must be a string or None, got %r' % (layer, options.name))
    reuse = options.reuse
    if not (reuse is None or isinstance(reuse, (bool, np.bool_)) or reuse is tf.AUTO_REUSE):
        raise ConfigError('%s: reuse must be None, True, False or tf.AUTO_REUSE, got %r'
                          % (layer, reuse))


def _check_shared_inputs(layer, shared_inputs, num_samples):
    if not isinstance(shared_inputs, (bool, np.bool_)):
        raise ConfigError('%s: shared_inputs must be a Python bool, got %r' % (layer, shared_inputs))
    if shared_inputs and num_samples is None:
        raise ConfigError('%s: shared_inputs=True needs num_samples (the K slices that share '
                          'the inputs)' % layer)
    return bool(shared_inputs)


# A number or string would reach tf.get_variable as a constant or a dtype
# clash; an array as an ambiguous truth value.
_AN_INITIALIZER = ('an initializer (e.g. tf.zeros_initializer() or '
                   'tf.random_uniform_initializer(-0.03, 0.03))')


