"""Bayesian transposed convolutions over 2 and 3 spatial dimensions.

The decoder half of an encoder-decoder (a U-Net on images or 3-D volumes):
each output position gathers the input positions whose strided kernel
window covers it, so a stride s multiplies every spatial size by s.
"""
import tensorflow.compat.v1 as tf

from tfbnn.layers import _bayesian, _options
from tfbnn.layers.conv import (channels_last_inputs, geometry, linear_map,
                               restore_data_format)

__all__ = ['conv2d_transpose', 'conv3d_transpose']

_OPS = {2: tf.nn.conv2d_transpose, 3: tf.nn.conv3d_transpose}


def _output_length(length, kernel, stride, padding):
    """The spatial size a transposed convolution makes of `length`, as `tf.layers`' does.

    'SAME': length * stride; 'VALID': length * stride + max(kernel - stride, 0).
    `length` may be a Python int or a scalar int32 `Tensor`.
    """
    extra = max(kernel - stride, 0) if padding == 'VALID' else 0
    return length * stride + extra


def _transpose_conv(rank, filters, kernel_size, strides, padding):
    """conv(x, w) for x [batch, dims..., in] and w [kernel..., in, filters]."""
    def conv(x, w):
        dynamic = tf.shape(x)
        sizes = [_output_length(dynamic[1 + i], kernel_size[i], strides[i], padding)
                 for i in range(rank)]
        # The transposed op takes its kernel as [kernel..., filters, in].
        kernel = tf.transpose(w, list(range(rank)) + [rank + 1, rank])
        y = _OPS[rank](x, kernel, tf.stack([dynamic[0]] + sizes + [filters]),
                       strides=[1] + list(strides) + [1], padding=padding)
        static = [tf.dimension_value(d) for d in x.shape[1:rank + 1]]
        y.set_shape([x.shape[0]] + [None if n is None else
                                    _output_length(n, k, s, padding)
                                    for n, k, s in zip(static, kernel_size, strides)]
                    + [filters])
        return y
    return conv


def _layer(rank, inputs, name, filters, kernel_size, strides, padding, data_format, keywords):
    kind = 'conv%dd_transpose' % rank
    checked = geometry(kind, rank, name, filters, kernel_size, strides, padding,
                       data_format=data_format)
    options = _options.layer_options(kind, **keywords)
    inputs, inner = channels_last_inputs(checked, inputs, options)
    linear, sign_shape = linear_map(rank, _transpose_conv(rank, checked.filters,
                                                          checked.kernel_size, checked.strides,
                                                          checked.padding))
    kernel_shape = list(checked.kernel_size) + [tf.dimension_value(inputs.shape[-1]),
                                                checked.filters]
    outputs = _bayesian.build_layer(inputs, kernel_shape, linear, sign_shape, inner)
    return restore_data_format(checked, outputs, options)


_DOC = """Bayesian {rank}-D transposed convolution, `tf.layers.conv{rank}d_transpose`-style.

    The posterior, estimators, KL collection, `sample` and
    `num_samples` are as in `tfbnn.layers.dense`; the kernel has the shape
    `kernel_size + [in_channels, filters]`, as the forward convolutions'
    (`tf.layers` stores a transposed kernel as `[..., filters, in_channels]`:
    swap the last two axes to carry its weights over, as `tfbnn.moped` does).

    Mathematical details:
      A transposed convolution is linear in its kernel, y = T(x, W), so the
      estimators are those of `tfbnn.layers.conv{rank}d` with T in place of
      the convolution: 'flipout' y = T(x, mu) + T(x * r_in, dK) * r_out;
      'local_reparameterization' draws each output from
      N(T(x, mu), T(x^2, s^2)). Each spatial size n becomes n * stride
      ('same') or n * stride + max(kernel - stride, 0) ('valid'), as in
      `tf.layers`; unknown sizes (None) are taken from the inputs at run time.

    Args:
      inputs: float32/float64 `Tensor` `[batch, {dims}, channels]`, or with a
        leading `num_samples` axis.
      filters: positive int, output channels.
      kernel_size: int or {rank} ints.
      strides: int or {rank} ints.
      padding: 'valid' or 'same' (case-insensitive).
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
def conv2d_transpose(inputs, filters, kernel_size, strides=1, padding='valid',
                     activation=None, use_bias=True, estimator='reparameterization', prior=None,
                     sample=True, kl_collection=None, num_samples=None, shared_inputs=False,
                     bayesian_bias=True,
                     kernel_loc_initializer=None, bias_loc_initializer=None,
                     posterior_init_scale=0.01, trainable=True, name=None, reuse=None,
                     data_format='channels_last'):
    keywords = _options.builder_keywords(locals())
    return _layer(2, inputs, name, filters, kernel_size, strides, padding, data_format,
                  keywords)


@_options.not_converted
def conv3d_transpose(inputs, filters, kernel_size, strides=1, padding='valid',
                     activation=None, use_bias=True, estimator='reparameterization', prior=None,
                     sample=True, kl_collection=None, num_samples=None, shared_inputs=False,
                     bayesian_bias=True,
                     kernel_loc_initializer=None, bias_loc_initializer=None,
                     posterior_init_scale=0.01, trainable=True, name=None, reuse=None,
                     data_format='channels_last'):
    keywords = _options.builder_keywords(locals())
    return _layer(3, inputs, name, filters, kernel_size, strides, padding, data_format,
                  keywords)


conv2d_transpose.__doc__ = _DOC.format(rank=2, dims='height, width',
                                       dims_out='out_height, out_width')
conv3d_transpose.__doc__ = _DOC.format(rank=3, dims='depth, height, width',
                                       dims_out='out_depth, out_height, out_width')
