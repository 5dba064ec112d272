"""Blundell et al. (2015), Table 1: a 784-400-400-10 network on MNIST.

Protocol (section 5.1 of the paper): 50000 training, 10000 validation and
10000 test images, pixels divided by 126, minibatches of 128, the ELBO with
the KL spread over the minibatches, plain SGD. The candidates are points of
the paper's prior grid (pi in {1/4, 1/2, 3/4}, -log sigma1 in {0, 1, 2},
-log sigma2 in {6, 7, 8}) crossed with the initial posterior scale sigma_0.

The optimisation: SGD at a constant rate with one step decay (x0.1) at 3/4
of the run. Under SGD the posterior scales move in proportion to their
gradient, which is mostly the KL's 1/N share, so sigma_0 decides where they
are for most of the run (a run from sigma_0 = 1e-3 is a deterministic net
with a weight decay); see docs/RESULTS.md's probes.

Selection on validation only: each candidate trains the whole schedule
compressed into `select_epochs` (decay at 3/4 of it), so what is compared is
a whole schedule, not the noisy middle of a constant-rate run, scored by its
best validation error (every 5 epochs, as early stopping scores); the same
number of epochs for each (not the same wall time: on a shared machine that
would hand the choice to whichever run got more CPU). The winner is then
trained from scratch on the full schedule (`epochs`, decay at 3/4) within the
wall-time budget, with early stopping on validation error. The test images
are looked at once, by the chosen weights, at the end.

What differs from the paper, and why: the local reparameterisation
estimator (Kingma et al. 2015: the same ELBO gradient in expectation with
lower variance, and the cheapest estimator for dense layers here), and fewer
epochs (the budget). Both are recorded in the results.
"""
import math
import os

from tfbnn.internal.jsonio import write_json
from tfbnn.reproduce import filing, runner
from tfbnn.schedules import nearest_epoch

__all__ = ['PRIOR_CANDIDATES', 'GAUSSIAN_CANDIDATES', 'INIT_SCALES', 'DECAY_AT', 'PINNED',
           'base_options', 'schedule_options', 'check_schedule_epochs', 'reproduce_mnist',
           'extend_mnist', 'MNIST_KEYS']

# What every experiment built on `reproduce_mnist`'s record reads of it.
MNIST_KEYS = ('protocol', 'chosen', 'chosen_options')
# A subset of Blundell et al.'s grid: (pi, -log sigma1, -log sigma2).
PRIOR_CANDIDATES = ((0.5, 0, 7), (0.75, 0, 7))
# -log sigma of the Gaussian prior.
GAUSSIAN_CANDIDATES = (0,)
# The initial posterior stddev sigma_0 (TFP 0.8's default is softplus(-3) ~ 0.049).
INIT_SCALES = (0.02, 0.05)
# Where the step decay falls, as a fraction of the run's epochs.
DECAY_AT = 0.75


# Options of the protocol that its first records did not write down because
# they were the job's defaults then: the full KL (beta = 1), which the job's
# default no longer is. Every run of the protocol, also one extending an old
# record, sets them.
PINNED = dict(kl_weight=1.0)


def base_options(data_dir, out_dir, hidden=(400, 400)):
    """The options every MNIST run shares (Blundell et al.'s protocol)."""
    return dict(dataset='mnist', data_dir=data_dir, pixel_scale=126.0,
                validation_size=10000, validate_every=5, model='mlp', hidden=list(hidden),
                estimator='local_reparameterization', eval_estimator='auto',
                batch_size=128, optimizer='sgd', learning_rate=0.1, kl_scheme='per_example',
                eval_samples=50, epochs=240, seed=0, keep_checkpoints=1, output_dir=out_dir,
                **PINNED)


def schedule_options(epochs):
    """A run of `epochs` epochs: SGD's rate x0.1 at DECAY_AT of them."""
    return dict(epochs=epochs, lr_schedule='step', lr_decay_factor=0.1,
                lr_decay_epochs=[min(epochs - 1, max(1, nearest_epoch(DECAY_AT * epochs)))])


