"""The MNIST choice of `reproduce_mnist`, with posterior scales that move.

Under plain SGD the step of a scale parameter rho (sigma = softplus(rho))
carries the factor d sigma / d rho = sigmoid(rho) ~ sigma, so at
sigma_0 = 0.02 a rho moves about 1/50 as far as a mean under the same
gradient. On the 240-epoch schedule the KL's pull of 1/N per example moves a
rho by about 1e-3 per epoch: the scales end where sigma_0 put them, every
weight is about equally noisy, and the signal-to-noise ratio |mu| / sigma
ranks weights by |mu| alone (docs/RESULTS.md, pruning). `--scale-lr-multiplier
M` (`tfbnn.rho_step`) multiplies the rho steps only.

The protocol: the prior and sigma_0 stay those `reproduce_mnist` chose (its
record is read, nothing is chosen again); each M trains the schedule
compressed to `select_epochs` and is scored on validation error, M = 1 taken
from the record when it used the same compressed schedule. The rule: the
largest M whose validation error is within one binomial standard error,
sqrt(p (1 - p) / n_val), of the lowest -- among candidates the data cannot
tell apart, the posterior closest to the prior (the smallest KL, the shortest
description) -- so the choice favours scales that moved only where the
validation split cannot see a cost. The chosen M then trains the full
schedule from scratch; the test set is looked at once, at the end.
"""
import math
import numbers
import os

from tfbnn import run_setup
from tfbnn.errors import ConfigError
from tfbnn.internal.jsonio import write_json
from tfbnn.reproduce import filing, runner
from tfbnn.reproduce.mnist import MNIST_KEYS, PINNED, check_schedule_epochs, schedule_options

__all__ = ['DEFAULT_MULTIPLIERS', 'one_standard_error_choice', 'num_validation', 'record_base',
           'log_test_line', 'read_sgd_record', 'check_candidates', 'reproduce_mnist_scales']

DEFAULT_MULTIPLIERS = (1.0, 10.0, 30.0)


def one_standard_error_choice(records, num_validation, key='multiplier'):
    """The largest `key` whose score is within one standard error of the best.

    Args:
      records: dicts with `key` and 'score' (a validation error rate).
      num_validation: the number of validation examples n.
      key: the candidates' value to maximise among the near-best ones.

    Returns:
      (the chosen record, the threshold best + sqrt(best (1 - best) / n)).

    Raises:
      ValueError: no records, or n < 1.
    """
    if not records:
        raise ValueError('one_standard_error_choice: no candidates')
    if num_validation < 1:
        raise ValueError('one_standard_error_choice: num_validation must be >= 1, got %r'
                         % num_validation)
    best = min(r['score'] for r in records)
    threshold = best + math.sqrt(best * (1.0 - best) / num_validation)
    within = [r for r in records if r['score'] <= threshold]
    return max(within, key=lambda r: r[key]), threshold


def record_base(record, data_dir=None, threads=0):
    """The run options every experiment on top of a `reproduce_mnist` record
    shares: its protocol, the full KL, `threads`, and `data_dir` if given."""
    base = dict(PINNED, **dict(record['protocol'], threads=threads, output_dir=None))
    if data_dir is not None:
        base['data_dir'] = str(data_dir)
    return base


def log_test_line(log, what, metrics, train_seconds):
    """The closing line of an experiment: its test scores and training time."""
    kept = metrics.get('selected_epoch')
    log('%s: test error %.2f%% | ECE %.2f%% | NLL %.4f | %s | %.1f min of training' % (
        what, 100 * metrics['test_error'], 100 * metrics['ece'], metrics['test_nll'],
        'chosen epoch %s of %.0f' % (kept, metrics['epochs']) if kept else
        '%.0f epochs, not stopped early' % metrics['epochs'], (train_seconds or 0.0) / 60.0))


def num_validation(options):
    """The validation examples n of a run's options (its data loaded)."""
    return len(run_setup.load_data(runner.validated_options(options)).y_val)


def _recorded_m1(record, select_epochs):
    """The record's own score of its choice at M = 1, if it trained the same
    compressed schedule; else None."""
    if record.get('select_epochs') != select_epochs:
        return None
    for candidate in record['candidates']:
        if candidate['name'] == record['chosen'] and \
                candidate['options'].get('scale_lr_multiplier', 1.0) == 1.0:
            return dict(candidate, multiplier=1.0, source=record['experiment'] + ' record')
    return None


def read_sgd_record(out_dir, prior, adam_reason):
    """(path, record) of `reproduce_mnist`'s mnist_<prior>.json in `out_dir`.

    Raises:
      ConfigError: no record, or one trained with Adam (`adam_reason` says
        why that will not do).
    """
    path = os.path.join(out_dir, 'mnist_%s.json' % prior)
    record = filing.read_record(path, MNIST_KEYS, 'run the mnist experiment first')
    if record['protocol'].get('optimizer', 'sgd') == 'adam':
        raise ConfigError('%s trained with Adam%s' % (path, adam_reason))
    return path, record


