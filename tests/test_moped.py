"""tfbnn.moped: posteriors that start at a deterministic checkpoint's weights."""
import json
import os
import re

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn import moped
from tfbnn.errors import CheckpointError, ConfigError
from tests import legacy_layers
from tests.layers.reference import softplus
from tests.test_getter import _mlp

X = np.random.RandomState(0).randn(6, 3)


def _deterministic_checkpoint(tmp_path):
    """A plain model under 'model', weights away from their initial values."""
    with tf.Graph().as_default():
        with tf.variable_scope('model'):
            out, _ = _mlp(tf.constant(X))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for v in tf.trainable_variables():
                sess.run(v.assign(np.random.RandomState(1).randn(*v.shape.as_list())))
            path = tf.train.Saver().save(sess, os.path.join(str(tmp_path), 'det.ckpt'))
            return path, sess.run(out), sess.run({v.op.name: v for v in tf.trainable_variables()})


def test_the_mean_network_is_the_deterministic_one_and_samples_spread_as_delta_says(
        tmp_path, sess):
    path, want, weights = _deterministic_checkpoint(tmp_path)
    sample = tf.placeholder_with_default(True, [])
    with tfbnn.bayesian_scope('model', sample=sample):
        out, _ = _mlp(tf.constant(X))
    report = moped.init_from_checkpoint(path, delta=0.2)
    assert sorted(report) == ['model/net/w1', 'model/net/w2', 'others']
    assert report['others'] == ['model/net/b1', 'model/net/steps']  # the rest, restored too
    sess.run(tf.global_variables_initializer())
    np.testing.assert_allclose(sess.run(out, {sample: False}), want, rtol=1e-5, atol=1e-8)
    by_name = {v.op.name: v for v in tf.global_variables()}
    w1 = weights['model/net/w1']
    scale = softplus(sess.run(by_name['model/net/w1_rho'])) + 1e-6
    np.testing.assert_allclose(scale, np.maximum(0.2 * np.abs(w1), 1e-5), rtol=1e-6)
    # The draws of w1 over 4000 passes: mean w, stddev 0.2 |w| (5 standard errors).
    draw = [op for op in tf.get_default_graph().get_operations()
            if op.name == 'model/net/w1_draw/sample'][0].outputs[0]
    draws = np.stack([sess.run(draw) for _ in range(4000)])
    se = 0.2 * np.abs(w1) / np.sqrt(4000)
    assert np.all(np.abs(draws.mean(0) - w1) < 5 * se + 1e-12)
    np.testing.assert_allclose(draws.std(0), 0.2 * np.abs(w1), rtol=0.06)


def test_errors_name_what_is_wrong(tmp_path):
    path, _, _ = _deterministic_checkpoint(tmp_path)
    with pytest.raises(ConfigError, match='no Bayesian posteriors'):
        moped.init_from_checkpoint(path)
    with tfbnn.bayesian_scope('other'):
        _mlp(tf.constant(X))
    with pytest.raises(ConfigError, match='delta must be a finite number above 0, got 0'):
        moped.init_from_checkpoint(path, delta=0)
    with pytest.raises(CheckpointError, match='has no variable other/net/w1'):
        moped.init_from_checkpoint(path)
    with pytest.raises(CheckpointError, match='cannot read checkpoint'):
        moped.init_from_checkpoint(str(tmp_path / 'nothing.ckpt'))
    for bad in (None, 3, ''):
        with pytest.raises(CheckpointError, match=r'^moped: checkpoint must be a path prefix '
                                                  r'\(e.g. run/model.ckpt-100\), got %r$' % bad):
            moped.init_from_checkpoint(bad)
    with pytest.raises(ConfigError, match="^moped: centre_prior must be a Python bool, got 'no'$"):
        moped.init_from_checkpoint(path, centre_prior='no')


