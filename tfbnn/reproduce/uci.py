"""The UCI regression benchmark (Hernandez-Lobato & Adams 2015).

Protocol: the 20 fixed random 90/10 splits of each set, one hidden layer of
50 units, inputs and targets standardised on the training split (the
loader does this), at most 40 epochs; test RMSE and test log-likelihood in
the original units, mean and standard error over the splits.

Choosing hyperparameters without the test set: on the first `select_splits`
splits, 20% of the training rows are held out (re-standardised without
them), every (learning rate, batch size) candidate trains for 40 epochs and
is scored on the held-out rows every `VALIDATE_EVERY` epochs. Adam's
constant step makes a run's first E epochs the same whatever the total, so
one 40-epoch run scores every stopping epoch E at once. The (learning rate,
batch size, E) with the best mean validation log-likelihood is chosen; the
20 test runs then train on the whole training split. A second row keeps
E = 40 (the protocol as written), so the effect of choosing E is visible.
"""
import os

import numpy as np

from tfbnn._jsonio import read_json, write_json
from tfbnn.reproduce import paper, runner
from tfbnn.training import rundir

__all__ = ['SETS', 'CANDIDATES', 'VALIDATE_EVERY', 'base_options', 'reproduce_uci',
           'mean_and_se']

SETS = ('bostonHousing', 'concrete', 'energy', 'yacht')
# (learning rate, batch size) of Adam.
CANDIDATES = ((1e-2, 16), (1e-2, 64), (3e-3, 16), (3e-3, 64))
VALIDATE_EVERY = 5
NUM_SPLITS = 20
MAX_EPOCHS = 40


def base_options(set_dir, max_epochs=MAX_EPOCHS):
    """What every UCI run shares (one thread: the nets are tiny)."""
    return dict(dataset='uci', data_dir=set_dir, model='mlp', hidden=[50],
                estimator='local_reparameterization', prior='normal', prior_sigma=1.0,
                kl_scheme='per_example', posterior_init_scale=1e-3, eval_samples=100,
                epochs=max_epochs, keep_checkpoints=1, threads=1)


def mean_and_se(values):
    """(mean, standard error = std / sqrt(n), ddof=1) of a list of numbers."""
    values = np.asarray(values, np.float64)
    se = values.std(ddof=1) / np.sqrt(values.size) if values.size > 1 else float('nan')
    return float(values.mean()), float(se)


def _select(name, set_dir, out_dir, protocol, log, verbose):
    """Scores every candidate at every validated epoch; returns the choice."""
    scores = {}  # (lr, batch, epoch) -> list of val_ll over the selection splits
    select_splits, max_epochs = protocol['select_splits'], protocol['max_epochs']
    for lr, batch in protocol['candidates']:
        for split in range(select_splits):
            config = dict(base_options(set_dir, max_epochs), split=split, seed=split,
                          learning_rate=lr,
                          batch_size=batch, validation_size=0.2,
                          validate_every=protocol['validate_every'],
                          evaluate_test=False,
                          output_dir=os.path.join(out_dir, 'select', 'lr%g_b%d_split%d'
                                                  % (lr, batch, split)))
            runner.run(config, verbose)
            history = read_json(os.path.join(config['output_dir'], rundir.HISTORY))
            for epoch, value in zip(history['epoch'], history['val_ll']):
                if value is not None:
                    scores.setdefault((lr, batch, epoch), []).append(value)
        log('uci %s: candidate lr %g batch %d scored on %d splits' % (name, lr, batch,
                                                                      select_splits))
    table = [dict(learning_rate=lr, batch_size=b, epochs=e, val_ll=float(np.mean(v)),
                  splits=len(v)) for (lr, b, e), v in sorted(scores.items())]
    complete = [r for r in table if r['splits'] == select_splits]
    best = max(complete, key=lambda r: r['val_ll'])
    best40 = max([r for r in complete if r['epochs'] == max_epochs], key=lambda r: r['val_ll'])
    return best, best40, table


