"""tfbnn/reproduce/report_ood.py: the OOD tables from their records, and the probe's filing."""
import pytest

from tfbnn.internal.jsonio import write_json
from tfbnn.reproduce import report, report_ood


def _ood_record():
    letters = dict(I=dict(auroc_mi=0.61, auroc_entropy=0.6, examples=980, taken_for=1, share=0.93),
                   F=dict(auroc_mi=0.97, auroc_entropy=0.96, examples=1010, taken_for=7,
                          share=0.41))
    return dict(metrics=dict(test_error=0.0205, ece=0.0081), sets=dict(
        noise=dict(auroc_mi=1.0, auroc_entropy=0.999, examples=10000),
        letters=dict(auroc_mi=0.88, auroc_entropy=0.878, examples=10000, by_letter=letters)))


def test_each_set_and_each_letter_hardest_first():
    tables = report.render_results(dict(mnist_ood=_ood_record()))
    assert '| letters | 10000 | 0.880 | 0.878 |\n| noise | 10000 | 1.000 | 0.999 |' in tables['ood']
    assert '(in distribution: MNIST test, error 2.05%, ECE 0.81%)' in tables['ood']
    rows = tables['ood_letters'].splitlines()
    assert rows[2:] == ['| I | 980 | 0.610 | 0.600 | 1 | 93% |',
                        '| F | 1010 | 0.970 | 0.960 | 7 | 41% |']
    assert 'letters 0.880' in tables['goals'] and '**missed**' in tables['goals']


def test_records_without_the_letters_say_so():
    old = _ood_record()
    del old['sets']['letters']
    for records in ({}, dict(mnist_ood=old)):
        assert 'not run yet' in report.render_results(records)['ood_letters']
    assert 'not run yet' in report.render_results({})['ood']


def test_the_probe_is_read_from_its_folder_rendered_and_never_collected(tmp_path):
    row = dict(posterior_init_scale=0.01, learning_rate=0.003, kl_weight=0.1, val_error=0.0218,
               val_ece=0.0087, val_ood_auroc_mi=0.8577, val_ood_auroc_entropy=0.8547,
               note='the defaults')
    (tmp_path / 'probes').mkdir()
    write_json(str(tmp_path / 'probes' / 'ood_letters_validation.json'), dict(rows=[row]))
    records = report.load_records(str(tmp_path))
    table = report.render_results(records)['ood_probe']
    assert '| 0.01 | 0.003 | 0.1 | 2.18% | 0.87% | 0.858 | 0.855 | the defaults |' in table
    assert 'no probe record' in report.render_results({})['ood_probe']
    out = tmp_path / 'out'
    (out / 'probes').mkdir(parents=True)
    write_json(str(out / 'probes' / 'ood_letters_validation.json'), dict(rows=[row]))
    assert report.collect_records(str(out), str(tmp_path / 'results')) == {}


def test_the_figure_travels_with_its_record(tmp_path):
    out, results = tmp_path / 'out', tmp_path / 'results'
    (out / 'ood').mkdir(parents=True)
    write_json(str(out / 'ood' / 'ood.json'), _ood_record())
    (out / 'ood' / 'ood_sets.png').write_bytes(b'png')
    assert list(report.collect_records(str(out), str(results))) == ['mnist_ood']
    assert (results / 'ood' / 'ood_sets.png').read_bytes() == b'png'


