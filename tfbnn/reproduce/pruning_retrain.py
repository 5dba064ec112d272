"""Prune, then retrain: the MNIST model pruned by SNR and its kept weights trained on.

`reproduce_pruning` removes weights from the trained posterior and scores
what is left as it is (Blundell et al. 2015, Table 2). Here each pruned
network trains again, with the job itself (`--warm-start RUN
--prune-fraction F`): the removed weights stay removed (mu = 0, sigma = 0,
their KL left out), the kept weights' means and scales go on under the same
objective (the run's prior, KL weight, estimator, batch size and data).
This is the prune-and-retrain route of Han et al. (2015) applied to the
variational posterior; it is a second route, reported beside the paper's
pruning without retraining, not in its place.

Nothing is chosen on the test set: the retraining's rate is fixed
beforehand, as one of `RATES`, and the last weights are scored once:
- 'last': the pruned run's own last learning rate, held constant for
  `epochs` epochs (20 by default): fine-tuning.
- 'rewind': the run's own schedule again, compressed into `epochs`: the same
  base rate, schedule kind, decay factor and warm-up, each decay epoch e of
  a run of E epochs moved to e * epochs / E, to the nearest whole epoch
  where that keeps it inside the retraining (`rewound_schedule`; learning-
  rate rewinding, Renda et al. 2020). A run whose rate decayed from 0.1 to 0.01 at epoch
  180 of 240 retrains at 0.1 for 15 epochs and 0.01 for 5.
The change is measured against the unpruned run's own scores in its record.

References:
  Blundell, Cornebise, Kavukcuoglu, Wierstra (2015), Weight Uncertainty in
  Neural Networks, sec. 5.1 and Table 2.
  Han, Pool, Tran, Dally (2015), Learning both Weights and Connections for
  Efficient Neural Networks, NeurIPS, sec. 3.2 (retraining after pruning).
  Renda, Frankle, Carbin (2020), Comparing Rewinding and Fine-tuning in
  Neural Network Pruning, ICLR (learning-rate rewinding).
"""
import os

from tfbnn import run_config, schedules
from tfbnn.errors import CheckpointError, ConfigError
from tfbnn.internal.jsonio import read_json, write_json
from tfbnn.reproduce import filing, runner
from tfbnn.training import rundir

__all__ = ['FRACTIONS', 'EPOCHS', 'SCHEDULES', 'RATES', 'ITERATIVE_STAGES', 'last_rate',
           'record_name', 'rewound_schedule', 'describe_rate', 'stages', 'check_fractions',
           'reproduce_pruning_retrain']

FRACTIONS = (0.95, 0.98)
EPOCHS = 20
SCHEDULES = ('one-shot', 'iterative')
RATES = ('last', 'rewind')
# The prunings an iterative schedule passes through on its way to the fractions asked for.
ITERATIVE_STAGES = (0.5, 0.75, 0.9)


def last_rate(config):
    """The learning rate of a run's last step (its schedule's end: after the
    step decays, at the cosine's floor, or the constant rate)."""
    per_epoch = 1000  # any resolution: the rate is a function of the epoch reached
    return float(schedules.learning_rate_value(
        config.epochs * per_epoch - 1, config.learning_rate, per_epoch, config.epochs,
        config.lr_schedule, config.lr_decay_epochs, config.lr_decay_factor,
        config.lr_warmup_epochs))


def record_name(schedule, rate, epochs, suffix=''):
    """The record's file name: pruning_retrain, then _iterative, _<rate> and
    _e<epochs> where they differ from one-shot, 'last' and EPOCHS, then the
    model's `suffix`, then .json."""
    return 'pruning_retrain%s%s%s%s.json' % ('' if schedule == 'one-shot' else '_iterative',
                                             '' if rate == 'last' else '_' + rate,
                                             '' if epochs == EPOCHS else '_e%d' % epochs, suffix)


def check_fractions(fractions, name='fractions'):
    """Raises ConfigError, naming `name`, unless `fractions` is a non-empty
    sequence of distinct numbers in (0, 1)."""
    if not fractions or len(set(fractions)) != len(fractions) or not all(
            0 < f < 1 for f in fractions):
        raise ConfigError('%s must be distinct fractions in (0, 1), got %s'
                          % (name, ', '.join('%g' % f for f in fractions) or 'none'))


def _check_epochs(epochs):
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ConfigError('retraining epochs must be an integer >= 1, got %r' % (epochs,))


