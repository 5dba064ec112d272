"""data_format='channels_first' for every convolution: the layout, not the layer, changes."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tfbnn import layers

# builder, spatial rank, kwargs beyond filters.
BUILDERS = [
    (layers.conv1d, 1, dict(kernel_size=3, strides=2)),
    (layers.conv2d, 2, dict(kernel_size=(3, 2), padding='same')),
    (layers.conv3d, 3, dict(kernel_size=2, dilation_rate=2)),
    (layers.conv2d_transpose, 2, dict(kernel_size=3, strides=2)),
    (layers.conv3d_transpose, 3, dict(kernel_size=2, strides=(1, 2, 1), padding='same')),
]
IDS = ['conv1d', 'conv2d', 'conv3d', 'conv2d_transpose', 'conv3d_transpose']


def to_first(array, lead=1):
    """[lead..., dims..., C] -> [lead..., C, dims...]."""
    return np.moveaxis(array, -1, lead)


@pytest.mark.parametrize('builder,rank,kwargs', BUILDERS, ids=IDS)
def test_the_mean_path_is_the_channels_last_layer_transposed(sess, builder, rank, kwargs):
    x = np.random.RandomState(0).randn(*([2] + [6] * rank + [3]))
    last = builder(tf.constant(x), 4, sample=False, name='c', **kwargs)
    first = builder(tf.constant(to_first(x)), 4, sample=False, name='c', reuse=True,
                    data_format='channels_first', **kwargs)
    assert first.shape.as_list() == [2, 4] + last.shape.as_list()[1:-1]
    sess.run(tf.global_variables_initializer())
    np.testing.assert_allclose(sess.run(first), to_first(sess.run(last)), rtol=1e-12)


@pytest.mark.parametrize('estimator', layers.ESTIMATORS)
def test_sampled_outputs_have_the_posterior_moments_in_the_callers_layout(sess, estimator):
    """K = 4000 draws of conv2d on [batch, channels, h, w]: the mean of each
    output unit is conv(x, mu) + b_mu and its variance conv(x^2, s^2) + s_b^2
    (independent weights), both computed channels last by tf.nn.conv2d.
    Tolerances: 6 standard errors of the mean; 15% on the variance (its
    relative standard error at K = 4000 is about 2.2%: 6.7 of them, so that
    new seeds for these draws fail with a chance below 1e-6)."""
    k = 4000
    x = np.random.RandomState(1).randn(2, 3, 5, 4).astype(np.float64)
    y = layers.conv2d(tf.constant(x), 2, 3, num_samples=k, shared_inputs=True,
                      estimator=estimator, posterior_init_scale=0.3, name='c',
                      data_format='channels_first')
    assert y.shape.as_list() == [k, 2, 2, 3, 2]
    sess.run(tf.global_variables_initializer())
    graph = tf.get_default_graph()
    mu, rho, b_mu, b_rho = (graph.get_tensor_by_name('c/%s:0' % n)
                            for n in ('kernel_loc', 'kernel_rho', 'bias_loc', 'bias_rho'))
    x_last = tf.constant(np.moveaxis(x, 1, -1))
    mean = tf.nn.conv2d(x_last, mu, [1, 1, 1, 1], 'VALID') + b_mu
    var = (tf.nn.conv2d(tf.square(x_last), tf.square(tf.nn.softplus(rho)), [1, 1, 1, 1], 'VALID')
           + tf.square(tf.nn.softplus(b_rho)))
    draws, mean, var = sess.run([y, mean, var])
    mean, var = to_first(mean), to_first(var)
    np.testing.assert_array_less(np.abs(draws.mean(0) - mean), 6 * np.sqrt(var / k))
    np.testing.assert_allclose(draws.var(0), var, rtol=0.15)


def test_the_activation_sees_the_callers_axes(sess):
    """A softmax activation normalises the last axis of what the caller gets
    (the width, for channels first), as tf.layers applies it."""
    x = np.random.RandomState(2).randn(2, 3, 5, 4)
    logits = layers.conv2d(tf.constant(x), 2, 2, sample=False, name='c',
                           data_format='channels_first')
    probs = layers.conv2d(tf.constant(x), 2, 2, sample=False, name='c', reuse=True,
                          activation=tf.nn.softmax, data_format='channels_first')
    sess.run(tf.global_variables_initializer())
    logits, probs = sess.run([logits, probs])
    expected = np.exp(logits) / np.exp(logits).sum(-1, keepdims=True)
    np.testing.assert_allclose(probs, expected, rtol=1e-12)


def test_a_sample_axis_and_unknown_sizes(sess):
    """[K, batch, channels, h, w] with batch and h, w known only at run time."""
    x = tf.placeholder(tf.float32, [3, None, 2, None, None])
    y = layers.conv2d_transpose(x, 5, 2, strides=2, num_samples=3, name='up',
                                data_format='channels_first')
    assert y.shape.as_list() == [3, None, 5, None, None]
    sess.run(tf.global_variables_initializer())
    assert sess.run(y, {x: np.zeros((3, 4, 2, 3, 6))}).shape == (3, 4, 5, 6, 12)


@pytest.mark.parametrize('shape,kwargs,match', [
    ([1, 2, 5, 5], dict(data_format='NCHW'),
     r"conv2d 'c': data_format must be one of \('channels_last', 'channels_first'\), "
     r"got 'NCHW'"),
    ([1, None, 5, 5], dict(data_format='channels_first'),
     r"conv2d 'c': the inputs' channels \(axis 1, data_format='channels_first'\) must be known "
     r"when the graph is built, got shape \(1, \?, 5, 5\)"),
    ([2, 1, None, 5, 5], dict(data_format='channels_first', num_samples=2),
     r"axis 2, data_format='channels_first'"),
    ([1, 5, 5], dict(data_format='channels_first'),
     r"conv2d 'c': inputs must have rank 4, got shape \(1, 5, 5\)"),
    ([1, 2, 3, 3], dict(data_format='channels_first', kernel_size=5),
     r"padding 'valid' needs inputs at least as large as the \(dilated\) kernel, \(5, 5\), "
     r"got spatial size \(3, 3\)"),
])
def test_bad_channels_first_inputs(shape, kwargs, match):
    kwargs.setdefault('kernel_size', 3)
    with pytest.raises(ValueError, match=match):
        layers.conv2d(tf.placeholder(tf.float32, shape), 2, name='c', **kwargs)


@pytest.mark.parametrize('batch_dims', [1, 2])
def test_group_norm_normalises_the_callers_channel_axis(sess, batch_dims):
    """[(K,) batch, channels, d, h, w]: the same numbers as channels last,
    moved; the channel axis follows the batch axes."""
    shape = [3] * (batch_dims - 1) + [2, 4, 5, 3, 2]  # 4 channels, in 2 groups
    x = np.random.RandomState(3).randn(*shape) * 3.0 + 1.0
    axis = batch_dims
    last = layers.group_norm(tf.constant(np.moveaxis(x, axis, -1)), groups=2,
                             batch_dims=batch_dims, name='gn')
    first = layers.group_norm(tf.constant(x), groups=2, batch_dims=batch_dims, name='gn',
                              reuse=True, data_format='channels_first')
    assert first.shape.as_list() == list(x.shape)
    sess.run(tf.global_variables_initializer())
    gamma = [v for v in tf.global_variables() if v.op.name == 'gn/gamma'][0]
    sess.run(gamma.assign([1., 2., 3., 4.]))
    np.testing.assert_allclose(sess.run(first), np.moveaxis(sess.run(last), -1, axis),
                               rtol=1e-12)


def test_batch_norm_normalises_and_averages_the_callers_channels(sess):
    """Training: the batch statistics per channel of [batch, channels, h, w]
    (each channel's output has mean 0 and variance v / (v + eps)); the moving
    averages move as the channels-last layer's do; evaluation uses them."""
    x = np.random.RandomState(4).randn(6, 3, 4, 5) * np.array([1., 5., 9.])[:, None, None] + 2
    training = tf.placeholder(tf.bool, [])
    first = layers.batch_normalization(tf.constant(x), training=training, name='bn',
                                       data_format='channels_first')
    assert first.shape.as_list() == [6, 3, 4, 5]
    sess.run(tf.global_variables_initializer())
    update = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    out, _ = sess.run([first, update], {training: True})
    var = x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), var / (var + 1e-3), rtol=1e-10)
    n = 6 * 4 * 5
    moving = sess.run(['bn/moving_mean:0', 'bn/moving_variance:0'])
    np.testing.assert_allclose(moving[0], 0.01 * x.mean(axis=(0, 2, 3)), rtol=1e-10)
    np.testing.assert_allclose(moving[1], 0.99 + 0.01 * var * n / (n - 1), rtol=1e-10)
    expected = (x - moving[0][:, None, None]) / np.sqrt(moving[1][:, None, None] + 1e-3)
    np.testing.assert_allclose(sess.run(first, {training: False}), expected, rtol=1e-10)


