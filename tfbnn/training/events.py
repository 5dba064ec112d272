"""Checking that a run's TensorBoard events file was written in full.

TF 2.x raises a failed events write when the writer closes; TF 1.15's
`FileWriter` drops the C++ writer's status, so a full disk or a file-size
limit (`ulimit -f`) leaves a truncated file and no error. After the writer
closes, `check_written` reads back the events files it wrote: a truncated or
corrupt record is the same one-line error as TF 2.x's.
"""
import errno
import glob
import os

import tensorflow.compat.v1 as tf

from tfbnn.errors import cause_line

__all__ = ['events_files', 'check_written', 'not_written']

_PATTERN = 'events.out.tfevents.*'


def events_files(logdir):
    """The set of events files in `logdir` (taken before a writer opens, so
    `check_written` reads only the new ones)."""
    return set(glob.glob(os.path.join(glob.escape(logdir), _PATTERN)))


def not_written(logdir, reason):
    """The `OSError` of events not all written (cli/train.py makes it one line);
    the job raises it after writing its other records."""
    return OSError(None, 'the TensorBoard events were not all written (%s; metrics.json and '
                   'the other records were written)' % reason, logdir)


def _size_limit():
    """The process's file-size limit in bytes, or None."""
    try:
        import resource
        limit = resource.getrlimit(resource.RLIMIT_FSIZE)[0]
    except (ImportError, OSError, ValueError):
        return None
    return None if limit == resource.RLIM_INFINITY else limit


def check_written(logdir, before):
    """Reads back the events files in `logdir` that are not in `before`.

    Args:
      logdir: the writer's folder.
      before: `events_files(logdir)` from before the writer opened.

    Raises:
      OSError: a file ends in a truncated or corrupt record, or stopped at the
        file-size limit.
    """
    limit = _size_limit()
    for path in sorted(events_files(logdir) - before):
        size, reason = None, None
        try:
            size = os.path.getsize(path)
            for _ in tf.io.tf_record_iterator(path):
                pass
        except (tf.errors.OpError, OSError) as err:
            reason = cause_line(getattr(err, 'message', None) or err)
        if limit is not None and size is not None and size >= limit:  # stopped by the limit
            reason = '%s at %d bytes; %s' % (path, size, os.strerror(errno.EFBIG))
        if reason is not None:
            raise not_written(logdir, reason)
