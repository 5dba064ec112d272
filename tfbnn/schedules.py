"""Learning-rate schedules: pure functions of the global step.

A schedule is a function of the step alone (no state of its own), so a run
resumed from a checkpoint continues it exactly where the uninterrupted run
would be, and a cluster's workers all read the same rate from the shared
global step.

Mathematical details:
  With base rate a, step s, M steps per epoch and e = s / M the (fractional)
  epoch, E the run's epochs and w the warm-up epochs:

    constant:  a(s) = a
    step:      a(s) = a * f^k,  k = #{d in decay_epochs : e >= d}
               (in exact arithmetic: s >= ceil(d M), the decay's first step;
               s * (1 / M) in floating point is 0.999... at s = M = 49)
    cosine:    a(s) = a * (f + (1 - f) * (1 + cos(pi * min(e, E) / E)) / 2)

  where f is the decay factor (for cosine, the final fraction of a). A
  linear warm-up multiplies any of them by min(1, (s + 1) / (w M)) during the
  first w epochs.

References:
  Loshchilov & Hutter (2017), SGDR: stochastic gradient descent with warm
  restarts, eq. (5) (cosine annealing). Goyal et al. (2017), Accurate, large
  minibatch SGD, section 2.2 (linear warm-up).
"""
import fractions
import math
import numbers

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn.errors import ConfigError
from tfbnn.internal.arg_checks import check_integer_scalar

__all__ = ['SCHEDULES', 'check_schedule', 'learning_rate', 'learning_rate_value',
           'nearest_epoch']

SCHEDULES = ('constant', 'step', 'cosine')


def _decay_steps(decay_epochs, steps_per_epoch):
    """The first step of each decay, ceil(d M), exactly: d as written (its
    shortest decimal form), times M, rounded up."""
    return [math.ceil(fractions.Fraction(repr(float(d))) * steps_per_epoch)
            for d in decay_epochs]


def nearest_epoch(x):
    """The whole epoch nearest `x`, halves up: where a schedule stretched or
    shrunk to another length puts a decay. (Python's `round` takes 4.5 to 4,
    so 3/4 of 6 epochs would decay at 4 and 3/4 of 10 at 8.)

    Args:
      x: a real number of epochs.

    Returns:
      floor(x + 1/2), an int.
    """
    return int(math.floor(x + 0.5))


