"""One training process's life around its steps, the same for the
single-process job (`tfbnn.training.loop`) and the cluster chief
(`tfbnn.training.chief`):

* the run's records (config.json, dataset.json) and its opening lines;
* `StopSignals`: SIGINT and SIGTERM only ask the loop to stop, at the end of
  a step, so the process can save and say where it stopped;
* `run_step`: one training step, whose NaN guard (`graph.NON_FINITE_MESSAGE`)
  becomes `TrainingDivergedError` (exit status 3 in tfbnn-train);
  `advice_on_divergence` makes it name inputs of a huge scale as the cause;
* `Epochs`: the per-epoch running means, the epoch line and history.json;
* `TimeLimit`: --max-seconds and its line;
* `closing_metrics`: what metrics.json says of the training (throughput,
  epochs, steps, where it resumed, time, whether it completed);
* `write_outputs`: metrics.json, the learning curves and the closing line.

A failed checkpoint write is `tfbnn.training.checkpoints`' (one line,
`CheckpointError`, exit status 2; the last complete checkpoint intact).
"""
import contextlib
import os
import signal
import time

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn import data, plots, run_config
from tfbnn.errors import CheckpointError, TrainingDivergedError
from tfbnn.internal.jsonio import write_json
from tfbnn.training import graph as graph_lib
from tfbnn.training import rundir

__all__ = ['write_records', 'announce', 'StopSignals', 'run_step', 'advice_on_divergence',
           'data_scale_advice', 'HUGE_INPUT', 'EpochStats', 'epoch_line', 'Epochs', 'TimeLimit',
           'closing_metrics', 'summarise_metrics', 'write_outputs', 'fmt']

# Inputs beyond this in absolute value are data at another scale (pixels
# divided by a tiny --pixel-scale, raw sensor counts), not a step size to tune.
HUGE_INPUT = 1e6


def write_records(config, dataset):
    """Writes <run>/config.json and <run>/dataset.json.

    Raises:
      CheckpointError: the run directory cannot be written.
    """
    out = config.output_dir
    try:
        run_config.save(config, os.path.join(out, rundir.CONFIG))
        write_json(os.path.join(out, rundir.DATASET), rundir.dataset_record(dataset))
    except OSError as err:
        raise CheckpointError('cannot write to --output-dir %s: %s' % (out, err.strerror or err))


def announce(log, header, note='', dataset=None, model=None, ood=None):
    """The run's opening lines: its one-line description, `rundir.prepare`'s
    note, then one line for each of `tfbnn.data.dataset_warnings(dataset)`
    (the layout one not for `model` 'mlp', which flattens its inputs) and
    `tfbnn.data.ood_range_warning(dataset, ood)`."""
    log(header)
    if note:
        log('tfbnn: ' + note)
    said = [] if dataset is None else data.dataset_warnings(dataset, flattens=model == 'mlp',
                                                            volumes=model == 'conv3d')
    if ood is not None:
        said += [w for w in [data.ood_range_warning(dataset, ood)] if w]
    for warning in said:
        log('tfbnn: warning: ' + warning)


