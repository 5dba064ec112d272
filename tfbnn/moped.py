"""MOPED: posteriors initialised from a trained deterministic checkpoint.

Mathematical details:
  Krishnan, Subedar, Tickoo (2020), sec. 3: for a deterministic network's
  trained weight w, the posterior starts at

    mu = w,    sigma = max(delta * |w|, floor),

  so the Bayesian network's mean is the trained network and each weight's
  uncertainty starts in proportion to its size. Here the floor is
  `min_scale` (a weight of exactly 0 still gets a positive sigma).

How it is used, as `tf.train.init_from_checkpoint`: build the model, call
`init_from_checkpoint` before the variables are initialised, then run
`tf.global_variables_initializer()`: the initialisers of the means read the
checkpoint, those of the rhos set the scales. Which checkpoint variable a
posterior mean starts from:
  * `tfbnn.custom_getter` posteriors keep the deterministic name itself
    (`rnn/lstm_cell/kernel`);
  * `tfbnn.layers` posteriors `<layer>/kernel_loc` and `<layer>/bias_loc`
    start from `<layer>/kernel` and `<layer>/bias`, the names `tf.layers`
    gives the same layer (a deterministic `tf.layers.dense(..., name='fc1')`
    model made Bayesian by swapping in `tfbnn.layers.dense(..., name='fc1')`);
    a transposed convolution's kernel with its last two axes swapped
    (`tf.layers` stores it `[..., filters, in]`, tfbnn `[..., in, filters]`).

References:
  Krishnan, Subedar, Tickoo (2020), Specifying Weight Priors in Bayesian Deep
  Neural Networks with Empirical Bayes, AAAI, sec. 3 (MOPED).
"""
import numbers
import re

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn.errors import CheckpointError, ConfigError
from tfbnn.graph_keys import GraphKeys
from tfbnn.internal import checkpoint_reader
from tfbnn.internal.arg_checks import check_bools
from tfbnn.internal.compat import require_graph_mode
from tfbnn.internal.own_variables import graph_variables
from tfbnn.internal.posterior_scale import SCALE_FLOOR
from tfbnn.internal.scopes import in_scope

__all__ = ['init_from_checkpoint', 'moped_scale']


def moped_scale(weights, delta, min_scale=1e-5):
    """sigma = max(delta |w|, min_scale) of a numpy array of weights."""
    return np.maximum(delta * np.abs(weights), min_scale)


def _rho_of(scale):
    """softplus^-1(scale - floor), stable for small scales."""
    x = np.asarray(scale, np.float64) - SCALE_FLOOR
    return np.where(x > 30, x, np.log(np.expm1(np.minimum(x, 30))))


def _posteriors(scope):
    """(checkpoint name, loc variable, rho variable) of every posterior under `scope`."""
    by_name = {v.op.name: v for v in graph_variables()}
    found = []
    for loc in tf.get_collection(GraphKeys.GETTER_POSTERIORS):
        found.append((loc.op.name, loc, by_name[loc.op.name + '_rho']))
    for name, v in sorted(by_name.items()):
        stem = name[:-len('_loc')]
        if (name.endswith(('/kernel_loc', '/bias_loc')) and stem + '_rho' in by_name
                and v not in [t[1] for t in found]):
            found.append((stem, v, by_name[stem + '_rho']))
    return [t for t in found if in_scope(t[1].op.name, scope)]


def _model_state():
    """The global variables that are the model's, not its training's.

    Left out: the global step (a new run counts its own steps, which warm-ups
    and schedules read), an optimiser's slots (`<variable>/Adam`, any name
    under another variable's) and Adam's other accumulators (`beta1_power`,
    `beta2_power`). Kept: every other variable, trainable or not (a
    normalisation layer's moving statistics, a model's own counters).
    """
    variables = tf.global_variables()
    names = set(v.op.name for v in variables)
    step = tf.train.get_global_step()

    def is_training_state(name):
        parts = name.split('/')
        return (step is not None and name == step.op.name
                or any('/'.join(parts[:i]) in names for i in range(1, len(parts)))
                or re.fullmatch(r'beta[12]_power(_\d+)?', parts[-1]) is not None)

    return [v for v in variables if not is_training_state(v.op.name)]


