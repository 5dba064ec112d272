"""RESULTS.md's out-of-distribution tables, rendered from their records.

  ood          the `mnist-ood` record: each set's AUROCs and the test error.
  ood_letters  the same record's `letters` set, letter by letter: its AUROCs
               and the digit the network takes it for most often.
  ood_probe    `probes/ood_letters_validation.json`, filed by hand: the job's
               settings against the letters made from validation images.
  ood_runs     `probes/ood_run_*.json`, filed by hand: other finished MNIST
               runs scored on the same sets (`mnist-ood --run`).
  ood_seeds    the job's 10-epoch networks over seeds, with and without
               --outlier-exposure: `mnist-ood` and the `ood_runs` of the same
               options but the seed and the outliers.
  ood_outliers `probes/ood_outlier_validation.json`, filed by hand: the job
               with and without --outlier-exposure against the letters made
               from validation images, several seeds each, and the choice
               among them (`choose_outliers`, the rule written before the runs).
  ood_third_party `probes/ood_third_party.json`, filed by hand: the job's
               10-epoch networks scored on image sets made by others
               (`mnist-ood --run RUN --ood-data-dir DIR`), per setting.
"""
import collections

from tfbnn.run_config import DEFAULTS, OUTLIER_KEYS

__all__ = ['FIGURE', 'OOD_PROBE', 'OOD_RUN_PROBES', 'OUTLIER_PROBE', 'Setting', 'render_ood',
           'render_ood_letters', 'render_ood_probe', 'render_ood_runs', 'render_ood_outliers',
           'choose_outliers', 'outlier_runs', 'render_ood_seeds', 'THIRD_PARTY',
           'render_ood_third_party']

# `mnist-ood`'s examples of every set scored, beside its ood.json.
FIGURE = 'ood_sets.png'
# The hand-filed probe records, relative to docs/results/ (never copied from --out).
OOD_PROBE = 'probes/ood_letters_validation.json'
OOD_RUN_PROBES = 'probes/ood_run_*.json'
OUTLIER_PROBE = 'probes/ood_outlier_validation.json'
THIRD_PARTY = 'probes/ood_third_party.json'
# The choice among outlier settings: the mean validation error may exceed the
# baseline's by at most this, the mean validation ECE must be at most this,
# and a simpler setting within this much of the best score is preferred.
_ERROR_SLACK, _MAX_ECE, _TIE = 0.002, 0.02, 0.005
_NOT_RUN = '(not run yet: `python scripts/reproduce.py mnist-ood`)'


def render_ood(records):
    """Each set's AUROCs, and the in-distribution test error and ECE."""
    rec = records.get('mnist_ood')
    if not rec:
        return _NOT_RUN
    m = rec['metrics']
    rows = ['| out-of-distribution set | images | AUROC, mutual information | AUROC, entropy |',
            '|---|---|---|---|']
    for name, r in sorted(rec['sets'].items()):
        rows.append('| %s | %d | %.3f | %.3f |' % (name, r['examples'], r['auroc_mi'],
                                                   r['auroc_entropy']))
    rows.append('| (in distribution: MNIST test, error %.2f%%, ECE %.2f%%) | 10000 | | |'
                % (100 * m['test_error'], 100 * m['ece']))
    return '\n'.join(rows)


def render_ood_letters(records):
    """The letters, hardest first: AUROCs and the digit each is taken for."""
    rec = records.get('mnist_ood')
    letters = (rec or {}).get('sets', {}).get('letters', {}).get('by_letter')
    if not letters:
        return _NOT_RUN
    rows = ['| letter | images | AUROC, mutual information | AUROC, entropy | '
            'taken most often for | share |', '|---|---|---|---|---|---|']
    for letter, r in sorted(letters.items(), key=lambda item: item[1]['auroc_mi']):
        rows.append('| %s | %d | %.3f | %.3f | %d | %.0f%% |'
                    % (letter, r['examples'], r['auroc_mi'], r['auroc_entropy'], r['taken_for'],
                       100 * r['share']))
    return '\n'.join(rows)


