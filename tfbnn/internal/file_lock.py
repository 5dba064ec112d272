"""Internal: an exclusive lock between processes, held while a block runs."""
import contextlib
import fcntl
import os

__all__ = ['exclusive_lock']


@contextlib.contextmanager
def exclusive_lock(path):
    """Holds an exclusive `fcntl.flock` on the file `path` (made if missing,
    its folder too) for the duration of the block; a second process asking
    for it waits until the first leaves. The lock goes with the process, so
    a killed holder never leaves it taken."""
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    with open(path, 'w') as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
