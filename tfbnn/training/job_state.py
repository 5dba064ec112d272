"""How the workers of a cluster job learn that the chief has stopped.

Two variables on the parameter server, outside every collection, so that no
Saver (and so no checkpoint, `--resume` or `tfbnn-export`) ever sees them:

* `job_done` (bool): set by the chief on every way out of its training loop
  (the last step, --max-seconds, SIGTERM/Ctrl-C, an error); the workers read
  it after each of their steps and whenever a step times out, and stop.
* `chief_heartbeat` (int64): the chief adds 1 at each of its steps. A worker
  that sees neither `job_done` nor the heartbeat move for `give_up_seconds`
  (the chief was killed, or hangs) gives up with one line naming the chief
  and saying to restart it with --resume, and a non-zero exit status.

* `job_flags` (string): the chief's training flags that every task must
  share (`SHARED_KEYS`, as JSON). Each task of a TF_CONFIG job gets its own
  command line; a worker started with another seed, batch size or objective
  would train on silently, so a worker compares its own flags with these as
  its session starts and stops with one line naming what differs.

The chief (re)initialises all three when its session starts (also on
--resume); the other workers wait until it has.
"""
import collections
import json
import time

import tensorflow.compat.v1 as tf

from tfbnn._run_checks import flag, json_value
from tfbnn.run_config import OBJECTIVE_KEYS, RESUME_KEYS

__all__ = ['JobState', 'job_state', 'Watchdog', 'GIVE_UP_SECONDS', 'SHARED_KEYS', 'shared_flags',
           'differing_flags']

# A worker gives up after this long without a sign of the chief.
GIVE_UP_SECONDS = 600.0

# What every task of a job computes its steps with: the variables, the data
# a step sees, the objective and the update. Not --data-dir (each machine
# may mount the data elsewhere) nor what only the chief does (evaluation,
# checkpoints, output).
SHARED_KEYS = tuple(k for k in RESUME_KEYS + OBJECTIVE_KEYS
                    if k != 'data_dir') + (
    'epochs', 'estimator', 'learning_rate', 'lr_schedule', 'lr_decay_epochs', 'lr_decay_factor',
    'lr_warmup_epochs', 'momentum', 'optimizer', 'scale_optimizer', 'scale_learning_rate',
    'scale_lr_multiplier', 'sync_replicas')

_WORKERS = 'workers'  # (the key of the worker count in `job_flags`)

JobState = collections.namedtuple('JobState', ['done', 'heartbeat', 'flags', 'variables',
                                               'init_op', 'mark_done', 'beat'])
JobState.__doc__ = """The job's shared state (see the module docstring).

Attributes:
  done: bool resource variable `job_done`.
  heartbeat: int64 resource variable `chief_heartbeat`.
  flags: string resource variable `job_flags`.
  variables: [done, heartbeat, flags], for the ready op.
  init_op: the chief's initialiser of the three.
  mark_done: op setting `job_done` to True.
  beat: op adding 1 to the heartbeat (the chief runs it with each step).
"""


def job_state(flags='{}', name=None):
    """Creates the job's state variables in the default graph (under the device setter).

    Args:
      flags: this task's `shared_flags` (the chief's become `job_flags`).
      name: name scope (default 'job_state').

    Returns:
      `JobState`.
    """
    with tf.name_scope(name, 'job_state'):
        # collections=[]: neither a global nor a local variable, so neither
        # the Saver nor Scaffold's initialisers touch them.
        done = tf.Variable(False, trainable=False, collections=[], name='job_done',
                           use_resource=True)
        heartbeat = tf.Variable(tf.constant(0, tf.int64), trainable=False, collections=[],
                                name='chief_heartbeat', use_resource=True)
        shared = tf.Variable(tf.constant(flags, tf.string), trainable=False, collections=[],
                             name='job_flags', use_resource=True)
        init_op = tf.group(done.initializer, heartbeat.initializer, shared.initializer)
        mark_done = done.assign(True).op
        beat = heartbeat.assign_add(1)
    return JobState(done, heartbeat, shared, [done, heartbeat, shared], init_op, mark_done, beat)


def shared_flags(config, num_workers=None):
    """The JSON text of `config`'s `SHARED_KEYS`, and the number of workers
    in this task's --cluster when given (it sets each worker's share of the
    data and of the loss): what `job_flags` holds."""
    shared = {k: json_value(getattr(config, k)) for k in SHARED_KEYS}
    if num_workers is not None:
        shared[_WORKERS] = num_workers
    return json.dumps(shared, sort_keys=True)


def differing_flags(chief_flags, own_flags):
    """'--flag chief's value (this task: its value), ...' for the flags that differ, or ''.

    Args:
      chief_flags: `job_flags` as read (JSON text, bytes or str).
      own_flags: this task's `shared_flags`.
    """
    if isinstance(chief_flags, bytes):
        chief_flags = chief_flags.decode('utf-8')
    chief, own = json.loads(chief_flags), json.loads(own_flags)

    def name(key):
        return 'the number of workers (--cluster or TF_CONFIG)' if key == _WORKERS else flag(key)
    return ', '.join('%s %s (this task: %s)' % (name(k), json.dumps(chief.get(k)),
                                                json.dumps(own.get(k)))
                     for k in sorted(set(chief) | set(own)) if chief.get(k) != own.get(k))


class Watchdog(object):
    """Notices when the chief's heartbeat has not moved for `give_up_seconds`.

    Args:
      give_up_seconds: positive float.
      clock: function returning the time in seconds (for tests).
    """

    def __init__(self, give_up_seconds=GIVE_UP_SECONDS, clock=time.time):
        if not give_up_seconds > 0:
            raise ValueError('Watchdog: give_up_seconds must be positive, got %r'
                             % (give_up_seconds,))
        self.give_up_seconds, self._clock = float(give_up_seconds), clock
        self._beat, self._since = None, clock()

    def stalled(self, heartbeat):
        """Records a heartbeat value read now; True once it has not changed for too long."""
        now = self._clock()
        if heartbeat != self._beat:
            self._beat, self._since = heartbeat, now
        return now - self._since >= self.give_up_seconds

    def quiet_seconds(self):
        """Seconds since the heartbeat last changed."""
        return self._clock() - self._since