def render_ood_probe(records):
    """The validation probe's rows, as filed."""
    rec = records.get('ood_probe')
    if not rec:
        return '(no probe record: `docs/results/%s`)' % OOD_PROBE
    rows = ['| sigma_0 | Adam step | KL weight beta | validation error | validation ECE | '
            'validation AUROC on letters, MI | entropy | note |',
            '|---|---|---|---|---|---|---|---|']
    for r in rec['rows']:
        rows.append('| %g | %g | %g | %.2f%% | %.2f%% | %.3f | %.3f | %s |'
                    % (r['posterior_init_scale'], r['learning_rate'], r['kl_weight'],
                       100 * r['val_error'], 100 * r['val_ece'], r['val_ood_auroc_mi'],
                       r['val_ood_auroc_entropy'], r.get('note', '')))
    return '\n'.join(rows)


def render_ood_runs(records):
    """One row per run scored: the job's 10-epoch network first, then the
    probes; the median of each layer's sigma (in layer-name order), and a
    column per set the job's record has."""
    rec = records.get('mnist_ood')
    if not rec:
        return _NOT_RUN
    names = sorted(rec['sets'])
    rows = ['| network | test error | median sigma by layer | %s |' % ' | '.join(names),
            '|---|---|---|%s' % ('---|' * len(names))]
    runs = [('the job, 10 epochs (`mnist-ood`)', rec)] + [
        ('`%s` (%s)' % (stem, probe.get('what', 'a finished run')), probe)
        for stem, probe in sorted(records.get('ood_runs', {}).items())]
    for label, run in runs:
        cells = ['%.3f' % run['sets'][n]['auroc_mi'] if n in run['sets'] else '-' for n in names]
        error = run.get('metrics', {}).get('test_error')
        sigmas = ' / '.join('%.3g' % q['0.5'] for _, q in sorted(
            run.get('sigma_quantiles', {}).items())) or '-'
        rows.append('| %s | %s | %s | %s |' % (label, '-' if error is None else
                                               '%.2f%%' % (100 * error), sigmas, ' | '.join(cells)))
    return '\n'.join(rows)


class Setting(collections.namedtuple('Setting', 'kind weight draws disagreement')):
    """The job's outlier options: --outlier-exposure, --outlier-weight,
    --outlier-draws, --outlier-disagreement (for `none`: 0, 1, 0)."""
    __slots__ = ()

    @classmethod
    def of(cls, options):
        """The setting of a validation row or a run's `protocol` (options an
        older run lacks take the job's defaults)."""
        kind, weight, draws, disagreement = (options.get(k, DEFAULTS[k]) for k in OUTLIER_KEYS)
        if kind in (None, 'none'):
            return cls('none', 0.0, 1, 0.0)
        return cls(kind, float(weight), int(draws), float(disagreement))

    def simplicity(self):
        """Sorts simplest first: none; then fewer draws, smaller gamma, smaller lambda."""
        return (self.kind != 'none', self.draws, self.disagreement, self.weight)

    def flags(self):
        """The job's flags for it, those at their defaults left out."""
        if self.kind == 'none':
            return 'defaults'
        flags = '--outlier-exposure %s --outlier-weight %g' % (self.kind, self.weight)
        if self.draws != 1:
            flags += ' --outlier-draws %d' % self.draws
        if self.disagreement:
            flags += ' --outlier-disagreement %g' % self.disagreement
        return flags


def _settings(rows):
    """`Setting` -> the rows of its seeds, simplest first."""
    out = {}
    for r in rows:
        out.setdefault(Setting.of(r), []).append(r)
    return dict(sorted(out.items(), key=lambda item: item[0].simplicity()))


def _mean(rows, key):
    return sum(r[key] for r in rows) / len(rows)


def _score(rows):
    """The mean over seeds of (AUROC of MI + AUROC of entropy) / 2."""
    return sum((r['val_ood_auroc_mi'] + r['val_ood_auroc_entropy']) / 2 for r in rows) / len(rows)


