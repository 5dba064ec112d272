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

This module starts a task: the parameter server, or a worker's graph, hooks
and session. The chief's loop and evaluation are `tfbnn.training.chief`'s,
the other workers' loop `tfbnn.training.worker`'s.
"""
import collections
import contextlib
import dataclasses
import os
import threading
import time

import tensorflow.compat.v1 as tf

from tfbnn import run_config
from tfbnn.errors import ClusterError, ConfigError, cause_line
from tfbnn.training import graph as graph_lib
from tfbnn.training import job_state as job_state_lib
from tfbnn.training import lifecycle, rundir
from tfbnn.training.checkpoints import make_latest_intact, storage_faults_as_error
from tfbnn.training.leftovers import remove_leftovers
from tfbnn.training.chief import evaluate_checkpoint, run_chief
from tfbnn.training.session import resolve_device, session_config
from tfbnn.training.sync_replicas import SyncReplicasHook, token_wait_op
from tfbnn.training.update_barrier import UpdateBarrier, local_step_sync_op
from tfbnn.training.worker import (GIVE_UP_ENV, POLL_MS, WORKER_STEP_TIMEOUT_MS, mark_done,
                                   run_non_chief)

__all__ = ['run_task', 'evaluate_checkpoint', 'WORKER_STEP_TIMEOUT_MS', 'POLL_MS',
           'GIVE_UP_ENV', 'WAIT_NOTICE_SECONDS', 'WAIT_NOTICE_ENV']

# While a worker's session waits for the parameter servers, a line this often,
# and after this long waiting for the other workers' gradients (seconds; the
# environment variable, for tests).
WAIT_NOTICE_SECONDS = 30.0
WAIT_NOTICE_ENV = 'TFBNN_WAIT_NOTICE_SECONDS'


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

    def __init__(self, mark_done_op, release_op):
        self._mark_done, self._release_op = mark_done_op, release_op

    def end(self, session):
        # Bounded, and best effort: with the parameter server gone the run is
        # over anyway, and the chief must still evaluate its last checkpoint.
        options = tf.RunOptions(timeout_in_ms=POLL_MS)
        try:
            session.run(self._mark_done, options=options)
            if self._release_op is not None:
                session.run(self._release_op, options=options)
        except tf.errors.OpError:
            pass


_WorkerGraph = collections.namedtuple('_WorkerGraph', [
    'graph', 'train', 'state', 'scaffold', 'hooks', 'chief_hooks', 'done_after_step',
    'wait_op', 'sync_op', 'device'])
_WorkerGraph.__doc__ = """One worker's graph and what its session needs.

Attributes:
  graph: the `tf.Graph`.
  train: `TrainGraph` (the variables on the parameter servers).
  state: `JobState`.
  scaffold, hooks, chief_hooks: for `tf.train.MonitoredTrainingSession`.
  done_after_step: runs a step, then reads job_done.
  wait_op: None, or (synchronous) the op that waits for the next token.
  sync_op: None, or (synchronous) `update_barrier.local_step_sync_op`.
  device: this worker's device, '/job:worker/task:<w>'.
