"""The training job on a TensorFlow cluster: between-graph replication with
`tf.train.replica_device_setter` and `tf.train.MonitoredTrainingSession`.

* A parameter server ("ps") task starts its `tf.train.Server` and joins it:
  it holds the variables and runs until it is stopped.
* Every worker builds the same graph with the variables placed on the
  parameter servers and its copy of the data and the input ops on itself,
  and trains in a `MonitoredTrainingSession` until the global step reaches
  the last step. Worker w takes its share of each global batch of W B
  examples (`tfbnn.training.sharding`) and minimises its share of the batch
  W B ELBO (`tfbnn.replica_losses`).
* With `--sync-replicas`, `tf.train.SyncReplicasOptimizer` aggregates the
  mean of W gradients per update (one global step = one global batch);
  without it each worker updates the shared variables on its own (one global
  step per worker update, W per global batch).
* Worker 0, the chief, initialises or restores the variables, writes
  checkpoints (`CheckpointSaverHook`, every --checkpoint-every global steps,
  and at the end), summaries, history.json, and, after training, evaluates by
  restoring the final checkpoint into the plain single-process graph (which
  also proves that the checkpoint restores without the cluster).

Faults (see also `tfbnn.training.job_state` and `tfbnn.training.sync_replicas`):
a non-chief worker that dies can be started again with the same TF_CONFIG; it
waits for nothing (the variables are initialised), finds its batch from the
global step and rejoins. When the chief stops for any reason it can report
(the end, --max-seconds, a signal, an error), it marks the job done on the
parameter server and the workers stop; when it dies without a word, the
workers give up after `job_state.GIVE_UP_SECONDS` without its heartbeat, with
one line saying to restart it with --resume, which restores the latest
checkpoint.
"""
import dataclasses
import os
import signal
import time

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn import run_config
from tfbnn.errors import CheckpointError, ClusterError, ConfigError, TrainingDivergedError
from tfbnn.training import evaluate as evaluate_lib
from tfbnn.training import graph as graph_lib
from tfbnn.training import job_state as job_state_lib
from tfbnn.training import rundir
from tfbnn.training.loop import Interrupted, resolve_device, session_config
from tfbnn.training._session_common import (EpochStats, epoch_line, log_epoch, restore_checkpoint,
                                            summarise_metrics, write_outputs)
from tfbnn.training.sync_replicas import SyncReplicasHook, token_wait_op

__all__ = ['run_task', 'evaluate_checkpoint', 'WORKER_STEP_TIMEOUT_MS', 'POLL_MS',
           'GIVE_UP_ENV']

NO_SPACE = 'No space left on device'  # a full disk, as the OS says it

# A non-chief worker blocked this long in one step (a slow or restarting
# worker, or the chief has stopped) stops sending gradients and only waits
# for the next update, checking every POLL_MS whether the job is over.
WORKER_STEP_TIMEOUT_MS = 30000
POLL_MS = 5000
# Seconds without a sign of the chief before a worker gives up (default
# `job_state.GIVE_UP_SECONDS`); an environment variable, for tests.
GIVE_UP_ENV = 'TFBNN_WORKER_GIVE_UP_SECONDS'


class _FeedDataHook(tf.train.SessionRunHook):
    """Loads the arrays into this worker's local data variables, by feeding,
    whenever the session is (re)created (Scaffold has no feed for local init)."""

    def __init__(self, init_op, feed):
        self._init_op, self._feed = init_op, feed

    def after_create_session(self, session, coord):
        session.run(self._init_op, self._feed)


class _JobEndHook(tf.train.SessionRunHook):
    """At the chief's normal end (the last step, --max-seconds, a signal):
    marks the job done, then (synchronous) gives one more token per worker,
    so a worker waiting for an update that will never come finishes its step,
    reads `job_done` and stops instead of waiting for its timeout."""

    def __init__(self, mark_done, release_op):
        self._mark_done, self._release_op = mark_done, release_op

    def end(self, session):
        session.run(self._mark_done)
        if self._release_op is not None:
            session.run(self._release_op)


def _global_step(sess, g):
    """The global step, read without running the hooks."""
    return int(sess.run_step_fn(lambda step_context: step_context.session.run(g.global_step)))


def _print(stream):
    def log(line):
        stream.write(line + '\n')
        stream.flush()
    return log


