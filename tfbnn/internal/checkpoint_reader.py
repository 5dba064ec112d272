"""Opening a checkpoint for reading, with a one-line error."""
import tensorflow.compat.v1 as tf

from tfbnn.errors import CheckpointError, cause_line

__all__ = ['reader', 'read_all']


def reader(checkpoint, owner=''):
    """A `tf.train.NewCheckpointReader`; CheckpointError if it cannot be read."""
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
