"""tfbnn/reproduce/selection.py: the one-standard-error rule and the record's
compact form of the selection table."""
import json

import numpy as np
import pytest

from tfbnn.internal.jsonio import dumps
from tfbnn.reproduce import selection
from tfbnn.reproduce.selection import one_se_choice, paired_se


def test_mean_and_standard_error():
    values = [1.0, 2.0, 4.0, 7.0]
    mean, se = selection.mean_and_se(values)
    assert mean == 3.5
    assert se == pytest.approx(np.std(values, ddof=1) / 2.0)


def _row(epochs, per_split, noise='none', lr=1e-2, batch=32, prior_sigma=1.0):
    return dict(learning_rate=lr, batch_size=batch, noise_prior=noise, epochs=epochs,
                prior_sigma=prior_sigma, val_ll=float(np.mean(per_split)),
                val_ll_splits=list(per_split), splits=len(per_split))


def test_paired_standard_error_against_hand_values():
    # d = (0.1, -0.1, 0.3, 0.1): mean 0.1, std (ddof=1) sqrt(0.08 / 3), SE that / 2.
    assert paired_se([1.1, 0.9, 1.3, 1.1], [1.0, 1.0, 1.0, 1.0]) == pytest.approx(
        np.sqrt(0.08 / 3) / 2)
    # A constant offset is told apart perfectly; one split estimates nothing.
    assert paired_se([1.5, 2.5, 3.5], [1.0, 2.0, 3.0]) == pytest.approx(0.0)
    assert paired_se([1.0], [2.0]) == 0.0


def test_one_se_rule_takes_the_simplest_setting_close_to_the_best():
    base = np.array([-2.4, -2.6, -2.5, -2.3, -2.7])  # mean -2.50; the splits differ a lot
    noise = np.array([0.02, -0.02, 0.01, -0.01, 0.0])
    table = [_row(200, base), _row(40, base - 0.03 + noise), _row(20, base - 0.10),
             _row(40, base - 0.02 + noise, noise='gamma')]
    # Paired SEs: the 40-epoch rows differ from the best by -0.03 / -0.02 +- sqrt(0.001 / 4)
    # / sqrt(5) = 0.0071, so neither is close; the 20-epoch row's offset is exact (SE 0).
    assert paired_se(table[1]['val_ll_splits'], base) == pytest.approx(
        np.sqrt(0.001 / 4) / np.sqrt(5))
    assert one_se_choice(table, 5) == table[0]
    # Within one SE: the 40-epoch rows win over 200 epochs; fewest epochs, then no prior.
    table[1] = _row(40, base - 0.005 + noise)
    table[3] = _row(40, base - 0.004 + noise, noise='gamma')
    assert one_se_choice(table, 5) == table[1]
    table[1]['splits'] = 4  # scored on fewer splits: left out
    assert one_se_choice(table, 5) == table[3]
    # The unpaired SE of the best's mean, sqrt(0.025) / sqrt(5) = 0.071 here, would have
    # let the first 40-epoch row (0.03 below the best) in.
    assert selection.mean_and_se(base)[1] == pytest.approx(np.sqrt(0.025 / 5))
    # Then the N(0, 1) prior before a narrower one; a narrower prior wins when it is
    # the only setting close to the best.
    table = [_row(40, base, prior_sigma=0.3), _row(40, base - 0.005 + noise)]
    assert one_se_choice(table, 5) == table[1]
    table[1] = _row(40, base - 0.05 + noise)
    assert one_se_choice(table, 5) == table[0]




def test_curves_keep_each_splits_scores_and_give_the_rows_back():
    scores = {(3e-3, 32, 'none', 1.0): [{10: -2.51234567, 20: -2.4}, {10: -2.6, 20: -2.45}],
              # the second split stopped before epoch 20; a third split scored nothing
              (1e-3, 32, 'gamma', 0.3): [{10: -2.7, 20: -2.5}, {10: -2.8}]}
    curves = selection.to_curves(scores, num_splits=3)
    assert curves == [
        dict(learning_rate=1e-3, batch_size=32, noise_prior='gamma', prior_sigma=0.3,
             epochs=[10, 20], val_ll_by_split=[[-2.7, -2.5], [-2.8, None], [None, None]]),
        dict(learning_rate=3e-3, batch_size=32, noise_prior='none', prior_sigma=1.0,
             epochs=[10, 20], val_ll_by_split=[[-2.5123, -2.4], [-2.6, -2.45],
                                               [None, None]])]
    rows = selection.to_rows(json.loads(dumps(curves)))  # as read back from a record
    by_key = {(r['learning_rate'], r['epochs']): r for r in rows}
    assert len(rows) == 4
    row = by_key[(3e-3, 10)]
    assert row['val_ll_splits'] == [-2.5123, -2.6] and row['splits'] == 2
    assert row['val_ll'] == pytest.approx(-2.55615)
    # std (ddof=1) of two numbers is |a - b| / sqrt(2); over sqrt(2): |a - b| / 2.
    assert row['val_ll_se'] == pytest.approx(0.0877 / 2)
    assert (row['noise_prior'], row['prior_sigma'], row['batch_size']) == ('none', 1.0, 32)
    # A row scored by one split has no standard error.
    assert by_key[(1e-3, 20)]['val_ll_se'] is None and by_key[(1e-3, 20)]['splits'] == 1
    assert by_key[(1e-3, 20)]['val_ll'] == -2.5


def test_rows_of_an_older_record_are_read_as_they_are():
    old = [dict(learning_rate=3e-3, batch_size=32, noise_prior='none', epochs=40,
                val_ll=-2.6, val_ll_se=0.1, splits=6, val_ll_splits=[-2.6] * 6)]
    assert selection.to_rows(old) == [dict(old[0], prior_sigma=1.0)]
    # the rule runs on them
    assert one_se_choice(selection.to_rows(old), 6)['epochs'] == 40

