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
