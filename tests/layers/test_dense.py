"""tfbnn.layers.dense: shapes, ranks, and its user-facing errors."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn import layers


def test_rank3_inputs_apply_to_the_last_axis(sess):
    x = np.random.RandomState(0).randn(2, 3, 4)
    y = layers.dense(tf.constant(x), 5, sample=False, name='d')
    y_k = layers.dense(tf.constant(np.stack([x] * 3)), 5, num_samples=3, name='d', reuse=True,
                       estimator='flipout')
    assert y.shape.as_list() == [2, 3, 5] and y_k.shape.as_list() == [3, 2, 3, 5]
    sess.run(tf.global_variables_initializer())
    loc, bias = sess.run(['d/kernel_loc:0', 'd/bias_loc:0'])
    np.testing.assert_allclose(sess.run(y), x @ loc + bias, rtol=1e-10)
    assert np.all(np.isfinite(sess.run(y_k)))


@pytest.mark.parametrize('num_samples', [None, 3])
@pytest.mark.parametrize('estimator', ['reparameterization', 'flipout',
                                       'local_reparameterization'])
def test_the_positions_of_an_example_share_its_weight_draw(sess, estimator, num_samples):
    """[batch, time, in]: y[e, t] = x[e, t] W_e with one draw W_e per example
    (and sample slice), so y is linear in a step's input: the third step's
    input is the sum of the first two's, and so is its output. Flipout gives
    two examples with equal inputs their own draws. Local reparameterisation
    draws each step by itself (documented), which breaks the sum."""
    x = np.random.RandomState(0).randn(2, 3, 4)
    x[:, 2] = x[:, 0] + x[:, 1]
    x[1] = x[0]
    inputs = x if num_samples is None else np.stack([x] * num_samples)
    y = layers.dense(tf.constant(inputs), 5, use_bias=False, estimator=estimator,
                     num_samples=num_samples, posterior_init_scale=0.5, name='d')
    sess.run(tf.global_variables_initializer())
    for _ in range(3):
        out = sess.run(y)
        error = np.abs(out[..., 2, :] - out[..., 0, :] - out[..., 1, :]).max()
        if estimator == 'local_reparameterization':
            assert error > 0.1
            continue
        assert error < 1e-12
        examples_differ = np.abs(out[..., 0, :, :] - out[..., 1, :, :]).max() > 0.1
        assert examples_differ == (estimator == 'flipout')


def test_unknown_batch_size_is_fine(sess):
    x = tf.placeholder(tf.float32, [None, 4])
    y = layers.dense(x, 2, estimator='local_reparameterization')
    sess.run(tf.global_variables_initializer())
    assert sess.run(y, {x: np.ones([7, 4])}).shape == (7, 2)


@pytest.mark.parametrize('kwargs,shape,match', [
    (dict(units=3, estimator='flip'), [2, 4],
     r"dense 'fc1': estimator must be one of \('reparameterization', 'flipout', "
     r"'local_reparameterization'\), got 'flip'"),
    (dict(units=0), [2, 4], "dense 'fc1': units must be a positive integer, got 0"),
    (dict(units=2.5), [2, 4], 'units must be a positive integer, got 2.5'),
    (dict(units=True), [2, 4], 'units must be a positive integer, got True'),
    (dict(units=3), [4], r"dense 'fc1': inputs must have rank 2 or more, got shape \(4,\)"),
    (dict(units=3, num_samples=2), [2, 4],
     r'inputs must have rank 3 or more \(\[num_samples, batch, ...\] because num_samples=2\)'),
    (dict(units=3, num_samples=3), [2, 5, 4],
     "num_samples=3 but the inputs' leading \\(sample\\) axis has size 2"),
    (dict(units=3, num_samples=0), [2, 4], 'num_samples must be a positive integer, got 0'),
    (dict(units=3, sample='yes'), [2, 4],
     "sample must be a Python bool or a scalar bool Tensor, got 'yes'"),
    (dict(units=3, posterior_init_scale=0.0), [2, 4],
     r'posterior_init_scale must be a finite number above 1e-06 or a pair \(low, high\) of '
     r'them with low <= high, got 0.0'),
    (dict(units=3, posterior_init_scale=(0.1, 0.01)), [2, 4],
     r'posterior_init_scale must be .* with low <= high, got \(0.1, 0.01\)'),
    (dict(units=3, posterior_init_scale=(0.0, 0.01)), [2, 4],
     r'posterior_init_scale must be a finite number above 1e-06'),
    (dict(units=3, prior=1.0), [2, 4], 'prior must be an object with a kl_divergence'),
    (dict(units=3, kl_collection=''), [2, 4], 'kl_collection must be a non-empty string'),
    (dict(units=3, activation='relu'), [2, 4], 'activation must be callable or None'),
])
def test_bad_arguments_name_the_layer_and_the_allowed_values(kwargs, shape, match):
    with pytest.raises(ValueError, match=match):
        layers.dense(tf.zeros(shape), name='fc1', **kwargs)


def test_bad_inputs():
    with pytest.raises(ValueError, match=r"dense 'bayesian_dense': the last dimension of the "
                                         r"inputs must be defined"):
        layers.dense(tf.placeholder(tf.float32, [None, None]), 3)
    with pytest.raises(ValueError, match='inputs must be float32 or float64, got int32'):
        layers.dense(tf.zeros([2, 3], tf.int32), 3)
    with pytest.raises(ValueError, match='inputs must be float32 or float64, got float16'):
        layers.dense(tf.zeros([2, 3], tf.float16), 3)  # the getter takes float16 weights
    with pytest.raises(ValueError, match='scalar bool Tensor, got a float32 Tensor'):
        layers.dense(tf.zeros([2, 3]), 3, sample=tf.constant(1.0))
    with pytest.raises(ValueError, match='must have rank 2 or more, got shape <unknown>'):
        layers.dense(tf.placeholder(tf.float32), 3)


def test_errors_are_tfbnn_config_errors():
    with pytest.raises(tfbnn.errors.ConfigError):
        layers.dense(tf.zeros([2, 3]), -1)


def test_a_scale_range_draws_rho_uniformly_between_the_inverse_softplus_of_its_ends(sess):
    x = tf.constant(np.ones([2, 50], np.float32))
    layers.dense(x, 40, posterior_init_scale=(0.02, 0.05), name='fc')
    sess.run(tf.global_variables_initializer())
    by_name = {v.op.name: v for v in tf.global_variables()}
    rho = sess.run(by_name['fc/kernel_rho']).ravel()
    low, high = np.log(np.expm1(0.02 - 1e-6)), np.log(np.expm1(0.05 - 1e-6))
    assert low - 1e-6 <= rho.min() and rho.max() <= high + 1e-6
    # 2000 draws of U(low, high): mean and spread within 5 standard errors.
    width = high - low
    assert abs(rho.mean() - (low + high) / 2) < 5 * width / np.sqrt(12 * rho.size)
    assert abs(rho.std() - width / np.sqrt(12)) < 0.05 * width
    scale = sess.run(tf.get_default_graph().get_tensor_by_name('fc/kernel_scale:0'))
    assert 0.02 - 1e-6 <= scale.min() and scale.max() <= 0.05 + 1e-6
