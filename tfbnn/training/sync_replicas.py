"""`tf.train.SyncReplicasOptimizer` plumbing for the cluster job: its session
hook, and the op that waits for the next update without sending a gradient.

What one synchronous update holds. The optimizer's train op of a worker (1)
computes the gradient at its local step, (2) adds it to the shared gradient
accumulators on the parameter servers and (3) blocks on the token queue until
the chief has applied the mean of `replicas_to_aggregate` = W accepted
gradients and enqueued W tokens. Nothing in TensorFlow's design ties the W
gradients to W different workers; this job keeps them so as follows.

* No initial tokens (`SyncReplicasHook`): a worker sends its next gradient
  only after an update.
* A worker whose step times out (a worker of the job is slow, restarting, or
  the chief has stopped) has already sent its gradient (2) and is blocked in
  (3). It then only waits for a token (`token_wait_op`), and never runs the
  train op again, which would add a second gradient of its own to the same
  update.
* A worker killed while it blocks in (3) leaves its gradient in and its
  token unclaimed: from then on there is one token too many, and a live
  worker's train op can return before the update. `update_barrier` keeps
  such a worker from sending a second gradient to the same update, so the
  job waits for the dead one instead of going on without it.
"""
import tensorflow.compat.v1 as tf

__all__ = ['SyncReplicasHook', 'token_wait_op']


def token_wait_op(sync_optimizer, global_step, name='sync_token_wait'):
    """An op that takes the next token, as the end of the train op does, and nothing else.

    Args:
      sync_optimizer: a `tf.train.SyncReplicasOptimizer` whose
        `apply_gradients` has been called.
      global_step: the global step variable (the token queue lives on its
        device).
      name: op name.

    Returns:
      The op: it dequeues one token (blocking until the chief's next update)
      and sets the worker's local step to it, so its next gradient is computed
      at, and accepted for, that step.
    """
    # TF 1.15 exposes neither the token queue nor the local step; these two
    # private attributes are the ones its own train op uses (its lines
    # `token = sync_token_queue.dequeue()` and `assign(self._local_step, token)`).
    queue, local_step = sync_optimizer._sync_token_queue, sync_optimizer._local_step
    if queue is None:
        raise ValueError('token_wait_op: call apply_gradients on the optimizer first')
    with tf.device(global_step.device), tf.name_scope(None):
        return tf.assign(local_step, queue.dequeue(), name=name).op


class SyncReplicasHook(tf.train.SessionRunHook):
    """`SyncReplicasOptimizer.make_session_run_hook`, with two changes.

    * No initial tokens: a worker can only contribute its next gradient once
      the last update is applied (with the W initial tokens of TensorFlow's
      hook, a worker that starts first spends them and one update can hold
      two of its gradients and none of another's). See the module docstring
      for what this does and does not guarantee.
    * The chief's queue runner treats the cancellation at the session's close
      as the end of the queue instead of printing a traceback.

    Args:
      sync_optimizer: the `tf.train.SyncReplicasOptimizer`, after
        `apply_gradients`.
      is_chief: True on worker 0, which runs the queue runner that applies the
        updates.
    """

    def __init__(self, sync_optimizer, is_chief):
        self._opt, self._is_chief = sync_optimizer, is_chief

    def begin(self):
        opt = self._opt
        self._ready = opt.ready_for_local_init_op
        if self._is_chief:
            self._local_init = opt.chief_init_op
            runner = opt.get_chief_queue_runner()
            self._runner = tf.train.QueueRunner(
                runner.queue, runner.enqueue_ops, runner.close_op, runner.cancel_op,
                queue_closed_exception_types=(tf.errors.OutOfRangeError,
                                              tf.errors.CancelledError))
        else:
            self._local_init, self._runner = opt.local_step_init_op, None

    def after_create_session(self, session, coord):
        uninitialized = session.run(self._ready)
        if len(uninitialized):
            raise RuntimeError('SyncReplicasOptimizer local init: uninitialized variables %s'
                               % uninitialized)
        session.run(self._local_init)
        if self._runner is not None:
            self._runner.create_threads(session, coord=coord, daemon=True, start=True)
