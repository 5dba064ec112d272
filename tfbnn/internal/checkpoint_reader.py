"""Opening a checkpoint for reading, with a one-line error."""
import glob
import os

import tensorflow.compat.v1 as tf

from tfbnn.errors import CheckpointError, cause_line

__all__ = ['checked_path', 'reader', 'read_all']


def checked_path(checkpoint, owner=''):
    """`checkpoint` (a str or path-like prefix) as a str; CheckpointError for
    anything else (TensorFlow's own error is a TypeError about bytes)."""
    if isinstance(checkpoint, os.PathLike):
        checkpoint = os.fspath(checkpoint)
    if isinstance(checkpoint, bytes):
        checkpoint = os.fsdecode(checkpoint)
    if not isinstance(checkpoint, str) or not checkpoint:
        raise CheckpointError('%scheckpoint must be a path prefix (e.g. run/model.ckpt-100), '
                              'got %r' % (owner, checkpoint))
    return checkpoint


def reader(checkpoint, owner='', also=''):
    """A `tf.train.NewCheckpointReader`; CheckpointError if it cannot be read.

    Args:
      checkpoint: a checkpoint prefix (str or path-like).
      owner: what the error lines start with (e.g. '--warm-start: ').
      also: what else the caller takes instead of a prefix, offered when
        nothing is at the path (e.g. 'a run directory').
    """
    checkpoint = checked_path(checkpoint, owner)
    if not glob.glob(glob.escape(checkpoint) + '*'):  # TensorFlow: "Unsuccessful TensorSlice..."
        raise CheckpointError('%scannot read checkpoint %s: no such file or folder (give a '
                              'checkpoint prefix such as run/model.ckpt-100, whose .index file '
                              'exists%s)' % (owner, checkpoint, '; or ' + also if also else ''))
    try:
        return tf.train.NewCheckpointReader(checkpoint)
    except (tf.errors.OpError, ValueError) as err:
        raise CheckpointError('%scannot read checkpoint %s: %s'
                              % (owner, checkpoint, cause_line(err)))


def read_all(checkpoint, owner=''):
    """`reader`, having read every tensor: a truncated or corrupt .data file is
    a one-line CheckpointError here, not an error of the session's
    initialiser later (as `--resume` finds the same damage). Python only: no
    op joins the graph.

    Returns:
      The `tf.train.NewCheckpointReader`.
    """
    opened = reader(checkpoint, owner)
    try:
        for name in sorted(opened.get_variable_to_shape_map()):
            opened.get_tensor(name)
    except (tf.errors.OpError, ValueError, IndexError) as err:  # IndexError: TF 2.x, short file
        raise CheckpointError('%scannot restore %s: %s' % (owner, checkpoint, cause_line(err)))
    return opened
