"""The MNIST choice of `reproduce_mnist`, refit on its training and validation images.

`reproduce_mnist` chose its options and its stopping epoch E* on the
validation split, so its model never trained on those N_val images. The
refit trains the same options afresh on all N = N_train + N_val training
images (the protocol of Goodfellow et al. 2016, Deep Learning, algorithm
7.2): for as many examples as the chosen run had seen at E*, i.e. ceil(E*
N_train / N) epochs, with each of the rate's decays moved to the same
number of examples seen, round(e N_train / N). Nothing is held out any
more, so nothing stops it early: its final weights are scored on the test
set, once. The per-example KL weight 1/N follows N.

Nothing is chosen here: the options, the epoch count and the schedule all
follow from the record, so the test set is looked at once, as in the
record itself. (The job scores a run without a validation split on test
when it ends, so a refit its budget cut short has a test score in its own
metrics.json; no record is written from it.)
"""
import math
import os

from tfbnn import run_setup
from tfbnn.errors import ConfigError
from tfbnn.internal.jsonio import write_json
from tfbnn.reproduce import runner
from tfbnn.reproduce.mnist_scales import log_test_line, read_sgd_record, record_base
from tfbnn.schedules import nearest_epoch

__all__ = ['refit_schedule', 'reproduce_mnist_refit']


def refit_schedule(kept_epoch, decay_epochs, n_train, n_all):
    """The epochs and decay epochs of a refit on `n_all` examples that sees as
    many examples as `kept_epoch` epochs of `n_train` did.

    Args:
      kept_epoch: E*, the chosen run's kept (early-stopping) epoch, >= 1.
      decay_epochs: the chosen run's decay epochs e.
      n_train: examples the chosen run trained on.
      n_all: examples the refit trains on (>= n_train).

    Returns:
      (ceil(E* n_train / n_all), [round(e n_train / n_all) for each e that
      falls before the refit's last epoch]).

    Raises:
      ConfigError: a non-positive epoch or size, or n_all < n_train.
    """
    if not (kept_epoch >= 1 and 0 < n_train <= n_all):
        raise ConfigError('a refit needs a kept epoch >= 1 and 0 < training examples <= all '
                          'examples, got epoch %r, %r and %r' % (kept_epoch, n_train, n_all))
    ratio = float(n_train) / n_all
    # (the small tolerance keeps an exact product, e.g. 225 x 5/6, from rounding up a whole epoch)
    epochs = int(math.ceil(kept_epoch * ratio - 1e-9))
    decays = [nearest_epoch(e * ratio) for e in decay_epochs]
    return epochs, [e for e in decays if 1 <= e < epochs]


def reproduce_mnist_refit(out_dir, budget_minutes, log, prior='scale_mixture', data_dir=None,
                          verbose=False, threads=0):
    """Refits the choice of the mnist_<prior>.json record in `out_dir` on all
    its training images and scores it on the test set.

    Safe to run again after an interruption: a finished refit is not trained
    again and an unfinished one resumes from its latest checkpoint.

    Args:
      out_dir: the folder of `reproduce_mnist`'s record; the run goes to
        <out_dir>/<chosen>_refit, the record to mnist_<prior>_refit.json.
      budget_minutes: training wall time allowed to the refit.
      log: progress callable.
      prior: which record of `reproduce_mnist` to refit.
      data_dir: the MNIST IDX folder (None: the one the record names).
      verbose: print every epoch.
      threads: TensorFlow threads (0: TensorFlow decides).

    Returns:
      The record written to mnist_<prior>_refit.json.

    Raises:
      ConfigError: no record, a record trained with Adam or without a
        validation split, or a refit its budget stopped before the end.
    """
    path, record = read_sgd_record(out_dir, prior, ': the refit keeps its SGD schedule')
    protocol, metrics = record['protocol'], record['metrics']
    if not protocol.get('validation_size'):
        raise ConfigError('%s held out no validation images: there is nothing to refit on'
                          % path)
    base = dict(record_base(record, data_dir, threads), **record['chosen_options'])
    dataset = run_setup.load_data(runner.validated_options(dict(base, output_dir=out_dir)))
    n_train = len(dataset.y_train)
    n_all = n_train + len(dataset.y_val)
    kept = metrics.get('selected_epoch') or metrics['epochs']
    epochs, decays = refit_schedule(kept, protocol.get('lr_decay_epochs', ()), n_train, n_all)
    name = '%s_refit' % record['chosen']
    options = dict(base, validation_size=0, validate_every=0, patience=0, epochs=epochs,
                   lr_decay_epochs=decays, max_seconds=60.0 * budget_minutes,
                   output_dir=os.path.join(out_dir, name))
    log('mnist refit (%s): %s on all %d training images (the record trained on %d and kept '
        'epoch %s): %d epochs, rate x%g at %s, at most %g min; its last weights are scored on '
        'test' % (prior, record['chosen'], n_all, n_train, kept, epochs,
                  protocol.get('lr_decay_factor', 0.1), decays, budget_minutes))
    refit = runner.run(options, verbose, reuse=True)
    if refit['epochs'] + 1e-9 < epochs:
        raise ConfigError('the refit stopped at epoch %.1f of %d (its --budget-minutes ran out): '
                          'its test score would not be the protocol\'s; give a budget its '
                          'schedule fits in and run again (it resumes)' % (refit['epochs'], epochs))
    run_dir = options['output_dir']
    result = dict(
        experiment='mnist_refit', prior=prior, extends=os.path.basename(path),
        protocol=dict(options, output_dir=None), budget_minutes=budget_minutes,
        base_choice=record['chosen'], kept_epoch=kept, train_examples=n_train,
        refit_examples=n_all,
        why='the record\'s options refit on its training and validation images for as many '
            'examples as its kept epoch had seen, the decay moved with them; no choice is made',
        run_dir=run_dir, train_seconds_total=runner.history_seconds(run_dir),
        metrics=refit)
    write_json(os.path.join(out_dir, 'mnist_%s_refit.json' % prior), result)
    log_test_line(log, 'mnist refit (%s)' % prior, refit, result['train_seconds_total'])
    return result
