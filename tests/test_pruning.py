"""tfbnn.pruning: mu = 0 and sigma = 0 for the lowest |mu| / sigma, exactly."""
import re

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tfbnn import diagnostics, layers, pruning
from tfbnn.errors import ConfigError

# fc kernel [3 inputs, 2 units]: input 0's weights have the lowest SNR.
LOC = np.array([[0.01, -0.02], [1.0, -2.0], [0.5, 3.0]])
SCALE = np.array([[0.5, 0.5], [0.1, 0.1], [0.1, 0.2]])


def _layer(estimator, x, num_samples=None):
    out = layers.dense(x, 2, use_bias=False, estimator=estimator, name='fc',
                       num_samples=num_samples, shared_inputs=num_samples is not None)
    loc, rho = diagnostics.kernel_posteriors()['fc']
    return out, loc, rho


def _set(sess, loc, rho):
    sess.run(tf.global_variables_initializer())
    loc.load(LOC, sess)
    rho.load(np.log(np.expm1(SCALE - 1e-6)), sess)


@pytest.mark.parametrize('estimator', layers.ESTIMATORS)
def test_pruned_weights_are_exactly_zero_in_every_draw(sess, estimator):
    x = tf.placeholder(tf.float32, [None, 3])
    out, loc, rho = _layer(estimator, x, num_samples=20)
    _set(sess, loc, rho)
    pruned, total, threshold = pruning.prune_by_snr(sess, 2.0 / 6.0)
    snr = np.abs(LOC) / SCALE
    assert (pruned, total) == (2, 6)
    assert threshold == pytest.approx(np.quantile(snr, 2.0 / 6.0))
    new_loc, new_rho = sess.run([loc, rho])
    assert np.all(new_loc[0] == 0) and np.all(np.isneginf(new_rho[0]))
    np.testing.assert_array_equal(new_loc[1:], LOC[1:].astype(np.float32))
    scale = sess.run(tf.get_default_graph().get_tensor_by_name('fc/kernel_scale:0'))
    assert np.all(scale[0] == 0.0) and np.all(scale[1:] > 0)
    # An input that only reaches pruned weights gives exactly 0 in all 20 draws.
    draws = sess.run(out, {x: [[1.0, 0.0, 0.0]] * 4})
    assert np.all(draws == 0.0)
    # Others still vary from draw to draw.
    assert np.std(sess.run(out, {x: [[0.0, 1.0, 0.0]]})[:, 0, 0]) > 0.01
    assert pruning.pruned_fraction(sess) == pytest.approx(2.0 / 6.0)


def test_snr_of_pruned_weights_is_zero_and_the_diagnostics_stay_finite(sess):
    x = tf.constant(np.ones([2, 3], np.float32))
    out, loc, rho = _layer('reparameterization', x)
    nll = tf.reduce_mean(tf.square(out))
    diag = diagnostics.layer_diagnostics(nll, tf.constant(0.0))
    _set(sess, loc, rho)
    pruning.prune_by_snr(sess, 0.5)
    snr = diagnostics.signal_to_noise(*sess.run([loc, rho]))
    assert np.sum(snr == 0) == 3 and np.all(np.isfinite(snr))
    values = sess.run(diag)['fc']
    assert np.isfinite(values.snr_median)


def test_fraction_zero_prunes_nothing_and_bad_fractions_are_refused(sess):
    x = tf.constant(np.ones([2, 3], np.float32))
    _, loc, rho = _layer('flipout', x)
    _set(sess, loc, rho)
    assert pruning.prune_by_snr(sess, 0.0)[0] == 0
    np.testing.assert_allclose(sess.run(loc), LOC, rtol=1e-6)
    for bad in (1.0, '0.5', True, None):
        with pytest.raises(ValueError, match=r'^prune: fraction must be a number in \[0, 1\), '
                                             r'got %s$' % re.escape(repr(bad))):
            pruning.prune_by_snr(sess, bad)


def test_a_graph_without_bayesian_layers_is_refused(sess):
    tf.Variable(1.0)
    sess.run(tf.global_variables_initializer())
    with pytest.raises(ValueError, match='no Bayesian kernels to prune$'):
        pruning.prune_by_snr(sess, 0.5)
    layers.dense(tf.ones([1, 2]), 2, name='fc')
    with pytest.raises(ValueError, match="no Bayesian kernels to prune under the scope 'nope'$"):
        pruning.prune_by_snr(sess, 0.5, scope='nope')


