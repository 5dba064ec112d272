"""The job state shared through the parameter server: kept out of every
checkpoint, the watchdog that notices a silent chief, and marking the job
done when the parameter server is gone."""
import os
import subprocess
import sys

import pytest
import tensorflow.compat.v1 as tf

from tfbnn import run_config
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


# Run in a process of its own: the TF 1.x server it starts cannot be stopped, and
# the abandoned session keeps trying the dead parameter server.
MARK_DONE_SCRIPT = r"""
import os, socket, subprocess, sys, time, traceback
import tensorflow.compat.v1 as tf
tf.disable_v2_behavior()
from tfbnn.training import job_state, worker

socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(('127.0.0.1', 0))
ps_port, worker_port = [s.getsockname()[1] for s in socks]
for s in socks:
    s.close()
spec = {'ps': ['127.0.0.1:%d' % ps_port], 'worker': ['127.0.0.1:%d' % worker_port]}
ps = subprocess.Popen([sys.executable, '-c', 'import tensorflow.compat.v1 as tf; '
                       'tf.train.Server(%r, "ps", 0).join()' % spec])
try:
    server = tf.train.Server(spec, 'worker', 0)
    graph = tf.Graph()
    with graph.as_default(), tf.device('/job:ps/task:0'):
        state = job_state.job_state()
    config = tf.ConfigProto(device_filters=['/job:ps', '/job:worker/task:0'])
    with tf.Session(server.target, graph=graph, config=config) as sess:
        sess.run(state.init_op)
    alive = worker.mark_done(server.target, graph, state.mark_done, config, seconds=60)
    with tf.Session(server.target, graph=graph, config=config) as sess:
        done = sess.run(state.done)
    ps.kill()
    ps.wait()
    start = time.time()
    gone = worker.mark_done(server.target, graph, state.mark_done, config, seconds=2)
    print('RESULT', alive, done, gone, round(time.time() - start, 1))
    sys.stdout.flush()
except Exception:
    traceback.print_exc()
finally:
    ps.kill()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # the worker's server and the abandoned session would keep a plain exit waiting
"""


def test_mark_done_gives_up_when_the_parameter_server_is_gone(tmp_path):
    """Making a remote session waits for a dead ps forever; the chief must not."""
    script = tmp_path / 'mark_done.py'
    script.write_text(MARK_DONE_SCRIPT)
    proc = subprocess.run([sys.executable, str(script)], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True, timeout=120,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2'))
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = [line for line in proc.stdout.splitlines() if line.startswith('RESULT')]
    assert result, proc.stdout + proc.stderr[-2000:]
    _, alive, done, gone, seconds = result[0].split()
    assert (alive, done, gone) == ('True', 'True', 'False')
    assert float(seconds) < 10


def test_job_flags_hold_the_chief_flags_and_name_what_a_worker_changed(sess):
    chief = run_config.validate({'seed': 5, 'kl_scheme': 'per_example'})
    worker_config = run_config.validate({'seed': 6, 'kl_scheme': 'blundell', 'batch_size': 4,
                                         'data_dir': '/elsewhere', 'output_dir': '/other',
                                         'threads': 1})
    state = job_state.job_state(job_state.shared_flags(chief, 2))
    sess.run(state.init_op)
    stored = sess.run(state.flags)
    assert job_state.differing_flags(stored, job_state.shared_flags(chief, 2)) == ''
    assert job_state.differing_flags(stored, job_state.shared_flags(worker_config, 2)) == (
        '--batch-size 128 (this task: 4), --kl-scheme "per_example" (this task: "blundell"), '
        '--seed 5 (this task: 6)')
    # A --cluster with another worker list: another share of the data and of the loss.
    assert job_state.differing_flags(stored, job_state.shared_flags(chief, 3)) == (
        'the number of workers (--cluster or TF_CONFIG) 2 (this task: 3)')
    assert {'seed', 'batch_size', 'kl_scheme', 'learning_rate', 'sync_replicas',
            'epochs'} <= set(job_state.SHARED_KEYS)
    assert not {'data_dir', 'output_dir', 'threads', 'eval_samples'} & set(job_state.SHARED_KEYS)
