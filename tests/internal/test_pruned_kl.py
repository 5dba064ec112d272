"""tfbnn.internal.pruned_kl: a layer's KL counts only the weights that are kept."""
import math

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tfbnn import GraphKeys, custom_getter, diagnostics, layers, priors, pruning
from tfbnn.internal.pruned_kl import kept_kl

LOC = np.array([[0.3, -0.2, 0.0], [1.0, 0.5, -0.7]])
SCALE = np.array([[0.1, 0.2, 0.3], [0.05, 0.4, 0.25]])
PRUNED = np.array([[False, True, True], [False, False, True]])


def _normal_kl(loc, scale, sigma=1.0):
    """The closed form, elementwise, in numpy."""
    return np.log(sigma / scale) + (scale ** 2 + loc ** 2) / (2 * sigma ** 2) - 0.5


def _tensors():
    rho = np.where(PRUNED, -np.inf, np.log(np.expm1(SCALE)))
    return (tf.constant(np.where(PRUNED, 0.0, LOC)), tf.constant(np.where(PRUNED, 0.0, SCALE)),
            tf.constant(rho))


def test_normal_kl_is_the_closed_form_over_the_kept_weights(sess):
    loc, scale, rho = _tensors()
    kl = sess.run(kept_kl(priors.normal(2.0), loc, scale, rho))
    kept = ~PRUNED
    assert kl == pytest.approx(np.sum(_normal_kl(LOC[kept], SCALE[kept], 2.0)), rel=1e-12)


def test_without_pruned_weights_the_prior_sees_its_own_tensors(sess):
    loc, scale = tf.constant(LOC), tf.constant(SCALE)
    rho = tf.constant(np.log(np.expm1(SCALE)))
    for prior in (priors.normal(), priors.empirical_bayes_normal()):
        a, b = sess.run([kept_kl(prior, loc, scale, rho), prior.kl_divergence(loc, scale)])
        assert a == b  # the same graph, bit for bit


def test_empirical_bayes_fits_its_stddev_to_the_kept_weights_only(sess):
    loc, scale, rho = _tensors()
    kl = sess.run(kept_kl(priors.empirical_bayes_normal(), loc, scale, rho))
    kept_loc, kept_scale = LOC[~PRUNED], SCALE[~PRUNED]
    s = math.sqrt(np.mean(kept_loc ** 2 + kept_scale ** 2))
    assert kl == pytest.approx(np.sum(_normal_kl(kept_loc, kept_scale, s)), rel=1e-12)


def test_monte_carlo_kl_uses_the_kept_columns_of_every_sample(sess):
    loc, scale, rho = _tensors()
    rng = np.random.RandomState(0)
    draws = np.where(PRUNED, 0.0, LOC + SCALE * rng.randn(4, 2, 3))
    prior = priors.scale_mixture(0.5, 1.0, math.exp(-6))
    kl = sess.run(kept_kl(prior, loc, scale, rho, tf.constant(draws)))
    kept = draws[:, ~PRUNED]  # [4, n_kept]
    log_q = (-0.5 * ((kept - LOC[~PRUNED]) / SCALE[~PRUNED]) ** 2 - np.log(SCALE[~PRUNED])
             - 0.5 * math.log(2 * math.pi))

    def normal_pdf(x, s):
        return np.exp(-0.5 * (x / s) ** 2) / (s * math.sqrt(2 * math.pi))

    log_p = np.log(0.5 * normal_pdf(kept, 1.0) + 0.5 * normal_pdf(kept, math.exp(-6)))
    assert kl == pytest.approx(np.mean(np.sum(log_q - log_p, axis=1)), rel=1e-10)


