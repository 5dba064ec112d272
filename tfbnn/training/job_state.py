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

The chief (re)initialises both when its session starts (also on --resume);
the other workers wait until it has.
"""
import collections
import time

import tensorflow.compat.v1 as tf

__all__ = ['JobState', 'job_state', 'Watchdog', 'GIVE_UP_SECONDS']

# A worker gives up after this long without a sign of the chief.
GIVE_UP_SECONDS = 600.0

JobState = collections.namedtuple('JobState', ['done', 'heartbeat', 'variables', 'init_op',
                                               'mark_done', 'beat'])
JobState.__doc__ = """The job's shared state (see the module docstring).

Attributes:
  done: bool resource variable `job_done`.
  heartbeat: int64 resource variable `chief_heartbeat`.
  variables: [done, heartbeat], for the ready op.
  init_op: the chief's initialiser of both.
  mark_done: op setting `job_done` to True.
  beat: op adding 1 to the heartbeat (the chief runs it with each step).
"""


def job_state(name=None):
    """Creates the job's state variables in the default graph (under the device setter).

    Args:
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
        init_op = tf.group(done.initializer, heartbeat.initializer)
        mark_done = done.assign(True).op
        beat = heartbeat.assign_add(1)
    return JobState(done, heartbeat, [done, heartbeat], init_op, mark_done, beat)


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
