"""The training job's Bayesian LSTM classifier, built through `tfbnn.custom_getter`.

An image `[height, width, channels]` is read row by row: a sequence of
`height` steps of `width * channels` features, through one LSTM cell of
`units` units (`tfbnn.rnn_cells.LSTMCell`, the math and variable names of
`tf.nn.rnn_cell.LSTMCell`, under `tf.nn.dynamic_rnn`), whose last output
feeds a linear layer to the class logits. Every weight matrix (the LSTM
kernel, the output kernel) is a mean-field posterior made by
`tfbnn.bayesian_scope`; biases stay deterministic. The cell knows nothing of
tfbnn's layers: this is the getter path a user's own recurrent model takes.

One weight sample per sequence (Fortunato et al. 2017): the getter draws once
per build, outside the while loop. K samples of the predictive are therefore
K builds of the network sharing the variables (K draws), not a sample axis.

References:
  Fortunato, Blundell, Vinyals (2017), Bayesian Recurrent Neural Networks.
"""
import tensorflow.compat.v1 as tf

from tfbnn import rnn_cells
from tfbnn.errors import ConfigError
from tfbnn.getter import bayesian_scope

__all__ = ['lstm_classifier']


def _one_pass(spec, rows, sample, kl_collection):
    """Logits `[batch, classes]` of one build (one weight draw)."""
    with bayesian_scope('lstm', prior=spec.prior, sample=sample, kl_collection=kl_collection,
                        posterior_init_scale=spec.posterior_init_scale, reuse=tf.AUTO_REUSE):
        cell = rnn_cells.LSTMCell(spec.hidden[0], dtype=rows.dtype, name='cell')
        outputs, _ = tf.nn.dynamic_rnn(cell, rows, dtype=rows.dtype)
        last = outputs[:, -1]
        kernel = tf.get_variable('output/kernel', [spec.hidden[0], spec.output_units],
                                 rows.dtype, tf.glorot_uniform_initializer())
        bias = tf.get_variable('output/bias', [spec.output_units], rows.dtype,
                               tf.zeros_initializer())
        return tf.matmul(last, kernel) + bias


def lstm_classifier(spec, inputs, sample=True, num_samples=None, shared_input=False,
                    kl_collection=None):
    """Logits of the LSTM classifier (call inside the network's variable scope).

    Args:
      spec: `tfbnn.models.ModelSpec` with model 'lstm', task 'classification';
        `hidden[0]` is the number of LSTM units.
      inputs: `[batch, height, width, channels]`, or with a leading sample
        axis `[K, batch, ...]` unless `shared_input`.
      sample: Python bool or bool `Tensor`, as for the getter.
      num_samples: None, or K: K builds (K weight draws), stacked first.
      shared_input: with K, `inputs` has no sample axis.
      kl_collection: where the KLs go (default `tfbnn.GraphKeys.KL_LOSSES`).

    Returns:
      float `Tensor` `[batch, classes]` or `[K, batch, classes]`.

    Raises:
      ConfigError: inputs that are not images, a regression task, or a norm.
    """
    if spec.task != 'classification':
        raise ConfigError('model lstm is a classifier: regression sets need --model mlp')
    if spec.norm != 'none':
        raise ConfigError('model lstm takes no --norm, got %r' % spec.norm)
    if not spec.hidden:
        raise ConfigError('model lstm takes its units from hidden[0]: give hidden=(units,), '
                          'got %r' % (spec.hidden,))
    lead = 1 if num_samples is None or shared_input else 2
    shape = inputs.shape.as_list()[lead:]
    if len(shape) == 2:  # [height, width]: one channel, not stored
        shape.append(1)
    if len(shape) != 3 or None in shape:
        raise ConfigError('model lstm reads images [height, width, channels] (or [height, '
                          'width]) of known size row by row, got examples of shape %s'
                          % (tuple(shape),))
    height, width, channels = shape

    def rows(x):
        return tf.reshape(x, [-1, height, width * channels])
    if num_samples is None:
        return _one_pass(spec, rows(inputs), sample, kl_collection)
    passes = [_one_pass(spec, rows(inputs if shared_input else inputs[k]), sample, kl_collection)
              for k in range(num_samples)]
    return tf.stack(passes)
