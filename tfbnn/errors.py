"""Exceptions tfbnn raises for a user's mistakes (as opposed to bugs).

Scripts catch `TfbnnError` and turn it into one line on stderr and exit
status 2; anything else escaping is a bug and keeps its traceback. All of
them are also `ValueError`s, so library callers can catch the usual type.
"""

__all__ = ['TfbnnError', 'ConfigError', 'DataError', 'CheckpointError', 'ClusterError',
           'ExportError', 'TrainingDivergedError', 'cause_line']


class TfbnnError(ValueError):
    """Base class: an error in what the user asked for or gave us."""


class ConfigError(TfbnnError):
    """An invalid argument, flag or hyperparameter."""


class DataError(TfbnnError):
    """Input data that is missing, corrupt, or of the wrong shape."""


class CheckpointError(TfbnnError):
    """A checkpoint or run directory that cannot be used."""


class ClusterError(TfbnnError):
    """A cluster job that cannot go on, e.g. a worker that lost its chief."""


class ExportError(TfbnnError):
    """A converter (TFLite, ONNX) refused an exported graph."""


class TrainingDivergedError(TfbnnError):
    """The loss or its gradient became NaN or infinite during training.

    Args:
      step: the step that diverged.
      checkpoint: the last good checkpoint, or None.
      advice: what to do, for the message (None: try a smaller learning rate;
        the job says what else when the data are at fault).
    """

    def __init__(self, step, checkpoint, advice=None):
        self.step, self.checkpoint = step, checkpoint
        self.advice = advice or 'try a smaller --learning-rate'
        super(TrainingDivergedError, self).__init__(
            'the loss or its gradient became non-finite (NaN/Inf) at step %d; no trainable '
            'variable was updated by that step; last good checkpoint: %s (%s)'
            % (step, checkpoint or 'none yet', self.advice))


# What TensorFlow puts before the cause in an error message: 2.x's graph
# errors; a Saver's restore on both (its "Original error:" on the next line).
_PREAMBLE = ('Graph execution error:', 'Detected at node', 'File "', 'Node:',
             'Restoring from checkpoint failed.')


def cause_line(err):
    """The line of a TensorFlow error that says what went wrong.

    TF 1.x puts the cause first; TF 2.x starts with "Graph execution error:",
    then where the node was defined, then "Node: '...'", then the cause. An
    error from a remote task (a cluster) starts with a line that names only
    the task ("From /job:worker/replica:0/task:0:").

    Args:
      err: an exception.

    Returns:
      str, one line (the type's name when the message is empty).
    """
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    causes = [line for line in lines if not line.startswith(_PREAMBLE)
              and not line.endswith('(most recent call last):')
              and not (line.startswith('From /job:') and line.endswith(':'))]
    return (causes or lines or [type(err).__name__])[0]
