"""tfbnn/reproduce/pruning_retrain.py: prune by SNR, then train the kept weights on."""
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tfbnn import run_config
from tfbnn.errors import CheckpointError, ConfigError
from tfbnn.internal import checkpoint_reader
from tfbnn.internal.jsonio import read_json
from tfbnn.reproduce.pruning_retrain import (describe_rate, last_rate,
                                             reproduce_pruning_retrain, rewound_schedule, stages)
from tfbnn.training import train


@pytest.mark.parametrize('options,expected', [
    (dict(learning_rate=0.1), 0.1),
    (dict(learning_rate=0.1, lr_schedule='step', lr_decay_epochs=(150,), lr_decay_factor=0.1,
          epochs=188), 0.01),
    (dict(learning_rate=0.1, lr_schedule='step', lr_decay_epochs=(2, 3), lr_decay_factor=0.5,
          epochs=4), 0.025),
    # a decay at the very last epoch has not happened by its last step
    (dict(learning_rate=0.1, lr_schedule='step', lr_decay_epochs=(4,), epochs=4), 0.1),
    # cosine: its floor, to within one step of 1/1000 epoch of it
    (dict(learning_rate=0.2, lr_schedule='cosine', lr_decay_factor=0.05, epochs=10), 0.01),
])
def test_last_rate_is_the_rate_of_the_run_s_last_step(options, expected):
    assert last_rate(run_config.validate(options)) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize('options,epochs,expected', [
    # the MNIST run: 0.1, x0.1 at 180 of 240 -> 0.1 for 15 of 20 epochs, or 30 of 40
    (dict(learning_rate=0.1, lr_schedule='step', lr_decay_epochs=(180,), epochs=240), 20,
     dict(lr_schedule='step', learning_rate=0.1, lr_decay_epochs=(15,))),
    (dict(learning_rate=0.1, lr_schedule='step', lr_decay_epochs=(180,), epochs=240), 40,
     dict(lr_schedule='step', learning_rate=0.1, lr_decay_epochs=(30,))),
    # its refit: x0.1 at 150 of 188 -> round(15.96) = 16
    (dict(learning_rate=0.1, lr_schedule='step', lr_decay_epochs=(150,), epochs=188), 20,
     dict(lr_schedule='step', learning_rate=0.1, lr_decay_epochs=(16,))),
    # decays before epoch 1 keep their fraction and both count (the run ended at 0.2 x 0.5^2);
    # one at the run's end never took effect and goes; the warm-up shrinks with the schedule
    (dict(learning_rate=0.2, lr_schedule='step', lr_decay_epochs=(1, 2, 100), epochs=100,
          lr_decay_factor=0.5, lr_warmup_epochs=10.0), 10,
     dict(lr_schedule='step', learning_rate=0.2, lr_decay_epochs=(0.1, 0.2), lr_decay_factor=0.5,
          lr_warmup_epochs=1.0)),
    # a decay in the run's last epoch stays inside the retraining's last epoch
    (dict(learning_rate=0.1, lr_schedule='step', lr_decay_epochs=(239,), epochs=240), 20,
     dict(lr_schedule='step', learning_rate=0.1, lr_decay_epochs=(239 / 12.0,))),
    # no decay that took effect: the run's constant base rate
    (dict(learning_rate=0.3, lr_schedule='step', lr_decay_epochs=(3,), epochs=3), 2,
     dict(lr_schedule='constant', learning_rate=0.3, lr_decay_epochs=())),
    (dict(learning_rate=0.2, lr_schedule='cosine', lr_decay_factor=0.05, epochs=100,
          lr_warmup_epochs=5.0), 10,
     dict(lr_schedule='cosine', learning_rate=0.2, lr_decay_epochs=(), lr_decay_factor=0.05,
          lr_warmup_epochs=0.5)),
])
def test_a_rewound_schedule_is_the_run_s_own_compressed(options, epochs, expected):
    config = run_config.validate(options)
    rewound = rewound_schedule(config, epochs)
    expected = dict(dict(lr_decay_factor=0.1, lr_warmup_epochs=0.0), **expected)
    assert sorted(rewound) == sorted(expected)
    assert rewound['lr_schedule'] == expected['lr_schedule']
    assert rewound['lr_decay_epochs'] == pytest.approx(expected['lr_decay_epochs'], abs=1e-12)
    for key in ('learning_rate', 'lr_decay_factor', 'lr_warmup_epochs'):
        assert rewound[key] == pytest.approx(expected[key], rel=1e-12)
    # compressed or not, the retraining ends at the run's own last rate
    assert last_rate(run_config.validate(dict(options, epochs=epochs, **rewound))) == \
        pytest.approx(last_rate(config), rel=1e-6)


