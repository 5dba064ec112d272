"""tfbnn/training/launch.py: what each task runs, and a real launch from an
installed copy of the package (no scripts/ beside it, the checkout not imported).
The launcher's fault handling is tested in test_distributed.py."""
import json
import os
import shlex
import shutil
import subprocess
import sys
import time

import pytest

from tfbnn.training.launch import TRAIN_MODULE, LocalCluster

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Put on PYTHONPATH, it reports at exit which tfbnn the process imported.
REPORT_HOOK = '''import atexit
import sys


def _report():
    module = sys.modules.get('tfbnn')
    sys.stdout.write('tfbnn imported from %s\\n' % getattr(module, '__file__', None))
    sys.stdout.flush()


atexit.register(_report)
'''


def test_each_task_runs_the_training_module_of_this_interpreter():
    cluster = LocalCluster(1, ['--epochs', '1'])
    assert TRAIN_MODULE == 'tfbnn.cli.train'
    assert cluster.cmd == [sys.executable, '-m', 'tfbnn.cli.train']
    assert LocalCluster(1, [], python='/py', script='/t.py').cmd == ['/py', '/t.py']


def test_the_resume_hint_names_a_command_an_installed_package_has(tmp_path):
    cluster = LocalCluster(2, ['--output-dir', str(tmp_path), '--epochs', '3'], sync=True)
    assert cluster._resume_hint() == (
        'last checkpoint: none yet; continue with: %s -m tfbnn.cli.local_cluster '
        '--workers 2 --sync-replicas -- --output-dir %s --epochs 3 --resume'
        % (shlex.quote(sys.executable), tmp_path))


def _install(tmp_path):
    """pip-installs the package as the Docker image does (setup.py, README.md and
    tfbnn/ only) into a folder of its own; returns that folder."""
    src = tmp_path / 'src'
    src.mkdir()
    for name in ('setup.py', 'README.md'):
        shutil.copy(os.path.join(REPO, name), str(src))
    shutil.copytree(os.path.join(REPO, 'tfbnn'), str(src / 'tfbnn'),
                    ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
    site = tmp_path / 'site'
    proc = subprocess.run(
        [sys.executable, '-m', 'pip', 'install', '--no-deps', '--no-build-isolation',
         '--no-index', '--disable-pip-version-check', '--quiet', '--target', str(site),
         str(src)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert proc.returncode == 0, proc.stdout
    assert os.path.isfile(str(site / 'tfbnn' / 'cli' / 'train.py'))
    assert not os.path.exists(str(site / 'scripts'))
    return str(site)


@pytest.mark.slow
def test_a_launch_from_an_installed_copy_trains(tmp_path):
    site = _install(tmp_path)
    hook = tmp_path / 'hook'
    hook.mkdir()
    (hook / 'sitecustomize.py').write_text(REPORT_HOOK)
    cwd = tmp_path / 'elsewhere'  # not the checkout: `python -m` would import it from there
    cwd.mkdir()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([site, str(hook)]),
               TF_CPP_MIN_LOG_LEVEL='2')
    out = str(tmp_path / 'run')
    proc = subprocess.run(
        [sys.executable, '-m', 'tfbnn.cli.local_cluster', '--workers', '1', '--timeout', '300',
         '--', '--output-dir', out, '--epochs', '1', '--hidden', '8', '--batch-size', '256',
         '--eval-samples', '2', '--ood-set', 'none', '--progress', 'never', '--device', 'cpu',
         '--threads', '1'],
        cwd=str(cwd), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        universal_newlines=True, timeout=420)
    assert proc.returncode == 0, proc.stdout
    installed = os.path.join(site, 'tfbnn', '__init__.py')
    lines = proc.stdout.splitlines()
    assert '[worker0] tfbnn imported from %s' % installed in lines, proc.stdout  # the chief
    assert 'tfbnn imported from %s' % installed in lines, proc.stdout  # the launcher
    reports = [l for l in lines if 'tfbnn imported from' in l]
    assert all(l.endswith(' ' + installed) for l in reports), reports
    assert '[launch] done: the chief finished the job' in lines, proc.stdout
    with open(os.path.join(out, 'metrics.json')) as f:
        metrics = json.load(f)
    assert metrics['workers'] == 1 and metrics['completed'] and metrics['steps'] == 6


def test_the_chief_own_error_line_says_whether_to_resume(tmp_path):
    """The chief's status 2 is its one-line error (a refused configuration, a
    full disk): the launcher points at it instead of offering --resume outright."""
    script = tmp_path / 'task.py'
    script.write_text(u'import json, os, sys, time\n'
                      u'task = json.loads(os.environ["TF_CONFIG"])["task"]\n'
                      u'time.sleep(60) if task["type"] == "ps" else sys.exit(2)\n')
    lines = []
    cluster = LocalCluster(1, ['--output-dir', str(tmp_path / 'run')], python=sys.executable,
                           script=str(script))
    cluster.say = lambda line, task='launch': lines.append(line)
    assert cluster.run(timeout=60) == 2
    assert lines[-1].startswith('error: the chief (worker0) exited with status 2; stopped every '
                                'task; see its error line; where it says to resume: last '
                                'checkpoint: none yet; continue with: '), lines


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='PR_SET_PDEATHSIG is Linux only')
def test_a_killed_launcher_leaves_no_task_behind(tmp_path):
    """A chief given SIGTERM waits for its final save on parameter servers that
    died with the launcher: the tasks get SIGKILL, which no task can defer."""
    task = tmp_path / 'task.py'  # a task that ignores SIGTERM, as a busy chief does
    task.write_text('import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n'
                    'print("ready", flush=True)\ntime.sleep(120)\n')
    launcher = subprocess.Popen(
        [sys.executable, '-c', 'import sys, time\n'
         'from tfbnn.training.launch import LocalCluster\n'
         'proc = LocalCluster(1, [], script=sys.argv[1]).start_task("worker", 0)\n'
         'print(proc.pid, flush=True)\ntime.sleep(120)\n', str(task)],
        stdout=subprocess.PIPE, universal_newlines=True, cwd=REPO)
    pid, ready = None, False
    for line in iter(launcher.stdout.readline, ''):  # its pid, and the task's 'ready'
        pid = int(line) if line.strip().isdigit() else pid
        ready = ready or line.strip() == '[worker0] ready'
        if pid and ready:
            break
    assert pid and ready
    launcher.kill()
    launcher.wait()
    for _ in range(100):  # (a zombie until init reaps it: read its state)
        try:
            with open('/proc/%d/stat' % pid) as f:
                if f.read().split(')')[-1].split()[0] in ('Z', 'X'):
                    break
        except OSError:
            break
        time.sleep(0.1)
    else:
        os.kill(pid, 9)
        pytest.fail('the task outlived its launcher by 10 s')
