"""A larger SGD step for the posterior scales' rho variables.

Mathematical details:
  Every Bayesian weight stores sigma = softplus(rho) + floor
  (`tfbnn.internal.posterior_scale`), so by the chain rule

    dL/drho = dL/dsigma * sigmoid(rho),   sigmoid(rho) = 1 - exp(-(sigma - floor)),

  which is about sigma when sigma is small. At sigma = 0.02 a rho receives
  about 1/50 of the gradient dL/dsigma, and plain SGD, whose step is the
  same for every variable, leaves the scales near their initial value: the
  posterior then learns its means only (the pruning section of
  docs/RESULTS.md measured a KL that fell by 6% over 240 epochs).
  Multiplying the rho gradients by m is SGD (or momentum) with an m times
  larger step for the rho variables and the same step for everything else;
  m ~ 1 / sigma_0 gives the scales the step the means get. Adam divides each
  gradient by its own running root mean square, so a constant factor does
  not change its steps; there this is no remedy (and the training job
  refuses the combination).

  The other remedy, `--scale-optimizer adam`, gives the rho variables their
  own Adam optimizer (`split_rho` parts the pairs) and keeps SGD for the
  means: Adam's step, rate * m_hat / sqrt(v_hat), does not carry the factor
  sigmoid(rho), so every scale moves at about the rate per step in the
  direction its gradient keeps, whatever sigma is.
"""
import math
import numbers

import tensorflow.compat.v1 as tf

from tfbnn.errors import ConfigError
from tfbnn.internal.posterior_scale import is_marked_rho

__all__ = ['is_rho', 'scale_rho_gradients', 'split_rho']


def is_rho(variable):
    """Whether `variable` is a posterior's rho: `<layer>/kernel_rho`,
    `<layer>/bias_rho` (`tfbnn.layers`) or `<name>_rho` (`tfbnn.custom_getter`),
    as they list it in `GraphKeys.POSTERIOR_RHOS`. A variable of the user's
    own that is merely named '..._rho' is none."""
    return is_marked_rho(variable)


def scale_rho_gradients(grads_and_vars, multiplier):
    """Multiplies the gradients of the rho variables by `multiplier`.

    Args:
      grads_and_vars: list of (gradient, variable) pairs, as
        `tf.train.Optimizer.compute_gradients` returns them; a gradient may
        be None or `tf.IndexedSlices`.
      multiplier: a finite number > 0; 1 returns the pairs unchanged.

    Returns:
      A new list of (gradient, variable) pairs, for `apply_gradients`.

    Raises:
      ConfigError: `multiplier` is not a finite positive number.
    """
    if isinstance(multiplier, bool) or not isinstance(multiplier, numbers.Real) \
            or not 0 < multiplier < math.inf:
        raise ConfigError('scale_rho_gradients: multiplier must be a finite number > 0, got %r'
                          % (multiplier,))
    if multiplier == 1:
        return list(grads_and_vars)
    scaled = []
    for grad, var in grads_and_vars:
        if grad is not None and is_rho(var):
            if isinstance(grad, tf.IndexedSlices):
                grad = tf.IndexedSlices(grad.values * multiplier, grad.indices, grad.dense_shape)
            else:
                grad = grad * multiplier
        scaled.append((grad, var))
    return scaled


def split_rho(grads_and_vars):
    """Parts (gradient, variable) pairs into the rho variables' and the rest.

    Args:
      grads_and_vars: list of (gradient, variable) pairs.

    Returns:
      (the pairs of the rho variables, the other pairs), each in the order given.
    """
    pairs = list(grads_and_vars)
    return ([p for p in pairs if is_rho(p[1])], [p for p in pairs if not is_rho(p[1])])
