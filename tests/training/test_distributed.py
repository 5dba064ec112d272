"""The job on a real local cluster (1 ps + 2 workers on 127.0.0.1): it
converges, the variables live on the ps, the checkpoint restores in a single
process; a killed worker rejoins; the chief's death stops the job with a
resumable checkpoint. Every run is bounded in steps and in time."""
import glob
import io
import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tfbnn import data, run_config
from tfbnn.errors import CheckpointError, ConfigError
from tfbnn.training import cluster as cluster_lib
from tfbnn.training import graph as graph_lib
from tfbnn.training.distributed import run_task
from tfbnn.training.launch import LocalCluster

TIMEOUT = 150
FLAGS = ['--hidden', '32', '--batch-size', '32', '--learning-rate', '0.01', '--eval-samples', '4',
         '--progress', 'never', '--device', 'cpu', '--threads', '1']


def read(out, name):
    with open(os.path.join(out, name)) as f:
        return json.load(f)


class Watched(object):
    """A LocalCluster run in a thread, its output kept for the test to watch."""

    def __init__(self, flags, sync):
        self.stream = io.StringIO()
        # The workers' grace after the chief is wide for a loaded machine: it
        # only costs time when a worker would not stop by itself (a failure).
        self.cluster = LocalCluster(2, flags, sync=sync, stream=self.stream, grace_seconds=30)
        self.status = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        self.status = self.cluster.run(timeout=TIMEOUT)

    def output(self):
        return self.stream.getvalue()

    def wait_for(self, text, seconds=TIMEOUT):
        deadline = time.time() + seconds
        while time.time() < deadline and text not in self.output():
            if not self.thread.is_alive():
                pytest.fail('the job ended before %r:\n%s' % (text, self.output()))
            time.sleep(0.05)
        assert text in self.output(), self.output()

    def join(self):
        self.thread.join(TIMEOUT + 30)
        assert not self.thread.is_alive()
        return self.status

    def close(self):
        """Stops every task still running and joins the thread (always, also on failure)."""
        if self.thread.is_alive():
            self.cluster.close()
        self.thread.join(60)
        assert all(p.poll() is not None for p in self.cluster.procs.values())


@pytest.fixture
def cluster_job():
    """Starts Watched jobs; stops them all at teardown, so a failing test leaves no process."""
    jobs = []

    def start(flags, sync):
        jobs.append(Watched(flags, sync))
        return jobs[-1]

    yield start
    for job in jobs:
        job.close()


def _digits_graph(config, replica=None):
    config = run_config.validate(config)
    dataset = data.load_dataset('digits', None, 0, seed=0)
    spec = run_config.model_spec(config, dataset.task, dataset.num_classes)
    return graph_lib.build_train_graph(config, dataset, spec, '/cpu:0', replica)


@pytest.mark.parametrize('sync,total', [(True, 3 * 23), (False, 3 * 23 * 2)])
def test_replica_graph_counts_global_steps(sync, total):
    # 1437 digits, 2 workers of 32: global batches of 64, ceil(1437 / 64) = 23.
    g = _digits_graph(dict(batch_size=32, epochs=3, hidden=[8], sync_replicas=sync),
                      graph_lib.Replica(2, 1, sync, '/cpu:0'))
    assert g.steps_per_epoch == 23 and g.total_steps == total
    assert g.iterator_init is None
    assert isinstance(g.optimizer, tf.train.SyncReplicasOptimizer) == sync
    counters = [v for v in tf.local_variables() if 'async_data_round' in v.op.name]
    assert len(counters) == (0 if sync else 1)


def test_single_process_graph_counts_batches_of_b():
    g = _digits_graph(dict(batch_size=32, epochs=3, hidden=[8]))
    assert g.steps_per_epoch == 45 and g.total_steps == 3 * 45  # ceil(1437 / 32) = 45


