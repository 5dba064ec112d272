"""tfbnn.outliers.uniform_cross_entropy against its closed form and its gradient."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tfbnn import outliers


def _run(fetch, feed=None):
    with tf.Session() as sess:
        return sess.run(fetch, feed)


def _reference(z):
    """-(1/K) sum_k log softmax(z)_k, in float64."""
    z = np.asarray(z, np.float64)
    shifted = z - z.max(-1, keepdims=True)
    log_p = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    return -log_p.mean(-1)


def test_matches_the_cross_entropy_from_uniform():
    z = np.random.RandomState(0).normal(0, 3, size=(4, 5, 10)).astype(np.float32)
    with tf.Graph().as_default():
        h = _run(outliers.uniform_cross_entropy(z))
    assert h.shape == (4, 5)
    np.testing.assert_allclose(h, _reference(z), rtol=1e-5)
    assert (h >= np.log(10) - 1e-5).all()


def test_is_log_k_exactly_at_equal_logits_and_shift_invariant():
    with tf.Graph().as_default():
        h = _run(outliers.uniform_cross_entropy(tf.fill([3, 7], 4.5)))
        shifted = _run(outliers.uniform_cross_entropy(tf.constant([[1., 2., 3.], [101., 102.,
                                                                                  103.]])))
    np.testing.assert_allclose(h, np.log(7), rtol=1e-6)
    np.testing.assert_allclose(shifted[0], shifted[1], rtol=1e-5)
    # By hand: logsumexp(1, 2, 3) - 2 = 3 + log(1 + e^-1 + e^-2) - 2.
    np.testing.assert_allclose(shifted[0], 1 + np.log(1 + np.exp(-1) + np.exp(-2)), rtol=1e-6)


def test_gradient_is_softmax_minus_uniform():
    z = np.array([[0.3, -1.2, 2.0, 0.0]], np.float32)
    with tf.Graph().as_default():
        logits = tf.constant(z)
        grad = _run(tf.gradients(outliers.uniform_cross_entropy(logits), logits)[0])
    softmax = np.exp(z) / np.exp(z).sum()
    np.testing.assert_allclose(grad, softmax - 0.25, atol=1e-6)


@pytest.mark.parametrize('make, match', [
    (lambda: tf.constant(1.0), 'a class axis'),
    (lambda: tf.placeholder(tf.float32, [None, None]), 'known, positive size'),
    (lambda: tf.zeros([3, 0]), 'known, positive size'),
    (lambda: tf.placeholder(tf.float32), 'known, positive size'),
])
def test_logits_without_a_known_class_axis_are_refused(make, match):
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match=match):
            outliers.uniform_cross_entropy(make())
