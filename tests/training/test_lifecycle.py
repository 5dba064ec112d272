"""tfbnn/training/lifecycle.py: what the single-process job and the cluster
chief share around their steps (signals, the NaN guard, epochs, the time
limit, the closing metrics)."""
import json
import os
import signal
import types

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tfbnn.errors import TrainingDivergedError
from tfbnn.run_config import RunConfig
from tfbnn.training import graph as graph_lib
from tfbnn.training import lifecycle


def _handler_a(signum, frame):
    pass


def _handler_b(signum, frame):
    pass


@pytest.fixture
def own_handlers():
    """Known handlers for SIGTERM and SIGINT during the test; the real ones after it."""
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    signal.signal(signal.SIGTERM, _handler_a)
    signal.signal(signal.SIGINT, _handler_b)
    yield
    for s, h in before.items():
        signal.signal(s, h)


def test_stop_signals_records_and_restores_the_handlers(own_handlers):
    with lifecycle.StopSignals() as signals:
        assert signals.received is None
        assert signal.getsignal(signal.SIGTERM) not in (_handler_a, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)  # recorded, not fatal
        assert signals.received == signal.SIGTERM
        os.kill(os.getpid(), signal.SIGINT)  # no KeyboardInterrupt either
        assert signals.received == signal.SIGINT
    assert signal.getsignal(signal.SIGTERM) is _handler_a
    assert signal.getsignal(signal.SIGINT) is _handler_b


def test_stop_signals_restores_the_handlers_after_an_error(own_handlers):
    with pytest.raises(RuntimeError, match='boom'):
        with lifecycle.StopSignals():
            raise RuntimeError('boom')
    assert signal.getsignal(signal.SIGTERM) is _handler_a
    assert signal.getsignal(signal.SIGINT) is _handler_b


class _Clock(object):
    def __init__(self, now=100.0):
        self.now = now

    def __call__(self):
        return self.now


def test_time_limit_is_reached_only_after_max_seconds():
    clock = _Clock()
    limit = lifecycle.TimeLimit(30, clock)
    clock.now = 130.0  # exactly the limit: not yet past it
    assert not limit.reached() and limit.elapsed() == 30.0
    clock.now = 130.5
    assert limit.reached()
    assert limit.line(17, 240) == ('tfbnn: --max-seconds 30 reached at step 17 of 240; '
                                   'evaluating the model as it is (resume with --resume)')


def test_no_time_limit_is_never_reached():
    clock = _Clock()
    limit = lifecycle.TimeLimit(0, clock)
    clock.now = 1e9
    assert not limit.reached() and limit.elapsed() == 1e9 - 100.0


def test_closing_metrics_against_hand_values():
    # 30 of 36 steps (12 per epoch) after resuming at step 12: 18 steps of
    # 128 examples, 2304 examples in 4 s.
    metrics = lifecycle.closing_metrics(30, 12, 36, 12, 4.5, 2304, 4.0, stopped_early=True)
    assert metrics == dict(examples_per_second=576.0, epochs=2.5, steps=30, resumed_from_step=12,
                           train_seconds=4.5, completed=False, stopped_early=True)
    assert list(metrics) == ['examples_per_second', 'epochs', 'steps', 'resumed_from_step',
                             'train_seconds', 'completed', 'stopped_early']


def test_closing_metrics_of_a_new_run_without_steps():
    metrics = lifecycle.closing_metrics(36, 12, 36, 0, 0.0, 0, 0.0)
    assert metrics['examples_per_second'] is None and metrics['resumed_from_step'] is None
    assert metrics['completed'] is True and metrics['epochs'] == 3.0


def _guarded_step():
    x = tf.placeholder(tf.float32, [])
    return x, tf.debugging.check_numerics(x * 2.0, graph_lib.NON_FINITE_MESSAGE)


def test_run_step_returns_the_fetches_of_a_finite_step(sess):
    x, y = _guarded_step()
    called = []
    assert lifecycle.run_step(_Feeding(sess, {x: 1.5}), y, called.append, called.append) == 3.0
    assert called == []  # the lazy step and checkpoint are not read on success


def test_run_step_turns_the_nan_guard_into_training_diverged(sess):
    x, y = _guarded_step()
    with pytest.raises(TrainingDivergedError, match=r'non-finite \(NaN/Inf\) at step 8; .*'
                                                    r'last good checkpoint: run/model.ckpt-5 '):
        lifecycle.run_step(_Feeding(sess, {x: np.nan}), y, 8, 'run/model.ckpt-5')
    with pytest.raises(TrainingDivergedError) as err:
        lifecycle.run_step(_Feeding(sess, {x: np.inf}), y, lambda: 41, lambda: None)
    assert (err.value.step, err.value.checkpoint) == (41, None)


def _named(name, x):
    return types.SimpleNamespace(name=name, x_train=np.asarray(x, np.float32))


