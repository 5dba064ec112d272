"""The `Dataset` record every loader returns, and its validating constructor.

A `Dataset` is a plain namedtuple of numpy arrays and metadata, so it pickles,
prints and compares like any tuple. Loaders build it with `make_dataset`,
which casts the arrays to their documented dtypes and checks the invariants
(shapes agree, nothing empty, every value finite, labels in range), so a model
can trust whatever it is given.
"""
import collections

import numpy as np

from tfbnn.data._common import check_int
from tfbnn.errors import ConfigError, DataError

__all__ = ['Dataset', 'TASKS', 'make_dataset']

TASKS = ('classification', 'regression')

Dataset = collections.namedtuple('Dataset', [
    'name', 'task', 'description',
    'x_train', 'y_train', 'x_test', 'y_test',
    'input_shape', 'num_classes', 'target_mean', 'target_std', 'x_val', 'y_val',
    'input_mean', 'input_std'])
# Only `tfbnn.data.hold_out_validation` fills the validation split.
Dataset.__new__.__defaults__ = (None, None, None, None)
Dataset.__doc__ = """A train/test split ready for a model.

Attributes:
  name: str, the loader's name ('digits', 'mnist', ...).
  task: 'classification' or 'regression'.
  description: str, one line saying what the data are and how many.
  x_train: `float32` array of shape `[N] + input_shape`.
  y_train: `int64` labels of shape `[N]` in `0..num_classes-1` for
    classification; `float32` targets of shape `[N]` for regression,
    standardised with the training mean and std.
  x_test: `float32` array of shape `[M] + input_shape`.
  y_test: like `y_train`, shape `[M]`, standardised with the *training* stats.
  input_shape: tuple of ints, the shape of one example.
  num_classes: int for classification, None for regression.
  target_mean: float; the training mean the regression targets were shifted
    by (0.0 for classification).
  target_std: float; the training std they were divided by (1.0 for
    classification). Original units: `y * target_std + target_mean`.
  x_val, y_val: None, or a validation split carved from the training data
    by `tfbnn.data.hold_out_validation` (like `x_train`, `y_train`); what
    hyperparameters and the stopping epoch are chosen on, so the test split
    never is.
  input_mean, input_std: None when the inputs are as the data gave them;
    else `float64` arrays of shape `input_shape`: the loader (or
    `hold_out_validation` after it) standardised them, `x = (raw -
    input_mean) / input_std`. The run records them, and an exported graph
    applies them itself, so it takes the raw inputs.
"""


def _check_finite(source, key, array):
    bad = ~np.isfinite(array)
    if np.any(bad):
        first = np.argwhere(bad)[0]
        raise DataError('%s: %s has %d non-finite values (NaN or inf), the first in '
                        'example %d' % (source, key, int(bad.sum()), first[0]))


def _check_float32_range(source, key, array, cast):
    """Finite values too large for float32 (they would become inf) are named
    as such, before the cast; NaN and inf are `_check_finite`'s."""
    if not cast or array.dtype.kind != 'f' or array.dtype.itemsize <= 4:
        return
    finite = np.abs(array[np.isfinite(array)])
    if finite.size and finite.max() > np.finfo(np.float32).max:
        raise DataError('%s: %s holds values up to %.3g, beyond float32 (%.3g): rescale them'
                        % (source, key, finite.max(), np.finfo(np.float32).max))


