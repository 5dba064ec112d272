"""Batch normalisation without Keras, a deterministic layer beside Bayesian ones.

`tf.layers.batch_normalization` is a Keras layer underneath; on TensorFlow
2.16 and newer (Keras 3) `tf.compat.v1.layers` raises instead of building.
This builder makes the same variables under the same names (`gamma`, `beta`,
`moving_mean`, `moving_variance`), so checkpoints move between the two, and
puts its moving-average updates in `tf.GraphKeys.UPDATE_OPS` as that layer
does.
"""
import numbers

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn.errors import ConfigError
from tfbnn.internal import layout
from tfbnn.internal.compat import require_graph_mode
from tfbnn.internal.arg_checks import check_bools, check_real

__all__ = ['batch_normalization']


def batch_normalization(inputs, training=False, momentum=0.99, epsilon=1e-3, center=True,
                        scale=True, trainable=True, name=None, reuse=None, batch_dims=1,
                        data_format='channels_last', axis=None):
    """Batch normalisation (Ioffe & Szegedy 2015) over every axis but the channels'.

    Mathematical details:
      With m and v the mean and (biased) variance of x over all axes but the
      channel axis,
        y = gamma * (x - m) / sqrt(v + epsilon) + beta.
      In training m, v are the batch's, and each update op moves the stored
      averages: M <- M - (1 - momentum) (M - m), likewise V with v (with
      v n / (n - 1), n the values per channel, for images `[batch, H, W, C]`,
      as the fused kernel of `tf.layers.batch_normalization` does). In evaluation
      the stored M, V are used. A leading sample axis `[K, batch, ...]` is
      reduced over like the batch axis.

    Args:
      inputs: float `Tensor` `[..., channels]`, channels known.
      training: Python bool (or numpy bool) or scalar bool `Tensor`: batch
        statistics and updates (True) or the stored averages (False).
      momentum: number in (0, 1), the moving averages' decay.
      epsilon: positive number.
      center: Python bool, learn beta (init 0).
      scale: Python bool, learn gamma (init 1).
      trainable: Python bool, gamma and beta in TRAINABLE_VARIABLES.
      name: variable scope name (default 'batch_normalization').
      reuse: as in `tf.variable_scope`.
      batch_dims: 1, or 2 for inputs with a leading sample axis
        `[K, batch, ...]` (both are reduced over; it only tells an image
        `[K, batch, H, W, C]` from a volume `[batch, D, H, W, C]`).
      data_format: 'channels_last' (`[..., channels]`) or 'channels_first'
        (`[batch, channels, ...]`, the channels right after the `batch_dims`
        axes: give batch_dims=2 for `[num_samples, batch, channels, ...]`, or
        the batch is taken for the channels; computed channels last between
        two transposes).
      axis: None, or the channel axis as `tf.layers.batch_normalization`
        takes it (an int or a list of one), for code written for that layer:
        the last axis (-1) is `data_format='channels_last'`, axis
        `batch_dims` (1 for `[batch, channels, ...]`) is 'channels_first'.
        Other axes are refused (move the channels with `tf.transpose`).

    Returns:
      `Tensor` of the shape and dtype of `inputs`. The two moving-average
      updates are added to `tf.GraphKeys.UPDATE_OPS` (they leave the
      averages as they are when `training` is False at run time, whatever
      the batch holds; none are made for a Python False).

    Raises:
      ConfigError (a ValueError): for invalid arguments, or an `axis` that
        disagrees with `data_format='channels_first'`.

    References:
      Ioffe, Szegedy (2015). Batch Normalization: Accelerating Deep Network
      Training by Reducing Internal Covariate Shift. ICML. Algorithm 1.
    """
    layer = "batch_normalization '%s'" % (name or 'batch_normalization')
    require_graph_mode(layer)
    inputs = tf.convert_to_tensor(inputs)
    check_real(layer, 'momentum', momentum, 0, 1)
    check_real(layer, 'epsilon', epsilon, 0, np.inf)
    check_bools(layer, center=center, scale=scale, trainable=trainable)
    training = _check_training(layer, training)
    if batch_dims not in (1, 2) or isinstance(batch_dims, bool):
        raise ConfigError('%s: batch_dims must be 1 or 2, got %r' % (layer, batch_dims))
    if axis is not None:
        data_format = _format_of_axis(layer, axis, inputs.shape.ndims, batch_dims, data_format)
    first = layout.moves_channels(layer, data_format, inputs, batch_dims,
                                  layout.SAMPLE_AXIS_HINT if batch_dims == 1 else '')
    if first:
        inputs = layout.channels_to_last(inputs, batch_dims)
    rank = inputs.shape.ndims
    channels = tf.dimension_value(inputs.shape[-1]) if rank else None
    if rank is None or rank < batch_dims + 1 or channels is None:
        raise ConfigError('%s: inputs need rank >= %d and a known channel dimension, got shape %s'
                          % (layer, batch_dims + 1, inputs.shape))
    dtype = inputs.dtype.base_dtype
    if not dtype.is_floating:
        raise ConfigError('%s: inputs must be a float Tensor, got %s' % (layer, dtype.name))
    with tf.variable_scope(name, default_name='batch_normalization', values=[inputs], reuse=reuse):
        gamma = tf.get_variable('gamma', [channels], dtype, tf.ones_initializer(),
                                trainable=trainable) if scale else None
        beta = tf.get_variable('beta', [channels], dtype, tf.zeros_initializer(),
                               trainable=trainable) if center else None
        averages = [tf.GraphKeys.GLOBAL_VARIABLES, tf.GraphKeys.MOVING_AVERAGE_VARIABLES]
        moving_mean = tf.get_variable('moving_mean', [channels], dtype, tf.zeros_initializer(),
                                      trainable=False, collections=averages)
        moving_var = tf.get_variable('moving_variance', [channels], dtype, tf.ones_initializer(),
                                     trainable=False, collections=averages)
        if training is False:
            mean, var = moving_mean, moving_var
        else:
            batch_mean, batch_var = tf.nn.moments(inputs, list(range(rank - 1)))
            if training is True:
                mean, var = batch_mean, batch_var
            else:
                mean = tf.where_v2(training, batch_mean, tf.convert_to_tensor(moving_mean))
                var = tf.where_v2(training, batch_var, tf.convert_to_tensor(moving_var))
            rate = tf.constant(1.0 - momentum, dtype)
            for average, value in ((moving_mean, batch_mean),
                                   (moving_var, _stored_variance(inputs, batch_var,
                                                                 batch_dims))):
                step = (average - value) * rate
                if training is not True:  # not step * 0: a NaN batch would poison the average
                    step = tf.where_v2(training, step, tf.zeros_like(step))
                tf.add_to_collection(tf.GraphKeys.UPDATE_OPS, tf.assign_sub(average, step))
        outputs = tf.nn.batch_normalization(inputs, mean, var, beta, gamma, epsilon)
        return layout.channels_to_axis(outputs, batch_dims) if first else outputs


