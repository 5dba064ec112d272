"""tfbnn/cli/kl_study.py (and its shim scripts/kl_study.py): user errors exit 2
with one line; a saved results.json renders back into the guide exactly."""
import json
import os
import runpy
import shutil
import sys

import numpy as np
import pytest

from tfbnn.cli.kl_study import main
from tfbnn.kl_study import QUICK

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOCS = os.path.join(REPO, 'docs')
RESULTS = os.path.join(DOCS, 'kl_study', 'results.json')


def _last_error(capsys):
    err = capsys.readouterr().err.strip().splitlines()
    assert err and err[-1].startswith('tfbnn-kl-study: error: '), err
    return err[-1]


@pytest.mark.parametrize('argv,message', [
    (['--quick', '--only', 'scaling,bogus'],
     'unknown experiment(s) bogus; choose from scaling, schemes, priors, norms'),
    (['--quick', '--only', ','], '--only names no experiment; choose from scaling'),
])
def test_argument_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    assert message in _last_error(capsys)


def _docs_with_guide(tmp_path, text=None):
    docs = tmp_path / 'docs'
    docs.mkdir()
    if text is None:
        shutil.copy(os.path.join(DOCS, 'kl-weighting.md'), str(docs))
    else:
        (docs / 'kl-weighting.md').write_text(text)
    return docs


def test_result_errors(tmp_path, capsys):
    docs = str(_docs_with_guide(tmp_path))
    missing = str(tmp_path / 'none.json')
    assert main(['--from-results', missing, '--docs', docs]) == 2
    assert 'cannot read --from-results %s' % missing in _last_error(capsys)
    bad = tmp_path / 'bad.json'
    bad.write_text('{"scaling": [')
    assert main(['--from-results', str(bad), '--docs', docs]) == 2
    assert 'cannot read --from-results %s' % bad in _last_error(capsys)
    bad.write_text('[1, 2]')
    assert main(['--from-results', str(bad), '--docs', docs]) == 2
    assert 'is not a results.json of the study' in _last_error(capsys)
    for text, why in (('{"epoch": [1, 2], "loss": [3, 2]}',  # a run's history.json
                       'it has none of scaling, schemes, priors, norms'),
                      ('{"scaling": 3}', 'scaling is not a list of runs'),
                      ('{"schemes": [{"name": "x"}], "scaling": [], "priors": [], '
                       '"norms": []}', "KeyError: 'test_error'")):
        bad.write_text(text)
        assert main(['--from-results', str(bad), '--docs', docs]) == 2
        assert 'is not a results.json of the study (%s)' % why in _last_error(capsys)
        assert not os.path.exists(os.path.join(docs, 'kl_study'))  # nothing copied


def test_results_the_figures_cannot_draw_change_no_docs_file(tmp_path, capsys):
    """The tables render without the schemes' ratio_history, the figure does
    not: refused before results.json, a figure or the guide is written."""
    docs = _docs_with_guide(tmp_path)
    guide = (docs / 'kl-weighting.md').read_text()
    with open(RESULTS) as f:
        results = json.load(f)
    for row in results['schemes']:
        del row['ratio_history']
    bad = tmp_path / 'nohist.json'
    bad.write_text(json.dumps(results))
    assert main(['--from-results', str(bad), '--docs', str(docs)]) == 2
    assert "is not a results.json of the study (KeyError: 'ratio_history')" in _last_error(capsys)
    assert not (docs / 'kl_study').exists()
    assert (docs / 'kl-weighting.md').read_text() == guide


def test_a_work_dir_that_cannot_be_made_is_named(tmp_path, capsys):
    blocker = tmp_path / 'file'
    blocker.write_text('x')
    work = blocker / 'sub'
    assert main(['--quick', '--only', 'norms', '--work-dir', str(work), '--', '--epochs',
                 '1']) == 2
    assert _last_error(capsys).endswith('the study stopped: %s: Not a directory' % work)


