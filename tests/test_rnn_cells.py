"""tfbnn.rnn_cells: the stock cells' recurrences without Keras."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tfbnn import rnn_cells
from tfbnn.internal import compat
from tests.test_getter import _replay

CELLS = {'basic': rnn_cells.BasicRNNCell, 'lstm': rnn_cells.LSTMCell}


@pytest.mark.parametrize('cell', sorted(CELLS))
def test_dynamic_rnn_runs_the_recurrence(sess, cell):
    steps, units = 5, 3
    x_value = np.random.RandomState(0).randn(4, steps, 2)
    outputs, state = tf.nn.dynamic_rnn(CELLS[cell](units), tf.constant(x_value),
                                       dtype=tf.float64)
    names = [v.op.name for v in tf.global_variables()]
    default = 'basic_rnn_cell' if cell == 'basic' else 'lstm_cell'
    assert names == ['rnn/%s/kernel' % default, 'rnn/%s/bias' % default]
    gates = 1 if cell == 'basic' else 4
    assert tf.global_variables()[0].shape.as_list() == [2 + units, gates * units]
    sess.run(tf.global_variables_initializer())
    bias = tf.global_variables()[1]
    bias.load(np.random.RandomState(1).randn(gates * units), sess)
    out, final, kernel, b = sess.run([outputs, state] + tf.global_variables())
    np.testing.assert_allclose(out, _replay(cell, x_value, kernel, b, units), rtol=1e-10)
    last = final.h if cell == 'lstm' else final
    np.testing.assert_allclose(last, out[:, -1], rtol=1e-12)


def test_variables_are_made_once_outside_the_loop(sess):
    """One kernel for every step, even for a cell called by two dynamic_rnns."""
    cell = rnn_cells.LSTMCell(4, name='cell')
    x = tf.zeros([2, 3, 5])
    tf.nn.dynamic_rnn(cell, x, dtype=tf.float32, scope='a')
    tf.nn.dynamic_rnn(cell, x, dtype=tf.float32, scope='a')
    assert [v.op.name for v in tf.global_variables()] == ['a/cell/kernel', 'a/cell/bias']
    kernel = tf.get_default_graph().get_operation_by_name('a/cell/kernel')
    assert kernel._control_flow_context is None  # pylint: disable=protected-access


@pytest.mark.parametrize('make,match', [
    (lambda: rnn_cells.LSTMCell(0), 'LSTMCell: num_units must be a positive integer, got 0'),
    (lambda: rnn_cells.BasicRNNCell(True), 'BasicRNNCell: num_units must be a positive'),
    (lambda: rnn_cells.LSTMCell(3, forget_bias='1'), 'forget_bias must be a finite number'),
    (lambda: rnn_cells.LSTMCell(3, forget_bias=float('nan')),
     'LSTMCell: forget_bias must be a finite number, got nan'),
    (lambda: rnn_cells.LSTMCell(3, activation='tanh'),
     "LSTMCell: activation must be a callable such as tf.tanh or None, got 'tanh'"),
])
def test_argument_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_int_inputs_are_an_error():
    cell = rnn_cells.LSTMCell(3, name='c')
    with pytest.raises(ValueError, match="LSTMCell 'c': inputs must be a float Tensor, got int32"):
        cell(tf.zeros([2, 4], tf.int32), rnn_cells.LSTMStateTuple(tf.zeros([2, 3]),
                                                                   tf.zeros([2, 3])))


def test_an_unknown_input_depth_is_an_error():
    cell = rnn_cells.BasicRNNCell(3, name='c')
    with pytest.raises(ValueError, match="BasicRNNCell 'c': the inputs' last dimension must be"):
        cell(tf.placeholder(tf.float32, [2, None]), tf.zeros([2, 3]))


@pytest.mark.skipif(compat.TF2, reason='compares with tf.nn.rnn_cell, which TF 2.16+ '
                                        '(Keras 3) no longer has')
@pytest.mark.parametrize('cell', sorted(CELLS))
def test_same_outputs_as_the_stock_cell_from_the_same_variables(sess, cell):
    stock_cls = tf.nn.rnn_cell.BasicRNNCell if cell == 'basic' else tf.nn.rnn_cell.LSTMCell
    x = tf.constant(np.random.RandomState(2).randn(3, 6, 4))
    stock, _ = tf.nn.dynamic_rnn(stock_cls(5, name='c'), x, dtype=tf.float64, scope='stock')
    ours, _ = tf.nn.dynamic_rnn(CELLS[cell](5, name='c'), x, dtype=tf.float64, scope='ours')
    sess.run(tf.global_variables_initializer())
    variables = {v.op.name: v for v in tf.global_variables()}
    for i, name in enumerate(('kernel', 'bias')):
        value = np.random.RandomState(3 + i).randn(*variables['stock/c/' + name].shape.as_list())
        for scope in ('stock', 'ours'):
            variables['%s/c/%s' % (scope, name)].load(value, sess)
    np.testing.assert_allclose(*sess.run([stock, ours]), rtol=1e-12)
