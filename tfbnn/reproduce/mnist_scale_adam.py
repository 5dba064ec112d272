"""The MNIST choice of `reproduce_mnist`, its posterior scales trained by Adam.

`reproduce_mnist_scales` multiplies the SGD step of the rho variables by a
constant M: the scales then move, but together (one sigma for every weight
of a layer, a unimodal signal-to-noise ratio), because the factor
sigmoid(rho) ~ sigma in d/drho is the same for all of them and the KL's
1/N pull stays small beside the data term's noise. Adam's step,
rate * m_hat / sqrt(v_hat), is instead set by how consistently each rho's
gradient points one way: a weight the data does not use (its gradient is
the KL's pull alone) moves at the full rate towards the prior, a weight the
data needs keeps its sigma small. That is the separation signal-to-noise
pruning needs. The means keep the record's SGD and schedule, so their
fit is the one `reproduce_mnist` chose.

The protocol: the prior, sigma_0 and schedule are the record's (nothing of
them is chosen again). Each of the scales' rates trains the full schedule,
since `reproduce_mnist_scales` measured that a compressed schedule cannot
see the scales' long-run effect; early stopping keeps each run's best epoch
on validation error, and the rate is chosen on those scores by the same
one-standard-error rule (the largest rate within one binomial standard error
of the lowest: among rates the validation split cannot tell apart, the one
whose scales went furthest towards the ELBO's optimum). Only then is the
chosen run scored on the test set, once; the others never are.
"""
import os

from tfbnn.errors import ConfigError
from tfbnn.internal.jsonio import read_json, write_json
from tfbnn.reproduce import runner
from tfbnn.reproduce.mnist import check_schedule_epochs, schedule_options
from tfbnn.reproduce.mnist_scales import (check_candidates, log_test_line, num_validation,
                                          one_standard_error_choice, read_sgd_record,
                                          record_base)
from tfbnn.reproduce.pruning import CHECKPOINTS, chosen_checkpoint, sigma_quantiles

__all__ = ['DEFAULT_SCALE_RATES', 'reproduce_mnist_scale_adam', 'trajectory', 'full_schedule_base',
           'train_full_runs', 'score_on_test']

# Adam's customary rate and a tenth of it.
DEFAULT_SCALE_RATES = (1e-3, 1e-4)


def trajectory(run_dir):
    """What a run's scales did: at each validation, the validation error, the
    KL and the training error (history.json); each kernel's sigma quantiles
    at the kept (best) and at the last checkpoint."""
    history = read_json(os.path.join(run_dir, 'history.json')) or {}
    keep = [i for i, v in enumerate(history.get('val_error', [])) if v is not None]
    curve = {key: [history[key][i] for i in keep]
             for key in ('epoch', 'val_error', 'kl', 'train_error') if key in history}
    return dict(curve=curve, sigma_quantiles={
        which: sigma_quantiles(chosen_checkpoint(run_dir, which)) for which in CHECKPOINTS})


def full_schedule_base(record, data_dir, threads, budget_minutes, epochs, **options):
    """The run options of a variant of the record's choice trained on the full
    schedule of `epochs`, `budget_minutes` each: the record's protocol and
    chosen options, then `options`, then the schedule of `epochs`."""
    return dict(record_base(record, data_dir, threads), max_seconds=60.0 * budget_minutes,
                **dict(record['chosen_options'], **dict(options, **schedule_options(epochs))))


def train_full_runs(candidates, base, out_dir, log, verbose):
    """Trains (or finishes) each (name, options) candidate on validation only;
    all are checked before the first trains. Returns `runner.select`'s records."""
    for name, options in candidates:
        runner.validated_options(dict(base, output_dir=os.path.join(out_dir, name), **options))
    return runner.select(candidates, dict(base, evaluate_test=False), out_dir, log, verbose,
                         reuse=True)[1]