def test_async_workers_walk_their_own_shares(sess):
    """Each asynchronous step of a worker takes its share of the next global batch,
    however the global step moves (the others' updates)."""
    g = _digits_graph(dict(batch_size=32, epochs=3, hidden=[8]),
                      graph_lib.Replica(2, 1, False, '/cpu:0'))
    sess.run(tf.global_variables_initializer())
    sess.run(g.global_step.assign(10))  # round 5 when the worker starts
    sess.run(g.data_init, g.data_feed)
    sess.run(tf.variables_initializer([v for v in tf.local_variables()
                                       if v not in g.data_variables]))
    counter = [v for v in tf.local_variables() if 'async_data_round' in v.op.name][0]
    assert sess.run(counter) == 5
    sess.run(g.train_op)
    sess.run(g.global_step.assign(30))  # others went ahead: this worker still takes round 6
    assert sess.run(counter) == 6
    sess.run(g.train_op)
    assert sess.run(counter) == 7


def test_batch_norm_is_refused_on_a_cluster(tmp_path):
    cluster = cluster_lib.ClusterConfig({'ps': ['127.0.0.1:1'], 'worker': ['127.0.0.1:2']},
                                        'worker', 0)
    with pytest.raises(ConfigError, match=r'^--norm batch is not supported on a cluster .*; '
                                          r'use --norm group$'):
        run_task(dict(norm='batch', output_dir=str(tmp_path)), cluster)


@pytest.mark.parametrize('value', ['soon', '0', '-5', 'inf', 'nan'])
@pytest.mark.parametrize('name', ['TFBNN_WAIT_NOTICE_SECONDS', 'TFBNN_WORKER_GIVE_UP_SECONDS'])
def test_a_wait_setting_that_is_not_a_positive_number_is_one_line(tmp_path, monkeypatch,
                                                                  name, value):
    """Read before the task starts its server: nothing is written."""
    monkeypatch.setenv(name, value)
    cluster = cluster_lib.ClusterConfig({'ps': ['127.0.0.1:1'], 'worker': ['127.0.0.1:2']},
                                        'worker', 0)
    out = tmp_path / 'run'
    with pytest.raises(ConfigError, match=r"^%s='%s': give a positive number of seconds, "
                                          r"or unset it$" % (name, value)):
        run_task(dict(output_dir=str(out)), cluster)
    assert not out.exists()


@pytest.mark.parametrize('options,flag', [(dict(init_from='ckpt'), '--init-from'),
                                          (dict(warm_start='run', prune_fraction=0.9),
                                           '--warm-start')])
def test_a_start_from_another_checkpoint_is_refused_on_a_cluster(tmp_path, options, flag):
    cluster = cluster_lib.ClusterConfig({'ps': ['127.0.0.1:1'], 'worker': ['127.0.0.1:2']},
                                        'worker', 0)
    with pytest.raises(ConfigError, match=r'^%s is not supported on a cluster yet: run it '
                                          r'single-process$' % flag):
        run_task(dict(options, output_dir=str(tmp_path)), cluster)


def test_scale_adam_is_refused_on_a_synchronous_cluster(tmp_path):
    cluster = cluster_lib.ClusterConfig({'ps': ['127.0.0.1:1'], 'worker': ['127.0.0.1:2']},
                                        'worker', 0)
    with pytest.raises(ConfigError, match=r'^--scale-optimizer adam is not supported with '
                                          r'--sync-replicas yet .*; run the cluster '
                                          r'asynchronously or single-process$'):
        run_task(dict(optimizer='sgd', scale_optimizer='adam', sync_replicas=True,
                      output_dir=str(tmp_path)), cluster)


