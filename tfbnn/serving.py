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
  regression, with d_k = f_k(x) - c about the posterior-mean network's
  output c (in float32, sums of f_k^2 would cancel the spread of outputs far
  from 0): mean = c + (1/K) sum_k d_k and
    stddev = sqrt(max((1/K) sum_k d_k^2 - ((1/K) sum_k d_k)^2, 0) + s^2).

Models whose weight draw is lifted out of all control flow (the getter path:
`--model lstm`) would reuse one draw for every iteration; for them K stays
static (`tfbnn.predictive`), `dynamic_k` reports False and the functions
here refuse them.

The loop runs up to 10 draws at once, or one at a time with `in_turn`
(`tfbnn-export --seed`): parallel iterations take each shared random op's
numbers in whatever order they run, so only draws in turn make a seeded
graph repeat the same draws in a new session.

TensorFlow stops a K <= 0 with an assertion; the TFLite and ONNX converters
drop assertions, so the loop draws max(K, 1) times (K <= 0 is K = 1 there).

An exported graph also checks its input (`checked_input`, `follow_rows`): a
batch of examples shaped otherwise than the model's would be flattened into
some other number of rows. `without_checks` makes the plain copy that readers
of neither check take (OpenCV, TF 1.15's TFLite converter).
"""
import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn import models, predictive
from tfbnn.errors import ConfigError
from tfbnn.internal.arg_checks import check_positive_int

__all__ = ['NUM_SAMPLES', 'CHECKED_INPUT', 'supports_dynamic_k', 'num_samples_input',
           'classification_outputs', 'regression_outputs', 'checked_input', 'follow_rows',
           'without_checks', 'standardised_input', 'input_scaling', 'flat_prediction']

NUM_SAMPLES = 'num_samples'
CHECKED_INPUT = 'input_checked'
_ROWS = 'rows_of_input'
_LOOP_KLS = 'tfbnn_serving_loop_kls'


def supports_dynamic_k(spec):
    """Whether each while-loop iteration gets its own draw for this model."""
    return spec.model != 'lstm'


def num_samples_input(default):
    """The scalar int32 input `num_samples`, `default` (a positive Python
    int) when not fed."""
    default = check_positive_int('num_samples_input', 'default', default)
    return tf.placeholder_with_default(tf.constant(default, tf.int32), [], name=NUM_SAMPLES)


def _xlogx(p):
    return p * tf.log(tf.maximum(p, 1e-37))


def _entropy(p):
    """H[p] of `[batch, classes]` probabilities, as `[batch]`.

    The sum over classes is a matmul with a ones vector: onnxruntime's
    ReduceSum over the last axis of an empty batch `[0, C]` returns `[0, C]`,
    not `[0]`, and tf2onnx drops a reshape to [-1] after it (static shape
    [None]). On a GPU whose float32 matmuls use TF32 this rounds the entropy
    to about 1e-3 relative.
    """
    ones = tf.ones([int(p.shape[-1]), 1], p.dtype)
    return -tf.reshape(tf.matmul(_xlogx(p), ones), [-1])


def _draw_count(k):
    """max(K, 1), behind TensorFlow's assertion that K >= 1 (module docstring)."""
    check = tf.assert_positive(k, message='num_samples must be a positive integer')
    with tf.control_dependencies([check]):
        return tf.maximum(k, 1)


def _checked(spec, x, task, where):
    """`x` as a float tensor, after ConfigError for a spec of another task or
    one whose draws a loop would repeat (module docstring)."""
    predictive.check_task(spec, task, where)
    if not supports_dynamic_k(spec):
        raise ConfigError('%s: model %r takes one weight draw for the whole graph, which a '
                          'loop of K draws would repeat; use tfbnn.predictive with a static K'
                          % (where, spec.model))
    x = tf.convert_to_tensor(x)
    if not x.dtype.is_floating:
        raise ConfigError('%s: x must be a float tensor, got %s' % (where, x.dtype.name))
    return x


def _sample_loop(spec, x, draws, estimator, body_fn, initial, in_turn):
    """Runs body_fn(outputs of one draw, *sums) `draws` times; returns the sums."""
    sampled = spec._replace(estimator=predictive.eval_estimator(spec, estimator))

    def body(i, *sums):
        # The KLs the body builds are loop-internal and never fetched: kept
        # out of the KL collection.
        out = models.build_network(sampled, x, sample=True, kl_collection=_LOOP_KLS)
        return (i + 1,) + tuple(body_fn(out, *sums))
    results = tf.while_loop(lambda i, *_: i < draws, body, [tf.constant(0)] + list(initial),
                            back_prop=False, parallel_iterations=1 if in_turn else 10,
                            name='samples')
    return results[1:]


def classification_outputs(spec, x, k, estimator='auto', in_turn=False):
    """probs, entropy, mutual_information and mean_probs, K read from `k`.

    Args:
      spec: `ModelSpec` of a classifier whose variables the caller's scope
        creates or reuses.
      x: `[batch] + input_shape` float (float32 or float64).
      k: scalar int32 `Tensor`, the number of draws K (TensorFlow asserts
        K >= 1; runtimes without assertions draw max(K, 1) times).
      estimator: as for `tfbnn.predictive`.
      in_turn: run the draws one at a time (a seeded graph's; module docstring).

    Returns:
      dict name -> `Tensor` (unnamed; the caller names them).
    """
    x = _checked(spec, x, 'classification', 'classification_outputs')
    mean_probs = tf.nn.softmax(models.build_network(spec, x, sample=False).outputs)

    def add(out, sum_probs, sum_entropy):
        p = tf.nn.softmax(out.outputs)
        return sum_probs + p, sum_entropy + _entropy(p)
    draws = _draw_count(k)
    sum_probs, sum_entropy = _sample_loop(
        spec, x, draws, estimator, add,
        [tf.zeros_like(mean_probs), tf.zeros_like(mean_probs[:, 0])], in_turn)
    kf = tf.cast(draws, sum_probs.dtype)
    probs = sum_probs / kf
    entropy = _entropy(probs)
    mi = tf.maximum(entropy - sum_entropy / kf, 0.0)
    return dict(probs=probs, entropy=entropy, mutual_information=mi, mean_probs=mean_probs)


def regression_outputs(spec, x, k, estimator='auto', in_turn=False):
    """mean, stddev and mean_prediction (normalised units), K read from `k`
    (arguments as for `classification_outputs`)."""
    x = _checked(spec, x, 'regression', 'regression_outputs')
    mean_out = models.build_network(spec, x, sample=False)
    centre = mean_out.outputs

    def add(out, total, total_sq):
        d = out.outputs - centre
        return total + d, total_sq + tf.square(d)
    zeros = tf.zeros_like(centre)
    draws = _draw_count(k)
    total, total_sq = _sample_loop(spec, x, draws, estimator, add, [zeros, zeros], in_turn)
    kf = tf.cast(draws, total.dtype)
    shift = total / kf
    mean = centre + shift
    var = tf.maximum(total_sq / kf - tf.square(shift), 0.0)
    stddev = tf.sqrt(var + tf.square(mean_out.noise_std))
    return dict(mean=mean, stddev=stddev, mean_prediction=mean_out.outputs)


def checked_input(x, example_shape, name=CHECKED_INPUT):
    """`x` behind an assertion that its examples have `example_shape`.

    The models flatten with a constant reshape to `[-1, size]`, so a batch of
    examples shaped otherwise would be read as some other number of rows.

    Args:
      x: the fed input, `[batch] + example_shape` float `Tensor`.
      example_shape: list of ints, the model's example shape.
      name: of the returned tensor (`without_checks` finds it by this name).

    Returns:
      `x` through an Identity that runs after the check: TensorFlow (Session,
      SavedModel signatures, the C API) stops with "assertion failed: [input
      must have shape [batch, 8, 8, 1], got] [3 8 8 2]". The TFLite and ONNX converters drop
      assertions; `follow_rows` covers them.
    """
    shape = [int(d) for d in example_shape]
    with tf.name_scope('input_check', values=[x]):
        # The fed shape's tail, padded with -1s and cut to the rank + 1, against
        # the example shape and -1: a rank too small or too large cannot match.
        # (As many -1s as that length: TensorFlow's optimiser trusts the static
        # rank, and would drop a cut that the static shape makes a no-op.)
        tail = tf.concat([tf.shape(x)[1:], [-1] * (len(shape) + 1)], 0)[:len(shape) + 1]
        fits = tf.reduce_all(tf.equal(tail, shape + [-1]))
        expected = '[%s]' % ', '.join(['batch'] + [str(d) for d in shape])
        check = tf.Assert(fits, ['input must have shape %s, got' % expected, tf.shape(x)],
                          summarize=16)
    with tf.control_dependencies([check]):
        return tf.identity(x, name=name)


def follow_rows(t, x, name):
    """`t` reshaped to `[tf.shape(x)[0]] + t.shape[1:]` (its static shape).

    An output whose number of rows is not x's batch size then fails on this
    reshape in every runtime, assertions or not: TFLite ("num_input_elements
    != num_output_elements"), ONNX, TensorFlow.

    Args:
      t: an output `[rows] + dims`, dims known.
      x: the input whose batch size the rows must be.
      name: the reshape's name, under the scope `without_checks` looks for.
    """
    with tf.name_scope(_ROWS + '/'):
        rows = tf.shape(x)[:1]
        dims = t.shape.as_list()[1:]
        return tf.reshape(t, tf.concat([rows, dims], 0) if dims else rows, name=name)


def without_checks(graph_def, output_names, input_name='input'):
    """A frozen checked graph without its checks: the named outputs read the
    unchecked tensors, the model reads `input_name`, and every node that
    then leads to no output is gone.

    What is left holds no assertion and no shape arithmetic: OpenCV's
    importer (which builds a layer for every node, and knows neither) reads
    it, and TF 1.15's TFLite converter, which converts at batch size 1 and
    folds `tf.shape` into constants (`follow_rows` would then fix the batch
    at 1), converts it.

    Args:
      graph_def: a frozen `GraphDef` built with `checked_input` and `follow_rows`.
      output_names: the names of its output nodes.
      input_name: the placeholder `checked_input` was given.

    Returns:
      a new `GraphDef` (`graph_def` is left as it is).
    """
    plain = tf.GraphDef()
    plain.CopyFrom(graph_def)
    nodes = {n.name: n for n in plain.node}

    def unchecked(tensor):
        if tensor in (CHECKED_INPUT, CHECKED_INPUT + ':0'):
            return input_name
        source = nodes.get(tensor.split(':')[0])
        if source is not None and source.op == 'Reshape' and source.name.startswith(_ROWS + '/'):
            return unchecked(source.input[0])
        return tensor
    for node in plain.node:
        node.input[:] = [unchecked(i) for i in node.input]
    return tf.graph_util.extract_sub_graph(plain, list(output_names))


def standardised_input(inputs, mean, std):
    """The network's input: the raw `inputs` standardised as the run's data
    were, `(inputs - mean) / std` (a run's dataset.json `input_mean` and
    `input_std`: UCI's features), or `inputs` themselves when `mean` is None.
    So an exported graph takes the inputs as the data files hold them."""
    if mean is None:
        return inputs
    mean = tf.constant(np.asarray(mean, np.float32), name='input_mean')
    std = tf.constant(np.asarray(std, np.float32), name='input_std')
    return (inputs - mean) / std


def input_scaling(meta, pixel_scale=255.0):
    """How an exported graph's input relates to the run's data files, said for
    the export's report and log (None: fed as the files hold them), from a
    run's dataset.json and its --pixel-scale: the graph standardises UCI's
    features itself; the image loaders scale pixels before the network, and
    a pipeline must scale them the same way."""
    if meta.get('input_mean') is not None:
        return "standardised in the graph with the training split's mean and std: feed raw values"
    if meta.get('name') == 'mnist':
        return ('not scaled in the graph: feed the IDX files\' pixel bytes divided by %g '
                '(--pixel-scale), as the run was trained (EMNIST\'s images turned upright, as '
                'dataset.json\'s description says)' % pixel_scale)
    if meta.get('name') == 'digits':
        return ("not scaled in the graph: feed scikit-learn's digit images (counts 0 to 16) "
                'divided by 16, as the run was trained')
    if meta['task'] == 'regression' and 'input_mean' not in meta:  # dataset.json before the record
        return ('as the run saw them: its dataset.json predates the record of input scaling, so '
                'feed what its data loader gave (UCI: standardised features)')
    return None


def flat_prediction(prediction):
    """The regression network's `[batch]` prediction, flattened from its
    `[batch, 1]` output by a reshape to [-1] rather than the model's
    `tf.squeeze`: TF 1.15's TFLite converter turns that squeeze into a reshape
    to the shape at conversion, [1], which fails at any other batch size (the
    model, shared with training, stays as it is)."""
    inner = prediction.op.inputs[0] if prediction.op.type == 'Squeeze' else None
    if inner is not None and inner.shape.ndims == 2 and inner.shape.as_list()[-1] == 1:
        return tf.reshape(inner, [-1])
    return prediction
