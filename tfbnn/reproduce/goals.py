"""The goals of docs/RESULTS.md and their verdicts, computed from the records.

Every row states a goal, the measured number from a record and whether the
goal was met; nothing here is typed in by hand. A goal whose experiment has
no record yet is listed as not run.
"""
from tfbnn.reproduce import paper, report_ood, report_pruning

__all__ = ['render_goals', 'verdict']


def verdict(ok):
    return '**met**' if ok else '**missed**'


# The command that reproduces each goal's number (run through scripts/run.sh python).
_MAIN = '`scripts/run.sh train`; the choice: `reproduce.py defaults`'
_MNIST = '`reproduce.py mnist --prior scale_mixture`'
_LONGER = '`reproduce.py mnist-longer --epochs 400 --budget-minutes 70`'
_GAUSS = '`reproduce.py mnist --prior normal`'
_PRUNE = '`reproduce.py pruning`'
_SCALES = '`reproduce.py mnist-scales`'
_PRUNE_SCALES = '`reproduce.py pruning --model mnist-scales`'
_SCALE_ADAM = '`reproduce.py mnist-scale-adam`'
_PRUNE_SCALE_ADAM = '`reproduce.py pruning --model mnist-scale-adam`'
_MEAN_INIT = '`reproduce.py mnist-mean-init`'
_PRUNE_MEAN_INIT = '`reproduce.py pruning --model mnist-mean-init`'
_REFIT = '`reproduce.py mnist-refit --prior scale_mixture`'
_REFIT_GAUSS = '`reproduce.py mnist-refit --prior normal`'
_PRUNE_REFIT = '`reproduce.py pruning --model mnist-refit`'
_UCI = '`reproduce.py uci`'
_OOD = '`reproduce.py mnist-ood`'


def _row(goal, measured, ok, command):
    return '| %s | %s | %s | %s |' % (goal, measured,
                                      verdict(ok) if ok is not None else 'reported', command)


def _main_job(records):
    rec = records.get('defaults')
    if not rec or 'main_job' not in rec:
        return [_row('Main job (digits, defaults): test error <= 2%, ECE <= 2%, OOD AUROC (MI) '
                     '>= 0.9, about 10 s of training', 'not run', False, _MAIN)]
    m = rec['main_job']
    return [
        _row('Main job (`bash scripts/run.sh train`): test error <= 2%',
             '%.2f%%' % (100 * m['test_error']), m['test_error'] <= 0.02, _MAIN),
        _row('Main job: ECE <= 2%', '%.2f%%' % (100 * m['ece']), m['ece'] <= 0.02, _MAIN),
        _row('Main job: OOD AUROC of mutual information >= 0.9 (built-in set)',
             '%.3f (entropy: %.3f)' % (m['ood_auroc_mi'], m['ood_auroc_entropy']),
             m['ood_auroc_mi'] >= 0.9, _MAIN),
        _row('Main job: about 10 s of training on 2 cores', '%.1f s' % m['train_seconds'],
             m['train_seconds'] <= 15.0, _MAIN),
    ]


def _mnist_row(goal, record, command):
    """The 1.5%-in-60-minutes goal, measured on one record."""
    err = 100 * record['metrics']['test_error']
    minutes = record['train_seconds_total'] / 60.0
    # + 1e-9: 100 x 0.015 is 1.5000000000000002 in floating point.
    return _row(goal, '%.2f%% in %.0f min' % (err, minutes), err <= 1.5 + 1e-9 and minutes <= 61,
                command)


def _mnist(records):
    rows = []
    mix = records.get('mnist_mixture')
    if not mix:
        return [_row('MNIST 2x400 scale mixture: test error <= 1.5% within 60 min', 'not run',
                     False, _MNIST)]
    m = mix['metrics']
    goal = 'MNIST 2x400 scale mixture: test error <= 1.5% within 60 min on 2 cores'
    rows.append(_mnist_row(goal, mix, _MNIST))
    mean_init = records.get('mnist_mean_init')
    if mean_init:
        rows.append(_mnist_row(goal + ' (the choice on validation between that run and the '
                               'runs from small initial means, %s)' % (
                                   'Glorot kept' if mean_init['mean_init_limit'] is None else
                                   'A = %g chosen' % mean_init['mean_init_limit']),
                               mean_init, _MEAN_INIT))
    refit = records.get('mnist_refit')
    if refit:
        rows.append(_mnist_row(goal + ' (that choice refit on its training and validation '
                               'images)', refit, _REFIT))
    longer = records.get('mnist_longer')
    if longer:
        err_long = 100 * longer['metrics']['test_error']
        rows.append(_row("... and the paper's 1.36% with a longer budget",
                         '%.2f%% in %.0f min (%d-epoch schedule)'
                         % (err_long, longer['train_seconds_total'] / 60.0,
                            longer['protocol']['epochs']), err_long <= 1.36 + 1e-9, _LONGER))
    else:
        rows.append(_row("... and the paper's 1.36% with a longer budget",
                         'not run', False, _LONGER))
    rows.append(_row('MNIST ECE <= 1.5%', '%.2f%%' % (100 * m['ece']), m['ece'] <= 0.015, _MNIST))
    for key, which, command in (('mnist_gaussian', '', _GAUSS),
                                ('mnist_refit_gaussian', ', refit', _REFIT_GAUSS)):
        if key in records:
            rows.append(_row('Gaussian prior beside it%s' % which, '%.2f%% test error'
                             % (100 * records[key]['metrics']['test_error']), None, command))
    return rows


