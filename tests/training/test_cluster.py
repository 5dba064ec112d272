"""TF_CONFIG and the --cluster flags: what is accepted, and every refusal."""
import json
import re
import socket

import pytest

from tfbnn.errors import ConfigError
from tfbnn.training import cluster as cluster_lib

CLUSTER = {'ps': ['127.0.0.1:2222'], 'worker': ['127.0.0.1:2223', '127.0.0.1:2224']}


def tf_config(cluster=None, task=None):
    return json.dumps({'cluster': CLUSTER if cluster is None else cluster,
                       'task': {'type': 'worker', 'index': 1} if task is None else task})


def test_tf_config_worker_and_ps():
    c = cluster_lib.parse_tf_config(tf_config())
    assert c.cluster == CLUSTER and c.job_name == 'worker' and c.task_index == 1
    assert c.num_workers == 2 and not c.is_chief and c.task_name == 'worker1'
    chief = cluster_lib.parse_tf_config(tf_config(task={'type': 'worker', 'index': 0}))
    assert chief.is_chief
    ps = cluster_lib.parse_tf_config(tf_config(task={'type': 'ps', 'index': 0}))
    assert ps.job_name == 'ps' and not ps.is_chief


def test_resolve_prefers_the_flags_and_is_none_without_a_cluster():
    env = {'TF_CONFIG': tf_config()}
    assert cluster_lib.resolve(environ={}) is None
    assert cluster_lib.resolve(environ={'TF_CONFIG': '  '}) is None
    assert cluster_lib.resolve(environ={'TF_CONFIG': '{"task": {"type": "worker"}}'}) is None
    assert cluster_lib.resolve(environ=env).task_index == 1
    flags = cluster_lib.resolve(json.dumps(CLUSTER), 'ps', 0, environ=env)
    assert flags.job_name == 'ps' and flags.task_index == 0


@pytest.mark.parametrize('text,message', [
    ('{not json', r'TF_CONFIG is not valid JSON'),
    ('[1, 2]', r'TF_CONFIG must be a JSON object with "cluster" and "task"'),
    (json.dumps({'cluster': CLUSTER}),
     r'TF_CONFIG must be a JSON object with "cluster" and "task"'),
    (tf_config(cluster=['a:1']), r'TF_CONFIG: the cluster must be a JSON object'),
    (tf_config(cluster=dict(CLUSTER, chief=['127.0.0.1:1'])),
     r'TF_CONFIG: a "chief" job is not used here; list the chief as worker 0'),
    (tf_config(cluster=dict(CLUSTER, evaluator=['127.0.0.1:1'])),
     r'TF_CONFIG: unknown job\(s\) evaluator in the cluster \(jobs allowed: ps, worker\)'),
    (tf_config(cluster={'worker': CLUSTER['worker']}),
     r"TF_CONFIG: the cluster needs at least one 'ps' task \(a parameter server holds"),
    (tf_config(cluster={'ps': CLUSTER['ps'], 'worker': []}),
     r"TF_CONFIG: the cluster needs at least one 'worker' task"),
    (tf_config(cluster={'ps': 'h:1', 'worker': CLUSTER['worker']}),
     r"TF_CONFIG: job 'ps' must be a list of \"host:port\" strings"),
    (tf_config(cluster={'ps': ['nohostport'], 'worker': CLUSTER['worker']}),
     r"TF_CONFIG: job 'ps' must be a list of \"host:port\" strings"),
    (tf_config(cluster={'ps': ['h:99999'], 'worker': CLUSTER['worker']}),
     r"job 'ps' must be a list"),
    (tf_config(cluster={'ps': ['127.0.0.1:2223'], 'worker': CLUSTER['worker']}),
     r'TF_CONFIG: address\(es\) used by more than one task: 127.0.0.1:2223'),
    (tf_config(task='worker'), r'TF_CONFIG: "task" must be an object like'),
    (tf_config(task={'index': 0}), r'TF_CONFIG: "task" must be an object like'),
    (tf_config(task={'type': 'chief', 'index': 0}),
     r'TF_CONFIG: the task type must be one of ps, worker, got "chief"'),
    (tf_config(task={'type': ['x']}), r'TF_CONFIG: the task type must be one of ps, worker, '
                                      r'got \["x"\]'),
    (tf_config(task={'type': {'a': 1}, 'index': 0}), r'the task type must be one of ps, worker'),
    (tf_config(task={'type': 'worker', 'index': 2}),
     r'TF_CONFIG: the worker task index must be an integer in 0..1 \(the cluster has 2 '
     r'worker task\(s\)\), got 2'),
    (tf_config(task={'type': 'ps', 'index': -1}), r'the ps task index must be an integer in 0..0'),
    (tf_config(task={'type': 'worker', 'index': '1'}), r'the worker task index must be an integer'),
    (tf_config(task={'type': 'worker', 'index': True}), r'the worker task index must be an'),
])
def test_tf_config_errors(text, message):
    with pytest.raises(ConfigError, match=message):
        cluster_lib.parse_tf_config(text)
    with pytest.raises(ConfigError, match=message):  # the same through resolve
        cluster_lib.resolve(environ={'TF_CONFIG': text})


