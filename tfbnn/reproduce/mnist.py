"""Blundell et al. (2015), Table 1: a 784-400-400-10 network on MNIST.

Protocol (section 5.1 of the paper): 50000 training, 10000 validation and
10000 test images, pixels divided by 126, minibatches of 128, the ELBO with
the KL spread over the minibatches. The prior's hyperparameters come from the
paper's grid (pi in {1/4, 1/2, 3/4}, -log sigma1 in {0, 1, 2}, -log sigma2 in
{6, 7, 8}); each candidate trains for the same number of epochs (not the same
wall time: on a shared machine that would hand the choice to whichever run
got more CPU), is scored on the validation images only, and the winner's run
is then *continued* (same run directory, --resume) until its training wall
time reaches the budget, with early stopping on validation error. The test
images are looked at once, by the chosen weights, at the end.

What differs from the paper, and why: Adam (the paper used SGD with a
learning rate chosen on validation; Adam needs no such search inside a
60-minute budget) and the local reparameterisation estimator (Kingma et al.
2015: the same ELBO gradient in expectation with lower variance, and the
cheapest estimator for dense layers here). Both are recorded in the results.
"""
import math
import os

from tfbnn._jsonio import write_json
from tfbnn.reproduce import runner

__all__ = ['PRIOR_CANDIDATES', 'GAUSSIAN_CANDIDATES', 'base_options', 'reproduce_mnist',
           'extend_mnist']

# A subset of Blundell et al.'s grid: (pi, -log sigma1, -log sigma2).
PRIOR_CANDIDATES = ((0.25, 0, 6), (0.5, 0, 7), (0.75, 1, 8), (0.25, 1, 6))
# -log sigma of the Gaussian prior.
GAUSSIAN_CANDIDATES = (0, 1)


def base_options(data_dir, out_dir, hidden=(400, 400)):
    """The options every MNIST run shares (Blundell et al.'s protocol)."""
    return dict(dataset='mnist', data_dir=data_dir, pixel_scale=126.0,
                validation_size=10000, validate_every=5, model='mlp', hidden=list(hidden),
                estimator='local_reparameterization', eval_estimator='auto',
                batch_size=128, learning_rate=1e-3, kl_scheme='per_example',
                posterior_init_scale=1e-3, eval_samples=50, epochs=600, seed=0,
                keep_checkpoints=1, output_dir=out_dir)


def _candidates(prior, quick):
    if prior == 'scale_mixture':
        grid = PRIOR_CANDIDATES[:2] if quick else PRIOR_CANDIDATES
        return [('mixture_pi%g_s1e-%d_s2e-%d' % (pi, a, b),
                 dict(prior='scale_mixture', prior_pi=pi, prior_sigma1=math.exp(-a),
                      prior_sigma2=math.exp(-b)))
                for pi, a, b in grid]
    grid = GAUSSIAN_CANDIDATES[:1] if quick else GAUSSIAN_CANDIDATES
    return [('gaussian_s%s' % ('e-%d' % a if a else '1'),
             dict(prior='normal', prior_sigma=math.exp(-a))) for a in grid]


