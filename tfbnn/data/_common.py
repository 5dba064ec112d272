"""Internal helpers the dataset loaders share: argument checks, file access,
text tables and standardisation.

Every problem with the user's files becomes a one-line `DataError` that starts
with the offending path; every problem with a Python argument becomes a
`ConfigError`. Nothing here lets a raw `OSError`, `gzip` or numpy parse error
through, so a script can print the message and exit without a traceback.
"""
import codecs
import gzip
import numbers
import os
import stat
import warnings
import zlib

import numpy as np

from tfbnn.errors import ConfigError, DataError

__all__ = ['check_int', 'check_positive', 'check_path', 'one_line',
           'require_dir', 'read_bytes', 'read_table', 'read_indices',
           'standardize', 'CONSTANT_RTOL', 'count_classes', 'MAX_CLASSES',
           'GZIP_MAGIC', 'short_list', 'not_a_file']

MAX_CLASSES = 100000  # a larger label is a mistake (a class index taken from an ID)


def check_int(owner, name, value, minimum=None, maximum=None):
    """Returns `value` as an `int`, or raises `ConfigError`.

    Args:
      owner: str, who is asking (the loader's name), for the message.
      name: str, the argument's name.
      value: the argument; a Python or numpy integer (not a bool).
      minimum: int or None; the smallest allowed value.
      maximum: int or None; the largest allowed value.

    Raises:
      ConfigError: `value` is not an integer or is outside the bounds.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ConfigError('%s: %s must be an integer, got %r' % (owner, name, value))
    if minimum is not None and value < minimum:
        raise ConfigError('%s: %s must be at least %d, got %d'
                          % (owner, name, minimum, value))
    if maximum is not None and value > maximum:
        raise ConfigError('%s: %s must be at most %d, got %d'
                          % (owner, name, maximum, value))
    return int(value)


def check_positive(owner, name, value, allow_zero=False):
    """Returns `value` as a finite positive (or non-negative) `float`.

    Raises:
      ConfigError: `value` is not a real number, not finite, or too small.
    """
    if (isinstance(value, bool) or not isinstance(value, numbers.Real)
            or not np.isfinite(value) or value < 0 or (value == 0 and not allow_zero)):
        kind = 'non-negative' if allow_zero else 'positive'
        raise ConfigError('%s: %s must be a %s finite number, got %r'
                          % (owner, name, kind, value))
    return float(value)


def check_path(owner, name, value):
    """Returns `value` (a `str` or path-like) as a `str`, or raises `ConfigError`."""
    if isinstance(value, bytes) or not isinstance(value, (str, os.PathLike)):
        raise ConfigError('%s: %s must be a path (str or os.PathLike), got %r'
                          % (owner, name, value))
    return os.fspath(value)


def one_line(err):
    """The message of exception `err` on one line, with its type if it is empty."""
    text = ' '.join(str(err).split())
    return text or type(err).__name__


def require_dir(path, owner):
    """Raises `DataError` unless `path` is an existing directory.

    Args:
      path: str, the folder.
      owner: str, the dataset that needs it, for the message.
    """
    if not os.path.exists(path):
        raise DataError('%s: no such directory (dataset %r)' % (path, owner))
    if not os.path.isdir(path):
        raise DataError('%s: not a directory (dataset %r needs a folder)' % (path, owner))


# The first two bytes of every gzip stream (RFC 1952, section 2.3.1).
GZIP_MAGIC = b'\x1f\x8b'


def not_a_file(path):
    """Why `path` is not a regular file, for a message: 'no such file', 'is
    a directory, not a file', 'cannot be reached (Permission denied)' (a
    folder on the way that cannot be entered), 'is a broken symbolic link',
    'is a named pipe (FIFO), not a regular file', ..."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return 'is a broken symbolic link' if os.path.islink(path) else 'no such file'
    except OSError as err:
        return 'cannot be reached (%s)' % (err.strerror or err)
    if stat.S_ISDIR(mode):
        return 'is a directory, not a file'
    if stat.S_ISREG(mode):
        return 'is a file'
    return 'is %s, not a regular file' % ('a named pipe (FIFO)' if stat.S_ISFIFO(mode) else
                                          'a socket' if stat.S_ISSOCK(mode) else 'a device')


