"""docs/RESULTS.md's tables, written from the JSON records of the runs.

`render_results` turns the records into markdown tables, one per
`<!-- results:NAME -->` block; `update_results` writes them into the file.
Every number in the tables comes from a record; every goal's verdict is
computed here from the measured number, never typed in.
"""
import glob
import os
import shutil

from tfbnn.errors import ConfigError
from tfbnn.internal.jsonio import read_json, write_json
from tfbnn.kl_study import update_guide
from tfbnn.reproduce import (figures, filing, goals, paper, report_ood, report_pruning,
                             report_uci, runner)

__all__ = ['RECORDS', 'load_records', 'collect_records', 'render_results', 'update_results',
           'write_figures']

# Where each experiment's record is, relative to `reproduce --out` (and to
# docs/results/, which keeps the committed copies).
RECORDS = dict(defaults='defaults/defaults.json', mnist_ood='ood/ood.json',
               mnist_mixture='mnist/mnist_scale_mixture.json',
               mnist_longer='mnist/mnist_scale_mixture_long.json',
               mnist_gaussian='mnist/mnist_normal.json',
               mnist_scales='mnist/mnist_scale_mixture_scales.json',
               mnist_scale_adam='mnist/mnist_scale_mixture_scale_adam.json',
               mnist_mean_init='mnist/mnist_scale_mixture_mean_init.json',
               mnist_refit='mnist/mnist_scale_mixture_refit.json',
               mnist_refit_gaussian='mnist/mnist_normal_refit.json',
               pruning='pruning/pruning.json', pruning_latest='pruning/pruning_latest.json',
               pruning_scales='pruning/pruning_scales.json',
               pruning_scale_adam='pruning/pruning_scale_adam.json',
               pruning_mean_init='pruning/pruning_mean_init.json',
               pruning_refit='pruning/pruning_refit.json',
               uci='uci/uci.json',
               **{key: 'pruning/%s.json' % key for key, _, _ in report_pruning.RETRAIN_RECORDS})


# Pruning records of runs no experiment chose (probes/pruning_<what>.json),
# kept by hand beside the others; one table shows them all.
PRUNING_PROBES = os.path.join('probes', 'pruning_*.json')


def load_records(folder):
    """name -> record for each record file present in `folder`; the pruning
    probes under 'pruning_probes', as file stem -> record, the OOD probes
    under 'ood_probe', 'ood_outlier_probe', 'ood_third_party' and 'ood_runs'
    (file stem -> record), and the UCI protocol on other sets under 'uci_other'."""
    out = {}
    for name, filename in RECORDS.items():
        record = read_json(os.path.join(folder, filename))
        if record is not None:
            out[name] = record
    for name, pattern in (('pruning_probes', PRUNING_PROBES),
                          ('ood_runs', report_ood.OOD_RUN_PROBES)):
        probes = {os.path.basename(path)[:-len('.json')]: read_json(path)
                  for path in sorted(glob.glob(os.path.join(folder, pattern)))}
        if probes:
            out[name] = probes
    for name, filename in (('ood_probe', report_ood.OOD_PROBE),
                           ('ood_outlier_probe', report_ood.OUTLIER_PROBE),
                           ('ood_third_party', report_ood.THIRD_PARTY),
                           ('uci_other', report_uci.UCI_OTHER)):
        probe = read_json(os.path.join(folder, filename))
        if probe is not None:
            out[name] = probe
    return out


def collect_records(out_dir, results_dir, replace=False):
    """Copies the records found under `out_dir` into `results_dir`.

    The MNIST records gain the validation curve of their run (from its
    history.json) so the figures can be redrawn from the copies alone.

    Returns:
      The records copied, as `load_records` gives them.

    Raises:
      ConfigError: unless `replace`, a record that would replace one made
        with another protocol (nothing is copied then).
    """
    records = load_records(out_dir)
    for probes in ('pruning_probes', 'ood_probe', 'ood_outlier_probe', 'ood_runs',
                   'ood_third_party', 'uci_other'):  # filed by hand
        records.pop(probes, None)
    for name, record in records.items():
        if not isinstance(record, dict):
            raise ConfigError('%s is not a record (not a JSON object): move it aside, or run '
                              'its experiment again' % os.path.join(out_dir, RECORDS[name]))
        run_dir = record.get('run_dir')  # the data its run read, where the run says
        data = read_json(os.path.join(run_dir, runner.DATA_FILE)) if run_dir else None
        if isinstance(data, dict) and data.get('sha256'):
            record.setdefault('data_sha256', data['sha256'])
    if not replace:
        filing.check_same_protocols(records, load_records(results_dir), RECORDS, out_dir,
                                    results_dir)
    for name, record in records.items():
        if name in _CURVES and 'val_curve' not in record and record.get('run_dir'):
            history = read_json(os.path.join(record['run_dir'], 'history.json'))
            if history:
                # The run may have been continued since (mnist-longer): keep
                # the part of its history this record describes.
                last = record['metrics']['epochs'] + 1e-9
                pairs = [(e, v) for e, v in zip(history['epoch'], history.get('val_error', []))
                         if v is not None and e <= last]
                record['val_curve'] = dict(epoch=[e for e, _ in pairs],
                                           val_error=[v for _, v in pairs])
        path = os.path.join(results_dir, RECORDS[name])
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_json(path, record)
    # The pruning figure needs every weight's SNR, and the OOD figure the
    # images, which the records do not keep: the experiment draws each, and
    # the copy travels with its record.
    figures_ = [os.path.join('pruning', name + '.png') for name in report_pruning.PRUNING_COMMANDS
                if name in records]
    if 'mnist_ood' in records:
        figures_.append(os.path.join('ood', report_ood.FIGURE))
    for figure in figures_:
        if os.path.exists(os.path.join(out_dir, figure)):
            shutil.copyfile(os.path.join(out_dir, figure), os.path.join(results_dir, figure))
    return records


