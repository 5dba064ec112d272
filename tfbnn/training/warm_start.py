"""--warm-start: a new run whose model starts at another tfbnn run's weights.

Unlike --resume, which continues a run (its step, its optimizer's slots, its
history), a warm start is a run of its own: step 0, a fresh optimizer, its
own schedule and output directory; only the model's variables (posterior
means and rhos, biases, normalisation parameters and statistics) start at
the checkpoint's values. With --prune-fraction the job then prunes the
warm-started posterior by signal-to-noise ratio before the first step and
trains the weights that are kept (`tfbnn.pruning`).

How it is used, as `tf.train.init_from_checkpoint`: build the training
graph, call `warm_start` before the variables' initialiser is made, then run
`tf.global_variables_initializer()`.
"""
import os

import tensorflow.compat.v1 as tf

from tfbnn.errors import CheckpointError
from tfbnn.internal import checkpoint_reader
from tfbnn.internal.scopes import scope_pattern
from tfbnn.training import rundir

__all__ = ['resolve', 'model_variables', 'warm_start', 'refuse_extra', 'RUN_OPTIONS']

# What two runs must share for one's checkpoint to fit the other's model.
RUN_OPTIONS = '--model, --hidden, --norm and prior family'


def resolve(path, log=None):
    """The checkpoint a --warm-start path names.

    Args:
      path: a run directory (its early-stopping best/ checkpoint if it has
        one, else its latest) or a checkpoint prefix ('<dir>/model.ckpt-N').
      log: told in a line when the latest checkpoint the state names lacks
        its .index and an older one is taken.

    Returns:
      The checkpoint prefix.

    Raises:
      CheckpointError: the directory has no checkpoint, or the path is
        neither a directory nor a readable checkpoint.
    """
    if os.path.isdir(path):
        return rundir.chosen_checkpoint(path, log=log)
    # A one-line error if unreadable.
    checkpoint_reader.reader(path, '--warm-start: ', also='a run directory')
    return path


def model_variables(scope):
    """The global variables under `scope` that are the model's: every one
    except optimizer slots, which live under their variable's name
    (`model/fc1/kernel_loc/Momentum`)."""
    variables = tf.global_variables(scope_pattern(scope))
    names = set(v.op.name for v in variables)
    return [v for v in variables
            if not any(v.op.name.startswith(other + '/') for other in names)]


def warm_start(checkpoint, scope):
    """Makes every model variable under `scope` start at `checkpoint`'s value.

    Args:
      checkpoint: a checkpoint prefix (see `resolve`) written by a run of the
        same model.
      scope: the model's variable scope ('model' in the training job).

    Returns:
      The names of the variables that start at the checkpoint, sorted.

    Raises:
      CheckpointError: the checkpoint cannot be read, lacks one of the
        model's variables, holds it with another shape, or holds a model
        variable the model lacks (naming it: the checkpoint is of another
        model).
    """
    # Every tensor read now: a truncated .data file is one line, as on --resume.
    reader = checkpoint_reader.read_all(checkpoint, '--warm-start: ')
    saved = reader.get_variable_to_shape_map()
    targets = model_variables(scope)
    if not targets:
        raise CheckpointError('--warm-start: the model has no variables under %r' % scope)
    for v in targets:
        name, shape = v.op.name, v.shape.as_list()
        if name not in saved:
            raise CheckpointError('--warm-start: %s has no variable %s: it was written by '
                                  'another model (same %s needed)'
                                  % (checkpoint, name, RUN_OPTIONS))
        if list(saved[name]) != shape:
            raise CheckpointError('--warm-start: %s has shape %s in %s, the model needs %s'
                                  % (name, list(saved[name]), checkpoint, shape))
    refuse_extra('--warm-start', checkpoint, saved, set(v.op.name for v in targets), scope,
                 RUN_OPTIONS)
    tf.train.init_from_checkpoint(checkpoint, {v.op.name: v for v in targets})
    return sorted(v.op.name for v in targets)


def refuse_extra(flag, checkpoint, saved, names, scope, same):
    """Refuses a checkpoint holding a model variable the model lacks.

    Args:
      flag: the option that names the checkpoint, for the message ('': none).
      checkpoint: its path.
      saved: its variable -> shape map.
      names: the names it is read into (the model's variables).
      scope: the model's variable scope.
      same: the options a run must share to fit, for the message.

    Raises:
      CheckpointError: a variable under `scope` that is none of `names` nor
        an optimizer slot of one (a layer or norm the model lacks, whose
        weights would be dropped without a word).
    """
    extra = _not_in_model(saved, names, scope)
    if extra:
        raise CheckpointError('%s%s holds %s%s, which this model has not: it was written by '
                              'another model (same %s needed)'
                              % (flag + ': ' if flag else '', checkpoint, extra[0],
                                 ' (and %d more)' % (len(extra) - 1) if extra[1:] else '', same))


def _not_in_model(saved, names, scope):
    """The checkpoint's variables under `scope` that are none of the model's
    `names` nor an optimizer slot of one of its variables ('<name>/Adam'):
    a layer or norm the model lacks, whose weights a warm start would drop."""
    inside = set(n for n in saved if n.startswith(scope + '/'))

    def is_slot(name):
        parts = name.split('/')
        return any('/'.join(parts[:i]) in inside for i in range(1, len(parts)))
    return sorted(n for n in inside if n not in names and not is_slot(n))