def read_bytes(path, limit=None):
    """Returns the contents of `path`, gunzipped when it is gzip data (its
    first `limit` bytes only, when given: a small gzip file may unpack to
    gigabytes).

    A file is gunzipped when its name ends in `.gz` or, under any other name,
    when it starts with gzip's magic bytes 1f 8b: a download may be saved
    compressed under the plain name (no IDX file or text table starts so).

    Raises:
      DataError: the file is missing or unreadable, is not gzip data when
        named `.gz`, or its gzip stream is corrupt or truncated.
    """
    if not os.path.isfile(path):
        raise DataError('%s: %s' % (path, not_a_file(path)))
    try:
        with open(path, 'rb') as raw:
            zipped = path.endswith('.gz') or raw.read(len(GZIP_MAGIC)) == GZIP_MAGIC
            raw.seek(0)
            with (gzip.GzipFile(fileobj=raw) if zipped else raw) as f:
                return f.read() if limit is None else _read_at_most(f, limit)
    except EOFError as err:  # gzip stream cut short
        raise DataError('%s: truncated gzip file (%s)' % (path, one_line(err))) from err
    except (OSError, zlib.error) as err:  # includes "Not a gzipped file"
        raise DataError('%s: cannot read the file (%s)' % (path, one_line(err))) from err


def _read_at_most(f, limit):
    """Up to `limit` bytes of `f`, a MiB at a time (a huge `limit`, from a
    header of huge sizes, is never allocated)."""
    chunks, left = [], limit
    while left > 0:
        chunk = f.read(min(left, 1 << 20))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b''.join(chunks)


def read_table(path, allow_empty=False):
    """Reads a table of numbers separated by whitespace or commas from a text file.

    A UTF-8 byte-order mark at the start (as Windows editors write) is skipped;
    blank lines (including trailing ones) are skipped; every other line must
    hold the same number of values. The values are parsed by numpy in one
    pass, so a table of half a million rows (UCI's year) needs little more
    memory than its numbers.

    Args:
      path: str, the text file.
      allow_empty: bool; whether a file without numbers is returned as an
        array of shape `[0, 0]` instead of raising.

    Returns:
      `float64` numpy array of shape `[rows, columns]`.

    Raises:
      DataError: the file is missing, unreadable, not text, empty, ragged, or
        holds something that is not a number.
    """
    raw = read_bytes(path)
    if raw.startswith(codecs.BOM_UTF8):  # what editors on Windows put first
        raw = raw[len(codecs.BOM_UTF8):]
    try:
        text = raw.decode('ascii')
    except UnicodeDecodeError as err:
        raise DataError('%s: not a plain-text table of numbers (%s)'
                        % (path, one_line(err))) from err
    del raw
    rows, first = 0, None
    for number, line in enumerate(text.splitlines(), 1):
        if ',' in line and not all(f.strip() for f in line.split(',')):
            raise DataError('%s: line %d: an empty field (nothing between two commas, or a '
                            'comma at an end of the line)' % (path, number))
        width = len(line.replace(',', ' ').split())
        if not width:
            continue
        if first is None:
            first = (number, width)
        elif width != first[1]:
            raise DataError('%s: line %d has %d values but line %d has %d'
                            % (path, number, width, first[0], first[1]))
        rows += 1
    if not rows:
        if allow_empty:
            return np.zeros((0, 0))
        raise DataError('%s: the file is empty' % path)
    values = _parse_numbers(text.replace(',', ' '))
    if values is None or values.size != rows * first[1]:
        _name_the_bad_value(path, text)
    return values.reshape(rows, first[1])