@pytest.mark.parametrize('estimator', layers.ESTIMATORS)
@pytest.mark.parametrize('prior', ['normal', 'scale_mixture'])
def test_a_pruned_layer_trains_with_a_finite_loss_and_its_pruned_weights_stay(sess, estimator,
                                                                              prior):
    tf.set_random_seed(1)
    rng = np.random.RandomState(1)
    x = tf.constant(rng.randn(32, 5).astype(np.float32))
    y = tf.constant(rng.randn(32, 3).astype(np.float32))
    p = priors.normal() if prior == 'normal' else priors.scale_mixture(0.5, 1.0, math.exp(-6))
    pruning.allow_retraining()
    out = layers.dense(x, 3, estimator=estimator, prior=p, posterior_init_scale=0.1,
                       name='fc')
    kl = tf.add_n(tf.get_collection(GraphKeys.KL_LOSSES))
    loss = tf.reduce_mean(tf.square(out - y)) + kl / 1000.0
    opt = tf.train.MomentumOptimizer(0.05, 0.9)
    grads = pruning.freeze_pruned(opt.compute_gradients(loss))
    step = opt.apply_gradients(grads)
    sess.run(tf.global_variables_initializer())
    pruning.prune_by_snr(sess, 0.6)
    loc_var, rho_var = diagnostics.kernel_posteriors()['fc']
    mask = np.isneginf(sess.run(rho_var))
    assert mask.sum() == 9
    for _ in range(20):
        _, value = sess.run([step, loss])
        assert np.isfinite(value)
    loc, rho = sess.run([loc_var, rho_var])
    assert np.all(loc[mask] == 0.0) and np.all(np.isneginf(rho[mask]))
    assert np.all(np.isfinite(rho[~mask]))
    assert pruning.pruned_fraction(sess) == pytest.approx(0.6)


def test_a_getter_posterior_leaves_its_pruned_weights_out_of_its_kl(sess):
    pruning.allow_retraining()
    with tf.variable_scope('net', custom_getter=custom_getter(prior=priors.normal(),
                                                              posterior_init_scale=0.1)):
        w = tf.get_variable('w', [2, 3])
    kl = tf.add_n(tf.get_collection(GraphKeys.KL_LOSSES))
    sess.run(tf.global_variables_initializer())
    loc_var, rho_var = diagnostics.kernel_posteriors()['net/w']
    loc_var.load(LOC, sess)
    rho_var.load(np.where(PRUNED, -np.inf, np.log(np.expm1(SCALE - 1e-6))), sess)
    kept = ~PRUNED
    assert sess.run(kl) == pytest.approx(np.sum(_normal_kl(LOC[kept], SCALE[kept])), rel=1e-5)
    grad_loc, grad_rho = sess.run(tf.gradients(kl + tf.reduce_sum(w), [loc_var, rho_var]))
    assert np.all(np.isfinite(grad_loc)) and np.all(grad_rho[PRUNED] == 0)


def test_only_a_graph_that_allows_retraining_builds_the_kept_weights_kl(sess):
    x = tf.constant(np.ones([2, 3], np.float32))
    layers.dense(x, 2, use_bias=False, name='plain')
    pruning.allow_retraining()
    pruning.allow_retraining()  # once is enough
    assert tf.get_collection(GraphKeys.PRUNED_RETRAINING) == ['kl of the kept weights']
    layers.dense(x, 2, use_bias=False, name='kept')
    plain, kept = tf.get_collection(GraphKeys.KL_LOSSES)
    ops = [op.type for op in tf.get_default_graph().get_operations()]
    assert ops.count('Switch') > 0  # the kept layer's tf.cond
    sess.run(tf.global_variables_initializer())
    pruned = np.array([[True, False], [False, False], [True, True]])
    for name in ('plain', 'kept'):
        loc_var, rho_var = diagnostics.kernel_posteriors()[name]
        loc_var.load(np.where(pruned, 0.0, 0.5), sess)
        rho_var.load(np.where(pruned, -np.inf, -3.0), sess)
    # Without it a pruned weight's KL is that of a point mass: infinite.
    assert np.isinf(sess.run(plain))
    scale = np.log1p(np.exp(-3.0)) + 1e-6
    expected = 3 * _normal_kl(0.5, scale)  # the three kept weights
    assert sess.run(kept) == pytest.approx(expected, rel=1e-5)
