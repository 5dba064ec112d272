"""Which training examples a step uses: the seeded per-epoch permutation,
and each worker's share of a global batch.

Single-process training with batch B takes batch j of epoch e as
permutation_e[j B:(j + 1) B]. With W workers and global batch G = W B the
same permutation is cut into global batches of G, and worker w takes the
strided slice [w::W] of each: the union over the workers of one global step
is exactly the single-process batch of size G, and the workers' shares differ
in size by at most one example (also in a short last batch).

A synchronous worker finds its batch from the step it is about to
contribute to, not from a private iterator, so a restarted worker (or one
whose gradient was dropped as stale) picks up where the job is, with no state
of its own to restore. An asynchronous worker passes a counter of its own
instead, started at global_step // W (`tfbnn.training.graph`), so workers of
different speeds do not take the same share twice.
"""
import tensorflow.compat.v1 as tf

__all__ = ['epoch_permutation', 'replica_batch']


def epoch_permutation(num_examples, seed, epoch, name=None):
    """The permutation of example indices of `epoch`: a function of (seed, epoch) only.

    Args:
      num_examples: Python int N.
      seed: Python int, the run's --seed.
      epoch: int64 scalar `Tensor`.
      name: op name.

    Returns:
      int32 `Tensor` `[N]`, a permutation of 0..N-1.
    """
    with tf.name_scope(name, 'epoch_permutation', [epoch]):
        keys = tf.random.stateless_uniform([num_examples], seed=tf.stack([
            tf.constant(seed, tf.int64), tf.cast(epoch, tf.int64)]))
        return tf.argsort(keys)


def replica_batch(step, num_examples, global_batch_size, num_replicas, replica_index, seed,
                  name=None):
    """The example indices of worker `replica_index` at global step `step`.

    The epoch's permutation is cached in two local variables and recomputed
    only when the epoch changes (an argsort of N keys per step would cost as
    much as a small network's step on MNIST).

    Args:
      step: integer scalar `Tensor`, the step of the single-process schedule
        of batch G (see `tfbnn.replica_losses`).
      num_examples: Python int N.
      global_batch_size: Python int G = W B.
      num_replicas: Python int W.
      replica_index: Python int w in 0..W-1.
      seed: Python int.
      name: op name.

    Returns:
      (indices, global_count): int32 `Tensor` `[n_w]` of this worker's
      examples, and int32 scalar `Tensor` n_s, the size of the whole global
      batch (G, or the remainder for an epoch's last batch).
    """
    if not 0 <= replica_index < num_replicas:
        raise ValueError('replica_batch: replica_index must be in 0..%d, got %r'
                         % (num_replicas - 1, replica_index))
    steps_per_epoch = -(-num_examples // global_batch_size)
    with tf.name_scope(name, 'replica_batch', [step]):
        step = tf.cast(step, tf.int64)
        epoch = step // steps_per_epoch
        j = step % steps_per_epoch
        local = [tf.GraphKeys.LOCAL_VARIABLES]
        cached = tf.Variable(tf.zeros([num_examples], tf.int32), trainable=False,
                             collections=local, name='permutation', use_resource=True)
        cached_epoch = tf.Variable(tf.constant(-1, tf.int64), trainable=False,
                                   collections=local, name='permutation_epoch', use_resource=True)

        def refresh():
            with tf.control_dependencies([cached.assign(epoch_permutation(num_examples, seed,
                                                                          epoch)),
                                          cached_epoch.assign(epoch)]):
                return cached.read_value()

        perm = tf.cond(tf.equal(cached_epoch.read_value(), epoch), cached.read_value, refresh)
        start = tf.cast(j * global_batch_size, tf.int32)
        stop = tf.minimum(start + global_batch_size, num_examples)
        indices = perm[start + replica_index:stop:num_replicas]
        return indices, stop - start