def score_on_test(base, out_dir, choice, verbose):
    """The test metrics of the chosen run of `train_full_runs`: the finished
    run is resumed, which evaluates its best checkpoint and trains no further.

    Raises:
      ConfigError: the run stopped before the end of its schedule (its
        budget ran out): resuming it would train it on, and the test score
        would not be the chosen run's.
    """
    if choice['epochs'] + 1e-9 < base['epochs']:
        raise ConfigError('%s stopped at epoch %.1f of %d (its --budget-minutes ran out): give '
                          'a budget its schedule fits in and run again (the runs continue to '
                          'the end and the choice is made again)'
                          % (choice['name'], choice['epochs'], base['epochs']))
    return runner.run(dict(base, output_dir=os.path.join(out_dir, choice['name']),
                           **choice['options']), verbose, reuse=True)


def reproduce_mnist_scale_adam(out_dir, rates, budget_minutes, epochs, log,
                               prior='scale_mixture', data_dir=None, verbose=False, threads=0):
    """Trains the record's choice with --scale-optimizer adam at each rate,
    chooses the rate on validation and scores the choice on test.

    Safe to run again after an interruption: finished runs are not trained
    again and an unfinished one resumes from its latest checkpoint.

    Args:
      out_dir: the folder of `reproduce_mnist`'s record mnist_<prior>.json;
        the runs go to <out_dir>/<chosen>_scaleadam<rate>_full, the record
        to <out_dir>/mnist_<prior>_scale_adam.json.
      rates: the scales' Adam rates (--scale-learning-rate) to compare; the
        schedule's decay applies to them too.
      budget_minutes: training wall time allowed to each run.
      epochs: the schedule (SGD's rate x0.1 at 3/4).
      log: progress callable.
      prior: which record of `reproduce_mnist` to start from.
      data_dir: the MNIST IDX folder (None: the one the record names).
      verbose: print every epoch.
      threads: TensorFlow threads (0: TensorFlow decides).

    Returns:
      The record written to mnist_<prior>_scale_adam.json.

    Raises:
      ConfigError: no record to start from, a record trained with Adam, bad
        rates or epochs, or a chosen run its budget stopped (`score_on_test`).
    """
    path, record = read_sgd_record(out_dir, prior, ': its scales already take Adam steps; this '
                                   'experiment needs a record trained with sgd or momentum')
    rates = [float(r) if not isinstance(r, bool) else r for r in rates]
    check_candidates('--scale-learning-rates', rates)
    check_schedule_epochs(('--epochs', epochs))
    chosen = record['chosen']
    base = full_schedule_base(record, data_dir, threads, budget_minutes, epochs,
                              scale_optimizer='adam')
    candidates = [('%s_scaleadam%g_full' % (chosen, r), dict(scale_learning_rate=r))
                  for r in rates]
    log('mnist scale adam (%s): %s with its scales trained by Adam at %s (the means: SGD as '
        'chosen), each for %d epochs (at most %.0f min), chosen on validation'
        % (prior, chosen, ', '.join('%g' % r for r in rates), epochs, budget_minutes))
    runs = train_full_runs(candidates, base, out_dir, log, verbose)
    for run in runs:
        run['rate'] = run['options']['scale_learning_rate']
        run.update(trajectory(os.path.join(out_dir, run['name'])))
    n_val = num_validation(dict(base, output_dir=out_dir))
    choice, threshold = one_standard_error_choice(runs, n_val, key='rate')
    run_dir = os.path.join(out_dir, choice['name'])
    log('mnist scale adam (%s): chose rate %g (validation error %.4g; the largest rate within '
        'one standard error of the best, <= %.4g); scoring it on the test set'
        % (prior, choice['rate'], choice['score'], threshold))
    metrics = score_on_test(base, out_dir, choice, verbose)
    result = dict(
        experiment='mnist_scale_adam', prior=prior, extends=os.path.basename(path),
        protocol=dict(base, output_dir=None), budget_minutes=budget_minutes,
        base_choice=chosen, candidates=runs, scale_learning_rate=choice['rate'],
        threshold=threshold,
        why='the largest rate whose validation error is within one binomial standard error '
            'of the lowest (n = %d validation examples), each on the full schedule' % n_val,
        run_dir=run_dir, train_seconds_total=runner.history_seconds(run_dir),
        select_seconds=sum(r['train_seconds'] for r in runs), metrics=metrics)
    write_json(os.path.join(out_dir, 'mnist_%s_scale_adam.json' % prior), result)
    log_test_line(log, 'mnist scale adam (%s): rate %g' % (prior, choice['rate']), metrics,
                  result['train_seconds_total'])
    return result
