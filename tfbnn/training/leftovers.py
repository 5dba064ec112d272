"""What a failed or cut-short checkpoint save leaves in a run's folder, and its clean-up.

`tf.train.Saver.save` writes a checkpoint's files under temporary names,
lists the new checkpoint in the folder's state, deletes the checkpoints
beyond its `max_to_keep` (for each, the .meta, then the .index, then the
data) and writes the new .meta last. A write fault (`remove_leftovers`) or a
kill (`finish_cut_saves`, on `--resume`) can stop it anywhere in between. A
checkpoint the folder's state lists is never deleted here.
"""
import os
import re
import shutil

import tensorflow.compat.v1 as tf

from tfbnn.errors import cause_line
from tfbnn.training import rundir

__all__ = ['remove_leftovers', 'finish_cut_saves']

# A checkpoint's files: '<prefix>-<step>' then .index, .meta or .data-NNNNN-of-NNNNN.
_PART = re.compile(r'^(%s-(\d+))\.(index|meta|data-\d{5}-of-\d{5})$'
                   % re.escape(rundir.CHECKPOINT_PREFIX))

# The graph the cluster chief's session writes beside its first checkpoint.
_GRAPH = 'graph.pbtxt'

# TensorFlow's temporary names while it writes: the bundle's
# '<file>.tempstate<n>', an atomic write's '<file>.tmp<hex>' (the .meta graph,
# the state file, graph.pbtxt) and a sharded save's '<prefix>_temp_<hex>/' folder.
_TEMPORARY = re.compile(r'\.tempstate\d*$|\.tmp[0-9a-f]*$|_temp_[0-9a-f]+$')


def _listed(folder, latest_filename='checkpoint'):
    """The file names ('model.ckpt-24') the folder's state lists: an empty set
    without a state file, None for one that cannot be read (then nothing says
    which checkpoints TensorFlow meant to keep, and nothing is deleted)."""
    try:
        state = tf.train.get_checkpoint_state(folder, latest_filename)
    except (tf.errors.OpError, ValueError):
        return None
    if state is None:  # (TF 1.15 returns None for a garbled file too)
        return None if os.path.exists(os.path.join(folder, latest_filename)) else set()
    return {os.path.basename(p) for p in state.all_model_checkpoint_paths}


def _entries(folder):
    try:
        return os.listdir(folder)
    except OSError:
        return []


def _remove(path):
    """Best effort: the caller's message still says what happened."""
    if os.path.isdir(path):
        shutil.rmtree(path, ignore_errors=True)
        return
    try:
        os.remove(path)
    except OSError:
        pass


def remove_leftovers(folder, name=None, latest_filename='checkpoint'):
    """Deletes what a failed checkpoint write left in `folder`.

    Args:
      folder: the checkpoint folder.
      name: the failed checkpoint's file name prefix ('model.ckpt-24'): its
        temporary files go, and its other files too unless the folder's
        state lists it (an earlier complete save of the same step). None: a
        write of unknown step; the temporary files of every checkpoint (and
        of the cluster chief's graph.pbtxt) go.
      latest_filename: the state file's name (its temporary copies go too).
    """
    listed = _listed(folder, latest_filename)
    if listed is None:
        return  # a damaged state: touch nothing
    for entry in _entries(folder):
        temporary = _TEMPORARY.search(entry) is not None
        if entry.startswith(latest_filename + '.tmp'):  # the state file, half written
            doomed = temporary
        elif name is None:
            doomed = temporary and entry.startswith((rundir.CHECKPOINT_PREFIX + '-', _GRAPH))
        else:
            doomed = (entry.startswith(name + '.') or entry.startswith(name + '_temp_')) and (
                temporary or name not in listed)
        if doomed:
            _remove(os.path.join(folder, entry))


def finish_cut_saves(folder, saver, restored, log):
    """Finishes what a kill cut short in a save of `saver` to `folder`.

    - A checkpoint older than every listed one and than the restored one,
      unlisted, and without its .meta or .index was being deleted: its files
      go. One with every file is left alone (it may be one the user keeps),
      and so is the restored one (a resume past damaged checkpoints may
      restore a half-deleted one: it is then the run's only intact one).
      Without a readable state, nothing goes.
    - The restored checkpoint, when it lies in `folder`, without a .meta
      gets it from `saver`'s graph (the graph the run rebuilt), for
      `tf.train.import_meta_graph`. A write fault there is one line in
      `log`: the next save says more.

    Args:
      folder: the checkpoint folder.
      saver: the `tf.train.Saver` that writes there, in the default graph.
      restored: the checkpoint path just restored.
      log: callable taking one line.
    """
    listed = _listed(folder) or set()
    kept = [name.rsplit('-', 1)[-1] for name in listed | {os.path.basename(restored)}]
    oldest_kept = min((int(step) for step in kept if step.isdigit()), default=-1)
    parts = {}
    for entry in _entries(folder) if listed else []:
        match = _PART.match(entry)
        if match:
            parts.setdefault(match.group(1), []).append((entry, match.group(3).split('-')[0]))
    for name, files in sorted(parts.items()):
        kinds = {kind for _, kind in files}
        if name not in listed and rundir.checkpoint_step(name) < oldest_kept and not (
                {'meta', 'index'} <= kinds):
            for entry, _ in files:
                _remove(os.path.join(folder, entry))
    meta = restored + '.meta'
    inside = os.path.dirname(os.path.abspath(restored)) == os.path.abspath(folder)
    if inside and not os.path.exists(meta):
        try:
            saver.export_meta_graph(meta)
        except (tf.errors.OpError, OSError) as err:
            log('tfbnn: could not write %s, which a kill left missing: %s'
                % (meta, cause_line(err)))
