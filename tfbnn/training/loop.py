"""The single-process training job: a plain tf.Session loop with checkpoints,
resume, a NaN guard, progress, TensorBoard summaries, early stopping,
evaluation and plots.

What it shares with the cluster chief (signals, the guarded step, the epoch
records, --max-seconds, the closing metrics and outputs) is
`tfbnn.training.lifecycle`'s; checkpoints and their faults are
`tfbnn.training.checkpoints`'.
"""
import functools
import os
import sys
import time

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn import moped, pruning, run_config
from tfbnn.errors import cause_line
from tfbnn.internal import checkpoint_reader
from tfbnn.internal.jsonio import read_json
from tfbnn.progress import ProgressBar, format_duration
from tfbnn.training import evaluate as evaluate_lib
from tfbnn.training import graph as graph_lib
from tfbnn.training import events, lifecycle, rundir, warm_start
from tfbnn.training.checkpoints import (checkpoint_state, restore_intact, save_checkpoint,
                                        storage_remedy)
from tfbnn.training.diagnostics_log import DiagnosticsLog
from tfbnn.training.early_stopping import BestCheckpoint, best_saver
from tfbnn.training.leftovers import finish_cut_saves, remove_leftovers
from tfbnn.training.session import Interrupted, resolve_device, session_config

__all__ = ['train']


_PROGRESS = {'auto': None, 'always': True, 'never': False}
_MODEL_SCOPE = 'model'  # the variable scope of the job's network (`tfbnn.models`)


def train(config, stream=None):
    """Runs one training job end to end and returns its metrics.

    Args:
      config: `tfbnn.run_config.RunConfig`, or a mapping of run options
        (missing ones take their defaults), checked here once.
      stream: where log lines go (default stdout); also <output_dir>/train.log.

    Returns:
      The metrics dict also written to <output_dir>/metrics.json.

    Raises:
      ConfigError, DataError, CheckpointError: a user's mistake, with one line.
      TrainingDivergedError: the loss became NaN or infinite.
      Interrupted: SIGINT/SIGTERM; a checkpoint was saved first.
    """
    config = run_config.validate(config)
    dataset, ood = run_config.load_datasets(config)
    spec = run_config.model_spec(config, dataset.task, dataset.num_classes)
    moved = rundir.set_aside(config)
    if moved:  # at once: whatever happens next, the user knows where the earlier run is
        print('tfbnn: ' + moved, file=stream or sys.stdout, flush=True)
    with rundir.claim(config.output_dir), lifecycle.advice_on_divergence(dataset):
        return _train(config, dataset, ood, spec, stream)


def _train(config, dataset, ood, spec, stream):
    """`train` in the folder it holds."""
    checkpoint, history, note = rundir.prepare(config, dataset)
    out = config.output_dir
    log = rundir.RunLog(out, stream)
    if not checkpoint:  # a resume rewrites them once its checkpoint has restored
        lifecycle.write_records(config, dataset)
    device = resolve_device(config.device, config.threads)
    graph, g, init, start_line = _build(config, dataset, spec, device, bool(checkpoint))
    np.random.seed(config.seed)
    lifecycle.announce(log, _header(config, dataset, spec, g, device), note, dataset, config.model,
                       ood)
    if start_line:
        log(start_line)

    with tf.Session(graph=graph, config=session_config(config.threads)) as sess:
        sess.run(init, g.data_feed)  # also loads the arrays into their local variables
        if checkpoint:
            checkpoint = _restore(sess, g, checkpoint, out, log)
            lifecycle.write_records(config, dataset)
        elif config.prune_fraction:
            _prune(sess, config.prune_fraction, log)
        loop = _Loop(sess, g, config, dataset, history, checkpoint, log)
        train_seconds = loop.run()
        metrics = loop.evaluate(dataset, ood)
        if config.warm_start:
            with graph.as_default():
                metrics['pruned_fraction'] = pruning.pruned_fraction(sess, scope=_MODEL_SCOPE)

    metrics.update(lifecycle.closing_metrics(
        loop.step, g.steps_per_epoch, g.total_steps, loop.first_step, train_seconds,
        *loop.throughput_window(train_seconds), stopped_early=loop.stopped_early))
    dominated = loop.diagnostics.report()
    if dominated is not None:
        metrics['kl_dominated_layers'] = dominated
    lifecycle.write_outputs(out, metrics, loop.epochs.history, log)
    if loop.events_error is not None:
        raise loop.events_error
    log('tfbnn: wrote %s (metrics.json, config.json, history.json, checkpoints, events, plots) '
        'in %s' % (out, format_duration(train_seconds + metrics['eval_seconds'])))
    return metrics


