"""Early stopping on the validation split (--validate-every, --patience).

Every `validate_every` epochs (and at the last step) the predictive is
scored on the validation examples; the best-scoring weights are kept in
<run>/best/ and evaluated at the end. With `patience` P, training stops after
P validations in a row without improvement. The test split plays no part
in the choice.
"""
import os
import re

import tensorflow.compat.v1 as tf

from tfbnn.errors import CheckpointError
from tfbnn.internal.jsonio import read_json, write_json
from tfbnn.training import evaluate as evaluate_lib
from tfbnn.training import rundir
from tfbnn.training.checkpoints import restore_checkpoint, save_checkpoint, write_state

__all__ = ['BestCheckpoint', 'best_saver']

# The state file of best/ (what its saver lists), beside best.json.
_STATE = 'checkpoint'


def best_saver():
    """The `tf.train.Saver` of the best weights (`TrainGraph.best_saver`), in the default graph.

    It keeps two: the previous best stays on disk until best/best.json names
    the new one (`BestCheckpoint.check` deletes it then), so a failed write
    or a kill in between leaves a record whose checkpoint exists.
    """
    return tf.train.Saver(max_to_keep=2, save_relative_paths=True)


class BestCheckpoint(object):
    """The best weights on the validation split so far, and when to stop.

    A resumed run reads best/best.json; a best checkpoint newer than the step
    it resumes from belongs to a future that is being replayed, so it is
    dropped and found again. The bests it replaced stay on disk (the
    record's `previous`) until a checkpoint of the run covers the new one:
    the run resumes with the best it had reached by its step, not with none
    (the replayed future's first validation would otherwise be taken as the
    best, however poor).

    Args:
      graph: `tfbnn.training.graph.TrainGraph` with a `best_saver`.
      dataset: `tfbnn.data.Dataset` with a validation split.
      config: `tfbnn.run_config.RunConfig` (validate_every, patience, output_dir).
      step: the step training starts from.
      history: the history so far (the validations before a resume count
        towards --patience).
    """

    def __init__(self, graph, dataset, config, step, history):
        self.graph, self.dataset, self.config = graph, dataset, config
        self.key, self.better = evaluate_lib.selection_score(dataset.task)
        self.folder = os.path.join(config.output_dir, rundir.BEST)
        self.every, self.total = config.validate_every, graph.total_steps
        self.saver = graph.best_saver
        os.makedirs(self.folder, exist_ok=True)
        record = read_json(os.path.join(self.folder, rundir.BEST_RECORD))
        if record is None:  # lost (deleted by hand): its checkpoints and the history say it
            record = self._rebuilt(step, history)
            if record is not None:
                write_json(os.path.join(self.folder, rundir.BEST_RECORD), record)
        # The step of the run's newest checkpoint: a resume starts at or after it.
        self.covered = step
        self.record = next((r for r in _chain(record) if r['step'] <= step), None)
        if record and self.record is None:
            # The record of a future being replayed goes before its files, so
            # that no best.json ever names a deleted checkpoint.
            os.remove(os.path.join(self.folder, rundir.BEST_RECORD))
        elif record and self.record is not record:
            write_json(os.path.join(self.folder, rundir.BEST_RECORD), self.record)
        self._remove_stale_checkpoints()
        self.saved(step)  # the bests the record replaced: a resume starts after them
        # Validations since the best one (what --patience counts), also
        # across a resume: the history holds the scores logged so far.
        # Without a record (dropped with a replayed future, or best/ moved
        # aside) nothing is stale: the next validation is the best.
        self.stale = 0 if self.record is None else sum(
            1 for e, v in zip(history.get('epoch', []), history.get(self.key, []))
            if v is not None and e > self.record['epoch'])

    def _rebuilt(self, step, history):
        """The record of the best checkpoint in best/ that the history scored
        (at its step, no later than `step`), or None: best.json lost, its
        weights kept. A checkpoint the history has no score of (a kill before
        its epoch was logged) is replayed."""
        scored = {s: (e, v) for e, s, v in zip(history.get('epoch', []), history.get('step', []),
                                                history.get(self.key, [])) if v is not None}
        found = None
        for name in sorted(os.listdir(self.folder)):
            match = re.fullmatch(re.escape(rundir.CHECKPOINT_PREFIX) + r'-(\d+)\.index', name)
            at = int(match.group(1)) if match else None
            if at is None or at > step or at not in scored:
                continue
            stem = name[:-len('.index')]
            epoch, value = scored[at]
            if found is None or self.better(value, found['value']):
                found = dict(step=at, epoch=epoch, key=self.key, value=value, previous=[],
                             checkpoint=os.path.relpath(os.path.join(self.folder, stem),
                                                        self.config.output_dir))
        return found

    def _remove_stale_checkpoints(self):
        """Deletes the checkpoints in best/ other than the recorded one (and
        the bests it keeps as `previous`), and the state file's names of them.

        The saver deletes only checkpoints it wrote, and keeps the previous
        best until best.json names the new one: the best weights of an
        earlier process (before a --resume), of a replayed future, or the
        previous best would stay on disk for good. Runs after best.json is
        written, so the record never names a deleted checkpoint. The state
        file (best/checkpoint; the job reads best.json) is then rewritten to
        list the recorded ones alone, or removed with the last checkpoint.
        """
        # A checkpoint's files are <prefix>-<step>.<suffix>.
        kept = [r['checkpoint'] for r in reversed(_chain(self.record))]
        keep = tuple(os.path.basename(path) + '.' for path in kept)
        for name in os.listdir(self.folder):
            if name.startswith(rundir.CHECKPOINT_PREFIX + '-') and not name.startswith(keep):
                os.remove(os.path.join(self.folder, name))
        state = os.path.join(self.folder, _STATE)
        if self.record:
            write_state(self.folder, kept, _STATE)
        elif os.path.exists(state):
            os.remove(state)

    def saved(self, step):
        """Called once the run's checkpoint of `step` is written: the bests
        that the record replaced are no longer needed by a resume."""
        self.covered = step
        if self.record and self.record.get('previous') and self.record['step'] <= step:
            self.record = dict(self.record, previous=[])
            write_json(os.path.join(self.folder, rundir.BEST_RECORD), self.record)
            self._remove_stale_checkpoints()

    def exhausted(self):
        """True once --patience validations in a row brought no improvement."""
        return (bool(self.config.patience) and self.record is not None
                and self.stale >= self.config.patience)

    def stopping_line(self, epoch):
        """The log line of a run that stops early at `epoch`."""
        return ('tfbnn: early stopping at epoch %d: no better %s in the last %d validations '
                '(best at epoch %d)' % (epoch, self.key, self.config.patience,
                                        self.record['epoch']))

    def check(self, sess, epoch, step, log):
        """Scores the current weights if this epoch is due; returns the
        validation metrics for the history (None values on other epochs)."""
        keys = ('val_rmse', 'val_ll') if self.dataset.task == 'regression' \
            else ('val_error', 'val_nll', 'val_ece', 'val_confidence')
        if epoch % self.every and step != self.total:
            return dict.fromkeys(keys)
        scores = evaluate_lib.validation_metrics(sess, self.graph, self.dataset, self.config)
        value = scores[self.key]
        improved = self.record is None or self.better(value, self.record['value'])
        self.stale = 0 if improved else self.stale + 1
        if improved:
            path = save_checkpoint(sess, self.saver,
                                   os.path.join(self.folder, rundir.CHECKPOINT_PREFIX), step,
                                   self.record and self.record['checkpoint'],
                                   latest_filename=_STATE)
            # What a resume from the run's newest checkpoint would take as
            # its best, should this process die before its next checkpoint.
            previous = []
            for older in _chain(self.record):
                previous.append(dict(older, previous=[]))
                if older['step'] <= self.covered:
                    break
            self.record = dict(step=step, epoch=epoch, key=self.key, value=value,
                               checkpoint=os.path.relpath(path, self.config.output_dir),
                               previous=previous)
            write_json(os.path.join(self.folder, rundir.BEST_RECORD), self.record)
            self._remove_stale_checkpoints()  # the previous best, now that no record names it
            self.saver.recover_last_checkpoints([path])  # its next save deletes only this one
        log('validation at epoch %d: %s%s' % (
            epoch, ' | '.join('%s %.4g' % (k, v) for k, v in sorted(scores.items())),
            ' (best so far, saved)' if improved else ' (best: %.4g at epoch %d)' % (
                self.record['value'], self.record['epoch'])))
        return scores

    def restore(self, sess, log):
        """Loads the best weights into `sess`; returns what metrics.json
        records of the choice (empty before the first validation)."""
        if self.record is None:
            return {}
        path = os.path.join(self.config.output_dir, self.record['checkpoint'])
        try:
            restore_checkpoint(sess, self.saver, path)
        except CheckpointError as err:
            raise CheckpointError('%s; the run\'s choice on validation is lost with it: move %s '
                                  'aside to evaluate the last weights instead, then --resume'
                                  % (err, os.path.dirname(path)))
        log('tfbnn: early stopping: evaluating the weights of epoch %d (step %d), the best '
            '%s on the validation split (%.4g)' % (self.record['epoch'], self.record['step'],
                                                    self.key, self.record['value']))
        return dict(selected_epoch=self.record['epoch'], selected_step=self.record['step'],
                    selected_on=self.key)


def _chain(record):
    """`record`, then the bests it replaced (newest first); [] for None."""
    return [record] + list(record.get('previous', ())) if record else []
