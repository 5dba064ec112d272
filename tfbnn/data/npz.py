"""A user's own data set from one `.npz` archive of four arrays.

The archive holds `x_train`, `y_train`, `x_test` and `y_test` (other keys are
ignored, and named in the description); an out-of-distribution set needs only `x_test`
(`load_npz_test_inputs`). Integer `y` makes a classification set,
floating-point `y` a regression set (float labels 0.0/1.0 train a regression:
store class labels as integers). The inputs are used as stored, not scaled
(scale them first, e.g. pixels / 255). It is read with `allow_pickle=False`:
an archive whose arrays hold Python objects is refused rather than
unpickled, since unpickling runs code from the file.
"""
import os
import stat
import zipfile

import numpy as np

from tfbnn.data._common import (MAX_CLASSES, check_path, count_classes, not_a_file, one_line,
                                short_list, standardize)
from tfbnn.data.dataset import make_dataset
from tfbnn.errors import DataError

__all__ = ['load_npz', 'load_npz_test_inputs', 'NPZ_KEYS', 'NPZ_FILE', 'MAX_CLASSES']

NPZ_KEYS = ('x_train', 'y_train', 'x_test', 'y_test')
NPZ_FILE = 'data.npz'


def _archive_path(data_dir):
    """`data_dir` itself if it is a file, else `data_dir`/data.npz; a regular
    file either way (reading a named pipe would wait for a writer for good)."""
    if os.path.isdir(data_dir):
        path = os.path.join(data_dir, NPZ_FILE)
        if not os.path.exists(path):  # (also a broken link, or a folder not entered)
            raise DataError('%s: %s (dataset \'npz\' needs a .npz file, or a folder holding %s)'
                            % (path, not_a_file(path), NPZ_FILE))
    elif not os.path.exists(data_dir):
        raise DataError('%s: no such file or directory (dataset \'npz\')' % data_dir)
    else:
        path = data_dir
    if not os.path.isfile(path):
        mode = os.stat(path).st_mode
        kind = ('a folder' if stat.S_ISDIR(mode) else 'a named pipe (FIFO)'
                if stat.S_ISFIFO(mode) else 'a socket' if stat.S_ISSOCK(mode) else 'a device')
        raise DataError('%s: not a regular file but %s (dataset \'npz\' reads a .npz file, or '
                        'a folder holding %s)' % (path, kind, NPZ_FILE))
    return path


def _read_arrays(path, keys=NPZ_KEYS):
    """The arrays `keys` of the archive at `path`, as an ordered list of (key,
    array), and the sorted names of its other members (ignored)."""
    # np.load would also accept a single .npy array, or try to unpickle
    # anything else; an archive is a zip file, so check for its signature.
    try:
        with open(path, 'rb') as f:
            signature = f.read(4)
    except OSError as err:
        raise DataError('%s: cannot read the file (%s)' % (path, one_line(err))) from err
    if signature not in (b'PK\x03\x04', b'PK\x05\x06'):
        what = 'a single .npy array' if signature == b'\x93NUM' else 'not a zip file'
        raise DataError('%s: not an .npz archive (%s); save one with np.savez(path, %s)'
                        % (path, what, ', '.join('%s=...' % key for key in keys)))
    try:
        with zipfile.ZipFile(path):  # before numpy, whose NpzFile would print a traceback
            pass
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError('%s: corrupt .npz archive (%s)' % (path, one_line(err))) from err
    # Python's zipfile refuses encrypted members (RuntimeError) and methods it
    # lacks, e.g. Deflate64 (NotImplementedError), only when one is read.
    unreadable = (OSError, EOFError, zipfile.BadZipFile, RuntimeError, NotImplementedError)
    with archive:
        missing = [key for key in keys if key not in archive.files]
        if missing:
            raise DataError('%s: missing array(s) %s (the archive has: %s)'
                            % (path, ', '.join(missing), ', '.join(archive.files) or 'none'))
        arrays = []
        for key in keys:
            try:
                arrays.append((key, archive[key]))
            except ValueError as err:
                if 'pickle' in str(err):
                    raise DataError('%s: %s is an object array; it would need unpickling, '
                                    'which is refused (save plain numeric arrays)'
                                    % (path, key)) from err
                raise DataError('%s: cannot read %s (%s)' % (path, key, one_line(err))) from err
            except unreadable as err:
                raise DataError('%s: cannot read %s (%s%s)' % (
                    path, key, one_line(err), '; save the archive with np.savez or '
                    'np.savez_compressed' if isinstance(err, (RuntimeError, NotImplementedError))
                    else '')) from err
            except MemoryError as err:  # numpy allocates the shape its header declares
                raise DataError('%s: cannot read %s: its header declares more data than memory '
                                'holds (%s); a damaged file?' % (path, key, one_line(err))) from err
            if not isinstance(arrays[-1][1], np.ndarray):  # numpy gives other members as bytes
                raise DataError('%s: %s is not a .npy array inside the archive (save the archive '
                                'with np.savez)' % (path, key))
        others = sorted(set(archive.files) - set(keys))
    return arrays, others


def _inputs(path, key, x):
    """`x` checked to be numbers of shape [N, ...]; rank 1 taken as [N, 1]."""
    if x.dtype.kind not in 'biuf':
        raise DataError('%s: %s has dtype %s; expected numbers' % (path, key, x.dtype))
    if x.ndim == 0:
        raise DataError('%s: %s is a scalar; expected shape [N, ...]' % (path, key))
    return x[:, None] if x.ndim == 1 else x


