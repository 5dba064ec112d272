"""tfbnn.serving: the exported predictive's K-draw loop against closed forms,
and its one-line refusals."""
import math

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn import models, serving
from tfbnn.errors import ConfigError


def _spec(task='regression', model='mlp', hidden=(4,)):
    return models.ModelSpec(model, hidden, 'reparameterization', tfbnn.priors.normal(), 'none',
                            0.3, task, 1 if task == 'regression' else 3)


def _rho(scale):
    return math.log(math.expm1(scale))


@pytest.mark.parametrize('offset', [0.0, 10.0])
def test_regression_stddev_is_the_closed_form_far_from_zero(sess, offset):
    """fc1 the identity with no noise, the output weights N(0, 0.01^2) and its
    bias N(offset, 0.01^2), inputs 0.5: var = 4 * 0.25 * 1e-4 + 1e-4 + s^2.
    Sums of squared outputs in float32 lost the spread at offset 10."""
    x = tf.placeholder(tf.float32, [None, 4])
    out = serving.regression_outputs(_spec(), x, serving.num_samples_input(4000))
    v = {var.op.name: var for var in tf.global_variables()}
    sess.run(tf.global_variables_initializer())
    for name, value in (('fc1/kernel_loc', np.eye(4)), ('fc1/bias_loc', np.zeros(4)),
                        ('fc1/kernel_rho', np.full((4, 4), -np.inf)),
                        ('fc1/bias_rho', np.full(4, -np.inf)),
                        ('output/kernel_loc', np.zeros((4, 1))),
                        ('output/kernel_rho', np.full((4, 1), _rho(0.01))),
                        ('output/bias_loc', [offset]), ('output/bias_rho', [_rho(0.01)]),
                        ('log_noise_std', math.log(0.005))):
        v['model/' + name].load(value, sess)
    got = sess.run(out, {x: np.full((3, 4), 0.5)})
    # 4000 draws: the sample stddev's relative error is about 1/sqrt(8000) = 1.1%.
    np.testing.assert_allclose(got['stddev'], math.sqrt(2e-4 + 0.005 ** 2), rtol=0.05)
    np.testing.assert_allclose(got['mean'], offset, atol=0.003)
    np.testing.assert_allclose(got['mean_prediction'], offset, rtol=1e-6)


def test_float64_inputs_are_taken(sess):
    x = tf.placeholder(tf.float64, [None, 4])
    out = serving.regression_outputs(_spec(hidden=()), x, serving.num_samples_input(3))
    sess.run(tf.global_variables_initializer())
    got = sess.run(out, {x: np.ones([2, 4])})
    assert got['stddev'].dtype == np.float64 and np.all(got['stddev'] > 0)


@pytest.mark.parametrize('build,spec,message', [
    (serving.classification_outputs, _spec('classification', 'lstm', (5,)),
     "classification_outputs: model 'lstm' takes one weight draw for the whole graph"),
    (serving.regression_outputs, _spec('classification'),
     "regression_outputs needs a ModelSpec of task 'regression', got task 'classification'"),
    (serving.classification_outputs, _spec(),
     "classification_outputs needs a ModelSpec of task 'classification', got task "
     "'regression'"),
])
def test_what_a_loop_cannot_serve_is_refused(fresh_graph, build, spec, message):
    with pytest.raises(ConfigError, match='^' + message):
        build(spec, tf.ones([2, 4]), serving.num_samples_input(3))


def test_integer_inputs_are_refused(fresh_graph):
    with pytest.raises(ConfigError, match='^regression_outputs: x must be a float tensor, got '
                                          'int32$'):
        serving.regression_outputs(_spec(), tf.ones([2, 4], tf.int32),
                                   serving.num_samples_input(3))


@pytest.mark.parametrize('default', [0, -1, 2.5, True, '3'])
def test_a_bad_default_k_is_refused(fresh_graph, default):
    with pytest.raises(ConfigError, match='^num_samples_input: default must be a positive '
                                          'integer, got %s$' % repr(default).replace('.', r'\.')):
        serving.num_samples_input(default)