@pytest.mark.parametrize('args,message', [
    (('{"ps": ', 'worker', 0), r'--cluster is not valid JSON'),
    (('{"ps": ["h:1"]}', 'worker', 0), r"--cluster: the cluster needs at least one 'worker'"),
    ((json.dumps(CLUSTER), None, 0), r'--cluster needs --job-name \(ps or worker\) and '
                                     r'--task-index'),
    ((json.dumps(CLUSTER), 'worker', None), r'--cluster needs --job-name'),
    ((json.dumps(CLUSTER), 'master', 0), r'--cluster: the task type must be one of ps, worker'),
    ((json.dumps(CLUSTER), 'worker', 5), r'--cluster: the worker task index must be an integer '
                                         r'in 0..1'),
    ((None, 'worker', 0), r'--job-name and --task-index need --cluster \(with TF_CONFIG'),
    ((None, None, 1), r'--job-name and --task-index need --cluster'),
])
def test_flag_errors(args, message):
    with pytest.raises(ConfigError, match=message):
        cluster_lib.resolve(*args, environ={})


def test_task_flags_without_cluster_are_refused_also_with_tf_config():
    for args in ((None, 'worker', 1), (None, None, 0)):
        with pytest.raises(ConfigError, match=r'--job-name and --task-index need --cluster'):
            cluster_lib.resolve(*args, environ={'TF_CONFIG': tf_config()})


@pytest.mark.parametrize('cluster,task', [
    ({'chief': ['127.0.0.1:2222']}, {'type': 'chief', 'index': 0}),
    ({'worker': ['127.0.0.1:2222']}, {'type': 'worker'}),
])
def test_a_single_task_without_ps_runs_in_one_process(cluster, task):
    lines = []
    env = {'TF_CONFIG': json.dumps({'cluster': cluster, 'task': task})}
    assert cluster_lib.resolve(environ=env, log=lines.append) is None
    assert len(lines) == 1 and 'describes one task' in lines[0], lines
    assert 'training in a single process' in lines[0]


@pytest.mark.parametrize('task', [{'type': 'worker', 'index': 3}, {'type': 'chief'},
                                  {'type': 'worker', 'index': True}, 'worker'])
def test_a_single_task_cluster_refuses_a_task_it_does_not_have(task):
    env = {'TF_CONFIG': json.dumps({'cluster': {'worker': ['127.0.0.1:2222']}, 'task': task})}
    with pytest.raises(ConfigError, match=r'^TF_CONFIG: "task" is %s, but its cluster has one '
                                          r'task, worker index 0 \(127.0.0.1:2222\)$'
                                          % re.escape(json.dumps(task))):
        cluster_lib.resolve(environ=env)


def test_the_task_index_is_required_when_the_job_has_several_tasks():
    with pytest.raises(ConfigError, match=r'"task" needs an "index" when the job "worker" has '
                                          r'2 tasks'):
        cluster_lib.resolve(environ={'TF_CONFIG': tf_config(task={'type': 'worker'})})
    one_ps = cluster_lib.parse_tf_config(tf_config(task={'type': 'ps'}))  # one ps: index 0
    assert one_ps.task_index == 0


def test_cli_reports_a_bad_tf_config_in_one_line(tmp_path, capsys, monkeypatch):
    from tfbnn.cli.train import main
    monkeypatch.setenv('TF_CONFIG', tf_config(task={'type': 'worker', 'index': 7}))
    code = main(['--output-dir', str(tmp_path / 'run'), '--progress', 'never'])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith('tfbnn-train: error: TF_CONFIG: the worker task index')
    assert err.count('\n') == 1 and 'Traceback' not in err


@pytest.mark.parametrize('job', ['ps', 'worker'])
def test_a_port_in_use_is_one_line_before_the_chief_writes_anything(tmp_path, capsys, job):
    from tfbnn.cli.train import main
    with socket.socket() as held:
        held.bind(('127.0.0.1', 0))
        held.listen(1)
        port = held.getsockname()[1]
        address = '127.0.0.1:%d' % port
        addresses = {'ps': [address], 'worker': ['127.0.0.1:1']} if job == 'ps' else {
            'ps': ['127.0.0.1:1'], 'worker': [address]}
        code = main(['--cluster', json.dumps(addresses), '--job-name', job, '--task-index', '0',
                     '--output-dir', str(tmp_path / 'run'), '--progress', 'never'])
    err = capsys.readouterr().err
    assert code == 2 and err.startswith('tfbnn-train: error: %s0 cannot listen on %s ('
                                        % (job, address)), err
    assert err.rstrip().endswith('another process may hold the port; give the task a free '
                                 'address')
    assert err.count('\n') == 1 and 'Traceback' not in err
    assert not (tmp_path / 'run').exists()  # the chief wrote no records