"""


def run_task(config, cluster, stream=None):
    """Runs this process's task of `cluster`; returns the metrics on the chief.

    Args:
      config: `tfbnn.run_config.RunConfig`, or a mapping of run options
        (missing ones take their defaults), checked here once; `workers`
        is set to the cluster's.
      cluster: `tfbnn.training.cluster.ClusterConfig`.
      stream: where log lines go (default stdout).

    Returns:
      The chief's metrics dict (also metrics.json); None on other workers.
      A ps task never returns.

    Raises:
      As `tfbnn.training.train`.
    """
    config = run_config.validate(config)
    _refuse_unsupported(config)
    notice_every = _seconds_from_env(WAIT_NOTICE_ENV, WAIT_NOTICE_SECONDS)
    give_up = _seconds_from_env(GIVE_UP_ENV, job_state_lib.GIVE_UP_SECONDS)
    # W is recorded in config.json and checked on --resume.
    config = dataclasses.replace(config, workers=cluster.num_workers)
    spec = tf.train.ClusterSpec(cluster.cluster)
    if cluster.job_name == 'ps':
        server = _start_server(spec, cluster, config.threads)
        rundir.RunLog(None, stream)('tfbnn: %s serving %s (parameter server; runs until stopped)'
                                    % (cluster.task_name,
                                       cluster.cluster['ps'][cluster.task_index]))
        server.join()
        return None
    return _train_worker(config, cluster, spec, stream, notice_every, give_up)


def _start_server(spec, cluster, threads):
    """This task's `tf.train.Server`; a port it cannot listen on (another
    process holds it) is one line naming the address."""
    address = cluster.cluster[cluster.job_name][cluster.task_index]
    try:
        return tf.train.Server(spec, cluster.job_name, cluster.task_index,
                               config=session_config(threads))
    except tf.errors.OpError as err:
        raise ClusterError('%s cannot listen on %s (%s): another process may hold the port; '
                           'give the task a free address' % (cluster.task_name, address,
                                                             cause_line(err)))


def _seconds_from_env(name, default):
    """Seconds from the environment variable `name`, or `default` when unset.

    Raises:
      ConfigError: a value that is not a positive number.
    """
    text = os.environ.get(name)
    if not text:
        return float(default)
    try:
        seconds = float(text)
    except ValueError:
        seconds = float('nan')
    if not seconds > 0 or seconds == float('inf'):
        raise ConfigError('%s=%r: give a positive number of seconds, or unset it'
                          % (name, text))
    return seconds


def _refuse_unsupported(config):
    """What the cluster job cannot do yet, and what to do instead.

    Not a rule of `RunConfig` itself: a cluster run's config.json may hold
    these options (a run started single-process with --init-from and
    resumed on the cluster); only a cluster task refuses to start with them.

    Raises:
      ConfigError: naming the option.
    """
    if config.diagnostics_every:
        raise ConfigError('--diagnostics-every is not supported on a cluster yet; run it '
                          'single-process')
    if config.validate_every:
        raise ConfigError('--validate-every (early stopping) is not supported on a cluster '
                          'yet; the chief scores --validation-size at the end')
    for flag, value in (('--init-from', config.init_from), ('--warm-start', config.warm_start)):
        if value:
            raise ConfigError('%s is not supported on a cluster yet: run it single-process'
                              % flag)
    if config.norm == 'batch':
        raise ConfigError('--norm batch is not supported on a cluster (each worker would keep '
                          'its own batch statistics); use --norm group')
    if config.scale_optimizer != 'same' and config.sync_replicas:
        raise ConfigError('--scale-optimizer %s is not supported with --sync-replicas yet (its '
                          'aggregator wraps one optimizer); run the cluster asynchronously or '
                          'single-process' % config.scale_optimizer)


def _train_worker(config, cluster, spec, stream, notice_every, give_up):
    """A worker's job: the chief's run directory, the graph, the session, its loop.

    `notice_every`: seconds between the lines of a wait; `give_up`: seconds
    without a sign of the chief before a non-chief worker gives up."""
    dataset, ood = run_config.load_datasets(config)
    model = run_config.model_spec(config, dataset.task, dataset.num_classes)
    server = _start_server(spec, cluster, config.threads)  # before the chief writes its records
    with contextlib.ExitStack() as held:  # the chief holds the run folder (rundir.claim)
        held.enter_context(lifecycle.advice_on_divergence(dataset))
        history, note, checkpoint = None, '', None
        if cluster.is_chief:
            held.enter_context(rundir.claim(config.output_dir))
            checkpoint, history, note = rundir.prepare(config, dataset)
            log = rundir.RunLog(config.output_dir, stream)
            if not checkpoint:  # a resume rewrites them once its checkpoint has restored
                lifecycle.write_records(config, dataset)
        else:
            log = rundir.RunLog(None, stream)
        device = resolve_device(config.device, config.threads)
        parts = _build(config, dataset, model, device, cluster, spec)
        lifecycle.announce(log, _header(config, dataset, cluster, parts.train), note, dataset,
                           config.model, ood)
        if checkpoint:  # the session restores the latest: make it one that reads
            checkpoint = make_latest_intact(checkpoint, config.output_dir, log)
            remove_leftovers(config.output_dir)  # temporary files of a write a kill cut short
        sess_config = session_config(config.threads)
        # A worker talks to the parameter servers and itself only: its session
        # does not need the other workers to be up (one can die and come back).
        # Synchronous training still waits for their gradients at every update.
        sess_config.device_filters.extend(['/job:ps', parts.device])
        with parts.graph.as_default(), _said_while_waiting(log, cluster, notice_every):
            session = _session(config, cluster, server, parts, sess_config)
        with parts.graph.as_default():
            if checkpoint:  # the chief's, restored by the session
                lifecycle.write_records(config, dataset)
            barrier = None if parts.sync_op is None else UpdateBarrier(
                parts.sync_op, parts.train.global_step, parts.train.total_steps,
                cluster.task_name, log, notice_every)
            if not cluster.is_chief:
                return run_non_chief(session, parts.train, parts.state, parts.done_after_step,
                                     parts.wait_op, cluster, log, job_state_lib.Watchdog(give_up),
                                     job_state_lib.shared_flags(config, cluster.num_workers),
                                     barrier)
            restored = rundir.checkpoint_step(checkpoint)
            try:
                return run_chief(session, parts.train, parts.state, config, cluster, dataset, ood,
                                 device, history, log, restored, barrier)
            finally:  # every way out, also an error: the workers must not wait for us
                mark_done(server.target, parts.graph, parts.state.mark_done, sess_config)


def _build(config, dataset, model, device, cluster, spec):
    """This worker's `_WorkerGraph`: the variables on the parameter servers, its
    copy of the data and its input ops on itself."""
    chief, w, workers = cluster.is_chief, cluster.task_index, cluster.num_workers
    sync = config.sync_replicas
    worker_device = '/job:worker/task:%d' % w
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(config.seed)
        with tf.device(tf.train.replica_device_setter(worker_device=worker_device,
                                                      cluster=spec)):
            g = graph_lib.build_train_graph(
                config, dataset, model, device,
                graph_lib.Replica(workers, w, sync, worker_device + '/cpu:0'))
            state = job_state_lib.job_state(job_state_lib.shared_flags(config, workers))
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
            sync_op = local_step_sync_op(g.optimizer, g.global_step) if sync else None
    return _WorkerGraph(graph, g, state, scaffold, hooks, chief_hooks, done_after_step, wait_op,
                        sync_op, worker_device)


def _header(config, dataset, cluster, g):
    """A worker's opening line: its place, the data, the model and the schedule."""
    return ('tfbnn: %s of %d workers (%s) | %s | model %s (%s) | %d global steps of %d x %d '
            '(%d epochs)%s' % (cluster.task_name, cluster.num_workers,
                               'synchronous' if config.sync_replicas else 'asynchronous',
                               dataset.description, config.model, config.estimator,
                               g.total_steps, cluster.num_workers, config.batch_size,
                               config.epochs, ' | chief' if cluster.is_chief else ''))


