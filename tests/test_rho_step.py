"""tfbnn.rho_step: the rho gradients scaled, nothing else, by hand and in one SGD step."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn import rho_step
from tfbnn.errors import ConfigError


def test_only_the_rho_gradients_are_multiplied(sess):
    x = tf.constant(np.random.RandomState(0).randn(5, 3))
    out = tfbnn.layers.dense(x, 2, sample=False, name='fc')
    with tfbnn.bayesian_scope('getter'):  # tf.get_variable code made Bayesian
        out += tf.matmul(x, tf.get_variable('plain/kernel', [3, 2], tf.float64))
    opt = tf.train.GradientDescentOptimizer(1.0)
    pairs = [(g, v) for g, v in opt.compute_gradients(tf.reduce_sum(out ** 2)
                                                      + tfbnn.losses.kl_divergence())
             if g is not None]
    names = sorted(v.op.name for _, v in pairs if rho_step.is_rho(v))
    assert names == ['fc/bias_rho', 'fc/kernel_rho', 'getter/plain/kernel_rho']
    scaled = rho_step.scale_rho_gradients(pairs, 7.5)
    sess.run(tf.global_variables_initializer())
    before, after = sess.run([[g for g, _ in pairs], [g for g, _ in scaled]])
    for (_, v), b, a in zip(pairs, before, after):
        np.testing.assert_allclose(a, 7.5 * b if rho_step.is_rho(v) else b, rtol=1e-12)
    assert rho_step.scale_rho_gradients(pairs, 1) == pairs


def test_sparse_gradients_and_none_are_kept_in_form(sess):
    rho = tf.get_variable('emb_rho', [4, 2], tf.float64, tf.zeros_initializer())
    sparse = tf.IndexedSlices(tf.ones([1, 2], tf.float64), tf.constant([2]), tf.constant([4, 2]))
    other = tf.get_variable('w', [2], tf.float64)
    (g, _), (none, _) = rho_step.scale_rho_gradients([(sparse, rho), (None, other)], 3.0)
    assert isinstance(g, tf.IndexedSlices) and none is None
    np.testing.assert_array_equal(sess.run(g.values), [[3.0, 3.0]])


def test_one_sgd_step_moves_rho_m_times_as_far_and_the_means_as_before():
    moves = {}
    for m in (1.0, 20.0):
        with tf.Graph().as_default():
            tf.set_random_seed(0)
            x = tf.constant(np.random.RandomState(1).randn(8, 4))
            out = tfbnn.layers.dense(x, 3, sample=False, name='fc')
            loss = tf.reduce_mean(out ** 2) + 0.01 * tfbnn.losses.kl_divergence()
            opt = tf.train.GradientDescentOptimizer(0.1)
            step = opt.apply_gradients(rho_step.scale_rho_gradients(
                opt.compute_gradients(loss), m))
            variables = {v.op.name: v for v in tf.trainable_variables()}
            with tf.Session() as sess:
                sess.run(tf.global_variables_initializer())
                start = sess.run(variables)
                sess.run(step)
                end = sess.run(variables)
            moves[m] = {k: end[k] - start[k] for k in variables}
    for name, delta in moves[1.0].items():
        expected = 20.0 * delta if name.endswith('_rho') else delta
        np.testing.assert_allclose(moves[20.0][name], expected, rtol=1e-9, atol=1e-15)
    assert np.abs(moves[1.0]['fc/kernel_rho']).max() > 0


@pytest.mark.parametrize('bad', [0, -1.0, float('inf'), float('nan'), True, '2', None])
def test_a_bad_multiplier_is_refused(bad):
    with pytest.raises(ConfigError, match=r'^scale_rho_gradients: multiplier must be a finite '
                                          r'number > 0, got '):
        rho_step.scale_rho_gradients([], bad)


def _one_job_step(multiplier):
    """The training job's graph (digits, 8 hidden units, SGD at 1.0): each
    trainable variable's change over its first step."""
    from tfbnn import data, run_config
    from tfbnn.training import graph as graph_lib
    dataset = data.load_digits()
    config = run_config.validate(dict(hidden=[8], epochs=1, optimizer='sgd', learning_rate=1.0,
                                      scale_lr_multiplier=multiplier, eval_samples=2))
    with tf.Graph().as_default():
        tf.set_random_seed(0)
        spec = run_config.model_spec(config, dataset.task, dataset.num_classes)
        g = graph_lib.build_train_graph(config, dataset, spec, '/cpu:0')
        variables = {v.op.name: v for v in tf.trainable_variables()}
        with tf.Session() as sess:
            sess.run(tf.group(tf.global_variables_initializer(), tf.local_variables_initializer()),
                     g.data_feed)
            sess.run(g.iterator_init, {g.start_epoch: 0, g.skip_batches: 0})
            start = sess.run(variables)
            sess.run(g.train_op)
            end = sess.run(variables)
    return {k: end[k].astype(np.float64) - start[k] for k in variables}


def test_the_training_job_scales_the_rho_steps_by_its_flag():
    one, ten = _one_job_step(1.0), _one_job_step(10.0)
    rhos = [k for k in one if k.endswith('_rho')]
    assert len(rhos) == 4  # kernel and bias of fc1 and output
    for name in one:
        if name.endswith('_rho'):
            # float32 variables near -4.6: compare where the step is well above their spacing
            big = np.abs(one[name]) > 1e-4
            assert big.sum() >= 10 or name.endswith('bias_rho') and big.sum() >= 1
            np.testing.assert_allclose(ten[name][big], 10 * one[name][big], rtol=2e-2)
        else:
            np.testing.assert_allclose(ten[name], one[name], rtol=1e-6, atol=1e-9)
