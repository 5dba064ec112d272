"""Group normalisation, a deterministic layer to use beside Bayesian ones."""
import numbers

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn.errors import ConfigError
from tfbnn.internal import layout
from tfbnn.internal.compat import require_graph_mode

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
      epsilon: positive float.
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
    for what, value in (('groups', groups), ('batch_dims', batch_dims)):
        if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)) or value < 1:
            raise ConfigError('%s: %s must be a positive integer, got %r' % (layer, what, value))
    if isinstance(epsilon, bool) or not isinstance(epsilon, numbers.Real) or not epsilon > 0:
        raise ConfigError('%s: epsilon must be a positive number, got %r' % (layer, epsilon))
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
    with tf.variable_scope(name, default_name='group_norm', values=[inputs], reuse=reuse):
        shape = tf.shape(inputs)
        grouped = tf.reshape(inputs, tf.concat([shape[:-1], [groups, channels // groups]], axis=0))
        # Reduce over positions and the channels of a group, keep examples and groups.
        axes = list(range(batch_dims, rank - 1)) + [rank]
        mean, var = tf.nn.moments(grouped, axes, keepdims=True)
        normed = tf.reshape((grouped - mean) * tf.rsqrt(var + epsilon), shape)
        normed.set_shape(inputs.shape)
        if scale:
            normed *= tf.get_variable('gamma', [channels], inputs.dtype,
                                      tf.ones_initializer(), trainable=trainable)
        if center:
            normed += tf.get_variable('beta', [channels], inputs.dtype,
                                      tf.zeros_initializer(), trainable=trainable)
        return layout.channels_to_axis(normed, batch_dims) if first else normed