def _parse_numbers(text):
    """All the numbers of `text` (whitespace-separated), or None when a
    token is no number (numpy stops there, with a warning or an error)."""
    with warnings.catch_warnings():
        warnings.simplefilter('error')
        try:
            return np.fromstring(text, dtype=np.float64, sep=' ')
        except (ValueError, DeprecationWarning):
            return None


def _name_the_bad_value(path, text):
    """Raises the DataError naming the first token of `text` that numpy
    does not read as one number (as `_parse_numbers` reads them)."""
    for number, line in enumerate(text.splitlines(), 1):
        for field in line.replace(',', ' ').split():
            value = _parse_numbers(field)
            if value is None or value.size != 1:
                raise DataError('%s: line %d: cannot read %r as a number'
                                % (path, number, field))
    raise DataError('%s: cannot parse the table' % path)


def read_indices(path, limit, what):
    """Reads 0-based indices, one per line, each in `[0, limit)`, no repeats.

    Args:
      path: str, the text file.
      limit: int, one past the largest allowed index.
      what: str, what the indices count ('row' or 'column'), for messages.

    Returns:
      `int64` numpy array of shape `[count]`, in file order.

    Raises:
      DataError: as `read_table`, or the file lists no index, or an index
        that is not a whole number, is out of range, or appears twice.
    """
    values = read_table(path, allow_empty=True).ravel()
    if values.size == 0:
        raise DataError('%s: the file is empty (no %s indices)' % (path, what))
    bad = np.flatnonzero(~np.isfinite(values) | (values != np.round(values)))
    if bad.size:
        raise DataError('%s: %s index %r is not a whole number'
                        % (path, what, values[bad[0]].item()))
    indices = values.astype(np.int64)
    bad = np.flatnonzero((indices < 0) | (indices >= limit))
    if bad.size:
        raise DataError('%s: %s index %d is out of range (the data has %d %ss, '
                        'valid indices 0..%d)'
                        % (path, what, indices[bad[0]], limit, what, limit - 1))
    unique, counts = np.unique(indices, return_counts=True)
    if np.any(counts > 1):
        raise DataError('%s: %s index %d is listed %d times'
                        % (path, what, unique[counts > 1][0], counts[counts > 1][0]))
    return indices


def short_list(values, limit=10):
    """'0, 4, 5': the first `limit` of `values`, then ', ...' if there are more."""
    return ', '.join(str(v) for v in values[:limit]) + (', ...' if len(values) > limit else '')


def count_classes(path, labeled):
    """The number of classes integer labels make: the largest label + 1.

    The loaders that read class labels without a fixed class count (npz, IDX
    files of MNIST's names) share this rule: classes run 0..C-1, a class
    without examples included.

    Args:
      path: str, the file the labels are in, for messages.
      labeled: list of (name, integer numpy array of shape `[N]`): the labels
        that count, e.g. `[('y_train', y)]`; the name is said in messages.

    Returns:
      int C, at least 2 and at most `MAX_CLASSES`.

    Raises:
      DataError: a label is negative, the largest is `MAX_CLASSES` or more, or
        every label is 0.
    """
    for key, y in labeled:
        bad = np.flatnonzero(y < 0)
        if bad.size:
            raise DataError('%s: %s[%d] = %d is a negative class label'
                            % (path, key, bad[0], y[bad[0]]))
    num_classes = int(max(y.max() for _, y in labeled)) + 1
    if num_classes > MAX_CLASSES:
        raise DataError('%s: the largest label is %d, which would make %d classes (at most '
                        '%d): labels are 0..C-1; renumber them, e.g. with '
                        'np.unique(y, return_inverse=True)'
                        % (path, num_classes - 1, num_classes, MAX_CLASSES))
    if num_classes < 2:
        raise DataError('%s: every label is 0; classification needs at least two classes'
                        % path)
    return num_classes


# A column whose std is at most this fraction of its largest magnitude is
# constant: rounding alone gives a constant column of N rows a std of up to
# ~N * 1e-16 of its values (see `standardize`), far below any real spread.
CONSTANT_RTOL = 1e-10


