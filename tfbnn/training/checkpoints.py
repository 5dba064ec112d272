"""Writing and restoring a run's checkpoints, and what a storage fault becomes.

A failed checkpoint write of the single-process job (a full disk, a
file-size limit, another I/O fault) is one line, a `CheckpointError` (exit
status 2 in tfbnn-train); on the cluster chief, whose checkpoints a hook
writes, the storage faults the system names (`STORAGE_FAULTS`: a full disk
or quota, a read-only or unwritable folder) are (`storage_faults_as_error`),
other errors keep their traceback. The line names the step (when known), the
folder, the system's reason, the last complete checkpoint, which is intact,
and what to do; `--resume` continues from there once the fault is fixed. What the failed write left
behind goes: TensorFlow's temporary files (`*.tempstate*`, `*.tmp<hex>`,
`*_temp_<hex>/`) and the partial files of a checkpoint that the folder's
state does not list. A checkpoint the state lists is never touched.

A damaged checkpoint on restore is one line as well; on `--resume` the run
goes on from the newest intact one (`restore_intact`; on the cluster chief,
whose session restores the latest, `make_latest_intact`). What a failed or
cut-short save leaves on disk is cleaned up by `leftovers`.
"""
import contextlib
import errno
import os

import tensorflow.compat.v1 as tf

from tfbnn.errors import CheckpointError, cause_line
from tfbnn.training import rundir
from tfbnn.training.leftovers import remove_leftovers

__all__ = ['save_checkpoint', 'storage_faults_as_error', 'storage_remedy', 'file_fault_remedy',
           'write_error', 'restore_checkpoint',
           'restore_intact', 'make_latest_intact', 'checkpoint_state', 'write_state', 'NO_SPACE',
           'STORAGE_FAULTS']

NO_SPACE = 'No space left on device'  # a full disk, as the OS says it
# The storage faults as the OS words them (strerror of ENOSPC, EDQUOT, EROFS,
# EACCES, EFBIG), and what the user does about each.
STORAGE_FAULTS = ((NO_SPACE, 'free space'), ('Disk quota exceeded', 'free space'),
                  ('Read-only file system', 'make the folder writable'),
                  ('Permission denied', 'make the folder writable'),
                  ('File too large', 'raise the file-size limit (ulimit -f)'))

# What a missing, truncated or corrupt checkpoint raises on restore.
_RESTORE_ERRORS = (tf.errors.NotFoundError, tf.errors.DataLossError, tf.errors.OutOfRangeError,
                   tf.errors.InvalidArgumentError, ValueError)


def write_error(folder, err, last_good, step=None, meta_only=False):
    """The one-line `CheckpointError` of a checkpoint write that failed.

    Args:
      folder: where the checkpoint was being written.
      err: the exception the write raised (`tf.errors.OpError` or `OSError`).
      last_good: path of the last complete checkpoint, or None.
      step: the step being saved, when known.
      meta_only: the save failed after listing the step's weights (writing
        the .meta graph, or deleting the checkpoints beyond the saver's
        max_to_keep): `last_good` holds them, saved and listed.

    Returns:
      `CheckpointError` (to raise).
    """
    reason = cause_line(getattr(err, 'message', None) or err)
    remedy = storage_remedy(err) or 'fix the cause'
    if meta_only:
        return CheckpointError('cannot finish the checkpoint of step %d in %s (its .meta graph, '
                               'or the removal of older checkpoints): %s; the step\'s weights '
                               '(%s) are saved and intact: %s, then --resume'
                               % (step, folder, reason, last_good, remedy))
    return CheckpointError('cannot write %s in %s: %s; the last complete checkpoint (%s) is '
                           'intact: %s, then --resume'
                           % ('the checkpoint of step %d' % step if step is not None
                              else 'a checkpoint', folder, reason, last_good or 'none yet',
                              remedy))


def storage_remedy(err):
    """What to do about a storage fault `STORAGE_FAULTS` names; None for another error."""
    text = str(err)
    for words, remedy in STORAGE_FAULTS:
        if words in text:
            return remedy
    return None


