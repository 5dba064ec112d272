"""tfbnn/cli/kl_study.py (and its shim scripts/kl_study.py): user errors exit 2
with one line; a saved results.json renders back into the guide exactly."""
import json
import os
import runpy
import shutil
import sys

import pytest

from tfbnn.cli.kl_study import main

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
                      ('{"schemes": [{"name": "x"}]}', "KeyError: 'test_error'")):
        bad.write_text(text)
        assert main(['--from-results', str(bad), '--docs', docs]) == 2
        assert 'is not a results.json of the study (%s)' % why in _last_error(capsys)
        assert not os.path.exists(os.path.join(docs, 'kl_study'))  # nothing copied


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


def test_a_work_dir_that_is_not_empty_is_refused_before_any_run(tmp_path, capsys):
    (tmp_path / 'work' / 'scheme_0').mkdir(parents=True)
    assert main(['--quick', '--work-dir', str(tmp_path / 'work')]) == 2
    assert '--work-dir %s is not an empty folder' % (tmp_path / 'work') in _last_error(capsys)
    (tmp_path / 'file').write_text('x')
    assert main(['--quick', '--work-dir', str(tmp_path / 'file')]) == 2
    assert 'is not an empty folder' in _last_error(capsys)


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