def choose_outliers(rows):
    """The outlier setting the validation rows choose, by the rule fixed before
    the runs (docs/RESULTS.md): among the baseline (`none`) and the settings
    whose mean validation error is at most the baseline's + 0.2 pp and whose
    mean validation ECE is at most 2%, the highest mean over seeds of
    (AUROC MI + AUROC entropy) / 2 on the letters; a simpler setting
    (`Setting.simplicity`) within 0.005 of it is chosen instead.

    Args:
      rows: dicts with outlier_exposure, outlier_weight, (outlier_draws,
        outlier_disagreement,) seed, val_error, val_ece, val_ood_auroc_mi,
        val_ood_auroc_entropy; one setting must be `none`.

    Returns:
      the chosen `Setting`.

    Raises:
      ValueError: no `none` rows.
    """
    settings = _settings(rows)
    base = [rows_ for key, rows_ in settings.items() if key.kind == 'none']
    if not base:
        raise ValueError('choose_outliers: the rows need the baseline (outlier_exposure none)')
    limit = _mean(base[0], 'val_error') + _ERROR_SLACK
    eligible = [(key, _score(r)) for key, r in settings.items() if key.kind == 'none' or (
        _mean(r, 'val_error') <= limit + 1e-12 and _mean(r, 'val_ece') <= _MAX_ECE)]
    best = max(score for _, score in eligible)
    return next(key for key, score in eligible if score >= best - _TIE - 1e-12)


def render_ood_outliers(records):
    """One row per outlier setting: the means over its seeds, the score per
    seed, and the setting `choose_outliers` picks."""
    rec = records.get('ood_outlier_probe')
    if not rec:
        return '(no probe record: `docs/results/%s`)' % OUTLIER_PROBE
    chosen = choose_outliers(rec['rows'])
    rows = ['| outliers | lambda | draws R | gamma | seeds | validation error | validation ECE | '
            'AUROC on letters, MI | entropy | score by seed | chosen |',
            '|---|---|---|---|---|---|---|---|---|---|---|']
    for key, runs in _settings(rec['rows']).items():
        runs = sorted(runs, key=lambda r: r['seed'])
        none = key.kind == 'none'
        rows.append('| %s | %s | %s | %s | %s | %.2f%% | %.2f%% | %.3f | %.3f | %s | %s |' % (
            key.kind, '-' if none else '%g' % key.weight, '-' if none else key.draws,
            '-' if none else '%g' % key.disagreement, ', '.join(str(r['seed']) for r in runs),
            100 * _mean(runs, 'val_error'), 100 * _mean(runs, 'val_ece'),
            _mean(runs, 'val_ood_auroc_mi'), _mean(runs, 'val_ood_auroc_entropy'),
            ' / '.join('%.3f' % _score([r]) for r in runs), 'yes' if key == chosen else ''))
    return '\n'.join(rows)


def outlier_runs(records, setting):
    """seed -> (stem, record) of the `ood_runs` trained with the outliers of
    `setting` (a `Setting`, not `none`)."""
    out = {}
    for stem, run in sorted(records.get('ood_runs', {}).items()):
        protocol = run.get('protocol', {})
        if Setting.of(protocol) == setting != Setting.of({}):
            out[protocol['seed']] = (stem, run)
    return out


# What may differ between runs of "the same job" in `render_ood_seeds`:
# where things are, how they are shown, the seed, and the outliers.
_NOT_THE_JOB = frozenset(('seed', 'data_dir', 'output_dir', 'progress', 'resume', 'threads',
                          'device', 'max_seconds', 'keep_checkpoints', 'checkpoint_every',
                          'summary_every', 'ood_set', 'ood_data_dir') + OUTLIER_KEYS)


def _span(values, percent=False):
    scale, unit = (100.0, '%') if percent else (1.0, '')
    form = '%.2f' if percent else '%.3f'
    low, high = scale * min(values), scale * max(values)
    return (form + '-' + form + '%s') % (low, high, unit)


def _mean_span(values, percent=False):
    """`_span` of `values` and their mean: '0.880-0.910 (mean 0.895)'."""
    mean = sum(values) / len(values)
    return _span(values, percent) + (' (mean %.2f%%)' % (100 * mean) if percent else
                                     ' (mean %.3f)' % mean)


