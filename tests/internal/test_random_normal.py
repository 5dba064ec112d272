"""tfbnn.internal.random_normal.standard_normal: the distribution, shapes and dtypes."""
import numpy as np
import pytest
import scipy.stats
import tensorflow.compat.v1 as tf

from tfbnn.internal.random_normal import standard_normal


@pytest.mark.parametrize('dtype', [tf.float32, tf.float64])
def test_draws_are_standard_normal(sess, dtype):
    z = sess.run(standard_normal([1000, 1001], dtype))  # odd size: the last pair is cut
    assert z.shape == (1000, 1001) and z.dtype == dtype.as_numpy_dtype
    flat = z.ravel().astype(np.float64)
    n = flat.size
    # Moments within 5 standard errors (mean sd 1/sqrt(n), var sd sqrt(2/n),
    # skewness sd sqrt(6/n), excess kurtosis sd sqrt(24/n)).
    assert abs(flat.mean()) < 5 / np.sqrt(n)
    assert abs(flat.var() - 1) < 5 * np.sqrt(2.0 / n)
    assert abs(scipy.stats.skew(flat)) < 5 * np.sqrt(6.0 / n)
    assert abs(scipy.stats.kurtosis(flat)) < 5 * np.sqrt(24.0 / n)
    # The whole distribution: Kolmogorov-Smirnov at the 0.1% level.
    assert scipy.stats.kstest(flat[:200000], 'norm').pvalue > 1e-3


def test_cosine_and_sine_halves_are_uncorrelated(sess):
    z = sess.run(standard_normal([2, 100000], tf.float64))
    assert abs(np.corrcoef(z[0], z[1])[0, 1]) < 5 / np.sqrt(100000)
    assert abs(np.corrcoef(z[0] ** 2, z[1] ** 2)[0, 1]) < 5 / np.sqrt(100000)


def test_dynamic_shape_and_fresh_draws(sess):
    shape = tf.placeholder(tf.int32, [None])
    z = standard_normal(shape, tf.float32)
    a = sess.run(z, {shape: [3, 1, 5]})
    b = sess.run(z, {shape: [3, 1, 5]})
    assert a.shape == (3, 1, 5) and np.all(np.isfinite(a)) and np.abs(a - b).min() > 0
    assert sess.run(z, {shape: [1]}).shape == (1,)
