"""Running the training job for a protocol, and choosing on validation.

Every reproduction goes through `tfbnn.training.train`, the same job
`scripts/train.py` runs, so what is reproduced is the toolkit itself; each
run keeps its own run directory (config, history, checkpoints, metrics).
"""
import dataclasses
import hashlib
import io
import json
import os
import time

import numpy as np
import tensorflow.compat.v1 as tf

from tfbnn import run_config
from tfbnn.errors import ConfigError
from tfbnn.internal.file_lock import exclusive_lock
from tfbnn.internal.jsonio import read_json, write_json
from tfbnn.reproduce.filing import MACHINE_KEYS, option_differences
from tfbnn.training import evaluate as evaluate_lib
from tfbnn.training import rundir
from tfbnn.training import train

__all__ = ['run', 'select', 'validated_options', 'history_seconds', 'epoch_seconds_total']

DONE_FILE = 'reproduce_done.json'
# sha256 of the arrays a reused run loaded and the TensorFlow that ran it (`data_fingerprint`).
DATA_FILE = 'reproduce_data.json'
# Options that say where and how fast a run runs, not what it computes: a
# finished run asked for again with other values is the same run (its data is
# checked by `_check_same_data`). evaluate_test is compared on its own (`_run`).
_MACHINE = frozenset(MACHINE_KEYS) | {'max_seconds', 'resume', 'evaluate_test'}
# ... and those that only score the trained weights: an unfinished or
# finished run may be resumed under others (it trains on as it started, and
# is scored anew).
_SCORING = _MACHINE | {'eval_samples', 'eval_batch_size', 'eval_estimator', 'ood_set',
                       'summary_every', 'diagnostics_every', 'checkpoint_every',
                       'keep_checkpoints'}


def run(config, verbose=False, reuse=False):
    """Trains (or, with config.resume, continues) one run; returns its metrics.

    Args:
      config: `tfbnn.run_config.RunConfig`, or a mapping of run options
        (missing ones take their defaults).
      verbose: print the job's own lines (per epoch); otherwise they only go
        to the run's train.log.
      reuse: make the call safe to repeat after an interruption: a run that
        finished with these same options returns its recorded metrics
        without training again, and an unfinished one is resumed from its
        latest checkpoint. An option added to tfbnn after the run was
        recorded counts as the same when the call leaves it at its default.
        The run holds a lock (the file .<name>.lock beside it) meanwhile, so
        a second process asking for the same run waits for the first, then
        reuses it.

    Returns:
      the metrics dict of the run (also in <output_dir>/metrics.json), with
      'wall_seconds' added: training, validation and evaluation of this call.
    """
    config = run_config.validate(config)
    if not reuse:
        return _run(config, verbose, reuse)
    parent, name = os.path.split(os.path.normpath(config.output_dir))
    with exclusive_lock(os.path.join(parent, '.%s.lock' % name)):
        return _run(config, verbose, reuse)


def _run(config, verbose, reuse):
    done_path = os.path.join(config.output_dir, DONE_FILE)
    # What reproduce_done.json records of the run: its options as config.json has them.
    options = dataclasses.replace(config, resume=False).to_dict()
    if reuse:
        _check_same_data(config)
        done = read_json(done_path)
        # A finished run also scored on the test set serves a request that
        # asks for validation only (its metrics hold both).
        if _serves(done, options):
            return done['metrics']
        started = read_json(os.path.join(config.output_dir, rundir.CONFIG))
        found = (_differences(options, started, _SCORING, resuming=True)
                 if started is not None else [])
        if found:
            raise ConfigError('cannot reuse the run in %s: it was started with other options '
                              '(%s%s; asked vs saved), and would go on under these as if it '
                              'had started so; remove that folder to train it again, or give '
                              'another --out' % (config.output_dir, '; '.join(found[:3]),
                                                 '; ...' if len(found) > 3 else ''))
        config = dataclasses.replace(config, resume=True)
    start = time.time()
    metrics = train(dataclasses.replace(config, progress='never'),
                    stream=None if verbose else io.StringIO())
    metrics['wall_seconds'] = time.time() - start
    if reuse:
        write_json(done_path, dict(options=options, metrics=metrics))
    return metrics


def _serves(done, options):
    """Whether the finished run of reproduce_done.json `done` is the run
    `options` ask for: the same options but where and how fast it ran, and
    scored on the test set if they ask for it. A run its --max-seconds cut
    short serves only the same budget: under another it goes on."""
    if not isinstance(done, dict) or _differences(options, done.get('options'), _MACHINE):
        return False
    if not (done['options'].get('evaluate_test', True) or not options['evaluate_test']):
        return False
    metrics = done.get('metrics') or {}
    return bool(metrics.get('completed', True) or metrics.get('stopped_early')
                or done['options'].get('max_seconds') == options['max_seconds'])


