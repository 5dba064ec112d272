"""tfbnn.internal.posterior_scale: sigma = softplus(rho) + floor, its inverse, its checks."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tfbnn.errors import ConfigError
from tfbnn.internal.posterior_scale import (SCALE_FLOOR, check_init_scale, rho_initializer,
                                            scale_from_rho)


def test_scale_is_softplus_plus_the_floor_and_zero_where_pruned(sess):
    rho = np.array([-30.0, -3.0, 0.0, 2.0, -np.inf])
    got = sess.run(scale_from_rho(tf.constant(rho)))
    expected = np.log1p(np.exp(rho)) + SCALE_FLOOR
    expected[-1] = 0.0  # rho = -inf marks a pruned weight: sigma exactly 0
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=0)
    assert got[0] > 0  # a very negative rho still keeps the floor


def test_rho_initializer_starts_at_the_requested_scale(sess):
    with tf.variable_scope('s'):
        one = tf.get_variable('one', [3], tf.float64, rho_initializer(0.05))
        pair = tf.get_variable('pair', [2000], tf.float64, rho_initializer((0.01, 0.03)))
    sess.run(tf.global_variables_initializer())
    np.testing.assert_allclose(sess.run(scale_from_rho(one)), 0.05, rtol=1e-12)
    scales = sess.run(scale_from_rho(pair))
    # rho uniform between the two inverses: the scales stay inside the pair.
    assert 0.01 - 1e-12 <= scales.min() and scales.max() <= 0.03 + 1e-12
    assert scales.max() - scales.min() > 0.015


def test_rho_of_a_large_scale_is_finite(sess):
    # log(expm1(s)) overflows past s = 709; softplus^-1(s) = s + log(1 - exp(-s)).
    with tf.variable_scope('large'):
        rhos = [tf.get_variable('s%d' % i, [1], tf.float64, rho_initializer(s))
                for i, s in enumerate((25.0, 31.0, 710.0, 1e300))]
    sess.run(tf.global_variables_initializer())
    for s, rho in zip((25.0, 31.0, 710.0, 1e300), sess.run(rhos)):
        assert np.isfinite(rho).all()
        t = s - SCALE_FLOOR
        np.testing.assert_allclose(rho, t + np.log(-np.expm1(-t)), rtol=1e-14)


@pytest.mark.parametrize('value, expected', [(0.02, 0.02), (np.float32(0.5), 0.5),
                                             ([0.01, 0.02], (0.01, 0.02)),
                                             ((0.03, 0.03), (0.03, 0.03))])
def test_check_init_scale_accepts_a_scale_or_a_pair(value, expected):
    got = check_init_scale('layer', value)
    assert got == pytest.approx(expected) and type(got) is type(expected)


@pytest.mark.parametrize('value', [0.0, SCALE_FLOOR, -1.0, float('inf'), float('nan'), True,
                                   '0.1', (0.02, 0.01), (0.01,), (0.01, 0.02, 0.03), None])
def test_check_init_scale_refuses_what_is_not_a_scale(value):
    with pytest.raises(ConfigError, match=r"^layer: posterior_init_scale must be a finite number "
                                          r"above 1e-06 or a pair"):
        check_init_scale('layer', value)