def _format_of_axis(layer, axis, rank, batch_dims, data_format):
    """The data_format `tf.layers`' channel `axis` means, or a one-line error."""
    given = axis
    if isinstance(axis, (list, tuple)) and len(axis) == 1:
        axis = axis[0]
    if isinstance(axis, (bool, np.bool_)) or not isinstance(axis, numbers.Integral):
        raise ConfigError('%s: axis must be an int (or a list of one), got %r' % (layer, given))
    axis = int(axis)
    if axis < 0 and rank is not None:
        axis += rank
    last = axis == -1 or (rank is not None and axis == rank - 1)
    if axis == batch_dims and not last:
        return layout.check_data_format(layer, 'channels_first')
    if not last:
        lead = 'batch and sample axes' if batch_dims == 2 else 'batch'
        raise ConfigError('%s: axis %r is not supported for inputs of rank %s: the channels must '
                          'be the last axis (-1) or axis %d, right after the %s (move them there '
                          'with tf.transpose)' % (layer, given, rank, batch_dims, lead))
    if layout.check_data_format(layer, data_format) == 'channels_first' and axis != batch_dims:
        raise ConfigError("%s: axis %r (the last) disagrees with data_format='channels_first'"
                          % (layer, given))
    return 'channels_last'


def _check_training(layer, training):
    """`training` as a Python bool or a scalar bool `Tensor`, or a one-line error."""
    if isinstance(training, (bool, np.bool_)):
        return bool(training)
    if not tf.is_tensor(training):
        raise ConfigError('%s: training must be a Python bool or a scalar bool Tensor, got %r'
                          % (layer, training))
    if training.dtype.base_dtype != tf.bool or training.shape.ndims not in (None, 0):
        raise ConfigError('%s: training must be a scalar bool Tensor, got a %s Tensor of shape %s'
                          % (layer, training.dtype.base_dtype.name, training.shape))
    return training


def _stored_variance(inputs, batch_var, batch_dims):
    """The batch variance the moving average takes: unbiased for images.

    `tf.layers.batch_normalization` uses the fused kernel on `[batch, H, W, C]`
    inputs, which normalises by the biased variance v but averages
    v n / (n - 1), n = batch H W (1 when n = 1); other ranks average v. The
    same here (for examples of rank 3, with or without a sample axis), so
    moving statistics match that layer's at every rank.
    """
    if inputs.shape.ndims - batch_dims != 3:
        return batch_var
    n = tf.cast(tf.reduce_prod(tf.shape(inputs)[:-1]), batch_var.dtype)
    return batch_var * n / tf.maximum(n - 1.0, 1.0)
