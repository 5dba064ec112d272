"""tfbnn/reproduce/defaults.py: the choice rule, and a tiny grid end to end."""
from tfbnn import run_config
from tfbnn.internal.jsonio import read_json
from tfbnn.reproduce import defaults


def _row(nll, auroc, scale=0.01):
    return dict(posterior_init_scale=scale, mean_val_nll=nll, mean_val_ood_auroc_mi=auroc)


def test_lowest_nll_among_those_reaching_the_auroc_goal():
    rows = [_row(0.07, 0.85), _row(0.08, 0.91), _row(0.09, 0.95), _row(0.075, 0.89)]
    assert defaults.choose(rows) is rows[1]
    # None reaches it: the highest AUROC.
    assert defaults.choose(rows, goal=0.99) is rows[2]


def test_a_tiny_grid_scores_validation_only_and_runs_the_main_job(tmp_path):
    lines = []
    record = defaults.choose_defaults(str(tmp_path), lines.append, seeds=(0,),
                                      init_scales=(0.01,), learning_rates=(0.003,), epochs=(2,),
                                      kl_weights=(1.0, 0.1))
    rows = record['rows']
    assert [r['kl_weight'] for r in rows] == [1.0, 0.1]
    for row in rows:
        assert row['epochs'] == 2 and len(row['val_nll']) == len(row['val_ece']) == 1
        assert 0.1 <= row['mean_val_confidence'] <= 1.0  # at least 1 / (10 classes)
        assert 0.0 <= row['mean_val_ood_auroc_mi'] <= 1.0 and 0.0 <= row['mean_val_ece'] <= 1.0
    # beta reaches the run: its config.json, and a KL coefficient 10x smaller.
    runs = [tmp_path / ('init0.01_lr0.003_e2_kl%g_seed0' % beta) for beta in (1.0, 0.1)]
    assert [read_json(str(r / 'config.json'))['kl_weight'] for r in runs] == [1.0, 0.1]
    coefs = [read_json(str(r / 'history.json'))['kl_coefficient'][-1] for r in runs]
    assert abs(coefs[1] / coefs[0] - 0.1) < 1e-6
    selection = read_json(str(runs[0] / 'metrics.json'))
    assert 'test_error' not in selection and 'val_ood_auroc_mi' in selection
    assert set(record['chosen']) == set(defaults.CHOICES)
    assert record['main_job']['epochs'] == run_config.DEFAULTS['epochs']
    assert 'ood_auroc_mi' in record['main_job']
    assert record['defaults_in_use']['posterior_init_scale'] == \
        run_config.DEFAULTS['posterior_init_scale']
    assert read_json(str(tmp_path / 'defaults.json'))['chosen'] == record['chosen']
    assert 'chose sigma_0 0.01, Adam 0.003, 2 epochs, beta ' in lines[-1]
    assert record['defaults_in_use']['kl_weight'] == run_config.DEFAULTS['kl_weight']