def check_candidates(flag, values):
    """Raises ConfigError, naming `flag`, unless `values` are distinct finite
    numbers > 0 (at least one)."""
    if not values or any(isinstance(v, bool) or not isinstance(v, numbers.Real)
                         or not 0 < v < math.inf for v in values):
        raise ConfigError('%s must be positive numbers, got %s' % (flag, values))
    if len(set(values)) != len(values):
        raise ConfigError('%s repeat: %s' % (flag, values))


def reproduce_mnist_scales(out_dir, multipliers, budget_minutes, epochs, select_epochs, log,
                           prior='scale_mixture', data_dir=None, verbose=False, threads=0):
    """Chooses the rho step multiplier on validation and trains the choice.

    Safe to run again after an interruption: finished candidates are not
    trained again and the final run resumes from its latest checkpoint.

    Args:
      out_dir: the folder of `reproduce_mnist`'s record mnist_<prior>.json;
        runs go to <out_dir>/<chosen>_m<M> and <chosen>_m<M>_full, the record
        to <out_dir>/mnist_<prior>_scales.json.
      multipliers: the values of M to compare (1 is the record's own run).
      budget_minutes: training wall time allowed to the chosen run.
      epochs: the chosen run's schedule (SGD's rate x0.1 at 3/4).
      select_epochs: each candidate's compressed schedule.
      log: progress callable.
      prior: which record of `reproduce_mnist` to start from.
      data_dir: the MNIST IDX folder (None: the one the record names).
      verbose: print every epoch of every run.
      threads: TensorFlow threads per run (0: TensorFlow decides).

    Returns:
      The record written to mnist_<prior>_scales.json.

    Raises:
      ConfigError: no record to start from, a record trained with Adam, or
        bad multipliers or epochs.
    """
    path, record = read_sgd_record(out_dir, prior, ', which ignores a constant factor on a '
                                   'step: the multiplier needs sgd or momentum')
    check_candidates('--multipliers', list(multipliers))
    check_schedule_epochs(('--epochs', epochs), ('--select-epochs', select_epochs))
    base = record_base(record, data_dir, threads)
    chosen, options = record['chosen'], record['chosen_options']
    # M = 1 is the record's own run, when asked for and scored on this schedule.
    recorded = _recorded_m1(record, select_epochs) if 1 in multipliers else None
    candidates = [('%s_m%g' % (chosen, m), dict(options, scale_lr_multiplier=float(m)))
                  for m in multipliers if not (m == 1 and recorded is not None)]
    for _, candidate in candidates:
        runner.validated_options(dict(base, output_dir=out_dir, **dict(
            candidate, **schedule_options(epochs))))
    log('mnist scales (%s): %s with the rho steps x M for M in %s, each on the schedule '
        'compressed to %d epochs%s' % (prior, chosen, ', '.join('%g' % m for m in multipliers),
                                       select_epochs, ' (M = 1 from %s)' % os.path.basename(path)
                                       if recorded else ''))
    selection_base = dict(base, evaluate_test=False, **schedule_options(select_epochs))
    _, runs = runner.select(candidates, selection_base, out_dir, log, verbose, reuse=True)
    for run in runs:
        run['multiplier'] = run['options']['scale_lr_multiplier']
    runs = sorted(runs + ([recorded] if recorded else []), key=lambda r: r['multiplier'])
    n_val = num_validation(dict(selection_base, output_dir=out_dir, **options))
    choice, threshold = one_standard_error_choice(runs, n_val)
    multiplier = choice['multiplier']
    run_dir = os.path.join(out_dir, '%s_m%g_full' % (chosen, multiplier))
    log('mnist scales (%s): chose M = %g (validation error %.4g; the largest M within one '
        'standard error of the best, <= %.4g); training it for %d epochs (at most %.0f min)'
        % (prior, multiplier, choice['score'], threshold, epochs, budget_minutes))
    config = dict(base, output_dir=run_dir, max_seconds=60.0 * budget_minutes,
                  **dict(options, scale_lr_multiplier=multiplier, **schedule_options(epochs)))
    metrics = runner.run(config, verbose, reuse=True)
    result = dict(
        experiment='mnist_scales', prior=prior, extends=os.path.basename(path),
        protocol=dict(base, **schedule_options(epochs)), budget_minutes=budget_minutes,
        select_epochs=select_epochs, base_choice=chosen, base_options=options,
        candidates=runs, chosen_multiplier=multiplier, threshold=threshold,
        why='the largest M whose validation error is within one binomial standard error of '
            'the lowest (n = %d validation examples)' % n_val,
        run_dir=run_dir, train_seconds_total=runner.history_seconds(run_dir),
        select_seconds=sum(r['train_seconds'] for r in runs if r.get('source') is None),
        metrics=metrics)
    write_json(os.path.join(out_dir, 'mnist_%s_scales.json' % prior), result)
    log_test_line(log, 'mnist scales (%s): M = %g' % (prior, multiplier), metrics,
                  result['train_seconds_total'])
    return result