# What else a file write meets that is the storage's fault, not tfbnn's: an I/O
# error, an immutable file (EPERM), a busy one, a path that is not a folder or exists.
_FILE_FAULTS = frozenset([errno.EIO, errno.EPERM, errno.EBUSY, errno.EEXIST, errno.ENOTDIR,
                          errno.EISDIR, errno.ENAMETOOLONG, errno.ENOSPC, errno.EDQUOT,
                          errno.EROFS, errno.EACCES, errno.EFBIG])


def file_fault_remedy(err):
    """What to do about an `OSError` that is a storage fault of a named file
    (`storage_remedy`'s, or an errno of `_FILE_FAULTS` with a file name, or
    tfbnn's own errno-less error naming a file); None for anything else, a
    bug whose traceback stays."""
    remedy = storage_remedy(err)
    if remedy is not None:
        return remedy
    named = getattr(err, 'filename', None) is not None
    if named and (err.errno in _FILE_FAULTS or err.errno is None):
        return 'fix the cause'
    return None


def save_checkpoint(sess, saver, prefix, step, last_good, **kwargs):
    """`saver.save`; a full disk or another write fault as a one-line CheckpointError.

    TensorFlow writes a checkpoint's files under temporary names and updates
    the folder's state only once they are complete, so the last complete
    checkpoint stays the one `--resume` takes; the failed write's leftovers
    are removed (`remove_leftovers`).

    Args:
      sess: the session holding the variables.
      saver: `tf.train.Saver`.
      prefix: the checkpoint path prefix ('<run>/model.ckpt').
      step: the global step (the files are '<prefix>-<step>.*').
      last_good: the last complete checkpoint (for the message), or None.
      **kwargs: passed to `saver.save` (e.g. `latest_filename`).

    Returns:
      The path of the checkpoint written.

    Raises:
      CheckpointError: the write failed.
    """
    name = '%s-%d' % (os.path.basename(prefix), step)
    # (the saver's own list of what the state lists: a step listed before this save says
    # nothing of how far this save got)
    listed_before = {os.path.basename(p) for p in saver.last_checkpoints}
    try:
        return saver.save(sess, prefix, global_step=step, **kwargs)
    except (tf.errors.OpError, OSError) as err:
        folder = os.path.dirname(prefix) or '.'
        latest_filename = kwargs.get('latest_filename') or 'checkpoint'
        remove_leftovers(folder, name, latest_filename)
        listed = _listed_now(folder, latest_filename)
        raise write_error(folder, err, listed or last_good, step, meta_only=(
            name not in listed_before and listed is not None
            and os.path.basename(listed) == name))


def _listed_now(folder, latest_filename):
    """The checkpoint the folder's state names after a failed save: the new
    one when only its .meta graph failed (TensorFlow lists the weights first),
    which --resume restores."""
    state = checkpoint_state(folder, latest_filename)
    return state.model_checkpoint_path if state is not None else None


def checkpoint_state(folder, latest_filename='checkpoint'):
    """tf.train.get_checkpoint_state, None also for a state file that is empty
    or unreadable (the checkpoints on disk stand in for it)."""
    try:
        return tf.train.get_checkpoint_state(folder, latest_filename)
    except (tf.errors.OpError, ValueError):
        return None


def write_state(folder, checkpoints, latest_filename='checkpoint'):
    """Rewrites `folder`'s state file to list `checkpoints` (oldest first, the
    last the latest) by their file names, relative as the job's savers write
    them (the folder may move). TensorFlow writes it atomically; no
    checkpoint's files are touched.

    Args:
      folder: the checkpoint folder.
      checkpoints: non-empty list of checkpoint paths in `folder`.
      latest_filename: the state file's name.
    """
    # In full: given a relative folder, TensorFlow would store each name
    # relative to the working directory ('../../model.ckpt-5').
    tf.train.update_checkpoint_state(
        os.path.abspath(folder), os.path.basename(checkpoints[-1]),
        all_model_checkpoint_paths=[os.path.basename(p) for p in checkpoints],
        latest_filename=latest_filename)


