"""The KL study: its quick mode runs, and the guide's tables are its results."""
import json
import os

import pytest

from tfbnn import kl_study

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUIDE = os.path.join(REPO, 'docs', 'kl-weighting.md')
RESULTS = os.path.join(REPO, 'docs', 'kl_study', 'results.json')


def test_quick_study_runs_every_experiment(tmp_path):
    results = kl_study.run_study(str(tmp_path), quick=True, log=lambda line: None)
    assert list(results) == ['budget'] + list(kl_study.EXPERIMENTS)
    mlps = [r for r in results['scaling'] if r['name'].startswith('mlp_')]
    # Total KL grows with the parameter count; KL per parameter stays of one order.
    assert [r['params'] for r in mlps] == sorted(r['params'] for r in mlps)
    assert [r['kl'] for r in mlps] == sorted(r['kl'] for r in mlps)
    per_param = [r['kl'] / r['params'] for r in results['scaling']]
    assert max(per_param) / min(per_param) < 10
    names = [r['name'] for r in results['scaling']]
    assert 'conv3d_volumes' in names and 'conv2d_central_slices' in names
    assert [r['name'] for r in results['schemes']] == [
        'per_example', 'per_batch', 'blundell', 'per_example + warm-up',
        'per_example, beta = 0.1']
    by = {r['name']: r for r in results['schemes']}
    # beta = 0.1 multiplies the KL gradient by 0.1 (the weights differ a little
    # between the runs, so only the direction is asserted).
    assert max(by['per_example, beta = 0.1']['ratios'].values()) < \
        max(by['per_example']['ratios'].values())
    tables = kl_study.render_tables(results)
    assert set(tables) == set(kl_study.EXPERIMENTS)
    assert os.path.exists(str(tmp_path / 'results.json'))
    figures = kl_study.plot_study(results, str(tmp_path / 'fig'))
    assert [os.path.basename(p) for p in figures] == ['kl_vs_params.png',
                                                      'grad_ratio_by_scheme.png']
    # The same study continued with --only norms (its runs read back) keeps the others' results.
    lines = []
    again = kl_study.run_study(str(tmp_path), quick=True, experiments=('norms',),
                               log=lines.append)
    as_saved = json.loads(json.dumps(results))
    assert json.loads(json.dumps(again)) == as_saved
    with open(str(tmp_path / 'results.json')) as f:
        assert json.load(f) == as_saved
    assert 'schemes: kept from the earlier results of this study' in lines


def test_the_guide_shows_exactly_the_committed_results():
    with open(RESULTS) as f:
        results = json.load(f)
    assert results['budget']['epochs'] == kl_study.FULL.epochs  # the full budget, not --quick
    with open(GUIDE) as f:
        guide = f.read()
    for name, table in kl_study.render_tables(results).items():
        block = '<!-- study:%s -->\n%s\n<!-- /study:%s -->' % (name, table, name)
        assert block in guide, 'the %s table in docs/kl-weighting.md is stale' % name
    for figure in ('kl_vs_params.png', 'grad_ratio_by_scheme.png'):
        assert os.path.getsize(os.path.join(REPO, 'docs', 'kl_study', figure)) > 1000


def test_update_guide_needs_its_markers(tmp_path):
    guide = tmp_path / 'g.md'
    guide.write_text('text\n<!-- study:a -->\nold\n<!-- /study:a -->\nmore\n')
    kl_study.update_guide(str(guide), {'a': '| new |'})
    assert guide.read_text() == 'text\n<!-- study:a -->\n| new |\n<!-- /study:a -->\nmore\n'
    with pytest.raises(ValueError, match='has no <!-- study:b -->'):
        kl_study.update_guide(str(guide), {'b': 'x'})
