"""scripts/run.sh's stack choice and its one-line errors (no environment is built)."""
import hashlib
import os
import subprocess
import sys

import pytest

from tfbnn.internal import compat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _inherited():
    """The environment without the stack choice the suite itself ran under."""
    return {k: v for k, v in os.environ.items() if k not in ('TFBNN_PYTHON', 'TFBNN_STACK')}


def run_sh(*args, **env):
    proc = subprocess.run(['bash', os.path.join(ROOT, 'scripts', 'run.sh')] + list(args),
                          env=dict(_inherited(), **env), stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    return proc.returncode, proc.stderr


@pytest.mark.parametrize('args,env,message', [
    ((), dict(TFBNN_STACK='tf3'), "TFBNN_STACK must be tf1 (Python 3.7, TensorFlow 1.15) or tf2 "
                                  "(Python >= 3.10, TensorFlow 2.x), got 'tf3'"),
    ((), dict(TFBNN_PYTHON='/nonexistent/python'),
     'TFBNN_PYTHON=/nonexistent/python is not a working Python 3.7 (tf1) or 3.10-3.13 (tf2)'),
    (('bogus',), dict(TFBNN_PYTHON=sys.executable), 'usage: scripts/run.sh train|test|python|setup'),
])
def test_errors_are_one_line_and_exit_2(args, env, message):
    code, err = run_sh(*args, **env)
    assert code == 2 and err.count('\n') == 1 and err.startswith('tfbnn: ') and message in err, err


def test_a_python_of_the_other_stack_is_refused():
    other = 'tf1' if compat.TF2 else 'tf2'
    code, err = run_sh('setup', TFBNN_PYTHON=sys.executable, TFBNN_STACK=other)
    assert code == 2 and err.count('\n') == 1
    assert 'which cannot run TFBNN_STACK=%s' % other in err


def test_the_stack_line_names_this_interpreters_stack():
    """With this suite's own interpreter the environment is reused, not rebuilt."""
    venv = os.path.dirname(os.path.dirname(sys.executable))
    if os.path.basename(venv) not in compat.STACK_VENVS.values() or \
            os.path.dirname(venv) != ROOT:
        pytest.skip('the suite runs outside scripts/run.sh\'s environments')
    # Only where run.sh would reuse the environment: a stale one it would rebuild.
    names = (['requirements.txt', 'requirements-test.txt'] if not compat.TF2 else
             ['requirements-tf2.txt', 'requirements-test-tf2.txt']) + ['setup.py']
    digest = hashlib.sha256(b''.join(open(os.path.join(ROOT, n), 'rb').read() for n in names))
    with open(os.path.join(venv, '.tfbnn-installed')) as f:
        if f.read().strip() != digest.hexdigest():
            pytest.skip('the environment is older than the requirements (run.sh would rebuild it)')
    code, err = run_sh('python', '-c', 'pass', TFBNN_STACK=compat.stack_name())
    assert code == 0
    assert err.startswith('tfbnn: stack %s, Python %d.%d' % ((compat.stack_name(),)
                                                            + sys.version_info[:2])), err