def run_task(config, cluster, stream=None):
    """Runs this process's task of `cluster`; returns the metrics on the chief.

    Args:
      config: `tfbnn.run_config.RunConfig`, or a mapping of run options
        (missing ones take their defaults), checked here once.
      cluster: `tfbnn.training.cluster.ClusterConfig`.
      stream: where log lines go (default stdout).

    Returns:
      The chief's metrics dict (also metrics.json); None on other workers.
      A ps task never returns.

    Raises:
      As `tfbnn.training.train`.
    """
    import sys
    stream = stream or sys.stdout
    config = run_config.validate(config)
    if config.diagnostics_every:
        raise ConfigError('--diagnostics-every is not supported on a cluster yet; run it '
                          'single-process')
    if config.validate_every:
        raise ConfigError('--validate-every (early stopping) is not supported on a cluster '
                          'yet; the chief scores --validation-size at the end')
    if config.init_from:
        raise ConfigError('--init-from is not supported on a cluster yet; start the run '
                          'single-process and resume it on the cluster')
    if config.norm == 'batch':
        raise ConfigError('--norm batch is not supported on a cluster (each worker would keep '
                          'its own batch statistics); use --norm group')
    spec = tf.train.ClusterSpec(cluster.cluster)
    if cluster.job_name == 'ps':
        server = tf.train.Server(spec, 'ps', cluster.task_index,
                                 config=session_config(config.threads))
        _print(stream)('tfbnn: %s serving %s (parameter server; runs until stopped)'
                       % (cluster.task_name, cluster.cluster['ps'][cluster.task_index]))
        server.join()
        return None
    return _train_worker(config, cluster, spec, stream)


def _train_worker(config, cluster, spec, stream):
    chief, w, workers = cluster.is_chief, cluster.task_index, cluster.num_workers
    sync = config.sync_replicas
    # W is recorded in config.json and checked on --resume.
    config = dataclasses.replace(config, workers=workers)
    dataset, ood = run_config.load_datasets(config)
    model = run_config.model_spec(config, dataset.task, dataset.num_classes)
    out = config.output_dir
    history, note, checkpoint = None, '', None
    if chief:
        checkpoint, history, note = rundir.prepare(config)
        log = rundir.RunLog(out, stream)
        run_config.save(config, os.path.join(out, rundir.CONFIG))
        rundir.write_json(os.path.join(out, rundir.DATASET), rundir.dataset_record(dataset))
    else:
        log = _print(stream)
    device = resolve_device(config.device, config.threads)
    server = tf.train.Server(spec, 'worker', w, config=session_config(config.threads))
    worker_device = '/job:worker/task:%d' % w

    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(config.seed)
        with tf.device(tf.train.replica_device_setter(worker_device=worker_device,
                                                      cluster=spec)):
            g = graph_lib.build_train_graph(
                config, dataset, model, device,
                graph_lib.Replica(workers, w, sync, worker_device + '/cpu:0'))
            state = job_state_lib.job_state()
            # The data variables are filled by _FeedDataHook; everything else
            # local (the permutation cache, SyncReplicas' local step) by init;
            # the job state by the chief, before the others may start.
            others = [v for v in tf.local_variables() if v not in set(g.data_variables)]
            local_init = tf.variables_initializer(others)
            scaffold = tf.train.Scaffold(
                saver=g.saver,
                local_init_op=tf.group(local_init, state.init_op) if chief else local_init,
                ready_for_local_init_op=tf.report_uninitialized_variables(tf.global_variables()),
                ready_op=tf.report_uninitialized_variables(tf.global_variables() + others
                                                           + state.variables))
            hooks = [tf.train.StopAtStepHook(last_step=g.total_steps),
                     _FeedDataHook(g.data_init, g.data_feed)]
            wait_op = release_op = None
            if sync:
                hooks.append(SyncReplicasHook(g.optimizer, chief))
                wait_op = token_wait_op(g.optimizer, g.global_step)
                release_op = g.optimizer.get_init_tokens_op(num_tokens=workers)
            chief_hooks = [_JobEndHook(state.mark_done, release_op)]
            # What a worker reads after its step: whether the chief has
            # stopped meanwhile (the chief marks the job done before it
            # releases the last tokens).
            with tf.control_dependencies([g.train_op]):
                done_after_step = state.done.read_value()
    steps_per_epoch = g.total_steps // config.epochs  # global steps
    examples_per_step = dataset.x_train.shape[0] / float(steps_per_epoch)
    log('tfbnn: %s of %d workers (%s) | %s | model %s (%s) | %d global steps of %d x %d '
        '(%d epochs)%s' % (cluster.task_name, workers, 'synchronous' if sync else 'asynchronous',
                           dataset.description, config.model, config.estimator,
                           g.total_steps, workers, config.batch_size, config.epochs,
                           ' | chief' if chief else ''))
    if note:
        log('tfbnn: ' + note)

    sess_config = session_config(config.threads)
    # A worker talks to the parameter servers and itself only: its session
    # does not need the other workers to be up (one can die and come back).
    # Synchronous training still waits for their gradients at every update.
    sess_config.device_filters.extend(['/job:ps', worker_device])
    every = config.checkpoint_every or steps_per_epoch
    with graph.as_default():
        session = tf.train.MonitoredTrainingSession(
            master=server.target, is_chief=chief, checkpoint_dir=out if chief else None,
            scaffold=scaffold, hooks=hooks, chief_only_hooks=chief_hooks,
            save_checkpoint_steps=every if chief else None, save_checkpoint_secs=None,
            save_summaries_steps=None, save_summaries_secs=None, log_step_count_steps=None,
            config=sess_config, stop_grace_period_secs=5, max_wait_secs=900)
        if not chief:
            give_up = float(os.environ.get(GIVE_UP_ENV) or job_state_lib.GIVE_UP_SECONDS)
            return _run_non_chief(session, g, state, done_after_step, wait_op, cluster, log,
                                  job_state_lib.Watchdog(give_up))
        restored = int(checkpoint.rsplit('-', 1)[1]) if checkpoint else None
        try:
            return _run_chief(session, g, state, config, cluster, dataset, ood, device, history,
                              log, steps_per_epoch, examples_per_step, restored)
        except (tf.errors.ResourceExhaustedError, tf.errors.UnknownError, OSError) as err:
            # The chief's CheckpointSaverHook writing into a full disk, as the
            # single-process job reports it; anything else keeps its traceback.
            if NO_SPACE not in str(err):
                raise
            raise CheckpointError('cannot write a checkpoint in %s: %s; the last complete '
                                  'checkpoint (%s) is intact: free space, then --resume'
                                  % (out, str(err).strip().split('\n')[0],
                                     rundir.latest_checkpoint(out) or 'none yet'))
        finally:  # every way out, also an error: the workers must not wait for us
            _mark_done(server.target, graph, state.mark_done, sess_config)