def _scales(records):
    """The reported rows of the MNIST choice trained with scales that move."""
    rows = []
    for key, goal, setting, command in (
            ('mnist_scales', 'MNIST, the same choice with the rho steps x M (M chosen on '
             'validation)', lambda r: 'M = %g' % r['chosen_multiplier'], _SCALES),
            ('mnist_scale_adam', 'MNIST, the same choice with its scales trained by Adam',
             lambda r: 'rate %g' % r['scale_learning_rate'], _SCALE_ADAM)):
        record = records.get(key)
        if record:
            m = record['metrics']
            rows.append(_row(goal, '%.2f%% test error, ECE %.2f%%, %s, in %.0f min' % (
                100 * m['test_error'], 100 * m['ece'], setting(record),
                record['train_seconds_total'] / 60.0), None, command))
    return rows


def _pruning(records):
    rows = []
    models = [('pruning', '', _PRUNE)]
    if 'mnist_scales' in records or 'pruning_scales' in records:
        models.append(('pruning_scales', ' (the rho steps x M model)', _PRUNE_SCALES))
    if 'mnist_scale_adam' in records or 'pruning_scale_adam' in records:
        models.append(('pruning_scale_adam', ' (the scales-by-Adam model)', _PRUNE_SCALE_ADAM))
    init_limit = records.get('mnist_mean_init', {}).get('mean_init_limit')
    # A mean-init choice of the record's own run is pruned in the rows above.
    if 'pruning_mean_init' in records or init_limit is not None:
        models.append(('pruning_mean_init', ' (the mnist-mean-init choice: %s)' % (
            'the Glorot run' if init_limit is None else 'means from U(-%g, %g)'
            % (init_limit, init_limit)), _PRUNE_MEAN_INIT))
    if 'mnist_refit' in records or 'pruning_refit' in records:
        models.append(('pruning_refit', ' (the refit model)', _PRUNE_REFIT))
    for key, which, command in models:
        rows.extend(_fraction_rows(
            records.get(key, {}).get('rows', []),
            'Pruning {:.0f}% by SNR costs <= {:.1f} pp of test error' + which,
            command))
    return rows + _retrained(records)


def _fraction_rows(prune_rows, goal, command):
    """The 95% (<= 0.1 pp) and 98% (<= 0.3 pp) goal rows of one pruning
    record's rows; `goal.format(percent removed, limit)` states each."""
    out = []
    for fraction, limit in ((0.95, 0.1), (0.98, 0.3)):
        text = goal.format(100 * fraction, limit)
        match = [r for r in prune_rows if abs(r['fraction'] - fraction) < 1e-9]
        if not match:
            out.append(_row(text, 'not run', False, command))
            continue
        change = match[0]['test_error_change']
        out.append(_row(text, '%+.2f pp (%.2f%% to %.2f%%)' % (
            change, match[0]['test_error'] - change, match[0]['test_error']),
            change <= limit, command))
    return out


def _retrained(records):
    """The pruning goals again, pruning followed by retraining (a second
    route): the refit model, with the retraining chosen on validation."""
    if not any(key in records for key, _, _ in report_pruning.RETRAIN_RECORDS):
        return []
    choice = report_pruning.retrain_choice(records)
    words, options = report_pruning.describe_retrain(choice) if choice else ('not yet', '')
    command = '`reproduce.py pruning-retrain --model mnist-refit%s`' % options
    # Without a choice there is no reported schedule yet, whatever records exist.
    prune_rows = (records.get(report_pruning.retrain_key(choice, '_refit'), {}).get('rows', [])
                  if choice else [])
    return _fraction_rows(prune_rows, 'Pruning {:.0f}% by SNR, then retraining, costs <= '
                          '{:.1f} pp (the refit model; retraining chosen on validation: '
                          + words + ')', command)