class StopSignals(object):
    """A context manager: inside it, SIGINT and SIGTERM only record that they came.

    The training loop reads `received` after each step and stops there
    (saving a checkpoint first), instead of being killed mid-step. On exit
    the handlers installed before are restored, also after an error.

    Attributes:
      received: the number of the last signal that came, or None.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self):
        self.received = None
        self._previous = {}

    def _record(self, signum, _frame):
        self.received = signum

    def __enter__(self):
        self.received = None
        self._previous = {s: signal.signal(s, self._record) for s in self.SIGNALS}
        return self

    def __exit__(self, *exc_info):
        for s, handler in self._previous.items():
            signal.signal(s, handler)
        self._previous = {}
        return False


def _value(x):
    return x() if callable(x) else x


def run_step(sess, fetches, step, checkpoint, options=None):
    """`sess.run(fetches)` of a training step, its NaN guard as TrainingDivergedError.

    The train op fails with `graph.NON_FINITE_MESSAGE` before it touches any
    trainable variable when the loss or its gradient is not finite; that
    failure becomes one line naming the step and the last good checkpoint.

    Args:
      sess: a `tf.Session` or a `tf.train.MonitoredSession`.
      fetches: what to run (with the train op).
      step: the number of the step being run, or a function returning it
        (called only when the step diverged).
      checkpoint: the last good checkpoint's path (or None), or a function
        returning it (called only when the step diverged).
      options: optional `tf.RunOptions`.

    Returns:
      The fetched values.

    Raises:
      TrainingDivergedError: the loss or its gradient became NaN or infinite.
    """
    try:
        return sess.run(fetches, options=options) if options is not None else sess.run(fetches)
    except tf.errors.InvalidArgumentError as err:
        if graph_lib.NON_FINITE_MESSAGE not in str(err):
            raise
        raise TrainingDivergedError(_value(step), _value(checkpoint))


def data_scale_advice(dataset):
    """What a divergence on `dataset` should advise when its training inputs
    are huge (some |x| above `HUGE_INPUT`), else None (a smaller learning rate).

    Args:
      dataset: the `tfbnn.data.Dataset` trained on.

    Returns:
      str or None.
    """
    x = dataset.x_train
    largest = float(max(-x.min(), x.max())) if x.size else 0.0  # (np.abs would copy x)
    if largest <= HUGE_INPUT:
        return None
    fix = ('raise --pixel-scale (255 maps pixel bytes to [0, 1])' if dataset.name == 'mnist'
           else 'scale or standardise them first, e.g. pixels / 255 or (x - mean) / std per '
                'feature')
    return ('the training inputs reach |x| = %.3g, beyond what a network trains on: %s; a '
            'smaller --learning-rate will not help' % (largest, fix))


@contextlib.contextmanager
def advice_on_divergence(dataset):
    """Inside the block, a `TrainingDivergedError` on inputs of a huge scale
    names them as the cause (`data_scale_advice`) instead of the step size."""
    try:
        yield
    except TrainingDivergedError as err:
        advice = data_scale_advice(dataset)
        if advice is None:
            raise
        raise TrainingDivergedError(err.step, err.checkpoint, advice) from err


class EpochStats(object):
    """Running means of the per-step scalars over one epoch."""

    def __init__(self):
        self.sums, self.steps, self.examples, self.metric_sum = {}, 0, 0, 0.0
        self.start = time.time()

    def add(self, out):
        """Adds one step's fetched values (`TrainGraph.fetches`)."""
        for key in ('loss', 'nll_term', 'kl', 'kl_coefficient', 'scaled_kl', 'learning_rate'):
            self.sums[key] = self.sums.get(key, 0.0) + float(out[key])
        if out.get('outlier_term'):  # --outlier-exposure: lambda H(U, p), a mean per example
            self.sums['outlier_term'] = self.sums.get('outlier_term', 0.0) + float(
                out['outlier_term'])
        self.steps += 1
        self.examples += int(out['batch_size'])
        self.metric_sum += float(out['train_metric_sum'])

    def summary(self, regression):
        """The epoch's means, its train metric, examples per second and seconds."""
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
    # --outlier-exposure: its term's mean per example (the nll term is a sum
    # over the batch under per_batch and blundell).
    outliers = (' (outliers %.4g per example)' % s['outlier_term']) if 'outlier_term' in s else ''
    return ('epoch %d/%d step %d | nll term %.4g%s | kl %.4g | kl coef %.3g | scaled kl %.4g | '
            'loss %.4g | %s | %.0f ex/s' % (epoch, epochs, step, s['nll_term'], outliers, s['kl'],
                                            s['kl_coefficient'], s['scaled_kl'], s['loss'],
                                            metric, s['examples_per_second']))


