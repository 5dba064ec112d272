"""group_norm against numpy, and tf.layers batch norm beside Bayesian layers."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn import layers


def numpy_group_norm(x, groups, eps, batch_dims=1):
    shape = x.shape
    g = x.reshape(shape[:-1] + (groups, shape[-1] // groups))
    axes = tuple(range(batch_dims, x.ndim - 1)) + (x.ndim,)
    mean = g.mean(axis=axes, keepdims=True)
    var = g.var(axis=axes, keepdims=True)
    return ((g - mean) / np.sqrt(var + eps)).reshape(shape)


@pytest.mark.parametrize('shape,groups,batch_dims', [
    ((4, 8), 2, 1), ((3, 5, 6), 3, 1), ((2, 4, 4, 8), 4, 1), ((2, 3, 3, 3, 6), 1, 1),
    ((3, 2, 4, 4, 8), 4, 2)])
def test_group_norm_matches_numpy(sess, shape, groups, batch_dims):
    x = np.random.RandomState(0).randn(*shape) * 3 + 1
    y = layers.group_norm(tf.constant(x), groups, batch_dims=batch_dims, name='gn')
    sess.run(tf.global_variables_initializer())
    np.testing.assert_allclose(sess.run(y), numpy_group_norm(x, groups, 1e-5, batch_dims),
                               rtol=1e-8, atol=1e-10)
    assert sorted(v.op.name for v in tf.trainable_variables()) == ['gn/beta', 'gn/gamma']


def test_group_norm_applies_gamma_and_beta(sess):
    x = np.random.RandomState(1).randn(2, 4)
    y = layers.group_norm(tf.constant(x), 2, name='gn')
    gamma, beta = np.array([1.0, 2.0, 3.0, 4.0]), np.array([0.5, 0.5, -1.0, 0.0])
    by_name = {v.op.name: v for v in tf.global_variables()}
    sess.run(tf.global_variables_initializer())
    sess.run([by_name['gn/gamma'].assign(gamma), by_name['gn/beta'].assign(beta)])
    np.testing.assert_allclose(sess.run(y), numpy_group_norm(x, 2, 1e-5) * gamma + beta,
                               rtol=1e-8)


@pytest.mark.parametrize('kwargs,match', [
    (dict(groups=3), "group_norm 'gn': groups must divide the 8 channels, got groups=3"),
    (dict(groups=0), 'groups must be a positive integer, got 0'),
    (dict(groups=2, epsilon=0.0), 'epsilon must be a positive finite number, got 0.0'),
    (dict(groups=2, epsilon=float('inf')), 'epsilon must be a positive finite number, got inf'),
    (dict(groups=2, batch_dims=3), r'inputs must have rank at least 4 \(batch_dims=3'),
    (dict(groups=2, trainable='no'), "group_norm 'gn': trainable must be a Python bool, got 'no'"),
    (dict(groups=2, scale='no'), "scale must be a Python bool, got 'no'"),
    (dict(groups=2, center='yes'), "center must be a Python bool, got 'yes'"),
])
def test_group_norm_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.group_norm(tf.zeros([2, 3, 8]), name='gn', **kwargs)


@pytest.mark.parametrize('shape', [[4, 8], [None, 8], [None, 1, 1, 8]])
def test_group_norm_of_one_value_per_group_is_an_error(shape):
    """Each group one value per example: the output would be beta alone."""
    with pytest.raises(ValueError, match=r"group_norm 'gn': groups=8 leaves one value per "
                                         r"example in each group of an input of shape .*; use "
                                         r"fewer groups"):
        layers.group_norm(tf.placeholder(tf.float32, shape), 8, name='gn')


@pytest.mark.parametrize('shape,batch_dims,constant', [
    ([None, 4, 8], 1, True), ([3, None, 4, 8], 2, True), ([None, None, 8], 1, False)])
def test_group_norm_reshapes_by_constants_where_it_can(sess, shape, batch_dims, constant):
    """One unknown axis: constant target shapes (TF 1.15's TFLite converter
    cannot follow run-time shape arithmetic); more: tf.shape. Same numbers."""
    x = np.random.RandomState(2).randn(*[3 if d is None else d for d in shape]) * 2 - 1
    inputs = tf.placeholder(tf.float64, shape)
    y = layers.group_norm(inputs, 2, batch_dims=batch_dims, name='gn')
    assert y.shape.as_list() == shape
    sess.run(tf.global_variables_initializer())
    np.testing.assert_allclose(sess.run(y, {inputs: x}), numpy_group_norm(x, 2, 1e-5, batch_dims),
                               rtol=1e-8, atol=1e-10)
    shape_ops = [op for op in tf.get_default_graph().get_operations() if op.type == 'Shape']
    assert (not shape_ops) == constant


def test_group_norm_int_inputs_are_an_error():
    with pytest.raises(ValueError, match="group_norm 'gn': inputs must be a float Tensor, got int32"):
        layers.group_norm(tf.zeros([2, 3, 8], tf.int32), 2, name='gn')


def test_batch_norm_beside_bayesian_layers(sess):
    """tfbnn.layers.batch_normalization's UPDATE_OPS run with the ELBO step, the KL
    collection holds the two Bayesian layers only, and inference uses the
    moving statistics."""
    rng = np.random.RandomState(0)
    x_data = rng.randn(64, 6) * 4.0 + 2.0
    y_data = (x_data[:, 0] > 2.0).astype(np.int64)
    x = tf.constant(x_data, tf.float32)
    training = tf.placeholder_with_default(True, [])
    h = layers.dense(x, 16, estimator='flipout', sample=training, name='fc1')
    h = tf.nn.relu(layers.batch_normalization(h, training=training, momentum=0.5, name='bn'))
    logits = layers.dense(h, 2, sample=training, name='fc2')
    nll = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y_data, logits=logits)
    terms = tfbnn.losses.elbo(nll, num_examples=64)
    assert len(tfbnn.losses.get_kl_losses()) == 2
    assert not tf.get_collection(tf.GraphKeys.REGULARIZATION_LOSSES)
    update_ops = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    assert len(update_ops) == 2
    with tf.control_dependencies(update_ops):
        train = tf.train.AdamOptimizer(0.05).minimize(terms.loss)
    sess.run(tf.global_variables_initializer())
    first = sess.run(terms.loss)
    for _ in range(60):
        sess.run(train)
    moving_mean = sess.run('bn/moving_mean:0')
    assert np.abs(moving_mean).max() > 0.1  # the update ops ran
    assert sess.run(terms.loss) < first
    eval_logits = sess.run(logits, {training: False})
    np.testing.assert_array_equal(eval_logits, sess.run(logits, {training: False}))
    assert np.mean(eval_logits.argmax(1) == y_data) > 0.9