def _mark_done(target, graph, mark_done, sess_config):
    """Sets job_done in a session of its own (the chief's may be broken); best effort."""
    try:
        with tf.Session(target, graph=graph, config=sess_config) as sess:
            sess.run(mark_done, options=tf.RunOptions(timeout_in_ms=POLL_MS))
    except tf.errors.OpError:
        pass  # the parameter server is gone: so are the workers' variables


def _give_up_message(cluster, watchdog, step):
    return ('%s: no sign of the chief (worker0 at %s) for %.0f s at global step %d: it has '
            'died or hangs; restart it with --resume (the workers rejoin), or stop the job'
            % (cluster.task_name, cluster.cluster['worker'][0], watchdog.quiet_seconds(), step))


def _run_non_chief(session, g, state, done_after_step, wait_op, cluster, log, watchdog):
    """A worker's loop: steps until the last global step or until the chief marks the job done.

    A step that times out (synchronous: the gradient is sent, the update
    waits for others) is never run again: the worker only waits for the next
    token (`wait_op`), so it adds one gradient per update. Async workers
    retry the step. Either way, while waiting, it checks job_done and the
    chief's heartbeat every POLL_MS, and gives up (ClusterError) after
    `watchdog.give_up_seconds` without a heartbeat.
    """
    step_options = tf.RunOptions(timeout_in_ms=WORKER_STEP_TIMEOUT_MS)
    poll_options = tf.RunOptions(timeout_in_ms=POLL_MS)
    steps, last_poll = 0, time.time()
    with session as sess:
        def raw(fetches):  # without the hooks, bounded
            return sess.run_step_fn(
                lambda step_context: step_context.session.run(fetches, options=poll_options))

        def job_over():
            done, beat, step = raw([state.done, state.heartbeat, g.global_step])
            if done or step >= g.total_steps:
                return True
            if watchdog.stalled(beat):
                raise ClusterError(_give_up_message(cluster, watchdog, step))
            return False

        while not sess.should_stop():
            try:
                done = sess.run(done_after_step, options=step_options)
                steps += 1
            except tf.errors.DeadlineExceededError:
                done = job_over()
                while not done and wait_op is not None:
                    try:
                        raw(wait_op)
                        break
                    except tf.errors.DeadlineExceededError:
                        done = job_over()
            except tf.errors.InvalidArgumentError as err:
                if graph_lib.NON_FINITE_MESSAGE in str(err):
                    raise TrainingDivergedError(_global_step(sess, g) + 1, None)
                raise
            if not done and time.time() - last_poll > POLL_MS / 1000.0:
                # Asynchronous steps never block: the chief may have died
                # while this worker trains on, and nothing would save it.
                done, last_poll = job_over(), time.time()
            if done:
                break
    log('tfbnn: %s done after %d steps of its own' % (cluster.task_name, steps))
    return None


