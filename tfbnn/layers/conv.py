"""Bayesian convolutions over 1, 2 and 3 spatial dimensions (channels last or first)."""
import collections
import dataclasses
import numbers

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn.errors import ConfigError
from tfbnn.internal import layout
from tfbnn.internal.sample_axis import fold_samples
from tfbnn.internal.arg_checks import check_positive_int
from tfbnn.layers import _bayesian, _options

__all__ = ['conv1d', 'conv2d', 'conv3d']  # and, for conv_transpose: geometry, linear_map,
# channels_last_inputs, restore_data_format


def as_tuple(layer, what, value, rank):
    """`value` (an int or `rank` positive ints) as a tuple of `rank` ints, or ConfigError."""
    if isinstance(value, (numbers.Integral, np.integer)) and not isinstance(value, bool):
        value = (value,) * rank
    try:
        value = tuple(value)
    except TypeError:
        raise ConfigError('%s: %s must be an int or %d ints, got %r' % (layer, what, rank, value))
    if len(value) != rank:
        raise ConfigError('%s: %s must be an int or %d ints, got %r' % (layer, what, rank, value))
    for v in value:
        check_positive_int(layer, what, v)
    return tuple(int(v) for v in value)


def _conv_map(rank, strides, padding, dilation_rate):
    """The linear map of an N-d convolution, and its flipout sign shape."""
    def conv(x, w):
        return tf.nn.convolution(x, w, padding=padding, strides=strides,
                                 dilation_rate=dilation_rate)
    return linear_map(rank, conv)


def linear_map(rank, conv):
    """`build_layer`'s (linear, sign_shape) for `conv(x, w)` on [batch, dims..., channels].

    `linear` also takes x with a leading sample axis; the signs are one per
    example and channel.
    """
    def shared(x, w):
        if x.shape.ndims == rank + 2:
            return conv(x, w)
        # Leading sample axis: fold it into the batch, one convolution for all.
        return fold_samples(x, lambda t: conv(t, w))

    def sign_shape(x, channels):
        # One sign per example and channel, shared over positions (as the
        # kernel is), which keeps the flipout weight a posterior draw.
        lead = tf.shape(x)[:x.shape.ndims - rank - 1]
        return tf.concat([lead, tf.ones([rank], tf.int32), [channels]], axis=0)

    return shared, sign_shape


# A convolution's own keywords, checked: what the shared `LayerOptions` lack.
Geometry = collections.namedtuple(
    'Geometry', ['rank', 'filters', 'kernel_size', 'strides', 'padding', 'dilation_rate',
                 'data_format'])


def geometry(kind, rank, name, filters, kernel_size, strides, padding, dilation_rate=1,
             data_format='channels_last'):
    """Checks the keywords only convolutions take, for the layer `kind` ('conv2d', ...).

    Returns:
      `Geometry`, with `padding` upper-cased.
    """
    layer = _options.layer_label(kind, name)
    filters = check_positive_int(layer, 'filters', filters)
    kernel_size = as_tuple(layer, 'kernel_size', kernel_size, rank)
    strides = as_tuple(layer, 'strides', strides, rank)
    dilation_rate = as_tuple(layer, 'dilation_rate', dilation_rate, rank)
    if max(strides) > 1 and max(dilation_rate) > 1:
        raise ConfigError('%s: strides > 1 and dilation_rate > 1 cannot be combined, got '
                          'strides=%s, dilation_rate=%s' % (layer, strides, dilation_rate))
    return Geometry(rank, filters, kernel_size, strides, _check_padding(layer, padding),
                    dilation_rate, layout.check_data_format(layer, data_format))


def _check_padding(layer, padding):
    """'VALID' or 'SAME' from either case, or ConfigError."""
    if not isinstance(padding, str) or padding.lower() not in ('valid', 'same'):
        raise ConfigError("%s: padding must be one of ('valid', 'same'), got %r" % (layer, padding))
    return padding.upper()


def _conv(geometry, inputs, options):
    """The layer, from its checked `Geometry` and `LayerOptions`."""
    rank = geometry.rank
    inputs, inner = channels_last_inputs(geometry, inputs, options)
    if geometry.padding == 'VALID':
        _check_fits(options.label, inputs, geometry)
    linear, sign_shape = _conv_map(rank, geometry.strides, geometry.padding,
                                   geometry.dilation_rate)
    kernel_shape = list(geometry.kernel_size) + [tf.dimension_value(inputs.shape[-1]),
                                                 geometry.filters]
    outputs = _bayesian.build_layer(inputs, kernel_shape, linear, sign_shape, inner)
    return restore_data_format(geometry, outputs, options)


def channels_last_inputs(geometry, inputs, options):
    """The checked inputs with their channels last, and the options to build with.

    'channels_first' inputs `[(samples,) batch, channels, dims...]` are
    transposed to `[(samples,) batch, dims..., channels]`, the layout the
    layers compute in (TensorFlow's CPU convolutions take no other); the
    activation is then left to `restore_data_format`, which applies it in the
    caller's layout (a softmax over an axis must see the axes the caller
    sees).
    """
    rank = geometry.rank
    if geometry.data_format == 'channels_last':
        return _bayesian.check_inputs(options, inputs, rank + 2, rank + 2), options
    inputs = tf.convert_to_tensor(inputs)
    channel = 1 if options.num_samples is None or options.shared_inputs else 2
    # (another rank is left to check_inputs, which names it in the caller's shape)
    if inputs.shape.ndims == channel + rank + 1 and layout.moves_channels(
            options.label, geometry.data_format, inputs, channel):
        inputs = layout.channels_to_last(inputs, channel)
    inputs = _bayesian.check_inputs(options, inputs, rank + 2, rank + 2)
    return inputs, dataclasses.replace(options, activation=None)