def rewound_schedule(config, epochs):
    """The run's learning-rate options compressed into a retraining of `epochs`
    epochs (see the module); the base rate, kind and factor kept.

    Each decay epoch e of the run's E epochs that took effect (e < E) moves to
    x = e * epochs / E, rounded to a whole epoch when that lies in [1, epochs
    - 1], else kept as x: every decay of the run happens in the retraining,
    so it ends at the run's last rate. A step schedule none of whose decays
    took effect is the constant base rate. The warm-up is scaled by epochs / E.

    Raises:
      ConfigError: `epochs` not an integer >= 1.
    """
    _check_epochs(epochs)
    ratio = float(epochs) / config.epochs
    decays = []
    for e in config.lr_decay_epochs:
        if e < config.epochs:
            x = e * ratio
            whole = schedules.nearest_epoch(x)
            decays.append(float(whole) if 1 <= whole <= epochs - 1 else x)
    kind = 'constant' if config.lr_schedule == 'step' and not decays else config.lr_schedule
    return dict(lr_schedule=kind, learning_rate=config.learning_rate,
                lr_decay_epochs=tuple(sorted(decays)), lr_decay_factor=config.lr_decay_factor,
                lr_warmup_epochs=config.lr_warmup_epochs * ratio)


def describe_rate(options):
    """A retraining's rate in words, from its options or its record (records
    from before 2026-12-05 have only `learning_rate`: a constant rate)."""
    kind = options.get('lr_schedule', 'constant')
    words = 'at %g' % options['learning_rate']
    if kind == 'step':
        decays = options['lr_decay_epochs']
        words += ', x%g at epoch%s %s' % (options['lr_decay_factor'], 's' if len(decays) > 1
                                          else '', ','.join('%g' % e for e in decays))
    elif kind == 'cosine':
        words += ', cosine to x%g' % options['lr_decay_factor']
    warmup = options.get('lr_warmup_epochs')
    if warmup:
        words += ', warm-up %g epoch%s' % (warmup, '' if warmup == 1 else 's')
    return words


def _rate_options(config, rate, epochs):
    if rate == 'rewind':
        return rewound_schedule(config, epochs)
    return dict(lr_schedule='constant', lr_decay_epochs=(), lr_warmup_epochs=0.0,
                lr_decay_factor=config.lr_decay_factor, learning_rate=last_rate(config))


def _retrain_options(config, checkpoint, fraction, epochs, rate, out_dir, data_dir, threads,
                     budget_minutes):
    options = dict(config.to_dict(), warm_start=checkpoint, prune_fraction=fraction,
                   epochs=epochs, warmup_steps=0, validate_every=0, patience=0, init_from=None,
                   resume=False, evaluate_test=True,
                   max_seconds=60.0 * budget_minutes, threads=threads, progress='never',
                   output_dir=os.path.join(out_dir, 'f%g' % fraction),
                   **_rate_options(config, rate, epochs))
    if data_dir is not None:
        options['data_dir'] = str(data_dir)
    return options


def _row(fraction, metrics, base):
    row = dict(fraction=fraction, pruned_fraction=metrics['pruned_fraction'],
               epochs=metrics['epochs'], train_seconds=metrics['train_seconds'],
               test_error=100.0 * metrics['mean_weights_test_error'],
               predictive_test_error=100.0 * metrics['test_error'], ece=100.0 * metrics['ece'])
    row['test_error_change'] = row['test_error'] - base['test_error']
    row['predictive_test_error_change'] = (row['predictive_test_error']
                                           - base['predictive_test_error'])
    if 'val_error' in metrics:
        row['val_error'] = 100.0 * metrics['val_error']
    return row


def stages(fractions, schedule):
    """The fractions pruned one after another: each requested fraction on its
    own ('one-shot'), or one chain through ITERATIVE_STAGES below the largest
    and then the requested fractions ('iterative')."""
    if schedule == 'one-shot':
        return [(f,) for f in fractions]
    chain = sorted(set(f for f in ITERATIVE_STAGES if f < max(fractions)) | set(fractions))
    return [tuple(chain)]


