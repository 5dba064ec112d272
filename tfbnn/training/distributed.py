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

Faults: a non-chief worker that dies can be started again with the same
TF_CONFIG; it waits for nothing (the variables are initialised), finds its
batch from the global step and rejoins. Synchronous training waits for it
meanwhile (the update needs W gradients). When the chief dies the job stops;
start the chief again with --resume and it restores the latest checkpoint.
"""
import os
import signal
import time

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn import plots, run_config
from tfbnn.errors import ConfigError, TrainingDivergedError
from tfbnn.training import evaluate as evaluate_lib
from tfbnn.training import graph as graph_lib
from tfbnn.training import rundir
from tfbnn.training.loop import (Interrupted, _epoch_line, _EpochStats, _fmt, _restore,
                                 resolve_device, session_config)

__all__ = ['run_task', 'WORKER_STEP_TIMEOUT_MS']

# A non-chief worker blocked this long in one step (as when the chief has
# finished and no update will come) checks whether the job is over.
WORKER_STEP_TIMEOUT_MS = 30000


class _FeedDataHook(tf.train.SessionRunHook):
    """Loads the arrays into this worker's local data variables, by feeding,
    whenever the session is (re)created (Scaffold has no feed for local init)."""

    def __init__(self, init_op, feed):
        self._init_op, self._feed = init_op, feed

    def after_create_session(self, session, coord):
        session.run(self._init_op, self._feed)


class _SyncReplicasHook(tf.train.SessionRunHook):
    """`SyncReplicasOptimizer.make_session_run_hook`, with two changes.

    * No initial tokens: a worker can only contribute its next gradient
      once the last update is applied, so every update averages exactly one
      gradient of each worker (with the W initial tokens of TensorFlow's
      hook, a worker that starts first spends them and one update can hold
      two of its gradients and none of another's).
    * The chief's queue runner treats the cancellation at the session's close
      as the end of the queue instead of printing a traceback.
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


class _ReleaseWorkersHook(tf.train.SessionRunHook):
    """At the chief's normal end, one more token per worker: a synchronous
    worker waiting for an update that will never come gets the last global
    step and stops, instead of hanging."""

    def __init__(self, release_op):
        self._release_op = release_op

    def end(self, session):
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
      config: dict of run options (`tfbnn.run_config.DEFAULTS`).
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
    if config['diagnostics_every']:
        raise ConfigError('--diagnostics-every is not supported on a cluster yet; run it '
                          'single-process')
    if config['validate_every']:
        raise ConfigError('--validate-every (early stopping) is not supported on a cluster '
                          'yet; the chief scores --validation-size at the end')
    spec = tf.train.ClusterSpec(cluster.cluster)
    if cluster.job_name == 'ps':
        server = tf.train.Server(spec, 'ps', cluster.task_index,
                                 config=session_config(config['threads']))
        _print(stream)('tfbnn: %s serving %s (parameter server; runs until stopped)'
                       % (cluster.task_name, cluster.cluster['ps'][cluster.task_index]))
        server.join()
        return None
    return _train_worker(config, cluster, spec, stream)


def _train_worker(config, cluster, spec, stream):
    chief, w, workers = cluster.is_chief, cluster.task_index, cluster.num_workers
    sync = config['sync_replicas']
    dataset, ood = run_config.load_datasets(config)
    model = run_config.model_spec(config, dataset)
    out = config['output_dir']
    history, note, checkpoint = None, '', None
    if chief:
        checkpoint, history, note = rundir.prepare(config)
        log = rundir.RunLog(out, stream)
        run_config.save(config, os.path.join(out, rundir.CONFIG))
        rundir.write_json(os.path.join(out, rundir.DATASET), rundir.dataset_record(dataset))
    else:
        log = _print(stream)
    device = resolve_device(config['device'], config['threads'])
    server = tf.train.Server(spec, 'worker', w, config=session_config(config['threads']))
    worker_device = '/job:worker/task:%d' % w

    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(config['seed'])
        with tf.device(tf.train.replica_device_setter(worker_device=worker_device,
                                                      cluster=spec)):
            g = graph_lib.build_train_graph(
                config, dataset, model, device,
                graph_lib.Replica(workers, w, sync, worker_device + '/cpu:0'))
            # The data variables are filled by _FeedDataHook; everything else
            # local (the permutation cache, SyncReplicas' local step) by init.
            others = [v for v in tf.local_variables() if v not in set(g.data_variables)]
            scaffold = tf.train.Scaffold(
                saver=g.saver, local_init_op=tf.variables_initializer(others),
                ready_for_local_init_op=tf.report_uninitialized_variables(tf.global_variables()),
                ready_op=tf.report_uninitialized_variables(tf.global_variables() + others))
            hooks = [tf.train.StopAtStepHook(last_step=g.total_steps),
                     _FeedDataHook(g.data_init, g.data_feed)]
            chief_hooks = []
            if sync:
                hooks.append(_SyncReplicasHook(g.optimizer, chief))
                chief_hooks.append(_ReleaseWorkersHook(
                    g.optimizer.get_init_tokens_op(num_tokens=workers)))
    steps_per_epoch = g.total_steps // config['epochs']  # global steps
    examples_per_step = dataset.x_train.shape[0] / float(steps_per_epoch)
    log('tfbnn: %s of %d workers (%s) | %s | model %s (%s) | %d global steps of %d x %d '
        '(%d epochs)%s' % (cluster.task_name, workers, 'synchronous' if sync else 'asynchronous',
                           dataset.description, config['model'], config['estimator'],
                           g.total_steps, workers, config['batch_size'], config['epochs'],
                           ' | chief' if chief else ''))
    if note:
        log('tfbnn: ' + note)

    sess_config = session_config(config['threads'])
    # A worker talks to the parameter servers and itself only, so it neither
    # waits for nor depends on the other workers (one can die and come back).
    sess_config.device_filters.extend(['/job:ps', worker_device])
    every = config['checkpoint_every'] or steps_per_epoch
    with graph.as_default():
        session = tf.train.MonitoredTrainingSession(
            master=server.target, is_chief=chief, checkpoint_dir=out if chief else None,
            scaffold=scaffold, hooks=hooks, chief_only_hooks=chief_hooks,
            save_checkpoint_steps=every if chief else None, save_checkpoint_secs=None,
            save_summaries_steps=None, save_summaries_secs=None, log_step_count_steps=None,
            config=sess_config, stop_grace_period_secs=5, max_wait_secs=900)
        if not chief:
            return _run_non_chief(session, g, cluster, log)
        restored = int(checkpoint.rsplit('-', 1)[1]) if checkpoint else None
        return _run_chief(session, g, config, cluster, dataset, ood, device, history, log,
                          steps_per_epoch, examples_per_step, restored)


def _run_non_chief(session, g, cluster, log):
    options = tf.RunOptions(timeout_in_ms=WORKER_STEP_TIMEOUT_MS)
    steps = 0
    with session as sess:
        while not sess.should_stop():
            try:
                sess.run(g.train_op, options=options)
                steps += 1
            except tf.errors.DeadlineExceededError:
                step = _global_step(sess, g)
                if step >= g.total_steps:
                    break
            except tf.errors.InvalidArgumentError as err:
                if graph_lib.NON_FINITE_MESSAGE in str(err):
                    raise TrainingDivergedError(_global_step(sess, g) + 1, None)
                raise
    log('tfbnn: %s done after %d steps of its own' % (cluster.task_name, steps))
    return None


def _run_chief(session, g, config, cluster, dataset, ood, device, history, log,
               steps_per_epoch, examples_per_step, restored):
    out = config['output_dir']
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
            stats, epoch_start = _EpochStats(), (step, time.time())
            t0, first = time.time(), None
            while not sess.should_stop():
                want_summary = (step + 1) % config['summary_every'] == 0
                fetches = dict(g.fetches, train=g.train_op, step=g.global_step)
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
                    epoch = min(-(-step // steps_per_epoch), config['epochs'])
                    summary = stats.summary(regression)
                    # The job's throughput (all workers), not the chief's share.
                    summary['examples_per_second'] = (
                        (step - epoch_start[0]) * examples_per_step
                        / max(time.time() - epoch_start[1], 1e-9))
                    log(_epoch_line(epoch, config['epochs'], step, summary, regression,
                                    dataset.target_std))
                    history.setdefault('epoch', []).append(epoch)
                    history.setdefault('step', []).append(step)
                    for key, value in summary.items():
                        history.setdefault(key, []).append(value)
                    rundir.write_json(os.path.join(out, rundir.HISTORY), history)
                    stats, epoch_start = _EpochStats(), (step, time.time())
                if stop['signal'] is not None:
                    interrupted = True
                    break
                if config['max_seconds'] and time.time() - t0 > config['max_seconds']:
                    log('tfbnn: --max-seconds %g reached at step %d of %d; evaluating the model '
                        'as it is (resume with --resume)' % (config['max_seconds'], step,
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
        'examples ...' % (latest, config['eval_samples'], dataset.x_test.shape[0]))
    metrics = evaluate_checkpoint(config, dataset, latest, device, ood)
    for key in metrics:
        if isinstance(metrics[key], float):
            writer.add_summary(graph_lib.log_summary_value('test/' + key, metrics[key]), step)
    writer.flush()
    metrics.update(
        examples_per_second=trained * examples_per_step / max(t_end - first[1], 1e-9)
        if trained else None,
        epochs=step / float(steps_per_epoch), steps=step, resumed_from_step=restored or None,
        train_seconds=train_seconds, completed=step >= g.total_steps,
        workers=cluster.num_workers, sync_replicas=config['sync_replicas'])
    rundir.write_json(os.path.join(out, rundir.METRICS), metrics)
    if history:
        plots.learning_curves(history, os.path.join(out, 'learning_curves.png'))
    log('tfbnn: ' + ' | '.join('%s %s' % (k, _fmt(v)) for k, v in sorted(metrics.items())
                               if v is not None))
    return metrics


def evaluate_checkpoint(config, dataset, checkpoint, device, ood=None):
    """Restores `checkpoint` into the single-process training graph and evaluates it.

    Args:
      config: validated run config.
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
        tf.set_random_seed(config['seed'])
        g = graph_lib.build_train_graph(config, dataset, run_config.model_spec(config, dataset),
                                        device)
    np.random.seed(config['seed'])
    with tf.Session(graph=graph, config=session_config(config['threads'])) as sess:
        _restore(sess, g.saver, checkpoint)
        return evaluate_lib.evaluate(sess, g, dataset, config, config['output_dir'], ood)
