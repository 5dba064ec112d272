"""tfbnn.rho_step: the rho gradients scaled, nothing else, by hand and in one SGD step."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn import rho_step
from tfbnn.errors import ConfigError
from tfbnn.internal.posterior_scale import mark_rho


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
    rho = mark_rho(tf.get_variable('emb_rho', [4, 2], tf.float64, tf.zeros_initializer()))
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


def test_split_rho_parts_the_pairs_in_order():
    a = tf.get_variable('fc/kernel_loc', [2])
    b = mark_rho(tf.get_variable('fc/kernel_rho', [2]))
    c = mark_rho(tf.get_variable('fc/bias_rho', [2]))
    d = tf.get_variable('emb', [2])
    e = tf.get_variable('corr_rho', [2])  # the user's own, merely named so
    pairs = [(1, a), (2, b), (None, d), (3, c), (4, e)]
    assert rho_step.split_rho(pairs) == ([(2, b), (3, c)], [(1, a), (None, d), (4, e)])
    assert mark_rho(b) is b and len(tf.get_collection(tfbnn.GraphKeys.POSTERIOR_RHOS)) == 2
    assert rho_step.split_rho([]) == ([], [])


def _one_job_step(multiplier=1.0, **options):
    """The training job's graph (digits, 8 hidden units, SGD at 1.0): each
    trainable variable's change over its first step."""
    from tfbnn import data, run_config
    from tfbnn.training import graph as graph_lib
    dataset = data.load_digits()
    config = run_config.validate(dict(dict(hidden=[8], epochs=1, optimizer='sgd',
                                           learning_rate=1.0, scale_lr_multiplier=multiplier,
                                           eval_samples=2), **options))
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


@pytest.mark.parametrize('schedule', [dict(), dict(lr_warmup_epochs=0.25)])
def test_scale_adam_moves_each_rho_by_its_rate_and_the_means_as_sgd_does(schedule):
    """TF's Adam takes as its first step
    rate * sqrt(1 - b2) g / ((1 - b1) ... ) = rate * g / (|g| + eps / sqrt(1 - b2)),
    about rate * sign(g): every rho moves by the scales' rate times the
    schedule's factor, whatever its gradient's size. SGD at rate 1 (x the
    factor) gives g itself. The means take SGD's step, as without the option
    (the same seed draws the same noise)."""
    from tfbnn import data, schedules
    from tfbnn.training.graph import steps_per_epoch
    # the first step's factor: 1, or 1 / (0.25 M) under the warm-up
    factor = schedules.learning_rate_value(
        0, 1.0, steps_per_epoch(data.load_digits().x_train.shape[0], 128), 1,
        warmup_epochs=schedule.get('lr_warmup_epochs', 0.0))
    assert factor == (1.0 if not schedule else pytest.approx(1 / 3.0))
    sgd = _one_job_step(**schedule)
    adam = _one_job_step(scale_optimizer='adam', scale_learning_rate=0.01, **schedule)
    for name, delta in adam.items():
        if name.endswith('_rho'):
            grad = -sgd[name] / factor
            # float32 rho near -3.9 (spacing 2.4e-7): g is read well above that
            big = np.abs(grad) > 1e-4
            assert big.sum() >= 1
            expected = -0.01 * factor * grad / (np.abs(grad) + 1e-8 / np.sqrt(1 - 0.999))
            np.testing.assert_allclose(delta[big], expected[big], rtol=1e-3)
        else:
            np.testing.assert_allclose(delta, sgd[name], rtol=1e-6, atol=1e-9)


def test_the_scale_optimizer_follows_the_schedule_of_the_means():
    from tfbnn import run_config
    config = run_config.validate(dict(optimizer='sgd', learning_rate=0.1,
                                      scale_optimizer='adam', scale_learning_rate=1e-3))
    assert run_config.make_scale_optimizer(config)._lr == pytest.approx(1e-3)
    assert run_config.make_scale_optimizer(config, 0.05)._lr == pytest.approx(5e-4)
    same = run_config.validate(dict(optimizer='sgd'))
    assert run_config.make_scale_optimizer(same) is None
