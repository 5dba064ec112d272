"""The posterior-scale parameterisation every Bayesian weight uses.

Mathematical details:
  A weight's posterior N(mu, sigma^2) stores rho, with
  sigma = softplus(rho) + floor = log(1 + exp(rho)) + floor, so any real rho
  gives sigma > floor and log(sigma) stays finite in the KL. rho = -inf is the
  one exception: it marks a pruned weight (`tfbnn.pruning`), whose sigma is
  exactly 0. An initial scale s starts rho at softplus^-1(s - floor) =
  log(exp(s - floor) - 1).

On TF 1.15, float32 softplus computes log(exp(rho) + 1) without log1p for
-13.9 < rho < 0, so a scale near 1e-5 comes out up to 0.6% low (9.94e-6 for
1e-5; 0.1% at 3e-5, 1e-4 relative at 1e-4, 2e-5 at 1e-3). TF 2.x is exact to
float32 there. The stable form would add ops before the network's random
ops and so change every seeded run on TF 1.15; at the scales it touches the
weight is effectively fixed, so it is left as TensorFlow computes it.
"""
import numbers

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn.errors import ConfigError
from tfbnn.graph_keys import GraphKeys

__all__ = ['SCALE_FLOOR', 'scale_from_rho', 'rho_initializer', 'check_init_scale', 'mark_rho',
           'is_marked_rho']

# scale = softplus(rho) + floor: keeps log(scale) finite in the KL even when
# the optimiser drives rho far negative. rho = -inf is the one exception: it
# marks a pruned weight (`tfbnn.pruning`), whose scale is exactly 0.
SCALE_FLOOR = 1e-6


def _softplus_inverse(x):
    if x > 30.0:  # expm1 overflows past 709; here log(1 - exp(-x)) is below 1e-13
        return float(x + np.log(-np.expm1(-x)))
    return float(np.log(np.expm1(x)))


def scale_from_rho(rho, name=None):
    """scale = softplus(rho) + floor, and exactly 0 where rho = -inf (pruned)."""
    floor = SCALE_FLOOR * tf.cast(rho > -np.inf, rho.dtype.base_dtype)
    return tf.add(tf.nn.softplus(rho), floor, name=name)


def mark_rho(rho):
    """Lists the variable `rho` as a posterior's rho in its graph (once,
    however often a getter returns it). Builds no op."""
    if not is_marked_rho(rho):
        rho.graph.add_to_collection(GraphKeys.POSTERIOR_RHOS, rho)
    return rho


def is_marked_rho(variable):
    """Whether `mark_rho` listed `variable` in its graph (by name: a
    variable's == builds an op on TF 2.x)."""
    return variable.op.name in set(
        v.op.name for v in variable.graph.get_collection(GraphKeys.POSTERIOR_RHOS))


def rho_initializer(init_scale):
    """The initializer of rho for an initial scale: a number s (every rho at
    softplus^-1(s - floor)) or a pair (low, high) (scales uniform in it)."""
    if isinstance(init_scale, tuple):
        low, high = (_softplus_inverse(s - SCALE_FLOOR) for s in init_scale)
        return tf.random_uniform_initializer(low, high)
    return tf.constant_initializer(_softplus_inverse(init_scale - SCALE_FLOOR))


def _is_scale(value):
    return (not isinstance(value, bool) and isinstance(value, (numbers.Real, np.floating))
            and SCALE_FLOOR < value < float('inf'))


def check_init_scale(layer, init_scale):
    """A float s, or a (low, high) tuple of floats with low <= high; each above the floor."""
    if isinstance(init_scale, (list, tuple)):
        if len(init_scale) == 2 and all(_is_scale(v) for v in init_scale) \
                and init_scale[0] <= init_scale[1]:
            return (float(init_scale[0]), float(init_scale[1]))
    elif _is_scale(init_scale):
        return float(init_scale)
    raise ConfigError('%s: posterior_init_scale must be a finite number above %g or a pair '
                      '(low, high) of them with low <= high, got %r'
                      % (layer, SCALE_FLOOR, init_scale))