def test_other_runs_are_read_from_their_folder_and_rendered_beside_the_job(tmp_path):
    (tmp_path / 'ood').mkdir()
    (tmp_path / 'probes').mkdir()
    write_json(str(tmp_path / 'ood' / 'ood.json'), _ood_record())
    refit = dict(what='the refit', metrics=dict(test_error=0.0146), sigma_quantiles={
        'model/fc2': {'0.5': 0.02243}, 'model/fc1': {'0.5': 0.0224}},
                 sets=dict(letters=dict(auroc_mi=0.85, auroc_entropy=0.849, examples=10000)))
    write_json(str(tmp_path / 'probes' / 'ood_run_refit.json'), refit)
    write_json(str(tmp_path / 'probes' / 'ood_run_bare.json'), dict(sets={}))  # no metrics
    table = report.render_results(report.load_records(str(tmp_path)))['ood_runs']
    assert table.splitlines() == [
        '| network | test error | median sigma by layer | letters | noise |',
        '|---|---|---|---|---|',
        '| the job, 10 epochs (`mnist-ood`) | 2.05% | - | 0.880 | 1.000 |',
        '| `ood_run_bare` (a finished run) | - | - | - | - |',
        '| `ood_run_refit` (the refit) | 1.46% | 0.0224 / 0.0224 | 0.850 | - |']
    assert 'not run yet' in report.render_results({})['ood_runs']


def S(kind, weight, draws=1, disagreement=0.0):
    return report_ood.Setting(kind, weight, draws, disagreement)


def _row(kind, weight, seed, error, ece, mi, entropy, **more):
    return dict(outlier_exposure=kind, outlier_weight=weight, seed=seed, val_error=error,
                val_ece=ece, val_ood_auroc_mi=mi, val_ood_auroc_entropy=entropy, **more)


def _outlier_rows():
    return [_row('none', 1.0, 0, 0.021, 0.009, 0.85, 0.85),
            _row('none', 1.0, 1, 0.023, 0.009, 0.87, 0.87),
            _row('strokes', 0.5, 0, 0.020, 0.008, 0.88, 0.90),
            _row('strokes', 0.5, 1, 0.022, 0.008, 0.90, 0.90),
            _row('strokes', 1.0, 0, 0.021, 0.009, 0.90, 0.90),
            _row('strokes', 1.0, 1, 0.022, 0.009, 0.90, 0.90),
            _row('strokes', 2.0, 0, 0.025, 0.009, 0.95, 0.95),
            _row('strokes', 2.0, 1, 0.026, 0.009, 0.95, 0.95)]


def test_the_outlier_choice_follows_the_rule_written_before_the_runs():
    rows = _outlier_rows()
    # Scores (mean over seeds of the two AUROCs' mean): none 0.86, 0.5 0.895,
    # 1 0.90, 2 0.95 -- but 2's error (2.55%) exceeds none's (2.2%) + 0.2 pp.
    # Of the rest 1 is best, and 0.5 is within 0.005 of it: the simpler wins.
    assert report_ood.choose_outliers(rows) == S('strokes', 0.5)
    # With 0.5 more than 0.005 behind, 1 is chosen.
    rows[2] = _row('strokes', 0.5, 0, 0.020, 0.008, 0.87, 0.88)
    assert report_ood.choose_outliers(rows) == S('strokes', 1.0)
    # Error within the slack (2.2% + 0.2 pp, exactly) keeps 2 in; ECE over 2% drops it.
    rows[6:] = [_row('strokes', 2.0, s, 0.024, 0.009, 0.95, 0.95) for s in (0, 1)]
    assert report_ood.choose_outliers(rows) == S('strokes', 2.0)
    rows[6:] = [_row('strokes', 2.0, s, 0.020, 0.021, 0.95, 0.95) for s in (0, 1)]
    assert report_ood.choose_outliers(rows) == S('strokes', 1.0)
    # Nothing beats the baseline by more than 0.005: no outliers.
    flat = [_row('none', 1.0, 0, 0.02, 0.01, 0.9, 0.9), _row('strokes', 1.0, 0, 0.02, 0.01,
                                                              0.904, 0.904)]
    assert report_ood.choose_outliers(flat) == S('none', 0.0)
    # The baseline is always a candidate, whatever its own ECE.
    hot = [_row('none', 1.0, 0, 0.02, 0.03, 0.9, 0.9), _row('strokes', 1.0, 0, 0.02, 0.03,
                                                             0.99, 0.99)]
    assert report_ood.choose_outliers(hot) == S('none', 0.0)
    with pytest.raises(ValueError, match='need the baseline'):
        report_ood.choose_outliers(rows[2:])


