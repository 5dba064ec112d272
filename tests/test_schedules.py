"""tfbnn.schedules: the graph schedule against hand values and its numpy twin."""
import json
import math
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tfbnn import run_config, schedules
from tfbnn.cli.train import main
from tfbnn.errors import ConfigError


def _graph_values(steps, **kwargs):
    step = tf.placeholder(tf.int64, [])
    rate = schedules.learning_rate(step, **kwargs)
    with tf.Session() as sess:
        return np.array([sess.run(rate, {step: s}) for s in steps])


def test_step_schedule_hand_values():
    # M = 10 steps per epoch; x0.5 at epochs 2 and 3.5.
    kw = dict(base=0.1, steps_per_epoch=10, epochs=5, schedule='step', decay_epochs=[3.5, 2],
              decay_factor=0.5)
    steps = [0, 19, 20, 34, 35, 49]
    want = [0.1, 0.1, 0.05, 0.05, 0.025, 0.025]
    np.testing.assert_allclose(_graph_values(steps, **kw), want, rtol=1e-6)
    np.testing.assert_allclose(schedules.learning_rate_value(steps, **kw), want, rtol=1e-12)


@pytest.mark.parametrize('steps_per_epoch, decay_epoch, first', [
    (49, 1, 49), (98, 3, 294), (469, 150, 70350), (10, 1.7, 17), (3, 0.5, 2)])
def test_a_step_decay_starts_at_its_first_step_exactly(steps_per_epoch, decay_epoch, first):
    """e >= d in exact arithmetic: s * (1 / 49) is 0.999... at s = 49 in
    floating point, which put the decay one step late for many M."""
    kw = dict(base=0.1, steps_per_epoch=steps_per_epoch, epochs=500, schedule='step',
              decay_epochs=[decay_epoch], decay_factor=0.1)
    steps = [first - 1, first]
    np.testing.assert_allclose(_graph_values(steps, **kw), [0.1, 0.01], rtol=1e-6)
    np.testing.assert_allclose(schedules.learning_rate_value(steps, **kw), [0.1, 0.01],
                               rtol=1e-12)


@pytest.mark.parametrize('step', [tf.constant(1.5), tf.constant([1, 2]), 1.5, -1],
                         ids=['float', 'vector', 'Python float', 'negative'])
def test_a_step_that_is_not_an_integer_scalar_is_refused(step):
    with pytest.raises(ConfigError, match='learning_rate: step must be an integer scalar'):
        schedules.learning_rate(step, 0.1, 10, 5, 'step', decay_epochs=[1])


def test_cosine_schedule_hand_values():
    kw = dict(base=1.0, steps_per_epoch=4, epochs=2, schedule='cosine', decay_factor=0.1)
    steps = [0, 2, 4, 8, 12]  # epochs 0, 0.5, 1, 2 and past the end
    want = [1.0, 0.1 + 0.9 * (1 + math.cos(math.pi / 4)) / 2, 0.55, 0.1, 0.1]
    np.testing.assert_allclose(_graph_values(steps, **kw), want, rtol=1e-6)
    np.testing.assert_allclose(schedules.learning_rate_value(steps, **kw), want, rtol=1e-12)


def test_warmup_multiplies_any_schedule():
    kw = dict(base=0.2, steps_per_epoch=5, epochs=4, schedule='step', decay_epochs=[2],
              decay_factor=0.1, warmup_epochs=1)
    steps = [0, 4, 5, 10]
    want = [0.2 * 1 / 5, 0.2, 0.2, 0.02]
    np.testing.assert_allclose(_graph_values(steps, **kw), want, rtol=1e-6)


def test_constant_without_warmup_is_the_float_itself():
    assert schedules.learning_rate(tf.constant(3), 0.01, 10, 5) == 0.01


@pytest.mark.parametrize('kwargs,match', [
    (dict(schedule='exp'), 'lr-schedule must be one of constant, step, cosine'),
    (dict(schedule='step'), 'needs --lr-decay-epochs'),
    (dict(schedule='cosine', decay_epochs=[3]), 'applies to --lr-schedule step only'),
    (dict(schedule='step', decay_epochs=[0]), 'positive epoch numbers'),
    (dict(schedule='step', decay_epochs=[2], decay_factor=1.5), r'in \(0, 1\]'),
    (dict(schedule='step', decay_epochs=[2], warmup_epochs=-1), '>= 0'),
])
def test_bad_options_say_what_is_allowed(kwargs, match):
    options = dict(schedule='constant', decay_epochs=[], decay_factor=0.1, warmup_epochs=0.0)
    options.update(kwargs)
    with pytest.raises(ConfigError, match=match):
        schedules.check_schedule(options['schedule'], options['decay_epochs'],
                                 options['decay_factor'], options['warmup_epochs'])


