"""tfbnn.training.update_barrier: at most one gradient of a worker per synchronous
update, with a fake session (the real clusters run in test_distributed.py)."""
import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tfbnn.training import update_barrier
from tfbnn.training.update_barrier import UpdateBarrier, local_step_sync_op


class FakeRun(object):
    """Stands for the session: the global step follows a script, one value per read."""

    def __init__(self, steps):
        self.steps, self.reads = list(steps), 0

    def __call__(self, fetches):
        self.reads += 1
        return self.steps.pop(0) if len(self.steps) > 1 else self.steps[0]


def make(lines=None, say_after=1e9):
    return UpdateBarrier('sync', 'global', 10, 'worker1',
                         (lines if lines is not None else []).append, say_after)


def test_a_worker_goes_on_at_once_while_the_global_step_moves(monkeypatch):
    monkeypatch.setattr(update_barrier.time, 'sleep', lambda s: None)
    barrier = make()
    run = FakeRun([0, 1, 2, 2 - 1])  # the last: a chief resumed from an older checkpoint
    for _ in range(4):
        assert barrier.before_step(run, lambda: True)
    assert run.reads == 4  # one read per step: no waiting


def test_a_second_gradient_for_one_update_waits_for_the_update(monkeypatch):
    monkeypatch.setattr(update_barrier.time, 'sleep', lambda s: None)
    lines = []
    barrier = make(lines, say_after=0.0)
    assert barrier.before_step(FakeRun([5]), lambda: True)
    # The train op came back early (a dead worker's token): the global step
    # is still 5, so the worker waits; the update comes after 3 more reads.
    run = FakeRun([5, 5, 5, 5, 6, 6])
    assert barrier.before_step(run, lambda: True)
    assert run.reads == 6  # the sync, 4 reads of the global step, the sync again
    assert barrier.global_step == 6
    assert lines == [
        "tfbnn: worker1 has sent its gradient for global step 5 and waits for the other "
        "workers' (a synchronous update takes one of each): if one is down, start it again "
        "with the same flags (tfbnn-local-cluster does)",
        'tfbnn: worker1 goes on at global step 6 after 0 s']
    assert barrier.before_step(FakeRun([7]), lambda: True)


def test_no_gradient_is_sent_at_the_last_step_also_after_a_wait(monkeypatch):
    monkeypatch.setattr(update_barrier.time, 'sleep', lambda s: None)
    barrier = make()
    assert barrier.before_step(FakeRun([9]), lambda: True)
    assert not barrier.before_step(FakeRun([9, 9, 10, 10]), lambda: True)  # waited, then 10
    assert not make().before_step(FakeRun([10]), lambda: True)


def test_the_wait_ends_when_the_job_is_over(monkeypatch):
    clock = iter(np.arange(0.0, 100.0, 0.5))
    monkeypatch.setattr(update_barrier.time, 'time', lambda: next(clock))
    monkeypatch.setattr(update_barrier.time, 'sleep', lambda s: None)
    barrier = make()
    assert barrier.before_step(FakeRun([3]), lambda: True)
    asked = []
    assert not barrier.before_step(FakeRun([3]), lambda: asked.append(1) or len(asked) < 3)
    assert len(asked) == 3  # asked about once a second (CHECK_SECONDS), then stopped


class FakeOptimizer(object):
    """What local_step_sync_op reads of a SyncReplicasOptimizer after apply_gradients
    (the real one runs in the clusters of test_distributed.py)."""

    def __init__(self):
        self._local_step = tf.Variable(tf.constant(0, tf.int64), trainable=False)


def test_the_sync_op_sets_the_local_step_to_the_global_step(sess):
    global_step = tf.train.get_or_create_global_step()
    opt = FakeOptimizer()
    op = local_step_sync_op(opt, global_step)
    sess.run(tf.global_variables_initializer())
    sess.run(global_step.assign(41))
    assert sess.run(op) == 41 and sess.run(opt._local_step) == 41
    del opt._local_step  # apply_gradients not called yet
    with pytest.raises(ValueError, match='call apply_gradients on the optimizer first'):
        local_step_sync_op(opt, global_step)
