"""A whole cluster on this machine, for trying the distributed job out: one
process per task on 127.0.0.1, each with its own TF_CONFIG, their output
prefixed with the task's name, and all of them stopped when the job ends.

* The chief (worker 0) finishing with status 0 ends the job: the workers get
  a few seconds to finish by themselves, then every task left (the parameter
  servers always) is stopped, and the launcher exits 0.
* A non-chief worker that dies is started again with the same TF_CONFIG (up
  to `max_restarts` times); it rejoins the running job.
* The chief dying, a parameter server dying, or a worker dying too often,
  stops every task and ends with a one-line message naming the last
  checkpoint and the command that resumes the job; the exit status is then
  non-zero. Ctrl-C, SIGTERM or SIGHUP stops every task the same way and
  exits 130.
* Tasks are stopped in order: the chief first (SIGTERM; it saves its final
  checkpoint while the parameter servers still hold the variables), then the
  other workers, then the parameter servers; each group gets SIGKILL after
  its timeout.
* On Linux every task is killed (SIGKILL) when the launcher dies (prctl
  PR_SET_PDEATHSIG), so killing the launcher leaves no task behind: no
  parameter server serving forever, and no chief waiting forever for the
  parameter servers or workers that died with it (with SIGTERM it did, as
  its final save needs them). `--resume` goes on from the last checkpoint.
"""
import ctypes
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time

__all__ = ['free_ports', 'local_cluster', 'LocalCluster', 'TRAIN_MODULE']

# What each task runs, as `python -m TRAIN_MODULE`: a module of the package, so
# the launcher works wherever tfbnn is installed (scripts/ is not shipped).
TRAIN_MODULE = 'tfbnn.cli.train'


def free_ports(count, host='127.0.0.1'):
    """`count` distinct ports that were free a moment ago (bound to port 0)."""
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def local_cluster(num_workers, num_ps=1, host='127.0.0.1'):
    """A cluster dict of `num_ps` parameter servers and `num_workers` workers on free ports."""
    if num_workers < 1 or num_ps < 1:
        raise ValueError('local_cluster: needs at least one worker and one ps, got %d and %d'
                         % (num_workers, num_ps))
    ports = free_ports(num_ps + num_workers, host)
    addresses = ['%s:%d' % (host, p) for p in ports]
    return {'ps': addresses[:num_ps], 'worker': addresses[num_ps:]}