def test_docs_errors(tmp_path, capsys):
    empty = tmp_path / 'empty'
    empty.mkdir()
    # Checked before any run: the full study takes minutes.
    assert main(['--docs', str(empty)]) == 2
    assert 'no kl-weighting.md in --docs %s' % empty in _last_error(capsys)
    docs = _docs_with_guide(tmp_path, 'a guide without markers\n')
    assert main(['--from-results', RESULTS, '--docs', str(docs)]) == 2
    assert 'has no <!-- study:scaling -->' in _last_error(capsys)


def test_saved_results_render_back_into_the_guide(tmp_path, capsys):
    docs = _docs_with_guide(tmp_path)
    guide = docs / 'kl-weighting.md'
    stale = guide.read_text().replace('<!-- /study:norms -->', 'stale\n<!-- /study:norms -->')
    guide.write_text(stale)
    assert main(['--from-results', RESULTS, '--docs', str(docs)]) == 0
    out = capsys.readouterr().out
    assert '## scaling' in out and 'updated %s' % guide in out
    with open(os.path.join(DOCS, 'kl-weighting.md')) as f:
        assert guide.read_text() == f.read()
    with open(RESULTS) as f:
        assert (docs / 'kl_study' / 'results.json').read_text() == f.read()
    assert sorted(os.listdir(str(docs / 'kl_study'))) == [
        'grad_ratio_by_scheme.png', 'kl_vs_params.png', 'results.json']


def test_quick_leaves_the_docs_alone(tmp_path, capsys):
    docs = _docs_with_guide(tmp_path)
    before = (docs / 'kl-weighting.md').read_text()
    assert main(['--quick', '--from-results', RESULTS, '--docs', str(docs)]) == 0
    assert '## norms' in capsys.readouterr().out
    assert (docs / 'kl-weighting.md').read_text() == before
    assert not (docs / 'kl_study').exists()


def test_the_shim_keeps_the_documented_command(monkeypatch, capsys):
    """scripts/kl_study.py: the checkout's docs/ by default, from any folder."""
    monkeypatch.setenv('COLUMNS', '1000')  # one help line per option
    monkeypatch.setenv('TF_CPP_MIN_LOG_LEVEL', '2')
    monkeypatch.setattr(sys, 'path', list(sys.path))
    monkeypatch.setattr(sys, 'argv', ['kl_study.py', '--help'])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(os.path.join(REPO, 'scripts', 'kl_study.py'), run_name='__main__')
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert help_text.startswith('usage: tfbnn-kl-study')
    docs = [l for l in help_text.splitlines() if l.strip().startswith('--docs')][0]
    default = docs.split('(default: ')[1].rstrip(')')
    assert os.path.samefile(default, DOCS)


def test_a_study_of_some_experiments_replaces_only_those(tmp_path, capsys):
    """The guide's other tables keep the record they were rendered from; a
    study on another budget is refused rather than mixed in."""
    docs = _docs_with_guide(tmp_path)
    (docs / 'kl_study').mkdir()
    shutil.copy(RESULTS, str(docs / 'kl_study'))
    with open(RESULTS) as f:
        committed = json.load(f)
    partial = dict(budget=committed['budget'], schemes=committed['schemes'][:2])
    path = tmp_path / 'partial.json'
    path.write_text(json.dumps(partial))
    assert main(['--from-results', str(path), '--docs', str(docs)]) == 0
    merged = json.loads((docs / 'kl_study' / 'results.json').read_text())
    assert list(merged) == list(committed)
    assert merged['schemes'] == partial['schemes'] and merged['norms'] == committed['norms']
    guide = (docs / 'kl-weighting.md').read_text()
    assert '<!-- study:norms -->' in guide and '| none |' in guide
    path.write_text(json.dumps(dict(partial, budget=dict(committed['budget'], epochs=1))))
    assert main(['--from-results', str(path), '--docs', str(docs)]) == 2
    assert 'was measured on another budget: the schemes experiment(s) alone would mix budgets' \
        in _last_error(capsys)
    # A guide whose tables come with no results.json: their budget cannot be checked.
    os.remove(str(docs / 'kl_study' / 'results.json'))
    path.write_text(json.dumps(partial))
    assert main(['--from-results', str(path), '--docs', str(docs)]) == 2
    assert ('%s holds no results.json: the guide\'s other tables could not be checked for the '
            'same budget' % (docs / 'kl_study')) in _last_error(capsys)
    assert (docs / 'kl-weighting.md').read_text() == guide