def test_initial_values_are_the_checkpoint_s(tmp_path, sess):
    """initialized_value() and ExponentialMovingAverage read a variable's
    initial_value: it is the checkpoint's mean and the MOPED rho, as
    tf.train.init_from_checkpoint leaves it, not the random start."""
    path, _, weights = _deterministic_checkpoint(tmp_path)
    with tfbnn.bayesian_scope('model', sample=False):
        _mlp(tf.constant(X))
    moped.init_from_checkpoint(path, delta=0.2)
    v = _by_name()
    ema = tf.train.ExponentialMovingAverage(0.5)
    ema.apply([v['model/net/w1'], v['model/net/w1_rho']])
    sess.run(tf.global_variables_initializer())
    got = sess.run({name: ema.average(v[name]) for name in ('model/net/w1', 'model/net/w1_rho')})
    np.testing.assert_allclose(got['model/net/w1'], weights['model/net/w1'], rtol=1e-6)
    np.testing.assert_array_equal(got['model/net/w1_rho'], sess.run(v['model/net/w1_rho']))
    np.testing.assert_array_equal(sess.run(v['model/net/w1_rho'].initial_value),
                                  sess.run(v['model/net/w1_rho']))


def test_tfbnn_layers_start_from_the_tf_layers_model_of_the_same_names(tmp_path, sess):
    x = np.random.RandomState(4).randn(5, 6).astype(np.float32)
    with tf.Graph().as_default():
        h = legacy_layers.dense(tf.constant(x), 4, tf.nn.relu, name='fc1')
        out = legacy_layers.dense(h, 3, name='fc2')
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            for v in tf.trainable_variables():
                s.run(v.assign(np.random.RandomState(5).randn(*v.shape.as_list())))
            want = s.run(out)
            path = tf.train.Saver().save(s, os.path.join(str(tmp_path), 'layers.ckpt'))
    h = tfbnn.layers.dense(tf.constant(x), 4, tf.nn.relu, sample=False, name='fc1')
    got = tfbnn.layers.dense(h, 3, sample=False, name='fc2')
    report = moped.init_from_checkpoint(path, delta=0.1)
    assert sorted(report) == ['fc1/bias', 'fc1/kernel', 'fc2/bias', 'fc2/kernel', 'others']
    sess.run(tf.global_variables_initializer())
    np.testing.assert_allclose(sess.run(got), want, rtol=1e-5, atol=1e-5)


def test_the_job_starts_from_a_deterministic_tf_layers_checkpoint(tmp_path, capsys):
    from tfbnn.cli.train import main
    digits = tfbnn.data.load_digits()
    with tf.Graph().as_default():
        with tf.variable_scope('model'):
            h = legacy_layers.dense(legacy_layers.flatten(tf.constant(digits.x_test)), 16, tf.nn.relu,
                                name='fc1')
            logits = legacy_layers.dense(h, 10, name='output')
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            for v in tf.trainable_variables():
                s.run(v.assign(np.random.RandomState(6).randn(*v.shape.as_list()) * 0.3))
            error = np.mean(s.run(logits).argmax(1) != digits.y_test)
            path = tf.train.Saver().save(s, os.path.join(str(tmp_path), 'det.ckpt'))
    out = str(tmp_path / 'run')
    # A step size of 1e-12: the trained weights are still the checkpoint's.
    assert main(['--hidden', '16', '--epochs', '1', '--learning-rate', '1e-12', '--eval-samples',
                 '2', '--progress', 'never', '--output-dir', out, '--init-from', path,
                 '--moped-delta', '0.05']) == 0
    assert 'MOPED from %s: 4 posteriors start at its weights (sigma = 0.05 |w|), 0 other' % path \
        in capsys.readouterr().out
    with open(os.path.join(out, 'metrics.json')) as f:
        assert json.load(f)['mean_weights_test_error'] == pytest.approx(error)
    bad = str(tmp_path / 'bad')
    assert main(['--output-dir', bad, '--init-from', str(tmp_path / 'none.ckpt'),
                 '--progress', 'never']) == 2
    assert 'tfbnn-train: error: --init-from: cannot read checkpoint' in capsys.readouterr().err
    assert main(['--output-dir', bad, '--moped-delta', '0']) == 2
    assert '--moped-delta must be a positive number' in capsys.readouterr().err


