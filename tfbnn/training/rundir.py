"""The run directory: what is in it, how it is written, and resuming from it."""
import contextlib
import errno
import fcntl
import glob
import math
import os
import sys
import time

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn import run_config
from tfbnn.errors import CheckpointError, cause_line
from tfbnn.internal.jsonio import read_json
from tfbnn.training import data_summary

__all__ = ['RunLog', 'claim', 'set_aside', 'prepare', 'dataset_record',
           'latest_checkpoint', 'checkpoint_step', 'checkpoints_on_disk', 'chosen_checkpoint',
           'CHECKPOINTS', 'truncate', 'CONFIG', 'HISTORY', 'TRAIN_LOG', 'METRICS', 'DATASET',
           'DIAGNOSTICS', 'CHECKPOINT_PREFIX', 'BEST', 'BEST_RECORD']

CONFIG = 'config.json'
HISTORY = 'history.json'
METRICS = 'metrics.json'
DATASET = 'dataset.json'
DIAGNOSTICS = 'diagnostics.json'
CHECKPOINT_PREFIX = 'model.ckpt'
TRAIN_LOG = 'train.log'
# Early stopping (--validate-every): the best weights on the validation split
# and the record of when they were seen, in a folder of their own so the
# rolling checkpoints never delete them.
BEST = 'best'
BEST_RECORD = 'best.json'
# Which checkpoint of a finished run another step reads (`chosen_checkpoint`).
CHECKPOINTS = ('best', 'latest')
# Held by the job that writes the folder (`claim`).
LOCK = '.tfbnn-run.lock'


class RunLog(object):
    """Prints a line to a stream and appends it to a log file of the run.

    The one logger of the jobs: the single-process run and the cluster chief
    (<run>/train.log), the other cluster tasks (no file), and the
    reproductions (<out>/reproduce.log, timestamped).

    Args:
      out_dir: the folder of the log file, or None for no file (a
        non-chief worker, which owns no run directory).
      stream: where lines are printed (default stdout).
      name: the log file's name in `out_dir`.
      timestamps: prefix each line with the time since the log was made,
        '[H:MM:SS] ' (in the stream and the file alike).
    """

    def __init__(self, out_dir=None, stream=None, name=TRAIN_LOG, timestamps=False):
        self.stream = stream or sys.stdout
        self.path = os.path.join(out_dir, name) if out_dir is not None else None
        self.timestamps, self.start = timestamps, time.time()

    def __call__(self, line):
        if self.timestamps:
            elapsed = int(time.time() - self.start)
            line = '[%d:%02d:%02d] %s' % (elapsed // 3600, elapsed // 60 % 60, elapsed % 60,
                                          line)
        self.stream.write(line + '\n')
        self.stream.flush()
        if self.path:
            try:
                with open(self.path, 'a') as f:
                    f.write(line + '\n')
            except OSError as err:  # name the file: a write's error does not
                if err.filename:
                    raise
                raise OSError(err.errno, err.strerror or str(err), self.path) from err


def latest_checkpoint(folder, log=None):
    """The checkpoint the state file of `folder` names (tf.train.latest_checkpoint),
    or, where it names none with an .index (the file deleted or unparsable,
    its newest checkpoint's files gone), the newest on disk: a run that saved
    any is never taken for one that saved none. `log` (optional) is told in
    a line when the named one lacks its .index and another is taken.

    Raises:
      CheckpointError: an unreadable (empty) state file and no checkpoint on disk.
    """
    try:
        state = tf.train.get_checkpoint_state(folder)
    except (tf.errors.OpError, ValueError) as err:  # an empty state file, say
        state, unreadable = None, err
    else:
        unreadable = None
    named = state.model_checkpoint_path if state is not None else None
    if named and tf.io.gfile.exists(named + '.index'):
        return named
    on_disk = checkpoints_on_disk(folder)
    if unreadable is not None and not on_disk:
        raise CheckpointError('cannot read the checkpoint state in %s: %s'
                              % (folder, cause_line(unreadable)))
    if named and on_disk and log is not None:
        log('%s, which the checkpoint state names, has no .index file (incomplete or deleted): '
            'the newest complete one, %s, is taken'
            % (os.path.basename(named), os.path.basename(on_disk[-1])))
    return on_disk[-1] if on_disk else None


def checkpoints_on_disk(folder):
    """The job's checkpoints in `folder` with an .index file, oldest first."""
    found = []
    for index in glob.glob(os.path.join(glob.escape(folder), CHECKPOINT_PREFIX + '-*.index')):
        prefix = index[:-len('.index')]
        step = prefix.rsplit('-', 1)[1]
        if step.isdigit():
            found.append((int(step), prefix))
    return [prefix for _, prefix in sorted(found)]


