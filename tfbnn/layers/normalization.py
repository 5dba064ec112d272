"""Group normalisation, a deterministic layer to use beside Bayesian ones."""

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn.errors import ConfigError
from tfbnn.internal import layout
from tfbnn.internal.compat import require_graph_mode
from tfbnn.internal.arg_checks import check_bools, check_positive_int, check_real

__all__ = ['group_norm']


def group_norm(inputs, groups=32, epsilon=1e-5, center=True, scale=True, batch_dims=1,
               trainable=True, name=None, reuse=None, data_format='channels_last'):
    """Group normalisation (Wu & He 2018), any number of positions.

    Unlike batch normalisation it uses no batch statistics, so it behaves the
    same in training and evaluation and for any batch size, including the
    small batches 3D volumes force, and it needs no UPDATE_OPS.

    Mathematical details:
      The C channels are split into G groups of C/G. For each example and
      group, over all positions and the group's channels:
        y = gamma * (x - mean) / sqrt(var + epsilon) + beta,
      with per-channel gamma (init 1) and beta (init 0).

    Args:
      inputs: float `Tensor` `[batch, ..., channels]`; the first `batch_dims`
        axes index examples (2 for `[num_samples, batch, ...]`), channels known.
      groups: positive int dividing the number of channels.
      epsilon: positive finite float.
      center: Python bool, learn beta.
      scale: Python bool, learn gamma.
      batch_dims: positive int, number of leading example axes.
      trainable: Python bool.
      name: variable scope name (default 'group_norm').
      reuse: as in `tf.variable_scope`.
      data_format: 'channels_last' (`[..., channels]`) or 'channels_first'
        (`[batch, channels, ...]`, the channels right after the `batch_dims`
        axes: give batch_dims=2 for `[num_samples, batch, channels, ...]`, or
        the batch is taken for the channels; computed channels last between
        two transposes).

    Returns:
      `Tensor` of the shape and dtype of `inputs`.

    Raises:
      ConfigError (a ValueError): for invalid arguments.

    References:
      Wu, He (2018). Group Normalization. ECCV. Eq. 1-3.
    """
    layer = "group_norm '%s'" % (name or 'group_norm')
    require_graph_mode(layer)
    inputs = tf.convert_to_tensor(inputs)
    groups = check_positive_int(layer, 'groups', groups)
    batch_dims = check_positive_int(layer, 'batch_dims', batch_dims)
    check_real(layer, 'epsilon', epsilon, 0, np.inf)
    check_bools(layer, center=center, scale=scale, trainable=trainable)
    if not inputs.dtype.is_floating:
        raise ConfigError('%s: inputs must be a float Tensor, got %s' % (layer, inputs.dtype.name))
    first = layout.moves_channels(layer, data_format, inputs, batch_dims,
                                  layout.SAMPLE_AXIS_HINT if batch_dims == 1 else '')
    if first:
        inputs = layout.channels_to_last(inputs, batch_dims)
    rank = inputs.shape.ndims
    if rank is None or rank < batch_dims + 1:
        raise ConfigError('%s: inputs must have rank at least %d (batch_dims=%d plus channels), '
                          'got shape %s' % (layer, batch_dims + 1, batch_dims, inputs.shape))
    channels = tf.dimension_value(inputs.shape[-1])
    if channels is None:
        raise ConfigError('%s: the channel dimension must be defined, got shape %s'
                          % (layer, inputs.shape))
    if channels % groups:
        raise ConfigError('%s: groups must divide the %d channels, got groups=%d'
                          % (layer, channels, groups))
    positions = inputs.shape.as_list()[batch_dims:-1]
    if channels // groups == 1 and positions.count(1) == len(positions):
        raise ConfigError('%s: groups=%d leaves one value per example in each group of an input '
                          'of shape %s, which normalising sets to beta; use fewer groups'
                          % (layer, groups, inputs.shape))
    with tf.variable_scope(name, default_name='group_norm', values=[inputs], reuse=reuse):
        static = inputs.shape.as_list()
        if static.count(None) > 1:  # run-time shape arithmetic
            shape = tf.shape(inputs)
            grouped_shape = tf.concat([shape[:-1], [groups, channels // groups]], axis=0)
        else:  # constants, which converters such as TF 1.15's TFLite can follow
            shape = [-1 if d is None else d for d in static]
            grouped_shape = shape[:-1] + [groups, channels // groups]
        grouped = tf.reshape(inputs, grouped_shape)
        # Reduce over positions and the channels of a group, keep examples and groups.
        axes = list(range(batch_dims, rank - 1)) + [rank]
        mean, var = tf.nn.moments(grouped, axes, keepdims=True)
        normed = (grouped - mean) * tf.rsqrt(var + epsilon)
        # gamma and beta act in the grouped shape, so that the layer ends in
        # its reshape (TF 1.15's TFLite converter moved a constant multiplier
        # from after a reshape to before it, at the wrong shape, and aborted).
        by_group = [groups, channels // groups]
        if scale:
            normed *= tf.reshape(tf.get_variable('gamma', [channels], inputs.dtype,
                                                 tf.ones_initializer(), trainable=trainable),
                                 by_group)
        if center:
            normed += tf.reshape(tf.get_variable('beta', [channels], inputs.dtype,
                                                 tf.zeros_initializer(), trainable=trainable),
                                 by_group)
        normed = tf.reshape(normed, shape)
        normed.set_shape(inputs.shape)
        return layout.channels_to_axis(normed, batch_dims) if first else normed
