"""Bayesian layers in the `tf.layers` manner, and normalisation beside them."""
from tfbnn.internal.weight_options import ESTIMATORS
from tfbnn.layers.batch_norm import batch_normalization
from tfbnn.layers.conv import conv1d, conv2d, conv3d
from tfbnn.layers.conv_transpose import conv2d_transpose, conv3d_transpose
from tfbnn.layers.dense import dense
from tfbnn.layers.normalization import group_norm

__all__ = ['dense', 'conv1d', 'conv2d', 'conv3d', 'conv2d_transpose', 'conv3d_transpose',
           'group_norm', 'batch_normalization', 'ESTIMATORS']