def test_the_job_refuses_a_deterministic_checkpoint_of_a_deeper_network(tmp_path, capsys):
    """Its second hidden layer fits no layer of the job's model: it would be
    dropped without a word, and the network started from half of another."""
    from tfbnn.cli.train import main
    with tf.Graph().as_default():
        with tf.variable_scope('model'):
            h = legacy_layers.flatten(tf.zeros([1, 8, 8]))
            for name in ('fc1', 'fc2'):
                h = legacy_layers.dense(h, 16, tf.nn.relu, name=name)
            legacy_layers.dense(h, 10, name='output')
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            path = tf.train.Saver().save(s, os.path.join(str(tmp_path), 'deep.ckpt'))
    assert main(['--hidden', '16', '--epochs', '1', '--progress', 'never', '--output-dir',
                 str(tmp_path / 'run'), '--init-from', path]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and (
        '--init-from: %s holds model/fc2/bias (and 1 more), which this model has not: it was '
        'written by another model (same --model, --hidden and --norm needed)' % path) in err, err


def test_centre_prior_puts_the_prior_mean_at_the_weights(tmp_path, sess):
    path, _, weights = _deterministic_checkpoint(tmp_path)
    with tfbnn.bayesian_scope('model', centred_prior=True, prior=tfbnn.priors.normal(0.5)):
        _mlp(tf.constant(X))
    report = moped.init_from_checkpoint(path, delta=0.2, centre_prior=True)
    assert 'model/net/w1_prior_mean' not in report['others']
    sess.run(tf.global_variables_initializer())
    by_name = {v.op.name: v for v in tf.global_variables()}
    np.testing.assert_allclose(sess.run(by_name['model/net/w1_prior_mean']),
                               weights['model/net/w1'], rtol=1e-6)
    assert not by_name['model/net/w1_prior_mean'] in tf.trainable_variables()
    # At the start mu = m: the KL is that of N(0, s^2) against N(0, 0.5^2).
    kl = sess.run(tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)[0])
    s = softplus(sess.run(by_name['model/net/w1_rho'])) + 1e-6
    np.testing.assert_allclose(kl, np.sum(np.log(0.5 / s) + s ** 2 / (2 * 0.25) - 0.5),
                               rtol=1e-8)


def test_centre_prior_with_resource_variables(tmp_path, sess):
    path, _, weights = _deterministic_checkpoint(tmp_path)
    with tf.variable_scope('', use_resource=True):  # (TF 2.x graphs make these by default)
        with tfbnn.bayesian_scope('model', centred_prior=True):
            _mlp(tf.constant(X))
    moped.init_from_checkpoint(path, centre_prior=True)
    sess.run(tf.global_variables_initializer())
    by_name = {v.op.name: v for v in tf.global_variables()}
    np.testing.assert_allclose(sess.run(by_name['model/net/w1_prior_mean']),
                               weights['model/net/w1'], rtol=1e-6)


def test_an_initializer_built_before_moped_is_refused(tmp_path):
    path, _, _ = _deterministic_checkpoint(tmp_path)
    with tfbnn.bayesian_scope('model'):
        _mlp(tf.constant(X))
    init = tf.global_variables_initializer()  # would run the random initial values
    with pytest.raises(ConfigError, match="^moped: %s was built before init_from_checkpoint, "
                                          "and would run the variables' old initial values: "
                                          "call init_from_checkpoint first" % init.name):
        moped.init_from_checkpoint(path)


def test_centre_prior_without_prior_means_is_refused(tmp_path):
    path, _, _ = _deterministic_checkpoint(tmp_path)
    with tfbnn.bayesian_scope('model'):
        _mlp(tf.constant(X))
    with pytest.raises(ConfigError, match='centred_prior=True'):
        moped.init_from_checkpoint(path, centre_prior=True)


