"""tfbnn.outliers: the cross-entropy from uniform of one draw and of a mixture of
draws, and the draws' mutual information, against their closed forms and
gradients."""
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


def _mixture_reference(z, axis):
    """-(1/K) sum_k log mean_r softmax(z_r)_k, in float64."""
    z = np.asarray(z, np.float64)
    p = np.exp(z - z.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return -np.log(p.mean(axis)).mean(-1)


@pytest.mark.parametrize('shape, axis', [((3, 6, 10), 0), ((2, 3, 6, 10), 1), ((2, 3, 6, 10), -3)])
def test_mixture_matches_the_cross_entropy_of_the_mean_prediction(shape, axis):
    z = np.random.RandomState(1).normal(0, 4, size=shape).astype(np.float32)
    with tf.Graph().as_default():
        h, per_draw = _run([outliers.mixture_uniform_cross_entropy(z, axis=axis),
                            outliers.uniform_cross_entropy(z)])
    want = _mixture_reference(z, axis)
    assert h.shape == want.shape
    np.testing.assert_allclose(h, want, rtol=1e-5)
    # log K <= H(U, p_bar) <= mean_r H(U, p_r) (-log is convex).
    assert (h >= np.log(10) - 1e-5).all()
    draws_axis = axis if axis >= 0 else axis + 1  # per_draw has no class axis
    assert (h <= per_draw.mean(draws_axis) + 1e-5).all()


def test_mixture_of_one_draw_is_the_single_draw_term():
    z = np.random.RandomState(2).normal(0, 2, size=(1, 5, 4)).astype(np.float32)
    with tf.Graph().as_default():
        mix, single = _run([outliers.mixture_uniform_cross_entropy(z, axis=0),
                            outliers.uniform_cross_entropy(z[0])])
    np.testing.assert_allclose(mix, single, rtol=1e-6)


def test_confident_draws_that_disagree_reach_log_k():
    # Two classes, two draws each sure of a different class: p_bar = (1/2, 1/2)
    # exactly, so H(U, p_bar) = log 2, while each draw alone pays about 25 nats.
    z = np.array([[[50., 0.]], [[0., 50.]]], np.float32)
    with tf.Graph().as_default():
        mix, single = _run([outliers.mixture_uniform_cross_entropy(z, axis=0),
                            outliers.uniform_cross_entropy(z)])
    np.testing.assert_allclose(mix, [np.log(2)], rtol=1e-6)
    np.testing.assert_allclose(single, [[25 + np.log1p(np.exp(-50.))]] * 2, rtol=1e-5)


def test_mixture_gradient_by_hand():
    # d/dz_r of -(1/K) sum_k log p_bar_k = (1/R) [p_r - (1/K) sum_k p_rk / p_bar_k p_r e_k]
    # = (p_r / R) * (1 - (1/K) * (1 / p_bar)) summed against softmax's Jacobian:
    # dH/dz_rj = (1/R) p_rj [ (1/K) sum_k p_rk / p_bar_k - (1/K) / p_bar_j ].
    z = np.array([[[0.3, -1.2, 2.0]], [[1.0, 0.5, -0.4]]], np.float32)
    with tf.Graph().as_default():
        logits = tf.constant(z)
        grad = _run(tf.gradients(outliers.mixture_uniform_cross_entropy(logits), logits)[0])
    p = np.exp(z.astype(np.float64))
    p /= p.sum(-1, keepdims=True)
    p_bar = p.mean(0)
    k, r = 3, 2
    want = p / r * ((p / p_bar).sum(-1, keepdims=True) / k - 1.0 / (k * p_bar))
    np.testing.assert_allclose(grad, want, atol=1e-6)


@pytest.mark.parametrize('make, axis, match', [
    (lambda: tf.constant(1.0), 0, 'a class axis'),
    (lambda: tf.placeholder(tf.float32, [2, None]), 0, 'known, positive size'),
    (lambda: tf.zeros([2, 3]), -1, 'not the class axis'),
    (lambda: tf.zeros([2, 3]), 1, 'not the class axis'),
    (lambda: tf.zeros([2, 3]), 2, 'must be a draws axis'),
    (lambda: tf.zeros([2, 3]), -3, 'must be a draws axis'),
])
def test_mixture_refuses_a_missing_class_axis_or_a_bad_draws_axis(make, axis, match):
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match=match):
            outliers.mixture_uniform_cross_entropy(make(), axis=axis)


@pytest.mark.parametrize('shape, axis', [((3, 6, 10), 0), ((2, 3, 6, 10), -3), ((6, 4, 10), 1)])
def test_draws_mutual_information_is_bald_of_the_draws(shape, axis):
    z = np.random.RandomState(3).normal(0, 3, size=shape).astype(np.float32)
    with tf.Graph().as_default():
        mi = _run(outliers.draws_mutual_information(z, axis=axis))
    p = np.exp(z - z.max(-1, keepdims=True)).astype(np.float64)
    p /= p.sum(-1, keepdims=True)

    def entropy(q):
        return -(q * np.log(q)).sum(-1)
    want = entropy(p.mean(axis)) - entropy(p).mean(axis if axis >= 0 else axis + 1)
    assert mi.shape == want.shape
    np.testing.assert_allclose(mi, want, rtol=1e-4, atol=1e-6)
    assert (mi >= -1e-6).all() and (mi <= np.log(min(shape[axis], 10)) + 1e-6).all()


def test_draws_mutual_information_closed_forms():
    # Draws that agree: 0. Two draws each sure of another of two classes: log 2.
    agree = np.tile(np.array([[[0.3, -1.0, 2.0]]], np.float32), (4, 1, 1))
    apart = np.array([[[60., 0.]], [[0., 60.]]], np.float32)
    with tf.Graph().as_default():
        zero, two = _run([outliers.draws_mutual_information(agree),
                          outliers.draws_mutual_information(apart)])
    np.testing.assert_allclose(zero, [0.0], atol=1e-6)
    np.testing.assert_allclose(two, [np.log(2)], rtol=1e-5)


def test_draws_mutual_information_refuses_the_class_axis():
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match='draws_mutual_information: axis -1 must be a draws '
                                             'axis'):
            outliers.draws_mutual_information(tf.zeros([2, 3]), axis=-1)