@pytest.mark.parametrize('saved,requested,ok', [
    ((2, True), (2, True), True),
    ((2, True), (3, True), False),
    ((2, True), (2, False), False),
    ((0, False), (2, True), False),   # a single-process run resumed on a cluster
    ((2, True), (0, False), False),   # a cluster run resumed single-process: another epoch
])
def test_cluster_resume_needs_the_same_workers_and_schedule(saved, requested, ok):
    def config(workers, sync):
        return run_config.validate(dict(workers=workers, sync_replicas=sync))
    if ok:
        run_config.check_compatible(config(*saved), config(*requested))
    else:
        with pytest.raises(CheckpointError, match=r'^cannot resume: the saved run was trained '
                                                  r'by .*, now .*; resume it with the same '
                                                  r'workers and --sync-replicas$'):
            run_config.check_compatible(config(*saved), config(*requested))


def test_sync_cluster_converges_on_the_ps_and_restores_single_process(tmp_path, cluster_job):
    out = str(tmp_path / 'sync')
    job = cluster_job(['--output-dir', out, '--epochs', '4'] + FLAGS, sync=True)
    assert job.join() == 0, job.output()
    metrics = read(out, 'metrics.json')
    assert metrics['steps'] == 4 * 23 and metrics['completed']  # ceil(1437 / 64) = 23
    assert metrics['workers'] == 2 and metrics['sync_replicas'] is True
    assert metrics['stopped_early'] is False  # the same keys as a single-process run's
    assert read(out, 'config.json')['workers'] == 2
    assert metrics['test_error'] < 0.25  # chance is 0.9
    history = read(out, 'history.json')
    assert history['step'] == [23, 46, 69, 92]
    assert history['loss'][-1] < history['loss'][0] and history['train_error'][-1] < 0.25
    assert 'worker1 done after' in job.output()
    # Variables on the parameter server, the data on each worker (graph.pbtxt
    # is the chief's graph, written by the CheckpointSaverHook).
    graph_def = tf.GraphDef()
    from google.protobuf import text_format
    with open(os.path.join(out, 'graph.pbtxt')) as f:
        text_format.Merge(f.read(), graph_def)
    devices = {n.name: n.device for n in graph_def.node if n.op in ('VariableV2', 'VarHandleOp')}
    model = {k: v for k, v in devices.items() if k.startswith('model/') or k == 'global_step'}
    assert len(model) >= 8 and all(d.startswith('/job:ps/task:0') for d in model.values()), model
    assert devices['data/x_train'].startswith('/job:worker/task:0')
    # The checkpoint restores into the plain single-process graph.
    config = run_config.load(os.path.join(out, 'config.json'))
    dataset = data.load_dataset('digits', None, 0, seed=0)
    spec = run_config.model_spec(config, dataset.task, dataset.num_classes)
    g = graph_lib.build_train_graph(config, dataset, spec, '/cpu:0')
    latest = tf.train.latest_checkpoint(out)
    assert latest.endswith('model.ckpt-92')
    with tf.Session() as sess:
        g.saver.restore(sess, latest)
        loc = [v for v in tf.global_variables() if v.op.name == 'model/fc1/kernel_loc'][0]
        np.testing.assert_array_equal(sess.run(loc), tf.train.load_variable(latest, loc.op.name))
        assert sess.run(g.global_step) == 92
    from tfbnn.cli.export import main as export_main
    assert export_main([out, '--mode', 'mean', '--no-saved-model']) == 0


def test_a_killed_worker_restarts_and_rejoins(tmp_path, cluster_job):
    out = str(tmp_path / 'restart')
    job = cluster_job(['--output-dir', out, '--epochs', '12', '--checkpoint-every', '10'] + FLAGS,
                  sync=True)
    job.wait_for('[worker0] epoch 1/12')
    pid = job.cluster.procs['worker1'].pid
    os.kill(pid, signal.SIGKILL)
    job.wait_for('worker1 exited with status -9; starting it again (1 of 3)')
    assert job.join() == 0, job.output()
    metrics = read(out, 'metrics.json')
    assert metrics['steps'] == 12 * 23 and metrics['completed']
    assert job.cluster.procs['worker1'].pid != pid
    # The restarted worker1 trained: the killed one never reported, so the
    # one line is the new process's count of its own steps.
    done = [l for l in job.output().splitlines() if 'worker1 done after' in l]
    assert len(done) == 1, job.output()
    assert int(done[0].split('done after ')[1].split()[0]) > 0, done


