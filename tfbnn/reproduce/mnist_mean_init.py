"""The MNIST choice of `reproduce_mnist`, its posterior means started small.

The record's kernels start at Glorot-uniform means (limit sqrt(6 / (fan_in +
fan_out)): 0.071 for fc1, 0.087 for fc2 of the 2x400 network). Under SGD a
weight the data hardly moves keeps about its initial mean and sigma_0, so
at the end most weights still look like their initialisation, and the
signal-to-noise ratio |mu| / sigma ranks them by an |mu| that is mostly the
draw at step 0: pruning 95% of them then removes a random-feature part of
the function the network relies on (docs/RESULTS.md, pruning). Starting the
means at mu ~ U(-A, A) with A small (the one public BBB run below 1.5% used
A = 0.03 on 2x1200) leaves those weights near 0 and the ones the data moves
apart from them.

The protocol: the prior, sigma_0 and schedule are the record's (nothing of
them is chosen again). Each A trains the full schedule with early stopping
on validation error, as the record's own run did; the choice is the lowest
validation error among them and the record's Glorot run (a tie keeps the
record). Only then is the chosen run scored on the test set, once; if the
record's run is kept, its test scores are the record's. The runs may be
trained by several processes at once (`train_only`), then chosen by one.
"""
import os

from tfbnn import models
from tfbnn.errors import ConfigError
from tfbnn.internal.jsonio import write_json
from tfbnn.reproduce import runner
from tfbnn.reproduce.mnist import check_schedule_epochs
from tfbnn.reproduce.mnist_scale_adam import (full_schedule_base, score_on_test,
                                              train_full_runs, trajectory)
from tfbnn.reproduce.mnist_scales import log_test_line, read_sgd_record

__all__ = ['DEFAULT_LIMITS', 'reproduce_mnist_mean_init']

# The public run's A, and a third of it.
DEFAULT_LIMITS = (0.03, 0.01)


def _check_limits(limits):
    """Raises ConfigError unless `limits` are distinct finite numbers > 0."""
    for limit in limits:
        try:
            models.uniform_mean_limit(_init(limit))
        except ConfigError:
            raise ConfigError('--limits must be finite numbers > 0, got %r in %s'
                              % (limit, list(limits)))
    if not limits or len(set(limits)) != len(limits):
        raise ConfigError('--limits must be one or more distinct numbers, got %s'
                          % (list(limits),))


def _init(limit):
    """The --posterior-init-mean of A (repr: exact, and the same on every Python)."""
    return models.UNIFORM_MEAN_PREFIX + repr(limit)


def _record_candidate(record):
    """The record's own run as a candidate: its kept epoch's validation error."""
    name = os.path.basename(record['run_dir'].rstrip('/'))
    metrics = record['metrics']
    return dict(name=name, options=dict(posterior_init_mean='glorot_uniform'), limit=None,
                score_key='val_error', score=metrics['val_error'],
                selected_epoch=metrics.get('selected_epoch'), epochs=metrics['epochs'],
                train_seconds=record.get('train_seconds_total'),
                source=record['experiment'] + ' record')