def reproduce_mnist(data_dir, out_dir, prior, budget_minutes, select_epochs, log,
                    quick=False, verbose=False):
    """Chooses a prior on validation and trains it within a wall-time budget.

    Args:
      data_dir: folder of the MNIST IDX files.
      out_dir: runs go to <out_dir>/<candidate>, the record to
        <out_dir>/mnist_<prior>.json.
      prior: 'scale_mixture' or 'normal'.
      budget_minutes: total training wall time of the chosen model, its
        selection epochs included.
      select_epochs: epochs each candidate trains for during selection.
      log: progress callable.
      quick: fewer candidates (for a smoke run).
      verbose: print every epoch of every run.

    Returns:
      The record written to mnist_<prior>.json: the candidates' validation
      scores, the choice and why, and the chosen run's test metrics and
      wall time.
    """
    base = base_options(data_dir, None)
    candidates = _candidates(prior, quick)
    for _, options in candidates:
        runner.validated_options(dict(base, output_dir=out_dir, **options))
    # The candidates never see the test set: evaluate_test=False.
    selection_base = dict(base, epochs=select_epochs, evaluate_test=False)
    log('mnist (%s): %d candidates, %d epochs each, on 50000 train / 10000 validation'
        % (prior, len(candidates), select_epochs))
    chosen, records = runner.select(candidates, selection_base, out_dir, log, verbose)
    chosen_record = [r for r in records if r['name'] == chosen][0]
    spent = chosen_record['train_seconds']
    remaining = max(60.0 * budget_minutes - spent, 0.0)
    options = dict(candidates)[chosen]
    config = dict(base, output_dir=os.path.join(out_dir, chosen), resume=True,
                  max_seconds=max(remaining, 1.0), **options)
    log('mnist (%s): chose %s (lowest validation error, %.4g); continuing it for %.1f more '
        'minutes' % (prior, chosen, chosen_record['score'], remaining / 60.0))
    metrics = runner.run(config, verbose)
    record = dict(
        experiment='mnist', prior=prior, protocol=dict(base, data_dir=str(data_dir),
                                                       output_dir=None),
        budget_minutes=budget_minutes, select_epochs=select_epochs,
        candidates=records, chosen=chosen, chosen_options=options,
        why='lowest validation error of the candidates after %d epochs each' % select_epochs,
        run_dir=os.path.join(out_dir, chosen),
        train_seconds_total=spent + metrics['train_seconds'],
        metrics=metrics)
    write_json(os.path.join(out_dir, 'mnist_%s.json' % prior), record)
    log('mnist (%s): test error %.2f%% | ECE %.2f%% | NLL %.4f | chosen epoch %s of %.0f | '
        '%.1f min in all' % (prior, 100 * metrics['test_error'], 100 * metrics['ece'],
                             metrics['test_nll'], metrics.get('selected_epoch'),
                             metrics['epochs'], record['train_seconds_total'] / 60.0))
    return record


def extend_mnist(out_dir, budget_minutes, log, prior='scale_mixture', learning_rate=None,
                 verbose=False):
    """Continues the chosen run of `reproduce_mnist` to a longer budget.

    The 60-minute record stays as it is; the continued run's result goes to
    <out_dir>/mnist_<prior>_long.json, with the total training time.
    `learning_rate` makes the continuation a second stage at another step
    size (Adam's moments carry over); early stopping still picks the best
    validation epoch over both stages.

    Raises:
      ConfigError: there is no record to extend, or the budget is not
        longer than what the run has already trained.
    """
    from tfbnn._jsonio import read_json
    from tfbnn.errors import ConfigError
    path = os.path.join(out_dir, 'mnist_%s.json' % prior)
    record = read_json(path)
    if record is None:
        raise ConfigError('%s not found: run the mnist experiment first' % path)
    spent = record['train_seconds_total']
    remaining = 60.0 * budget_minutes - spent
    if remaining <= 0:
        raise ConfigError('--budget-minutes %g: the run has already trained %.1f minutes'
                          % (budget_minutes, spent / 60.0))
    config = dict(record['protocol'],
                  output_dir=record['run_dir'], resume=True, max_seconds=remaining,
                  **record['chosen_options'])
    if learning_rate is not None:
        config['learning_rate'] = learning_rate
    log('mnist (%s): continuing %s for %.1f more minutes (to %.0f in all) at learning rate %g'
        % (prior, record['chosen'], remaining / 60.0, budget_minutes, config['learning_rate']))
    metrics = runner.run(config, verbose)
    longer = dict(record, budget_minutes=budget_minutes, metrics=metrics,
                  train_seconds_total=spent + metrics['train_seconds'],
                  extends=os.path.basename(path),
                  second_stage=dict(learning_rate=config['learning_rate'],
                                    from_epoch=record['metrics']['epochs']))
    write_json(os.path.join(out_dir, 'mnist_%s_long.json' % prior), longer)
    log('mnist (%s, longer budget): test error %.2f%% | ECE %.2f%% | chosen epoch %s of %.0f | '
        '%.1f min in all' % (prior, 100 * metrics['test_error'], 100 * metrics['ece'],
                             metrics.get('selected_epoch'), metrics['epochs'],
                             longer['train_seconds_total'] / 60.0))
    return longer
