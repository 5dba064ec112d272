"""The K-sample posterior predictive, in the graph, in one `sess.run` per batch.

The network is built with `num_samples=K` on inputs shared by the K slices,
so every slice gets its own weight sample and a batch's whole Monte Carlo
predictive is a single run, where the TFP example loops K `sess.run` calls in
Python.
"""
import collections
import math

import tensorflow.compat.v1 as tf

from tfbnn import models
from tfbnn.errors import ConfigError
from tfbnn.internal import sample_axis
from tfbnn.internal.arg_checks import check_integer_scalar, check_positive_int

__all__ = ['ClassificationPredictive', 'RegressionPredictive', 'classification_predictive',
           'regression_predictive', 'tile_samples', 'eval_estimator', 'check_task']

ClassificationPredictive = collections.namedtuple('ClassificationPredictive', [
    'mean_probs', 'log_mean_probs', 'entropy', 'mutual_information', 'mean_weights_probs'])
ClassificationPredictive.__doc__ = """Per-example predictive quantities, `[batch, ...]`.

Attributes:
  mean_probs: `[batch, classes]`, (1/K) sum_k softmax(f_k(x)).
  log_mean_probs: `[batch, classes]`, log of mean_probs by log-sum-exp
    (accurate where a probability underflows).
  entropy: `[batch]`, H[mean_probs] in nats: total uncertainty.
  mutual_information: `[batch]`, H[mean_probs] - (1/K) sum_k H[p_k]: the
    epistemic part (Houlsby et al. 2011, BALD).
  mean_weights_probs: `[batch, classes]`, softmax of the posterior-mean network.
"""

RegressionPredictive = collections.namedtuple('RegressionPredictive', [
    'sample_means', 'noise_std', 'mean', 'stddev', 'mean_weights_prediction'])
RegressionPredictive.__doc__ = """Per-example predictive quantities (normalised units).

Attributes:
  sample_means: `[K, batch]` network outputs, one row per weight sample.
  noise_std: scalar learned observation noise.
  mean: `[batch]` predictive mean.
  stddev: `[batch]` total predictive stddev, sqrt(var_k(means) + noise^2).
  mean_weights_prediction: `[batch]` the posterior-mean network's output.
"""


def tile_samples(x, num_samples, name=None):
    """[batch, ...] -> [num_samples, batch, ...], the same batch K times
    (`num_samples` a positive Python int K, or a scalar integer Tensor)."""
    if isinstance(num_samples, (tf.Tensor, tf.Variable)):
        check_integer_scalar('tile_samples', 'num_samples', num_samples,
                             'a positive integer or a scalar integer Tensor')
    else:
        num_samples = check_positive_int('tile_samples', 'num_samples', num_samples)
    with tf.name_scope(name, 'tile_samples', [x]):
        return sample_axis.tile_samples(tf.convert_to_tensor(x), num_samples)


def check_task(spec, task, where):
    """ConfigError unless `spec` is a `ModelSpec` of `task` ('classification'
    or 'regression'): the other task's network would build and give numbers
    of another meaning (a softmax over the examples of a regression)."""
    if not isinstance(spec, models.ModelSpec):
        raise ConfigError('%s: spec must be a tfbnn.models.ModelSpec, got %r' % (where, spec))
    if spec.task != task:
        raise ConfigError('%s needs a ModelSpec of task %r, got task %r'
                          % (where, task, spec.task))


def _log_mean_exp(log_p, num_samples):
    """log (1/K) sum_k exp(log_p[k]) over the sample axis 0, `[K, batch, C]` ->
    `[batch, C]`.

    `tf.reduce_logsumexp`'s operations in its order (the same numbers to the
    last bit), but with the shift taken without `keepdims`, so no reshape
    follows: converted to ONNX, that reshape fails in onnxruntime on an empty
    batch.
    """
    raw_max = tf.reduce_max(log_p, axis=0)
    shift = tf.stop_gradient(tf.where(tf.is_finite(raw_max), raw_max, tf.zeros_like(raw_max)))
    log_sum = tf.log(tf.reduce_sum(tf.exp(log_p - shift), axis=0)) + shift
    return log_sum - math.log(num_samples)


def _entropy(log_p):
    return -tf.reduce_sum(tf.exp(log_p) * log_p, axis=-1)


def eval_estimator(spec, choice='auto'):
    """The estimator the predictive samples with.

    'auto' picks local reparameterisation for networks of dense layers only
    ('mlp'): under a mean-field posterior the pre-activations of one example
    are independent Normals given the layer's input, so drawing them directly
    gives each example exactly the predictive distribution that drawing whole
    weight matrices gives (only correlations between examples differ, which
    no per-example metric sees), at the cost of two matrix products per layer
    instead of K weight draws. For convolutions that is not exact (positions
    share a kernel), so 'auto' keeps the training estimator there.
    """
    if choice != 'auto':
        return choice
    return 'local_reparameterization' if spec.model == 'mlp' else spec.estimator


def classification_predictive(spec, x, num_samples, estimator='auto', name=None):
    """Builds the K-sample predictive of a classifier on inputs `x` `[batch, ...]`.

    The network input is shared by the K samples (`shared_input`), so the
    first layer's sample-independent work is done once.

    Args:
      spec: `tfbnn.models.ModelSpec` with task 'classification'.
      x: float `Tensor` `[batch] + input_shape`.
      num_samples: positive Python int K.
      estimator: 'auto' (see `eval_estimator`) or one of the estimators.
      name: name scope.

    Returns:
      `ClassificationPredictive`.
    """
    check_task(spec, 'classification', 'classification_predictive')
    with tf.name_scope(name, 'classification_predictive', [x]):
        sampled = spec._replace(estimator=eval_estimator(spec, estimator))
        logits = models.build_network(sampled, x, sample=True, num_samples=num_samples,
                                      shared_input=True).outputs
        log_p = tf.nn.log_softmax(logits)
        log_mean = _log_mean_exp(log_p, num_samples)
        entropy = _entropy(log_mean)
        mi = tf.maximum(entropy - tf.reduce_mean(_entropy(log_p), axis=0), 0.0)
        mean_logits = models.build_network(spec, x, sample=False).outputs
        return ClassificationPredictive(tf.exp(log_mean), log_mean, entropy, mi,
                                        tf.nn.softmax(mean_logits))


def regression_predictive(spec, x, num_samples, estimator='auto', name=None):
    """Builds the K-sample predictive of a regression network on `x` `[batch, ...]`.

    Mathematical details:
      The predictive is the equal mixture (1/K) sum_k N(y; f_k(x), s^2), with
      mean m = (1/K) sum_k f_k(x) and variance (1/K) sum_k (f_k - m)^2 + s^2.

    Returns:
      `RegressionPredictive`.
    """
    check_task(spec, 'regression', 'regression_predictive')
    with tf.name_scope(name, 'regression_predictive', [x]):
        sampled = spec._replace(estimator=eval_estimator(spec, estimator))
        out = models.build_network(sampled, x, sample=True, num_samples=num_samples,
                                   shared_input=True)
        mean, var = tf.nn.moments(out.outputs, axes=[0])
        stddev = tf.sqrt(var + tf.square(out.noise_std))
        mean_pred = models.build_network(spec, x, sample=False).outputs
        return RegressionPredictive(out.outputs, out.noise_std, mean, stddev, mean_pred)
