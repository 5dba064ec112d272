"""The K-sample posterior predictive, in the graph, in one `sess.run` per batch.

The inputs are tiled to `[K, batch, ...]` and the network is built with
`num_samples=K`, so every slice gets its own weight sample and a batch's whole
Monte Carlo predictive is a single run, where the TFP example loops K
`sess.run` calls in Python.
"""
import collections
import math

import tensorflow.compat.v1 as tf

from tfbnn import models

__all__ = ['ClassificationPredictive', 'RegressionPredictive', 'classification_predictive',
           'regression_predictive', 'tile_samples']

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
    """[batch, ...] -> [num_samples, batch, ...], the same batch K times."""
    with tf.name_scope(name, 'tile_samples', [x]):
        return tf.tile(tf.expand_dims(x, 0), [num_samples] + [1] * x.shape.ndims)


def _entropy(log_p):
    return -tf.reduce_sum(tf.exp(log_p) * log_p, axis=-1)


def classification_predictive(spec, x, num_samples, name=None):
    """Builds the K-sample predictive of a classifier on inputs `x` `[batch, ...]`.

    Args:
      spec: `tfbnn.models.ModelSpec` with task 'classification'.
      x: float `Tensor` `[batch] + input_shape`.
      num_samples: positive Python int K.
      name: name scope.

    Returns:
      `ClassificationPredictive`.
    """
    with tf.name_scope(name, 'classification_predictive', [x]):
        logits = models.build_network(spec, tile_samples(x, num_samples), sample=True,
                                      num_samples=num_samples).outputs
        log_p = tf.nn.log_softmax(logits)
        log_mean = tf.reduce_logsumexp(log_p, axis=0) - math.log(num_samples)
        entropy = _entropy(log_mean)
        mi = tf.maximum(entropy - tf.reduce_mean(_entropy(log_p), axis=0), 0.0)
        mean_logits = models.build_network(spec, x, sample=False).outputs
        return ClassificationPredictive(tf.exp(log_mean), log_mean, entropy, mi,
                                        tf.nn.softmax(mean_logits))


def regression_predictive(spec, x, num_samples, name=None):
    """Builds the K-sample predictive of a regression network on `x` `[batch, ...]`.

    Mathematical details:
      The predictive is the equal mixture (1/K) sum_k N(y; f_k(x), s^2), with
      mean m = (1/K) sum_k f_k(x) and variance (1/K) sum_k (f_k - m)^2 + s^2.

    Returns:
      `RegressionPredictive`.
    """
    with tf.name_scope(name, 'regression_predictive', [x]):
        out = models.build_network(spec, tile_samples(x, num_samples), sample=True,
                                   num_samples=num_samples)
        mean, var = tf.nn.moments(out.outputs, axes=[0])
        stddev = tf.sqrt(var + tf.square(out.noise_std))
        mean_pred = models.build_network(spec, x, sample=False).outputs
        return RegressionPredictive(out.outputs, out.noise_std, mean, stddev, mean_pred)