def render_ood_seeds(records):
    """The job's 10-epoch network over seeds, one row per outlier setting:
    `mnist-ood`'s record and the `ood_runs` whose options (their
    `protocol`) are its own but for the seed and the outliers; ranges and
    means over the seeds."""
    rec = records.get('mnist_ood')
    if not rec or 'letters' not in rec['sets']:
        return _NOT_RUN
    base = {k: v for k, v in rec.get('protocol', {}).items() if k not in _NOT_THE_JOB}
    groups = {}
    others = [r for _, r in sorted(records.get('ood_runs', {}).items()) if 'protocol' in r]
    for run in [rec] + others:
        protocol = run.get('protocol', {})
        if 'letters' not in run['sets'] or not {'test_error', 'ece'} <= set(run['metrics']) or \
                any(protocol.get(k) != v for k, v in base.items()):
            continue
        groups.setdefault(Setting.of(protocol), {})[protocol.get('seed', 0)] = run
    rows = ['| 10-epoch job | seeds | letters, AUROC of entropy | letters, AUROC of MI | test '
            'error | test ECE | other sets, worst AUROC (MI / entropy) |',
            '|---|---|---|---|---|---|---|']
    for setting, runs in sorted(groups.items(), key=lambda item: item[0].simplicity()):
        runs = [runs[seed] for seed in sorted(runs)]
        letters = [r['sets']['letters'] for r in runs]
        entropy = [s['auroc_entropy'] for s in letters]
        mi = [s['auroc_mi'] for s in letters]
        errors = [r['metrics']['test_error'] for r in runs]
        far = [s for r in runs for name, s in r['sets'].items() if name != 'letters']
        label = setting.flags() if setting.kind == 'none' else '`%s`' % setting.flags()
        rows.append('| %s | %s | %s | %s | %s | %s | %s |' % (
            label, ', '.join(str(r.get('protocol', {}).get('seed', 0)) for r in runs),
            _mean_span(entropy), _mean_span(mi), _mean_span(errors, percent=True),
            _span([r['metrics']['ece'] for r in runs], True),
            '%.3f / %.3f' % (min(s['auroc_mi'] for s in far),
                             min(s['auroc_entropy'] for s in far)) if far else '-'))
    return '\n'.join(rows)


def render_ood_third_party(records):
    """The job's 10-epoch networks on the sets others made, one row per
    outlier setting (simplest first): each such set's AUROC by MI and by
    entropy over the seeds, beside the letters' better of the two and the
    test error; then where each set came from."""
    rec = records.get('ood_third_party')
    if not rec:
        return '(no record: `probes/ood_third_party.json` is filed by hand)'
    names = sorted(rec['sources'])
    groups = {}
    for run in rec['runs']:
        groups.setdefault(Setting.of(run['protocol']), []).append(run)
    rows = ['| 10-epoch job | seeds | test error | %s | letters, better of MI and entropy |'
            % ' | '.join('%s, AUROC of MI | %s, AUROC of entropy' % (n, n) for n in names),
            '|---|---|---|%s---|' % ('---|---|' * len(names))]
    for setting, runs in sorted(groups.items(), key=lambda item: item[0].simplicity()):
        runs.sort(key=lambda r: r['protocol']['seed'])
        errors = [r['metrics']['test_error'] for r in runs]
        cells = [_mean_span([r['sets'][n][key] for r in runs])
                 for n in names for key in ('auroc_mi', 'auroc_entropy')]
        letters = [max(r['sets']['letters']['auroc_mi'], r['sets']['letters']['auroc_entropy'])
                   for r in runs]
        rows.append('| %s | %s | %s | %s | %s |' % (
            setting.flags() if setting.kind == 'none' else '`%s`' % setting.flags(),
            ', '.join(str(r['protocol']['seed']) for r in runs),
            _mean_span(errors, percent=True), ' | '.join(cells), _mean_span(letters)))
    rows.append('')
    rows += ['- `%s` (%d images): %s' % (n, rec['sources'][n]['images'],
                                         rec['sources'][n]['description']) for n in names]
    return '\n'.join(rows)
