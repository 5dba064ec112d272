"""The JSON files of a run directory, written so a kill never leaves half a file."""
import json
import os

from tfbnn.errors import CheckpointError

__all__ = ['dumps', 'write_json', 'read_json']


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
    tmp = path + '.tmp'
    text = dumps(obj)  # before opening: an object JSON cannot hold leaves no file behind
    with open(tmp, 'w') as f:
        f.write(text + '\n')
    os.replace(tmp, path)


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
        raise CheckpointError('cannot read %s: %s' % (path, err))