@contextlib.contextmanager
def _said_while_waiting(log, cluster, every):
    """Says in a line every `every` seconds (WAIT_NOTICE_SECONDS, or the
    environment variable `WAIT_NOTICE_ENV`) while this worker's session is
    made: it waits, without a word from TensorFlow at the job's log level,
    for the parameter servers (and a non-chief worker for the chief's
    initialisation)."""
    stop, start = threading.Event(), time.time()
    waited_for = 'the parameter servers (%s)' % ', '.join(
        'ps%d at %s' % (i, a) for i, a in enumerate(cluster.cluster['ps']))
    if not cluster.is_chief:
        waited_for += ' and the chief (worker0 at %s) to initialise the variables' % (
            cluster.cluster['worker'][0])

    def say():
        while not stop.wait(every):
            log('tfbnn: %s still waiting after %.0f s for %s: are they started, at these '
                'addresses?' % (cluster.task_name, time.time() - start, waited_for))

    thread = threading.Thread(target=say, name='tfbnn-wait-notice', daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()  # no line after this worker's own


def _session(config, cluster, server, parts, sess_config):
    """The worker's `tf.train.MonitoredTrainingSession` (in the default graph); the
    chief's writes checkpoints every --checkpoint-every global steps (default:
    an epoch's) and at the end, the first (and graph.pbtxt) as it starts, where
    a storage fault is one line as in training."""
    chief = cluster.is_chief
    every = config.checkpoint_every or parts.train.total_steps // config.epochs
    with storage_faults_as_error(config.output_dir) if chief else contextlib.nullcontext():
        return tf.train.MonitoredTrainingSession(
            master=server.target, is_chief=chief,
            checkpoint_dir=config.output_dir if chief else None, scaffold=parts.scaffold,
            hooks=parts.hooks, chief_only_hooks=parts.chief_hooks,
            save_checkpoint_steps=every if chief else None, save_checkpoint_secs=None,
            save_summaries_steps=None, save_summaries_secs=None, log_step_count_steps=None,
            config=sess_config, stop_grace_period_secs=5, max_wait_secs=900)
