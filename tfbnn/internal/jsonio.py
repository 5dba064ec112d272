"""The files of a run directory (JSON records, images, exports), written so a kill or a full
disk never leaves half a file."""
import json
import os

from tfbnn.errors import CheckpointError, cause_line

__all__ = ['dumps', 'write_json', 'read_json', 'write_atomically', 'os_error_line',
           'TMP_SUFFIX']

# What `write_atomically` appends to a file's name while it writes it.
TMP_SUFFIX = '.tmp'


def _is_scalar(value):
    return value is None or isinstance(value, (bool, int, float, str))


def dumps(obj, indent=''):
    """JSON indented by two spaces a level, keys sorted, but a list of scalars
    on one line: a curve of a thousand numbers is one line, not a thousand."""
    inner = indent + '  '
    if isinstance(obj, dict) and obj:
        items = sorted((str(k), v) for k, v in obj.items())
        lines = ['%s%s: %s' % (inner, json.dumps(k), dumps(v, inner)) for k, v in items]
        return '{\n%s\n%s}' % (',\n'.join(lines), indent)
    if isinstance(obj, (list, tuple)) and not all(map(_is_scalar, obj)):
        lines = [inner + dumps(v, inner) for v in obj]
        return '[\n%s\n%s]' % (',\n'.join(lines), indent)
    return json.dumps(obj)


def write_json(path, obj):
    """Writes JSON (`dumps`) through a temporary file and a rename: never half a file."""
    text = dumps(obj)  # before opening: an object JSON cannot hold leaves no file behind
    write_atomically(path, (text + '\n').encode('utf-8'))


def write_atomically(path, data):
    """Writes `data` (bytes, or a function that writes a given path) to `path`
    under a temporary name, then renames it into place: a failure leaves no
    partial file and whatever `path` held before."""
    tmp = path + TMP_SUFFIX
    try:
        if callable(data):
            data(tmp)
        else:
            with open(tmp, 'wb') as f:
                f.write(data)
        os.replace(tmp, path)
    except OSError as err:
        if err.filename is None:  # a write's error names no file: say which
            raise OSError(err.errno, err.strerror or str(err), path) from err
        raise
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def read_json(path, default=None):
    """The parsed file, `default` if it does not exist.

    Raises:
      CheckpointError: the file exists but cannot be read or parsed.
    """
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return default
    except (OSError, ValueError) as err:
        raise CheckpointError('cannot read %s: %s' % (path, err)) from err


def os_error_line(err):
    """'<file>: <the system's reason>' of an `OSError` from writing a file.

    The file is the one the write was for, not the temporary name of an
    atomic write (`write_atomically`); 'a file' when the error names none.

    Args:
      err: an `OSError`.

    Returns:
      str, one line.
    """
    path = err.filename2 if err.filename2 is not None else err.filename
    path = str(path) if path is not None else 'a file'
    if path.endswith(TMP_SUFFIX):
        path = path[:-len(TMP_SUFFIX)]
    return '%s: %s' % (path, err.strerror or cause_line(err))