def check_schedule_epochs(*flags_and_epochs):
    """Raises ConfigError, naming the flag, for a schedule of fewer than 2
    epochs (`schedule_options` decays before the last one).

    Args:
      *flags_and_epochs: (flag, epochs) pairs, checked in order.
    """
    from tfbnn.errors import ConfigError
    for flag, value in flags_and_epochs:
        if value < 2:
            raise ConfigError('%s must be >= 2 (the schedule decays before its last epoch), '
                              'got %d' % (flag, value))


def _candidates(prior, quick):
    scales = INIT_SCALES[-1:] if quick else INIT_SCALES
    if prior == 'scale_mixture':
        grid = PRIOR_CANDIDATES[:1] if quick else PRIOR_CANDIDATES
        priors = [('mixture_pi%g_s1e-%d_s2e-%d' % (pi, a, b),
                   dict(prior='scale_mixture', prior_pi=pi, prior_sigma1=math.exp(-a),
                        prior_sigma2=math.exp(-b)))
                  for pi, a, b in grid]
    else:
        grid = GAUSSIAN_CANDIDATES[:1] if quick else GAUSSIAN_CANDIDATES
        priors = [('gaussian_s%s' % ('e-%d' % a if a else '1'),
                   dict(prior='normal', prior_sigma=math.exp(-a))) for a in grid]
    return [('%s_init%g' % (name, scale), dict(options, posterior_init_scale=scale))
            for name, options in priors for scale in scales]


def _check_training_images(data_dir, validation_size):
    """The number of training images in `data_dir` (whose files are read and
    checked), if it exceeds `validation_size`, the protocol's held-out split.

    Raises:
      ConfigError: there are `validation_size` training images or fewer.
      DataError: the folder or its files are not a readable MNIST-format set.
    """
    from tfbnn import data
    from tfbnn.errors import ConfigError
    count = len(data.load_mnist(data_dir).y_train)
    if count <= validation_size:
        raise ConfigError('reproduce mnist: %s has %d training images, but the protocol holds '
                          'out the last %d of them for validation (50000 / 10000 on MNIST), '
                          'so it needs more than %d' % (data_dir, count, validation_size,
                                                        validation_size))
    return count


def reproduce_mnist(data_dir, out_dir, prior, budget_minutes, epochs, select_epochs, log,
                    quick=False, verbose=False, threads=0):
    """Chooses a prior and sigma_0 on validation, then trains the choice.

    Safe to run again after an interruption: finished candidates are not
    trained again and the final run resumes from its latest checkpoint.

    Args:
      data_dir: folder of the MNIST IDX files.
      out_dir: runs go to <out_dir>/<candidate> and <out_dir>/<candidate>_full,
        the record to <out_dir>/mnist_<prior>.json.
      prior: 'scale_mixture' or 'normal'.
      budget_minutes: training wall time allowed to the chosen model's run
        (its schedule is `epochs` long; the budget only cuts it short if the
        machine is slower than planned).
      epochs: the chosen model's schedule length.
      select_epochs: each candidate's compressed schedule length.
      log: progress callable.
      quick: fewer candidates (for a smoke run).
      verbose: print every epoch of every run.
      threads: TensorFlow threads per run (0: TensorFlow decides; 1 lets two
        reproductions share 2 cores without contending).

    Returns:
      The record written to mnist_<prior>.json: the candidates' validation
      scores, the choice and why, and the chosen run's test metrics and
      training time.
    """
    base = dict(base_options(data_dir, None), threads=threads)
    n_train = _check_training_images(data_dir, base['validation_size'])
    candidates = _candidates(prior, quick)
    for _, options in candidates:
        runner.validated_options(dict(base, output_dir=out_dir, **dict(
            options, **schedule_options(epochs))))
    # The candidates never see the test set: evaluate_test=False.
    selection_base = dict(base, evaluate_test=False, **schedule_options(select_epochs))
    log('mnist (%s): %d candidates, the schedule compressed to %d epochs each, on %d train '
        '/ %d validation' % (prior, len(candidates), select_epochs,
                             n_train - base['validation_size'], base['validation_size']))
    chosen, records = runner.select(candidates, selection_base, out_dir, log, verbose,
                                    reuse=True)
    options = dict(candidates)[chosen]
    run_dir = os.path.join(out_dir, chosen + '_full')
    config = dict(base, output_dir=run_dir, max_seconds=60.0 * budget_minutes,
                  **dict(options, **schedule_options(epochs)))
    log('mnist (%s): chose %s (lowest validation error, %.4g); training it for %d epochs '
        '(at most %.0f minutes)' % (prior, chosen, [r for r in records if r['name'] == chosen][0]
                                    ['score'], epochs, budget_minutes))
    metrics = runner.run(config, verbose, reuse=True)
    train_seconds = runner.history_seconds(run_dir)
    record = dict(
        experiment='mnist', prior=prior,
        protocol=dict(base, data_dir=str(data_dir), output_dir=None, **schedule_options(epochs)),
        budget_minutes=budget_minutes, select_epochs=select_epochs,
        candidates=records, chosen=chosen, chosen_options=options,
        why='lowest validation error of the candidates, each trained on the schedule '
            'compressed to %d epochs' % select_epochs,
        run_dir=run_dir, train_seconds_total=train_seconds,
        select_seconds=sum(r['train_seconds'] for r in records),
        metrics=metrics)
    write_json(os.path.join(out_dir, 'mnist_%s.json' % prior), record)
    log('mnist (%s): test error %.2f%% | ECE %.2f%% | NLL %.4f | chosen epoch %s of %.0f | '
        '%.1f min of training' % (prior, 100 * metrics['test_error'], 100 * metrics['ece'],
                                  metrics['test_nll'], metrics.get('selected_epoch'),
                                  metrics['epochs'], train_seconds / 60.0))
    return record


