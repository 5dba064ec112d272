"""tfbnn.custom_getter: constraints act on the mean alone; share_draws ties one
draw of a weight to every use of it in a pass."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn.errors import ConfigError
from tests.layers.reference import softplus


def _by_name():
    return {v.op.name: v for v in tf.global_variables()}


def _clip(w):
    return tf.clip_by_value(w, -1.0, 1.0)


def test_a_constraint_projects_the_mean_and_leaves_the_scale_free(sess):
    with tfbnn.bayesian_scope('m', posterior_init_scale=0.01):
        w = tf.get_variable('w', [3, 2], tf.float64, tf.constant_initializer(5.0),
                            constraint=_clip)
    variables = _by_name()
    assert variables['m/w'].constraint is _clip and variables['m/w_rho'].constraint is None
    step = tf.train.GradientDescentOptimizer(1e-4).minimize(tf.reduce_sum(w))
    sess.run(tf.global_variables_initializer())
    sess.run(step)
    mean, rho = sess.run([variables['m/w'], variables['m/w_rho']])
    np.testing.assert_allclose(mean, 1.0)  # 5 - 1e-4, projected onto [-1, 1]
    # rho's gradient is eps (|eps| < 6 here), so one step moves sigma by < 1e-3 (clipped
    # to [-1, 1], rho = -4.6 would have become sigma = softplus(-1) = 0.31).
    np.testing.assert_allclose(softplus(rho) + 1e-6, 0.01, atol=1e-3)


def test_a_centred_priors_mean_gets_no_constraint(sess):
    with tfbnn.bayesian_scope('m', centred_prior=True):
        tf.get_variable('w', [3, 2], constraint=_clip)
    assert _by_name()['m/w_prior_mean'].constraint is None


def _head(x):
    with tf.variable_scope('lin', reuse=tf.AUTO_REUSE):
        return tf.matmul(x, tf.get_variable('w', [3, 1], tf.float64))


@pytest.mark.parametrize('share', [False, True])
def test_a_weight_used_twice_in_one_pass_is_one_draw_when_shared(sess, share):
    """f = (x w + x w) / 2 is x w: with one draw, Var f = sum x_i^2 sigma^2; with two
    independent draws averaged it would be half that."""
    tf.set_random_seed(1)
    x = tf.constant([[1.0, -2.0, 0.5]], tf.float64)
    with tfbnn.bayesian_scope('m', posterior_init_scale=0.3, share_draws=share):
        left, right = _head(x), _head(x)
    assert len(tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)) == 1
    sess.run(tf.global_variables_initializer())
    average = 0.5 * (left + right)
    draws = np.array([sess.run(average)[0, 0] for _ in range(4000)])
    mean = sess.run(tf.matmul(x, _by_name()['m/lin/w']))[0, 0]
    expected = (1.0 + 4.0 + 0.25) * 0.3 ** 2 * (1.0 if share else 0.5)
    # The sample variance of 4,000 normal draws has a relative sd of sqrt(2 / 3999) = 2.2%.
    assert np.var(draws) == pytest.approx(expected, rel=0.1)
    assert np.mean(draws) == pytest.approx(mean, abs=5 * np.sqrt(expected / 4000))


def test_shared_draws_hold_within_a_block_and_a_new_block_draws_afresh(sess):
    x = tf.constant([[1.0, -2.0, 0.5]], tf.float64)
    with tfbnn.bayesian_scope('m', share_draws=True):
        first = [_head(x) for _ in range(3)]
    with tfbnn.bayesian_scope('m', reuse=True, share_draws=True):
        again = _head(x)
    with tfbnn.bayesian_scope('m', reuse=True, share_draws=True, sample=False):
        mean = _head(x)
    assert len(tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)) == 1
    sess.run(tf.global_variables_initializer())
    a, b, c, m = sess.run([first[0], first[2], again, mean])
    assert a == b and a != c and m not in (a, c)
    assert m == sess.run(tf.matmul(x, _by_name()['m/lin/w']))


def test_shared_draws_keep_variable_scope_errors(sess):
    with tfbnn.bayesian_scope('m', share_draws=True):
        tf.get_variable('w', [3, 1])
        with pytest.raises(ValueError, match='already exists'):
            tf.get_variable('w', [3, 1])


def test_share_draws_must_be_a_bool():
    with pytest.raises(ConfigError, match='share_draws must be True or False'):
        tfbnn.custom_getter(share_draws=1)