def _differences(wanted, saved, ignored, resuming=False):
    """'key wanted vs saved' for each run option (`run_config.DEFAULTS`'
    keys) but the `ignored` ones; options added to tfbnn since `saved` was
    written count at their defaults. `resuming` a run under a constant rate
    on both sides, the length of the run may differ too (a longer run goes
    on as it was; a step or cosine schedule is placed by --epochs). A
    `saved` that is no dict differs in everything.
    """
    if not isinstance(saved, dict):
        return ['options %s vs %s' % ('(a run)', json.dumps(saved))]
    saved = dict(run_config.DEFAULTS, **saved)
    if resuming and wanted.get('lr_schedule') == saved.get('lr_schedule') == 'constant':
        ignored = ignored | {'epochs'}
    return option_differences(wanted, saved, sorted(run_config.DEFAULTS), ignored)


def _check_same_data(config):
    """Refuses to reuse or resume a run whose data changed since it started
    (its options hold the paths only), or that another TensorFlow made;
    records both for a new run. Runs recorded before this check (no
    reproduce_data.json beside a finished run) are reused unchecked."""
    path = os.path.join(config.output_dir, DATA_FILE)
    saved = read_json(path)
    made_by = (saved or {}).get('tensorflow', tf.__version__)
    if made_by != tf.__version__:  # the stacks draw other numbers: no mixed record
        raise ConfigError('cannot reuse the run in %s: it was made with TensorFlow %s, this is '
                          '%s; choose another folder for this stack\'s runs'
                          % (config.output_dir, made_by, tf.__version__))
    if saved is None and read_json(os.path.join(config.output_dir, DONE_FILE)):
        return  # finished before the check existed
    now = data_fingerprint(config)
    if saved is None:
        os.makedirs(config.output_dir, exist_ok=True)
        write_json(path, dict(sha256=now, tensorflow=tf.__version__))
    elif saved.get('sha256') != now:
        raise ConfigError('cannot reuse the run in %s: the data read from --data-dir %s%s '
                          'changed since it started; remove that folder to train it again on '
                          'the data as it is now, or choose another folder for its runs'
                          % (config.output_dir, config.data_dir,
                             ' or --ood-data-dir %s' % config.ood_data_dir
                             if config.ood_data_dir else ''))


def data_fingerprint(config):
    """sha256 of the arrays the run trains and is scored on, as the job loads
    them from --data-dir and --ood-data-dir ('' for the built-in data): other
    files in those folders do not count."""
    if not (config.data_dir or config.ood_data_dir):
        return ''
    digest = hashlib.sha256()
    for part in run_config.load_datasets(config):
        arrays = [part] if isinstance(part, np.ndarray) else [
            getattr(part, name) for name in getattr(part, '_fields', ())]
        for array in arrays:
            if isinstance(array, np.ndarray):
                digest.update(str((array.dtype.str, array.shape)).encode())
                digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def select(candidates, base, out_dir, log, verbose=False, reuse=False):
    """Trains every candidate on the training part and ranks them on validation.

    Args:
      candidates: list of (name, dict of options overriding `base`).
      base: dict of run options shared by all; must hold a validation split
        (validation_size > 0) so that nothing is chosen on the test set.
      out_dir: the runs go to <out_dir>/<name>.
      log: callable for progress lines.
      verbose, reuse: passed to `run`.

    Returns:
      (name of the best candidate, list of per-candidate records: name,
      options, the validation score and the run's wall time).

    Raises:
      ValueError: `base` has no validation split or the names repeat.
    """
    if not base.get('validation_size'):
        raise ValueError('select: base options need validation_size > 0: candidates are '
                         'ranked on validation data, never on the test set')
    names = [name for name, _ in candidates]
    if len(set(names)) != len(names):
        raise ValueError('select: candidate names repeat: %s' % names)
    records, best = [], None
    for i, (name, options) in enumerate(candidates):
        run_dir = os.path.join(out_dir, name)
        metrics = run(dict(base, output_dir=run_dir, **options), verbose, reuse)
        # The task from what the run measured (a regression run reports
        # val_ll), not from the dataset's name: an npz set can be either.
        key, better = evaluate_lib.selection_score(
            'regression' if 'val_ll' in metrics else 'classification')
        record = dict(name=name, options=options, score_key=key, score=metrics[key],
                      selected_epoch=metrics.get('selected_epoch'),
                      wall_seconds=metrics['wall_seconds'],
                      train_seconds=history_seconds(run_dir, metrics['train_seconds']),
                      epochs=metrics['epochs'])
        records.append(record)
        if best is None or better(record['score'], best['score']):
            best = record
        log('candidate %d/%d %s: %s %.4g after %.1f epochs (%.0f s); best so far %s'
            % (i + 1, len(candidates), name, key, record['score'], metrics['epochs'],
               metrics['wall_seconds'], best['name']))
    return best['name'], records


def validated_options(options):
    """`run_config.validate` applied early, so a bad grid fails before any run;
    returns the `RunConfig`."""
    return run_config.validate(options)


def history_seconds(run_dir, default=None):
    """A run's training wall time over all its processes (resumes included):
    the sum of its epochs' times in history.json (validation and evaluation
    not counted). `default` for a history without epoch times."""
    return epoch_seconds_total(read_json(os.path.join(run_dir, 'history.json')), default)


def epoch_seconds_total(history, default=None):
    """`history_seconds` of a history already read (None: no history)."""
    history = history or {}
    seconds = history.get('epoch_seconds')
    if not seconds or len(seconds) != len(history.get('epoch', [])):
        return default
    return float(sum(seconds))