def _test_runs(name, set_dir, out_dir, choice, tag, num_splits, log, verbose):
    rows = []
    for split in range(num_splits):
        config = dict(base_options(set_dir), split=split, seed=split,
                      learning_rate=choice['learning_rate'], batch_size=choice['batch_size'],
                      epochs=choice['epochs'],
                      output_dir=os.path.join(out_dir, tag, 'split%d' % split))
        metrics = runner.run(config, verbose)
        rows.append(dict(split=split, rmse=metrics['rmse'], test_ll=metrics['test_ll'],
                         train_seconds=metrics['train_seconds']))
    rmse, rmse_se = mean_and_se([r['rmse'] for r in rows])
    ll, ll_se = mean_and_se([r['test_ll'] for r in rows])
    log('uci %s (%s): RMSE %.2f +- %.2f | test LL %.2f +- %.2f over %d splits'
        % (name, tag, rmse, rmse_se, ll, ll_se, num_splits))
    return dict(choice=choice, rmse=rmse, rmse_se=rmse_se, test_ll=ll, test_ll_se=ll_se,
                splits=rows, seconds=float(sum(r['train_seconds'] for r in rows)))


def reproduce_uci(data_dir, out_dir, log, sets=SETS, select_splits=5, verbose=False,
                  num_splits=NUM_SPLITS, candidates=CANDIDATES, max_epochs=MAX_EPOCHS,
                  validate_every=VALIDATE_EVERY):
    """Runs the protocol on each set; writes <out_dir>/uci.json.

    Args:
      data_dir: folder holding one folder per set (`SETS`).
      out_dir: where the runs and uci.json go.
      log: progress callable.
      sets: names of the sets to run.
      select_splits: how many splits' held-out rows choose the hyperparameters.
      verbose: print every epoch of every run.
      num_splits, candidates, max_epochs, validate_every: the protocol's
        20 splits, (learning rate, batch size) grid, 40 epochs and scoring
        interval; smaller values make a smoke run.

    Returns:
      The record written to uci.json.
    """
    missing = [s for s in sets if not os.path.isdir(os.path.join(data_dir, s))]
    if missing:
        from tfbnn.errors import DataError
        raise DataError('%s: no folder for %s (expected one per set: %s)'
                        % (data_dir, ', '.join(missing), ', '.join(SETS)))
    if max_epochs % validate_every:
        raise ValueError('max_epochs %d must be a multiple of validate_every %d'
                         % (max_epochs, validate_every))
    protocol = dict(candidates=[list(c) for c in candidates], validate_every=validate_every,
                    select_splits=select_splits, num_splits=num_splits, max_epochs=max_epochs)
    record = dict(experiment='uci', protocol=dict(base_options(None, max_epochs),
                                                  data_dir=str(data_dir), **protocol),
                  paper=paper.UCI_TABLE, sets={})
    for name in sets:
        set_dir = os.path.join(data_dir, name)
        set_out = os.path.join(out_dir, name)
        best, best40, table = _select(name, set_dir, set_out, protocol, log, verbose)
        log('uci %s: chose lr %g, batch %d, %d epochs (mean validation LL %.3f); at all epochs '
            'lr %g, batch %d (%.3f)' % (name, best['learning_rate'], best['batch_size'],
                                        best['epochs'], best['val_ll'], best40['learning_rate'],
                                        best40['batch_size'], best40['val_ll']))
        chosen = _test_runs(name, set_dir, set_out, best, 'chosen', num_splits, log, verbose)
        if (best40['learning_rate'], best40['batch_size'], best40['epochs']) == (
                best['learning_rate'], best['batch_size'], best['epochs']):
            fixed = dict(chosen, note='the same choice as the chosen row')
        else:
            fixed = _test_runs(name, set_dir, set_out, best40, 'epochs40', num_splits, log,
                               verbose)
        record['sets'][name] = dict(selection=table, chosen=chosen, epochs40=fixed)
        write_json(os.path.join(out_dir, 'uci.json'), record)
    return record