def standardize(train, test, scale=None, source=None, columns=None):
    """Standardises `train` and `test` with the training mean and std.

    The std is the population one (`ddof=0`), as in Hernandez-Lobato & Adams'
    code. A constant column is divided by 1 instead, so it becomes ~0 (its
    values minus their mean) on both sides.

    Mathematical details:
      Per column `j`, with `m_j` and `s_j` the mean and std over the `N`
      training rows, `z = (x - m_j) / d_j` where

        d_j = 1     if s_j <= 1e-10 * S_j   (`CONSTANT_RTOL`),
        d_j = s_j   otherwise,

      and `S_j = max_i |x_ij|` over the training rows (or `scale[j]`). A
      column constant at `c` has for `s_j` the rounding error of its mean,
      up to about `N * 1e-16 |c|` as numpy sums a table's column row by row
      (measured at 0.998: 2e-14 |c| over 1,000 rows, 2.5e-13 over naval's
      11,934, 9e-12 over year's 515,345), not 0: dividing by it would turn
      rounding noise into values of +-1 that the float32 inputs of an
      exported graph cannot reproduce. Real measurements
      spread by far more than 1e-10 of their magnitude (the shipped UCI
      sets' columns: at least 0.036), so no real column is caught.

    Args:
      train: numpy array of shape `[N] + shape`.
      test: numpy array of shape `[M] + shape`.
      scale: None, or an array of shape `shape`: the magnitudes `S_j` the
        rule compares the std with, in the units of `train` (for values that
        were standardised before, those of the original values); None:
        `max |train|` over the rows.
      source: the file the values came from, named by the error below.
      columns: for 2-D `train`, the table column of each of its columns, as
        the error names them (default their positions); a 1-D `train` is
        named "the target".

    Returns:
      `(train_z, test_z, mean, std)`: the standardised `float32` arrays and
      the `float64` statistics (shape `shape`) used; `std` is 1 for a
      constant column.

    Raises:
      DataError: a column's mean or std overflows float64 (values near
        1e308), or a standardised test value lies beyond float32's range
        (a test value ~1e38 times the training spread), naming `source`
        and the column.
    """
    train = np.asarray(train, np.float64)
    test = np.asarray(test, np.float64)
    with np.errstate(over='ignore', invalid='ignore'):
        mean = train.mean(axis=0)
        std = train.std(axis=0)
    overflow = np.flatnonzero(~(np.isfinite(mean) & np.isfinite(std)))
    if overflow.size and len(train):  # (no rows: make_dataset says the split is empty)
        first = int(overflow[0])
        name = ('the target' if train.ndim == 1 else 'column %d (0-based)' % (
            first if columns is None else np.ravel(columns)[first]))
        raise DataError('%s: the mean or std of %s over the training rows overflows float64 '
                        '(largest |value| %.3g): rescale it'
                        % (source or 'standardize', name,
                           np.abs(train.reshape(len(train), -1)[:, first]).max()))
    scale = np.abs(train).max(axis=0) if scale is None else np.asarray(scale, np.float64)
    std = np.where(std > CONSTANT_RTOL * scale, std, 1.0)
    test_z = (test - mean) / std
    with np.errstate(invalid='ignore'):
        beyond = np.abs(test_z) > np.finfo(np.float32).max
    if beyond.any():  # float32 would make them inf, which reads as a NaN or inf in the file
        where = np.argwhere(beyond)[0]
        name = ('the target' if train.ndim == 1 else 'column %d (0-based)' % (
            where[1] if columns is None else np.ravel(columns)[where[1]]))
        raise DataError('%s: a test value of %s (example %d) is %.3g training standard '
                        "deviations from the training mean, beyond float32's range: rescale it"
                        % (source or 'standardize', name, where[0], abs(test_z[tuple(where)])))
    return ((train - mean) / std).astype(np.float32), test_z.astype(np.float32), mean, std
