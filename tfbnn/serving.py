"""The exported predictive, with the number of samples K fed at serving time.

`tfbnn.predictive` builds K as a static sample axis, which is fastest for
evaluation but fixes K in the graph. An exported graph instead takes K as an
optional scalar int32 input `num_samples` (a `placeholder_with_default`
holding the K given at export) and runs the K weight draws in one in-graph
`tf.while_loop`: one `session.run` per batch, as before, whatever K is.
Each iteration builds the network on one fresh draw and adds to running sums;
nothing of size K is kept, so memory does not grow with K.

Mathematical details:
  classification, p_k = softmax(f_k(x)):
    probs = (1/K) sum_k p_k,   entropy = H[probs],
    mutual_information = max(H[probs] - (1/K) sum_k H[p_k], 0),
  with H[p] = -sum_c p_c log p_c; at K = 1, probs = p_1 exactly and the
  mutual information is exactly 0.
  regression: mean = (1/K) sum_k f_k(x) and
    stddev = sqrt(max((1/K) sum_k f_k^2 - mean^2, 0) + s^2).

Models whose weight draw is lifted out of all control flow (the getter path:
`--model lstm`) would reuse one draw for every iteration; for them K stays
static (`tfbnn.predictive`) and `dynamic_k` reports False.

The loop runs up to 10 draws at once, or one at a time with `in_turn`
(`tfbnn-export --seed`): parallel iterations take each shared random op's
numbers in whatever order they run, so only draws in turn make a seeded
graph repeat the same draws in a new session.
"""
import tensorflow.compat.v1 as tf

from tfbnn import models, predictive

__all__ = ['NUM_SAMPLES', 'supports_dynamic_k', 'num_samples_input', 'classification_outputs',
           'regression_outputs']

NUM_SAMPLES = 'num_samples'
_LOOP_KLS = 'tfbnn_serving_loop_kls'


def supports_dynamic_k(spec):
    """Whether each while-loop iteration gets its own draw for this model."""
    return spec.model != 'lstm'


def num_samples_input(default):
    """The scalar int32 input `num_samples`, `default` when not fed."""
    return tf.placeholder_with_default(tf.constant(int(default), tf.int32), [], name=NUM_SAMPLES)


def _xlogx(p):
    return p * tf.log(tf.maximum(p, 1e-37))


def _entropy(p):
    return -tf.reduce_sum(_xlogx(p), axis=-1)


def _sample_loop(spec, x, k, estimator, body_fn, initial, in_turn):
    """Runs body_fn(outputs of one draw, *sums) K times; returns the sums."""
    sampled = spec._replace(estimator=predictive.eval_estimator(spec, estimator))

    def body(i, *sums):
        # The KLs the body builds are loop-internal and never fetched: kept
        # out of the KL collection.
        out = models.build_network(sampled, x, sample=True, kl_collection=_LOOP_KLS)
        return (i + 1,) + tuple(body_fn(out, *sums))
    check = tf.assert_positive(k, message='num_samples must be a positive integer')
    with tf.control_dependencies([check]):
        start = tf.constant(0)
    results = tf.while_loop(lambda i, *_: i < k, body, [start] + list(initial),
                            back_prop=False, parallel_iterations=1 if in_turn else 10,
                            name='samples')
    return results[1:]


def classification_outputs(spec, x, k, estimator='auto', in_turn=False):
    """probs, entropy, mutual_information and mean_probs, K read from `k`.

    Args:
      spec: `ModelSpec` of a classifier whose variables the caller's scope
        creates or reuses.
      x: `[batch] + input_shape` float32.
      k: scalar int32 `Tensor`, the number of draws.
      estimator: as for `tfbnn.predictive`.
      in_turn: run the draws one at a time (a seeded graph's; module docstring).

    Returns:
      dict name -> `Tensor` (unnamed; the caller names them).
    """
    mean_probs = tf.nn.softmax(models.build_network(spec, x, sample=False).outputs)

    def add(out, sum_probs, sum_entropy):
        p = tf.nn.softmax(out.outputs)
        return sum_probs + p, sum_entropy + _entropy(p)
    sum_probs, sum_entropy = _sample_loop(
        spec, x, k, estimator, add, [tf.zeros_like(mean_probs), tf.zeros_like(mean_probs[:, 0])],
        in_turn)
    kf = tf.cast(k, tf.float32)
    probs = sum_probs / kf
    entropy = _entropy(probs)
    mi = tf.maximum(entropy - sum_entropy / kf, 0.0)
    return dict(probs=probs, entropy=entropy, mutual_information=mi, mean_probs=mean_probs)


def regression_outputs(spec, x, k, estimator='auto', in_turn=False):
    """mean, stddev and mean_prediction (normalised units), K read from `k`
    (arguments as for `classification_outputs`)."""
    mean_out = models.build_network(spec, x, sample=False)

    def add(out, total, total_sq):
        return total + out.outputs, total_sq + tf.square(out.outputs)
    zeros = tf.zeros_like(mean_out.outputs)
    total, total_sq = _sample_loop(spec, x, k, estimator, add, [zeros, zeros], in_turn)
    kf = tf.cast(k, tf.float32)
    mean = total / kf
    var = tf.maximum(total_sq / kf - tf.square(mean), 0.0)
    stddev = tf.sqrt(var + tf.square(mean_out.noise_std))
    return dict(mean=mean, stddev=stddev, mean_prediction=mean_out.outputs)