def _build(config, dataset, spec, device, resuming):
    """The single-process graph; a new run's MOPED start (--init-from) or warm
    start (--warm-start) from another checkpoint.

    Returns:
      (tf.Graph, `TrainGraph`, its initialiser, the line that says where the
      model starts, or None for a random start or a resume).
    """
    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(config.seed)
        g = graph_lib.build_train_graph(config, dataset, spec, device)
        if config.validate_every:  # the best weights on the validation split
            g = g._replace(best_saver=best_saver())
        line = None
        if config.init_from and not resuming:  # a new run; a resume restores its own
            # Every tensor read first (no op): a truncated .data file is one line.
            reader = checkpoint_reader.read_all(config.init_from, '--init-from: ')
            report = moped.init_from_checkpoint(config.init_from, config.moped_delta,
                                                scope=_MODEL_SCOPE)
            warm_start.refuse_extra('--init-from', config.init_from,
                                    reader.get_variable_to_shape_map(),
                                    set(report) | set(v.op.name for v in tf.global_variables()),
                                    _MODEL_SCOPE,
                                    '--model, --hidden and --norm')
            line = ('tfbnn: MOPED from %s: %d posteriors start at its weights (sigma = %g |w|), '
                    '%d other variables restored' % (config.init_from, len(report) - 1,
                                                     config.moped_delta, len(report['others'])))
        elif config.warm_start and not resuming:
            notes = []  # a checkpoint passed over for another (rundir.latest_checkpoint)
            checkpoint = warm_start.resolve(config.warm_start, notes.append)
            names = warm_start.warm_start(checkpoint, _MODEL_SCOPE)
            line = ''.join('tfbnn: --warm-start: %s\n' % note for note in notes) + (
                'tfbnn: warm start from %s: its %d model variables; step 0, a fresh optimizer'
                % (checkpoint, len(names)))
        init = tf.group(tf.global_variables_initializer(), tf.local_variables_initializer())
    return graph, g, init, line


def _prune(sess, fraction, log):
    """--prune-fraction: removes the warm start's lowest-SNR kernel weights."""
    with sess.graph.as_default():
        pruned, total, threshold = pruning.prune_by_snr(sess, fraction, scope=_MODEL_SCOPE)
    log('tfbnn: pruned %d of %d kernel weights (%.1f%%, |mu|/sigma <= %.3g); the kept ones '
        'train' % (pruned, total, 100.0 * pruned / total, threshold))


def _header(config, dataset, spec, g, device):
    """The run's opening line: data, model, schedule and device."""
    n = dataset.x_train.shape[0]
    return ('tfbnn: %s | model %s (%s, prior %s) | %d train / %d test | %d steps of %d%s '
            '(%d epochs) | device %s'
            % (dataset.description, config.model,
               # the getter-built LSTM samples by reparameterisation whatever --estimator says
               'custom_getter' if config.model == 'lstm' else config.estimator, spec.prior,
               n, dataset.x_test.shape[0], g.total_steps, config.batch_size,
               ' (a batch larger than the training set: each step takes all %d)' % n
               if config.batch_size > n else '', config.epochs, device))


def _restore(sess, g, checkpoint, out, log):
    """Restores the newest intact checkpoint; returns its path."""
    checkpoint = restore_intact(sess, g.saver, checkpoint, out, log)
    remove_leftovers(out)  # temporary files of a write a kill cut short
    finish_cut_saves(out, g.saver, checkpoint, log)
    state = checkpoint_state(out)
    # So --keep-checkpoints also counts the earlier ones (those on disk if the state is lost).
    g.saver.recover_last_checkpoints(list(state.all_model_checkpoint_paths) if state is not None
                                     else rundir.checkpoints_on_disk(out))
    return checkpoint


def _above(bar, log):
    """`log`, clearing the progress bar first so that no line lands inside it."""
    def say(line):
        bar.clear()
        log(line)
    return say


