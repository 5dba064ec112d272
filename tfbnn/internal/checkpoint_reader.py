"""Opening a checkpoint for reading, with a one-line error."""
import tensorflow.compat.v1 as tf

from tfbnn.errors import CheckpointError, cause_line

__all__ = []


def reader(checkpoint, owner=''):
    """A `tf.train.NewCheckpointReader`; CheckpointError if it cannot be read."""
    try:
        return tf.train.NewCheckpointReader(checkpoint)
    except (tf.errors.OpError, ValueError) as err:
        raise CheckpointError('%scannot read checkpoint %s: %s'
                              % (owner, checkpoint, cause_line(err)))
