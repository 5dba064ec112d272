"""tfbnn/reproduce/mnist_scale_adam.py: the record's choice with its scales trained by Adam."""
import math

import pytest

from tfbnn.errors import ConfigError
from tfbnn.internal.jsonio import read_json
from tfbnn.reproduce.mnist_scale_adam import reproduce_mnist_scale_adam
from tests.reproduce.test_mnist_scales import _record


def test_rates_train_the_full_schedule_are_chosen_on_validation_and_one_is_tested(tmp_path):
    _record(tmp_path)
    lines = []
    result = reproduce_mnist_scale_adam(str(tmp_path), [0.01, 0.001], 10.0, 3, lines.append)
    assert read_json(str(tmp_path / 'mnist_scale_mixture_scale_adam.json')) == result
    assert [c['rate'] for c in result['candidates']] == [0.01, 0.001]
    for rate in (0.01, 0.001):
        config = read_json(str(tmp_path / ('chosen_scaleadam%g_full' % rate) / 'config.json'))
        assert config['scale_optimizer'] == 'adam' and config['scale_learning_rate'] == rate
        assert config['optimizer'] == 'sgd' and config['learning_rate'] == 0.1
        assert config['epochs'] == 3 and config['lr_decay_epochs'] == [2.0]
        assert config['prior_sigma'] == 0.5 and config['kl_weight'] == 1.0
        assert config['max_seconds'] == 600.0
    # The digits' validation split holds 287 images; the rule as mnist-scales has it.
    scores = {c['rate']: c['score'] for c in result['candidates']}
    best = min(scores.values())
    assert result['threshold'] == pytest.approx(best + math.sqrt(best * (1 - best) / 287))
    within = [r for r, s in scores.items() if s <= result['threshold']]
    assert result['scale_learning_rate'] == max(within)
    assert '(n = 287 validation examples)' in result['why']
    # Only the chosen run was scored on the test set.
    chosen = result['run_dir']
    assert chosen == str(tmp_path / ('chosen_scaleadam%g_full' % max(within)))
    for rate in scores:
        metrics = read_json(str(tmp_path / ('chosen_scaleadam%g_full' % rate) / 'metrics.json'))
        assert ('test_error' in metrics) == (rate == result['scale_learning_rate'])
    # What each run's scales did: its validation curve (1 per epoch), and sigma at both ends.
    for run in result['candidates']:
        assert run['curve']['epoch'] == [1, 2, 3] and len(run['curve']['kl']) == 3
        assert run['curve']['val_error'][-1] is not None
        assert sorted(run['sigma_quantiles']) == ['best', 'latest']
        assert sorted(run['sigma_quantiles']['latest']) == ['model/fc1', 'model/output']
    last = result['candidates'][0]['sigma_quantiles']['latest']['model/fc1']
    assert last['0.1'] <= last['0.5'] <= last['0.9']
    assert 'test_error' in result['metrics'] and result['train_seconds_total'] > 0
    assert 'scales trained by Adam at 0.01, 0.001' in lines[0] and 'test error' in lines[-1]
    # Safe to repeat: nothing trains again, the same metrics come back.
    again = reproduce_mnist_scale_adam(str(tmp_path), [0.01, 0.001], 10.0, 3, print)
    assert again['metrics']['test_error'] == result['metrics']['test_error']
    assert again['scale_learning_rate'] == result['scale_learning_rate']


@pytest.mark.parametrize('kwargs,message', [
    (dict(rates=[0.0]), '--scale-learning-rates must be positive numbers, got [0.0]'),
    (dict(rates=[float('inf')]), '--scale-learning-rates must be positive numbers'),
    (dict(rates=[True]), '--scale-learning-rates must be positive numbers'),
    (dict(rates=[]), '--scale-learning-rates must be positive numbers'),
    (dict(rates=[1e-3, 1e-3]), '--scale-learning-rates repeat'),
    (dict(epochs=1), '--epochs must be >= 2'),
    (dict(optimizer='adam'), 'trained with Adam: its scales already take Adam steps'),
    (dict(missing=True), 'not found: run the mnist experiment first'),
])
def test_user_errors(tmp_path, kwargs, message):
    if not kwargs.get('missing'):
        _record(tmp_path, optimizer=kwargs.get('optimizer', 'sgd'))
    with pytest.raises(ConfigError, match=message.replace('[', r'\[').replace(']', r'\]')):
        reproduce_mnist_scale_adam(str(tmp_path), kwargs.get('rates', [1e-3]), 10.0,
                                   kwargs.get('epochs', 3), print)
    assert not any(p.is_dir() for p in tmp_path.iterdir())
