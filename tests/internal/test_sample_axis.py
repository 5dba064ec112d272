"""tfbnn.internal.sample_axis: tiling a batch K times, and folding K into the batch."""
import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn.internal.sample_axis import fold_samples, tile_samples


def test_tile_samples_repeats_the_batch(sess):
    x = np.arange(6.0).reshape(3, 2)
    got = sess.run(tile_samples(tf.constant(x), 4))
    assert got.shape == (4, 3, 2)
    assert all(np.array_equal(g, x) for g in got)


def test_fold_samples_applies_a_batch_op_to_every_sample(sess):
    x = np.random.RandomState(0).randn(3, 5, 4, 2)  # [K, batch, ...]
    calls = []

    def fn(t):  # an op with no notion of a sample axis: sum the last two axes
        calls.append(t.shape.as_list())
        return tf.reduce_sum(t, axis=[1, 2], keepdims=False)[:, None]
    out = fold_samples(tf.constant(x), fn)
    assert calls == [[15, 4, 2]]  # one call, K folded into the batch
    assert out.shape.as_list() == [3, 5, 1]
    np.testing.assert_allclose(sess.run(out), x.sum(axis=(2, 3))[..., None], rtol=1e-12)