class Epochs(object):
    """The epochs of a run: running means, the epoch line, history.json.

    Args:
      config: `tfbnn.run_config.RunConfig` (epochs, output_dir).
      dataset: `tfbnn.data.Dataset` (task, target_std).
      steps_per_epoch: steps of one epoch (global steps on a cluster).
      total_steps: the last step.
      step: the step training starts from.
      history: the history of the steps before `step` (None: empty).
      log: callable taking one line.
      examples_per_step: None: the epoch's throughput is this process's
        examples per second; a number (a cluster's global batch): the
        job's, (steps of the epoch) x examples_per_step per second.
      write_each_epoch: write history.json at the end of every epoch; False:
        only when `write_history` is called (the single-process loop calls it
        with each checkpoint: rewriting the whole history every epoch costs
        time quadratic in the epochs, most of a long run on a small set).
      resumed: the run resumed at `step` (a cluster chief's fresh run starts
        wherever the workers that started before it took the global step).
    """

    def __init__(self, config, dataset, steps_per_epoch, total_steps, step, history, log,
                 examples_per_step=None, write_each_epoch=True, resumed=True):
        self.config, self.log = config, log
        self.write_each_epoch = write_each_epoch
        self.regression, self.target_std = dataset.task == 'regression', dataset.target_std
        self.steps_per_epoch, self.total_steps = steps_per_epoch, total_steps
        self.examples_per_step = examples_per_step
        self.history = history or {}
        self.stats, self.start_step = EpochStats(), step
        # A run resumed mid-epoch: its first epoch's means cover only the steps from here.
        self.partial_from = step if resumed and step % steps_per_epoch else None

    def add(self, result):
        """Adds one step's fetched values."""
        self.stats.add(result)

    def due(self, step):
        """True when `step` ends an epoch (or is the last step, or beyond it)."""
        return (step // self.steps_per_epoch > self.start_step // self.steps_per_epoch
                or step >= self.total_steps)

    def examples_per_second(self):
        """This process's throughput in the epoch so far (None before its first step)."""
        if not self.stats.steps:
            return None
        return self.stats.examples / max(time.time() - self.stats.start, 1e-9)

    def end(self, step, validation=None):
        """Logs the epoch's line and appends the epoch to the history.

        Args:
          step: the step that ended the epoch.
          validation: None, or a function (epoch, step) -> dict of validation
            scores (it logs its own line), run after the epoch line; the
            scores go into the history with the epoch's means.

        Returns:
          The epoch's number (1-based).
        """
        # The epoch whose last step `step` passed: asynchronous replicas move the
        # global step too, so the chief may see it past the epoch's end (or the last step).
        epoch = min(step // self.steps_per_epoch if step < self.total_steps
                    else -(-step // self.steps_per_epoch), self.config.epochs)
        summary = self.stats.summary(self.regression)
        if self.examples_per_step is not None:
            summary['examples_per_second'] = (
                (step - self.start_step) * self.examples_per_step
                / max(time.time() - self.stats.start, 1e-9))
        self.log(epoch_line(epoch, self.config.epochs, step, summary, self.regression,
                            self.target_std))
        if self.partial_from is not None:
            self.log('tfbnn: epoch %d\'s means (here and in history.json) cover steps %d-%d '
                     'only: the run resumed mid-epoch, at step %d'
                     % (epoch, self.partial_from + 1, step, self.partial_from))
            self.partial_from = None
        if validation is not None:
            summary.update(validation(epoch, step))
        self.history.setdefault('epoch', []).append(epoch)
        self.history.setdefault('step', []).append(step)
        for key, value in summary.items():
            self.history.setdefault(key, []).append(value)
        if self.write_each_epoch:
            self.write_history()
        self.stats, self.start_step = EpochStats(), step
        return epoch

    def write_history(self):
        """Writes history.json: every epoch ended so far."""
        write_json(os.path.join(self.config.output_dir, rundir.HISTORY), self.history)


class TimeLimit(object):
    """--max-seconds: training stops after this long, and the model as it is is evaluated.

    Args:
      max_seconds: the limit (0: none).
      clock: function returning the time in seconds (for tests).
    """

    def __init__(self, max_seconds, clock=time.time):
        self.max_seconds, self._clock = max_seconds, clock
        self.start = clock()

    def elapsed(self):
        """Seconds since the limit was set."""
        return self._clock() - self.start

    def reached(self):
        """True once more than `max_seconds` have passed (never without a limit)."""
        return bool(self.max_seconds) and self.elapsed() > self.max_seconds

    def line(self, step, total_steps):
        """The log line of a run stopped by the limit."""
        return ('tfbnn: --max-seconds %g reached at step %d of %d; evaluating the model as it '
                'is (resume with --resume)' % (self.max_seconds, step, total_steps))


def closing_metrics(step, steps_per_epoch, total_steps, resumed_from, train_seconds,
                    examples, examples_seconds, **extra):
    """What metrics.json says of the training itself.

    Args:
      step: the step training stopped at.
      steps_per_epoch: steps of one epoch.
      total_steps: the last step.
      resumed_from: the step this process started from (0: a new run).
      train_seconds: the seconds of this process's training loop.
      examples: examples trained on in `examples_seconds` (0: none).
      examples_seconds: the time those examples took.
      **extra: further entries (e.g. workers, stopped_early).

    Returns:
      dict: examples_per_second (None without examples), epochs (fractional),
      steps, resumed_from_step (None for a new run), train_seconds,
      completed (the last step was reached), then `extra`.
    """
    metrics = dict(
        examples_per_second=examples / max(examples_seconds, 1e-9) if examples else None,
        epochs=step / float(steps_per_epoch), steps=step, resumed_from_step=resumed_from or None,
        train_seconds=train_seconds, completed=step >= total_steps)
    metrics.update(extra)
    return metrics


def summarise_metrics(writer, metrics, step):
    """The evaluation's float metrics as TensorBoard scalars 'test/<name>'."""
    for key in metrics:
        if isinstance(metrics[key], float):
            writer.add_summary(graph_lib.log_summary_value('test/' + key, metrics[key]), step)


def write_outputs(out, metrics, history, log):
    """metrics.json, learning_curves.png (when there is a history) and the
    closing log line of every metric."""
    write_json(os.path.join(out, rundir.METRICS), metrics)
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
