"""RESULTS.md's out-of-distribution tables, rendered from their records.

  ood          the `mnist-ood` record: each set's AUROCs and the test error.
  ood_letters  the same record's `letters` set, letter by letter: its AUROCs
               and the digit the network takes it for most often.
  ood_probe    `probes/ood_letters_validation.json`, filed by hand: the job's
               settings against the letters made from validation images.
  ood_runs     `probes/ood_run_*.json`, filed by hand: other finished MNIST
               runs scored on the same sets (`mnist-ood --run`).
"""
__all__ = ['FIGURE', 'OOD_PROBE', 'OOD_RUN_PROBES', 'render_ood', 'render_ood_letters', 'render_ood_probe',
           'render_ood_runs']

# `mnist-ood`'s examples of every set scored, beside its ood.json.
FIGURE = 'ood_sets.png'
# The hand-filed probe records, relative to docs/results/ (never copied from --out).
OOD_PROBE = 'probes/ood_letters_validation.json'
OOD_RUN_PROBES = 'probes/ood_run_*.json'
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