def reproduce_mnist_mean_init(out_dir, limits, budget_minutes, epochs, log,
                              prior='scale_mixture', data_dir=None, verbose=False, threads=0,
                              train_only=False):
    """Trains the record's choice with mu ~ U(-A, A) for each A, chooses on
    validation among them and the record's run, and scores the choice on test.

    Safe to run again after an interruption: finished runs are not trained
    again and an unfinished one resumes from its latest checkpoint.

    Args:
      out_dir: the folder of `reproduce_mnist`'s record mnist_<prior>.json;
        the runs go to <out_dir>/<chosen>_mu<A>_full, the record to
        <out_dir>/mnist_<prior>_mean_init.json.
      limits: the values of A to compare.
      budget_minutes: training wall time allowed to each run.
      epochs: the schedule (SGD's rate x0.1 at 3/4): the record's.
      log: progress callable.
      prior: which record of `reproduce_mnist` to start from.
      data_dir: the MNIST IDX folder (None: the one the record names).
      verbose: print every epoch.
      threads: TensorFlow threads (0: TensorFlow decides).
      train_only: train (or finish) the runs of `limits` and stop before the
        choice, so that processes with different `limits` can share the work.

    Returns:
      The record written to mnist_<prior>_mean_init.json (None with
      `train_only`).

    Raises:
      ConfigError: no record to start from, a record trained with Adam or
        from other means, bad limits, epochs other than the record's, or a
        chosen run its budget stopped (`score_on_test`).
    """
    path, record = read_sgd_record(out_dir, prior, ': this experiment keeps its SGD')
    limits = [float(a) if not isinstance(a, bool) else a for a in limits]
    _check_limits(limits)
    check_schedule_epochs(('--epochs', epochs))
    if epochs != record['protocol']['epochs']:
        raise ConfigError('--epochs %d: the record\'s Glorot run trained %d epochs, and the runs '
                          'are compared with it on the same schedule'
                          % (epochs, record['protocol']['epochs']))
    if record['chosen_options'].get('posterior_init_mean', 'glorot_uniform') != 'glorot_uniform':
        raise ConfigError('%s did not start from Glorot-uniform means: nothing to compare with'
                          % path)
    chosen = record['chosen']
    base = full_schedule_base(record, data_dir, threads, budget_minutes, epochs)
    candidates = [('%s_mu%r_full' % (chosen, a), dict(posterior_init_mean=_init(a)))
                  for a in limits]
    log('mnist mean init (%s): %s with its means started at U(-A, A) for A in %s, each for %d '
        'epochs (at most %g min)%s' % (
            prior, chosen, ', '.join('%g' % a for a in limits), epochs, budget_minutes,
            '' if train_only else ', chosen on validation with the record\'s Glorot run'))
    runs = train_full_runs(candidates, base, out_dir, log, verbose)
    if train_only:
        log('mnist mean init (%s): trained; run again without --train-only to choose' % prior)
        return None
    for run, limit in zip(runs, limits):
        run.update(trajectory(os.path.join(out_dir, run['name'])), limit=limit)
    kept = _record_candidate(record)
    # min keeps the first of equals: the record's run on a tie.
    choice = min([kept] + runs, key=lambda r: r['score'])
    if choice is kept:
        log('mnist mean init (%s): kept the record\'s Glorot run (validation error %.4g, the '
            'lowest)' % (prior, kept['score']))
        run_dir, metrics = record['run_dir'], record['metrics']
        train_seconds = record.get('train_seconds_total')
    else:
        run_dir = os.path.join(out_dir, choice['name'])
        log('mnist mean init (%s): chose A = %g (validation error %.4g against the record\'s '
            '%.4g); scoring it on the test set' % (prior, choice['limit'], choice['score'],
                                                    kept['score']))
        metrics = score_on_test(base, out_dir, choice, verbose)
        train_seconds = runner.history_seconds(run_dir)
    result = dict(
        experiment='mnist_mean_init', prior=prior, extends=os.path.basename(path),
        protocol=dict(base, output_dir=None), budget_minutes=budget_minutes,
        base_choice=chosen, candidates=[kept] + runs, mean_init_limit=choice['limit'],
        why='the lowest validation error at the kept epoch, among the record\'s Glorot run '
            'and each A on the same full schedule (a tie keeps the record)',
        run_dir=run_dir, train_seconds_total=train_seconds,
        select_seconds=sum(r['train_seconds'] or 0.0 for r in runs), metrics=metrics)
    write_json(os.path.join(out_dir, 'mnist_%s_mean_init.json' % prior), result)
    log_test_line(log, 'mnist mean init (%s): %s' % (
        prior, 'Glorot (the record)' if choice is kept else 'A = %g' % choice['limit']),
        metrics, train_seconds)
    return result