def test_the_choice_weighs_draws_and_disagreement_simplest_first():
    rows = _outlier_rows()[:4]  # none 0.86, lambda 0.5 0.895
    mixture = [_row('strokes', 0.5, s, 0.021, 0.01, 0.90, 0.90, outlier_draws=2)
               for s in (0, 1)]
    disagree = [_row('strokes', 0.5, s, 0.021, 0.01, 0.91, 0.91, outlier_draws=2,
                     outlier_disagreement=0.5) for s in (0, 1)]
    four = [_row('strokes', 0.5, s, 0.021, 0.01, 0.93, 0.93, outlier_draws=4,
                 outlier_disagreement=1.0) for s in (0, 1)]
    # 4 draws score highest; nothing simpler is within 0.005.
    assert report_ood.choose_outliers(rows + mixture + disagree + four) == S('strokes', 0.5, 4, 1.0)
    # Within 0.005 of it, fewer draws win before a smaller gamma is looked at ...
    four = [dict(r, val_ood_auroc_mi=0.913, val_ood_auroc_entropy=0.913) for r in four]
    assert report_ood.choose_outliers(rows + mixture + disagree + four) == S('strokes', 0.5, 2, 0.5)
    # ... and among equal draws a smaller gamma wins (0.90 is 0.01 behind: too far).
    assert report_ood.choose_outliers(rows + mixture + disagree) == S('strokes', 0.5, 2, 0.5)
    mixture = [dict(r, val_ood_auroc_mi=0.906, val_ood_auroc_entropy=0.906) for r in mixture]
    assert report_ood.choose_outliers(rows + mixture + disagree) == S('strokes', 0.5, 2, 0.0)
    # Rows of older records lack the two options: they mean one draw, no gamma.
    assert report_ood.Setting.of(dict(outlier_exposure='strokes', outlier_weight=0.5)) == \
        S('strokes', 0.5, 1, 0.0)
    assert report_ood.Setting.of(dict(outlier_weight=3.0, outlier_draws=4)) == S('none', 0.0)
    assert S('strokes', 0.5, 4, 1.0).flags() == ('--outlier-exposure strokes --outlier-weight '
                                                 '0.5 --outlier-draws 4 --outlier-disagreement 1')
    assert S('strokes', 2.0).flags() == '--outlier-exposure strokes --outlier-weight 2'


def test_the_outlier_probe_is_read_rendered_with_its_choice_and_never_collected(tmp_path):
    (tmp_path / 'probes').mkdir()
    write_json(str(tmp_path / 'probes' / 'ood_outlier_validation.json'),
               dict(rows=_outlier_rows()))
    table = report.render_results(report.load_records(str(tmp_path)))['ood_outliers']
    lines = table.splitlines()
    assert lines[2] == ('| none | - | - | - | 0, 1 | 2.20% | 0.90% | 0.860 | 0.860 | 0.850 / '
                        '0.870 |  |')
    assert lines[3] == ('| strokes | 0.5 | 1 | 0 | 0, 1 | 2.10% | 0.80% | 0.890 | 0.900 | 0.890 '
                        '/ 0.900 | yes |')
    assert [line.split(' | ')[1] for line in lines[2:]] == ['-', '0.5', '1', '2']
    assert 'no probe record' in report.render_results({})['ood_outliers']
    out = tmp_path / 'out'
    (out / 'probes').mkdir(parents=True)
    write_json(str(out / 'probes' / 'ood_outlier_validation.json'), dict(rows=_outlier_rows()))
    assert report.collect_records(str(out), str(tmp_path / 'results')) == {}


def _outlier_run(seed, letters, weight=0.5, kind='strokes', error=0.021, **more):
    rec = _ood_record()
    rec['metrics']['test_error'] = error
    rec['sets']['letters'] = dict(auroc_mi=letters - 0.01, auroc_entropy=letters, examples=10000)
    rec['protocol'] = dict(seed=seed, outlier_exposure=kind, outlier_weight=weight, **more)
    return rec