def _die_with_parent():
    """In the child, before exec: SIGKILL when the parent dies (Linux only)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _flag_value(args, flag, default):
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            return args[i + 1]
        if a.startswith(flag + '='):
            return a.split('=', 1)[1]
    return default


class LocalCluster(object):
    """Starts, watches and stops the tasks of a local cluster.

    Args:
      num_workers: W.
      train_args: list of training flags given to every task.
      sync: add --sync-replicas.
      num_ps: parameter servers.
      max_restarts: how many times a dying non-chief worker is started again.
      grace_seconds: how long the workers may take to finish after the chief.
      stream: where the prefixed output goes.
      python, script: what runs each task: `python script` when a script is
        given, else `python -m tfbnn.cli.train` (python: this interpreter).
    """

    def __init__(self, num_workers, train_args, sync=False, num_ps=1, max_restarts=3,
                 grace_seconds=10.0, stream=None, python=None, script=None):
        self.cluster = local_cluster(num_workers, num_ps)
        self.num_ps = num_ps
        self.closing = False
        self.train_args = list(train_args) + (['--sync-replicas'] if sync else [])
        self.max_restarts, self.grace = max_restarts, grace_seconds
        self.stream = stream or sys.stdout
        self.cmd = [python or sys.executable] + ([script] if script else ['-m', TRAIN_MODULE])
        self.procs, self.restarts, self._lock, self._threads = {}, {}, threading.Lock(), []
        self.tasks = [('ps', i) for i in range(num_ps)] + [('worker', i)
                                                           for i in range(num_workers)]

    def say(self, line, task='launch'):
        with self._lock:
            self.stream.write('[%s] %s\n' % (task, line))
            self.stream.flush()

    def _pump(self, name, pipe):
        for line in iter(pipe.readline, ''):
            self.say(line.rstrip('\n'), name)
        pipe.close()

    def start_task(self, job, index):
        name = '%s%d' % (job, index)
        env = dict(os.environ, TF_CONFIG=json.dumps(
            {'cluster': self.cluster, 'task': {'type': job, 'index': index}}))
        env.setdefault('TF_CPP_MIN_LOG_LEVEL', '2')
        # PR_SET_PDEATHSIG fires when the *thread* that started the task
        # ends: run() starts (and restarts) every task from its own thread.
        proc = subprocess.Popen(self.cmd + self.train_args, env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, universal_newlines=True,
                                start_new_session=True,
                                preexec_fn=_die_with_parent if sys.platform.startswith('linux')
                                else None)
        self.procs[name] = proc
        thread = threading.Thread(target=self._pump, args=(name, proc.stdout), daemon=True)
        thread.start()
        self._threads.append(thread)
        self.say('%s started (pid %d) on %s' % (name, proc.pid, self.cluster[job][index]))
        return proc

    def stop(self, chief_timeout=30.0, timeout=10.0):
        """Stops every task still running: the chief, then the other workers, then the ps.

        Each group gets SIGTERM (to its whole process group), then SIGKILL
        after its timeout: the chief's is longer, as it saves a checkpoint.
        """
        procs = dict(self.procs)
        workers = sorted(n for n in procs if n.startswith('worker') and n != 'worker0')
        for names, wait in ((['worker0'], chief_timeout), (workers, timeout),
                            (sorted(n for n in procs if n.startswith('ps')), timeout)):
            live = [procs[n] for n in names if n in procs and procs[n].poll() is None]
            for proc in live:
                _signal_group(proc, signal.SIGTERM)
            deadline = time.time() + wait
            for proc in live:
                try:
                    proc.wait(max(deadline - time.time(), 0.1))
                except subprocess.TimeoutExpired:
                    _signal_group(proc, signal.SIGKILL)
                    proc.wait()

    def close(self):
        """Stops every task from another thread (e.g. a test's teardown); run() then returns."""
        self.closing = True
        self.stop(chief_timeout=10.0, timeout=5.0)

    def _resume_hint(self):
        out = _flag_value(self.train_args, '--output-dir', 'runs/latest')
        ckpt = None
        try:
            with open(os.path.join(out, 'checkpoint')) as f:
                for line in f:
                    if line.startswith('model_checkpoint_path:'):
                        ckpt = os.path.join(out, json.loads(line.split(':', 1)[1].strip()))
        except (OSError, ValueError):
            pass
        args = [a for a in self.train_args if a not in ('--resume', '--sync-replicas')]
        launcher = [sys.executable, '-m', 'tfbnn.cli.local_cluster', '--workers',
                    str(len(self.cluster['worker']))]
        if self.num_ps != 1:
            launcher += ['--ps', str(self.num_ps)]
        if self.max_restarts != 3:
            launcher += ['--max-restarts', str(self.max_restarts)]
        if '--sync-replicas' in self.train_args:
            launcher.append('--sync-replicas')
        return ('last checkpoint: %s; continue with: %s'
                % (ckpt or 'none yet',
                   ' '.join(shlex.quote(a) for a in launcher + ['--'] + args + ['--resume'])))

    def run(self, poll_seconds=0.2, timeout=None):
        """Starts every task and watches them to the end; returns the exit status.

        Args:
          poll_seconds: how often the tasks are checked.
          timeout: optional wall-time bound; the tasks are stopped after it
            and the status is 124.
        """
        started = time.time()
        self.say('cluster %s' % json.dumps(self.cluster))
        old_handlers = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGHUP):  # like Ctrl-C
                old_handlers[sig] = signal.signal(sig, _raise_interrupt)
        try:
            for job, index in self.tasks:
                self.start_task(job, index)
            while True:
                time.sleep(poll_seconds)
                status = self._check()
                if status is not None:
                    return status
                if timeout is not None and time.time() - started > timeout:
                    self.say('error: the job took more than %gs; stopping every task; %s'
                             % (timeout, self._resume_hint()))
                    self.stop()
                    return 124
        except KeyboardInterrupt:
            self.say('interrupted: stopping every task (the chief saves a checkpoint)')
            self.stop()
            self.say(self._resume_hint())
            return 130
        finally:
            self.stop()
            for sig, handler in old_handlers.items():
                signal.signal(sig, handler)
            for thread in self._threads:
                thread.join(2.0)

    def _check(self):
        if self.closing:
            return 1
        chief = self.procs['worker0'].poll()
        if chief == 0:
            deadline = time.time() + self.grace
            workers = [n for n in self.procs if n.startswith('worker')]
            while time.time() < deadline and any(self.procs[n].poll() is None for n in workers):
                time.sleep(0.1)
            left = [n for n in workers if self.procs[n].poll() is None]
            if left:
                self.say('the chief has finished; stopping %s, still running %g s later'
                         % (', '.join(left), self.grace))
            self.stop()
            self.say('done: the chief finished the job')
            return 0
        if chief is not None:
            self.stop()
            # Status 2 is the chief's own one-line error (a refused
            # configuration, a full disk, ...): it says whether to resume.
            hint = ('see its error line; where it says to resume: %s' % self._resume_hint()
                    if chief == 2 else self._resume_hint())
            self.say('error: the chief (worker0) exited with status %d; stopped every task; %s'
                     % (chief, hint))
            return chief if chief > 0 else 1
        for name, proc in sorted(self.procs.items()):
            code = proc.poll()
            if code is None or code == 0:
                continue
            if name.startswith('ps'):
                self.stop()
                self.say('error: parameter server %s exited with status %d; stopped every task; '
                         '%s' % (name, code, self._resume_hint()))
                return 1
            count = self.restarts.get(name, 0)
            if count >= self.max_restarts:
                self.stop()
                self.say('error: %s exited with status %d after %d restart(s); stopped every '
                         'task; %s' % (name, code, count, self._resume_hint()))
                return 1
            self.restarts[name] = count + 1
            self.say('%s exited with status %d; starting it again (%d of %d)'
                     % (name, code, count + 1, self.max_restarts))
            self.start_task('worker', int(name[len('worker'):]))
        return None


def _raise_interrupt(_signum, _frame):
    raise KeyboardInterrupt


def _signal_group(proc, sig):
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