def _initialise(variable, value):
    """Makes `variable`'s initialiser assign `value` (a numpy array, or a
    `Tensor` of the variable's dtype), as tf.train.init_from_checkpoint does
    with a checkpoint's."""
    if not isinstance(value, tf.Tensor):
        value = tf.constant(value, variable.dtype.base_dtype)
    # (and its initial_value, which initialized_value() and
    # ExponentialMovingAverage read)
    variable._initializer_op = tf.assign(variable, value).op  # pylint: disable=protected-access
    variable._initial_value = value  # pylint: disable=protected-access


def _check_dtype(checkpoint, name, saved, variable):
    """Refuses a checkpoint's `name` of dtype `saved` that cannot be cast to
    `variable`'s: a float into an integer or bool variable, or the reverse."""
    have, want = saved, variable.dtype.base_dtype
    if have != want and not (have.is_floating and want.is_floating
                             or have.is_integer and want.is_integer):
        raise CheckpointError('moped: %s is %s in %s, the model\'s %s is %s: only a float '
                              'into a float (or an integer into an integer) is cast'
                              % (name, have.name, checkpoint, variable.op.name, want.name))


def _restore(checkpoint, name, saved, variable):
    """Makes `variable` start at the checkpoint's `name` (of dtype `saved`),
    as tf.train.init_from_checkpoint does, cast to the variable's dtype when
    the checkpoint has another (a float32 model's weights into a float64 one)."""
    if saved == variable.dtype.base_dtype:
        tf.train.init_from_checkpoint(checkpoint, {name: variable})
        return
    with tf.name_scope(None), tf.name_scope(variable.op.name + '/moped_restore/'):
        value = tf.raw_ops.RestoreV2(prefix=checkpoint, tensor_names=[name],
                                     shape_and_slices=[''], dtypes=[saved])[0]
        _initialise(variable, tf.cast(value, variable.dtype.base_dtype))


def _check_target(checkpoint, saved, dtypes, name, loc, swap, centre):
    """Refuses a posterior mean `loc` the checkpoint's `name` cannot start:
    missing, of another shape (a transposed convolution's kernel, `swap`,
    laid out as tf.layers does), or of a dtype not cast to `loc`'s (or to
    its prior mean `centre`'s, when that is started too)."""
    shape = loc.shape.as_list()
    needed = shape[:-2] + shape[:-3:-1] if swap else shape  # [.., filters, in] -> [.., in, filters]
    if name not in saved:
        raise CheckpointError('moped: checkpoint %s has no variable %s (of the %d it holds, '
                              'e.g. %s)' % (checkpoint, name, len(saved), sorted(saved)[:1]))
    if list(saved[name]) != needed:
        raise CheckpointError('moped: %s has shape %s in %s, the model needs %s%s'
                              % (name, saved[name], checkpoint, needed,
                                 ' (a transposed convolution\'s kernel as tf.layers lays it '
                                 'out, [..., filters, in_channels])' if swap else ''))
    for v in (loc, centre):
        if v is not None:
            _check_dtype(checkpoint, name, dtypes[name], v)


def _refuse_earlier_initializers(variables):
    """Refuses an op built before this call that runs the current initialiser
    of one of `variables` (a `tf.global_variables_initializer()`): it would
    start the variable at its old value, not the checkpoint's, without a word."""
    old = set(v.initializer.name for v in variables)
    for op in tf.get_default_graph().get_operations():
        if any(c.name in old for c in op.control_inputs):
            raise ConfigError("moped: %s was built before init_from_checkpoint, and would run "
                              "the variables' old initial values: call init_from_checkpoint "
                              "first, then build tf.global_variables_initializer()" % op.name)


