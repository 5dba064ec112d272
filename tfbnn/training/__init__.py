"""The training job behind scripts/train.py (graph, loop, evaluation, run dir)."""
from tfbnn.training.loop import Interrupted, resolve_device, train

__all__ = ['train', 'resolve_device', 'Interrupted']