@pytest.mark.parametrize('args,match', [
    ((-0.1, 10, 3), r'^learning_rate: base must be a positive finite number, got -0.1$'),
    ((float('nan'), 10, 3), r'^learning_rate: base must be a positive finite number, got nan$'),
    ((0.1, 0, 3), r'^learning_rate: steps_per_epoch must be a positive integer, got 0$'),
    ((0.1, 10, 0), r'^learning_rate: epochs must be a positive integer, got 0$'),
    ((0.1, 10, 2.5), r'^learning_rate: epochs must be a positive integer, got 2.5$'),
])
def test_the_library_schedule_refuses_what_would_give_nan_or_ascent(args, match):
    with pytest.raises(ConfigError, match=match):  # a cosine at E = 0 was NaN at every step
        schedules.learning_rate(tf.constant(3), *args, schedule='cosine')


def test_the_job_follows_the_schedule_and_resume_continues_it(tmp_path):
    out = str(tmp_path / 'run')
    args = ['--output-dir', out, '--hidden', '8', '--eval-samples', '2', '--progress', 'never',
            '--optimizer', 'sgd', '--learning-rate', '0.5', '--lr-schedule', 'step',
            '--lr-decay-epochs', '1,2', '--lr-decay-factor', '0.5']
    assert main(args + ['--epochs', '2']) == 0
    assert main(args + ['--epochs', '3', '--resume']) == 0
    with open(os.path.join(out, 'history.json')) as f:
        history = json.load(f)
    # Each epoch's mean rate: 0.5, 0.25, then (resumed) 0.125, as uninterrupted.
    np.testing.assert_allclose(history['learning_rate'], [0.5, 0.25, 0.125], rtol=1e-6)
    with open(os.path.join(out, 'config.json')) as f:
        config = json.load(f)
    assert config['lr_schedule'] == 'step' and config['lr_decay_epochs'] == [1.0, 2.0]
    # A resume may switch the step schedule to constant: its decay epochs go too.
    assert main(['--output-dir', out, '--resume', '--epochs', '4', '--lr-schedule',
                 'constant']) == 0
    with open(os.path.join(out, 'history.json')) as f:
        np.testing.assert_allclose(json.load(f)['learning_rate'][-1], 0.5, rtol=1e-6)
    with open(os.path.join(out, 'config.json')) as f:
        config = json.load(f)
    assert config['lr_schedule'] == 'constant' and config['lr_decay_epochs'] == []


def test_cli_rejects_a_bad_schedule_with_one_line(tmp_path, capsys):
    code = main(['--output-dir', str(tmp_path / 'r'), '--lr-schedule', 'step'])
    assert code == 2
    assert 'needs --lr-decay-epochs' in capsys.readouterr().err


def test_old_configs_read_as_a_constant_rate():
    config = run_config.validate(dict(learning_rate=0.01))
    assert config.lr_schedule == 'constant'
    assert run_config.learning_rate(config) == 0.01


@pytest.mark.parametrize('sync', [True, False])
def test_a_replicas_schedule_reads_the_single_process_step(sync):
    """Asynchronous: W updates make one global batch, so the rate at global
    step s is the single-process schedule's at s // W; synchronous: at s."""
    from tfbnn import data
    from tfbnn.training import graph as graph_lib
    dataset = data.load_digits()
    config = run_config.validate(dict(hidden=[4], epochs=4, optimizer='sgd', learning_rate=1.0,
                                      lr_schedule='step', lr_decay_epochs=[1, 2],
                                      lr_decay_factor=0.5, eval_samples=2))
    spec = run_config.model_spec(config, dataset.task, dataset.num_classes)
    replica = graph_lib.Replica(2, 0, sync, '/cpu:0')
    g = graph_lib.build_train_graph(config, dataset, spec, '/cpu:0', replica)
    spe = g.steps_per_epoch  # global batches of W B examples
    with tf.Session() as sess:
        sess.run(tf.global_variables_initializer())
        for s in (0, spe, 2 * spe + 1, 3 * spe):
            g.global_step.load(s, sess)
            single = s if sync else s // 2
            want = schedules.learning_rate_value(single, 1.0, spe, 4, 'step', [1, 2], 0.5)
            assert sess.run(g.fetches['learning_rate']) == pytest.approx(float(want))


def test_nearest_epoch_takes_halves_up():
    # Python's round is half to even: 2.5 -> 2, 4.5 -> 4.
    assert [schedules.nearest_epoch(x) for x in (0.5, 1.5, 2.5, 4.5, 2.49, 150.4, 0.49)] == [
        1, 2, 3, 5, 2, 150, 0]
    assert isinstance(schedules.nearest_epoch(3.0), int)
