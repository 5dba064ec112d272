"""The --optimizer choices: updates against hand computation, and the job."""
import json
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tfbnn import run_config
from tfbnn.cli.train import main


def _updates(optimizer, lr, momentum, grads):
    """The variable after each step of `optimizer` on a loss with gradient g_t."""
    config = run_config.validate(dict(optimizer=optimizer, learning_rate=lr, momentum=momentum))
    with tf.Graph().as_default():
        v = tf.Variable(np.array([1.0, -2.0]), dtype=tf.float64)
        g = tf.placeholder(tf.float64, [2])
        step = run_config.make_optimizer(config).apply_gradients([(g, v)])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            out = []
            for grad in grads:
                sess.run(step, {g: grad})
                out.append(sess.run(v))
    return np.array(out)


GRADS = [np.array([0.5, -1.0]), np.array([2.0, 0.25]), np.array([-1.0, 1.0])]


def test_sgd_steps_by_minus_lr_times_gradient():
    # Binary fractions: TF holds the step size in float32 before the cast.
    got = _updates('sgd', 0.125, 0.75, GRADS)
    want = np.array([1.0, -2.0]) - 0.125 * np.cumsum(GRADS, axis=0)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_momentum_accumulates_the_gradients():
    got = _updates('momentum', 0.125, 0.75, GRADS)
    v, acc, want = np.array([1.0, -2.0]), np.zeros(2), []
    for grad in GRADS:  # a_t = m a_{t-1} + g_t; v_t = v_{t-1} - lr a_t
        acc = 0.75 * acc + grad
        v = v - 0.125 * acc
        want.append(v)
    np.testing.assert_allclose(got, np.array(want), rtol=0, atol=1e-12)


def test_adam_first_step_moves_each_parameter_by_about_lr():
    # Adam's first bias-corrected step is lr * g / (|g| + eps'): the sign of g
    # times lr, whatever its scale.
    got = _updates('adam', 0.01, 0.9, [np.array([1e-3, -50.0])])[0]
    np.testing.assert_allclose(got, [1.0 - 0.01, -2.0 + 0.01], rtol=0, atol=1e-4)


@pytest.mark.parametrize('optimizer,lr', [('sgd', '0.5'), ('momentum', '0.05')])
def test_job_trains_with_the_optimizer_and_records_it(tmp_path, optimizer, lr):
    out = str(tmp_path / 'run')
    code = main(['--output-dir', out, '--epochs', '2', '--hidden', '16', '--eval-samples', '4',
                 '--progress', 'never', '--optimizer', optimizer, '--learning-rate', lr])
    assert code == 0
    with open(os.path.join(out, 'config.json')) as f:
        assert json.load(f)['optimizer'] == optimizer
    with open(os.path.join(out, 'metrics.json')) as f:
        assert json.load(f)['test_error'] < 0.5  # digits: learns with either
