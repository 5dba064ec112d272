"""RESULTS.md's UCI tables, rendered from their records.

  uci        the `uci` record: each set's test RMSE and log-likelihood at the
             stopping epoch chosen on validation and at E = 40, beside the
             published methods.
  uci_other  `probes/uci_other_sets.json`, filed by hand: the same protocol on
             sets it was not developed on (`benchmarks/make_uci_sets.py`), and
             whether choosing E beat the fixed E = 40 there, split by split;
             the record's `descriptions` (set -> text) are listed below.

The comparison of the two rows of a set is paired: both are scored on the
same test splits (20 in the protocol), so the difference d_k = LL_chosen,k - LL_40,k is
averaged, with standard error std(d, ddof=1) / sqrt(n).
"""
import numpy as np

from tfbnn.reproduce import paper, selection, uci

__all__ = ['UCI_OTHER', 'render_uci', 'render_uci_other', 'paired_difference']

# The hand-filed record of the protocol on other sets, relative to docs/results/.
UCI_OTHER = 'probes/uci_other_sets.json'


def _choice_text(entry):
    ch = entry['chosen']['choice']
    return '%g, %d, %s, %s, %d' % (
        ch['learning_rate'], ch['batch_size'], ch.get('noise_prior', 'none'),
        selection.prior_text(ch.get('prior_sigma', selection.DEFAULT_PRIOR_SIGMA)),
        ch['epochs'])


def _name(name, entry):
    hidden = entry.get('hidden', uci.HIDDEN_UNITS)  # records before n_hidden.txt: 50
    return name if hidden == uci.HIDDEN_UNITS else '%s (%d hidden units)' % (name, hidden)


def render_uci(records):
    """The `uci` record beside the published methods, one row per set.

    Args:
      records: name -> record, as `tfbnn.reproduce.report.load_records` gives them.

    Returns:
      The markdown table, or a line saying how to make the record.
    """
    if 'uci' not in records:
        return '(not run yet: `python scripts/reproduce.py uci`)'
    rows = ['| set | tfbnn, E chosen: RMSE | test LL | tfbnn, E = 40: RMSE | test LL | VI: RMSE '
            '| test LL | PBP: RMSE | test LL | MC dropout: RMSE | test LL '
            '| chosen (lr, batch, noise prior, weight prior, E) |',
            '|---|---|---|---|---|---|---|---|---|---|---|---|']
    pm = selection.plus_minus
    for name, s in records['uci']['sets'].items():
        ref = paper.UCI_TABLE.get(name, {})
        c, f = s['chosen'], s['epochs40']
        cells = [pm(c['rmse'], c['rmse_se']), pm(c['test_ll'], c['test_ll_se']),
                 pm(f['rmse'], f['rmse_se']), pm(f['test_ll'], f['test_ll_se'])]
        for m in paper.UCI_METHODS:
            cells += ([pm(ref[m][0], ref[m][1]), pm(ref[m][2], ref[m][3])] if m in ref
                      else ['', ''])
        rows.append('| %s | %s | %s |' % (_name(name, s), ' | '.join(cells), _choice_text(s)))
    return '\n'.join(rows)


def paired_difference(entry, key='test_ll'):
    """Mean and paired standard error of chosen - (E = 40) over the test splits,
    and the number of splits on which the chosen row is better (higher LL,
    lower RMSE), out of how many.

    Args:
      entry: one set of a `uci` record: its 'chosen' and 'epochs40' rows, each
        with the per-split scores under 'splits'.
      key: 'test_ll' or 'rmse'.

    Returns:
      (mean, se, better, n); se is None for one split, and the difference is
      0 on every split when both rows are the same choice.

    Raises:
      ValueError: the two rows were not scored on the same splits.
    """
    fixed = {r['split']: r[key] for r in entry['epochs40']['splits']}
    chosen = {r['split']: r[key] for r in entry['chosen']['splits']}
    if not chosen or set(chosen) != set(fixed):
        raise ValueError('the chosen and E = 40 rows must be scored on the same splits, got %s '
                         'and %s' % (sorted(chosen), sorted(fixed)))
    d = np.array([chosen[k] - fixed[k] for k in sorted(chosen)])
    mean, se = selection.mean_and_se(d)
    better = int(np.sum(d > 0) if key == 'test_ll' else np.sum(d < 0))
    return mean, se, better, int(d.size)


def render_uci_other(records):
    """The protocol on sets it was not developed on: the chosen E against E = 40.

    Args:
      records: name -> record, as `tfbnn.reproduce.report.load_records` gives them.

    Returns:
      The markdown table and the sets' descriptions, or a line saying how to
      make the record.
    """
    record = records.get('uci_other')
    if record is None:
        return ('(not run yet: `benchmarks/make_uci_sets.py`, then `reproduce.py uci --sets ...` '
                'filed as %s)' % UCI_OTHER)
    rows = ['| set | chosen (lr, batch, noise prior, weight prior, E) | E chosen: RMSE | test LL '
            '| E = 40: RMSE | test LL | test LL, chosen - (E = 40), paired '
            '| splits where chosen is better (LL) |',
            '|---|---|---|---|---|---|---|---|']
    pm = selection.plus_minus
    for name, s in record['sets'].items():
        c, f = s['chosen'], s['epochs40']
        mean, se, better, n = paired_difference(s)
        if f.get('note'):  # the same choice at 40 epochs: the same runs
            diff, better_text = '0 (the same runs)', '-'
        else:
            diff = '%+.3f (one split)' % mean if se is None else '%+.3f +- %.3f' % (mean, se)
            better_text = '%d of %d' % (better, n)
        rows.append('| %s | %s | %s | %s | %s | %s | %s | %s |' % (
            _name(name, s), _choice_text(s), pm(c['rmse'], c['rmse_se']),
            pm(c['test_ll'], c['test_ll_se']), pm(f['rmse'], f['rmse_se']),
            pm(f['test_ll'], f['test_ll_se']), diff, better_text))
    described = record.get('descriptions', {})
    if described:  # what each set is and where it came from, filed with the record
        rows.append('')
        rows += ['- `%s`: %s' % (name, text) for name, text in sorted(described.items())]
    return '\n'.join(rows)