@pytest.mark.parametrize('norm', [layers.group_norm, layers.batch_normalization])
def test_norms_refuse_an_unknown_data_format(norm):
    with pytest.raises(ValueError, match=r"data_format must be one of \('channels_last', "
                                         r"'channels_first'\), got 'NCDHW'"):
        norm(tf.zeros([2, 4, 3, 3, 3]), data_format='NCDHW')


@pytest.mark.parametrize('norm', [layers.group_norm, layers.batch_normalization])
def test_norms_need_known_channels_and_say_batch_dims(norm):
    """[K, batch, C, ...] given with batch_dims=1 has the batch where the
    channels should be: unknown, it is refused with the remedy."""
    with pytest.raises(ValueError, match=r"the inputs' channels \(axis 1, data_format="
                                         r"'channels_first'\) must be known when the graph is "
                                         r"built, got shape \(3, \?, 4, 5, 5\); inputs "
                                         r"\[num_samples, batch, channels, ...\] need "
                                         r"batch_dims=2"):
        norm(tf.placeholder(tf.float32, [3, None, 4, 5, 5]), data_format='channels_first')
    out = norm(tf.placeholder(tf.float32, [3, None, 4, 5, 5]), data_format='channels_first',
               batch_dims=2, name='ok', **({'groups': 2} if norm is layers.group_norm else {}))
    assert out.shape.as_list() == [3, None, 4, 5, 5]