def _model_with_batch_norm(x):
    h = tf.matmul(x, tf.get_variable('fc/kernel', [3, 4], tf.float64))
    h = tfbnn.layers.batch_normalization(h, training=True, name='bn')
    return tf.reduce_sum(tf.matmul(h, tf.get_variable('out/kernel', [4, 2], tf.float64)))


def test_the_training_state_of_the_checkpoint_is_not_restored(tmp_path, sess):
    """Only the model: a new run counts its own steps (a KL warm-up reads
    them) and its optimiser starts afresh."""
    with tf.Graph().as_default():
        with tf.variable_scope('model'):
            loss = _model_with_batch_norm(tf.constant(X))
        step = tf.train.get_or_create_global_step()
        with tf.control_dependencies(tf.get_collection(tf.GraphKeys.UPDATE_OPS)):
            train = tf.train.AdamOptimizer(0.1).minimize(loss, step)
        with tf.Session() as det:
            det.run(tf.global_variables_initializer())
            for _ in range(5):
                det.run(train)
            path = tf.train.Saver().save(det, str(tmp_path / 'det.ckpt'))
            moving_mean = det.run('model/bn/moving_mean:0')
    with tfbnn.bayesian_scope('model'):
        loss = _model_with_batch_norm(tf.constant(X))
    step = tf.train.get_or_create_global_step()
    terms = tfbnn.losses.elbo(tf.reshape(loss, [1]), 10, warmup_steps=100)
    tf.train.AdamOptimizer(0.1).minimize(terms.loss, step)
    report = moped.init_from_checkpoint(path, delta=np.float32(0.1))  # a numpy number is one
    assert report['others'] == ['model/bn/beta', 'model/bn/gamma', 'model/bn/moving_mean',
                                'model/bn/moving_variance']
    sess.run(tf.global_variables_initializer())
    assert sess.run(step) == 0 and sess.run(terms.kl_coefficient) == 0.0
    np.testing.assert_allclose(sess.run('model/bn/moving_mean:0'), moving_mean)
    slots = [v for v in tf.global_variables() if 'Adam' in v.op.name or 'power' in v.op.name]
    assert slots and all(np.all(sess.run(v) == sess.run(v.initial_value)) for v in slots)


@pytest.mark.parametrize('value', [True, float('nan'), float('inf'), -0.1, '0.1'])
@pytest.mark.parametrize('what', ['delta', 'min_scale'])
def test_a_delta_or_floor_that_is_not_a_positive_number_is_refused(what, value):
    with tfbnn.bayesian_scope('model'):
        _mlp(tf.constant(X))
    with pytest.raises(ConfigError, match=r'moped: %s must be a finite number above \S+, got %s$'
                       % (what, re.escape(repr(value)))):
        moped.init_from_checkpoint('/no/such/checkpoint', **{what: value})
    with pytest.raises(ConfigError,
                       match='min_scale must be a finite number above 1e-06, got 1e-06'):
        moped.init_from_checkpoint('/no/such/checkpoint', min_scale=1e-6)  # the floor itself


