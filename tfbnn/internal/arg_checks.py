"""Checks of the plain Python arguments every builder takes (counts, real
numbers in a range, switches, callables): one ConfigError naming the layer,
the argument and what it may be, before any op is built."""
import numbers

import numpy as np

from tfbnn.errors import ConfigError

__all__ = ['check_positive_int', 'check_real', 'check_bools', 'check_callable',
           'check_integer_scalar']


def check_positive_int(layer, what, value):
    """`value` as an int, or ConfigError if it is not an integer >= 1 (a bool is not)."""
    if (isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer))
            or value < 1):
        raise ConfigError('%s: %s must be a positive integer, got %r' % (layer, what, value))
    return int(value)


def check_real(layer, what, value, low, high):
    """ConfigError unless `value` is a real number with low < value < high (a bool is not)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not low < value < high:
        allowed = ('a positive finite number' if (low, high) == (0, np.inf)
                   else 'a number in (%g, %g)' % (low, high))
        raise ConfigError('%s: %s must be %s, got %r' % (layer, what, allowed, value))


def check_bools(layer, **switches):
    """Raises ConfigError for a switch that is not a Python (or numpy) bool:
    a string such as 'no' would read as true."""
    for name, value in switches.items():
        if not isinstance(value, (bool, np.bool_)):
            raise ConfigError('%s: %s must be a Python bool, got %r' % (layer, name, value))


def check_callable(layer, what, value, kind='callable'):
    """`value` if it is callable or None; else ConfigError saying it must be `kind`."""
    if value is not None and not callable(value):
        raise ConfigError('%s: %s must be %s or None, got %r' % (layer, what, kind, value))
    return value


def check_integer_scalar(owner, what, tensor, wanted):
    """ConfigError unless `tensor` (a Tensor or Variable) is of an integer
    dtype and a scalar or of unknown rank: a vector would turn a scalar it
    feeds into a vector, a float would be cut. Builds no op.

    Args:
      owner: the function checking, for the message.
      what: the argument's name.
      tensor: the value, a Tensor or Variable.
      wanted: what the argument may be, for the message.
    """
    dtype = tensor.dtype.base_dtype
    if not dtype.is_integer or tensor.shape.ndims not in (None, 0):
        raise ConfigError('%s: %s must be %s, got a Tensor of %s, shape %s'
                          % (owner, what, wanted, dtype.name, tensor.shape))