@pytest.mark.parametrize('epochs', [0, 2.5, True])
def test_a_rewound_schedule_needs_whole_epochs(epochs):
    config = run_config.validate(dict(learning_rate=0.1))
    with pytest.raises(ConfigError, match='retraining epochs must be an integer >= 1'):
        rewound_schedule(config, epochs)


@pytest.mark.parametrize('options,words', [
    (dict(learning_rate=0.01), 'at 0.01'),  # a record from before 2026-12-05
    (dict(learning_rate=0.1, lr_schedule='step', lr_decay_epochs=[15], lr_decay_factor=0.1),
     'at 0.1, x0.1 at epoch 15'),
    (dict(learning_rate=0.2, lr_schedule='step', lr_decay_epochs=[0.1, 0.2],
          lr_decay_factor=0.5, lr_warmup_epochs=1.0),
     'at 0.2, x0.5 at epochs 0.1,0.2, warm-up 1 epoch'),
    (dict(learning_rate=0.2, lr_schedule='cosine', lr_decay_factor=0.05, lr_warmup_epochs=0.0),
     'at 0.2, cosine to x0.05'),
])
def test_a_retraining_rate_is_described_in_words(options, words):
    assert describe_rate(options) == words


def _trained(tmp_path):
    out = str(tmp_path / 'run')
    metrics = train(dict(dataset='digits', hidden=[16], epochs=3, eval_samples=2,
                         progress='never', learning_rate=0.3, optimizer='sgd',
                         lr_schedule='step', lr_decay_epochs=[2], output_dir=out),
                    stream=open(str(tmp_path / 'log.txt'), 'w'))
    return out, metrics


def test_each_fraction_is_pruned_then_retrained_at_the_last_rate(tmp_path):
    run_dir, metrics = _trained(tmp_path)
    lines = []
    out_path = str(tmp_path / 'pruning' / 'retrain.json')
    record = reproduce_pruning_retrain(run_dir, metrics, out_path, lines.append,
                                       fractions=(0.5, 0.9), epochs=2)
    assert read_json(out_path) == record
    assert record['learning_rate'] == pytest.approx(0.03) and record['epochs'] == 2
    assert record['base'] == dict(test_error=100 * metrics['mean_weights_test_error'],
                                  predictive_test_error=100 * metrics['test_error'])
    total = 64 * 16 + 16 * 10
    for row, fraction in zip(record['rows'], (0.5, 0.9)):
        run = os.path.join(str(tmp_path / 'pruning' / 'retrain'), 'f%g' % fraction)
        config = read_json(os.path.join(run, 'config.json'))
        assert config['warm_start'] == record['checkpoint'] and config['prune_fraction'] == \
            fraction
        assert (config['lr_schedule'], config['epochs']) == ('constant', 2)
        assert config['learning_rate'] == pytest.approx(0.03)
        run_metrics = read_json(os.path.join(run, 'metrics.json'))
        assert row['test_error'] == 100 * run_metrics['mean_weights_test_error']
        assert row['test_error_change'] == pytest.approx(
            row['test_error'] - record['base']['test_error'])
        assert abs(row['pruned_fraction'] - fraction) <= 2.0 / total
        reader = checkpoint_reader.reader(tf.train.latest_checkpoint(run))
        rho = reader.get_tensor('model/fc1/kernel_rho')
        assert np.all(reader.get_tensor('model/fc1/kernel_loc')[np.isneginf(rho)] == 0)
    assert lines[1].startswith('pruning-retrain: 50% removed and retrained: test error ')
    # Safe to repeat: the finished runs are reused, the same record comes back.
    log = open(os.path.join(str(tmp_path / 'pruning' / 'retrain'), 'f0.9', 'train.log')).read()
    assert reproduce_pruning_retrain(run_dir, metrics, out_path, print, fractions=(0.5, 0.9),
                                     epochs=2) == record
    assert open(os.path.join(str(tmp_path / 'pruning' / 'retrain'), 'f0.9',
                             'train.log')).read() == log


def test_stages_prune_each_fraction_at_once_or_in_one_chain():
    assert stages((0.95, 0.98), 'one-shot') == [(0.95,), (0.98,)]
    assert stages((0.95, 0.98), 'iterative') == [(0.5, 0.75, 0.9, 0.95, 0.98)]
    assert stages((0.6,), 'iterative') == [(0.5, 0.6)]
    assert stages((0.3,), 'iterative') == [(0.3,)]