@pytest.mark.parametrize('channels', [(4, 4), (3, 5)])
def test_a_transposed_convolution_starts_from_the_tf_layers_kernel_swapped(
        tmp_path, sess, channels):
    """tf.layers keeps a transposed kernel as [k, k, filters, in], tfbnn as
    [k, k, in, filters]: with as many channels in as out the shapes agree,
    and only the swap makes the mean network the trained one."""
    c_in, c_out = channels
    x = np.random.RandomState(6).randn(2, 3, 3, c_in).astype(np.float32)
    rng = np.random.RandomState(7)
    with tf.Graph().as_default():
        with tf.variable_scope('dec'):  # what tf.layers.conv2d_transpose makes and computes
            kernel = tf.get_variable('kernel', initializer=rng.randn(3, 3, c_out, c_in)
                                     .astype(np.float32))
            bias = tf.get_variable('bias', initializer=rng.randn(c_out).astype(np.float32))
        out = tf.nn.conv2d_transpose(x, kernel, [2, 6, 6, c_out], [1, 2, 2, 1], 'SAME') + bias
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            want = s.run(out)
            path = tf.train.Saver().save(s, os.path.join(str(tmp_path), 'dec.ckpt'))
    got = tfbnn.layers.conv2d_transpose(tf.constant(x), c_out, 3, 2, 'same', sample=False,
                                        name='dec')
    report = moped.init_from_checkpoint(path, delta=0.1)
    assert report['dec/kernel'][0] == [3, 3, c_in, c_out]
    sess.run(tf.global_variables_initializer())
    np.testing.assert_allclose(sess.run(got), want, rtol=1e-5, atol=1e-5)
    scale = sess.run(tf.nn.softplus(tf.get_default_graph().get_tensor_by_name(
        'dec/kernel_rho:0'))) + 1e-6  # the posterior scale's floor
    with tf.Session(graph=tf.Graph()):
        saved = tf.train.load_variable(path, 'dec/kernel')
    np.testing.assert_allclose(scale, np.maximum(0.1 * np.abs(np.swapaxes(saved, -1, -2)), 1e-5),
                               rtol=1e-4, atol=1e-7)  # float32 rho


def test_a_transposed_kernel_of_the_wrong_shape_says_which_layout_it_needs(tmp_path):
    with tf.Graph().as_default():
        tf.get_variable('dec/kernel', [3, 3, 3, 5])
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            path = tf.train.Saver().save(s, os.path.join(str(tmp_path), 'dec.ckpt'))
    tfbnn.layers.conv2d_transpose(tf.zeros([1, 3, 3, 3]), 4, 3, use_bias=False, name='dec')
    with pytest.raises(CheckpointError, match=re.escape(
            'moped: dec/kernel has shape [3, 3, 3, 5] in %s, the model needs [3, 3, 4, 3] (a '
            "transposed convolution's kernel as tf.layers lays it out, [..., filters, "
            'in_channels])' % path)):
        moped.init_from_checkpoint(path)


def test_a_scope_initialises_its_own_model_and_not_model_1(tmp_path, sess):
    """A second model 'model_1' (not in the checkpoint) is left alone by scope='model'."""
    path, want, weights = _deterministic_checkpoint(tmp_path)
    outs = []
    for scope in ('model', 'model_1'):
        with tfbnn.bayesian_scope(scope, sample=False):
            outs.append(_mlp(tf.constant(X))[0])
    report = moped.init_from_checkpoint(path, delta=0.2, scope='model')
    assert sorted(report) == ['model/net/w1', 'model/net/w2', 'others']
    assert report['others'] == ['model/net/b1', 'model/net/steps']
    sess.run(tf.global_variables_initializer())
    np.testing.assert_allclose(sess.run(outs[0]), want, rtol=1e-5, atol=1e-8)
    by_name = {v.op.name: v for v in tf.global_variables()}
    assert not np.allclose(sess.run(by_name['model_1/net/w1']), weights['model/net/w1'])
    np.testing.assert_allclose(softplus(sess.run(by_name['model_1/net/w1_rho'])) + 1e-6, 0.01,
                               rtol=1e-5)  # the getter's own initial scale, not delta |w|


def _checkpoint_of_dtype(tmp_path, dtype):
    """The _mlp model (float64 in its code) saved as `dtype`: w1, w2, b1, steps."""
    rng = np.random.RandomState(7)
    values = {'model/net/w1': rng.randn(3, 4), 'model/net/w2': rng.randn(4, 2),
              'model/net/b1': rng.randn(4)}
    with tf.Graph().as_default():
        variables = [tf.Variable(v.astype(dtype), name=n) for n, v in values.items()]
        variables.append(tf.Variable(np.int64(5), name='model/net/steps'))
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            path = tf.train.Saver(variables).save(s, os.path.join(str(tmp_path), 'c.ckpt'))
    return path, {n: v.astype(dtype) for n, v in values.items()}