def test_the_goal_gains_a_row_for_the_chosen_outlier_setting():
    runs = {'ood_run_strokes_s0': _outlier_run(0, 0.93), 'ood_run_strokes_s1': _outlier_run(1, 0.9),
            'ood_run_other': _outlier_run(0, 0.99, weight=2.0),  # not the chosen weight
            'ood_run_draws': _outlier_run(0, 0.99, outlier_draws=2),  # nor the draws
            'ood_run_seed1': _outlier_run(1, 0.99, kind='none')}
    records = dict(mnist_ood=_ood_record(), ood_outlier_probe=dict(rows=_outlier_rows()),
                   ood_runs=runs)
    chosen = report_ood.outlier_runs(records, S('strokes', 0.5))
    assert {seed: stem for seed, (stem, _) in chosen.items()} == {
        0: 'ood_run_strokes_s0', 1: 'ood_run_strokes_s1'}
    assert report_ood.outlier_runs(records, S('strokes', 0.5, 2))[0][0] == 'ood_run_draws'
    goals = report.render_results(records)['goals'].splitlines()
    rows = [line for line in goals if line.startswith('| MNIST 784-400-400, 10 epochs')]
    assert len(rows) == 2 and 'letters 0.880' in rows[0]
    assert rows[1].startswith('| MNIST 784-400-400, 10 epochs of the job: OOD AUROC (MI or '
                              'entropy) >= 0.95 on every set, with `--outlier-exposure strokes '
                              '--outlier-weight 0.5` (chosen on validation), test error < 3% | ')
    assert rows[1].endswith('letters 0.930, noise 1.000; letters over 2 seeds 0.900-0.930 | '
                            '**missed** | the command in `probes/ood_run_strokes_s0.json` |')
    # Met when seed 0 meets it; no row without the probe or the seed-0 run.
    runs['ood_run_strokes_s0'] = _outlier_run(0, 0.96)
    assert '**met**' in report.render_results(records)['goals'].splitlines()[-1]
    del runs['ood_run_strokes_s0']
    assert 'outlier' not in report.render_results(records)['goals']
    del records['ood_outlier_probe']
    assert 'outlier' not in report.render_results(records)['goals']


def test_the_seeds_table_groups_the_same_job_by_outlier_setting():
    def run(seed, entropy, error, ece, kind=None, weight=None, epochs=10, **more):
        rec = _ood_record()
        rec['sets']['letters'] = dict(auroc_mi=entropy - 0.02, auroc_entropy=entropy,
                                      examples=10000)
        rec['metrics'].update(test_error=error, ece=ece)
        rec['protocol'] = dict(seed=seed, epochs=epochs, hidden=[400, 400], data_dir='x%d' % seed)
        if kind:
            rec['protocol'].update(outlier_exposure=kind, outlier_weight=weight, **more)
        return rec
    records = dict(mnist_ood=run(0, 0.88, 0.02, 0.008), ood_runs={
        'ood_run_seed1': run(1, 0.84, 0.024, 0.01),
        'ood_run_refit': run(0, 0.5, 0.01, 0.005, epochs=188),  # another job: left out
        'ood_run_strokes_s1': run(1, 0.93, 0.021, 0.02, 'strokes', 0.5),
        'ood_run_strokes_s0': run(0, 0.89, 0.019, 0.022, 'strokes', 0.5),
        'ood_run_r4_s0': run(0, 0.95, 0.02, 0.015, 'strokes', 0.5, outlier_draws=4,
                             outlier_disagreement=1.0)})
    lines = report.render_results(records)['ood_seeds'].splitlines()
    assert lines[2:] == [
        '| defaults | 0, 1 | 0.840-0.880 (mean 0.860) | 0.820-0.860 (mean 0.840) | 2.00-2.40% '
        '(mean 2.20%) | 0.80-1.00% | 1.000 / 0.999 |',
        '| `--outlier-exposure strokes --outlier-weight 0.5` | 0, 1 | 0.890-0.930 (mean 0.910) | '
        '0.870-0.910 (mean 0.890) | 1.90-2.10% (mean 2.00%) | 2.00-2.20% | 1.000 / 0.999 |',
        '| `--outlier-exposure strokes --outlier-weight 0.5 --outlier-draws 4 '
        '--outlier-disagreement 1` | 0 | 0.950-0.950 (mean 0.950) | 0.930-0.930 (mean 0.930) | '
        '2.00-2.00% (mean 2.00%) | 1.50-1.50% | 1.000 / 0.999 |']
    assert 'not run yet' in report.render_results({})['ood_seeds']


