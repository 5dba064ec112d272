"""The UCI protocol's selection table: the one-standard-error rule and the
compact form the record keeps it in.

In memory the table is a list of rows, one per (candidate, scored epoch E):
learning_rate, batch_size, noise_prior, prior_sigma, epochs (E), val_ll (the
mean over the selection splits), val_ll_se, splits (how many scored it) and
val_ll_splits (each split's score, in split order).

The record keeps one curve per candidate instead (`to_curves`): the
candidate's values once, its scored epochs once, and each split's scores
over those epochs, rounded to `DECIMALS` places (10^-4 nats is far below any
difference the rule can resolve); `to_rows` gives the rows back, mean and
standard error recomputed. A boston record of 800 rows of 10 splits took
0.6 MB as rows and takes about a tenth of that as curves.
"""
import numpy as np

__all__ = ['DEFAULT_PRIOR_SIGMA', 'EMPIRICAL_BAYES', 'DECIMALS', 'prior_value', 'prior_text',
           'mean_and_se', 'plus_minus', 'paired_se', 'one_se_choice', 'to_curves', 'to_rows']

DEFAULT_PRIOR_SIGMA = 1.0
# A candidate's weight prior is the stddev of N(0, stddev^2), or this: N(0, s^2)
# with s fitted to each weight tensor (`tfbnn.priors.empirical_bayes_normal`).
EMPIRICAL_BAYES = 'eb'
DECIMALS = 4
_CANDIDATE = ('learning_rate', 'batch_size', 'noise_prior', 'prior_sigma')


def prior_value(value):
    """A candidate's weight prior: a positive stddev (float) or `EMPIRICAL_BAYES`.

    Raises:
      ValueError: anything else.
    """
    if isinstance(value, str) and value.strip().lower() == EMPIRICAL_BAYES:
        return EMPIRICAL_BAYES
    try:
        stddev = float(value)
    except (TypeError, ValueError):
        stddev = float('nan')
    if isinstance(value, bool) or not 0 < stddev < float('inf'):
        raise ValueError('a weight prior is a positive stddev or %r, got %r'
                         % (EMPIRICAL_BAYES, value))
    return stddev


def prior_text(value):
    """'N(0, 0.3)' or 'empirical Bayes': a candidate's weight prior for people."""
    return 'empirical Bayes' if value == EMPIRICAL_BAYES else 'N(0, %g)' % value


def mean_and_se(values):
    """(mean, standard error = std / sqrt(n), ddof=1) of a list of numbers;
    the error is None for a single number (a set with one split: year)."""
    values = np.asarray(values, np.float64)
    if values.size < 2:
        return float(values.mean()), None
    return float(values.mean()), float(values.std(ddof=1) / np.sqrt(values.size))


def plus_minus(value, se):
    """'-2.58 +- 0.06', or '-2.58 (one split)' without a standard error."""
    return '%.2f (one split)' % value if se is None else '%.2f +- %.2f' % (value, se)


def paired_se(values, best):
    """Standard error of the mean of the per-split differences values - best.

    Every setting is scored on the same selection splits, and a split with
    hard validation rows is hard for every setting, so the difference
    between two settings varies far less over the splits than either
    setting's score does: its standard error, std(d, ddof=1) / sqrt(n) with
    d_k = values_k - best_k, is the one that says whether the data can tell
    the two apart. 0 for fewer than two splits (nothing to estimate).
    """
    d = np.asarray(values, np.float64) - np.asarray(best, np.float64)
    return float(d.std(ddof=1) / np.sqrt(d.size)) if d.size > 1 else 0.0


def one_se_choice(table, num_splits):
    """The simplest row within one paired standard error of the best mean val_ll.

    A row r is close to the best row b when mean(r) >= mean(b) - SE(r - b),
    the standard error of their per-split differences (`paired_se`). Among
    the close rows the fewest epochs win, then no noise prior, then the
    N(0, 1) weight prior, then the smaller step, then the larger batch.

    Args:
      table: rows (see the module's docstring).
      num_splits: rows scored on fewer splits are left out.
    """
    complete = [r for r in table if r['splits'] == num_splits]
    best = max(complete, key=lambda r: r['val_ll'])
    close = [r for r in complete if r['val_ll'] >= best['val_ll'] - paired_se(
        r['val_ll_splits'], best['val_ll_splits'])]
    return min(close, key=lambda r: (
        r['epochs'], r['noise_prior'] != 'none',
        r.get('prior_sigma', DEFAULT_PRIOR_SIGMA) != DEFAULT_PRIOR_SIGMA,
        r['learning_rate'], -r['batch_size']))


def _row(candidate, epochs, scores):
    """The table row of a candidate (lr, batch, noise, prior stddev) at E =
    `epochs` from the scores of the splits that scored it (in split order)."""
    mean, se = mean_and_se(scores)
    return dict(zip(_CANDIDATE, candidate), epochs=epochs, val_ll=mean,
                val_ll_se=se if len(scores) > 1 else None, splits=len(scores),
                val_ll_splits=list(scores))


def to_curves(scores, num_splits):
    """The record's form of a selection: one curve per candidate.

    Args:
      scores: {(lr, batch, noise, prior stddev): [{epoch: score} per split]}.
      num_splits: the selection splits (a split missing from a candidate's
        list scored nothing).

    Returns:
      [{learning_rate, batch_size, noise_prior, prior_sigma, epochs: [E...],
      val_ll_by_split: [[score or None for each E] for each split]}], sorted
      by candidate; scores rounded to `DECIMALS` places.
    """
    curves = []
    # (str: a prior is a number or EMPIRICAL_BAYES, which do not compare)
    for key, per_split in sorted(scores.items(), key=lambda kv: kv[0][:3] + (str(kv[0][3]),)):
        per_split = list(per_split) + [{}] * (num_splits - len(per_split))
        epochs = sorted(set().union(*per_split))
        curves.append(dict(zip(_CANDIDATE, key), epochs=epochs, val_ll_by_split=[
            [None if s.get(e) is None else round(float(s[e]), DECIMALS) for e in epochs]
            for s in per_split]))
    return curves


def to_rows(selection):
    """The table rows of a record's selection: from curves (`to_curves`) or,
    as records made before 2026-12-04 kept them, rows (returned as they are,
    with the N(0, 1) prior filled in where a row predates the prior stddev)."""
    rows = []
    for entry in selection:
        if 'val_ll_by_split' not in entry:
            rows.append(dict(entry, prior_sigma=entry.get('prior_sigma', DEFAULT_PRIOR_SIGMA)))
            continue
        candidate = tuple(entry[k] for k in _CANDIDATE)
        for i, epochs in enumerate(entry['epochs']):
            scores = [s[i] for s in entry['val_ll_by_split'] if s[i] is not None]
            if scores:
                rows.append(_row(candidate, epochs, scores))
    return rows