def _uci(records):
    uci = records.get('uci')
    # The published columns exist for the four sets of the papers only.
    names = [n for n in (uci or {}).get('sets', {}) if n in paper.UCI_TABLE]
    if not names:
        return [_row('UCI: test LL at least PBP\'s on all four sets',
                     'not run' if not uci else 'not run (no set of the papers in the record)',
                     False, _UCI)]
    lls = {name: s['chosen']['test_ll'] for name, s in uci['sets'].items()}
    better_vi = [n for n in names if lls[n] > paper.UCI_TABLE[n]['VI'][2]]
    at_least_pbp = [n for n in names if lls[n] >= paper.UCI_TABLE[n]['PBP'][2]]
    tuned = paper.UCI_STRONG['MC dropout (tuned)']
    at_least_dropout = [n for n in names if n in tuned and lls[n] >= tuned[n]]

    def listed(found):
        return '%d of %d (%s)' % (len(found), len(names), ', '.join(found) or 'none')
    return [
        _row('UCI: better test LL than VI on all four sets', listed(better_vi),
             len(better_vi) == 4, _UCI),
        _row("UCI: test LL at least PBP's on all four sets", listed(at_least_pbp),
             len(at_least_pbp) == 4, _UCI),
        _row("UCI: test LL at least tuned MC dropout's on two sets", listed(at_least_dropout),
             len(at_least_dropout) >= 2, _UCI),
    ]


def _best_auroc(scores):
    """The goal's AUROC of one set's scores: the better of MI and entropy."""
    return max(scores['auroc_mi'], scores['auroc_entropy'])


def _ood_measured(rec):
    """(the measured text, the verdict) of one `mnist-ood` record."""
    best = {name: _best_auroc(s) for name, s in rec['sets'].items()}
    err = rec['metrics']['test_error']
    measured = 'test error %.2f%%; AUROC %s' % (100 * err, ', '.join(
        '%s %.3f' % (name, value) for name, value in sorted(best.items())))
    return measured, err < 0.03 and min(best.values()) >= 0.95


def _ood(records):
    rec = records.get('mnist_ood')
    goal = ('MNIST 784-400-400, 10 epochs of the job: OOD AUROC (MI or entropy) >= 0.95 on '
            'every set, test error < 3%')
    others = _ood_third_party(records.get('ood_third_party'))
    if not rec:
        return [_row(goal, 'not run', False, _OOD)] + others
    rows = [_row(goal, *(_ood_measured(rec) + (_OOD,)))]
    probe = records.get('ood_outlier_probe')
    setting = report_ood.choose_outliers(probe['rows']) if probe else None
    runs = report_ood.outlier_runs(records, setting) if setting else {}
    if 0 in runs:  # the seed of the defaults' record
        stem, run = runs[0]
        measured, ok = _ood_measured(run)
        if len(runs) > 1:
            best = [_best_auroc(r['sets']['letters']) for _, r in runs.values()
                    if 'letters' in r['sets']]
            measured += '; letters over %d seeds %.3f-%.3f' % (len(best), min(best), max(best))
        rows.append(_row(goal[:-len(', test error < 3%')] + ', with `%s` (chosen on validation), '
                         'test error < 3%%' % setting.flags(), measured, ok,
                         'the command in `probes/%s.json`' % stem))
    return rows + others


def _ood_third_party(rec):
    """A row per set made by others (`probes/ood_third_party.json`): the
    goal on that set alone, over all the runs scored on it (every seed of
    every setting must reach 0.95 with a test error below 3%)."""
    rows = []
    for name in sorted(rec['sources'] if rec else ()):
        runs = [r for r in rec['runs'] if name in r['sets']]
        best = [_best_auroc(r['sets'][name]) for r in runs]
        errors = [r['metrics']['test_error'] for r in runs]
        settings = {report_ood.Setting.of(r['protocol']).flags() for r in runs}
        rows.append(_row(
            'MNIST 784-400-400, 10 epochs of the job: OOD AUROC (MI or entropy) >= 0.95 on `%s`, '
            'a set made by others, test error < 3%%' % name,
            'AUROC %.3f-%.3f over %d runs (%d settings), test error %.2f-%.2f%%' % (
                min(best), max(best), len(runs), len(settings), 100 * min(errors),
                100 * max(errors)),
            min(best) >= 0.95 and max(errors) < 0.03,
            'the commands in `probes/ood_third_party.json`'))
    return rows


def render_goals(records):
    """The markdown goals table of `records` (see `report.load_records`)."""
    rows = ['| goal | measured | verdict | command |', '|---|---|---|---|']
    for part in (_main_job, _mnist, _scales, _pruning, _uci, _ood):
        rows.extend(part(records))
    return '\n'.join(rows)
