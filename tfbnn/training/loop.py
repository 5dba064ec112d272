"""The training job: a plain tf.Session loop with checkpoints, resume, a NaN
guard, progress, TensorBoard summaries, evaluation and plots."""
import os
import signal
import time

import numpy as np
import tensorflow.compat.v1 as tf
from tensorflow.python.client import device_lib

from tfbnn import diagnostics, moped, run_config
from tfbnn.internal import compat
from tfbnn.errors import CheckpointError, ConfigError, TrainingDivergedError
from tfbnn.progress import ProgressBar, format_duration
from tfbnn.training import evaluate as evaluate_lib
from tfbnn.training import graph as graph_lib
from tfbnn.training import rundir
from tfbnn.training._session_common import (EpochStats, epoch_line, log_epoch, restore_checkpoint,
                                            restore_intact, save_checkpoint, summarise_metrics,
                                            write_outputs)

__all__ = ['train', 'resolve_device', 'Interrupted']


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived; a checkpoint of the current step was saved."""

    def __init__(self, step, checkpoint):
        self.step, self.checkpoint = step, checkpoint
        super(Interrupted, self).__init__(
            'interrupted at step %d; saved %s; continue with --resume' % (step, checkpoint))


def session_config(threads):
    cfg = tf.ConfigProto(allow_soft_placement=True)
    cfg.gpu_options.allow_growth = True
    if threads:
        cfg.intra_op_parallelism_threads = threads
        cfg.inter_op_parallelism_threads = threads
    return cfg


GPU_NEEDS = {
    'tf1': 'TF 1.15 needs the tensorflow-gpu 1.15 build, CUDA 10.0, cuDNN 7 and a visible device',
    'tf2': "TF 2.x needs the CUDA wheels, pip install 'tensorflow[and-cuda]', and a visible device",
}


def resolve_device(choice, threads=0):
    """'/gpu:0' or '/cpu:0' for --device cpu|gpu|auto.

    Raises:
      ConfigError: --device gpu when TensorFlow sees no GPU.
    """
    if choice == 'cpu':
        return '/cpu:0'
    gpus = [d for d in device_lib.list_local_devices(session_config(threads))
            if d.device_type == 'GPU']
    if gpus:
        return '/gpu:0'
    if choice == 'gpu':
        raise ConfigError('--device gpu: TensorFlow %s sees no GPU (%s); use --device cpu or auto'
                          % (tf.__version__, GPU_NEEDS[compat.stack_name()]))
    return '/cpu:0'


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
    checkpoint, history, note = rundir.prepare(config)
    out = config.output_dir
    log = rundir.RunLog(out, stream)
    try:
        run_config.save(config, os.path.join(out, rundir.CONFIG))
        rundir.write_json(os.path.join(out, rundir.DATASET), rundir.dataset_record(dataset))
    except OSError as err:
        raise CheckpointError('cannot write to --output-dir %s: %s' % (out, err.strerror or err))
    device = resolve_device(config.device, config.threads)
    regression = dataset.task == 'regression'

    graph = tf.Graph()
    with graph.as_default():
        tf.set_random_seed(config.seed)
        g = graph_lib.build_train_graph(config, dataset, spec, device)
        if config.validate_every:  # the best weights on the validation split
            g = g._replace(best_saver=tf.train.Saver(max_to_keep=1, save_relative_paths=True))
        moped_report = None
        if config.init_from and not checkpoint:  # a new run; a resume restores its own
            moped_report = moped.init_from_checkpoint(config.init_from, config.moped_delta,
                                                      scope='model')
        init = tf.group(tf.global_variables_initializer(), tf.local_variables_initializer())
    np.random.seed(config.seed)
    log('tfbnn: %s | model %s (%s, prior %s) | %d train / %d test | %d steps of %d '
        '(%d epochs) | device %s'
        % (dataset.description, config.model,
           # the getter-built LSTM samples by reparameterisation whatever --estimator says
           'custom_getter' if config.model == 'lstm' else config.estimator, spec.prior,
           dataset.x_train.shape[0], dataset.x_test.shape[0], g.total_steps,
           config.batch_size, config.epochs, device))
    if note:
        log('tfbnn: ' + note)
    if moped_report:
        log('tfbnn: MOPED from %s: %d posteriors start at its weights (sigma = %g |w|), %d other '
            'variables restored' % (config.init_from, len(moped_report) - 1,
                                    config.moped_delta, len(moped_report['others'])))

    history = history or {}
    ckpt_prefix = os.path.join(out, rundir.CHECKPOINT_PREFIX)
    every = config.checkpoint_every or g.steps_per_epoch
    stop = {'signal': None}

    def on_signal(signum, _frame):
        stop['signal'] = signum

    with tf.Session(graph=graph, config=session_config(config.threads)) as sess:
        sess.run(init, g.data_feed)  # also loads the arrays into their local variables
        if checkpoint:
            checkpoint = restore_intact(sess, g.saver, checkpoint, out, log)
            state = tf.train.get_checkpoint_state(out)
            if state is not None:  # so --keep-checkpoints also counts the earlier ones
                g.saver.recover_last_checkpoints(list(state.all_model_checkpoint_paths))
        step = int(sess.run(g.global_step))
        first_step = step
        sess.run(g.iterator_init, {g.start_epoch: step // g.steps_per_epoch,
                                   g.skip_batches: step % g.steps_per_epoch})
        writer = tf.summary.FileWriter(out, graph if step == 0 else None)
        bar = ProgressBar(g.total_steps, step, enabled={'auto': None, 'always': True,
                                                        'never': False}[config.progress])
        stats = EpochStats()
        diag_log = rundir.read_json(os.path.join(out, rundir.DIAGNOSTICS), []) if checkpoint else []
        history, diag_log = rundir.truncate(history, diag_log, step)
        best = _BestCheckpoint(g, dataset, config, step, history) \
            if config.validate_every else None
        last_saved = checkpoint
        stopped_early = False
        t0 = time.time()
        trained_examples = 0
        old_handlers = {s: signal.signal(s, on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            while step < g.total_steps:
                want_summary = (step + 1) % config.summary_every == 0
                want_diag = g.diagnostics is not None and (
                    (step + 1) % config.diagnostics_every == 0 or step + 1 == g.total_steps)
                fetches = dict(g.fetches, train=g.train_op)
                if want_summary:
                    fetches['summary'] = g.summary
                if want_diag:
                    fetches['diagnostics'] = g.diagnostics
                    fetches['diagnostics_summary'] = g.diagnostics_summary
                try:
                    result = sess.run(fetches)
                except tf.errors.InvalidArgumentError as err:
                    if graph_lib.NON_FINITE_MESSAGE in str(err):
                        bar.clear()
                        raise TrainingDivergedError(step + 1, last_saved)
                    raise
                step += 1
                stats.add(result)
                trained_examples += int(result['batch_size'])
                if want_summary:
                    writer.add_summary(result['summary'], step)
                if want_diag:
                    writer.add_summary(result['diagnostics_summary'], step)
                    diag_log.append(_record_diagnostics(result['diagnostics'], step, bar, log))
                    rundir.write_json(os.path.join(out, rundir.DIAGNOSTICS), diag_log)
                if step % every == 0 or step == g.total_steps:
                    last_saved = save_checkpoint(sess, g.saver, ckpt_prefix, step, last_saved)
                if step % g.steps_per_epoch == 0 or step == g.total_steps:
                    epoch = -(-step // g.steps_per_epoch)
                    summary = stats.summary(regression)
                    bar.clear()
                    log(epoch_line(epoch, config.epochs, step, summary, regression,
                                    dataset.target_std))
                    if config.validate_every:
                        summary.update(best.check(sess, epoch, step, log, bar))
                    log_epoch(history, out, epoch, step, summary)
                    stats = EpochStats()
                    if best is not None and best.exhausted() and step < g.total_steps:
                        bar.clear()
                        if step % every:
                            last_saved = save_checkpoint(sess, g.saver, ckpt_prefix, step, last_saved)
                        log('tfbnn: early stopping at epoch %d: no better %s in the last %d '
                            'validations (best at epoch %d)' % (epoch, best.key,
                                                                config.patience,
                                                                best.record['epoch']))
                        stopped_early = True
                        break
                bar.update(step, stats.examples / max(time.time() - stats.start, 1e-9)
                           if stats.steps else None)
                if stop['signal'] is not None:
                    raise KeyboardInterrupt
                if config.max_seconds and time.time() - t0 > config.max_seconds:
                    bar.clear()
                    last_saved = save_checkpoint(sess, g.saver, ckpt_prefix, step, last_saved)
                    log('tfbnn: --max-seconds %g reached at step %d of %d; evaluating the '
                        'model as it is (resume with --resume)' % (config.max_seconds, step,
                                                                   g.total_steps))
                    break
        except KeyboardInterrupt:
            bar.clear()
            saved = save_checkpoint(sess, g.saver, ckpt_prefix, step, last_saved)
            raise Interrupted(step, saved)
        finally:
            for s, h in old_handlers.items():
                signal.signal(s, h)
        train_seconds = time.time() - t0
        bar.clear()

        selected = best.restore(sess, log) if best is not None else {}
        log('tfbnn: evaluating the %d-sample predictive on %s ...'
            % (config.eval_samples, '%d test examples' % dataset.x_test.shape[0]
               if config.evaluate_test else 'the validation split only (--no-test-eval)'))
        metrics = evaluate_lib.evaluate(sess, g, dataset, config, out, ood)
        metrics.update(selected)
        summarise_metrics(writer, metrics, step)
        writer.close()

    metrics.update(
        examples_per_second=trained_examples / max(train_seconds, 1e-9) if trained_examples
        else None,
        epochs=step / float(g.steps_per_epoch), steps=step, resumed_from_step=first_step or None,
        train_seconds=train_seconds, completed=step >= g.total_steps,
        stopped_early=stopped_early)
    if diag_log:
        metrics['kl_dominated_layers'] = _diagnostics_report(diag_log[-1], log)
    write_outputs(out, metrics, history, log)
    log('tfbnn: wrote %s (metrics.json, config.json, history.json, checkpoints, events, plots) '
        'in %s' % (out, format_duration(train_seconds + metrics['eval_seconds'])))
    return metrics


class _BestCheckpoint(object):
    """Early stopping on the validation split: every `validate_every` epochs
    (and at the last step) score the predictive on the validation examples,
    keep the best-scoring weights in <run>/best/, and evaluate those at the
    end; with `patience` P, stop training after P validations in a row
    without improvement. The test split plays no part in the choice.

    A resumed run reads best/best.json; a best checkpoint newer than the step
    it resumes from belongs to a future that is being replayed, so it is
    dropped and found again.
    """

    def __init__(self, graph, dataset, config, step, history):
        self.graph, self.dataset, self.config = graph, dataset, config
        self.key, self.better = evaluate_lib.selection_score(dataset.task)
        self.folder = os.path.join(config.output_dir, rundir.BEST)
        self.every, self.total = config.validate_every, graph.total_steps
        self.saver = graph.best_saver
        os.makedirs(self.folder, exist_ok=True)
        record = rundir.read_json(os.path.join(self.folder, rundir.BEST_RECORD))
        self.record = record if record and record['step'] <= step else None
        if record and self.record is None:
            # The record of a future being replayed goes before its files, so
            # that no best.json ever names a deleted checkpoint.
            os.remove(os.path.join(self.folder, rundir.BEST_RECORD))
        self._remove_stale_checkpoints()
        # Validations since the best one (what --patience counts), also
        # across a resume: the history holds the scores logged so far.
        best_epoch = self.record['epoch'] if self.record else 0
        self.stale = sum(1 for e, v in zip(history.get('epoch', []),
                                           history.get(self.key, []))
                         if v is not None and e > best_epoch)

    def _remove_stale_checkpoints(self):
        """Deletes the checkpoints in best/ other than the recorded one.

        The saver keeps one checkpoint, but only of those it wrote: the
        best weights of an earlier process (before a --resume), or of a
        replayed future, would stay on disk for good. Runs after best.json
        is written, so the record never names a deleted checkpoint.
        """
        # A checkpoint's files are <prefix>-<step>.<suffix>.
        keep = os.path.basename(self.record['checkpoint']) + '.' if self.record else None
        for name in os.listdir(self.folder):
            if (name.startswith(rundir.CHECKPOINT_PREFIX + '-')
                    and not (keep and name.startswith(keep))):
                os.remove(os.path.join(self.folder, name))

    def exhausted(self):
        """True once --patience validations in a row brought no improvement."""
        return bool(self.config.patience) and self.stale >= self.config.patience

    def check(self, sess, epoch, step, log, bar):
        """Scores the current weights if this epoch is due; returns the
        validation metrics for the history (None on other epochs)."""
        keys = ('val_rmse', 'val_ll') if self.dataset.task == 'regression' \
            else ('val_error', 'val_nll', 'val_ece', 'val_confidence')
        if epoch % self.every and step != self.total:
            return dict.fromkeys(keys)
        scores = evaluate_lib.validation_metrics(sess, self.graph, self.dataset, self.config)
        value = scores[self.key]
        improved = self.record is None or self.better(value, self.record['value'])
        self.stale = 0 if improved else self.stale + 1
        if improved:
            path = save_checkpoint(sess, self.saver,
                                   os.path.join(self.folder, rundir.CHECKPOINT_PREFIX), step,
                                   self.record and self.record['checkpoint'],
                                   latest_filename='checkpoint')
            self.record = dict(step=step, epoch=epoch, key=self.key, value=value,
                               checkpoint=os.path.relpath(path, self.config.output_dir))
            rundir.write_json(os.path.join(self.folder, rundir.BEST_RECORD), self.record)
            self._remove_stale_checkpoints()
        bar.clear()
        log('validation at epoch %d: %s%s' % (
            epoch, ' | '.join('%s %.4g' % (k, v) for k, v in sorted(scores.items())),
            ' (best so far, saved)' if improved else ' (best: %.4g at epoch %d)' % (
                self.record['value'], self.record['epoch'])))
        return scores

    def restore(self, sess, log):
        """Loads the best weights into `sess`; returns what metrics.json
        records of the choice."""
        if self.record is None:
            return {}
        path = os.path.join(self.config.output_dir, self.record['checkpoint'])
        restore_checkpoint(sess, self.saver, path)
        log('tfbnn: early stopping: evaluating the weights of epoch %d (step %d), the best '
            '%s on the validation split (%.4g)' % (self.record['epoch'], self.record['step'],
                                                    self.key, self.record['value']))
        return dict(selected_epoch=self.record['epoch'], selected_step=self.record['step'],
                    selected_on=self.key)


def _record_diagnostics(values, step, bar, log):
    """Logs the per-layer table of one step; returns its JSON record."""
    bar.clear()
    log('diagnostics at step %d:\n%s' % (step, diagnostics.format_table(values)))
    return dict(step=step, layers={layer: {k: float(v) for k, v in d._asdict().items()}
                                   for layer, d in values.items()})


def _diagnostics_report(record, log):
    """Names the layers whose KL gradient dominates, and what that suggests."""
    # The record holds LayerDiagnostics._asdict() of each layer (_record_diagnostics).
    values = {layer: diagnostics.LayerDiagnostics(**d) for layer, d in record['layers'].items()}
    ratios = {layer: d.kl_to_nll_grad_ratio for layer, d in values.items()}
    dominated = diagnostics.dominated_layers(values, threshold=1.0)
    if not dominated:
        log('tfbnn: diagnostics: in every layer the data (NLL) gradient outweighs the KL '
            'gradient (largest KL/NLL ratio %.3g, in %s)'
            % (max(ratios.values()), max(ratios, key=ratios.get)))
        return []
    log('tfbnn: diagnostics: the KL gradient outweighs the data gradient in %s (KL/NLL gradient '
        'norm ratio %s at step %d). The prior is pulling these posteriors harder than the data: '
        'a wider or more informative prior (--prior-sigma, --prior scale_mixture), more training '
        'data, or a tempered posterior (--kl-weight < 1, knowingly) would shift the balance; '
        'the KL grows with the parameter count, so smaller layers also help. See '
        'docs/kl-weighting.md.' % (', '.join(dominated),
                                   ', '.join('%.3g' % ratios[l] for l in dominated),
                                   record['step']))
    return dominated