def chosen_checkpoint(run_dir, which='best', log=None):
    """The early-stopping checkpoint (best/ on validation) if any, else the
    latest; or the latest when `which` is 'latest'. `log`, as for
    `latest_checkpoint`, is told when the latest named lacks its .index.

    Raises:
      ValueError: `which` is not one of CHECKPOINTS.
      CheckpointError: no such directory, or no checkpoint in it.
    """
    if which not in CHECKPOINTS:
        raise ValueError('checkpoint must be one of %s, got %r' % (CHECKPOINTS, which))
    if not os.path.isdir(run_dir):
        raise CheckpointError('run directory %s does not exist' % run_dir)
    record = read_json(os.path.join(run_dir, BEST, BEST_RECORD))
    if record and which == 'best':
        return os.path.join(run_dir, record['checkpoint'])
    latest = latest_checkpoint(run_dir, log)
    if latest is None:
        raise CheckpointError('no checkpoint in %s' % run_dir)
    return latest


def checkpoint_step(path):
    """The global step in a checkpoint path '<prefix>-<step>' (None for None)."""
    return int(path.rsplit('-', 1)[1]) if path else None


def truncate(history, diag_log, step):
    """Drops what was logged after `step`, the step a run resumes from.

    A run killed after logging an epoch but before its next checkpoint would
    otherwise log that epoch twice.
    """
    if history and 'step' in history:
        keep = [i for i, s in enumerate(history['step']) if s <= step]
        history = {k: [v[i] for i in keep] for k, v in history.items()}
    return history, [r for r in diag_log if r['step'] <= step]


def _unwritable(out, err):
    """The error for a run folder that cannot be made, or made but not written."""
    if os.path.exists(out) and not os.path.isdir(out):
        return CheckpointError('--output-dir %s is not a directory (a file of that name is '
                               'there)' % out)
    what = 'cannot write in' if os.path.isdir(out) else 'cannot create'
    return CheckpointError('%s --output-dir %s: %s' % (what, out, err.strerror or err))


@contextlib.contextmanager
def claim(out):
    """Holds the run folder `out` (made if missing) for the job writing it.

    An exclusive `flock` on <out>/.tfbnn-run.lock, taken without waiting and
    held while the block runs; it goes with the process, so a killed job
    never leaves it taken. Where the file system has no locks, the job runs
    without one. Yields whether the lock is held.

    Raises:
      CheckpointError: the folder cannot be made or written, or another
        running job holds it.
    """
    try:
        os.makedirs(out, exist_ok=True)
        handle = open(os.path.join(out, LOCK), 'w')
    except OSError as err:
        raise _unwritable(out, err)
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as err:
            if err.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EACCES):
                raise CheckpointError('--output-dir %s is being written by another running job; '
                                      'wait for it to end or choose another directory' % out)
            yield False
            return
        yield True


def set_aside(config):
    """Moves the run in the default --output-dir aside, so a new one can start.

    The default folder, runs/latest, holds the latest run: the README's
    command may be run again. When it holds a run (one that saved a
    checkpoint or results) and --resume was not given, that run is renamed
    to runs/run-<time its config.json was written>[-N] first, so nothing it
    learned is lost. Any other --output-dir is left as it is (`prepare`
    refuses to start in a folder holding a run), and so is the default one
    when the new run reads from it (--warm-start, --init-from) or when its
    file system has no locks to tell whether a job still writes it.

    Returns:
      A line saying where the earlier run went, or '' when nothing moved.

    Raises:
      CheckpointError: a running job holds the folder, or it cannot be renamed.
    """
    out = config.output_dir
    if config.resume or os.path.normpath(out) != os.path.normpath(
            run_config.DEFAULTS['output_dir']) or not os.path.isdir(out):
        return ''
    root = os.path.realpath(out)
    if any(path and (os.path.realpath(path) + os.sep).startswith(root + os.sep)
           for path in (config.warm_start, config.init_from)):
        return ''
    config_path = os.path.join(out, CONFIG)
    if not _holds_run(out) or _never_trained(out):
        return ''
    when = os.path.getmtime(config_path if os.path.exists(config_path) else out)
    stem = os.path.join(os.path.dirname(os.path.normpath(out)),
                        time.strftime('run-%Y%m%d-%H%M%S', time.localtime(when)))
    target, n = stem, 1
    while os.path.lexists(target):
        n += 1
        target = '%s-%d' % (stem, n)
    with claim(out) as held:  # not while a job writes it
        if not held:
            return ''
        try:
            os.rename(out, target)
        except OSError as err:
            raise CheckpointError('cannot move the earlier run in %s aside to %s: %s'
                                  % (out, target, err.strerror or err))
    return ('%s held an earlier run: moved it to %s (--resume --output-dir %s continues it)'
            % (out, target, target))


