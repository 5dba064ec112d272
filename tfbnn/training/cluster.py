"""Where this process sits in a TensorFlow cluster: TF_CONFIG or the flags,
checked, as a `tf.train.ClusterSpec`, a job name and a task index.

The convention is TensorFlow 1's between-graph replication, as used with
`tf.train.replica_device_setter` and `tf.train.MonitoredTrainingSession`:

  TF_CONFIG='{"cluster": {"ps": ["host0:2222"],
                          "worker": ["host1:2222", "host2:2222"]},
              "task": {"type": "worker", "index": 0}}'

* exactly two jobs, "ps" (at least one parameter server, which holds the
  variables) and "worker" (at least one, each running the training loop);
* worker 0 is the chief: it initialises or restores the variables, writes
  checkpoints, summaries, history.json and metrics.json, and evaluates. There
  is no separate "chief" job (the Estimator convention); a TF_CONFIG with one
  is refused with a message saying to list the chief as worker 0.

The flags `--cluster '{"ps": [...], "worker": [...]}' --job-name worker
--task-index 1` say the same without the environment; when `--cluster` is
given, TF_CONFIG is ignored.
"""
import collections
import json
import numbers

from tfbnn.errors import ConfigError

__all__ = ['ClusterConfig', 'JOBS', 'parse_tf_config', 'from_flags', 'resolve']

JOBS = ('ps', 'worker')


class ClusterConfig(collections.namedtuple('ClusterConfig',
                                           ['cluster', 'job_name', 'task_index'])):
    """A checked cluster description.

    Attributes:
      cluster: dict job name -> list of 'host:port' strings ('ps' and 'worker').
      job_name: 'ps' or 'worker'.
      task_index: int, this task's index in its job.
    """
    __slots__ = ()

    @property
    def num_workers(self):
        """W, the number of workers."""
        return len(self.cluster['worker'])

    @property
    def is_chief(self):
        """True for worker 0."""
        return self.job_name == 'worker' and self.task_index == 0

    @property
    def task_name(self):
        """'ps0', 'worker1', ..."""
        return '%s%d' % (self.job_name, self.task_index)


def _check_cluster(cluster, where):
    if not isinstance(cluster, dict):
        raise ConfigError('%s: the cluster must be a JSON object like {"ps": ["host:port"], '
                          '"worker": ["host:port", ...]}, got %s' % (where, json.dumps(cluster)))
    if 'chief' in cluster:
        raise ConfigError('%s: a "chief" job is not used here; list the chief as worker 0 '
                          '(jobs allowed: ps, worker)' % where)
    unknown = sorted(set(cluster) - set(JOBS))
    if unknown:
        raise ConfigError('%s: unknown job(s) %s in the cluster (jobs allowed: ps, worker)'
                          % (where, ', '.join(unknown)))
    for job in JOBS:
        tasks = cluster.get(job)
        if not tasks:
            raise ConfigError('%s: the cluster needs at least one %r task%s, got %s'
                              % (where, job, ' (a parameter server holds the variables)'
                                 if job == 'ps' else '', json.dumps(tasks)))
        if not isinstance(tasks, list) or not all(_is_address(t) for t in tasks):
            raise ConfigError('%s: job %r must be a list of "host:port" strings, got %s'
                              % (where, job, json.dumps(tasks)))
    addresses = cluster['ps'] + cluster['worker']
    repeated = sorted({a for a in addresses if addresses.count(a) > 1})
    if repeated:
        raise ConfigError('%s: address(es) used by more than one task: %s'
                          % (where, ', '.join(repeated)))
    return {job: list(cluster[job]) for job in JOBS}


def _is_address(text):
    if not isinstance(text, str) or text.count(':') < 1:
        return False
    host, port = text.rsplit(':', 1)
    return bool(host) and port.isdigit() and 0 < int(port) < 65536


def _check_task(cluster, job_name, task_index, where):
    if job_name not in JOBS:
        raise ConfigError('%s: the task type must be one of ps, worker, got %s'
                          % (where, json.dumps(job_name)))
    if (isinstance(task_index, bool) or not isinstance(task_index, numbers.Integral)
            or not 0 <= task_index < len(cluster[job_name])):
        raise ConfigError('%s: the %s task index must be an integer in 0..%d (the cluster has '
                          '%d %s task(s)), got %s'
                          % (where, job_name, len(cluster[job_name]) - 1,
                             len(cluster[job_name]), job_name, json.dumps(task_index)))
    return ClusterConfig(cluster, job_name, int(task_index))