def extend_mnist(out_dir, budget_minutes, epochs, log, prior='scale_mixture', verbose=False,
                 threads=0):
    """The choice of `reproduce_mnist` trained on a longer schedule.

    Nothing is chosen again: the record's chosen options train from scratch
    on the same schedule shape stretched to `epochs` (decay at 3/4), with
    early stopping on validation, in <out_dir>/<chosen>_long; the result goes
    to <out_dir>/mnist_<prior>_long.json. Safe to run again after an
    interruption (it resumes).

    Raises:
      ConfigError: there is no record to extend, or `epochs` is not longer
        than the recorded run's schedule.
    """
    from tfbnn.errors import ConfigError
    path = os.path.join(out_dir, 'mnist_%s.json' % prior)
    record = filing.read_record(path, MNIST_KEYS, 'run the mnist experiment first')
    if epochs <= record['protocol']['epochs']:
        raise ConfigError('--epochs %d: the recorded run already trained a %d-epoch schedule'
                          % (epochs, record['protocol']['epochs']))
    run_dir = os.path.join(out_dir, record['chosen'] + '_long')
    protocol = dict(PINNED, **record['protocol'])
    config = dict(protocol, output_dir=run_dir, max_seconds=60.0 * budget_minutes,
                  threads=threads, **dict(record['chosen_options'], **schedule_options(epochs)))
    log('mnist (%s): training %s on a %d-epoch schedule (at most %.0f minutes)'
        % (prior, record['chosen'], epochs, budget_minutes))
    metrics = runner.run(config, verbose, reuse=True)
    longer = dict(record, budget_minutes=budget_minutes, metrics=metrics, run_dir=run_dir,
                  protocol=dict(protocol, **schedule_options(epochs)),
                  train_seconds_total=runner.history_seconds(run_dir), extends=os.path.basename(path))
    write_json(os.path.join(out_dir, 'mnist_%s_long.json' % prior), longer)
    log('mnist (%s, longer schedule): test error %.2f%% | ECE %.2f%% | chosen epoch %s of %.0f | '
        '%.1f min of training' % (prior, 100 * metrics['test_error'], 100 * metrics['ece'],
                                  metrics.get('selected_epoch'), metrics['epochs'],
                                  longer['train_seconds_total'] / 60.0))
    return longer