def write_figures(records, results_dir):
    """The PNGs of docs/RESULTS.md; returns the paths written."""
    written = []
    labelled = [(_curve_label(k, r), r['val_curve']) for k, r in records.items()
                if k in _CURVES and 'val_curve' in r]
    curves = {label: curve for label, curve in labelled if label}
    if curves:
        written.append(figures.mnist_curves(curves, os.path.join(results_dir, 'mnist.png')))
    if 'uci' in records:
        written.append(figures.uci_comparison(records['uci'],
                                              os.path.join(results_dir, 'uci.png')))
        written.append(figures.uci_selection(records['uci'],
                                             os.path.join(results_dir, 'uci_selection.png')))
    return written


# The MNIST runs whose validation curves are drawn, and their label suffixes.
_CURVES = dict(mnist_mixture='', mnist_longer=', longer budget', mnist_gaussian='',
               mnist_scales=', rho steps x M', mnist_scale_adam=', scales by Adam',
               mnist_mean_init=', means from U(-%g, %g)')


def _curve_label(key, record):
    """The legend of a record's validation curve; None for the mean-init
    record that kept the `mnist` run (its curve is drawn already)."""
    if key != 'mnist_mean_init':
        return record['prior'] + _CURVES[key]
    limit = record.get('mean_init_limit')
    return None if limit is None else record['prior'] + _CURVES[key] % (limit, limit)


def _minutes(seconds):
    return '%.0f min' % (seconds / 60.0)


# The rows of the MNIST table, in order: (record, model); `_variant` names what each changed.
_MNIST_ROWS = (('mnist_mixture', 'Bayes by Backprop, scale mixture prior'),
               ('mnist_longer', 'Bayes by Backprop, scale mixture prior'),
               ('mnist_scales', 'Bayes by Backprop, scale mixture prior'),
               ('mnist_scale_adam', 'Bayes by Backprop, scale mixture prior'),
               ('mnist_mean_init', 'Bayes by Backprop, scale mixture prior'),
               ('mnist_refit', 'Bayes by Backprop, scale mixture prior'),
               ('mnist_gaussian', 'Bayes by Backprop, Gaussian prior'),
               ('mnist_refit_gaussian', 'Bayes by Backprop, Gaussian prior'))
_REQUIRED = ('mnist_mixture', 'mnist_gaussian')
_REFITS = ('mnist_refit', 'mnist_refit_gaussian')  # trained without validation: never stopped


def _variant(key, record):
    """What a row's record changed in the `mnist` choice ('' for the record itself)."""
    refit = ', refit on training + validation images'
    return dict(mnist_longer=', longer schedule',
                mnist_scales=', rho steps x %g' % record.get('chosen_multiplier', 1),
                mnist_scale_adam=', scales by Adam at %g' % record.get('scale_learning_rate', 0),
                mnist_mean_init=', means from U(-A, A), A = %g' % (
                    record.get('mean_init_limit') or 0),
                **dict.fromkeys(_REFITS, refit)).get(key, '')


