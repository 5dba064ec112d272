"""The ELBO across W synchronous workers: the mean of the workers' losses (and
of their gradients, which is what SyncReplicasOptimizer applies) equals
single-process training with batch W B, in float64, for every scheme."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn import losses, replica_losses
from tfbnn.errors import ConfigError
from tfbnn.internal import compat
from tfbnn.training import graph as graph_lib
from tfbnn.training import sharding

N, B, W, SEED = 50, 8, 3, 11   # G = 24: M = 3 global batches, the last of only 2 examples


def _network(x, reuse):
    return tfbnn.layers.dense(x, 4, sample=False, name='fc', reuse=reuse)


@pytest.mark.parametrize('scheme', losses.SCHEMES)
def test_mean_worker_loss_and_gradient_equal_single_process_batch_wb(sess, scheme):
    rng = np.random.RandomState(0)
    x = tf.constant(rng.randn(N, 6))
    y = tf.constant(rng.randint(0, 4, N), tf.int64)
    step = tf.placeholder(tf.int64, [])
    g = B * W
    kw = dict(scheme=scheme, kl_weight=0.7, warmup_steps=4, step=step)

    def nll(idx, reuse):
        return tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.gather(y, idx), logits=_network(tf.gather(x, idx), reuse))

    # The single-process job with batch W B: its own index pipeline and elbo.
    iterator, start_epoch, skip = graph_lib._index_pipeline(N, g, 2, SEED)
    single_idx = iterator.get_next()
    single = losses.elbo(nll(single_idx, None), N, batch_size=g, **kw).loss
    # The W workers: the functions build_train_graph uses for a Replica.
    worker_losses = []
    for w in range(W):
        idx, count = sharding.replica_batch(step, N, g, W, w, SEED)
        worker_losses.append(replica_losses.replica_elbo(nll(idx, True), N, g, W, count,
                                                         **kw).loss)
    params = tf.trainable_variables()
    assert len(params) == 4 and all(p.dtype.base_dtype == tf.float64 for p in params)
    assert len(tf.get_collection(tfbnn.GraphKeys.KL_LOSSES)) == 1
    mean_loss = tf.add_n(worker_losses) / W
    mean_grads = [tf.add_n(gs) / W for gs in zip(*[tf.gradients(l, params)
                                                   for l in worker_losses])]
    single_grads = tf.gradients(single, params)
    sess.run(tf.global_variables_initializer())
    sess.run(tf.local_variables_initializer())
    sess.run([p.assign(p + 0.3 * rng.randn(*p.shape.as_list())) for p in params])
    sess.run(iterator.initializer, {start_epoch: 0, skip: 0})
    for s in range(6):  # two epochs, with the short last batch and the warm-up
        # Run both in one call, so the pipeline's batch and the workers' share
        # one step.
        want, got, want_g, got_g = sess.run([single, mean_loss, single_grads, mean_grads],
                                            {step: s})
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-6)
        assert abs(got - want) < 1e-10 * max(1.0, abs(want))
        for a, b in zip(got_g, want_g):
            np.testing.assert_allclose(a, b, rtol=0, atol=1e-6)
    # And it is a real check: one worker's loss alone is not the batch loss.
    alone = sess.run(worker_losses[0], {step: 0})
    sess.run(iterator.initializer, {start_epoch: 0, skip: 0})
    assert abs(alone - sess.run(single, {step: 0})) > 1e-3


def test_one_replica_is_the_plain_elbo(sess):
    nll = tf.constant([0.5, 1.0, 2.0], tf.float64)
    tfbnn.layers.dense(tf.ones([1, 2], tf.float64), 2, name='fc')
    for scheme in losses.SCHEMES:
        step = tf.constant(1, tf.int64)
        a = replica_losses.replica_elbo(nll, 10, 3, 1, tf.constant(3), scheme=scheme, step=step)
        b = losses.elbo(nll, 10, batch_size=3, scheme=scheme, step=step)
        sess.run(tf.global_variables_initializer())
        np.testing.assert_allclose(*sess.run([a, b]), rtol=1e-12)


@pytest.mark.parametrize('args,count,message', [
    ((10, 0, 1), 2, r'global_batch_size must be an integer >= 1, got 0'),
    ((10, 4, 0), 2, r'num_replicas must be an integer >= 1, got 0'),
    ((10, 2, 3), 2, r'global_batch_size \(2\) must be a multiple of num_replicas \(3\)'),
    ((100, 7, 2), 7, r'global_batch_size \(7\) must be a multiple of num_replicas \(2\)'),
    ((10, 4, 2), 5.5, r'global_batch_count must be an integer >= 1, got 5.5'),
    ((10, 4, 2), 0, r'global_batch_count must be an integer >= 1, got 0'),
    ((10, 4, 2), tf.constant([4, 1]), r'global_batch_count must be an integer scalar \(the '
                                      r'examples in the global batch\), got a Tensor of int32, '
                                      r'shape \(2,\)'),
    ((10, 4, 2), tf.constant(4.0), r'global_batch_count must be an integer scalar'),
], ids=['G', 'W', 'G<W', 'G%W', 'float count', 'zero count', 'vector count', 'float Tensor'])
def test_replica_elbo_argument_errors(args, count, message):
    with pytest.raises(ConfigError, match='replica_elbo: ' + message):
        replica_losses.replica_elbo(tf.zeros([2]), *args, global_batch_count=count)


@pytest.mark.parametrize('shape,dtype,message', [
    ([4], tf.int32, 'replica_elbo: nll must be a float Tensor, got int32'),
    ([2, 3, 4], tf.float32, r'replica_elbo: nll must have shape \[batch\] or \[num_samples, '
                            r'batch\].*got shape \(2, 3, 4\)'),
])
def test_replica_elbo_nll_errors_name_the_caller(shape, dtype, message):
    with pytest.raises(ConfigError, match=message):
        replica_losses.replica_elbo(tf.zeros(shape, dtype), 10, 4, 2, tf.constant(4))


@pytest.mark.parametrize('kwargs,message', [
    (dict(scheme='nope'), "replica_elbo: scheme must be one of .*, got 'nope'"),
    (dict(kl_weight=-1.0), 'replica_elbo: kl_weight must be a finite number >= 0'),
    (dict(kl_weight='a vector'), r'replica_elbo: kl_weight must be a scalar, got shape \(2,\)'),
    (dict(warmup_steps=-1), 'replica_elbo: warmup_steps must be an integer >= 0, got -1'),
    (dict(scheme='blundell'), "replica_elbo: scheme 'blundell' and warmup_steps > 0 need step="),
])
def test_replica_elbo_coefficient_errors_name_the_caller(kwargs, message):
    # A fresh graph: no global step, so 'blundell' without step= is an error.
    with tf.Graph().as_default():
        if kwargs.get('kl_weight') == 'a vector':
            kwargs = dict(kl_weight=tf.zeros([2]))
        with pytest.raises(ConfigError, match=message):
            replica_losses.replica_elbo(tf.zeros([2]), 10, 4, 2, tf.constant(4), **kwargs)


def test_kl_coefficient_errors_name_it():
    with tf.Graph().as_default():
        with pytest.raises(ConfigError, match='kl_coefficient: num_examples must be an integer '
                                              '>= 1, got 0'):
            losses.kl_coefficient(0)
        with pytest.raises(ConfigError, match="^elbo: scheme must be one of"):
            losses.elbo(tf.zeros([4]), 10, scheme='nope')


def test_replica_elbo_refuses_eager_mode(monkeypatch):
    nll, count = tf.zeros([2]), tf.constant(4)
    monkeypatch.setattr(compat.tf, 'executing_eagerly', lambda: True)
    with pytest.raises(ConfigError, match=r'tfbnn\.replica_losses\.replica_elbo builds a graph '
                                          r'but TensorFlow .* is executing eagerly'):
        replica_losses.replica_elbo(nll, 10, 4, 2, count)


def test_a_sample_axis_as_long_as_the_global_batch_is_a_sample_axis(sess):
    """K = G = W B samples of a replica's B examples: [8, 4] is [num_samples, batch]."""
    terms = replica_losses.replica_elbo(tf.ones([8, 4]), 100, 8, 2, tf.constant(8))
    assert sess.run(terms.nll_term) == pytest.approx(2 * 4 / 8.0)  # W sum(mean_k nll) / G
    with pytest.raises(ConfigError, match=r'has the batch size \(4\) in front'):
        replica_losses.replica_elbo(tf.ones([4, 50]), 100, 8, 2, tf.constant(8))
