"""tfbnn.predictive: the in-graph K-sample predictive against numpy."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

import tfbnn
from tfbnn import models, predictive
from tfbnn.errors import ConfigError


def spec(estimator='reparameterization', task='classification', init_scale=0.3):
    return models.ModelSpec('mlp', (16,), estimator, tfbnn.priors.normal(), 'none', init_scale,
                            task, 3 if task == 'classification' else 1)


def numpy_entropy(p):
    return -np.sum(p * np.log(p), axis=-1)


@pytest.mark.parametrize('estimator', ['auto'] + list(tfbnn.layers.ESTIMATORS))
def test_classification_quantities_are_consistent(sess, estimator):
    x = np.random.RandomState(0).randn(7, 4).astype(np.float64)
    pred = predictive.classification_predictive(spec(), tf.constant(x), 20, estimator=estimator)
    sess.run(tf.global_variables_initializer())
    out = sess.run(pred._asdict())
    np.testing.assert_allclose(out['mean_probs'].sum(1), 1.0, rtol=1e-10)
    np.testing.assert_allclose(np.exp(out['log_mean_probs']), out['mean_probs'], rtol=1e-10)
    np.testing.assert_allclose(out['entropy'], numpy_entropy(out['mean_probs']), rtol=1e-8)
    assert np.all(out['mutual_information'] >= 0)
    assert np.all(out['mutual_information'] <= out['entropy'] + 1e-12)
    assert out['mutual_information'].max() > 1e-4  # scale 0.3: real epistemic spread


def test_mutual_information_against_numpy_on_the_same_draws(sess):
    """BALD from the per-sample probabilities the graph used."""
    x = np.random.RandomState(1).randn(5, 4)
    s = spec()
    logits = models.build_network(s, tf.constant(x), num_samples=30, shared_input=True).outputs
    probs = tf.nn.softmax(logits)
    log_mean = tf.reduce_logsumexp(tf.nn.log_softmax(logits), axis=0) - np.log(30.0)
    entropy = -tf.reduce_sum(tf.exp(log_mean) * log_mean, -1)
    sess.run(tf.global_variables_initializer())
    p, h = sess.run([probs, entropy])
    mean = p.mean(0)
    np.testing.assert_allclose(h, numpy_entropy(mean), rtol=1e-8)
    mi = numpy_entropy(mean) - numpy_entropy(p).mean(0)
    np.testing.assert_allclose(tfbnn.metrics.mutual_information(p), mi, rtol=1e-6, atol=1e-12)


def test_auto_estimator_choice():
    assert predictive.eval_estimator(spec('flipout'), 'auto') == 'local_reparameterization'
    lenet = spec('flipout')._replace(model='lenet5')
    assert predictive.eval_estimator(lenet, 'auto') == 'flipout'
    assert predictive.eval_estimator(lenet, 'reparameterization') == 'reparameterization'


def test_local_reparameterization_predictive_equals_weight_sampling_per_example(sess):
    """Per example, the LRT predictive and the weight-sampling predictive are the
    same distribution: their MC means agree within Monte Carlo error."""
    x = np.random.RandomState(2).randn(6, 4)
    s = spec(init_scale=0.5)
    k = 4000
    by_weights = predictive.classification_predictive(s, tf.constant(x), k, 'reparameterization')
    by_noise = predictive.classification_predictive(s, tf.constant(x), k,
                                                    'local_reparameterization')
    sess.run(tf.global_variables_initializer())
    a, b = sess.run([by_weights.mean_probs, by_noise.mean_probs])
    # Probabilities are in [0, 1]: each MC mean has stddev <= 0.5 / sqrt(k).
    assert np.abs(a - b).max() < 5 * np.sqrt(2) * 0.5 / np.sqrt(k)


def test_regression_predictive_moments(sess):
    x = np.random.RandomState(3).randn(9, 4)
    pred = predictive.regression_predictive(spec(task='regression'), tf.constant(x), 25)
    sess.run(tf.global_variables_initializer())
    out = sess.run(pred._asdict())
    assert out['sample_means'].shape == (25, 9)
    np.testing.assert_allclose(out['mean'], out['sample_means'].mean(0), rtol=1e-10)
    np.testing.assert_allclose(out['stddev'], np.sqrt(out['sample_means'].var(0)
                                                      + out['noise_std'] ** 2), rtol=1e-8)
    assert out['mean_weights_prediction'].shape == (9,)


def test_a_spec_of_the_other_task_is_refused(fresh_graph):
    x = tf.ones([2, 4])
    with pytest.raises(ConfigError, match="^classification_predictive needs a ModelSpec of task "
                                          "'classification', got task 'regression'$"):
        predictive.classification_predictive(spec(task='regression'), x, 3)
    with pytest.raises(ConfigError, match="^regression_predictive needs a ModelSpec of task "
                                          "'regression', got task 'classification'$"):
        predictive.regression_predictive(spec(), x, 3)
    with pytest.raises(ConfigError, match="^unknown task 'regresion': choose one of "
                                          "classification, regression$"):
        models.build_network(spec(task='regresion'), x)


def test_a_network_without_hidden_layers_shares_its_input(sess):
    """Its output layer is its first: it takes the K samples' shared input."""
    pred = predictive.regression_predictive(spec(task='regression')._replace(hidden=()),
                                            tf.ones([2, 4]), 5)
    sess.run(tf.global_variables_initializer())
    assert sess.run(pred.sample_means).shape == (5, 2)


@pytest.mark.parametrize('k', [0, -1, 2.5, True])
def test_tile_samples_refuses_a_bad_k(fresh_graph, k):
    with pytest.raises(ConfigError, match='^tile_samples: num_samples must be a positive '
                                          'integer, got %s$' % repr(k).replace('.', r'\.')):
        predictive.tile_samples(tf.ones([2, 4]), k)


def test_tile_samples_takes_a_scalar_integer_tensor(sess):
    k = tf.placeholder_with_default(3, [])
    assert sess.run(predictive.tile_samples(tf.ones([2, 4]), k)).shape == (3, 2, 4)
    with pytest.raises(ConfigError, match=r'^tile_samples: num_samples must be a positive integer '
                                          r'or a scalar integer Tensor, got a Tensor of float32'):
        predictive.tile_samples(tf.ones([2, 4]), tf.constant(3.0))
