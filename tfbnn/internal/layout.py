"""Internal: moving the channel axis, for layers that take `data_format='channels_first'`.

The layers compute channels last (TensorFlow's CPU convolutions take no other
layout); a channels-first caller's tensor is transposed in and out.
"""
import tensorflow.compat.v1 as tf

from tfbnn.errors import ConfigError

__all__ = ['DATA_FORMATS', 'SAMPLE_AXIS_HINT', 'check_data_format', 'moves_channels',
           'channels_to_last', 'channels_to_axis']

DATA_FORMATS = ('channels_last', 'channels_first')
# What a layer with `batch_dims` adds when channels first at axis 1 are unknown.
SAMPLE_AXIS_HINT = '; inputs [num_samples, batch, channels, ...] need batch_dims=2'


def check_data_format(layer, data_format):
    """`data_format` if it is one of DATA_FORMATS, else ConfigError naming `layer`."""
    if data_format not in DATA_FORMATS:
        raise ConfigError('%s: data_format must be one of %s, got %r'
                          % (layer, DATA_FORMATS, data_format))
    return data_format


def moves_channels(layer, data_format, inputs, axis, hint=''):
    """Whether a layer given `data_format` must move the channels of `inputs`
    from `axis` to the last axis: 'channels_first' with positions after
    them (`[batch, channels]` is the same in either layout). ConfigError
    for an unknown `data_format`, or channels of unknown size (`hint` ends
    its message)."""
    check_data_format(layer, data_format)
    rank = inputs.shape.ndims
    if not (data_format == 'channels_first' and rank is not None and rank > axis + 1):
        return False
    if tf.dimension_value(inputs.shape[axis]) is None:
        raise ConfigError("%s: the inputs' channels (axis %d, data_format='channels_first') must "
                          'be known when the graph is built, got shape %s%s'
                          % (layer, axis, inputs.shape, hint))
    return True


def channels_to_last(x, axis):
    """`x` `[lead..., channels, rest...]` (channels at `axis`) as `[lead..., rest..., channels]`."""
    ndims = x.shape.ndims
    return tf.transpose(x, list(range(axis)) + list(range(axis + 1, ndims)) + [axis])


def channels_to_axis(x, axis):
    """The inverse of `channels_to_last`: the last axis of `x` moved to `axis`."""
    ndims = x.shape.ndims
    return tf.transpose(x, list(range(axis)) + [ndims - 1] + list(range(axis, ndims - 1)))
