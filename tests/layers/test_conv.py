"""tfbnn.layers.conv1d/2d/3d and conv2d/3d_transpose: strides, padding, 3D volumes, errors."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn import layers
from tests.layers import reference


@pytest.mark.parametrize('padding', ['valid', 'SAME'])
@pytest.mark.parametrize('estimator', layers.ESTIMATORS)
def test_conv2d_mean_path_matches_tf_nn_conv2d(sess, padding, estimator):
    x = np.random.RandomState(1).randn(2, 7, 7, 3)
    y = layers.conv2d(tf.constant(x), 4, (3, 2), strides=2, padding=padding, sample=False,
                      estimator=estimator, name='c')
    ys = layers.conv2d(tf.constant(x), 4, (3, 2), strides=2, padding=padding, name='c',
                       reuse=True, estimator=estimator)
    graph = tf.get_default_graph()
    ref = tf.nn.conv2d(tf.constant(x), graph.get_tensor_by_name('c/kernel_loc:0'), [1, 2, 2, 1],
                       padding.upper()) + graph.get_tensor_by_name('c/bias_loc:0')
    assert y.shape.as_list() == ys.shape.as_list() == ref.shape.as_list()
    sess.run(tf.global_variables_initializer())
    np.testing.assert_allclose(sess.run(y), sess.run(ref), rtol=1e-10)


@pytest.mark.parametrize('estimator', layers.ESTIMATORS)
def test_conv3d_on_a_volume(sess, estimator):
    """A two-layer 3D net on 8^3 volumes, with K = 3 samples, trains a step."""
    vol = np.random.RandomState(2).rand(3, 2, 8, 8, 8, 1).astype(np.float32)
    h = layers.conv3d(tf.constant(vol), 4, 3, strides=1, padding='same', activation=tf.nn.relu,
                      estimator=estimator, num_samples=3, name='c1')
    h = layers.conv3d(h, 5, 2, strides=2, estimator=estimator, num_samples=3, name='c2')
    assert h.shape.as_list() == [3, 2, 4, 4, 4, 5]
    kls = tfbnn.losses.get_kl_losses()
    assert [k.name for k in kls] == ['c1/kl_divergence:0', 'c2/kl_divergence:0']
    loss = tf.reduce_mean(tf.square(h)) + tfbnn.losses.kl_divergence() / 1000.0
    step = tf.train.AdamOptimizer(1e-2).minimize(loss)
    sess.run(tf.global_variables_initializer())
    before = sess.run('c1/kernel_loc:0')
    sess.run(step)
    assert np.abs(sess.run('c1/kernel_loc:0') - before).max() > 0
    # 4 * (27 * 1 + 1) + 5 * (8 * 4 + 1) weights, each with loc and rho.
    n_params = sum(int(np.prod(v.shape)) for v in tf.trainable_variables())
    assert n_params == 2 * (4 * 28 + 5 * 33)


def test_dilated_conv1d(sess):
    x = np.random.RandomState(3).randn(2, 9, 2)
    y = layers.conv1d(tf.constant(x), 3, 2, dilation_rate=3, sample=False, name='c')
    sess.run(tf.global_variables_initializer())
    w, b = sess.run(['c/kernel_loc:0', 'c/bias_loc:0'])
    expected = x[:, :-3] @ w[0] + x[:, 3:] @ w[1] + b
    np.testing.assert_allclose(sess.run(y), expected, rtol=1e-10)


@pytest.mark.parametrize('fn,kwargs,shape,match', [
    (layers.conv2d, dict(filters=0, kernel_size=3), [1, 5, 5, 1],
     "conv2d 'c': filters must be a positive integer, got 0"),
    (layers.conv2d, dict(filters=2, kernel_size=(3, 3, 3)), [1, 5, 5, 1],
     r"conv2d 'c': kernel_size must be an int or 2 ints, got \(3, 3, 3\)"),
    (layers.conv2d, dict(filters=2, kernel_size=3, strides=0), [1, 5, 5, 1],
     'strides must be a positive integer, got 0'),
    (layers.conv2d, dict(filters=2, kernel_size=3, padding='full'), [1, 5, 5, 1],
     r"padding must be one of \('valid', 'same'\), got 'full'"),
    (layers.conv2d, dict(filters=2, kernel_size=3, strides=2, dilation_rate=2), [1, 5, 5, 1],
     'strides > 1 and dilation_rate > 1 cannot be combined'),
    (layers.conv2d, dict(filters=2, kernel_size=3, estimator='lrt'), [1, 5, 5, 1],
     "conv2d 'c': estimator must be one of"),
    (layers.conv3d, dict(filters=2, kernel_size=3), [1, 5, 5, 1],
     r"conv3d 'c': inputs must have rank 5, got shape \(1, 5, 5, 1\)"),
    (layers.conv1d, dict(filters=2, kernel_size=3, num_samples=2), [1, 5, 1],
     r"conv1d 'c': inputs must have rank 4 \(\[num_samples, batch, ...\]"),
    (layers.conv2d, dict(filters=2, kernel_size=3, prior=tfbnn.priors.normal), [1, 5, 5, 1],
     'prior must be an object with a kl_divergence'),
    (layers.conv2d, dict(filters=2, kernel_size=5), [1, 3, 3, 1],
     r"conv2d 'c': padding 'valid' needs inputs at least as large as the \(dilated\) kernel, "
     r"\(5, 5\), got spatial size \(3, 3\); use padding='same'"),
    (layers.conv1d, dict(filters=2, kernel_size=3, dilation_rate=3), [1, 6, 1],
     r"kernel, \(7,\), got spatial size \(6,\)"),
    (layers.conv2d_transpose, dict(filters=0, kernel_size=3), [1, 5, 5, 1],
     "conv2d_transpose 'c': filters must be a positive integer, got 0"),
    (layers.conv3d_transpose, dict(filters=2, kernel_size=(3, 3)), [1, 5, 5, 5, 1],
     r"conv3d_transpose 'c': kernel_size must be an int or 3 ints, got \(3, 3\)"),
    (layers.conv2d_transpose, dict(filters=2, kernel_size=3, padding='full'), [1, 5, 5, 1],
     r"conv2d_transpose 'c': padding must be one of \('valid', 'same'\), got 'full'"),
    (layers.conv2d_transpose, dict(filters=2, kernel_size=3), [1, 5, 5, 5, 1],
     r"conv2d_transpose 'c': inputs must have rank 4, got shape"),
])
def test_bad_arguments(fn, kwargs, shape, match):
    with pytest.raises(ValueError, match=match):
        fn(tf.zeros(shape), name='c', **kwargs)


def test_undefined_channels():
    with pytest.raises(ValueError, match='the last dimension of the inputs must be defined'):
        layers.conv2d(tf.placeholder(tf.float32, [None, 5, 5, None]), 2, 3)


def test_a_size_check_only_where_the_size_is_known():
    y = layers.conv2d(tf.placeholder(tf.float32, [None, None, 4, 1]), 2, 3)
    assert y.shape.as_list() == [None, None, 2, 2]


def transposed(x, w, stride, padding):
    """The numpy transposed convolution; 'same' crops TensorFlow's way: the
    padding of the forward convolution it is the gradient of, max(k - s, 0),
    split with the smaller half first."""
    full = reference.transposed(x, w, stride)
    if padding == 'valid':
        return full
    crop = max(w.shape[0] - stride, 0) // 2
    sizes = [n * stride for n in x.shape[1:-1]]
    return full[(slice(None),) + tuple(slice(crop, crop + n) for n in sizes)]


@pytest.mark.parametrize('padding', ['valid', 'same'])
@pytest.mark.parametrize('kernel,stride', [(3, 2), (2, 2), (1, 3), (4, 1), (5, 2)])
def test_conv2d_transpose_mean_path_matches_the_closed_form(sess, padding, kernel, stride):
    """The posterior-mean output and its shape, as tf.layers.conv2d_transpose
    makes them: n * s ('same') or n * s + max(k - s, 0) ('valid')."""
    x = np.random.RandomState(4).randn(2, 5, 4, 3)
    y = layers.conv2d_transpose(tf.constant(x), 6, kernel, strides=stride, padding=padding,
                                sample=False, bias_loc_initializer=tf.constant_initializer(0.3),
                                name='c')
    sess.run(tf.global_variables_initializer())
    w = sess.run('c/kernel_loc:0')
    assert w.shape == (kernel, kernel, 3, 6)
    expected = transposed(x, w, stride, padding) + 0.3
    assert y.shape.as_list() == list(expected.shape)
    np.testing.assert_allclose(sess.run(y), expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize('estimator', layers.ESTIMATORS)
def test_a_3d_decoder_on_unknown_sizes_with_samples(sess, estimator):
    """conv3d down, conv3d_transpose back up: sizes known only at run time,
    K = 2 samples, one KL per layer, and a training step."""
    vol = tf.placeholder(tf.float32, [None, None, None, None, 1])
    h = layers.conv3d(vol, 4, 2, strides=2, estimator=estimator, num_samples=2,
                      shared_inputs=True, name='down')
    y = layers.conv3d_transpose(h, 1, 2, strides=2, estimator=estimator, num_samples=2,
                                name='up')
    assert y.shape.as_list() == [2, None, None, None, None, 1]
    assert len(tfbnn.losses.get_kl_losses()) == 2
    loss = tf.reduce_mean(tf.square(y - vol)) + tfbnn.losses.kl_divergence() / 1000.0
    step = tf.train.AdamOptimizer(1e-2).minimize(loss)
    sess.run(tf.global_variables_initializer())
    feed = {vol: np.random.RandomState(5).rand(3, 4, 6, 8, 1)}
    assert sess.run(y, feed).shape == (2, 3, 4, 6, 8, 1)
    before = sess.run('up/kernel_rho:0')
    sess.run(step, feed)
    assert np.abs(sess.run('up/kernel_rho:0') - before).max() > 0