def test_a_merging_update_draws_each_figure_once_and_names_what_cannot_be_drawn(
        tmp_path, capsys, monkeypatch):
    from tfbnn import kl_study
    docs = _docs_with_guide(tmp_path)
    (docs / 'kl_study').mkdir()
    shutil.copy(RESULTS, str(docs / 'kl_study'))
    with open(RESULTS) as f:
        committed = json.load(f)
    drawn = []
    real = kl_study.study_figures
    monkeypatch.setattr(kl_study, 'study_figures', lambda r: drawn.append(sorted(r)) or real(r))
    partial = dict(budget=committed['budget'], schemes=committed['schemes'][:2])
    path = tmp_path / 'partial.json'
    path.write_text(json.dumps(partial))
    assert main(['--from-results', str(path), '--docs', str(docs)]) == 0
    assert drawn == [sorted(committed)]  # once, the merged study
    for row in partial['schemes']:
        del row['ratio_history']
    path.write_text(json.dumps(partial))
    before = (docs / 'kl_study' / 'results.json').read_text()
    assert main(['--from-results', str(path), '--docs', str(docs)]) == 2
    assert _last_error(capsys).endswith(
        "%s merged into %s is not a study the guide can show (KeyError: 'ratio_history')"
        % (path, docs / 'kl_study' / 'results.json'))
    assert (docs / 'kl_study' / 'results.json').read_text() == before


def test_a_work_dir_that_is_not_empty_is_refused_before_any_run(tmp_path, capsys):
    (tmp_path / 'work' / 'scheme_0').mkdir(parents=True)
    assert main(['--quick', '--work-dir', str(tmp_path / 'work')]) == 2
    assert '--work-dir %s is not an empty folder' % (tmp_path / 'work') in _last_error(capsys)
    (tmp_path / 'file').write_text('x')
    assert main(['--quick', '--work-dir', str(tmp_path / 'file')]) == 2
    assert '--work-dir %s is not a folder' % (tmp_path / 'file') in _last_error(capsys)
    assert main(['--quick', '--resume']) == 2
    assert '--resume needs --work-dir' in _last_error(capsys)
    # --resume in a folder that holds no study (a training run's, a misspelt path)
    (tmp_path / 'run' / 'best').mkdir(parents=True)
    for folder in ('run', 'nonexistent'):
        assert main(['--quick', '--resume', '--work-dir', str(tmp_path / folder)]) == 2
        assert ('--work-dir %s holds no study to continue (no study.json; a study writes it '
                'before its first run)' % (tmp_path / folder)) in _last_error(capsys)
    assert os.listdir(str(tmp_path / 'run')) == ['best']
    assert not (tmp_path / 'nonexistent').exists()