def prepare(config, dataset=None):
    """Creates or checks the output directory; decides whether to resume.

    Args:
      config: the run's `RunConfig`.
      dataset: the data it will train on; a resumed run's must have the
        task, example shape and classes its dataset.json says (the data at
        --data-dir may have changed since), else nothing is written.

    Returns:
      (latest checkpoint path or None, saved history dict or None, note str)

    Raises:
      CheckpointError: when the directory holds another run (one that saved a
        checkpoint or results) and --resume was not given, when it cannot be
        created, or when the saved run is not compatible with the requested
        configuration.
    """
    out = config.output_dir
    try:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, '.write-test'), 'w'):
            pass
        os.remove(os.path.join(out, '.write-test'))
    except OSError as err:
        raise _unwritable(out, err)
    if not os.path.isdir(out):
        raise CheckpointError('--output-dir %s is not a directory' % out)
    config_path = os.path.join(out, CONFIG)
    if not _holds_run(out):
        note = 'nothing to resume in %s: starting a new run' % out if config.resume else ''
        return None, None, note
    if not config.resume and _never_trained(out):
        for path in glob.glob(os.path.join(out, 'events.out.tfevents.*')) + [
                os.path.join(out, DIAGNOSTICS)]:
            if os.path.exists(path):  # the failed start's, which would read as this run's
                os.remove(path)
        return None, None, ('%s holds only the records of a run that stopped before its first '
                            'checkpoint: starting a new run' % out)
    if not config.resume:
        raise CheckpointError('--output-dir %s already holds a run; pass --resume to continue '
                              'it, or choose another directory' % out)
    saved = run_config.load(config_path)
    run_config.check_compatible(saved, config)
    if dataset is not None:
        recorded = _read_record(out, DATASET, "the data is then not checked against the run's")
        data_summary.check_same_data(recorded, dataset_record(dataset), config)
    metrics = _read_record(out, METRICS, 'the epochs done are then counted from the '
                                         'checkpoint') or {}
    done, latest = metrics.get('epochs'), latest_checkpoint(out)
    step = checkpoint_step(latest) if latest is not None else None
    if step is not None and dataset is not None and not (
            isinstance(done, (int, float)) and step <= (metrics.get('steps') or 0)):
        # metrics.json lost, or older than the checkpoint (a resumed run stopped)
        done = _epochs_done(config, dataset, step)
    if isinstance(done, (int, float)) and done > config.epochs:
        raise CheckpointError('cannot resume: the saved run has trained %g epochs, more than '
                              '--epochs %d; give --epochs %g or more to continue or re-evaluate '
                              'it' % (done, config.epochs, math.ceil(done)))
    if latest is None:
        return None, None, 'no checkpoint in %s yet: starting the run again' % out
    history = _read_record(out, HISTORY, 'the earlier epochs are then not in the new one')
    lost = ('; %s is missing, so the epochs before this checkpoint are not in the new one'
            % HISTORY) if history is None and checkpoint_step(latest) else ''
    return latest, history, 'resuming from %s%s' % (latest, lost)


def _read_record(out, name, then):
    """The run's record `name`, None if missing; a damaged (unparsable) one
    is a one-line CheckpointError that says how to resume without it (`then`:
    the cost). A read fault (permissions, I/O) keeps the system's reason alone."""
    try:
        return read_json(os.path.join(out, name))
    except CheckpointError as err:
        if not isinstance(err.__cause__, ValueError):
            raise
        raise CheckpointError('%s; move it aside to --resume without it: %s' % (err, then))


def _epochs_done(config, dataset, step):
    """The epochs `step` stands for under `config`, as its training graph
    counts them (a cluster's global batches of W B examples; W updates each
    when asynchronous)."""
    from tfbnn.training.graph import steps_per_epoch
    workers = config.workers or 1
    per_epoch = steps_per_epoch(dataset.x_train.shape[0], config.batch_size * workers)
    if config.workers and not config.sync_replicas:
        per_epoch *= workers
    return round(step / float(per_epoch), 6)


def _holds_run(out):
    """True when `out` holds a run: its config.json or a checkpoint."""
    return os.path.exists(os.path.join(out, CONFIG)) or latest_checkpoint(out) is not None


def _never_trained(out):
    """True when `out` holds a run's records but nothing it learned or measured.

    A run that failed between writing config.json and its first checkpoint
    (a graph that could not be built, an interrupt or a NaN in the first
    epoch) leaves such a folder. Starting again in it loses nothing, so the
    same command may be repeated without --resume (a job still running in
    it holds it: `claim`).
    """
    return latest_checkpoint(out) is None and not any(
        os.path.exists(os.path.join(out, name)) for name in (HISTORY, METRICS, BEST))


def dataset_record(dataset):
    """What rebuilding the network needs to know of the data, without the data.

    Written to <run>/dataset.json, so an export never has to load the
    training set: the task, example shape, class count, the target
    normalisation of regression (outputs are exported in original units)
    and the inputs' standardisation, if any (exported graphs take raw
    inputs), and a summary of the arrays (`data_summary`: a resume on other
    data of the same shape is refused).
    """
    def listed(stats):
        return None if stats is None else np.asarray(stats, np.float64).tolist()
    return dict(name=dataset.name, task=dataset.task, input_shape=list(dataset.input_shape),
                num_classes=dataset.num_classes, target_mean=float(dataset.target_mean),
                target_std=float(dataset.target_std), description=dataset.description,
                input_mean=listed(dataset.input_mean), input_std=listed(dataset.input_std),
                summary=data_summary.data_summary(dataset))