def _mnist(records):
    rows = ['| model | paper (test error) | tfbnn test error | ECE | test NLL | stopped at '
            '(epoch, on validation) | epochs run | training time | chosen prior |',
            '|---|---|---|---|---|---|---|---|---|']
    for key, label in _MNIST_ROWS:
        if key not in _REQUIRED and key not in records:
            continue
        if key == 'mnist_mean_init' and records[key]['mean_init_limit'] is None:
            continue  # the record's own run was kept: its row is above
        if key not in records:
            rows.append('| %s | %.2f%% | not run | | | | | | |'
                        % (label, paper.BLUNDELL_TABLE1[label][400]))
            continue
        r = records[key]
        m = r['metrics']
        rows.append('| %s, 2x400%s | %.2f%% | %.2f%% | %.2f%% | %.4f | %s | %.0f | %s | `%s` |' % (
            label, _variant(key, r), paper.BLUNDELL_TABLE1[label][400], 100 * m['test_error'],
            100 * m['ece'], m['test_nll'],
            'not stopped (refit)' if key in _REFITS else m.get('selected_epoch'),
            m['epochs'], _minutes(r['train_seconds_total']), r.get('chosen', r.get('base_choice'))))
    rows.append('| SGD with dropout (paper only) | %.2f%% | | | | | | | |'
                % paper.BLUNDELL_TABLE1['SGD with dropout'][400])
    return '\n'.join(rows)


def _selection(records):
    rows = ['| prior | candidate | validation error (best of its validations) | at epoch | '
            'epochs in its slice | chosen |',
            '|---|---|---|---|---|---|']
    for key in ('mnist_mixture', 'mnist_gaussian'):
        if key not in records:
            continue
        r = records[key]
        for c in r['candidates']:
            rows.append('| %s | `%s` | %.2f%% | %s | %.1f | %s |' % (
                r['prior'], c['name'], 100 * c['score'], _epoch(c.get('selected_epoch')),
                c['epochs'], 'yes' if c['name'] == r['chosen'] else ''))
    return '\n'.join(rows)


def _epoch(epoch):
    return '' if epoch is None else '%d' % epoch


def _scales(records):
    rec = records.get('mnist_scales')
    if not rec:
        return '(not run yet: `python scripts/reproduce.py mnist-scales`)'
    rows = ['| M (rho steps x M) | validation error | epochs in its slice | trained by | chosen |',
            '|---|---|---|---|---|']
    for c in rec['candidates']:
        rows.append('| %g | %.2f%% | %.1f | %s | %s |' % (
            c['multiplier'], 100 * c['score'], c['epochs'], c.get('source', 'this experiment'),
            'yes' if c['multiplier'] == rec['chosen_multiplier'] else ''))
    rows.append('| (threshold: best + one standard error) | %.2f%% | | | |'
                % (100 * rec['threshold']))
    return '\n'.join(rows)


def _scale_adam(records):
    rec = records.get('mnist_scale_adam')
    if not rec:
        return '(not run yet: `python scripts/reproduce.py mnist-scale-adam`)'
    rows = ['| scales\' Adam rate | validation error (kept epoch) | epochs run | chosen |',
            '|---|---|---|---|']
    for c in rec['candidates']:
        rows.append('| %g | %.2f%% | %.1f | %s |' % (
            c['rate'], 100 * c['score'], c['epochs'],
            'yes' if c['rate'] == rec['scale_learning_rate'] else ''))
    rows.append('| (threshold: best + one standard error) | %.2f%% | | |'
                % (100 * rec['threshold']))
    return '\n'.join(rows)


def _mean_init(records):
    rec = records.get('mnist_mean_init')
    if not rec:
        return '(not run yet: `python scripts/reproduce.py mnist-mean-init`)'
    rows = ['| initial means | validation error (kept epoch) | kept epoch | epochs run | '
            'trained by | chosen |', '|---|---|---|---|---|---|']
    for c in rec['candidates']:
        rows.append('| %s | %.2f%% | %s | %.1f | %s | %s |' % (
            'Glorot uniform' if c['limit'] is None else 'U(-%g, %g)' % (c['limit'], c['limit']),
            100 * c['score'], c.get('selected_epoch'), c['epochs'],
            c.get('source', 'this experiment'),
            'yes' if c['limit'] == rec['mean_init_limit'] else ''))
    return '\n'.join(rows)