def test_a_partial_study_is_checked_against_the_docs_budget_before_its_runs(
        tmp_path, capsys, monkeypatch):
    """The full budget is a namedtuple of tuples, the saved one JSON lists:
    the same budget, so --only updates the docs; another is refused at once."""
    from tfbnn import kl_study
    docs = _docs_with_guide(tmp_path)
    (docs / 'kl_study').mkdir()
    with open(RESULTS) as f:
        committed = json.load(f)
    (docs / 'kl_study' / 'results.json').write_text(
        json.dumps(dict(committed, budget=kl_study.FULL._asdict())))
    runs = []

    def run_study(work, quick, experiments, log):
        runs.append(quick)
        return dict(budget=(kl_study.QUICK if quick else kl_study.FULL)._asdict(),
                    schemes=committed['schemes'][:2])
    monkeypatch.setattr(kl_study, 'run_study', run_study)
    assert main(['--only', 'schemes', '--work-dir', str(tmp_path / 'w'), '--docs', str(docs)]) == 0
    assert runs == [False]
    merged = json.loads((docs / 'kl_study' / 'results.json').read_text())
    assert merged['schemes'] == committed['schemes'][:2]
    assert merged['norms'] == committed['norms']
    capsys.readouterr()
    assert main(['--quick', '--update-docs', '--only', 'schemes', '--docs', str(docs)]) == 2
    assert runs == [False]  # refused before any run
    assert 'was measured on another budget' in _last_error(capsys)


def _tiny_npz(tmp_path):
    rng = np.random.RandomState(0)
    x = rng.rand(48, 4).astype('float32')
    y = (x.sum(1) > 2).astype('int64')
    path = str(tmp_path / 'mine.npz')
    np.savez(path, x_train=x[:40], y_train=y[:40], x_test=x[40:], y_test=y[40:])
    return path


def test_a_study_of_your_own_setup(tmp_path, capsys):
    """The schemes on the user's npz and options, into --work-dir: the
    guide's docs untouched, the warm-up a third of the first run's steps,
    each run's config the user's options plus the row's."""
    docs = _docs_with_guide(tmp_path)
    before = (docs / 'kl-weighting.md').read_text()
    work = tmp_path / 'mine'
    data = _tiny_npz(tmp_path)
    ood = str(tmp_path / 'ood.npz')  # the job's OOD folder: the study scores none
    np.savez(ood, x_test=np.zeros([3, 4], np.float32))
    assert main(['--quick', '--only', 'schemes', '--work-dir', str(work), '--docs', str(docs),
                 '--', '--dataset', 'npz', '--data-dir', data, '--hidden', '5',
                 '--batch-size', '4', '--ood-data-dir', ood]) == 0
    out = capsys.readouterr().out
    assert '## schemes' in out and '| per_batch |' in out
    assert (docs / 'kl-weighting.md').read_text() == before
    results = json.loads((work / 'results.json').read_text())
    assert results['job'] == dict(dataset='npz', data_dir=data, hidden=[5], batch_size=4,
                                  ood_data_dir=ood)
    assert [r['name'] for r in results['schemes']] == [
        'per_example', 'per_batch', 'blundell', 'per_example + warm-up',
        'per_example, beta = 0.1']
    assert results['schemes'][0]['steps'] == 10  # 40 examples in batches of 4, 1 epoch
    configs = [json.loads((work / ('scheme_%d' % i) / 'config.json').read_text())
               for i in range(5)]
    assert all(c['dataset'] == 'npz' and c['hidden'] == [5] and c['batch_size'] == 4
               and c['epochs'] == 1 and c['ood_data_dir'] is None for c in configs)
    assert [(c['kl_scheme'], c['kl_weight'], c['warmup_steps']) for c in configs] == [
        ('per_example', 1.0, 0), ('per_batch', 1.0, 0), ('blundell', 1.0, 0),
        ('per_example', 1.0, 3), ('per_example', 0.1, 0)]
    report = (work / 'kl_study.md').read_text()
    assert report.startswith('# The KL study on your setup')
    assert ('`tfbnn-train --dataset npz --data-dir %s --hidden 5 --batch-size 4 --ood-data-dir %s`'
            % (data, ood) in report)
    assert '![grad_ratio_by_scheme.png](grad_ratio_by_scheme.png)' in report
    assert (work / 'grad_ratio_by_scheme.png').stat().st_size > 0
    # Its results.json is no record of the guide's study.
    assert main(['--from-results', str(work / 'results.json'), '--docs', str(docs)]) == 2
    assert 'is a study of your own setup' in _last_error(capsys)