class _Loop(object):
    """The single-process loop: its steps, checkpoints, epochs and early stop.

    Args:
      sess: the session, its variables initialised or restored.
      g: `TrainGraph`.
      config: `RunConfig`.
      dataset: `Dataset`.
      history: the saved history of a resumed run, or None.
      checkpoint: the checkpoint restored, or None.
      log: callable taking one line.

    Attributes:
      step: the global step; first_step: where this process started.
      examples: examples trained on by this process.
      stopped_early: whether --patience ended the run.
      epochs: `lifecycle.Epochs` (its `history` is history.json's).
      diagnostics: `DiagnosticsLog`.
    """

    def __init__(self, sess, g, config, dataset, history, checkpoint, log):
        out = config.output_dir
        self.sess, self.g, self.config = sess, g, config
        self.step = self.first_step = int(sess.run(g.global_step))
        sess.run(g.iterator_init, {g.start_epoch: self.step // g.steps_per_epoch,
                                   g.skip_batches: self.step % g.steps_per_epoch})
        self.events_before = events.events_files(out)  # the writer's file is the new one
        self.events_error = None  # an OSError of events not all written, raised at the end
        self.writer = tf.summary.FileWriter(out, sess.graph if self.step == 0 else None)
        self.bar = ProgressBar(g.total_steps, self.step, enabled=_PROGRESS[config.progress])
        self.log = _above(self.bar, log)
        records = read_json(os.path.join(out, rundir.DIAGNOSTICS), []) if checkpoint \
            else []
        history, records = rundir.truncate(history or {}, records, self.step)
        self.epochs = lifecycle.Epochs(config, dataset, g.steps_per_epoch, g.total_steps,
                                       self.step, history, self.log, write_each_epoch=False)
        self.diagnostics = DiagnosticsLog(out, records, self.log)
        self.best = BestCheckpoint(g, dataset, config, self.step, self.epochs.history) \
            if config.validate_every else None
        self._validation = functools.partial(self.best.check, sess, log=self.log) \
            if self.best is not None else None
        self.last_saved, self.prefix = checkpoint, os.path.join(out, rundir.CHECKPOINT_PREFIX)
        self.every = config.checkpoint_every or g.steps_per_epoch
        self.examples, self.stopped_early = 0, False
        # (examples, time) when this process's first step ended, and its last
        self.after_first = self.after_last = None

    def _save(self):
        """history.json, then the checkpoint: a resume finds every epoch up to its step."""
        self.epochs.write_history()
        self.last_saved = save_checkpoint(self.sess, self.g.saver, self.prefix, self.step,
                                          self.last_saved)
        if self.best is not None:
            self.best.saved(self.step)
        return self.last_saved

    def run(self):
        """Steps until the last step, early stopping, a signal or --max-seconds.

        Returns:
          The loop's seconds.

        Raises:
          Interrupted: SIGINT/SIGTERM (after saving the step).
          TrainingDivergedError, CheckpointError: as `train`.
        """
        limit = lifecycle.TimeLimit(self.config.max_seconds)
        with lifecycle.StopSignals() as signals:
            try:
                while self.step < self.g.total_steps:
                    if self._step():
                        break
                    self.bar.update(self.step, self.epochs.examples_per_second())
                    if signals.received is not None:
                        raise Interrupted(self.step, self._save())
                    if limit.reached():
                        self._save()
                        self.log(limit.line(self.step, self.g.total_steps))
                        break
            finally:
                self.bar.clear()
        return limit.elapsed()

    def throughput_window(self, loop_seconds):
        """(examples, seconds) from the end of this process's first step to
        the end of its last (the first step's one-time set-up is no
        throughput, and the cluster's chief counts the same way); with fewer
        than two steps, all the examples over `loop_seconds`."""
        if self.after_first is None or self.after_last[0] == self.after_first[0]:
            return self.examples, loop_seconds
        return (self.after_last[0] - self.after_first[0],
                self.after_last[1] - self.after_first[1])

    def _step(self):
        """One step, its summaries, checkpoint and epoch end; True when early stopping ends
        the run."""
        config, g = self.config, self.g
        want_summary = (self.step + 1) % config.summary_every == 0
        want_diag = g.diagnostics is not None and (
            (self.step + 1) % config.diagnostics_every == 0 or self.step + 1 == g.total_steps)
        fetches = dict(g.fetches, train=g.train_op)
        if want_summary:
            fetches['summary'] = g.summary
        if want_diag:
            fetches.update(diagnostics=g.diagnostics, diagnostics_summary=g.diagnostics_summary)
        result = lifecycle.run_step(self.sess, fetches, self.step + 1, self.last_saved)
        self.step = step = self.step + 1
        self.epochs.add(result)
        self.examples += int(result['batch_size'])
        self.after_last = (self.examples, time.time())
        if self.after_first is None:
            self.after_first = self.after_last
        if want_summary:
            self.writer.add_summary(result['summary'], step)
        if want_diag:
            self.writer.add_summary(result['diagnostics_summary'], step)
            self.diagnostics.add(result['diagnostics'], step)
        epoch = self.epochs.end(step, self._validation) if self.epochs.due(step) else None
        if step % self.every == 0 or step == g.total_steps:
            self._save()
        if (epoch is None or self.best is None or not self.best.exhausted()
                or step >= g.total_steps):
            return False
        if step % self.every:
            self._save()
        self.log(self.best.stopping_line(epoch))
        self.stopped_early = True
        return True

    def evaluate(self, dataset, ood):
        """Evaluates the final (or, with early stopping, the best) weights; returns the metrics."""
        config = self.config
        selected = self.best.restore(self.sess, self.log) if self.best is not None else {}
        self.log('tfbnn: evaluating the %d-sample predictive on %s ...'
                 % (config.eval_samples, '%d test examples' % dataset.x_test.shape[0]
                    if config.evaluate_test else 'the validation split only (--no-test-eval)'))
        metrics = evaluate_lib.evaluate(self.sess, self.g, dataset, config, config.output_dir,
                                        ood, self.log)
        metrics.update(selected)
        lifecycle.summarise_metrics(self.writer, metrics, self.step)
        # A failed events write is raised after the records are written
        # (`events_error`): the evaluation is finished work.
        try:
            self.writer.close()
        except Exception as err:  # TF 2.x raises the events file's failed write here
            if storage_remedy(err) is None:
                raise
            self.events_error = events.not_written(self.writer.get_logdir(), cause_line(err))
            return metrics
        try:  # TF 1.15 drops a failed write's status: read the file back.
            events.check_written(self.writer.get_logdir(), self.events_before)
        except OSError as err:
            self.events_error = err
        return metrics