@pytest.mark.parametrize('name, largest, fix', [
    ('npz', 1e30, 'scale or standardise them first, e.g. pixels / 255 or (x - mean) / std per '
                  'feature'),
    ('mnist', -2.55e7, 'raise --pixel-scale (255 maps pixel bytes to [0, 1])'),
])
def test_a_divergence_on_huge_inputs_names_the_data_not_the_step_size(name, largest, fix):
    dataset = _named(name, [[0.5, largest], [1.0, 2.0]])
    advice = ('the training inputs reach |x| = %.3g, beyond what a network trains on: %s; a '
              'smaller --learning-rate will not help' % (abs(largest), fix))
    assert lifecycle.data_scale_advice(dataset) == advice
    with pytest.raises(TrainingDivergedError) as err:
        with lifecycle.advice_on_divergence(dataset):
            raise TrainingDivergedError(3, 'run/model.ckpt-2')
    assert (err.value.step, err.value.checkpoint) == (3, 'run/model.ckpt-2')
    assert str(err.value).endswith('last good checkpoint: run/model.ckpt-2 (%s)' % advice)
    assert '\n' not in str(err.value)


def test_a_divergence_on_inputs_of_a_usual_scale_advises_the_step_size():
    dataset = _named('npz', [[-lifecycle.HUGE_INPUT, 3.0]])
    assert lifecycle.data_scale_advice(dataset) is None
    with pytest.raises(TrainingDivergedError, match=r'\(try a smaller --learning-rate\)$'):
        with lifecycle.advice_on_divergence(dataset):
            raise TrainingDivergedError(3, None)


def test_run_step_keeps_other_errors(sess):
    x = tf.placeholder(tf.float32, [None])
    bad = tf.reshape(x, [3])  # fails when run, with another message
    with pytest.raises(tf.errors.InvalidArgumentError, match='reshape'):
        lifecycle.run_step(_Feeding(sess, {x: [1.0, 2.0]}), bad, 1, None)


class _Feeding(object):
    """A session that feeds the same values with every run (as the job's graph reads its data)."""

    def __init__(self, sess, feed):
        self.sess, self.feed = sess, feed

    def run(self, fetches, options=None):
        return self.sess.run(fetches, self.feed, options=options)


def _result(loss, batch=10, errors=2.0):
    return dict(loss=loss, nll_term=loss - 1.0, kl=4.0, kl_coefficient=0.5, scaled_kl=2.0,
                learning_rate=0.001, batch_size=batch, train_metric_sum=errors)


def test_epochs_log_the_line_and_append_history_json(tmp_path):
    lines = []
    config = RunConfig(output_dir=str(tmp_path), epochs=2)
    dataset = type('D', (), dict(task='classification', target_std=1.0))()
    epochs = lifecycle.Epochs(config, dataset, 3, 6, 0, None, lines.append)
    for loss in (5.0, 7.0, 6.0):
        epochs.add(_result(loss))
    assert epochs.due(3) and not epochs.due(2)
    assert epochs.end(3, lambda epoch, step: dict(val_error=0.25 * epoch + step)) == 1
    assert len(lines) == 1 and lines[0].startswith(
        'epoch 1/2 step 3 | nll term 5 | kl 4 | kl coef 0.5 | scaled kl 2 | loss 6 | '
        'train err 20.00% | ')
    with open(os.path.join(str(tmp_path), 'history.json')) as f:
        history = json.load(f)
    assert history == epochs.history
    assert history['epoch'] == [1] and history['step'] == [3] and history['loss'] == [6.0]
    assert history['train_error'] == [0.2] and history['val_error'] == [3.25]
    assert not epochs.due(5) and epochs.due(6) and epochs.due(7)  # the last step, or past it


def test_epochs_of_a_cluster_report_the_jobs_throughput(tmp_path, monkeypatch):
    config = RunConfig(output_dir=str(tmp_path), epochs=3)
    dataset = type('D', (), dict(task='regression', target_std=2.0))()
    # resumed at global step 4 of 6 per epoch; a global step is 64 examples
    lines = []
    epochs = lifecycle.Epochs(config, dataset, 6, 18, 4, {'epoch': [], 'step': []},
                              lines.append, examples_per_step=64.0)
    epochs.add(_result(3.0, batch=32, errors=8.0))
    monkeypatch.setattr(lifecycle.time, 'time', lambda: epochs.stats.start + 2.0)
    assert epochs.due(6) and epochs.end(6) == 1
    # (6 - 4) global steps x 64 examples in 2 s; the chief's own share would be 16/s
    assert epochs.history['examples_per_second'] == [64.0]
    assert epochs.history['train_rmse'] == [0.5]  # sqrt(8 / 32)
    assert lines[1] == ("tfbnn: epoch 1's means (here and in history.json) cover steps 5-6 only: "
                        "the run resumed mid-epoch, at step 4")
    epochs.add(_result(3.0, batch=32, errors=8.0))
    assert epochs.end(25) == 3  # asynchronous replicas past the end: still the last epoch
    assert len(lines) == 3  # a whole epoch says nothing more


def test_an_asynchronous_chief_labels_the_epoch_it_saw_end(tmp_path):
    # Other workers move the global step too: a fresh chief starts past step 0 and
    # sees each epoch's end a few steps late. Neither is a resume, nor the next epoch.
    config = RunConfig(output_dir=str(tmp_path), epochs=3)
    dataset = type('D', (), dict(task='classification', target_std=1.0))()
    lines = []
    epochs = lifecycle.Epochs(config, dataset, 60, 180, 2, None, lines.append,
                              examples_per_step=16.0, resumed=False)
    ends = []
    for step in (63, 122, 185):
        epochs.add(_result(1.0))
        assert epochs.due(step)
        ends.append(epochs.end(step))
    assert ends == [1, 2, 3] and epochs.history['epoch'] == [1, 2, 3]
    assert not [line for line in lines if 'resumed' in line]
