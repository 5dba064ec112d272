"""tfbnn/reproduce/report_uci.py: the UCI tables, and the paired comparison of E."""
import math

import pytest

from tfbnn.internal.jsonio import write_json
from tfbnn.reproduce import report, report_uci


def _row(lls, rmses, lr=0.003, epochs=950):
    splits = [dict(split=k, test_ll=ll, rmse=r, train_seconds=1.0)
              for k, (ll, r) in enumerate(zip(lls, rmses))]
    return dict(rmse=sum(rmses) / len(rmses), rmse_se=0.1, test_ll=sum(lls) / len(lls),
                test_ll_se=0.05, seconds=60.0, splits=splits,
                choice=dict(learning_rate=lr, batch_size=32, noise_prior='none', prior_sigma=1.0,
                            epochs=epochs))


def _entry():
    return dict(chosen=_row([-1.0, -2.0, -3.0], [1.0, 2.0, 3.0]),
                epochs40=_row([-1.5, -2.0, -2.5], [1.5, 2.0, 2.0], lr=0.001, epochs=40))


def test_the_paired_difference_by_hand():
    # d = (0.5, 0, -0.5): mean 0, std (ddof 1) 0.5, se 0.5 / sqrt(3); better on split 0 only.
    mean, se, better, n = report_uci.paired_difference(_entry())
    assert mean == pytest.approx(0.0, abs=1e-12)
    assert se == pytest.approx(0.5 / math.sqrt(3), rel=1e-12)
    assert (better, n) == (1, 3)
    # RMSE: d = (-0.5, 0, 1), lower is better: split 0 only.
    mean, se, better, n = report_uci.paired_difference(_entry(), key='rmse')
    assert mean == pytest.approx(0.5 / 3, rel=1e-12)
    assert (better, n) == (1, 3)


def test_the_difference_pairs_splits_by_number_not_by_position():
    entry = _entry()
    entry['epochs40']['splits'].reverse()
    assert report_uci.paired_difference(entry)[:3] == report_uci.paired_difference(_entry())[:3]


def test_one_split_has_no_standard_error():
    entry = dict(chosen=_row([-1.0], [1.0]), epochs40=_row([-1.25], [1.0], epochs=40))
    record = dict(sets=dict(year=entry))
    assert report_uci.paired_difference(entry) == (0.25, None, 1, 1)
    assert '| +0.250 (one split) | 1 of 1 |' in report_uci.render_uci_other(
        dict(uci_other=record))


def test_the_other_sets_table_is_read_from_its_probe_record(tmp_path):
    assert 'not run yet' in report.render_results({})['uci_other']
    same = _row([-1.0, -2.0], [1.0, 2.0], epochs=40)
    record = dict(sets=dict(cpus=_entry(),
                            autoMPG=dict(chosen=same, epochs40=dict(same, note='same'))))
    record['descriptions'] = dict(cpus='209 processors', autoMPG='392 cars')
    (tmp_path / 'probes').mkdir()
    write_json(str(tmp_path / report_uci.UCI_OTHER), record)
    table = report.render_results(report.load_records(str(tmp_path)))['uci_other']
    assert ('| cpus | 0.003, 32, none, N(0, 1), 950 | 2.00 +- 0.10 | -2.00 +- 0.05 | 1.83 +- 0.10 '
            '| -2.00 +- 0.05 | +0.000 +- 0.289 | 1 of 3 |') in table
    same_row = [line for line in table.split('\n') if line.startswith('| autoMPG |')]
    assert same_row == ['| autoMPG | 0.003, 32, none, N(0, 1), 40 | 1.50 +- 0.10 | -1.50 +- 0.05 '
                        '| 1.50 +- 0.10 | -1.50 +- 0.05 | 0 (the same runs) | - |']
    assert table.endswith('\n\n- `autoMPG`: 392 cars\n- `cpus`: 209 processors')
    # A probe is filed by hand: `report` never copies one from --out.
    out = tmp_path / 'out'
    (out / 'probes').mkdir(parents=True)
    write_json(str(out / report_uci.UCI_OTHER), record)
    assert report.collect_records(str(out), str(tmp_path / 'results')) == {}


def test_rows_scored_on_other_splits_are_refused():
    entry = _entry()
    entry['epochs40']['splits'].pop()
    with pytest.raises(ValueError, match=r'same splits, got \[0, 1, 2\] and \[0, 1\]'):
        report_uci.paired_difference(entry)
    entry = _entry()
    entry['chosen']['splits'] = []
    with pytest.raises(ValueError, match='same splits'):
        report_uci.paired_difference(entry)
