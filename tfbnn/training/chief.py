"""The cluster chief (worker 0): it trains like every worker, and also logs
the epochs, writes history.json (its `CheckpointSaverHook` writes the
checkpoints), stops the job at the end, --max-seconds or a signal, and
evaluates the final checkpoint in the plain single-process graph (which also
proves that the checkpoint restores without the cluster).

Its life around the steps is `tfbnn.training.lifecycle`'s, the same as the
single-process job's.
"""
import functools
import time

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn import run_config
from tfbnn.training import evaluate as evaluate_lib
from tfbnn.training import graph as graph_lib
from tfbnn.training import lifecycle, rundir
from tfbnn.training.checkpoints import restore_checkpoint, storage_faults_as_error
from tfbnn.training.session import Interrupted, session_config
from tfbnn.training.worker import global_step, run_without_hooks

__all__ = ['run_chief', 'evaluate_checkpoint']


def run_chief(session, g, state, config, cluster, dataset, ood, device, history, log, restored,
              barrier=None):
    """The chief's loop, then the evaluation and the run's outputs.

    Args:
      session: the chief's `tf.train.MonitoredTrainingSession` (not entered).
      g: `TrainGraph` of the chief (a `Replica` graph).
      state: `JobState` (the chief beats the heartbeat with each step).
      config: `RunConfig` (with `workers` set).
      cluster: `ClusterConfig`.
      dataset, ood: the `Dataset`s.
      device: the model's device in the evaluation graph.
      history: the saved history of a resumed run, or None.
      log: callable taking one line.
      restored: the step of the checkpoint the run resumed from, or None.
      barrier: None (asynchronous) or the chief's `UpdateBarrier`, passed
        before each step.

    Returns:
      The metrics dict (also metrics.json).

    Raises:
      Interrupted: SIGINT/SIGTERM (the final checkpoint was saved first).
      CheckpointError: a storage fault (a full disk, an unwritable folder) while a
        checkpoint was written.
      TrainingDivergedError: the loss became NaN or infinite.
    """
    out = config.output_dir
    steps_per_epoch = g.total_steps // config.epochs  # global steps
    examples_per_step = dataset.x_train.shape[0] / float(steps_per_epoch)
    writer = tf.summary.FileWriterCache.get(out)
    with storage_faults_as_error(out):
        with lifecycle.StopSignals() as signals:
            with session as sess:
                # Asynchronous workers may have run ahead of the chief already.
                step = global_step(sess, g)
                history, _ = rundir.truncate(history or {}, [], step)
                epochs = lifecycle.Epochs(config, dataset, steps_per_epoch, g.total_steps, step,
                                          history, log, examples_per_step,
                                          resumed=restored is not None)
                limit = lifecycle.TimeLimit(config.max_seconds)
                step, first, interrupted = _steps(sess, g, state, config, step, epochs, limit,
                                                  signals, writer, log, barrier)
                train_seconds = limit.elapsed()
                # Leaving the block saves the final checkpoint (CheckpointSaverHook.end).
        latest = rundir.latest_checkpoint(out)
        # The final checkpoint holds the global step the job ended at. The step
        # this process last read can be behind it: an asynchronous worker's
        # update may land between that read and StopAtStepHook's own.
        step = max(step, rundir.checkpoint_step(latest) or 0)
        if interrupted:
            raise Interrupted(step, latest)
        log('tfbnn: evaluating %s in a single-process graph: the %d-sample predictive on %d '
            'test examples ...' % (latest, config.eval_samples, dataset.x_test.shape[0]))
        metrics = evaluate_checkpoint(config, dataset, latest, device, ood, log)
        lifecycle.summarise_metrics(writer, metrics, step)
        writer.flush()
        # Throughput from the chief's first step: not the wait for the others.
        trained = step - first[0] if first else 0
        metrics.update(lifecycle.closing_metrics(
            step, steps_per_epoch, g.total_steps, restored, train_seconds,
            trained * examples_per_step,
            limit.start + train_seconds - first[1] if first else 0.0,
            workers=cluster.num_workers, sync_replicas=config.sync_replicas,
            stopped_early=False))  # a cluster has no --patience
        lifecycle.write_outputs(out, metrics, epochs.history, log)
        return metrics


def _steps(sess, g, state, config, step, epochs, limit, signals, writer, log, barrier):
    """The chief's steps until the job's end, a signal or --max-seconds.

    Returns:
      (the global step, (step, time) after the chief's first step or None,
      whether a signal stopped it).
    """
    last_checkpoint = functools.partial(rundir.latest_checkpoint, config.output_dir)
    first = None

    def raw(fetches):  # without the hooks
        return run_without_hooks(sess, fetches)

    def go_on():  # while the barrier waits, about once a second
        raw(state.beat)  # for the workers' watchdog: the chief is alive, and waits too
        return signals.received is None and not limit.reached()

    while not sess.should_stop():
        if barrier is not None and not barrier.before_step(raw, go_on):
            step = barrier.global_step  # (the last step came back before its update)
            if signals.received is not None:
                return step, first, True
            if limit.reached():
                log(limit.line(step, g.total_steps))
            break  # (or the job has reached its last step)
        want_summary = (step + 1) % config.summary_every == 0
        fetches = dict(g.fetches, train=g.train_op, step=g.global_step, heartbeat=state.beat)
        if want_summary:
            fetches['summary'] = g.summary
        result = lifecycle.run_step(sess, fetches, step + 1, last_checkpoint)
        # The global step read at the start of this step, plus this
        # step's update (asynchronous: others may have added theirs).
        step = int(result['step']) + 1
        if first is None:
            first = (step, time.time())
        epochs.add(result)
        if want_summary:
            writer.add_summary(result['summary'], step)
        if epochs.due(step):  # (asynchronous: the others may have gone past the end)
            epochs.end(step)
        if signals.received is not None:
            return step, first, True
        if limit.reached():
            log(limit.line(step, g.total_steps))
            break
    return step, first, False


def evaluate_checkpoint(config, dataset, checkpoint, device, ood=None, log=print):
    """Restores `checkpoint` into the single-process training graph and evaluates it.

    Args:
      config: `tfbnn.run_config.RunConfig`.
      dataset: `tfbnn.data.Dataset`.
      checkpoint: checkpoint path (of a single-process or a cluster run).
      device: model device string.
      ood: optional out-of-distribution `Dataset`.
      log: where evaluation warnings go (the run's log).

    Returns:
      The metrics of `tfbnn.training.evaluate.evaluate`.

    Raises:
      CheckpointError: when the checkpoint does not restore.
    """
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(config.seed)
        spec = run_config.model_spec(config, dataset.task, dataset.num_classes)
        # The training graph's ops (so its seeds) without drawing the outliers.
        g = graph_lib.build_train_graph(config, dataset, spec, device, draw_outliers=False)
    np.random.seed(config.seed)
    with tf.Session(graph=graph, config=session_config(config.threads)) as sess:
        restore_checkpoint(sess, g.saver, checkpoint)
        return evaluate_lib.evaluate(sess, g, dataset, config, config.output_dir, ood, log)