def _mlp_of_dtype(x, dtype):
    with tf.variable_scope('net'):
        w1 = tf.get_variable('w1', [3, 4], dtype)
        b1 = tf.get_variable('b1', [4], dtype, tf.zeros_initializer())
        w2 = tf.get_variable('w2', [4, 2], dtype)
        tf.get_variable('steps', [], tf.int64, tf.zeros_initializer(), trainable=False)
        return tf.matmul(tf.nn.relu(tf.matmul(x, w1) + b1), w2)


@pytest.mark.parametrize('saved,model', [(np.float32, tf.float64), (np.float64, tf.float32)])
def test_a_checkpoint_of_another_float_dtype_is_cast_to_the_model_s(tmp_path, sess, saved,
                                                                     model):
    path, values = _checkpoint_of_dtype(tmp_path, saved)
    x = X.astype(model.as_numpy_dtype)
    with tfbnn.bayesian_scope('model', sample=False, centred_prior=True):
        out = _mlp_of_dtype(tf.constant(x), model)
    report = moped.init_from_checkpoint(path, delta=0.2, centre_prior=True)
    assert report['others'] == ['model/net/b1', 'model/net/steps']
    sess.run(tf.global_variables_initializer())
    v = sess.run(_by_name())
    for name in ('model/net/w1', 'model/net/w2', 'model/net/b1'):
        assert v[name].dtype == model.as_numpy_dtype
        np.testing.assert_array_equal(v[name], values[name].astype(model.as_numpy_dtype))
    np.testing.assert_array_equal(v['model/net/w1_prior_mean'], v['model/net/w1'])
    assert v['model/net/steps'] == 5
    want = np.maximum(x.dot(v['model/net/w1']) + v['model/net/b1'], 0).dot(v['model/net/w2'])
    np.testing.assert_allclose(sess.run(out), want, rtol=1e-6)


def test_a_float_checkpoint_for_an_integer_variable_is_refused_when_built(tmp_path):
    path, _ = _checkpoint_of_dtype(tmp_path, np.float32)
    with tfbnn.bayesian_scope('model'):
        with tf.variable_scope('net'):
            tf.get_variable('w1', [3, 4], tf.float64)
            tf.get_variable('b1', [4], tf.int32, tf.zeros_initializer())
    with pytest.raises(CheckpointError, match=(
            r"^moped: model/net/b1 is float32 in .*c\.ckpt, the model's model/net/b1 is int32: "
            r"only a float into a float \(or an integer into an integer\) is cast$")):
        moped.init_from_checkpoint(path)


def _by_name():
    return {v.op.name: v for v in tf.global_variables()}


def test_a_refusal_leaves_every_initialiser_as_it_was(tmp_path):
    """w2 of the wrong shape is refused before w1, which comes first, is
    touched: the graph is as it was, and still initialises."""
    _, _, weights = _deterministic_checkpoint(tmp_path)
    with tf.Graph().as_default():
        for name, value in weights.items():
            tf.Variable(value if name != 'model/net/w2' else value[:-1], name=name)
        with tf.Session() as s:
            s.run(tf.global_variables_initializer())
            path = tf.train.Saver().save(s, os.path.join(str(tmp_path), 'bad.ckpt'))
    with tfbnn.bayesian_scope('model'):
        _mlp(tf.constant(X))
    before = {v.op.name: v.initializer for v in tf.global_variables()}
    with pytest.raises(CheckpointError, match='model/net/w2 has shape'):
        moped.init_from_checkpoint(path)
    assert {v.op.name: v.initializer for v in tf.global_variables()} == before
    assert {'model/net/w1', 'model/net/w1_rho', 'model/net/b1'} <= set(before)