def _is_real(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def check_schedule(schedule, decay_epochs, decay_factor, warmup_epochs):
    """Validates a schedule's options; returns decay_epochs as a sorted tuple of floats.

    A decay at or after the run's last epoch is allowed: it takes effect if
    the run is continued to more epochs with --resume.

    Raises:
      ConfigError: naming the option, what it was, and what is allowed.
    """
    if schedule not in SCHEDULES:
        raise ConfigError('--lr-schedule must be one of %s, got %r'
                          % (', '.join(SCHEDULES), schedule))
    if not isinstance(decay_epochs, (list, tuple)) or not all(
            _is_real(d) and d > 0 for d in decay_epochs):
        raise ConfigError('--lr-decay-epochs must be positive epoch numbers, got %r'
                          % (decay_epochs,))
    if not _is_real(decay_factor) or not 0 < decay_factor <= 1:
        raise ConfigError('--lr-decay-factor must be in (0, 1], got %r' % (decay_factor,))
    if not _is_real(warmup_epochs) or warmup_epochs < 0:
        raise ConfigError('--lr-warmup-epochs must be a number >= 0, got %r' % (warmup_epochs,))
    if schedule == 'step' and not decay_epochs:
        raise ConfigError('--lr-schedule step needs --lr-decay-epochs (e.g. 300 or 200,300)')
    if schedule != 'step' and decay_epochs:
        raise ConfigError('--lr-decay-epochs applies to --lr-schedule step only, got schedule %r'
                          % schedule)
    if len(set(float(d) for d in decay_epochs)) != len(decay_epochs):
        raise ConfigError('--lr-decay-epochs lists an epoch twice (it would apply the factor '
                          'twice there), got %s' % ','.join('%g' % d for d in decay_epochs))
    return tuple(sorted(float(d) for d in decay_epochs))


def learning_rate_value(step, base, steps_per_epoch, epochs, schedule='constant',
                        decay_epochs=(), decay_factor=0.1, warmup_epochs=0.0):
    """The schedule in numpy (the reference the graph version is tested against).

    Args:
      step: int or integer array of global steps s.
      base: base learning rate a.
      steps_per_epoch: M.
      epochs: E, the run's length in epochs (the cosine's period).
      schedule, decay_epochs, decay_factor, warmup_epochs: see the module.

    Returns:
      float64 array (or scalar) a(s).
    """
    s = np.asarray(step, np.float64)
    epoch = s / steps_per_epoch
    if schedule == 'step':
        k = sum((s >= b).astype(np.float64) for b in _decay_steps(decay_epochs, steps_per_epoch))
        rate = base * decay_factor ** k
    elif schedule == 'cosine':
        t = np.minimum(epoch, epochs) / float(epochs)
        rate = base * (decay_factor + (1 - decay_factor) * 0.5 * (1 + np.cos(np.pi * t)))
    else:
        rate = base * np.ones_like(s)
    if warmup_epochs:
        rate = rate * np.minimum(1.0, (s + 1) / (warmup_epochs * steps_per_epoch))
    return rate


def learning_rate(step, base, steps_per_epoch, epochs, schedule='constant', decay_epochs=(),
                  decay_factor=0.1, warmup_epochs=0.0, name=None):
    """The learning rate at `step` as a scalar `float32` `Tensor`.

    Args:
      step: integer scalar `Tensor`, the global step s (on a cluster, the step
        of the single-process schedule it stands for).
      base: positive float, the base rate a.
      steps_per_epoch: positive int M.
      epochs: positive int E (the cosine's period; later steps stay at f a).
      schedule: one of `SCHEDULES`.
      decay_epochs: epochs at which `step` multiplies the rate by f.
      decay_factor: f in (0, 1].
      warmup_epochs: w >= 0; 0 for no warm-up.
      name: name scope.

    Returns:
      `float32` scalar `Tensor` (a Python float when the schedule is constant
      with no warm-up, so the graph is the one a constant rate always built).

    Raises:
      ConfigError: invalid options.
    """
    decay_epochs = check_schedule(schedule, list(decay_epochs), decay_factor, warmup_epochs)
    if not _is_real(base) or base <= 0:
        raise ConfigError('learning_rate: base must be a positive finite number, got %r' % (base,))
    for what, value in (('steps_per_epoch', steps_per_epoch), ('epochs', epochs)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ConfigError('learning_rate: %s must be a positive integer, got %r'
                              % (what, value))
    if isinstance(step, (tf.Tensor, tf.Variable)):
        check_integer_scalar('learning_rate', 'step', step, 'an integer scalar (the global step)')
    if schedule == 'constant' and not warmup_epochs:
        return base  # (whatever the step: a constant rate reads none)
    if not isinstance(step, (tf.Tensor, tf.Variable)) and (
            isinstance(step, bool) or not isinstance(step, numbers.Integral) or step < 0):
        raise ConfigError('learning_rate: step must be an integer scalar (the global step), '
                          'got %r' % (step,))
    with tf.name_scope(name, 'learning_rate', [step]):
        s = tf.cast(step, tf.float64)  # (exact below 2^53 steps)
        # Built for every schedule, read by the cosine only: TF 1.15 derives the
        # op seeds of later ops from the count of ops, and runs keep their draws.
        epoch = s / float(steps_per_epoch)
        if schedule == 'step':
            k = tf.add_n([tf.cast(s >= float(b), tf.float64)
                          for b in _decay_steps(decay_epochs, steps_per_epoch)])
            rate = base * tf.pow(tf.constant(decay_factor, tf.float64), k)
        elif schedule == 'cosine':
            t = tf.minimum(epoch, float(epochs)) / float(epochs)
            rate = base * (decay_factor + (1 - decay_factor) * 0.5 * (1 + tf.cos(math.pi * t)))
        else:
            rate = tf.constant(base, tf.float64)
        if warmup_epochs:
            rate *= tf.minimum(tf.constant(1.0, tf.float64),
                               (s + 1) / float(warmup_epochs * steps_per_epoch))
        return tf.cast(rate, tf.float32, name='value')
