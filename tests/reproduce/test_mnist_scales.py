"""tfbnn/reproduce/mnist_scales.py: the choice of the rho step multiplier M."""
import math
import os

import pytest

from tfbnn.errors import ConfigError
from tfbnn.internal.jsonio import read_json, write_json
from tfbnn.reproduce import mnist
from tfbnn.reproduce.mnist_scales import one_standard_error_choice, reproduce_mnist_scales


def test_the_largest_multiplier_within_one_standard_error_of_the_best_is_chosen():
    # best 0.0188 on 10000 images: SE = sqrt(0.0188 * 0.9812 / 10000) = 0.0013582
    records = [dict(multiplier=1.0, score=0.0188), dict(multiplier=10.0, score=0.0201),
               dict(multiplier=30.0, score=0.0202), dict(multiplier=100.0, score=0.03)]
    choice, threshold = one_standard_error_choice(records, 10000)
    assert threshold == pytest.approx(0.0188 + math.sqrt(0.0188 * 0.9812 / 10000), rel=1e-12)
    assert threshold == pytest.approx(0.0201582, abs=1e-7)
    assert choice['multiplier'] == 10.0  # 0.0202 is just outside
    # a multiplier that is itself the best is chosen
    choice, _ = one_standard_error_choice([dict(multiplier=1.0, score=0.05),
                                           dict(multiplier=3.0, score=0.01)], 100)
    assert choice['multiplier'] == 3.0
    with pytest.raises(ValueError, match='no candidates'):
        one_standard_error_choice([], 10)
    with pytest.raises(ValueError, match='num_validation must be >= 1'):
        one_standard_error_choice(records, 0)


def _record(tmp_path, optimizer='sgd', select_epochs=2):
    protocol = dict(dataset='digits', hidden=[8], eval_samples=2, validation_size=0.2,
                    validate_every=1, seed=0, optimizer=optimizer, learning_rate=0.1,
                    posterior_init_scale=0.02, **mnist.schedule_options(3))
    candidate = dict(name='chosen', options=dict(prior_sigma=0.5), score_key='val_error',
                     score=0.5, train_seconds=1.0, epochs=2.0)
    write_json(str(tmp_path / 'mnist_scale_mixture.json'), dict(
        experiment='mnist', protocol=protocol, chosen='chosen',
        chosen_options=dict(prior_sigma=0.5), prior='scale_mixture', select_epochs=select_epochs,
        candidates=[candidate]))


def test_multipliers_are_compared_on_validation_and_the_choice_trains_the_full_schedule(
        tmp_path):
    _record(tmp_path)
    lines = []
    result = reproduce_mnist_scales(str(tmp_path), [1.0, 5.0], 10.0, 3, 2, lines.append)
    assert read_json(str(tmp_path / 'mnist_scale_mixture_scales.json')) == result
    # M = 1 comes from the record (same compressed schedule): only M = 5 trained.
    assert [c['multiplier'] for c in result['candidates']] == [1.0, 5.0]
    assert result['candidates'][0]['source'] == 'mnist record'
    assert os.path.isdir(str(tmp_path / 'chosen_m5'))
    assert not os.path.isdir(str(tmp_path / 'chosen_m1'))
    selected = read_json(str(tmp_path / 'chosen_m5' / 'config.json'))
    assert selected['scale_lr_multiplier'] == 5.0 and selected['epochs'] == 2
    assert selected['evaluate_test'] is False and selected['kl_weight'] == 1.0
    # the digits' validation split holds 20% of the 1437 training images: 287
    assert '(n = 287 validation examples)' in result['why']
    scores = {c['multiplier']: c['score'] for c in result['candidates']}
    expected, threshold = one_standard_error_choice(result['candidates'], 287)
    assert result['chosen_multiplier'] == expected['multiplier']
    assert threshold == pytest.approx(min(scores.values()) + math.sqrt(
        min(scores.values()) * (1 - min(scores.values())) / 287))
    full = read_json(os.path.join(result['run_dir'], 'config.json'))
    assert full['epochs'] == 3 and full['scale_lr_multiplier'] == result['chosen_multiplier']
    assert full['prior_sigma'] == 0.5 and full['max_seconds'] == 600.0
    assert 'test_error' in result['metrics'] and 'M = 1 from mnist_scale_mixture.json' in lines[0]
    # Safe to repeat: nothing trains again, the same record comes back.
    again = reproduce_mnist_scales(str(tmp_path), [1.0, 5.0], 10.0, 3, 2, print)
    assert again['metrics'] == result['metrics']


def test_m1_is_trained_when_the_record_used_another_compressed_schedule(tmp_path):
    _record(tmp_path, select_epochs=20)
    result = reproduce_mnist_scales(str(tmp_path), [1.0], 10.0, 2, 2, print)
    assert result['candidates'][0].get('source') is None
    assert os.path.isdir(str(tmp_path / 'chosen_m1'))


def test_the_record_s_m1_is_not_a_candidate_unless_asked_for(tmp_path):
    _record(tmp_path)
    result = reproduce_mnist_scales(str(tmp_path), [5.0], 10.0, 2, 2, print)
    assert [c['multiplier'] for c in result['candidates']] == [5.0]


@pytest.mark.parametrize('kwargs,message', [
    (dict(multipliers=[0.0, 10.0]), 'must be positive numbers'),
    (dict(multipliers=[10.0, 10.0]), 'repeat'),
    (dict(epochs=1), '--epochs must be >= 2'),
    (dict(select_epochs=1), '--select-epochs must be >= 2'),
    (dict(optimizer='adam'), 'trained with Adam'),
    (dict(missing=True), 'not found: run the mnist experiment first'),
])
def test_user_errors(tmp_path, kwargs, message):
    if not kwargs.get('missing'):
        _record(tmp_path, optimizer=kwargs.get('optimizer', 'sgd'))
    with pytest.raises(ConfigError, match=message):
        reproduce_mnist_scales(str(tmp_path), kwargs.get('multipliers', [1.0, 10.0]), 10.0,
                               kwargs.get('epochs', 3), kwargs.get('select_epochs', 2), print)