@pytest.mark.parametrize('argv,message', [
    (['--', '--kl-scheme', 'blundell'],
     'the study varies or sets kl_scheme itself: leave --kl-scheme out of your options'),
    (['--only', 'priors', '--', '--prior-sigma', '0.1'], 'leave --prior-sigma out'),
    (['--only', 'norms', '--', '--kl-weight', '0.5'], 'leave --kl-weight out'),
    (['--only', 'schemes', '--', '--output-dir', 'x'], 'leave --output-dir out'),
    (['--', '--epochs', '-1'], 'the options after --: --epochs must be a positive integer'),
    (['--only', 'scaling', '--', '--hidden', '4'],
     'a study of your own setup has no scaling experiment'),
    (['--', '--diagnostics-every', '0'],
     '--diagnostics-every 0 turns off the gradient diagnostics the study measures'),
    (['--', '--cluster', 'c.json'],
     'the options after --: the study runs single-process jobs: leave out --cluster'),
    (['--', '--no-such-flag'], 'the options after --: unrecognized arguments: --no-such-flag '
                               '(see tfbnn-train --help)'),
    (['--', '--epochs', 'nan'], "the options after --: argument --epochs: invalid"),
])
def test_your_own_setup_errors(tmp_path, capsys, argv, message):
    assert main(['--quick', '--work-dir', str(tmp_path / 'w')] + argv) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and message in err, err  # one line, no usage
    assert not (tmp_path / 'w').exists()  # before any run


