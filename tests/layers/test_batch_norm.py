"""tfbnn.layers.batch_normalization against Algorithm 1 of Ioffe & Szegedy."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tfbnn import layers

EPS = 1e-3


def _reference(x, gamma, beta, mean, var):
    return gamma * (x - mean) / np.sqrt(var + EPS) + beta


def _set(sess, name, value):
    var = [v for v in tf.global_variables() if v.op.name == name][0]
    var.load(value, sess)


@pytest.mark.parametrize('shape', [(32, 5), (3, 16, 5), (4, 6, 6, 5)])
def test_training_uses_batch_statistics_and_moves_the_averages(sess, shape):
    """All axes but the channels are reduced (a leading sample axis included);
    one update moves each average by (1 - momentum) towards the batch's, the
    variance's unbiased (n / (n - 1)) for rank-4 inputs as tf.layers' fused kernel."""
    x = np.random.RandomState(0).randn(*shape) * 3.0 + 1.5
    y = layers.batch_normalization(tf.constant(x), training=True, momentum=0.9, name='bn')
    updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    sess.run(tf.global_variables_initializer())
    gamma, beta = np.linspace(0.5, 2.0, 5), np.linspace(-1.0, 1.0, 5)
    _set(sess, 'bn/gamma', gamma)
    _set(sess, 'bn/beta', beta)
    axes = tuple(range(len(shape) - 1))
    mean, var = x.mean(axes), x.var(axes)
    np.testing.assert_allclose(sess.run(y), _reference(x, gamma, beta, mean, var), rtol=1e-9)
    assert len(updates) == 2
    sess.run(updates)
    np.testing.assert_allclose(sess.run('bn/moving_mean:0'), 0.1 * mean, rtol=1e-9)
    n = np.prod(shape[:-1])
    stored = var * n / (n - 1.0) if len(shape) == 4 else var
    np.testing.assert_allclose(sess.run('bn/moving_variance:0'), 0.9 + 0.1 * stored, rtol=1e-9)


def test_inference_uses_the_moving_averages_and_makes_no_updates(sess):
    x = np.random.RandomState(1).randn(8, 4)
    y = layers.batch_normalization(tf.constant(x), training=False, name='bn')
    assert not tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    sess.run(tf.global_variables_initializer())
    _set(sess, 'bn/moving_mean', np.full(4, 0.5))
    _set(sess, 'bn/moving_variance', np.full(4, 4.0))
    np.testing.assert_allclose(sess.run(y), _reference(x, 1.0, 0.0, 0.5, 4.0), rtol=1e-9)


def test_a_training_tensor_switches_at_run_time(sess):
    x = np.random.RandomState(2).randn(16, 3) + 2.0
    training = tf.placeholder(tf.bool, [])
    y = layers.batch_normalization(tf.constant(x), training=training, momentum=0.5, name='bn')
    updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    sess.run(tf.global_variables_initializer())
    # Evaluation: the stored averages, and the updates leave them as they are.
    out, _ = sess.run([y, updates], {training: False})
    np.testing.assert_allclose(out, _reference(x, 1.0, 0.0, 0.0, 1.0), rtol=1e-9)
    np.testing.assert_array_equal(sess.run('bn/moving_mean:0'), np.zeros(3))
    # Training: the batch's statistics, and the averages move halfway.
    out, _ = sess.run([y, updates], {training: True})
    np.testing.assert_allclose(out, _reference(x, 1.0, 0.0, x.mean(0), x.var(0)), rtol=1e-9)
    np.testing.assert_allclose(sess.run('bn/moving_mean:0'), 0.5 * x.mean(0), rtol=1e-9)


def test_variables_have_the_tf_layers_names_and_collections():
    """The names tf.layers.batch_normalization uses, so checkpoints carry over."""
    layers.batch_normalization(tf.zeros([2, 3]), training=True, name='bn')
    assert [v.op.name for v in tf.trainable_variables()] == ['bn/gamma', 'bn/beta']
    moving = [v.op.name for v in tf.get_collection(tf.GraphKeys.MOVING_AVERAGE_VARIABLES)]
    assert moving == ['bn/moving_mean', 'bn/moving_variance']
    assert len(tf.global_variables()) == 4
    layers.batch_normalization(tf.zeros([2, 3]), center=False, scale=False, name='plain')
    assert [v.op.name for v in tf.global_variables()][4:] == ['plain/moving_mean',
                                                            'plain/moving_variance']


@pytest.mark.parametrize('kwargs,inputs,match', [
    (dict(momentum=1.0), [2, 3], r"batch_normalization 'bn': momentum must be a number in \(0, 1\)"),
    (dict(epsilon=0.0), [2, 3], 'epsilon must be a positive finite number, got 0.0'),
    (dict(training='yes'), [2, 3],
     "training must be a Python bool or a scalar bool Tensor, got 'yes'"),
    (dict(training=tf.constant(1.0)), [2, 3],
     r'training must be a scalar bool Tensor, got a float32 Tensor of shape \(\)'),
    (dict(training=tf.constant([True, False])), [2, 3],
     r'training must be a scalar bool Tensor, got a bool Tensor of shape \(2,\)'),
    (dict(), [3], r'inputs need rank >= 2 and a known channel dimension, got shape \(3,\)'),
    (dict(trainable='no'), [2, 3], "batch_normalization 'bn': trainable must be a Python bool, "
                                   "got 'no'"),
    (dict(scale='no'), [2, 3], "scale must be a Python bool, got 'no'"),
    (dict(center=1), [2, 3], 'center must be a Python bool, got 1'),
])
def test_errors(kwargs, inputs, match):
    with pytest.raises(ValueError, match=match):
        layers.batch_normalization(tf.zeros(inputs), name='bn', **kwargs)


def test_unknown_channels_are_an_error():
    with pytest.raises(ValueError, match='a known channel dimension'):
        layers.batch_normalization(tf.placeholder(tf.float32, [None, None]), name='bn')


def test_int_inputs_are_an_error():
    with pytest.raises(ValueError, match="batch_normalization 'bn': inputs must be a float "
                                         "Tensor, got int32"):
        layers.batch_normalization(tf.zeros([2, 3], tf.int32), name='bn')


def test_a_numpy_bool_is_a_python_bool():
    layers.batch_normalization(tf.zeros([2, 3]), training=np.bool_(False), name='bn')
    assert not tf.get_collection(tf.GraphKeys.UPDATE_OPS)


@pytest.mark.parametrize('bad', [np.inf, np.nan])
def test_updates_at_training_false_leave_the_averages_even_for_a_bad_batch(sess, bad):
    """Not a step times 0: inf * 0 is NaN, and would be stored."""
    x = np.ones([2, 3, 3, 2])
    x[0, 0, 0, 0] = bad
    training = tf.placeholder(tf.bool, [])
    layers.batch_normalization(tf.constant(x), training=training, name='bn')
    updates = tf.get_collection(tf.GraphKeys.UPDATE_OPS)
    sess.run(tf.global_variables_initializer())
    sess.run(updates, {training: False})
    np.testing.assert_array_equal(sess.run('bn/moving_mean:0'), np.zeros(2))
    np.testing.assert_array_equal(sess.run('bn/moving_variance:0'), np.ones(2))


@pytest.mark.parametrize('shape', [(6, 3), (3, 4, 5, 3), (2, 3, 4, 2, 3)])
def test_moving_averages_match_tf_layers(sess, shape):
    """Where tf.layers.batch_normalization builds (TF 1.x): the same averages at every rank."""
    if not hasattr(tf.layers, 'batch_normalization') or tf.__version__ >= '2':
        pytest.skip('tf.layers.batch_normalization is a Keras 3 stub on this TensorFlow')
    x = tf.constant(np.random.RandomState(3).randn(*shape) * 2.0 + 1.0, tf.float32)
    layers.batch_normalization(x, training=True, momentum=0.9, name='ours')
    tf.layers.batch_normalization(x, training=True, momentum=0.9, name='theirs')
    sess.run(tf.global_variables_initializer())
    sess.run(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
    for what in ('moving_mean', 'moving_variance'):
        np.testing.assert_allclose(sess.run('ours/%s:0' % what), sess.run('theirs/%s:0' % what),
                                   rtol=1e-5)


def test_a_sample_axis_keeps_the_rule_of_its_examples(sess):
    """[K, B, H, W, C] with batch_dims=2 is images (unbiased), [B, D, H, W, C] volumes (biased)."""
    x = np.random.RandomState(4).randn(2, 3, 4, 4, 2)
    n = x[..., 0].size
    for name, batch_dims in (('images', 2), ('volumes', 1)):
        layers.batch_normalization(tf.constant(x), training=True, momentum=0.5, name=name,
                                   batch_dims=batch_dims)
    sess.run(tf.global_variables_initializer())
    sess.run(tf.get_collection(tf.GraphKeys.UPDATE_OPS))
    var = x.reshape(-1, 2).var(0)
    for name, factor in (('images', n / (n - 1.0)), ('volumes', 1.0)):
        np.testing.assert_allclose(sess.run('%s/moving_variance:0' % name),
                                   0.5 + 0.5 * var * factor, rtol=1e-9)
    with pytest.raises(ValueError, match='batch_dims must be 1 or 2, got 3'):
        layers.batch_normalization(tf.constant(x), batch_dims=3, name='bad')


@pytest.mark.parametrize('axis,batch_dims,data_format', [
    (1, 1, 'channels_first'), ([1], 1, 'channels_first'), (-1, 1, 'channels_last'),
    (3, 1, 'channels_last'), (2, 2, 'channels_first'), (-2, 2, 'channels_first')])
def test_the_tf_layers_axis_is_a_data_format(sess, axis, batch_dims, data_format):
    """Code written for tf.layers.batch_normalization(axis=...) gets the same
    outputs and averages as the data_format it names."""
    shape = [2, 3, 4, 5]
    x = tf.constant(np.random.RandomState(5).randn(*shape) * 2.0 + 1.0)
    by_axis = layers.batch_normalization(x, training=True, name='axis', axis=axis,
                                         batch_dims=batch_dims)
    by_format = layers.batch_normalization(x, training=True, name='format',
                                           batch_dims=batch_dims, data_format=data_format)
    sess.run(tf.global_variables_initializer())
    out = sess.run([by_axis, by_format, tf.get_collection(tf.GraphKeys.UPDATE_OPS)])
    np.testing.assert_array_equal(out[0], out[1])
    channels = shape[batch_dims] if data_format == 'channels_first' else shape[-1]
    for what in ('moving_mean', 'moving_variance'):
        got, want = sess.run(['axis/%s:0' % what, 'format/%s:0' % what])
        assert got.shape == (channels,)
        np.testing.assert_array_equal(got, want)


def test_the_axis_of_tf_layers_matches_it(sess):
    """Where tf.layers.batch_normalization builds (TF 1.x): axis=1 on NCHW.
    Its fused kernel refuses NCHW on a CPU, so the reference is its unfused
    path, whose moving variance is the biased one (ours: n / (n - 1) times it,
    as its fused kernel's)."""
    if not hasattr(tf.layers, 'batch_normalization') or tf.__version__ >= '2':
        pytest.skip('tf.layers.batch_normalization is a Keras 3 stub on this TensorFlow')
    x = tf.constant(np.random.RandomState(6).randn(4, 3, 5, 5) * 2.0 + 1.0, tf.float32)
    ours = layers.batch_normalization(x, training=True, momentum=0.9, name='ours', axis=1)
    theirs = tf.layers.batch_normalization(x, training=True, momentum=0.9, name='theirs',
                                           axis=1, fused=False)
    sess.run(tf.global_variables_initializer())
    out = sess.run([ours, theirs, tf.get_collection(tf.GraphKeys.UPDATE_OPS)])
    np.testing.assert_allclose(out[0], out[1], atol=1e-5)
    np.testing.assert_allclose(sess.run('ours/moving_mean:0'), sess.run('theirs/moving_mean:0'),
                               rtol=1e-5)
    n = 4 * 5 * 5
    np.testing.assert_allclose(sess.run('ours/moving_variance:0') - 0.9,
                               (sess.run('theirs/moving_variance:0') - 0.9) * n / (n - 1),
                               rtol=1e-5)


@pytest.mark.parametrize('kwargs,match', [
    (dict(axis=2), r"batch_normalization 'bn': axis 2 is not supported for inputs of rank 4: "
                   r"the channels must be the last axis \(-1\) or axis 1, right after the batch "
                   r"\(move them there with tf.transpose\)"),
    (dict(axis=-3, batch_dims=2), r'axis -3 is not supported for inputs of rank 4: the channels '
                                  r'must be the last axis \(-1\) or axis 2, right after the '
                                  r'batch and sample axes'),
    (dict(axis=[1, 2]), r'axis must be an int \(or a list of one\), got \[1, 2\]'),
    (dict(axis=True), r'axis must be an int \(or a list of one\), got True'),
    (dict(axis=-1, data_format='channels_first'),
     r"axis -1 \(the last\) disagrees with data_format='channels_first'"),
])
def test_bad_axes_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        layers.batch_normalization(tf.zeros([2, 3, 4, 5]), name='bn', **kwargs)
