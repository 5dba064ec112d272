"""The training job behind scripts/train.py (graph, loop, evaluation, run dir)."""
from tfbnn.training.loop import train
from tfbnn.training.session import Interrupted, resolve_device

__all__ = ['train', 'resolve_device', 'Interrupted']