def parse_tf_config(text):
    """Parses and checks the TF_CONFIG environment variable.

    Args:
      text: the JSON string of TF_CONFIG.

    Returns:
      `ClusterConfig`.

    Raises:
      ConfigError: malformed JSON, a missing or malformed "cluster" or "task",
        an unknown job, no ps or no worker, a repeated address, or a task
        index out of range; one line saying what is allowed.
    """
    try:
        record = json.loads(text)
    except ValueError as err:
        raise ConfigError('TF_CONFIG is not valid JSON (%s)' % err)
    if not isinstance(record, dict) or 'cluster' not in record or 'task' not in record:
        raise ConfigError('TF_CONFIG must be a JSON object with "cluster" and "task", like '
                          '{"cluster": {"ps": [...], "worker": [...]}, '
                          '"task": {"type": "worker", "index": 0}}')
    cluster = _check_cluster(record['cluster'], 'TF_CONFIG')
    task = record['task']
    if not isinstance(task, dict) or 'type' not in task:
        raise ConfigError('TF_CONFIG: "task" must be an object like {"type": "worker", '
                          '"index": 0}, got %s' % json.dumps(task))
    if not isinstance(task['type'], str) or task['type'] not in JOBS:
        raise ConfigError('TF_CONFIG: the task type must be one of ps, worker, got %s'
                          % json.dumps(task['type']))
    if 'index' not in task and len(cluster.get(task['type'], ())) > 1:
        raise ConfigError('TF_CONFIG: "task" needs an "index" when the job %s has %d tasks, '
                          'got %s' % (json.dumps(task['type']), len(cluster[task['type']]),
                                      json.dumps(task)))
    return _check_task(cluster, task['type'], task.get('index', 0), 'TF_CONFIG')


def _single_task(text):
    """(job, address) of a TF_CONFIG whose cluster has a single task and no ps, or None."""
    try:
        record = json.loads(text)
    except ValueError:
        return None
    cluster = record.get('cluster') if isinstance(record, dict) else None
    if not isinstance(cluster, dict) or 'ps' in cluster:
        return None
    tasks = [(job, t) for job, addresses in cluster.items()
             if isinstance(addresses, list) for t in addresses]
    if len(tasks) == 1 and all(isinstance(a, list) for a in cluster.values()):
        return tasks[0]
    return None


def _check_single_task(task, single):
    """Raises ConfigError if a one-task TF_CONFIG's "task" names another task."""
    if task is None:
        return
    job, address = single
    if (not isinstance(task, dict) or task.get('type') != job
            or task.get('index', 0) != 0 or isinstance(task.get('index'), bool)):
        raise ConfigError('TF_CONFIG: "task" is %s, but its cluster has one task, %s index 0 '
                          '(%s)' % (json.dumps(task), job, address))


def from_flags(cluster_json, job_name, task_index):
    """The same from --cluster (JSON of the cluster), --job-name, --task-index.

    Raises:
      ConfigError: as `parse_tf_config`, naming the flags.
    """
    try:
        cluster = json.loads(cluster_json)
    except ValueError as err:
        raise ConfigError('--cluster is not valid JSON (%s)' % err)
    cluster = _check_cluster(cluster, '--cluster')
    if job_name is None or task_index is None:
        raise ConfigError('--cluster needs --job-name (ps or worker) and --task-index')
    return _check_task(cluster, job_name, task_index, '--cluster')


def resolve(cluster_json=None, job_name=None, task_index=None, environ=None, log=None):
    """The cluster this process belongs to, or None for a single process.

    Args:
      cluster_json, job_name, task_index: the flags (None when not given).
      environ: mapping to read TF_CONFIG from (default `os.environ`).
      log: optional function taking one line, told when a TF_CONFIG is
        read as a single process.

    Returns:
      `ClusterConfig`, or None when neither --cluster nor a non-empty
      TF_CONFIG is given, when TF_CONFIG has no "cluster" (as some
      schedulers set it for single-process jobs), or when its cluster is a
      single task and no ps (e.g. {"chief": ["host:port"]}): these run in one
      process, as without a cluster.

    Raises:
      ConfigError: for any of the errors above, or --job-name/--task-index
        without --cluster (also when TF_CONFIG is set).
    """
    if environ is None:
        import os
        environ = os.environ
    if cluster_json is not None:
        return from_flags(cluster_json, job_name, task_index)
    if job_name is not None or task_index is not None:
        raise ConfigError('--job-name and --task-index need --cluster (with TF_CONFIG, the task '
                          'comes from its "task")')
    text = environ.get('TF_CONFIG', '').strip()
    if not text:
        return None
    try:
        record = json.loads(text)
    except ValueError:
        record = None
    if isinstance(record, dict) and not record.get('cluster'):
        return None
    single = _single_task(text)
    if single is not None:
        _check_single_task(record.get('task'), single)
        if log is not None:
            log('tfbnn: TF_CONFIG describes one task (%s) and no parameter server: training in '
                'a single process' % ' '.join(single))
        return None
    return parse_tf_config(text)