def test_pruning_again_adds_no_op_and_a_finalized_graph_prunes_when_prepared():
    with tf.Graph().as_default() as graph:
        _, loc, rho = _layer('flipout', tf.ones([2, 3]))
        with tf.Session() as sess:
            _set(sess, loc, rho)
            pruning.prune_by_snr(sess, 0.2)
            count = len(graph.get_operations())
            pruning.prune_by_snr(sess, 0.5)
            assert len(graph.get_operations()) == count
    with tf.Graph().as_default() as graph:  # MonitoredTrainingSession finalizes the graph
        _, loc, rho = _layer('flipout', tf.ones([2, 3]))
        init = tf.global_variables_initializer()
        graph.finalize()
        with tf.Session() as sess:
            sess.run(init)
            with pytest.raises(ConfigError, match=r'^prune: the graph is finalized .* call '
                                                  r'tfbnn.pruning.prepare_pruning\(\) before'):
                pruning.prune_by_snr(sess, 0.5)
    with tf.Graph().as_default() as graph:
        _, loc, rho = _layer('flipout', tf.ones([2, 3]))
        init = tf.global_variables_initializer()
        pruning.prepare_pruning()
        graph.finalize()
        with tf.Session() as sess:
            sess.run(init)
            assert pruning.prune_by_snr(sess, 0.5)[:2] == (3, 6)
            assert pruning.pruned_fraction(sess) == 0.5


def test_tied_ratios_prune_no_more_than_the_fraction_asked(sess):
    """Every mean 0 (every ratio 0): 10% asked is 10% pruned, not all of them; a
    smaller fraction later prunes nothing new and the pruned stay pruned."""
    x = tf.constant(np.ones([2, 10], np.float32))
    layers.dense(x, 10, kernel_loc_initializer=tf.zeros_initializer(), name='fc')
    sess.run(tf.global_variables_initializer())
    pruned, total, threshold = pruning.prune_by_snr(sess, 0.1)
    assert (pruned, total, threshold) == (10, 100, 0.0)  # floor(0.1 * 99) + 1
    assert pruning.pruned_fraction(sess) == pytest.approx(0.1)
    assert pruning.prune_by_snr(sess, 0.05)[0] == 10
    assert pruning.pruned_fraction(sess) == pytest.approx(0.1)


def test_ties_take_the_weights_pruned_before_first(sess):
    """Means 0 and weights pruned earlier tie at ratio 0: the earlier ones count first."""
    x = tf.constant(np.ones([2, 4], np.float32))
    layers.dense(x, 5, use_bias=False, name='fc')
    loc, rho = diagnostics.kernel_posteriors()['fc']
    sess.run(tf.global_variables_initializer())
    values = np.linspace(1.0, 2.0, 20).reshape(4, 5)
    values.flat[:10] = 0.0  # 5 means exactly 0, then 5 pruned before
    rhos = np.full([4, 5], -3.0)
    rhos.flat[5:10] = -np.inf
    loc.load(values, sess)
    rho.load(rhos, sess)
    pruned, total, _ = pruning.prune_by_snr(sess, 0.25)  # k = floor(0.25 * 19) + 1 = 5
    assert (pruned, total) == (5, 20)
    assert pruning.pruned_fraction(sess) == pytest.approx(0.25)


def test_a_scope_ranks_and_prunes_its_own_model_and_not_net_1(sess):
    """'net' and 'net_1' (as `variable_scope(None, default_name='net')` names
    two models): net_1's weights, of lower ratio, are neither ranked nor pruned."""
    x = tf.constant(np.ones([2, 3], np.float32))
    for _ in range(2):
        with tf.variable_scope(None, default_name='net'):
            layers.dense(x, 2, use_bias=False, name='fc')
    posteriors = diagnostics.kernel_posteriors()
    assert list(posteriors) == ['net/fc', 'net_1/fc']
    assert list(diagnostics.kernel_posteriors('net')) == ['fc']
    (loc, rho), (loc_1, rho_1) = posteriors['net/fc'], posteriors['net_1/fc']
    _set(sess, loc, rho)
    loc_1.load(np.full([3, 2], 1e-3), sess)  # ratios 0.001 / 0.5: the lowest of both models
    rho_1.load(np.full([3, 2], np.log(np.expm1(0.5))), sess)
    pruned, total, threshold = pruning.prune_by_snr(sess, 0.5, scope='net')
    assert (pruned, total) == (3, 6)  # k = floor(0.5 * 5) + 1 of net's 6 weights
    assert threshold == pytest.approx(np.quantile(np.abs(LOC) / SCALE, 0.5), rel=1e-5)
    # net's ratios [[0.02, 0.04], [10, 20], [5, 15]]: the three lowest go.
    np.testing.assert_array_equal(np.isneginf(sess.run(rho)), [[1, 1], [0, 0], [1, 0]])
    assert not np.isneginf(sess.run(rho_1)).any()
    assert pruning.pruned_fraction(sess, scope='net') == pytest.approx(0.5)
    assert pruning.pruned_fraction(sess, scope='net_1') == 0.0
