"""One gradient of each worker per synchronous update, also after a worker died.

`tf.train.SyncReplicasOptimizer` applies the mean of the first W gradients
accepted for the current global step, and after each update puts W tokens in
a queue; a worker's train op sends its gradient and then takes a token. A
worker killed after sending, while it waits for its token, leaves its token
unclaimed. On TF 1.15 a live worker then takes two tokens per update and
sends two gradients to each: the job goes on at full speed without the dead
worker's share of the data, and says nothing (`tfbnn.training.sync_replicas`).

`UpdateBarrier` closes that hole from the worker's side. Before each step a
worker sets its local step (the step its gradient is computed at and
accepted for) to the global step g, and sends only if it has not sent a
gradient for g already; otherwise it waits for the update, as the docs
promise. A job with a dead worker then waits for it to be started again (the
local launcher does it), and says so in a line.

Why it cannot stall a live job: a worker waits only while the global step is
the one it last sent for. If every live worker waits, each has sent one
gradient for g, each at g (set just before), so none was refused as stale;
with all W workers alive that is W gradients, and the update applies.

What is left: a worker killed after sending for g and started again before
the update of g sends a second gradient for g (its memory of sending is
gone): one update then holds two of its gradients, once.
"""
import time

import tensorflow.compat.v1 as tf

__all__ = ['UpdateBarrier', 'local_step_sync_op', 'POLL_SECONDS', 'SAY_AFTER_SECONDS']

# How often a waiting worker reads the global step, and checks whether the
# job is over; after how long it says that it waits.
POLL_SECONDS = 0.02
CHECK_SECONDS = 1.0
SAY_AFTER_SECONDS = 30.0


def local_step_sync_op(sync_optimizer, global_step, name='sync_local_step'):
    """An op setting the worker's local step to the global step; it gives the step (int64).

    Args:
      sync_optimizer: a `tf.train.SyncReplicasOptimizer` whose
        `apply_gradients` has been called.
      global_step: the global step variable.
      name: op name.
    """
    # TF 1.15 does not expose the local step; its train op uses this private
    # attribute (as `sync_replicas.token_wait_op` does).
    local_step = getattr(sync_optimizer, '_local_step', None)
    if local_step is None:
        raise ValueError('local_step_sync_op: call apply_gradients on the optimizer first')
    with tf.name_scope(None):
        return tf.assign(local_step, global_step, name=name)


class UpdateBarrier(object):
    """Run before each synchronous step of a worker (module docstring).

    Args:
      sync_op: `local_step_sync_op` of the worker's graph.
      global_step: the global step variable.
      last_step: the job's last global step: no gradient is sent at it.
      task_name: the worker's name, as its lines give it ('worker1').
      log: callable taking one line.
      say_after: seconds of waiting before the line that says so.
    """

    def __init__(self, sync_op, global_step, last_step, task_name, log,
                 say_after=SAY_AFTER_SECONDS):
        self._sync_op, self._global_step, self._last = sync_op, global_step, last_step
        self._task, self._log, self._say_after = task_name, log, say_after
        self._sent = None
        self.global_step = None  # as last read

    def before_step(self, run, go_on):
        """Waits, if this worker has sent its gradient for the global step already.

        Args:
          run: callable running fetches in the worker's session (without hooks).
          go_on: callable, checked about once a second while waiting; False
            (the job is over, a signal came) ends the wait.

        Returns:
          True when the worker may send its gradient; False when the job has
          reached its last step (a wait can end there) or `go_on` said no.
        """
        step = self.global_step = int(run(self._sync_op))
        if step != self._sent:
            self._sent = step
            return step < self._last
        start = checked = time.time()
        said = False
        while step == self._sent:
            time.sleep(POLL_SECONDS)
            step = self.global_step = int(run(self._global_step))
            now = time.time()
            if now - checked >= CHECK_SECONDS:
                checked = now
                if not go_on():
                    return False
            if not said and now - start >= self._say_after:
                said = True
                self._log('tfbnn: %s has sent its gradient for global step %d and waits for the '
                          'other workers\' (a synchronous update takes one of each): if one is '
                          'down, start it again with the same flags (tfbnn-local-cluster does)'
                          % (self._task, step))
        if said:
            self._log('tfbnn: %s goes on at global step %d after %.0f s'
                      % (self._task, step, time.time() - start))
        self._sent = self.global_step = int(run(self._sync_op))
        return self._sent < self._last