def restore_data_format(geometry, outputs, options):
    """`outputs` (channels last) in the layout of the inputs, `activation` applied."""
    if geometry.data_format == 'channels_last':
        return outputs
    outputs = layout.channels_to_axis(outputs, outputs.shape.ndims - geometry.rank - 1)
    return outputs if options.activation is None else options.activation(outputs)


def _check_fits(layer, inputs, geometry):
    """Refuses known spatial sizes smaller than the dilated kernel ('valid')."""
    rank = geometry.rank
    sizes = [tf.dimension_value(d) for d in inputs.shape[-rank - 1:-1]]
    spans = [(k - 1) * d + 1 for k, d in zip(geometry.kernel_size, geometry.dilation_rate)]
    if any(n is not None and n < span for n, span in zip(sizes, spans)):
        raise ConfigError("%s: padding 'valid' needs inputs at least as large as the (dilated) "
                          "kernel, %s, got spatial size %s; use padding='same' or a smaller "
                          'kernel_size' % (layer, tuple(spans), tuple(sizes)))


_CONV_DOC = """Bayesian {rank}-D convolution, `tf.layers.conv{rank}d`-style.

    Everything about the posterior, the estimators, the KL collection, `sample`
    and `num_samples` is as in `tfbnn.layers.dense`, with the kernel of shape
    `kernel_size + [in_channels, filters]`.

    Mathematical details:
      'flipout' draws one kernel perturbation dK = s * eps per call (per sample
      slice) and signs per example and channel:
        y = conv(x, mu) + conv(x * r_in, dK) * r_out.
      'local_reparameterization' draws each output activation from
        N(conv(x, mu), conv(x^2, s^2)): the exact marginal of every output
        unit, but independent across positions, whereas a sampled kernel makes
        positions of one example correlated (the approximation of Kingma et
        al. 2015 and Molchanov et al. 2017 for convolutions). Per-unit means
        and variances match 'reparameterization'; TFP 0.8 has no such layer.

    Args:
      inputs: float32/float64 `Tensor` `[batch, {dims}, channels]`, or with a
        leading `num_samples` axis.
      filters: positive int, output channels.
      kernel_size: int or {rank} ints.
      strides: int or {rank} ints.
      padding: 'valid' or 'same' (case-insensitive).
      dilation_rate: int or {rank} ints; not with strides > 1.
      shared_inputs: as in `tfbnn.layers.dense`.
      data_format: 'channels_last' (inputs `[batch, {dims}, channels]`) or
        'channels_first' (`[batch, channels, {dims}]`, outputs likewise, after
        the sample axis if there is one), computed channels last between two
        transposes.
      (the rest): as in `tfbnn.layers.dense`.

    Returns:
      `Tensor` `[batch, {dims_out}, filters]` (with the leading sample axis if
      `num_samples` is set; the filters right after the batch axis for
      'channels_first').

    Raises:
      ConfigError (a ValueError): for invalid arguments, naming the layer.
    """


@_options.not_converted
def conv1d(inputs, filters, kernel_size, strides=1, padding='valid', dilation_rate=1,
           activation=None, use_bias=True, estimator='reparameterization', prior=None,
           sample=True, kl_collection=None, num_samples=None, shared_inputs=False,
           bayesian_bias=True,
           kernel_loc_initializer=None, bias_loc_initializer=None, posterior_init_scale=0.01,
           trainable=True, name=None, reuse=None, data_format='channels_last'):
    checked = geometry('conv1d', 1, name, filters, kernel_size, strides, padding,
                       dilation_rate, data_format)
    options = _options.layer_options('conv1d', **_options.builder_keywords(locals()))
    return _conv(checked, inputs, options)


@_options.not_converted
def conv2d(inputs, filters, kernel_size, strides=1, padding='valid', dilation_rate=1,
           activation=None, use_bias=True, estimator='reparameterization', prior=None,
           sample=True, kl_collection=None, num_samples=None, shared_inputs=False,
           bayesian_bias=True,
           kernel_loc_initializer=None, bias_loc_initializer=None, posterior_init_scale=0.01,
           trainable=True, name=None, reuse=None, data_format='channels_last'):
    checked = geometry('conv2d', 2, name, filters, kernel_size, strides, padding,
                       dilation_rate, data_format)
    options = _options.layer_options('conv2d', **_options.builder_keywords(locals()))
    return _conv(checked, inputs, options)


@_options.not_converted
def conv3d(inputs, filters, kernel_size, strides=1, padding='valid', dilation_rate=1,
           activation=None, use_bias=True, estimator='reparameterization', prior=None,
           sample=True, kl_collection=None, num_samples=None, shared_inputs=False,
           bayesian_bias=True,
           kernel_loc_initializer=None, bias_loc_initializer=None, posterior_init_scale=0.01,
           trainable=True, name=None, reuse=None, data_format='channels_last'):
    checked = geometry('conv3d', 3, name, filters, kernel_size, strides, padding,
                       dilation_rate, data_format)
    options = _options.layer_options('conv3d', **_options.builder_keywords(locals()))
    return _conv(checked, inputs, options)


conv1d.__doc__ = _CONV_DOC.format(rank=1, dims='width', dims_out='out_width')
conv2d.__doc__ = _CONV_DOC.format(rank=2, dims='height, width', dims_out='out_height, out_width')
conv3d.__doc__ = _CONV_DOC.format(rank=3, dims='depth, height, width',
                                  dims_out='out_depth, out_height, out_width')
