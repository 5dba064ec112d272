"""tfbnn/reproduce/uci.py: the protocol on a tiny fixture."""
import json
import os
import re

import numpy as np
import pytest

from tfbnn.errors import ConfigError, DataError
from tfbnn.internal.jsonio import read_json
from tfbnn.reproduce import runner, selection, uci, uci_sets


def _fixture(folder, splits=2, rows=60, seed=0):
    rng = np.random.RandomState(seed)
    os.makedirs(folder)
    x = rng.randn(rows, 2)
    y = 3.0 * x[:, 0] + 0.2 * rng.randn(rows)
    np.savetxt(os.path.join(folder, 'data.txt'), np.column_stack([x, y]))
    np.savetxt(os.path.join(folder, 'index_features.txt'), [0, 1], fmt='%d')
    np.savetxt(os.path.join(folder, 'index_target.txt'), [2], fmt='%d')
    for k in range(splits):
        perm = rng.permutation(rows)
        np.savetxt(os.path.join(folder, 'index_train_%d.txt' % k), perm[:54], fmt='%d')
        np.savetxt(os.path.join(folder, 'index_test_%d.txt' % k), perm[54:], fmt='%d')


def test_protocol_on_a_tiny_set(tmp_path):
    data = tmp_path / 'data'
    _fixture(str(data / 'toyset'))
    record = uci.reproduce_uci(str(data), str(tmp_path / 'out'), lambda line: None,
                               sets=['toyset'], select_splits=1, num_splits=2,
                               candidates=((1e-2, 16, 'none'), (1e-3, 16, 'gamma', 0.3),
                                           (1e-3, 16, 'none', 'eb')),
                               max_epochs=4, validate_every=2, fixed_epochs=4)
    assert read_json(str(tmp_path / 'out' / 'uci.json')) == json.loads(json.dumps(record))
    # The selection figure is drawn beside the record.
    with open(str(tmp_path / 'out' / uci.SELECTION_FIGURE), 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert not os.path.exists(str(tmp_path / 'out' / uci.SELECTION_FIGURE) + '.tmp')
    result = record['sets']['toyset']
    # One curve per candidate: its scored epochs, the one split's scores over them.
    assert [(c['learning_rate'], c['noise_prior'], c['prior_sigma'], c['epochs'],
             len(c['val_ll_by_split']), len(c['val_ll_by_split'][0]))
            for c in result['selection']] == [(1e-3, 'gamma', 0.3, [2, 4], 1, 2),
                                              (1e-3, 'none', 'eb', [2, 4], 1, 2),
                                              (1e-2, 'none', 1.0, [2, 4], 1, 2)]
    # ... which are the run's validation scores, rounded.
    history = read_json(os.path.join(str(tmp_path / 'out' / 'toyset' / 'select'),
                                     'lr0.01_b16_none_split0', 'history.json'))
    assert result['selection'][2]['val_ll_by_split'][0] == [
        round(v, selection.DECIMALS) for v in history['val_ll'] if v is not None]
    assert record['protocol']['candidates'] == [[1e-2, 16, 'none', 1.0], [1e-3, 16, 'gamma', 0.3],
                                                [1e-3, 16, 'none', 'eb']]
    # The prior stddev reaches the run; an N(0, 1) run keeps its old folder name.
    narrow = read_json(os.path.join(str(tmp_path / 'out' / 'toyset' / 'select'),
                                    'lr0.001_b16_gamma_prior0.3_split0', 'config.json'))
    assert narrow['prior_sigma'] == 0.3 and narrow['noise_prior'] == 'gamma'
    assert narrow['prior'] == 'normal'
    fitted = read_json(os.path.join(str(tmp_path / 'out' / 'toyset' / 'select'),
                                    'lr0.001_b16_none_prioreb_split0', 'config.json'))
    assert fitted['prior'] == 'empirical_bayes'
    choice = result['chosen']['choice']
    test_run = read_json(os.path.join(str(tmp_path / 'out' / 'toyset' / 'test'), '%s_e%d' % (
        uci._run_name(choice['learning_rate'], choice['batch_size'], choice['noise_prior'],
                      choice['prior_sigma'], 50), choice['epochs']), 'split0', 'config.json'))
    assert test_run['prior_sigma'] == result['chosen']['choice']['prior_sigma']
    # One selection split: no standard error, so the best row itself.
    best = max(selection.to_rows(result['selection']), key=lambda r: r['val_ll'])
    assert result['chosen']['choice'] == best
    assert result['epochs40']['choice']['epochs'] == 4
    chosen = result['chosen']
    assert len(chosen['splits']) == 2
    mean, se = selection.mean_and_se([s['test_ll'] for s in chosen['splits']])
    assert chosen['test_ll'] == mean and chosen['test_ll_se'] == se
    assert all(np.isfinite(s['rmse']) and s['rmse'] > 0 for s in chosen['splits'])
    # The selection runs never evaluated the test rows.
    metrics = read_json(os.path.join(str(tmp_path / 'out' / 'toyset' / 'select'),
                                     'lr0.01_b16_none_split0', 'metrics.json'))
    assert 'rmse' not in metrics and 'val_ll' in metrics
    # The selection's training time is every selection run's, kept with the set.
    select_dir = str(tmp_path / 'out' / 'toyset' / 'select')
    runs = [os.path.join(select_dir, d) for d in os.listdir(select_dir)
            if os.path.isdir(os.path.join(select_dir, d))]
    assert len(runs) == 3
    # Beside each run, the hidden lock its reuse held.
    assert sorted(os.listdir(select_dir)) == sorted(
        [os.path.basename(r) for r in runs] + ['.%s.lock' % os.path.basename(r) for r in runs])
    assert result['select_seconds'] == pytest.approx(sum(runner.history_seconds(r) for r in runs))
    assert result['select_seconds'] > 0


def test_missing_set_folder(tmp_path):
    with pytest.raises(DataError, match=r'no folder for yacht \(it has no set folders\)'):
        uci.reproduce_uci(str(tmp_path), str(tmp_path / 'out'), print, sets=['yacht'])
    _fixture(str(tmp_path / 'energy'))
    _fixture(str(tmp_path / 'concrete'))
    with pytest.raises(DataError, match=r'no folder for yacht \(it has concrete, energy\)'):
        uci.reproduce_uci(str(tmp_path), str(tmp_path / 'out'), print, sets=['energy', 'yacht'])
    with pytest.raises(DataError, match=r'nothere: no folder for yacht \(no such folder\)'):
        uci.reproduce_uci(str(tmp_path / 'nothere'), str(tmp_path / 'out'), print,
                          sets=['yacht'])


def test_epochs_must_be_scored(tmp_path):
    _fixture(str(tmp_path / 'd' / 's'))
    with pytest.raises(ValueError, match='must be multiples of validate_every'):
        uci.reproduce_uci(str(tmp_path / 'd'), str(tmp_path / 'out'), print, sets=['s'],
                          max_epochs=5, validate_every=2)


def test_a_candidate_without_its_prior_stddev_has_the_standard_prior():
    assert uci.candidate((3e-3, 32, 'none')) == (3e-3, 32, 'none', 1.0)
    assert uci.candidate([3e-3, 32, 'gamma', 0.3]) == (3e-3, 32, 'gamma', 0.3)
    with pytest.raises(ValueError, match='a UCI candidate is'):
        uci.candidate((3e-3, 32))


def test_prior_stddevs_cross_the_grid():
    assert uci.with_prior_stddevs(uci.CANDIDATES[:2], ['1', '0.3']) == (
        (3e-3, 32, 'none', 1.0), (3e-3, 32, 'none', 0.3), (3e-3, 32, 'gamma', 1.0),
        (3e-3, 32, 'gamma', 0.3))
    # Each (step, batch, noise) once: a grid's N(0, 1) and 'eb' twins become one.
    twins = ((3e-3, 32, 'none'), (1e-3, 32, 'none'), (3e-3, 32, 'none', 'eb'),
             (1e-3, 32, 'none', 0.3))
    assert uci.with_prior_stddevs(twins, [1]) == ((3e-3, 32, 'none', 1.0),
                                                  (1e-3, 32, 'none', 1.0))
    # 'eb': the empirical Bayes prior, in any case
    assert uci.with_prior_stddevs(uci.CANDIDATES[:1], ['1', 'EB']) == (
        (3e-3, 32, 'none', 1.0), (3e-3, 32, 'none', 'eb'))
    for bad in ([], [1.0, 1.0], ['eb', 'eb']):
        with pytest.raises(ValueError, match='prior stddevs must be distinct'):
            uci.with_prior_stddevs(uci.CANDIDATES, bad)
    for bad in ([0.0], ['x'], [float('inf')], [True]):
        with pytest.raises(ValueError, match="a weight prior is a positive stddev or 'eb'"):
            uci.with_prior_stddevs(uci.CANDIDATES, bad)


def test_a_set_with_fewer_splits_uses_them_all(tmp_path):
    data = tmp_path / 'data'
    _fixture(str(data / 'small'), splits=2)
    lines = []
    record = uci.reproduce_uci(str(data), str(tmp_path / 'out'), lines.append,
                               sets=['small'], select_splits=3, num_splits=20,
                               candidates=((1e-2, 16, 'none'),), max_epochs=2,
                               validate_every=2, fixed_epochs=2)
    assert len(record['sets']['small']['chosen']['splits']) == 2
    assert any('2 splits in' in line for line in lines)
    os.makedirs(str(data / 'empty'))
    with pytest.raises(DataError, match='not a set in the UCI split format'):
        uci.reproduce_uci(str(data), str(tmp_path / 'out'), print, sets=['empty'])


def test_epochs_follow_from_the_step_budget(tmp_path):
    # 60 rows -> 54 training rows in the fixture; 54 - round(0.2 * 54) = 43 selection rows.
    _fixture(str(tmp_path / 's'))
    # batch 16: ceil(43 / 16) = 3 steps an epoch; 600 steps -> 200 epochs.
    assert uci.epochs_for(str(tmp_path / 's'), 16, step_budget=600) == 200
    # 601 steps -> 200.33 epochs, up to the next multiple of 10.
    assert uci.epochs_for(str(tmp_path / 's'), 16, step_budget=601) == 210
    # Clipped to [fixed_epochs, cap].
    assert uci.epochs_for(str(tmp_path / 's'), 16, step_budget=3) == uci.FIXED_EPOCHS
    assert uci.epochs_for(str(tmp_path / 's'), 1, step_budget=10 ** 6) == uci.EPOCH_CAP
    # The same split written on one line (load_uci reads it alike) counts the same rows.
    path = tmp_path / 's' / 'index_train_0.txt'
    path.write_text(', '.join(path.read_text().split()))
    assert uci.epochs_for(str(tmp_path / 's'), 16, step_budget=600) == 200


def test_sets_run_by_two_processes_land_in_one_record(tmp_path):
    data = tmp_path / 'data'
    for name in ('a', 'b'):
        _fixture(str(data / name), splits=1)
    kwargs = dict(select_splits=1, num_splits=1, candidates=((1e-2, 16, 'none'),),
                  max_epochs=2, validate_every=2, fixed_epochs=2)
    out = str(tmp_path / 'out')
    uci.reproduce_uci(str(data), out, print, sets=['b'], **kwargs)
    record = uci.reproduce_uci(str(data), out, print, sets=['a'], **kwargs)
    assert sorted(record['sets']) == ['a', 'b']
    assert read_json(os.path.join(out, 'uci.json')) == json.loads(json.dumps(record))
    # Under another protocol, a run that would drop b is refused before it starts.
    before = read_json(os.path.join(out, 'uci.json'))
    with pytest.raises(ConfigError, match=r'^uci: %s holds b, recorded under another protocol '
                                          r'\(candidates .* which this run would drop: give '
                                          r'another --out, or add b to --sets'
                                          % re.escape(os.path.join(out, 'uci.json'))):
        uci.reproduce_uci(str(data), out, print, sets=['a'],
                          **dict(kwargs, candidates=((3e-3, 16, 'none'),)))
    assert read_json(os.path.join(out, 'uci.json')) == before
    # Both run again under the new protocol: the record is theirs.
    record = uci.reproduce_uci(str(data), out, print, sets=['a', 'b'],
                               **dict(kwargs, candidates=((3e-3, 16, 'none'),)))
    assert sorted(record['sets']) == ['a', 'b']
    assert record['protocol']['candidates'][0][0] == 3e-3
    # The data folder spelled otherwise is no other protocol: b is kept.
    record = uci.reproduce_uci(str(data) + os.sep, out, print, sets=['a'],
                               **dict(kwargs, candidates=((3e-3, 16, 'none'),)))
    assert sorted(record['sets']) == ['a', 'b']


def test_a_changed_grid_that_chooses_otherwise_trains_new_test_runs(tmp_path):
    """The test runs of each choice have their own folder: rerunning under a grid
    whose choice differs trains new runs (it used to try to resume the old
    choice's runs with other options), and the old choice's runs are kept."""
    data = tmp_path / 'data'
    _fixture(str(data / 'toyset'), splits=1)
    kwargs = dict(sets=['toyset'], select_splits=1, num_splits=1, max_epochs=2,
                  validate_every=2, fixed_epochs=2)
    out = str(tmp_path / 'out')
    first = uci.reproduce_uci(str(data), out, print, candidates=((1e-2, 16, 'none'),),
                              **kwargs)
    second = uci.reproduce_uci(str(data), out, print, candidates=((1e-3, 16, 'none'),),
                               **kwargs)
    assert first['sets']['toyset']['chosen']['choice']['learning_rate'] == 1e-2
    assert second['sets']['toyset']['chosen']['choice']['learning_rate'] == 1e-3
    assert sorted(os.listdir(os.path.join(out, 'toyset', 'test'))) == [
        'lr0.001_b16_none_e2', 'lr0.01_b16_none_e2']


def test_the_hidden_width_comes_from_the_sets_n_hidden_file(tmp_path):
    data = tmp_path / 'data'
    _fixture(str(data / 'wide'))
    _fixture(str(data / 'plain'), seed=1)
    assert uci.hidden_units(str(data / 'plain')) == uci.HIDDEN_UNITS == 50
    (data / 'wide' / 'n_hidden.txt').write_text('3\n')
    assert uci.hidden_units(str(data / 'wide')) == 3
    assert uci.base_options(str(data / 'wide'), hidden=3)['hidden'] == [3]
    lines = []
    record = uci.reproduce_uci(str(data), str(tmp_path / 'out'), lines.append,
                               sets=['wide', 'plain'], select_splits=1, num_splits=1,
                               candidates=((1e-2, 16, 'none'),), max_epochs=2,
                               validate_every=2, fixed_epochs=2)
    assert record['sets']['wide']['hidden'] == 3 and record['sets']['plain']['hidden'] == 50
    assert 'uci wide: 3 hidden units (n_hidden.txt); candidates train for up to 2 epochs' in lines
    for name, width in (('wide', 3), ('plain', 50)):
        for stage in ('select', 'test'):
            folder = str(tmp_path / 'out' / name / stage)
            runs = [r for r, _, files in os.walk(folder) if 'config.json' in files]
            for run in runs:  # a width other than 50 is in the run's name too
                assert read_json(os.path.join(run, 'config.json'))['hidden'] == [width]
                assert ('_h3' in os.path.relpath(run, folder)) == (width == 3), run
            assert runs, (name, stage)


@pytest.mark.parametrize('text,width', [('100\r\n', 100), (' 7 ', 7), ('\ufeff12\n', 12)])
def test_n_hidden_files_as_written_by_other_tools(tmp_path, text, width):
    (tmp_path / 'n_hidden.txt').write_bytes(text.encode('utf-8'))
    assert uci.hidden_units(str(tmp_path)) == width


@pytest.mark.parametrize('content,message', [
    (b'0', 'must hold one positive integer'), (b'fifty', 'must hold one positive integer'),
    (b'50 100', 'must hold one positive integer'), (b'', 'must hold one positive integer'),
    ('\u00b2'.encode('utf-8'), 'must hold one positive integer'),  # a digit to str.isdigit
    (b'\xff\xfe5\x000\x00', 'cannot read')])
def test_a_bad_n_hidden_file_is_refused_before_any_run(tmp_path, content, message):
    data = tmp_path / 'data'
    _fixture(str(data / 'good'))
    _fixture(str(data / 'bad'), seed=1)
    (data / 'bad' / 'n_hidden.txt').write_bytes(content)
    with pytest.raises(DataError, match='n_hidden.txt' + ('' if message == 'cannot read' else
                                                           ' ' + message)):
        uci.reproduce_uci(str(data), str(tmp_path / 'out'), print, sets=['good', 'bad'],
                          max_epochs=2, validate_every=2, fixed_epochs=2)
    assert not os.path.exists(str(tmp_path / 'out' / 'good'))


def test_a_set_in_gals_layout_with_one_split(tmp_path):
    from tfbnn.reproduce import figures, report
    data = tmp_path / 'data'
    _fixture(str(data / 'year' / 'data'), splits=1)  # DIR/NAME/data/data.txt
    lines = []
    record = uci.reproduce_uci(str(data), str(tmp_path / 'out'), lines.append, sets=['year'],
                               select_splits=10, num_splits=20,
                               candidates=((1e-2, 16, 'none'),), max_epochs=2,
                               validate_every=2, fixed_epochs=2)
    chosen = record['sets']['year']['chosen']
    assert len(chosen['splits']) == 1 and chosen['test_ll_se'] is None
    assert chosen['test_ll'] == chosen['splits'][0]['test_ll']
    assert any(line.startswith('uci year (chosen): RMSE %.2f (one split) | test LL %.2f (one '
                               'split) over 1 split' % (chosen['rmse'], chosen['test_ll']))
               for line in lines)
    with open(str(tmp_path / 'out' / 'uci.json')) as f:  # strict JSON: no NaN
        json.loads(f.read(), parse_constant=lambda name: pytest.fail('JSON holds ' + name))
    table = report.render_results(dict(uci=record))['uci']
    cells = (chosen['rmse'], chosen['test_ll'])
    assert '| year | %.2f (one split) | %.2f (one split) |' % cells in table
    figure = figures.uci_comparison(record, str(tmp_path / 'uci.png'))
    with open(figure, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'


def _remove(folder, *names):
    for name in names:
        os.remove(os.path.join(folder, name))


@pytest.mark.parametrize('change,message', [
    (lambda d: (d / 'n_splits.txt').write_text('4\n'),
     r'index_train_3.txt is missing \(n_splits.txt says 4 splits\)'),
    (lambda d: (d / 'n_splits.txt').write_text('2\n'),
     'n_splits.txt says 2 splits, but index_train_2.txt is there'),
    (lambda d: (d / 'n_splits.txt').write_text('three\n'),
     r'n_splits.txt must hold one positive integer \(the number of splits\)'),
    (lambda d: _remove(str(d), 'index_train_1.txt'),
     r'index_train_1.txt is missing \(splits run from 0 to 2\)'),
    (lambda d: _remove(str(d), 'index_test_2.txt'),
     r'index_test_2.txt is missing \(splits run from 0 to 2\)')])
def test_incomplete_splits_are_refused_before_any_run(tmp_path, change, message):
    data = tmp_path / 'data'
    _fixture(str(data / 'good'))
    _fixture(str(data / 'bad'), splits=3, seed=1)
    change(data / 'bad')
    with pytest.raises(DataError, match='bad(: |/)' + message):
        uci.reproduce_uci(str(data), str(tmp_path / 'out'), print, sets=['good', 'bad'],
                          max_epochs=2, validate_every=2, fixed_epochs=2)
    assert not os.path.exists(str(tmp_path / 'out' / 'good'))


def test_an_n_splits_file_that_matches_the_files_is_accepted(tmp_path):
    _fixture(str(tmp_path / 'toy'), splits=3)
    (tmp_path / 'toy' / 'n_splits.txt').write_text('3')
    assert uci.count_splits(str(tmp_path / 'toy')) == 3


def _put_row(folder, name, row):
    with open(os.path.join(folder, name), 'a') as f:
        f.write('%d\n' % row)


def _nan_in_a_test_row(folder):
    test_rows = np.loadtxt(os.path.join(folder, 'index_test_1.txt'), dtype=int)
    table = np.loadtxt(os.path.join(folder, 'data.txt'))
    table[test_rows[0], 1] = np.nan
    np.savetxt(os.path.join(folder, 'data.txt'), table)
    return 'non-finite value nan in data row %d, column 1' % test_rows[0]


@pytest.mark.parametrize('change', [
    lambda d: _put_row(d, 'index_train_1.txt', 60) or 'index_train_1.txt',
    lambda d: _put_row(d, 'index_test_1.txt', np.loadtxt(os.path.join(
        d, 'index_train_1.txt'), dtype=int)[0]) or 'rows are also in index_train_1.txt',
    _nan_in_a_test_row])
def test_a_bad_split_of_a_later_set_is_refused_before_any_run(tmp_path, change):
    data = tmp_path / 'data'
    _fixture(str(data / 'good'))
    _fixture(str(data / 'bad'), seed=1)  # split 0 is sound, split 1 is not
    message = change(str(data / 'bad'))
    with pytest.raises(DataError, match=message):
        uci.reproduce_uci(str(data), str(tmp_path / 'out'), print, sets=['good', 'bad'],
                          max_epochs=2, validate_every=2, fixed_epochs=2)
    assert not os.path.exists(str(tmp_path / 'out' / 'good'))


def test_every_selection_split_is_checked_before_any_run(tmp_path):
    data = tmp_path / 'data'
    _fixture(str(data / 'toy'), splits=3)
    _put_row(str(data / 'toy'), 'index_train_2.txt', 60)  # a selection split, not a test split
    with pytest.raises(DataError, match='index_train_2.txt'):
        uci.reproduce_uci(str(data), str(tmp_path / 'out'), print, sets=['toy'],
                          select_splits=3, num_splits=1, max_epochs=2, validate_every=2,
                          fixed_epochs=2)
    assert not os.path.exists(str(tmp_path / 'out' / 'toy'))


def test_splits_listed_in_sorted_order_are_named_in_the_log_and_the_record(tmp_path):
    data = tmp_path / 'data'
    _fixture(str(data / 'toy'), splits=3)
    folder = str(data / 'toy')
    assert uci_sets.check_splits(folder, 3) == []  # the fixture lists rows at random
    for k in (0, 2):
        train = np.loadtxt(os.path.join(folder, 'index_train_%d.txt' % k), dtype=int)
        np.savetxt(os.path.join(folder, 'index_train_%d.txt' % k), np.sort(train), fmt='%d')
    assert uci_sets.check_splits(folder, 3) == [0, 2]
    assert uci_sets.check_splits(folder, 2) == [0]
    lines = []
    record = uci.reproduce_uci(str(data), str(tmp_path / 'out'), lines.append, sets=['toy'],
                               select_splits=1, num_splits=3, candidates=((1e-2, 16, 'none'),),
                               max_epochs=2, validate_every=2, fixed_epochs=2)
    assert record['sets']['toy']['shuffled_splits'] == [0, 2]
    assert ("uci toy: splits 0, 2 list the training rows in sorted order: shuffled (seed: the "
            "split's number) before the validation rows are held out") in lines


def test_splits_beyond_the_protocols_count_are_not_read(tmp_path):
    _fixture(str(tmp_path / 'toy'), splits=3)
    _put_row(str(tmp_path / 'toy'), 'index_train_2.txt', 60)  # out of range, never used
    uci_sets.check_splits(str(tmp_path / 'toy'), 2)
    with pytest.raises(DataError, match='index_train_2.txt'):
        uci_sets.check_splits(str(tmp_path / 'toy'), 3)


def test_a_selection_split_too_small_to_hold_out_from_is_refused_before_any_run(tmp_path):
    """Two training rows: 20% of them rounds to none. Refused with the set and
    split named, before the first set's runs, not as --validation-size."""
    data = tmp_path / 'data'
    _fixture(str(data / 'good'), splits=1)
    _fixture(str(data / 'tiny'), splits=1, rows=3)
    np.savetxt(str(data / 'tiny' / 'index_train_0.txt'), [0, 1], fmt='%d')
    np.savetxt(str(data / 'tiny' / 'index_test_0.txt'), [2], fmt='%d')
    with pytest.raises(DataError, match=r'tiny: split 0 has 2 training rows: the selection holds '
                                        r'out 20% of them for validation, which leaves no row on '
                                        r'one side$'):
        uci.reproduce_uci(str(data), str(tmp_path / 'out'), print, sets=['good', 'tiny'],
                          select_splits=1, num_splits=1, candidates=((1e-2, 16, 'none'),),
                          max_epochs=2, validate_every=2, fixed_epochs=2)
    assert not (tmp_path / 'out').exists()
