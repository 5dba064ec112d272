"""Each worker's share of a global batch: the union over the workers is the
single-process batch of W B examples, step by step, across epochs."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tfbnn.training import graph as graph_lib
from tfbnn.training import sharding


@pytest.mark.parametrize('n,batch,workers', [(50, 8, 2), (50, 4, 3), (64, 8, 4), (21, 5, 4)])
def test_worker_shares_partition_the_single_process_batch(sess, n, batch, workers):
    g = batch * workers
    spe = graph_lib.steps_per_epoch(n, g)
    step = tf.placeholder(tf.int64, [])
    shares = [sharding.replica_batch(step, n, g, workers, w, seed=5) for w in range(workers)]
    iterator, start_epoch, skip = graph_lib._index_pipeline(n, g, 3, 5)
    single = iterator.get_next()
    sess.run(tf.local_variables_initializer())
    # Every step in order, then jumps back and forth (a restarted worker; the
    # cached permutation must follow the epoch both ways).
    order = list(range(3 * spe)) + [1, 2 * spe + 1, spe - 1, 0]
    for i, s in enumerate(order):
        if i == 0 or s != order[i - 1] + 1:
            sess.run(iterator.initializer, {start_epoch: s // spe, skip: s % spe})
        want = sess.run(single)
        got = sess.run(shares, {step: s})
        parts = [idx for idx, _ in got]
        assert all(count == want.size for _, count in got)
        assert sorted(np.concatenate(parts).tolist()) == sorted(want.tolist())
        sizes = [p.size for p in parts]
        assert max(sizes) - min(sizes) <= 1, sizes


def test_epoch_permutation_is_a_permutation_per_seed_and_epoch(sess):
    perms = sess.run([sharding.epoch_permutation(30, 1, tf.constant(e, tf.int64))
                      for e in (0, 1, 0)])
    assert sorted(perms[0].tolist()) == list(range(30))
    assert perms[0].tolist() == perms[2].tolist() and perms[0].tolist() != perms[1].tolist()


def test_replica_index_out_of_range():
    with pytest.raises(ValueError, match=r'replica_index must be in 0..1, got 2'):
        sharding.replica_batch(tf.constant(0), 10, 4, 2, 2, seed=0)
