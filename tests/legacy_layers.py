"""A user's `tf.layers` code in the tests, on both stacks.

On TF 1.15 these are `tf.layers.dense` and `tf.layers.flatten` themselves. On
TF 2.16+ (Keras 3) `tf.compat.v1.layers` raises, so there they are stand-ins
that make the same variables (`<name>/kernel` Glorot-uniform, `<name>/bias`
zeros) and compute the same thing, as a user porting such code would write.
"""
import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn.internal import compat

__all__ = ['dense', 'flatten']


def dense(inputs, units, activation=None, name=None):
    if not compat.TF2:
        return tf.layers.dense(inputs, units, activation, name=name)
    with tf.variable_scope(name, default_name='dense'):
        kernel = tf.get_variable('kernel', [tf.dimension_value(inputs.shape[-1]), units],
                                 inputs.dtype, tf.glorot_uniform_initializer())
        bias = tf.get_variable('bias', [units], inputs.dtype, tf.zeros_initializer())
        out = tf.matmul(inputs, kernel) + bias
    return activation(out) if activation else out


def flatten(inputs):
    if not compat.TF2:
        return tf.layers.flatten(inputs)
    return tf.reshape(inputs, [-1, int(np.prod(inputs.shape.as_list()[1:]))])
