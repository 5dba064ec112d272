"""tfbnn/cli/local_cluster.py (and its shim scripts/launch_local_cluster.py):
user errors exit 2 with one line; the flags reach the launcher. A real launch
from an installed copy is in tests/training/test_launch.py."""
import os
import runpy
import sys

import pytest

from tfbnn.cli.local_cluster import main
from tfbnn.training import launch

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.mark.parametrize('argv,message', [
    (['--workers', '0'], '--workers and --ps must be at least 1, got 0 and 1'),
    (['--ps', '0', '--', '--epochs', '1'], '--workers and --ps must be at least 1, got 2 and 0'),
    (['--max-restarts', '-1'], '--max-restarts must be >= 0, got -1'),
    (['--timeout', '0'], '--timeout must be positive seconds, got 0'),
    (['--workers', 'two'], "argument --workers: invalid int value: 'two'"),
])
def test_user_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ['tfbnn-local-cluster: error: %s (see tfbnn-local-cluster --help)' % message]


class _FakeCluster(object):
    made = []

    def __init__(self, num_workers, train_args, **kwargs):
        self.made.append((num_workers, train_args, kwargs))

    def run(self, timeout=None):
        self.made.append(timeout)
        return 7


def test_flags_after_the_separator_go_to_every_task(monkeypatch):
    monkeypatch.setattr(launch, 'LocalCluster', _FakeCluster)
    _FakeCluster.made[:] = []
    assert main(['--workers', '3', '--sync-replicas', '--max-restarts', '0', '--timeout', '60',
                 '--', '--epochs', '2', '--workers', '9']) == 7
    assert _FakeCluster.made == [
        (3, ['--epochs', '2', '--workers', '9'], dict(sync=True, num_ps=1, max_restarts=0)), 60.0]


def test_the_shim_puts_the_checkout_on_the_tasks_path(monkeypatch, capsys):
    """scripts/launch_local_cluster.py: the tasks (python -m tfbnn.cli.train)
    import the same checkout as the launcher, also when it is not installed."""
    monkeypatch.setenv('PYTHONPATH', '/elsewhere')
    monkeypatch.setattr(sys, 'path', list(sys.path))
    monkeypatch.setattr(sys, 'argv', ['launch_local_cluster.py', '--workers', '0'])
    with pytest.raises(SystemExit) as exit_info:
        runpy.run_path(os.path.join(REPO, 'scripts', 'launch_local_cluster.py'),
                       run_name='__main__')
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(
        'tfbnn-local-cluster: error: --workers and --ps must be at least 1')
    first, rest = os.environ['PYTHONPATH'].split(os.pathsep)
    assert os.path.samefile(first, REPO) and rest == '/elsewhere'
