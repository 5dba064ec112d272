"""What the single-process loop (`loop`) and the cluster chief (`distributed`)
share: per-epoch statistics and log line, history.json, checkpoint restore,
and the run's closing outputs (TensorBoard test scalars, metrics.json, the
learning-curve plot, the closing log line)."""
import os
import time

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn import plots
from tfbnn.errors import CheckpointError
from tfbnn.training import graph as graph_lib
from tfbnn.training import rundir

__all__ = ['EpochStats', 'epoch_line', 'restore_checkpoint', 'restore_intact', 'save_checkpoint',
           'log_epoch', 'summarise_metrics', 'write_outputs', 'fmt']


class EpochStats(object):
    """Running means of the per-step scalars over one epoch."""

    def __init__(self):
        self.sums, self.steps, self.examples, self.metric_sum = {}, 0, 0, 0.0
        self.start = time.time()

    def add(self, out):
        for key in ('loss', 'nll_term', 'kl', 'kl_coefficient', 'scaled_kl', 'learning_rate'):
            self.sums[key] = self.sums.get(key, 0.0) + float(out[key])
        self.steps += 1
        self.examples += int(out['batch_size'])
        self.metric_sum += float(out['train_metric_sum'])

    def summary(self, regression):
        means = {k: v / max(self.steps, 1) for k, v in self.sums.items()}
        if regression:
            means['train_rmse'] = float(np.sqrt(self.metric_sum / max(self.examples, 1)))
        else:
            means['train_error'] = self.metric_sum / max(self.examples, 1)
        seconds = time.time() - self.start
        means['examples_per_second'] = self.examples / max(seconds, 1e-9)
        means['epoch_seconds'] = seconds
        return means


def epoch_line(epoch, epochs, step, s, regression, target_std):
    """The one log line of an epoch: the ELBO parts, the train metric, throughput."""
    metric = ('train rmse %.4g' % (s['train_rmse'] * target_std) if regression
              else 'train err %.2f%%' % (100 * s['train_error']))
    return ('epoch %d/%d step %d | nll term %.4g | kl %.4g | kl coef %.3g | scaled kl %.4g | '
            'loss %.4g | %s | %.0f ex/s' % (epoch, epochs, step, s['nll_term'], s['kl'],
                                            s['kl_coefficient'], s['scaled_kl'], s['loss'],
                                            metric, s['examples_per_second']))


# What a missing, truncated or corrupt checkpoint raises on restore.
_RESTORE_ERRORS = (tf.errors.NotFoundError, tf.errors.DataLossError, tf.errors.OutOfRangeError,
                   tf.errors.InvalidArgumentError, ValueError)


def _first_line(err):
    return str(err).strip().split('\n')[0]


def restore_checkpoint(sess, saver, checkpoint):
    """saver.restore, with a bad checkpoint as a one-line CheckpointError."""
    try:
        saver.restore(sess, checkpoint)
    except _RESTORE_ERRORS as err:
        raise CheckpointError('cannot restore %s: %s' % (checkpoint, _first_line(err)))


def restore_intact(sess, saver, checkpoint, folder, log):
    """Restores `checkpoint`; if its files are damaged, the newest older one that restores.

    A checkpoint cut short (a full disk, a killed copy) must not cost the
    work saved before it: the run goes on from the newest intact checkpoint
    the folder's state lists, and says which one it skipped. The damaged
    files stay on disk, untouched.

    Returns:
      the path restored.

    Raises:
      CheckpointError: no listed checkpoint restores.
    """
    state = tf.train.get_checkpoint_state(folder)
    older = [p for p in reversed(list(state.all_model_checkpoint_paths))
             if p != checkpoint] if state is not None else []
    damaged = []
    for path in [checkpoint] + older:
        try:
            saver.restore(sess, path)
        except _RESTORE_ERRORS as err:
            damaged.append((path, _first_line(err)))
            continue
        if damaged:
            log('tfbnn: skipped damaged checkpoint(s) %s; resuming from %s'
                % ('; '.join('%s (%s)' % (os.path.basename(p), why) for p, why in damaged),
                   path))
        return path
    raise CheckpointError('cannot restore %s: %s%s' % (
        checkpoint, damaged[0][1], '; no older checkpoint restores either' if older else ''))


def save_checkpoint(sess, saver, prefix, step, last_good, **kwargs):
    """saver.save; a full disk or another write fault as a one-line CheckpointError.

    TensorFlow writes a checkpoint's files under temporary names and updates
    the folder's state only once they are complete, so the last complete
    checkpoint stays the one `--resume` takes.
    """
    try:
        return saver.save(sess, prefix, global_step=step, **kwargs)
    except (tf.errors.OpError, OSError) as err:
        reason = _first_line(getattr(err, 'message', None) or err)
        raise CheckpointError('cannot write the checkpoint of step %d in %s: %s; the last '
                              'complete checkpoint (%s) is intact: free space, then --resume'
                              % (step, os.path.dirname(prefix) or '.', reason,
                                 last_good or 'none yet'))


def log_epoch(history, out, epoch, step, summary):
    """Appends one epoch's values to `history` and rewrites history.json."""
    history.setdefault('epoch', []).append(epoch)
    history.setdefault('step', []).append(step)
    for key, value in summary.items():
        history.setdefault(key, []).append(value)
    rundir.write_json(os.path.join(out, rundir.HISTORY), history)


def summarise_metrics(writer, metrics, step):
    """The evaluation's float metrics as TensorBoard scalars 'test/<name>'."""
    for key in metrics:
        if isinstance(metrics[key], float):
            writer.add_summary(graph_lib.log_summary_value('test/' + key, metrics[key]), step)


def write_outputs(out, metrics, history, log):
    """metrics.json, learning_curves.png (when there is a history) and the
    closing log line of every metric."""
    rundir.write_json(os.path.join(out, rundir.METRICS), metrics)
    if history:
        plots.learning_curves(history, os.path.join(out, 'learning_curves.png'))
    log('tfbnn: ' + ' | '.join('%s %s' % (k, fmt(v)) for k, v in sorted(metrics.items())
                               if v is not None))


def fmt(v):
    """A metric value for the log: ints as they are, floats to 4 digits."""
    if isinstance(v, bool) or isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return '%.4g' % v
    return str(v)
