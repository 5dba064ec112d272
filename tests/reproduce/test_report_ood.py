"""tfbnn/reproduce/report_ood.py: the OOD tables from their records, and the probe's filing."""
from tfbnn.internal.jsonio import write_json
from tfbnn.reproduce import report


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