def make_dataset(name, task, description, x_train, y_train, x_test, y_test,
                 num_classes=None, target_mean=0.0, target_std=1.0, source=None,
                 input_mean=None, input_std=None):
    """Builds a `Dataset` after checking and casting its parts.

    Args:
      name: str, the dataset's name.
      task: one of `TASKS`.
      description: str, one line.
      x_train: array-like of shape `[N, ...]`; cast to `float32`.
      y_train: array-like of shape `[N]`: integer labels for classification
        (cast to `int64`), numbers for regression (cast to `float32`).
      x_test: array-like of shape `[M, ...]`, same per-example shape.
      y_test: array-like of shape `[M]`.
      num_classes: int >= 2 for classification; must be None for regression.
      target_mean: float, see `Dataset`; must be 0.0 for classification.
      target_std: positive float, see `Dataset`; must be 1.0 for classification.
      source: str or None; the file or folder the data came from, named at the
        start of every `DataError` message (defaults to `name`).
      input_mean, input_std: None, or both: the standardisation the inputs
        were given (see `Dataset`), each of the shape of one example.

    Returns:
      A `Dataset`.

    Raises:
      ConfigError: `task`, `num_classes` or the target statistics are invalid
        (a bug in the caller rather than in the data).
      DataError: a split is empty, shapes disagree, an example holds no
        values, a value is not finite or beyond float32's range, a label is
        not a whole number or outside `0..num_classes-1`.
    """
    source = name if source is None else source
    if task not in TASKS:
        raise ConfigError('dataset %r: task must be one of %s, got %r'
                          % (name, TASKS, task))
    if task == 'classification':
        num_classes = check_int('dataset %r' % name, 'num_classes', num_classes, 2)
        if (target_mean, target_std) != (0.0, 1.0):
            raise ConfigError('dataset %r: a classification set has target_mean 0.0 and '
                              'target_std 1.0, got %r and %r'
                              % (name, target_mean, target_std))
    else:
        if num_classes is not None:
            raise ConfigError('dataset %r: num_classes must be None for regression, got %r'
                              % (name, num_classes))
        if not (np.isfinite(target_mean) and np.isfinite(target_std) and target_std > 0):
            raise ConfigError('dataset %r: target_mean must be finite and target_std '
                              'positive, got %r and %r' % (name, target_mean, target_std))

    arrays = collections.OrderedDict(
        [('x_train', x_train), ('y_train', y_train), ('x_test', x_test), ('y_test', y_test)])
    for key, value in arrays.items():
        value = np.asarray(value)
        if value.dtype.kind not in 'biuf':
            raise DataError('%s: %s must hold real numbers, got dtype %s'
                            % (source, key, value.dtype))
        if value.ndim == 0:
            raise DataError('%s: %s is a scalar; expected shape [N, ...]' % (source, key))
        if len(value) == 0:
            raise DataError('%s: %s is empty (%s set with no examples)'
                            % (source, key, 'training' if key.endswith('train') else 'test'))
        arrays[key] = value
    for split in ('train', 'test'):
        x, y = arrays['x_' + split], arrays['y_' + split]
        if y.ndim != 1:
            raise DataError('%s: y_%s must have shape [N], got %s'
                            % (source, split, list(y.shape)))
        if len(x) != len(y):
            raise DataError('%s: x_%s has %d examples but y_%s has %d'
                            % (source, split, len(x), split, len(y)))
    input_shape = tuple(int(d) for d in arrays['x_train'].shape[1:])
    if tuple(arrays['x_test'].shape[1:]) != input_shape:
        raise DataError('%s: examples of x_train have shape %s but those of x_test %s'
                        % (source, list(input_shape), list(arrays['x_test'].shape[1:])))
    if not np.prod(input_shape, dtype=np.int64):
        raise DataError('%s: examples of x_train have shape %s: no input values'
                        % (source, list(input_shape)))
    for key, value in arrays.items():
        _check_float32_range(source, key, value, task == 'regression' or key[0] == 'x')
    for key in ('x_train', 'x_test'):
        arrays[key] = arrays[key].astype(np.float32, copy=False)
    if task == 'regression':
        for key in ('y_train', 'y_test'):
            arrays[key] = arrays[key].astype(np.float32, copy=False)
    for key, value in arrays.items():
        _check_finite(source, key, value)

    if task == 'classification':
        for key in ('y_train', 'y_test'):
            y = arrays[key]
            bad = np.flatnonzero((y != np.round(y)) | (y < 0) | (y >= num_classes))
            if bad.size:
                raise DataError('%s: %s[%d] = %r is not a class label in 0..%d'
                                % (source, key, bad[0], y[bad[0]].item(), num_classes - 1))
            arrays[key] = y.astype(np.int64)

    input_mean, input_std = _input_statistics(name, input_shape, input_mean, input_std)
    return Dataset(name=name, task=task, description=description,
                   input_shape=input_shape, num_classes=num_classes,
                   target_mean=float(target_mean), target_std=float(target_std),
                   input_mean=input_mean, input_std=input_std, **arrays)


def _input_statistics(name, input_shape, mean, std):
    """`(input_mean, input_std)` checked: both None, or finite arrays of the
    example shape with a positive std."""
    if mean is None and std is None:
        return None, None
    if mean is None or std is None:
        raise ConfigError('dataset %r: input_mean and input_std go together' % name)
    mean, std = np.asarray(mean, np.float64), np.asarray(std, np.float64)
    if mean.shape != tuple(input_shape) or std.shape != tuple(input_shape):
        raise ConfigError('dataset %r: input_mean and input_std must have the example shape %s, '
                          'got %s and %s' % (name, list(input_shape), list(mean.shape),
                                             list(std.shape)))
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(std)) and np.all(std > 0)):
        raise ConfigError('dataset %r: input_mean must be finite and input_std positive'
                          % name)
    return mean, std
