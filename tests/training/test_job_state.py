"""The job state shared through the parameter server: kept out of every
checkpoint, and the watchdog that notices a silent chief."""
import pytest
import tensorflow.compat.v1 as tf

from tfbnn.training import job_state


def test_job_state_is_in_no_collection_and_no_saver(sess):
    tf.train.get_or_create_global_step()
    saver = tf.train.Saver()
    state = job_state.job_state()
    assert not set(state.variables) & set(tf.global_variables() + tf.local_variables())
    assert 'job_state/job_done' not in str(saver.as_saver_def())
    sess.run(state.init_op)
    assert sess.run([state.done, state.heartbeat]) == [False, 0]
    sess.run([state.mark_done, state.beat])
    assert sess.run([state.done, state.heartbeat]) == [True, 1]


def test_watchdog_gives_up_only_after_the_heartbeat_stalls():
    now = [100.0]
    dog = job_state.Watchdog(10, clock=lambda: now[0])
    assert not dog.stalled(0)
    now[0] = 109.0
    assert not dog.stalled(1)   # moved: the clock restarts
    now[0] = 118.9
    assert not dog.stalled(1)
    now[0] = 119.0
    assert dog.stalled(1) and dog.quiet_seconds() == 10.0
    with pytest.raises(ValueError, match=r'give_up_seconds must be positive, got 0'):
        job_state.Watchdog(0)