def test_an_iterative_schedule_starts_each_pruning_from_the_last_retrained_run(tmp_path):
    run_dir, metrics = _trained(tmp_path)
    out_path = str(tmp_path / 'it.json')
    record = reproduce_pruning_retrain(run_dir, metrics, out_path, print, fractions=(0.9,),
                                       epochs=1, schedule='iterative')
    assert record['schedule'] == 'iterative'
    assert [(r['fraction'], r['reported']) for r in record['rows']] == [
        (0.5, False), (0.75, False), (0.9, True)]
    start = record['checkpoint']
    for fraction in (0.5, 0.75, 0.9):
        run = str(tmp_path / 'it' / ('f%g' % fraction))
        assert read_json(os.path.join(run, 'config.json'))['warm_start'] == start
        start = tf.train.latest_checkpoint(run)
    # What one stage removed stays removed in the next.
    first = checkpoint_reader.reader(tf.train.latest_checkpoint(str(tmp_path / 'it' / 'f0.5')))
    last = checkpoint_reader.reader(start)
    gone = np.isneginf(first.get_tensor('model/fc1/kernel_rho'))
    assert gone.any() and np.all(np.isneginf(last.get_tensor('model/fc1/kernel_rho'))[gone])


def test_a_rewound_retraining_runs_the_run_s_schedule_again(tmp_path):
    run_dir, metrics = _trained(tmp_path)  # 0.3, x0.1 at epoch 2 of 3
    lines = []
    out_path = str(tmp_path / 'rw.json')
    record = reproduce_pruning_retrain(run_dir, metrics, out_path, lines.append,
                                       fractions=(0.9,), epochs=2, rate='rewind')
    assert (record['rate'], record['lr_schedule'], record['lr_decay_epochs'],
            record['lr_decay_factor']) == ('rewind', 'step', [1], 0.1)
    assert record['learning_rate'] == pytest.approx(0.3)
    run = str(tmp_path / 'rw' / 'f0.9')
    config = read_json(os.path.join(run, 'config.json'))
    assert (config['lr_schedule'], config['lr_decay_epochs'], config['epochs']) == (
        'step', [1], 2)
    rates = read_json(os.path.join(run, 'history.json'))['learning_rate']
    assert rates == pytest.approx([0.3, 0.03])
    assert lines[0].endswith('then 2 epochs at 0.3, x0.1 at epoch 1')


def test_a_retraining_its_budget_stopped_is_not_recorded(tmp_path):
    run_dir, metrics = _trained(tmp_path)
    out_path = str(tmp_path / 'r.json')
    with pytest.raises(ConfigError, match=r'the retraining at 0.9 stopped at epoch [0-9.]+ of '
                                          r'3 \(its budget ran out\)'):
        reproduce_pruning_retrain(run_dir, metrics, out_path, print, fractions=(0.9,),
                                  epochs=3, budget_minutes=1e-6)
    assert not os.path.exists(out_path)


@pytest.mark.parametrize('kwargs,error,message', [
    (dict(fractions=(0.0,)), ConfigError, r'fractions must be distinct fractions in \(0, 1\), '
                                          r'got 0$'),
    (dict(fractions=()), ConfigError, r'fractions must be distinct fractions in \(0, 1\), '
                                      r'got none'),
    (dict(fractions=(0.5, 0.5)), ConfigError, r'fractions must be distinct fractions in \(0, 1\), '
                                              r'got 0.5, 0.5'),
    (dict(epochs=0), ConfigError, 'retraining epochs must be an integer >= 1, got 0'),
    (dict(epochs=2.5), ConfigError, 'retraining epochs must be an integer >= 1, got 2.5'),
    (dict(schedule='gradual'), ConfigError, "schedule must be one of one-shot, iterative, got "
                                            "'gradual'"),
    (dict(rate='warm'), ConfigError, "rate must be one of last, rewind, got 'warm'"),
])
def test_bad_arguments_are_refused(tmp_path, kwargs, error, message):
    with pytest.raises(error, match=message):
        reproduce_pruning_retrain(str(tmp_path), SCORED, str(tmp_path / 'r.json'), print,
                                  **kwargs)


SCORED = dict(test_error=0.02, mean_weights_test_error=0.02)


def test_a_regression_run_or_a_missing_run_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="metrics have no test_error or mean_weights_test_error: "
                                          "it was not scored on the test set"):
        reproduce_pruning_retrain(str(tmp_path / 'none'), dict(val_error=0.1),
                                  str(tmp_path / 'r.json'), print)
    with pytest.raises(CheckpointError, match='config.json not found'):
        reproduce_pruning_retrain(str(tmp_path / 'none'), SCORED, str(tmp_path / 'r.json'),
                                  print)
    out = str(tmp_path / 'reg')
    train(dict(dataset='toy_regression', hidden=[8], epochs=1, eval_samples=2,
               progress='never', output_dir=out), stream=open(str(tmp_path / 'log.txt'), 'w'))
    with pytest.raises(CheckpointError, match="is not a classification run .* 'regression'"):
        reproduce_pruning_retrain(out, SCORED, str(tmp_path / 'r.json'), print)