def test_a_worker_killed_after_sending_its_gradient_is_waited_for(tmp_path, cluster_job,
                                                                  monkeypatch):
    """The chief frozen, worker1 sends its gradient and waits for its token;
    killed there, it leaves its token unclaimed. On TF 1.15 the chief then took
    two tokens per update and trained on alone; now it waits for the restarted
    worker1 (update_barrier), says so, and the job ends as it should."""
    monkeypatch.setenv('TFBNN_WAIT_NOTICE_SECONDS', '1')
    out = str(tmp_path / 'waited')
    job = cluster_job(['--output-dir', out, '--epochs', '40'] + FLAGS, sync=True)
    job.wait_for('[worker0] epoch 2/40')
    chief, worker1 = job.cluster.procs['worker0'].pid, job.cluster.procs['worker1'].pid
    os.kill(chief, signal.SIGSTOP)
    try:
        time.sleep(2)  # worker1 sends its gradient and waits for the update
        os.kill(worker1, signal.SIGKILL)
        time.sleep(0.5)
    finally:
        os.kill(chief, signal.SIGCONT)
    job.wait_for('worker1 exited with status -9; starting it again (1 of 3)')
    assert job.join() == 0, job.output()
    waited = re.search(r"worker0 has sent its gradient for global step (\d+) and waits for the "
                       r"other workers'", job.output())
    assert waited, job.output()
    assert re.search(r'worker0 goes on at global step \d+ after \d+ s', job.output())
    metrics = read(out, 'metrics.json')
    assert metrics['steps'] == 40 * 23 and metrics['completed']
    # No update went on without worker1: the restarted one sent a gradient to
    # every update from the one the chief waited at (one may come too late).
    done = [line for line in job.output().splitlines() if 'worker1 done after' in line]
    assert len(done) == 1, job.output()
    own = int(done[0].split('done after ')[1].split()[0])
    assert own >= 40 * 23 - int(waited.group(1)) - 1, job.output()


def test_the_chief_dying_stops_the_job_and_resume_finishes_it(tmp_path, cluster_job):
    out = str(tmp_path / 'chief')
    flags = ['--output-dir', out, '--epochs', '12', '--checkpoint-every', '10'] + FLAGS
    job = cluster_job(flags, sync=False)
    deadline = time.time() + TIMEOUT
    while time.time() < deadline:  # asynchronous: 46 global steps per epoch
        latest = tf.train.latest_checkpoint(out) if os.path.isdir(out) else None
        if latest and int(latest.rsplit('-', 1)[1]) >= 40:
            break
        assert job.thread.is_alive(), job.output()
        time.sleep(0.05)
    os.kill(job.cluster.procs['worker0'].pid, signal.SIGKILL)
    assert job.join() == 1
    line = [l for l in job.output().splitlines() if 'error: the chief' in l][0]
    assert 'the chief (worker0) exited with status -9; stopped every task' in line
    assert 'last checkpoint: %s/model.ckpt-' % out in line and line.endswith('--resume')
    saved = int(tf.train.latest_checkpoint(out).rsplit('-', 1)[1])
    assert saved >= 40
    assert all(p.poll() is not None for p in job.cluster.procs.values())
    resumed = cluster_job(flags + ['--resume'], sync=False)
    assert resumed.join() == 0, resumed.output()
    metrics = read(out, 'metrics.json')
    assert metrics['resumed_from_step'] >= saved and metrics['completed']
    assert metrics['steps'] >= 12 * 46 and metrics['sync_replicas'] is False


