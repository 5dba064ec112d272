"""best/best.json never names a deleted checkpoint: the previous best stays
on disk until the record names the new one (a failed record write or a kill
in between leaves the old pair intact)."""
import errno
import glob
import os

import tensorflow.compat.v1 as tf

from tests.training.test_train_job import QUICK, read, run
from tfbnn.cli.train import main
from tfbnn.training import early_stopping, rundir

FLAGS = QUICK + ['--epochs', '3', '--validation-size', '0.2', '--validate-every', '1']


def test_a_failed_best_record_write_keeps_the_checkpoint_it_names(tmp_path, capsys,
                                                                   monkeypatch):
    real_write = early_stopping.write_json
    writes = []

    def write_json(path, obj):
        writes.append(obj)
        if len(writes) == 2:  # the second best: the disk is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
        return real_write(path, obj)
    monkeypatch.setattr(early_stopping, 'write_json', write_json)
    code, out = run(tmp_path, *FLAGS)
    err = capsys.readouterr().err
    assert len(writes) == 2, 'the run improved on validation only once'
    assert code == 2 and err.count('\n') == 1 and 'No space left on device' in err, err
    best = os.path.join(out, rundir.BEST)
    record = read(best, rundir.BEST_RECORD)
    assert record['step'] == writes[0]['step']
    assert glob.glob(os.path.join(out, record['checkpoint'] + '.data-*'))
    assert os.path.exists(os.path.join(out, record['checkpoint'] + '.index'))
    monkeypatch.setattr(early_stopping, 'write_json', real_write)
    code, out = run(tmp_path, *(FLAGS + ['--resume']))
    assert code == 0
    record = read(best, rundir.BEST_RECORD)
    kept = {os.path.basename(p).split('.')[1] for p in glob.glob(os.path.join(best, 'model.*'))}
    assert kept == {os.path.basename(record['checkpoint']).split('.')[1]}
    assert read(out, 'metrics.json')['selected_step'] == record['step']


def test_only_the_best_checkpoint_stays_after_each_improvement(tmp_path):
    code, out = run(tmp_path, *FLAGS)
    assert code == 0
    best = os.path.join(out, rundir.BEST)
    record = read(best, rundir.BEST_RECORD)
    names = {os.path.basename(p) for p in glob.glob(os.path.join(best, 'model.ckpt-*'))}
    prefix = os.path.basename(record['checkpoint'])
    assert names and all(name.startswith(prefix + '.') for name in names)


def test_the_state_file_of_best_lists_only_the_recorded_checkpoint(tmp_path, monkeypatch):
    monkeypatch.chdir(str(tmp_path))  # a relative --output-dir: names stay relative to best/
    assert main(['--output-dir', 'run'] + FLAGS) == 0
    best = os.path.join('run', rundir.BEST)
    record = read(best, rundir.BEST_RECORD)
    assert record['epoch'] > 1, 'no best replaced the one before it'
    state = tf.train.get_checkpoint_state(best)
    assert list(state.all_model_checkpoint_paths) == [os.path.join('run', record['checkpoint'])]
    assert state.model_checkpoint_path == os.path.join('run', record['checkpoint'])
    with open(os.path.join(best, 'checkpoint')) as f:  # by file name: the run may move
        assert '"%s"' % os.path.basename(record['checkpoint']) in f.read()


class _Killed(BaseException):
    """A kill -9 stand-in: nothing of the job handles it."""


def test_a_kill_before_the_checkpoint_after_a_new_best_resumes_with_the_best_before_it(
        tmp_path, monkeypatch):
    """The best of epoch 2 is saved, then the process dies before the
    checkpoint of epoch 2: the resume replays epoch 2 from epoch 1's
    checkpoint. It must start from epoch 1's best (kept on disk until a
    checkpoint covered epoch 2's), not from none, which would take the
    replayed epoch 2 as the best however poor it is."""
    from tfbnn.training import loop
    scores = [0.5, 0.3, 0.6, 0.7]  # epoch 1, epoch 2 (then the kill), epoch 2 again, 3

    def validation_metrics(*args):
        return dict(val_error=scores.pop(0) if scores else 0.9, val_nll=1.0, val_ece=0.0,
                    val_confidence=0.5)
    monkeypatch.setattr(early_stopping.evaluate_lib, 'validation_metrics', validation_metrics)
    real_save = loop.save_checkpoint
    saves = []

    def save_checkpoint(sess, saver, prefix, step, *args, **kwargs):
        saves.append(step)
        if len(saves) == 2:
            raise _Killed()
        return real_save(sess, saver, prefix, step, *args, **kwargs)
    monkeypatch.setattr(loop, 'save_checkpoint', save_checkpoint)
    try:
        run(tmp_path, *FLAGS)
        raise AssertionError('the run was not killed')
    except _Killed:
        pass
    best = os.path.join(str(tmp_path / 'run'), rundir.BEST)
    record = read(best, rundir.BEST_RECORD)
    assert (record['epoch'], [r['epoch'] for r in record['previous']]) == (2, [1])
    code, out = run(tmp_path, *(FLAGS + ['--resume']))
    assert code == 0
    metrics = read(out, 'metrics.json')
    assert metrics['selected_epoch'] == 1
    record = read(best, rundir.BEST_RECORD)
    assert (record['epoch'], record['previous']) == (1, [])  # the run's end covers it
    kept = {os.path.basename(p).split('.')[1] for p in glob.glob(os.path.join(best, 'model.*'))}
    assert kept == {os.path.basename(record['checkpoint']).split('.')[1]}


def test_a_lost_best_record_is_rebuilt_from_its_checkpoint_and_the_history(
        tmp_path, monkeypatch):
    """best.json deleted by hand, best/ kept: the record is rebuilt from the
    history's score at the checkpoint's step (its weights were deleted and a
    later, worse epoch taken before)."""
    scores = [0.3, 0.5, 0.6, 0.7]  # epochs 1-3, then epoch 4 of the resumed run

    def validation_metrics(*args):
        return dict(val_error=scores.pop(0) if scores else 0.9, val_nll=1.0, val_ece=0.0,
                    val_confidence=0.5)
    monkeypatch.setattr(early_stopping.evaluate_lib, 'validation_metrics', validation_metrics)
    code, out = run(tmp_path, *FLAGS)
    assert code == 0
    best = os.path.join(out, rundir.BEST)
    record = read(best, rundir.BEST_RECORD)
    assert record['epoch'] == 1
    os.remove(os.path.join(best, rundir.BEST_RECORD))
    code, out = run(tmp_path, *(FLAGS + ['--epochs', '4', '--resume']))
    assert code == 0
    assert read(out, 'metrics.json')['selected_epoch'] == 1
    assert read(best, rundir.BEST_RECORD) == dict(record, previous=[])
    assert glob.glob(os.path.join(out, record['checkpoint'] + '.index'))
