"""The JSON files of a run directory, written so a kill never leaves half a file."""
import json
import os

from tfbnn.errors import CheckpointError

__all__ = ['write_json', 'read_json']


def write_json(path, obj):
    """Writes JSON through a temporary file and a rename: never half a file."""
    tmp = path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write('\n')
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
