"""docs/RESULTS.md's pruning tables (Blundell et al. 2015, Table 2), from the records.

`render_pruning` renders one pruning record, with the layers' shares kept
and sigma's spread; `render_pruning_probes` puts every probe filed under
results/probes/ in one table, each with what the pruned run was.
"""
import os

from tfbnn import models
from tfbnn.reproduce import paper, pruning_retrain

__all__ = ['PRUNING_COMMANDS', 'RETRAIN_RECORDS', 'TIE', 'describe_retrain', 'render_pruning',
           'render_pruning_probes', 'render_pruning_retrain', 'retrain_choice', 'retrain_key']

# The pruning records and the options of `reproduce.py pruning` that make each.
PRUNING_COMMANDS = dict(pruning='', pruning_latest=' --checkpoint latest',
                        pruning_scales=' --model mnist-scales',
                        pruning_scale_adam=' --model mnist-scale-adam',
                        pruning_mean_init=' --model mnist-mean-init',
                        pruning_refit=' --model mnist-refit')


# The prune-then-retrain protocols, (schedule, rate), in order of simplicity.
_RETRAIN_PROTOCOLS = (('one-shot', 'last'), ('iterative', 'last'), ('one-shot', 'rewind'),
                      ('iterative', 'rewind'))
_RETRAIN_MODELS = (('', 'mnist', ''), ('_refit', 'mnist-refit', ' --model mnist-refit'))


def retrain_key(protocol, suffix=''):
    """The record of a (schedule, rate) protocol, of the model `suffix` names."""
    schedule, rate = protocol
    return pruning_retrain.record_name(schedule, rate, pruning_retrain.EPOCHS, suffix)[:-5]


def _retrain_options(schedule, rate):
    return ('' if schedule == 'one-shot' else ' --schedule ' + schedule) + (
        '' if rate == 'last' else ' --rate ' + rate)


# The prune-then-retrain records: (record, the model, its command's options).
RETRAIN_RECORDS = tuple((retrain_key((schedule, rate), suffix), model,
                         prefix + _retrain_options(schedule, rate))
                        for suffix, model, prefix in _RETRAIN_MODELS
                        for schedule, rate in _RETRAIN_PROTOCOLS)
TIE = 0.02  # pp of summed validation error: a closer candidate does not displace a simpler one


def _validation_sum(records, key):
    """The `mnist` record's mean-net validation errors at 95% and 98%, summed
    and rounded to 1e-6 pp (None without both)."""
    rows = [r for r in records.get(key, {}).get('rows', [])
            if r.get('reported', True) and round(r['fraction'], 6) in (0.95, 0.98)]
    if len(rows) != 2 or not all('val_error' in r for r in rows):
        return None
    return round(sum(r['val_error'] for r in rows), 6)


def _simplest_best(records, protocols):
    """Of `protocols` (simplest first) whose `mnist` records have scores: the
    last one whose summed validation error is lower than every simpler one's
    by more than TIE, or else the simplest; None if none has a score."""
    scored = [(p, _validation_sum(records, retrain_key(p))) for p in protocols]
    scored = [(p, score) for p, score in scored if score is not None]
    if not scored:
        return None
    chosen = scored[0][0]
    for i, (protocol, score) in enumerate(scored[1:], 1):
        if all(round(earlier - score, 6) > TIE for _, earlier in scored[:i]):
            chosen = protocol
    return chosen


def retrain_choice(records):
    """The (schedule, rate) of the retraining chosen on validation, or None
    without both `mnist` schedule records.

    Two choices, each by the lower sum of the mean-net validation errors at
    95% and 98% of the `mnist` model, a difference of TIE or less going to
    the simpler: first the schedule (one-shot or iterative, both at the run's
    last rate), then, if that schedule's rewound record is there, the rate
    (the last rate held, or the run's schedule rewound)."""
    first = [(schedule, 'last') for schedule in pruning_retrain.SCHEDULES]
    if any(_validation_sum(records, retrain_key(p)) is None for p in first):
        return None
    schedule = _simplest_best(records, first)[0]
    return _simplest_best(records, [(schedule, rate) for rate in pruning_retrain.RATES])


def describe_retrain(protocol):
    """(the words, the command's options) of a (schedule, rate) protocol."""
    schedule, rate = protocol
    return (schedule + ('' if rate == 'last' else ', rate rewound'),
            _retrain_options(schedule, rate))


def render_pruning_retrain(records):
    """One table of every prune-then-retrain record: per model and schedule,
    the change at each fraction (an iterative schedule's stages too), mean
    net and predictive, and the validation error."""
    present = [(key, model, opts) for key, model, opts in RETRAIN_RECORDS if key in records]
    if not present:
        return '(not run yet: `python scripts/reproduce.py pruning-retrain`)'
    rows = ['| model | schedule | unpruned test error | removed | test error after retraining | '
            'change (mean net) | change (predictive) | validation error | command |',
            '|---|---|---|---|---|---|---|---|---|']
    for key, model, opts in present:
        rec = records[key]
        for row in rec['rows']:
            rows.append('| %s | %s, %d epochs %s | %.2f%% | %.0f%%%s | %.2f%% | %+.2f pp | '
                        '%+.2f pp | %s | `reproduce.py pruning-retrain%s` |' % (
                            model, rec.get('schedule', 'one-shot'), rec['epochs'],
                            pruning_retrain.describe_rate(rec), rec['base']['test_error'],
                            100 * row['fraction'],
                            '' if row.get('reported', True) else ' (a stage on the way)',
                            row['test_error'],
                            row['test_error_change'], row['predictive_test_error_change'],
                            '%.2f%%' % row['val_error'] if 'val_error' in row else 'none',
                            opts))
    choice = retrain_choice(records)
    rows.append('\nthe retraining chosen on validation (the `mnist` model, 95%% + 98%%): %s.'
                % (describe_retrain(choice)[0] if choice
                   else 'not yet (both `mnist` schedule records are needed)'))
    return '\n'.join(rows)