@pytest.mark.parametrize('argv,message', [
    (['--update-docs', '--', '--hidden', '4'], '--update-docs and --from-results are for the'),
])
def test_your_own_setup_usage_errors(tmp_path, capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(['--quick', '--work-dir', str(tmp_path / 'w')] + argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_an_interrupted_study_resumes(tmp_path, capsys, monkeypatch):
    """Ctrl-C in the third run: exit 130 and the advice; --resume reads the
    two finished runs back (their files untouched) and trains the rest."""
    from tfbnn.reproduce import runner
    real_run = runner.run

    def interrupted(config, **kwargs):
        if config['output_dir'].endswith('scheme_2'):
            raise KeyboardInterrupt
        return real_run(config, **kwargs)
    monkeypatch.setattr(runner, 'run', interrupted)
    work = tmp_path / 'mine'
    argv = ['--quick', '--only', 'schemes', '--work-dir', str(work), '--',
            '--dataset', 'npz', '--data-dir', _tiny_npz(tmp_path), '--batch-size', '8']
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert ('tfbnn-kl-study: interrupted; the finished runs are kept in %s: run the same command '
            'with --resume' % work) in err
    assert not (work / 'results.json').exists()
    finished = {p: os.stat(str(work / p)).st_mtime_ns
                for p in ('scheme_0/metrics.json', 'scheme_1/metrics.json')}
    monkeypatch.setattr(runner, 'run', real_run)
    assert main(argv) == 2  # the folder holds a study
    assert 'give --resume to continue the study it holds' in _last_error(capsys)
    assert main(['--resume'] + argv) == 0
    assert {p: os.stat(str(work / p)).st_mtime_ns for p in finished} == finished
    results = json.loads((work / 'results.json').read_text())
    assert [r['name'] for r in results['schemes']][2:] == [
        'blundell', 'per_example + warm-up', 'per_example, beta = 0.1']
    assert all((work / ('scheme_%d' % i) / 'metrics.json').exists() for i in range(5))
    # A run cut short after its last checkpoint (no record of its end): resumed, not retrained.
    last = work / 'scheme_4'
    steps = json.loads((last / 'metrics.json').read_text())['steps']
    history = json.loads((last / 'history.json').read_text())
    for name in ('metrics.json', 'reproduce_done.json'):
        (last / name).unlink()
    assert main(['--resume'] + argv) == 0
    assert json.loads((last / 'metrics.json').read_text())['steps'] == steps
    assert json.loads((last / 'history.json').read_text()) == history


def test_a_study_continued_with_other_options_is_refused(tmp_path, capsys):
    """--resume with another learning rate would relabel the finished runs
    as trained with it: refused, naming what differs, before any run."""
    work = tmp_path / 'mine'
    argv = ['--quick', '--only', 'norms', '--work-dir', str(work), '--',
            '--dataset', 'npz', '--data-dir', _tiny_npz(tmp_path), '--batch-size', '8']
    (work / 'norm_none').mkdir(parents=True)  # as if a run had started
    (work / 'study.json').write_text(json.dumps(dict(
        job=dict(batch_size=8, data_dir=argv[-3], dataset='npz'),
        budget=json.loads(json.dumps(QUICK._asdict())),
        seed=0)))
    assert main(['--resume'] + argv + ['--learning-rate', '0.05']) == 2
    assert ('the study in %s was started with another job ({"batch_size": 8, "data_dir": "%s", '
            '"dataset": "npz"}, not {"batch_size": 8, "data_dir": "%s", "dataset": "npz", '
            '"learning_rate": 0.05}): continue it with the options it was started with'
            % (work, argv[-3], argv[-3])) in _last_error(capsys)
    assert os.listdir(str(work / 'norm_none')) == []


def test_a_row_the_setup_cannot_train_is_refused_before_any_run(tmp_path, capsys):
    work = tmp_path / 'w'
    assert main(['--quick', '--work-dir', str(work), '--', '--dataset', 'npz', '--data-dir',
                 _tiny_npz(tmp_path), '--model', 'lstm']) == 2
    assert ("the norms experiment's row 'batch' cannot run on your setup (" in
            _last_error(capsys))
    assert not work.exists()


def test_a_study_that_fails_before_saving_anything_leaves_no_folder(tmp_path, capsys):
    work = tmp_path / 'w'
    argv = ['--quick', '--only', 'schemes', '--work-dir', str(work), '--', '--dataset', 'npz',
            '--data-dir', str(tmp_path / 'missing.npz')]
    assert main(argv) == 2
    assert 'the study stopped: ' in _last_error(capsys) and not work.exists()


def test_a_regression_study_shows_rmse_and_log_likelihood(tmp_path, capsys):
    x = np.random.RandomState(1).randn(48, 3).astype('float32')
    path = str(tmp_path / 'reg.npz')
    np.savez(path, x_train=x[:40], y_train=x[:40, 0] * 2, x_test=x[40:], y_test=x[40:, 0] * 2)
    work = tmp_path / 'w'
    assert main(['--quick', '--only', 'norms', '--work-dir', str(work), '--', '--dataset', 'npz',
                 '--data-dir', path, '--batch-size', '8', '--hidden', '4']) == 0
    table = (work / 'kl_study.md').read_text()
    assert ('| normalisation | test RMSE | test log-likelihood | KL share of loss | KL/NLL '
            'gradient norm by layer (last step) |' in table)
    metrics = json.loads((work / 'norm_none' / 'metrics.json').read_text())
    assert '| none | %.3g | %.3g |' % (metrics['rmse'], metrics['test_ll']) in table


def test_a_resumed_study_counts_the_experiments_it_ran_before(tmp_path):
    """They stay in its results (`run_study`), so the docs' check of a
    partial study counts them; a missing or damaged file counts none."""
    from tfbnn.cli.kl_study import _earlier_experiments
    assert _earlier_experiments(str(tmp_path)) == set()
    (tmp_path / 'results.json').write_text('{"budget": {}, "schemes": [], "norms": []}')
    assert _earlier_experiments(str(tmp_path)) == {'schemes', 'norms'}
    (tmp_path / 'results.json').write_text('{"schemes": [')
    assert _earlier_experiments(str(tmp_path)) == set()