def _times(records):
    rows = ['| experiment | what the time covers | wall time |', '|---|---|---|']
    for key in ('mnist_mixture', 'mnist_gaussian'):
        if key in records:
            r = records[key]
            search = r.get('select_seconds', sum(c['wall_seconds'] for c in r['candidates']))
            rows.append('| MNIST, %s prior | the chosen model\'s training | %s |'
                        % (r['prior'], _minutes(r['train_seconds_total'])))
            rows.append('| MNIST, %s prior | the selection: %d candidates x %d epochs, with '
                        'validation | %s |' % (r['prior'], len(r['candidates']),
                                               r['select_epochs'], _minutes(search)))
    if 'mnist_longer' in records:
        rows.append('| MNIST, scale mixture prior, longer budget | the choice on a longer '
                    'schedule | %s |'
                    % _minutes(records['mnist_longer']['train_seconds_total']))
    if 'mnist_scales' in records:
        r = records['mnist_scales']
        rows.append('| MNIST, scale mixture prior, rho steps x M | the chosen M\'s training | %s |'
                    % _minutes(r['train_seconds_total']))
        rows.append('| MNIST, scale mixture prior, rho steps x M | the selection: %d values of '
                    'M x %d epochs, with validation | %s |'
                    % (sum(1 for c in r['candidates'] if 'source' not in c), r['select_epochs'],
                       _minutes(r['select_seconds'])))
    if 'mnist_scale_adam' in records:
        r = records['mnist_scale_adam']
        rows.append('| MNIST, scale mixture prior, scales by Adam | %d rates, each on the full '
                    'schedule, with validation | %s |'
                    % (len(r['candidates']), _minutes(r['select_seconds'])))
    if 'mnist_mean_init' in records:
        r = records['mnist_mean_init']
        rows.append('| MNIST, scale mixture prior, means from U(-A, A) | %d values of A, each on '
                    'the full schedule, with validation | %s |'
                    % (len(r['candidates']) - 1, _minutes(r['select_seconds'])))
    for key in _REFITS:
        if key in records:
            r = records[key]
            rows.append('| MNIST, %s prior, refit | the refit on %d images, %d epochs | %s |'
                        % (r['prior'].replace('_', ' '), r['refit_examples'],
                           r['protocol']['epochs'], _minutes(r['train_seconds_total'])))
    if 'uci' in records:
        sets = records['uci']['sets'].values()
        total = sum(s[k]['seconds'] for s in sets for k in ('chosen', 'epochs40')
                    if 'note' not in s[k])
        timed = all('select_seconds' in s for s in sets)  # not before 2026-12-04
        if timed:
            splits = sorted({len(c['val_ll_by_split']) for s in sets for c in s['selection']})
            rows.append('| UCI | the selection: %d candidates x %s splits per set (training; '
                        'validation and start-up not counted) | %s |' % (
                            len(records['uci']['protocol']['candidates']),
                            ' or '.join(map(str, splits)),
                            _minutes(sum(s['select_seconds'] for s in sets))))
        rows.append('| UCI | training of the test runs, all sets and splits%s | %s |' % (
            '' if timed else ' (the selection runs not included)', _minutes(total)))
    return '\n'.join(rows)


def _defaults(records):
    rec = records.get('defaults')
    if not rec:
        return '(not run yet: `python scripts/reproduce.py defaults`)'
    rows = ['| sigma_0 | Adam step | epochs | KL weight beta | validation NLL | validation error | '
            'validation ECE | validation OOD AUROC (MI) | chosen |',
            '|---|---|---|---|---|---|---|---|---|']
    chosen = rec['chosen']
    for r in rec['rows']:
        mark = all(r.get(k, 1.0) == chosen[k] for k in chosen)
        ece = r.get('mean_val_ece')  # records before the KL weight was chosen have none
        rows.append('| %g | %g | %d | %g | %.4f | %.2f%% | %s | %.3f | %s |' % (
            r['posterior_init_scale'], r['learning_rate'], r['epochs'], r.get('kl_weight', 1.0),
            r['mean_val_nll'], 100 * r['mean_val_error'],
            '' if ece is None else '%.2f%%' % (100 * ece), r['mean_val_ood_auroc_mi'],
            'yes' if mark else ''))
    return '\n'.join(rows)


def render_results(records):
    """name -> markdown of each results block, from `load_records`."""
    return dict(defaults=_defaults(records), ood=report_ood.render_ood(records),
                ood_letters=report_ood.render_ood_letters(records),
                ood_probe=report_ood.render_ood_probe(records),
                ood_runs=report_ood.render_ood_runs(records),
                ood_outliers=report_ood.render_ood_outliers(records),
                ood_seeds=report_ood.render_ood_seeds(records),
                ood_third_party=report_ood.render_ood_third_party(records),
                mnist=_mnist(records), selection=_selection(records),
                scales=_scales(records), scale_adam=_scale_adam(records),
                mean_init=_mean_init(records),
                pruning=report_pruning.render_pruning(records),
                pruning_latest=report_pruning.render_pruning(records, 'pruning_latest'),
                pruning_scales=report_pruning.render_pruning(records, 'pruning_scales'),
                pruning_scale_adam=report_pruning.render_pruning(records, 'pruning_scale_adam'),
                pruning_mean_init=report_pruning.render_pruning(records, 'pruning_mean_init'),
                pruning_refit=report_pruning.render_pruning(records, 'pruning_refit'),
                pruning_probes=report_pruning.render_pruning_probes(records),
                pruning_retrain=report_pruning.render_pruning_retrain(records),
                uci=report_uci.render_uci(records),
                uci_other=report_uci.render_uci_other(records),
                goals=goals.render_goals(records),
                times=_times(records))


def update_results(doc_path, records):
    """Rewrites the `<!-- results:NAME -->` blocks of `doc_path`."""
    update_guide(doc_path, render_results(records), tag='results')