def _kept_the_record(records):
    """True when mnist-mean-init kept the `mnist` record's own run."""
    return 'mnist_mean_init' in records and records['mnist_mean_init']['mean_init_limit'] is None


def render_pruning(records, key='pruning'):
    """The table of one pruning record (`key`), or what makes it."""
    if key == 'pruning_mean_init' and key not in records and _kept_the_record(records):
        return ('(mnist-mean-init kept the `mnist` record\'s run: its pruning is the first table '
                'of this section)')
    if key not in records:
        return '(not run yet: `python scripts/reproduce.py pruning%s`)' % PRUNING_COMMANDS[key]
    rows = ['| weights removed | paper, 2x1200 (test error) | tfbnn 2x400 test error | change '
            '| predictive (sampled) test error | validation error | SNR threshold |',
            '|---|---|---|---|---|---|---|']
    for row in records[key]['rows']:
        rows.append('| %.0f%% | %s | %.2f%% | %+.2f pp | %s | %s | %.3g |' % (
            100 * row['fraction'], '%.2f%%' % paper.BLUNDELL_TABLE2[row['fraction']]
            if row['fraction'] in paper.BLUNDELL_TABLE2 else '',
            row['test_error'], row['test_error_change'],
            '%.2f%%' % row['predictive_test_error'] if 'predictive_test_error' in row else '',
            '%.2f%%' % row['val_error'] if 'val_error' in row else '',
            row['snr_threshold']))
    kept = [row for row in records[key]['rows']
            if row['fraction'] > 0 and 'kept_by_layer' in row]  # none before 2026-12-04
    if kept:
        rows.append('\nkernel weights kept by layer: ' + '; '.join('%.0f%% removed: %s' % (
            100 * row['fraction'], ', '.join('%s %.1f%%' % (layer, 100 * share) for layer, share
                                             in row['kept_by_layer'].items())) for row in kept)
            + '.')
    sigmas = records[key].get('sigma_quantiles')  # records from before 2026-12-03 have none
    if sigmas:
        rows.append('\nsigma of each kernel before pruning (p10 / median / p90): ' + '; '.join(
            '%s %.3g / %.3g / %.3g' % (layer, q['0.1'], q['0.5'], q['0.9'])
            for layer, q in sigmas.items()) + '.')
    return '\n'.join(rows)


def _run_text(record):
    """What a pruned run was, from its record's run_options (records from
    before 2026-12-04 have none: the run's folder name)."""
    options = record.get('run_options')
    if not options:
        return 'run `%s`' % os.path.basename(record.get('run_dir', '').rstrip('/'))
    init = options['posterior_init_mean']
    limit = models.uniform_mean_limit(init)
    scales = ('Adam %g' % options['scale_learning_rate'] if options['scale_optimizer'] == 'adam'
              else 'x %g' % options['scale_lr_multiplier']
              if options['scale_lr_multiplier'] != 1 else 'as the means')
    return 'means %s, scales %s' % ('U(-%g, %g)' % (limit, limit) if limit else init, scales)


def render_pruning_probes(records):
    """One table of the pruning probes: per record, its run, checkpoint,
    unpruned test error, the cost of 95% and 98%, and the layers kept."""
    probes = records.get('pruning_probes')
    if not probes:
        return '(no probes filed)'
    rows = ['| record (results/probes/) | the run | checkpoint | test error, unpruned | 95% '
            'removed: change, test / validation | 98% removed: change, test / validation | '
            'kept at 98%, by layer |', '|---|---|---|---|---|---|---|']
    for name, rec in probes.items():
        by = {round(r['fraction'], 6): r for r in rec['rows']}
        cells = []
        for fraction in (0.95, 0.98):
            row = by.get(fraction)
            if not row:
                cells.append('')
            elif 'val_error' in row:
                cells.append('%+.2f / %+.2f pp' % (row['test_error_change'], row['val_error']
                                                   - by[0.0]['val_error']))
            else:  # a run with nothing held out (a refit)
                cells.append('%+.2f pp / none' % row['test_error_change'])
        kept = by.get(0.98, {}).get('kept_by_layer', {})
        rows.append('| `%s` | %s | %s | %.2f%% | %s | %s | %s |' % (
            name, _run_text(rec), rec['which'], by[0.0]['test_error'],
            cells[0], cells[1], ', '.join('%s %.1f%%' % (layer.split('/')[-1], 100 * share)
                                          for layer, share in kept.items())))
    return '\n'.join(rows)