def test_the_workers_stop_when_the_chief_stops_early(tmp_path, cluster_job):
    """--max-seconds ends a synchronous job long before its last step: the chief
    marks the job done and every worker stops by itself, inside the grace time."""
    out = str(tmp_path / 'early')
    job = cluster_job(['--output-dir', out, '--epochs', '500', '--max-seconds', '6'] + FLAGS,
                      sync=True)
    assert job.join() == 0, job.output()
    metrics = read(out, 'metrics.json')
    assert not metrics['completed'] and 0 < metrics['steps'] < 500 * 23
    assert 'worker1 done after' in job.output(), job.output()
    assert 'still running' not in job.output(), job.output()


def test_a_cluster_resume_skips_a_damaged_checkpoint_or_refuses_in_one_line(tmp_path,
                                                                           cluster_job):
    """The chief's session restores the folder's latest checkpoint: a damaged
    one is skipped for the newest that reads (as single-process); with none
    intact the chief exits 2 in one line and config.json stays the run's."""
    out = str(tmp_path / 'damaged')
    flags = ['--output-dir', out, '--checkpoint-every', '10'] + FLAGS
    job = cluster_job(flags + ['--epochs', '2'], sync=True)
    assert job.join() == 0, job.output()
    latest = tf.train.latest_checkpoint(out)
    older = tf.train.get_checkpoint_state(out).all_model_checkpoint_paths[-2]
    assert older.endswith('model.ckpt-40')  # 2 x 23 synchronous steps, one every 10
    for data_file in glob.glob(latest + '.data-*'):
        open(data_file, 'wb').close()
    # and what a kill in the middle of a write leaves: the resume removes it
    leftovers = [os.path.join(out, name) for name in (
        'model.ckpt-45.data-00000-of-00001.tempstate99', 'graph.pbtxt.tmp3a')]
    for path in leftovers:
        open(path, 'w').close()
    resumed = cluster_job(flags + ['--epochs', '3', '--resume'], sync=True)
    assert resumed.join() == 0, resumed.output()
    assert not [path for path in leftovers if os.path.exists(path)]
    assert ('skipped damaged checkpoint(s) %s' % os.path.basename(latest)) in resumed.output()
    assert read(out, 'metrics.json')['resumed_from_step'] == 40
    assert read(out, 'config.json')['epochs'] == 3
    for data_file in glob.glob(os.path.join(out, 'model.ckpt-*.data-*')):
        open(data_file, 'wb').close()
    refused = cluster_job(flags + ['--epochs', '4', '--resume'], sync=True)
    assert refused.join() == 2, refused.output()
    errors = [l for l in refused.output().splitlines() if 'tfbnn-train: error' in l]
    assert len(errors) == 1 and 'no older checkpoint restores either' in errors[0], errors
    assert 'Traceback' not in refused.output()
    assert 'Object was never used' not in refused.output()  # TensorFlow's lines at exit
    assert read(out, 'config.json')['epochs'] == 3


def _free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_a_chief_waiting_for_an_unreachable_ps_says_so(tmp_path):
    """TensorFlow's own 'still waiting' lines are below the job's log level:
    the chief says in a line, every TFBNN_WAIT_NOTICE_SECONDS, what it waits for."""
    ps, worker = '127.0.0.1:%d' % _free_port(), '127.0.0.1:%d' % _free_port()
    env = dict(os.environ, TFBNN_WAIT_NOTICE_SECONDS='1', PYTHONUNBUFFERED='1')
    proc = subprocess.Popen(
        [sys.executable, '-m', 'tfbnn.cli.train', '--cluster',
         json.dumps({'ps': [ps], 'worker': [worker]}), '--job-name', 'worker', '--task-index',
         '0', '--output-dir', str(tmp_path / 'run')] + FLAGS,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True, env=env)
    try:
        lines = []
        deadline = time.time() + TIMEOUT
        while time.time() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if 'still waiting' in line:
                break
    finally:
        proc.kill()
        proc.wait()
    assert lines and re.match(
        r'tfbnn: worker0 still waiting after \d+ s for the parameter servers \(ps0 at %s\): '
        r'are they started, at these addresses\?$' % re.escape(ps), lines[-1]), ''.join(lines)
