"""Bayesian layers in the `tf.layers` manner, and normalisation beside them."""
from tfbnn.internal.weight_options import ESTIMATORS
from tfbnn.layers.batch_norm import batch_normalization
from tfbnn.layers.conv import conv1d, conv2d, conv3d
from tfbnn.layers.dense import dense
from tfbnn.layers.normalization import group_norm

__all__ = ['dense', 'conv1d', 'conv2d', 'conv3d', 'group_norm', 'batch_normalization',
           'ESTIMATORS']