def _check_positive(what, value, above=0.0):
    """`value` as a float, if it is a finite real number above `above`."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real) or not (
            np.isfinite(value) and value > above):
        raise ConfigError('moped: %s must be a finite number above %g, got %r'
                          % (what, above, value))
    return float(value)


def init_from_checkpoint(checkpoint, delta=0.1, scope=None, min_scale=1e-5,
                         centre_prior=False):
    """Makes the getter posteriors of the default graph start at a checkpoint's weights.

    The model's other variables that the checkpoint holds under the same name
    and shape (the deterministic biases, normalisation parameters and moving
    statistics) start at their checkpoint values too, so the whole trained
    network is restored. The training's own variables do not (`_model_state`):
    the global step, the optimiser's slots and accumulators start afresh.

    Args:
      checkpoint: path prefix of a checkpoint holding a variable of the same
        name and shape for every posterior mean (a deterministic model's).
        Its values are cast to each variable's dtype: a float32 model's
        checkpoint starts a float64 model, and the reverse (an integer
        into an integer too; a float into an integer is refused).
      delta: the scale of each weight relative to its size (> 0).
      scope: only the posteriors (and other variables) in this variable
        scope, matched at a '/': 'net' selects 'net/...', not 'net_1/...'
        (as `tfbnn.losses.get_kl_losses`; otherwise a regular expression).
      min_scale: the smallest sigma (a weight of 0 gets this).
      centre_prior: also start each `<name>_prior_mean` (made by a getter
        with `centred_prior=True`) at the weights, so the prior is centred on
        the trained network (MOPED's empirical-Bayes prior).

    Returns:
      dict: name -> (shape, the mean |w|, the mean sigma) of each posterior
      set; the other variables restored are listed under the key 'others'.

    Raises:
      ConfigError: delta or min_scale not positive, no posteriors in the
        graph (under `scope`), or centre_prior without prior-mean variables.
      CheckpointError: the checkpoint cannot be read, or lacks a variable
        (or has it with another shape, or a dtype not cast to the model's),
        naming it.
    """
    require_graph_mode('tfbnn.moped.init_from_checkpoint')
    checkpoint = checkpoint_reader.checked_path(checkpoint, 'moped: ')
    check_bools('moped', centre_prior=centre_prior)
    delta = _check_positive('delta', delta)
    min_scale = _check_positive('min_scale', min_scale, SCALE_FLOOR)
    targets = _posteriors(scope)
    if not targets:
        raise ConfigError('moped: no Bayesian posteriors (tfbnn.custom_getter or tfbnn.layers) '
                          'in the graph%s: build the model first'
                          % ('' if scope is None else " under '%s'" % scope))
    reader = checkpoint_reader.reader(checkpoint, 'moped: ')
    saved = reader.get_variable_to_shape_map()
    dtypes = reader.get_variable_to_dtype_map()
    by_name = {v.op.name: v for v in graph_variables()}
    centres = {name: by_name.get(loc.op.name + '_prior_mean') for name, loc, _ in targets}
    if centre_prior and all(v is None for v in centres.values()):  # (no bool of a variable)
        raise ConfigError('moped: centre_prior needs the posteriors built with '
                          'bayesian_scope(..., centred_prior=True)')
    transposed = set(v.op.name for v in tf.get_collection(GraphKeys.TRANSPOSED_KERNELS))
    # Every check first: a refusal leaves every initialiser as it was.
    for name, loc, _ in targets:
        _check_target(checkpoint, saved, dtypes, name, loc, loc.op.name in transposed,
                      centres[name] if centre_prior else None)
    posterior_names = set(v.op.name for _, loc, rho in targets for v in (loc, rho))
    posterior_names |= set(v.op.name for v in centres.values() if v is not None)
    others = [v for v in _model_state()
              if in_scope(v.op.name, scope)
              and v.op.name not in posterior_names and v.op.name in saved
              and list(saved[v.op.name]) == v.shape.as_list()]
    for v in others:
        _check_dtype(checkpoint, v.op.name, dtypes[v.op.name], v)
    _refuse_earlier_initializers([v for _, loc, rho in targets for v in (loc, rho)] + others
                                 + [v for v in centres.values() if v is not None])
    report = {}
    for name, loc, rho in targets:
        shape = loc.shape.as_list()
        swap = loc.op.name in transposed
        weights = reader.get_tensor(name)
        if swap:
            weights = np.swapaxes(weights, -1, -2)
        scale = moped_scale(weights, delta, min_scale)
        if swap:
            _initialise(loc, weights)
        else:
            _restore(checkpoint, name, dtypes[name], loc)
        if centre_prior and centres[name] is not None:
            _restore(checkpoint, name, dtypes[name], centres[name])
        _initialise(rho, _rho_of(scale))
        report[name] = (shape, float(np.mean(np.abs(weights))), float(np.mean(scale)))
    for v in others:
        _restore(checkpoint, v.op.name, dtypes[v.op.name], v)
    report['others'] = sorted(v.op.name for v in others)
    return report
