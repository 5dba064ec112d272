"""tfbnn.moped: posteriors that start at a deterministic checkpoint's weights."""
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn import moped
from tfbnn.errors import CheckpointError, ConfigError
from tests.layers.reference import softplus
from tests.test_getter import _mlp

X = np.random.RandomState(0).randn(6, 3)


def _deterministic_checkpoint(tmp_path):
    """A plain model under 'model', weights away from their initial values."""
    with tf.Graph().as_default():
        with tf.variable_scope('model'):
            out, _ = _mlp(tf.constant(X))
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            for v in tf.trainable_variables():
                sess.run(v.assign(np.random.RandomState(1).randn(*v.shape.as_list())))
            path = tf.train.Saver().save(sess, os.path.join(str(tmp_path), 'det.ckpt'))
            return path, sess.run(out), sess.run({v.op.name: v for v in tf.trainable_variables()})


def test_the_mean_network_is_the_deterministic_one_and_samples_spread_as_delta_says(
        tmp_path, sess):
    path, want, weights = _deterministic_checkpoint(tmp_path)
    sample = tf.placeholder_with_default(True, [])
    with tfbnn.bayesian_scope('model', sample=sample):
        out, _ = _mlp(tf.constant(X))
    report = moped.init_from_checkpoint(path, delta=0.2)
    assert sorted(report) == ['model/net/w1', 'model/net/w2', 'others']
    assert report['others'] == ['model/net/b1', 'model/net/steps']  # the rest, restored too
    sess.run(tf.global_variables_initializer())
    np.testing.assert_allclose(sess.run(out, {sample: False}), want, rtol=1e-5, atol=1e-8)
    by_name = {v.op.name: v for v in tf.global_variables()}
    w1 = weights['model/net/w1']
    scale = softplus(sess.run(by_name['model/net/w1_rho'])) + 1e-6
    np.testing.assert_allclose(scale, np.maximum(0.2 * np.abs(w1), 1e-5), rtol=1e-6)
    # The draws of w1 over 4000 passes: mean w, stddev 0.2 |w| (5 standard errors).
    draw = [op for op in tf.get_default_graph().get_operations()
            if op.name == 'model/net/w1_draw/sample'][0].outputs[0]
    draws = np.stack([sess.run(draw) for _ in range(4000)])
    se = 0.2 * np.abs(w1) / np.sqrt(4000)
    assert np.all(np.abs(draws.mean(0) - w1) < 5 * se + 1e-12)
    np.testing.assert_allclose(draws.std(0), 0.2 * np.abs(w1), rtol=0.06)


def test_errors_name_what_is_wrong(tmp_path):
    path, _, _ = _deterministic_checkpoint(tmp_path)
    with pytest.raises(ConfigError, match='no tfbnn.custom_getter posteriors'):
        moped.init_from_checkpoint(path)
    with tfbnn.bayesian_scope('other'):
        _mlp(tf.constant(X))
    with pytest.raises(ConfigError, match='delta must be a positive number, got 0'):
        moped.init_from_checkpoint(path, delta=0)
    with pytest.raises(CheckpointError, match='has no variable other/net/w1'):
        moped.init_from_checkpoint(path)
    with pytest.raises(CheckpointError, match='cannot read checkpoint'):
        moped.init_from_checkpoint(str(tmp_path / 'nothing.ckpt'))