def _run_chief(session, g, state, config, cluster, dataset, ood, device, history, log,
               steps_per_epoch, examples_per_step, restored):
    out = config.output_dir
    regression = dataset.task == 'regression'
    history = history or {}
    stop = {'signal': None}

    def on_signal(signum, _frame):
        stop['signal'] = signum

    old_handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    writer = tf.summary.FileWriterCache.get(out)
    interrupted = False
    try:
        with session as sess:
            # Asynchronous workers may have run ahead of the chief already.
            step = _global_step(sess, g)
            history, _ = rundir.truncate(history, [], step)
            stats, epoch_start = EpochStats(), (step, time.time())
            t0, first = time.time(), None
            while not sess.should_stop():
                want_summary = (step + 1) % config.summary_every == 0
                fetches = dict(g.fetches, train=g.train_op, step=g.global_step,
                               heartbeat=state.beat)
                if want_summary:
                    fetches['summary'] = g.summary
                try:
                    result = sess.run(fetches)
                except tf.errors.InvalidArgumentError as err:
                    if graph_lib.NON_FINITE_MESSAGE in str(err):
                        raise TrainingDivergedError(step + 1, rundir.latest_checkpoint(out))
                    raise
                # The global step read at the start of this step, plus this
                # step's update (asynchronous: others may have added theirs).
                step = int(result['step']) + 1
                if first is None:  # throughput from here: not the wait for the others
                    first = (step, time.time())
                stats.add(result)
                if want_summary:
                    writer.add_summary(result['summary'], step)
                if step // steps_per_epoch > epoch_start[0] // steps_per_epoch \
                        or step >= g.total_steps:
                    # (asynchronous: the others may have gone past the end)
                    epoch = min(-(-step // steps_per_epoch), config.epochs)
                    summary = stats.summary(regression)
                    # The job's throughput (all workers), not the chief's share.
                    summary['examples_per_second'] = (
                        (step - epoch_start[0]) * examples_per_step
                        / max(time.time() - epoch_start[1], 1e-9))
                    log(epoch_line(epoch, config.epochs, step, summary, regression,
                                    dataset.target_std))
                    log_epoch(history, out, epoch, step, summary)
                    stats, epoch_start = EpochStats(), (step, time.time())
                if stop['signal'] is not None:
                    interrupted = True
                    break
                if config.max_seconds and time.time() - t0 > config.max_seconds:
                    log('tfbnn: --max-seconds %g reached at step %d of %d; evaluating the model '
                        'as it is (resume with --resume)' % (config.max_seconds, step,
                                                               g.total_steps))
                    break
            t_end = time.time()
            train_seconds = t_end - t0
            # Leaving the block saves the final checkpoint (CheckpointSaverHook.end).
    finally:
        for s, h in old_handlers.items():
            signal.signal(s, h)
    latest = rundir.latest_checkpoint(out)
    if interrupted:
        raise Interrupted(step, latest)
    trained = step - first[0] if first else 0
    log('tfbnn: evaluating %s in a single-process graph: the %d-sample predictive on %d test '
        'examples ...' % (latest, config.eval_samples, dataset.x_test.shape[0]))
    metrics = evaluate_checkpoint(config, dataset, latest, device, ood)
    summarise_metrics(writer, metrics, step)
    writer.flush()
    metrics.update(
        examples_per_second=trained * examples_per_step / max(t_end - first[1], 1e-9)
        if trained else None,
        epochs=step / float(steps_per_epoch), steps=step, resumed_from_step=restored or None,
        train_seconds=train_seconds, completed=step >= g.total_steps,
        workers=cluster.num_workers, sync_replicas=config.sync_replicas)
    write_outputs(out, metrics, history, log)
    return metrics


def evaluate_checkpoint(config, dataset, checkpoint, device, ood=None):
    """Restores `checkpoint` into the single-process training graph and evaluates it.

    Args:
      config: `tfbnn.run_config.RunConfig`.
      dataset: `tfbnn.data.Dataset`.
      checkpoint: checkpoint path (of a single-process or a cluster run).
      device: model device string.
      ood: optional out-of-distribution `Dataset`.

    Returns:
      The metrics of `tfbnn.training.evaluate.evaluate`.

    Raises:
      CheckpointError: when the checkpoint does not restore.
    """
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(config.seed)
        spec = run_config.model_spec(config, dataset.task, dataset.num_classes)
        g = graph_lib.build_train_graph(config, dataset, spec, device)
    np.random.seed(config.seed)
    with tf.Session(graph=graph, config=session_config(config.threads)) as sess:
        restore_checkpoint(sess, g.saver, checkpoint)
        return evaluate_lib.evaluate(sess, g, dataset, config, config.output_dir, ood)