def _third_party_run(seed, error, animals, letters, **outliers):
    sets = dict(animals=dict(auroc_mi=animals[0], auroc_entropy=animals[1]),
                letters=dict(auroc_mi=letters[0], auroc_entropy=letters[1]))
    return dict(protocol=dict(seed=seed, **outliers), metrics=dict(test_error=error), sets=sets)


def test_sets_made_by_others_are_read_from_their_record_and_rendered_by_setting(tmp_path):
    strokes = dict(outlier_exposure='strokes', outlier_weight=0.5, outlier_draws=4,
                   outlier_disagreement=0.5)
    record = dict(sources=dict(animals=dict(images=10000, description='silhouettes, a package')),
                  runs=[_third_party_run(1, 0.0230, (0.990, 0.970), (0.90, 0.91), **strokes),
                        _third_party_run(0, 0.0210, (0.980, 0.950), (0.86, 0.84)),
                        _third_party_run(0, 0.0220, (0.996, 0.986), (0.88, 0.87), **strokes),
                        _third_party_run(1, 0.0200, (0.970, 0.960), (0.80, 0.82))])
    (tmp_path / 'probes').mkdir()
    write_json(str(tmp_path / 'probes' / 'ood_third_party.json'), record)
    records = report.load_records(str(tmp_path))
    rows = report.render_results(records)['ood_third_party'].splitlines()
    assert rows[0] == ('| 10-epoch job | seeds | test error | animals, AUROC of MI | animals, '
                       'AUROC of entropy | letters, better of MI and entropy |')
    assert rows[2] == ('| defaults | 0, 1 | 2.00-2.10% (mean 2.05%) | 0.970-0.980 (mean 0.975) '
                       '| 0.950-0.960 (mean 0.955) | 0.820-0.860 (mean 0.840) |')
    assert rows[3] == ('| `--outlier-exposure strokes --outlier-weight 0.5 --outlier-draws 4 '
                       '--outlier-disagreement 0.5` | 0, 1 | 2.20-2.30% (mean 2.25%) | '
                       '0.990-0.996 (mean 0.993) | 0.970-0.986 (mean 0.978) | '
                       '0.880-0.910 (mean 0.895) |')
    assert rows[5] == '- `animals` (10000 images): silhouettes, a package'
    goal = [line for line in report.render_results(records)['goals'].splitlines()
            if '`animals`' in line]
    assert goal == ['| MNIST 784-400-400, 10 epochs of the job: OOD AUROC (MI or entropy) >= 0.95 '
                    'on `animals`, a set made by others, test error < 3% | AUROC 0.970-0.996 '
                    'over 4 runs (2 settings), test error 2.00-2.30% | **met** | the commands in '
                    '`probes/ood_third_party.json` |']
    record['runs'][1]['sets']['animals']['auroc_mi'] = 0.949  # one seed short: missed
    record['runs'][1]['sets']['animals']['auroc_entropy'] = 0.9
    assert '**missed**' in [line for line in report.render_results(dict(ood_third_party=record))[
        'goals'].splitlines() if '`animals`' in line][0]
    assert 'no record' in report.render_results({})['ood_third_party']
    out = tmp_path / 'out'  # filed by hand: never collected from --out
    (out / 'probes').mkdir(parents=True)
    write_json(str(out / 'probes' / 'ood_third_party.json'), record)
    assert report.collect_records(str(out), str(tmp_path / 'results')) == {}
