"""A cluster worker that is not the chief: it trains until the last global
step or until the chief marks the job done, and gives up, with one line, when
the chief has shown no sign of life for too long (`tfbnn.training.job_state`).

Also what every worker's session needs: the global step read without the
hooks, and marking the job done in a session of its own.
"""
import threading
import time

import tensorflow.compat.v1 as tf

from tfbnn.errors import ClusterError
from tfbnn.training import job_state, lifecycle

__all__ = ['run_non_chief', 'run_without_hooks', 'global_step', 'mark_done', 'give_up_message',
           'WORKER_STEP_TIMEOUT_MS', 'POLL_MS', 'MARK_DONE_SECONDS', 'GIVE_UP_ENV']

# A non-chief worker blocked this long in one step (a slow or restarting
# worker, or the chief has stopped) stops sending gradients and only waits
# for the next update, checking every POLL_MS whether the job is over.
WORKER_STEP_TIMEOUT_MS = 30000
POLL_MS = 5000
# How long marking the job done may take before the chief leaves without it.
# A remote session is made at its first run, and that waits for the parameter
# server without end (no RunOptions or ConfigProto timeout bounds it).
MARK_DONE_SECONDS = 20.0
# Seconds without a sign of the chief before a worker gives up (default
# `job_state.GIVE_UP_SECONDS`); an environment variable, for tests.
GIVE_UP_ENV = 'TFBNN_WORKER_GIVE_UP_SECONDS'


def run_without_hooks(sess, fetches, options=None):
    """Runs `fetches` in a `tf.train.MonitoredSession` without running its hooks.

    Args:
      sess: the monitored session.
      fetches: what `tf.Session.run` takes.
      options: a `tf.RunOptions` (e.g. a timeout), or None.

    Returns:
      The fetched values.
    """
    return sess.run_step_fn(
        lambda step_context: step_context.session.run(fetches, options=options))


def global_step(sess, g):
    """The global step of a `tf.train.MonitoredSession`, read without running the hooks."""
    return int(run_without_hooks(sess, g.global_step))


def mark_done(target, graph, mark_done_op, sess_config, seconds=MARK_DONE_SECONDS):
    """Sets job_done in a session of its own (the chief's may be broken); best effort.

    Runs in a daemon thread, given up after `seconds`: when the parameter
    server is gone, making the session would wait for it forever, and the
    chief would never exit (nor would a restart be noticed). The workers then
    stop by their watchdog.

    Args:
      target: the worker's server target.
      graph: the graph holding `mark_done_op`.
      mark_done_op: `JobState.mark_done`.
      sess_config: the worker's `tf.ConfigProto`.
      seconds: how long to wait for it.

    Returns:
      True when job_done was set, False when it was given up.
    """
    done = []

    def run():
        try:
            with tf.Session(target, graph=graph, config=sess_config) as sess:
                sess.run(mark_done_op, options=tf.RunOptions(timeout_in_ms=POLL_MS))
            done.append(True)
        except tf.errors.OpError:
            pass  # the parameter server is gone: so are the workers' variables

    thread = threading.Thread(target=run, name='tfbnn-mark-done')
    thread.daemon = True
    thread.start()
    thread.join(seconds)
    return bool(done)


def give_up_message(cluster, watchdog, step):
    """The line of a worker that has lost its chief."""
    return ('%s: no sign of the chief (worker0 at %s) for %.0f s at global step %d: it has '
            'died or hangs; restart it with --resume (the workers rejoin), or stop the job'
            % (cluster.task_name, cluster.cluster['worker'][0], watchdog.quiet_seconds(), step))


def run_non_chief(session, g, state, done_after_step, wait_op, cluster, log, watchdog,
                  flags='{}', barrier=None):
    """A worker's loop: steps until the last global step or until the chief marks the job done.

    A step that times out (synchronous: the gradient is sent, the update
    waits for others) is never run again: the worker only waits for the next
    token (`wait_op`), so it adds one gradient per update. Async workers
    retry the step. Either way, while waiting, it checks job_done and the
    chief's heartbeat every POLL_MS, and gives up (ClusterError) after
    `watchdog.give_up_seconds` without a heartbeat.

    Args:
      session: the worker's `tf.train.MonitoredTrainingSession` (not entered).
      g: `TrainGraph` of this worker.
      state: `JobState`.
      done_after_step: the train op's run, then job_done read.
      wait_op: None (asynchronous) or the op waiting for the next token.
      cluster: `ClusterConfig`.
      log: callable taking one line.
      watchdog: `job_state.Watchdog`.
      flags: this worker's `job_state.shared_flags`, checked against the
        chief's before the first step.
      barrier: None (asynchronous) or the worker's `UpdateBarrier`, passed
        before each step.

    Returns:
      None.

    Raises:
      ClusterError: flags that differ from the chief's; no sign of the chief
        for too long.
      TrainingDivergedError: the loss became NaN or infinite.
    """
    step_options = tf.RunOptions(timeout_in_ms=WORKER_STEP_TIMEOUT_MS)
    poll_options = tf.RunOptions(timeout_in_ms=POLL_MS)
    steps, last_poll = 0, time.time()
    with session as sess:
        def raw(fetches):  # without the hooks, bounded
            return run_without_hooks(sess, fetches, poll_options)

        def job_over():
            done, beat, step = raw([state.done, state.heartbeat, g.global_step])
            if done or step >= g.total_steps:
                return True
            if watchdog.stalled(beat):
                raise ClusterError(give_up_message(cluster, watchdog, step))
            return False

        differ = job_state.differing_flags(raw(state.flags), flags)
        if differ:
            raise ClusterError('%s: started with other flags than the chief: %s; start every '
                               'task of a job with the same training flags'
                               % (cluster.task_name, differ))
        while not sess.should_stop():
            if barrier is not None:
                try:
                    if not barrier.before_step(raw, lambda: not job_over()):
                        break
                except tf.errors.DeadlineExceededError:  # a read slower than POLL_MS
                    if job_over():
                        break
                    continue
            try:
                done = lifecycle.run_step(sess, done_after_step,
                                          lambda: global_step(sess, g) + 1, None, step_options)
                steps += 1
            except tf.errors.DeadlineExceededError:
                done = job_over()
                while not done and wait_op is not None:
                    try:
                        raw(wait_op)
                        break
                    except tf.errors.DeadlineExceededError:
                        done = job_over()
            if not done and time.time() - last_poll > POLL_MS / 1000.0:
                # Asynchronous steps never block: the chief may have died
                # while this worker trains on, and nothing would save it.
                done, last_poll = job_over(), time.time()
            if done:
                break
    log('tfbnn: %s done after %d steps of its own' % (cluster.task_name, steps))
    return None
