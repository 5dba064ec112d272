"""A user's own data set from one `.npz` archive of four arrays.

The archive holds `x_train`, `y_train`, `x_test` and `y_test` (other keys are
ignored). Integer `y` makes a classification set, floating-point `y` a
regression set. It is read with `allow_pickle=False`: an archive whose
arrays hold Python objects is refused rather than unpickled, since
unpickling runs code from the file.
"""
import os
import zipfile

import numpy as np

from tfbnn.data._common import check_path, one_line, standardize
from tfbnn.data.dataset import make_dataset
from tfbnn.errors import DataError

__all__ = ['load_npz', 'NPZ_KEYS', 'NPZ_FILE']

NPZ_KEYS = ('x_train', 'y_train', 'x_test', 'y_test')
NPZ_FILE = 'data.npz'


def _archive_path(data_dir):
    """`data_dir` itself if it is a file, else `data_dir`/data.npz."""
    if os.path.isdir(data_dir):
        path = os.path.join(data_dir, NPZ_FILE)
        if not os.path.isfile(path):
            raise DataError('%s: no such file (dataset \'npz\' needs a .npz file, or a '
                            'folder holding %s)' % (path, NPZ_FILE))
        return path
    if not os.path.exists(data_dir):
        raise DataError('%s: no such file or directory (dataset \'npz\')' % data_dir)
    return data_dir


def _read_arrays(path):
    """The four arrays of the archive at `path`, as an ordered list of (key, array)."""
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
                        % (path, what, ', '.join('%s=...' % key for key in NPZ_KEYS)))
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError('%s: corrupt .npz archive (%s)' % (path, one_line(err))) from err
    with archive:
        missing = [key for key in NPZ_KEYS if key not in archive.files]
        if missing:
            raise DataError('%s: missing array(s) %s (the archive has: %s)'
                            % (path, ', '.join(missing), ', '.join(archive.files) or 'none'))
        arrays = []
        for key in NPZ_KEYS:
            try:
                arrays.append((key, archive[key]))
            except ValueError as err:
                if 'pickle' in str(err):
                    raise DataError('%s: %s is an object array; it would need unpickling, '
                                    'which is refused (save plain numeric arrays)'
                                    % (path, key)) from err
                raise DataError('%s: cannot read %s (%s)' % (path, key, one_line(err))) from err
            except (OSError, EOFError, zipfile.BadZipFile) as err:
                raise DataError('%s: cannot read %s (%s)' % (path, key, one_line(err))) from err
    return arrays


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
      label + 1 over both splits. Floating-point `y`: regression, standardised
      with the training mean and std as for 'uci'.

    Raises:
      ConfigError: `data_dir` is not a path.
      DataError: the file is missing, not an .npz archive, corrupt, lacks one
        of the four arrays or holds objects; a `y` is neither integer nor
        float, or the two differ in kind; shapes or lengths disagree; a split
        is empty; a value is NaN or infinite; a label is negative, or there
        are fewer than two classes.
    """
    path = _archive_path(check_path('npz', 'data_dir', data_dir))
    arrays = dict(_read_arrays(path))
    for key in ('x_train', 'x_test'):
        x = arrays[key]
        if x.dtype.kind not in 'biuf':
            raise DataError('%s: %s has dtype %s; expected numbers' % (path, key, x.dtype))
        if x.ndim == 0:
            raise DataError('%s: %s is a scalar; expected shape [N, ...]' % (path, key))
        arrays[key] = x[:, None] if x.ndim == 1 else x
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

    if kinds[0] == 'int':
        for key, y in (('y_train', y_train), ('y_test', y_test)):
            bad = np.flatnonzero(y < 0)
            if bad.size:
                raise DataError('%s: %s[%d] = %d is a negative class label'
                                % (path, key, bad[0], y[bad[0]]))
        num_classes = int(max(y_train.max(), y_test.max())) + 1
        if num_classes < 2:
            raise DataError('%s: every label is 0; classification needs at least two classes'
                            % path)
        description = 'arrays from %s: %s, %d classes' % (path, counts, num_classes)
        return make_dataset('npz', 'classification', description, x_train, y_train,
                            x_test, y_test, num_classes=num_classes, source=path)

    # Check before standardising, which would spread one NaN over the whole split.
    for key, y in (('y_train', y_train), ('y_test', y_test)):
        bad = np.flatnonzero(~np.isfinite(y))
        if bad.size:
            raise DataError('%s: %s has %d non-finite values (NaN or inf), the first in '
                            'example %d' % (path, key, bad.size, bad[0]))
    y_train, y_test, y_mean, y_std = standardize(y_train, y_test)
    description = 'arrays from %s: %s, regression' % (path, counts)
    return make_dataset('npz', 'regression', description, x_train, y_train, x_test, y_test,
                        target_mean=float(y_mean), target_std=float(y_std), source=path)
