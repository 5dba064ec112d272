"""tfbnn/reproduce/mnist_mean_init.py: the record's choice with its means started at U(-A, A)."""
import os

import pytest

from tfbnn.errors import ConfigError
from tfbnn.internal.jsonio import read_json, write_json
from tfbnn.reproduce.mnist_mean_init import reproduce_mnist_mean_init
from tests.reproduce.test_mnist_scales import _record

_RECORD_METRICS = dict(test_error=0.25, ece=0.01, test_nll=0.5, selected_epoch=3, epochs=3.0)


def _full_record(tmp_path, val_error, **options):
    """The test record of mnist-scales with the record's own run scored on validation."""
    _record(tmp_path)
    path = str(tmp_path / 'mnist_scale_mixture.json')
    record = read_json(path)
    record['chosen_options'].update(options)
    write_json(path, dict(record, run_dir=str(tmp_path / 'chosen_full'), train_seconds_total=9.0,
                          metrics=dict(_RECORD_METRICS, val_error=val_error)))


def _run(tmp_path, lines=None, **kwargs):
    log = ([] if lines is None else lines).append
    return reproduce_mnist_mean_init(str(tmp_path), kwargs.pop('limits', [0.03, 0.01]), 10.0,
                                     kwargs.pop('epochs', 3), log, **kwargs)


def test_train_only_trains_each_limit_then_the_choice_reuses_the_runs(tmp_path):
    _full_record(tmp_path, val_error=1.0)
    lines = []
    assert _run(tmp_path, lines, train_only=True) is None
    assert 'run again without --train-only' in lines[-1]
    assert not (tmp_path / 'mnist_scale_mixture_mean_init.json').exists()
    for limit in ('0.03', '0.01'):
        run_dir = tmp_path / ('chosen_mu%s_full' % limit)
        config = read_json(str(run_dir / 'config.json'))
        assert config['posterior_init_mean'] == 'uniform:' + limit
        assert config['optimizer'] == 'sgd' and config['epochs'] == 3
        assert config['lr_decay_epochs'] == [2.0] and config['kl_weight'] == 1.0
        assert config['prior_sigma'] == 0.5 and config['max_seconds'] == 600.0
        assert 'test_error' not in read_json(str(run_dir / 'metrics.json'))
    logs = {p: (tmp_path / p / 'train.log').read_text()
            for p in ('chosen_mu0.03_full', 'chosen_mu0.01_full')}
    lines = []
    result = _run(tmp_path, lines)
    # Nothing trained again; only the chosen run was resumed, to be scored on test.
    chosen = os.path.basename(result['run_dir'])
    for name, text in logs.items():
        now = (tmp_path / name / 'train.log').read_text()
        assert (now == text) == (name != chosen)
    assert read_json(str(tmp_path / 'mnist_scale_mixture_mean_init.json')) == result
    # The record's run scored 1.0: the better of the two new runs is chosen and tested, once.
    kept, runs = result['candidates'][0], result['candidates'][1:]
    assert kept['name'] == 'chosen_full' and kept['limit'] is None and kept['score'] == 1.0
    best = min(runs, key=lambda r: r['score'])
    assert result['mean_init_limit'] == best['limit'] and result['run_dir'] == str(
        tmp_path / best['name'])
    for run in runs:
        metrics = read_json(str(tmp_path / run['name'] / 'metrics.json'))
        assert ('test_error' in metrics) == (run is best)
        assert sorted(run['sigma_quantiles']) == ['best', 'latest']
        assert run['curve']['epoch'] == [1, 2, 3]
    assert result['metrics']['test_error'] != _RECORD_METRICS['test_error']
    assert 'A = %g' % best['limit'] in lines[-1] and 'test error' in lines[-1]


def test_a_tie_keeps_the_record_and_a_budget_stopped_choice_is_not_tested(tmp_path):
    _full_record(tmp_path, val_error=1.0)
    _run(tmp_path, train_only=True, limits=[0.03])
    score = read_json(str(tmp_path / 'chosen_mu0.03_full' / 'metrics.json'))['val_error']
    _full_record(tmp_path, val_error=score)
    result = _run(tmp_path, limits=[0.03])
    assert result['mean_init_limit'] is None and result['run_dir'] == str(tmp_path / 'chosen_full')
    # A run whose budget ran out before its schedule's end wins: scoring it on test would
    # train it on, so the experiment stops and says why.
    _full_record(tmp_path, val_error=1.0)
    with pytest.raises(ConfigError, match=r'chosen_mu0.5_full stopped at epoch [0-9.]+ of 3 '
                                          r'\(its --budget-minutes ran out\)'):
        reproduce_mnist_mean_init(str(tmp_path), [0.5], 1e-6, 3, print)
    metrics = read_json(str(tmp_path / 'chosen_mu0.5_full' / 'metrics.json'))
    assert metrics['epochs'] < 3 and 'test_error' not in metrics


def test_the_record_is_kept_when_no_limit_beats_it_on_validation(tmp_path):
    _full_record(tmp_path, val_error=0.0)
    lines = []
    result = _run(tmp_path, lines, limits=[0.05])
    assert result['mean_init_limit'] is None
    assert result['run_dir'] == str(tmp_path / 'chosen_full')
    assert result['metrics'] == dict(_RECORD_METRICS, val_error=0.0)
    assert result['train_seconds_total'] == 9.0
    assert 'test_error' not in read_json(str(tmp_path / 'chosen_mu0.05_full' / 'metrics.json'))
    assert "kept the record's Glorot run" in lines[-2] and 'Glorot (the record)' in lines[-1]


@pytest.mark.parametrize('kwargs,message', [
    (dict(limits=[0.0]), '--limits must be finite numbers > 0, got 0.0 in [0.0]'),
    (dict(limits=[0.1, float('inf')]), '--limits must be finite numbers > 0, got inf in'),
    (dict(limits=[float('nan')]), '--limits must be finite numbers > 0, got nan'),
    (dict(limits=[True]), '--limits must be finite numbers > 0, got True'),
    (dict(limits=[]), '--limits must be one or more distinct numbers, got []'),
    (dict(limits=[0.03, 0.03]), '--limits must be one or more distinct numbers, got [0.03, 0.03]'),
    (dict(epochs=1), '--epochs must be >= 2'),
    (dict(epochs=4), "--epochs 4: the record's Glorot run trained 3 epochs"),
    (dict(init='he_normal'), 'did not start from Glorot-uniform means'),
    (dict(missing=True), 'not found: run the mnist experiment first'),
])
def test_user_errors(tmp_path, kwargs, message):
    if not kwargs.get('missing'):
        options = dict(posterior_init_mean=kwargs['init']) if 'init' in kwargs else {}
        _full_record(tmp_path, 0.5, **options)
    with pytest.raises(ConfigError, match=message.replace('[', r'\[').replace(']', r'\]')):
        _run(tmp_path, limits=kwargs.get('limits', [0.03]), epochs=kwargs.get('epochs', 3))
    assert not any(p.is_dir() for p in tmp_path.iterdir())