def reproduce_pruning_retrain(run_dir, base_metrics, out_path, log, fractions=FRACTIONS,
                              epochs=EPOCHS, schedule='one-shot', rate='last', data_dir=None,
                              threads=0, budget_minutes=30.0, verbose=False):
    """Prunes a trained classification run at each fraction and retrains what is kept.

    Safe to run again after an interruption: finished retrainings are reused
    and an unfinished one resumes.

    Args:
      run_dir: the trained run (its early-stopping checkpoint if it has one,
        else its latest, as `reproduce_pruning` prunes by default).
      base_metrics: the unpruned run's metrics (its record's): the
        reference of each change.
      out_path: where the JSON record goes; the runs go to
        <its folder>/<its name without .json>/f<fraction>.
      log: progress callable.
      fractions: fractions in (0, 1) of kernel weights removed.
      epochs: retraining epochs of each pruning.
      schedule: 'one-shot' (each fraction pruned from the trained run at
        once) or 'iterative' (Han et al. 2015, sec. 3.3: one chain of
        prunings, each retrained and the start of the next, through
        ITERATIVE_STAGES up to the fractions).
      rate: the retraining's learning rate, one of RATES: 'last' (the run's
        last rate, constant) or 'rewind' (the run's schedule compressed into
        `epochs`).
      data_dir: the data folder (None: the one the run's config names).
      threads: TensorFlow threads (0: TensorFlow decides).
      budget_minutes: training wall time allowed to each retraining.
      verbose: print every epoch.

    Returns:
      The record: per fraction the posterior-mean and predictive test error
      after retraining and their change from the unpruned run.

    Raises:
      ConfigError: a fraction outside (0, 1), epochs < 1, an unknown
        schedule or rate, base metrics without test scores, or a retraining its
        budget stopped before the end.
      CheckpointError: the run directory has no config.json or checkpoint, or
        is not a classifier's.
    """
    check_fractions(fractions)
    _check_epochs(epochs)
    if schedule not in SCHEDULES:
        raise ConfigError('schedule must be one of %s, got %r' % (', '.join(SCHEDULES),
                                                                   schedule))
    if rate not in RATES:
        raise ConfigError('rate must be one of %s, got %r' % (', '.join(RATES), rate))
    missing = [k for k in ('test_error', 'mean_weights_test_error') if k not in base_metrics]
    if missing:
        raise ConfigError('the unpruned run\'s metrics have no %s: it was not scored on the test '
                          'set (--no-test-eval?), so there is nothing to compare with'
                          % ' or '.join(missing))
    config = run_config.load(os.path.join(run_dir, rundir.CONFIG))
    meta = read_json(os.path.join(run_dir, rundir.DATASET)) or {}
    if meta.get('task') != 'classification':
        raise CheckpointError('%s is not a classification run (its %s says %r); pruning '
                              'reproduces a classifier' % (run_dir, rundir.DATASET,
                                                           meta.get('task')))
    checkpoint = rundir.chosen_checkpoint(run_dir)
    base = dict(test_error=100.0 * base_metrics['mean_weights_test_error'],
                predictive_test_error=100.0 * base_metrics['test_error'])
    runs_dir = os.path.splitext(out_path)[0]
    rows = []
    for chain in stages(fractions, schedule):
        start = checkpoint
        for fraction in chain:
            options = _retrain_options(config, start, fraction, epochs, rate, runs_dir,
                                       data_dir, threads, budget_minutes)
            log('pruning-retrain: %g%% of %s removed, then %d epochs %s'
                % (100 * fraction, start, epochs, describe_rate(options)))
            metrics = runner.run(options, verbose, reuse=True)
            if metrics['epochs'] + 1e-9 < epochs:
                raise ConfigError('the retraining at %g stopped at epoch %.1f of %d (its budget '
                                  'ran out); give it more and run again (it resumes)'
                                  % (fraction, metrics['epochs'], epochs))
            start = rundir.chosen_checkpoint(options['output_dir'])
            row = _row(fraction, metrics, base)
            rows.append(dict(row, reported=fraction in fractions))
            log('pruning-retrain: %g%% removed and retrained: test error %.2f%% (mean net, '
                '%+.2f pp), %.2f%% (predictive, %+.2f pp)%s'
                % (100 * fraction, row['test_error'], row['test_error_change'],
                   row['predictive_test_error'], row['predictive_test_error_change'],
                   ' | validation %.2f%%' % row['val_error'] if 'val_error' in row else ''))
    rates = _rate_options(config, rate, epochs)
    record = dict(experiment='pruning_retrain', run_dir=run_dir, checkpoint=checkpoint,
                  protocol=filing.run_protocol(config.to_dict()),
                  schedule=schedule, epochs=epochs, rate=rate,
                  **dict(rates, lr_decay_epochs=list(rates['lr_decay_epochs'])), base=base,
                  rows=rows,
                  why='the pruned posterior trained again for a fixed number of epochs, %s; '
                      'nothing chosen on test' % (
                          'at the run\'s last rate' if rate == 'last'
                          else 'on the run\'s own schedule compressed into them'))
    write_json(out_path, record)
    return record