@contextlib.contextmanager
def storage_faults_as_error(folder):
    """Turns a storage fault inside the block into a one-line CheckpointError.

    For checkpoints that hooks write (the cluster chief's
    `CheckpointSaverHook`), whose step the caller does not know: an error
    whose text names a storage fault of `STORAGE_FAULTS` (a full disk or
    quota, a read-only or unwritable folder) becomes `write_error`, after the
    temporary files are removed; anything else keeps its traceback.

    Args:
      folder: the checkpoint folder.

    Raises:
      CheckpointError: a storage fault inside the block.
    """
    try:
        yield
    except (tf.errors.ResourceExhaustedError, tf.errors.UnknownError,
            tf.errors.PermissionDeniedError, tf.errors.FailedPreconditionError, OSError) as err:
        if storage_remedy(err) is None:
            raise
        remove_leftovers(folder)
        raise write_error(folder, err, rundir.latest_checkpoint(folder))


def restore_checkpoint(sess, saver, checkpoint):
    """`saver.restore`, with a bad checkpoint as a one-line CheckpointError.

    Raises:
      CheckpointError: the checkpoint is missing, truncated or corrupt.
    """
    try:
        saver.restore(sess, checkpoint)
    except _RESTORE_ERRORS as err:
        raise CheckpointError('cannot restore %s: %s' % (checkpoint, cause_line(err)))


def restore_intact(sess, saver, checkpoint, folder, log):
    """Restores `checkpoint`; if its files are damaged, the newest older one that restores.

    A checkpoint cut short (a full disk, a killed copy) must not cost the
    work saved before it: the run goes on from the newest intact checkpoint
    the folder's state lists or its disk holds, and says which one it skipped. The damaged
    files stay on disk, untouched.

    Returns:
      the path restored.

    Raises:
      CheckpointError: no listed checkpoint restores.
    """
    return _newest_intact(checkpoint, folder, log, lambda path: saver.restore(sess, path))


def make_latest_intact(checkpoint, folder, log):
    """The same for a session that restores the folder's latest checkpoint itself.

    The cluster chief's `MonitoredTrainingSession` restores whatever the
    folder's state names as latest. Each listed checkpoint, newest first, is
    read in full (every tensor); the first that reads becomes the state's
    latest (the newer, damaged ones stay on disk, unlisted), also where the
    state file was lost or left empty.

    Returns:
      the path that will be restored.

    Raises:
      CheckpointError: no listed checkpoint reads.
    """
    def read(path):
        try:
            reader = tf.train.NewCheckpointReader(path)
            for name in reader.get_variable_to_shape_map():
                reader.get_tensor(name)
        except IndexError as err:  # TF 2.x's reader on a short file; other errors
            raise ValueError('%s: %s' % (type(err).__name__, err))  # (I/O, ...) propagate
    chosen = _newest_intact(checkpoint, folder, log, read)
    state = checkpoint_state(folder)
    if state is None or os.path.abspath(state.model_checkpoint_path) != os.path.abspath(chosen):
        step = rundir.checkpoint_step(chosen)
        kept = [p for p in _older(chosen, folder)[::-1] if rundir.checkpoint_step(p) < step]
        write_state(folder, kept + [chosen])
    return chosen


def _older(checkpoint, folder):
    """The checkpoints older than `checkpoint`, newest first: those the
    folder's state lists and those on disk (the state may be lost)."""
    state = checkpoint_state(folder)
    listed = list(state.all_model_checkpoint_paths) if state is not None else []
    step = rundir.checkpoint_step(checkpoint)
    by_path = {os.path.abspath(p): p for p in listed + rundir.checkpoints_on_disk(folder)}
    by_path.pop(os.path.abspath(checkpoint), None)
    return sorted((p for p in by_path.values() if rundir.checkpoint_step(p) <= step),
                  key=rundir.checkpoint_step, reverse=True)


def _newest_intact(checkpoint, folder, log, restore):
    """The first of `checkpoint` and the older ones that `restore` takes."""
    older = _older(checkpoint, folder)
    damaged = []
    for path in [checkpoint] + older:
        try:
            restore(path)
        except _RESTORE_ERRORS as err:
            damaged.append((path, cause_line(err)))
            continue
        if damaged:
            log('tfbnn: skipped damaged checkpoint(s) %s; resuming from %s'
                % ('; '.join('%s (%s)' % (os.path.basename(p), why) for p, why in damaged),
                   path))
        return path
    raise CheckpointError('cannot restore %s: %s%s' % (
        checkpoint, damaged[0][1], '; no older checkpoint restores either' if older else ''))