def _kind(path, key, array):
    """'int' or 'float' for the dtype of `array`, else a DataError."""
    if array.dtype.kind in 'iu':
        return 'int'
    if array.dtype.kind == 'f':
        return 'float'
    raise DataError('%s: %s has dtype %s; expected integer class labels or floating-point '
                    'regression targets' % (path, key, array.dtype))


def load_npz(data_dir):
    """Loads a data set from an `.npz` archive.

    Args:
      data_dir: str or path-like; an `.npz` file, or a folder with `data.npz`.

    Returns:
      A `Dataset` named 'npz'. `x` as stored (cast to `float32`; rank-1 `x` is
      taken as `[N, 1]`, inputs are not standardised). Integer `y` (shape
      `[N]` or `[N, 1]`): classification with `num_classes` = the largest
      label + 1 over both splits (the job names each class without a
      training example: `tfbnn.data.untrained_classes_warning`).
      Floating-point `y`: regression, standardised with the training mean
      and std as for 'uci'.

    Raises:
      ConfigError: `data_dir` is not a path.
      DataError: the file is missing, not an .npz archive, corrupt, lacks one
        of the four arrays or holds objects; a `y` is neither integer nor
        float, or the two differ in kind; shapes or lengths disagree; a split
        is empty; a value is NaN or infinite; a label is negative, or there
        are fewer than two classes.
    """
    path = _archive_path(check_path('npz', 'data_dir', data_dir))
    arrays, others = _read_arrays(path)
    arrays = dict(arrays)
    for key in ('x_train', 'x_test'):
        arrays[key] = _inputs(path, key, arrays[key])
    for key in ('y_train', 'y_test'):
        y = arrays[key]
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        if y.ndim != 1:
            raise DataError('%s: %s has shape %s; expected [N] (or [N, 1])'
                            % (path, key, list(y.shape)))
        arrays[key] = y
    kinds = [_kind(path, key, arrays[key]) for key in ('y_train', 'y_test')]
    if kinds[0] != kinds[1]:
        raise DataError('%s: y_train has dtype %s but y_test %s; both must be integer '
                        '(classification) or both float (regression)'
                        % (path, arrays['y_train'].dtype, arrays['y_test'].dtype))
    for key in NPZ_KEYS:
        if len(arrays[key]) == 0:
            raise DataError('%s: %s is empty (%s set with no examples)'
                            % (path, key, 'training' if key.endswith('train') else 'test'))
    x_train, y_train, x_test, y_test = (arrays[key] for key in NPZ_KEYS)
    counts = '%d train / %d test' % (len(x_train), len(x_test))
    if others:  # x_val, say: said, since a user may expect it used
        counts += ' (ignored: %s)' % short_list(others)

    if kinds[0] == 'int':
        num_classes = count_classes(path, [('y_train', y_train), ('y_test', y_test)])
        description = 'arrays from %s: %s, %d classes' % (path, counts, num_classes)
        return make_dataset('npz', 'classification', description, x_train, y_train,
                            x_test, y_test, num_classes=num_classes, source=path)

    # Check before standardising, which would spread one NaN over the whole split.
    for key, y in (('y_train', y_train), ('y_test', y_test)):
        bad = np.flatnonzero(~np.isfinite(y))
        if bad.size:
            raise DataError('%s: %s has %d non-finite values (NaN or inf), the first in '
                            'example %d' % (path, key, bad.size, bad[0]))
    y_train, y_test, y_mean, y_std = standardize(y_train, y_test, source=path)
    description = 'arrays from %s: %s, regression' % (path, counts)
    return make_dataset('npz', 'regression', description, x_train, y_train, x_test, y_test,
                        target_mean=float(y_mean), target_std=float(y_std), source=path)


def load_npz_test_inputs(data_dir):
    """The `x_test` alone of an `.npz` archive: an out-of-distribution set.

    Only `x_test` is read; the other arrays may be missing, and whatever `y`
    there is does not matter: an OOD set is scored by the network's
    uncertainty, never against its own labels.

    Args:
      data_dir: str or path-like; an `.npz` file, or a folder with `data.npz`.

    Returns:
      A classification `Dataset` named 'npz_ood' whose test split holds
      `x_test` (cast to `float32`, rank 1 taken as `[M, 1]`); its labels are
      placeholders (0), its training split is a one-example stand-in (zeros)
      and its `num_classes` 2 (a placeholder too).

    Raises:
      ConfigError: `data_dir` is not a path.
      DataError: the file is missing, not an .npz archive or corrupt; it has
        no `x_test`, or that holds objects or non-numbers, is a scalar or
        empty, or has a NaN or infinite value.
    """
    path = _archive_path(check_path('npz', 'data_dir', data_dir))
    x = _inputs(path, 'x_test', dict(_read_arrays(path, ('x_test',))[0])['x_test'])
    if len(x) == 0:  # before the stand-in training split, which would be empty too
        raise DataError('%s: x_test is empty (test set with no examples)' % path)
    labels = np.zeros([len(x)], np.int64)
    return make_dataset('npz_ood', 'classification',
                        'out-of-distribution inputs x_test of %s: %d' % (path, len(x)),
                        np.zeros_like(x[:1]), labels[:1], x, labels, num_classes=2,
                        source=path)
