"""What every training process shares about its TensorFlow session: the
session options, the device choice, and `Interrupted`, the way out after
SIGINT/SIGTERM."""
import tensorflow.compat.v1 as tf
from tensorflow.python.client import device_lib

from tfbnn.errors import ConfigError
from tfbnn.internal import compat

__all__ = ['Interrupted', 'session_config', 'resolve_device', 'GPU_NEEDS']

# What a GPU needs on each stack, for the message of --device gpu without one.
GPU_NEEDS = {
    'tf1': 'TF 1.15 needs the tensorflow-gpu 1.15 build, CUDA 10.0, cuDNN 7 and a visible device',
    'tf2': "TF 2.x needs the CUDA wheels, pip install 'tensorflow[and-cuda]', and a visible device",
}


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived; a checkpoint of the current step was saved.

    Attributes:
      step: the global step training stopped at.
      checkpoint: the path of the checkpoint that holds it (None if there is none).
    """

    def __init__(self, step, checkpoint):
        self.step, self.checkpoint = step, checkpoint
        super(Interrupted, self).__init__(
            'interrupted at step %d; saved %s; continue with --resume' % (step, checkpoint))


def session_config(threads):
    """The `tf.ConfigProto` of every session of the job.

    Args:
      threads: int, intra- and inter-op threads (0: TensorFlow's default).

    Returns:
      `tf.ConfigProto` with soft placement and a growing GPU memory pool.
    """
    cfg = tf.ConfigProto(allow_soft_placement=True)
    cfg.gpu_options.allow_growth = True
    if threads:
        cfg.intra_op_parallelism_threads = threads
        cfg.inter_op_parallelism_threads = threads
    return cfg


def resolve_device(choice, threads=0):
    """The model's device for --device cpu|gpu|auto.

    Args:
      choice: 'cpu', 'gpu' or 'auto' (a GPU when TensorFlow sees one).
      threads: as `session_config`, for listing the devices.

    Returns:
      '/gpu:0' or '/cpu:0'.

    Raises:
      ConfigError: --device gpu when TensorFlow sees no GPU.
    """
    if choice == 'cpu':
        return '/cpu:0'
    gpus = [d for d in device_lib.list_local_devices(session_config(threads))
            if d.device_type == 'GPU']
    if gpus:
        return '/gpu:0'
    if choice == 'gpu':
        raise ConfigError('--device gpu: TensorFlow %s sees no GPU (%s); use --device cpu or auto'
                          % (tf.__version__, GPU_NEEDS[compat.stack_name()]))
    return '/cpu:0'
