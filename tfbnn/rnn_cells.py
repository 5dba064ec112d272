"""Recurrent cells for `tf.nn.dynamic_rnn` that need no Keras, on both stacks.

On TensorFlow 2.16 and newer (Keras 3) every class of `tf.compat.v1.nn.rnn_cell`
raises "not available with Keras 3", while `tf.compat.v1.nn.dynamic_rnn`
itself still works with any object that has `state_size`, `output_size`,
`zero_state` and `__call__`. These cells are such objects. They compute what
`tf.nn.rnn_cell.BasicRNNCell` and `LSTMCell` (no peepholes, no projection)
compute, with variables of the same names and shapes (`<name>/kernel`,
`<name>/bias`), so checkpoints move between the two.

Like the stock cells, a cell creates its variables once, on its first call,
lifted out of the `dynamic_rnn` while loop (`tf.init_scope`). Under
`tfbnn.bayesian_scope` that means one weight draw per sequence, used at every
time step (Fortunato et al. 2017), not one per step.
"""
import collections
import math
import numbers

import tensorflow.compat.v1 as tf

from tfbnn.errors import ConfigError
from tfbnn.internal.arg_checks import check_callable, check_positive_int

__all__ = ['BasicRNNCell', 'LSTMCell', 'LSTMStateTuple']

LSTMStateTuple = collections.namedtuple('LSTMStateTuple', ['c', 'h'])


class _Cell(object):
    """Shared parts: argument checks, zero state, variables on first call."""

    _default_name = None
    _gates = 1

    def __init__(self, num_units, activation=None, name=None, dtype=None):
        num_units = check_positive_int(type(self).__name__, 'num_units', num_units)
        check_callable(type(self).__name__, 'activation', activation, 'a callable such as tf.tanh')
        self._units = int(num_units)
        self._activation = activation or tf.tanh
        self._name = name or self._default_name
        self._dtype = dtype
        self._weights = None

    @property
    def output_size(self):
        return self._units

    def zero_state(self, batch_size, dtype):
        """All-zero state for a batch (a `LSTMStateTuple` for the LSTM)."""
        zeros = tf.zeros(tf.stack([batch_size, self._units]), dtype)
        return zeros if self._gates == 1 else LSTMStateTuple(zeros, zeros)

    def _kernel_and_bias(self, inputs):
        if self._weights is None:
            depth = tf.dimension_value(inputs.shape[-1])
            if not inputs.dtype.is_floating:
                raise ConfigError('%s %r: inputs must be a float Tensor, got %s'
                                  % (type(self).__name__, self._name, inputs.dtype.name))
            if depth is None:
                raise ConfigError('%s %r: the inputs\' last dimension must be known, got shape %s'
                                  % (type(self).__name__, self._name, inputs.shape))
            dtype = self._dtype or inputs.dtype
            with tf.init_scope(), tf.variable_scope(self._name):
                kernel = tf.get_variable('kernel', [depth + self._units, self._gates * self._units],
                                         dtype, tf.glorot_uniform_initializer())
                bias = tf.get_variable('bias', [self._gates * self._units], dtype,
                                       tf.zeros_initializer())
            self._weights = kernel, bias
        return self._weights

    def _linear(self, inputs, h):
        kernel, bias = self._kernel_and_bias(inputs)
        return tf.matmul(tf.concat([inputs, h], 1), kernel) + bias


class BasicRNNCell(_Cell):
    """h_t = activation([x_t, h_{t-1}] W + b), as `tf.nn.rnn_cell.BasicRNNCell`.

    Args:
      num_units: positive int.
      activation: default tanh.
      name: variable scope of `kernel` and `bias` (default 'basic_rnn_cell').
      dtype: default: the inputs' dtype.
    """

    _default_name = 'basic_rnn_cell'

    @property
    def state_size(self):
        return self._units

    def __call__(self, inputs, state, scope=None):
        h = self._activation(self._linear(inputs, state))
        return h, h


class LSTMCell(_Cell):
    """The LSTM of `tf.nn.rnn_cell.LSTMCell` (no peepholes, no projection).

    Mathematical details:
      [i, j, f, o] = [x_t, h_{t-1}] W + b   (four blocks of num_units)
      c_t = sigmoid(f + forget_bias) * c_{t-1} + sigmoid(i) * act(j)
      h_t = sigmoid(o) * act(c_t)
    with the state `LSTMStateTuple(c, h)`.

    Args:
      num_units: positive int.
      forget_bias: number added to the forget gate (default 1.0).
      activation: default tanh.
      name: variable scope of `kernel` and `bias` (default 'lstm_cell').
      dtype: default: the inputs' dtype.

    References:
      Hochreiter, Schmidhuber (1997); Zaremba, Sutskever, Vinyals (2014),
      Recurrent Neural Network Regularization (the gate layout).
    """

    _default_name = 'lstm_cell'
    _gates = 4

    def __init__(self, num_units, forget_bias=1.0, activation=None, name=None, dtype=None):
        super(LSTMCell, self).__init__(num_units, activation, name, dtype)
        if (isinstance(forget_bias, bool) or not isinstance(forget_bias, numbers.Real)
                or not math.isfinite(forget_bias)):
            raise ConfigError('LSTMCell: forget_bias must be a finite number, got %r'
                              % (forget_bias,))
        self._forget_bias = float(forget_bias)

    @property
    def state_size(self):
        return LSTMStateTuple(self._units, self._units)

    def __call__(self, inputs, state, scope=None):
        c, h = state
        i, j, f, o = tf.split(self._linear(inputs, h), 4, axis=1)
        c = tf.sigmoid(f + self._forget_bias) * c + tf.sigmoid(i) * self._activation(j)
        h = tf.sigmoid(o) * self._activation(c)
        return h, LSTMStateTuple(c, h)
