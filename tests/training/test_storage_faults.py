"""Storage faults: a full disk while a checkpoint, a plot or a record is
written, and a damaged latest checkpoint on --resume. One line and exit 2, or
the run goes on from the newest intact checkpoint; finished work is never
lost. And SIGTERM outside the loop (a container's `docker stop`)."""
import errno
import glob
import os
import signal
import time

import pytest
import tensorflow.compat.v1 as tf
from matplotlib.figure import Figure

from tests.training.test_train_job import QUICK, read, run
from tfbnn.cli import train as train_cli

NO_SPACE = 'No space left on device'


def test_a_full_disk_at_a_checkpoint_is_one_line_and_keeps_the_last_one(tmp_path, capsys,
                                                                         monkeypatch):
    real_save = tf.train.Saver.save
    calls = []

    def save(self, sess, prefix, *args, **kwargs):
        calls.append(prefix)
        if len(calls) == 2:  # the end of epoch 2: the disk is full
            raise tf.errors.ResourceExhaustedError(None, None, '%s; %s' % (prefix, NO_SPACE))
        return real_save(self, sess, prefix, *args, **kwargs)
    monkeypatch.setattr(tf.train.Saver, 'save', save)
    code, out = run(tmp_path, *(QUICK + ['--epochs', '3']))
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1 and 'Traceback' not in err
    assert 'cannot write the checkpoint of step 24 in %s' % out in err
    assert NO_SPACE in err and 'model.ckpt-12) is intact: free space, then --resume' in err
    monkeypatch.setattr(tf.train.Saver, 'save', real_save)
    # The space is back: --resume continues from epoch 1's checkpoint.
    code, out = run(tmp_path, *(QUICK + ['--epochs', '3', '--resume']))
    assert code == 0
    assert read(out, 'metrics.json')['resumed_from_step'] == 12
    assert read(out, 'history.json')['epoch'] == [1, 2, 3]


def test_resume_skips_a_truncated_latest_checkpoint(tmp_path, capsys):
    code, out = run(tmp_path, *(QUICK + ['--epochs', '3']))
    assert code == 0
    data = glob.glob(os.path.join(out, 'model.ckpt-36.data-*'))[0]
    with open(data, 'rb') as f:
        head = f.read(100)
    with open(data, 'wb') as f:  # cut to 100 bytes, as a full disk or a killed copy leaves it
        f.write(head)
    capsys.readouterr()
    code, out = run(tmp_path, *(QUICK + ['--epochs', '4', '--resume']))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert 'skipped damaged checkpoint(s) model.ckpt-36' in captured.out
    assert 'resuming from %s' % os.path.join(out, 'model.ckpt-24') in captured.out
    metrics = read(out, 'metrics.json')
    assert metrics['resumed_from_step'] == 24 and metrics['steps'] == 48
    assert read(out, 'history.json')['epoch'] == [1, 2, 3, 4]


def _no_state(out):
    os.remove(os.path.join(out, 'checkpoint'))


def _newest_gone(out):
    for path in glob.glob(os.path.join(out, 'model.ckpt-24.*')):
        os.remove(path)


def _garbled_state(out):
    with open(os.path.join(out, 'checkpoint'), 'w') as f:
        f.write('model_checkpoint_path: "model.ckpt-24"\nall_model_che\x00')


def _empty_state(out):
    open(os.path.join(out, 'checkpoint'), 'w').close()  # a power loss's leftover


@pytest.mark.parametrize('damage,step', [(_no_state, 24), (_newest_gone, 12),
                                         (_garbled_state, 24), (_empty_state, 24)])
def test_resume_finds_the_checkpoints_the_state_does_not_name(tmp_path, capsys, damage, step):
    """A lost or unparsable state file, or a newest checkpoint whose files are
    gone: TensorFlow then names no checkpoint, and the run used to start over
    (exit 0) over the intact ones. It resumes from the newest on disk."""
    code, out = run(tmp_path, *QUICK)
    assert code == 0
    damage(out)
    capsys.readouterr()
    code, out = run(tmp_path, *(QUICK + ['--epochs', '3', '--resume']))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert 'resuming from %s' % os.path.join(out, 'model.ckpt-%d' % step) in captured.out
    assert read(out, 'metrics.json')['resumed_from_step'] == step
    assert read(out, 'history.json')['epoch'] == [1, 2, 3]
    from tfbnn.cli.export import main as export_main
    assert export_main([out, '--mode', 'mean', '--no-saved-model']) == 0


def test_resume_with_every_checkpoint_damaged_is_one_line(tmp_path, capsys):
    code, out = run(tmp_path, *QUICK)
    assert code == 0
    for data in glob.glob(os.path.join(out, 'model.ckpt-*.data-*')):
        open(data, 'wb').close()
    capsys.readouterr()
    code, _ = run(tmp_path, *(QUICK + ['--epochs', '3', '--resume']))
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1 and 'Traceback' not in err
    assert 'cannot restore %s' % os.path.join(out, 'model.ckpt-24') in err
    assert 'no older checkpoint restores either' in err
    assert read(out, 'config.json')['epochs'] == 2  # the refused resume wrote nothing


def test_a_full_disk_after_training_is_one_line_and_leaves_no_half_image(
        tmp_path, capsys, monkeypatch):
    """Plots and records after the loop: the same one line, no partial file, and
    --resume (which finds the run trained) writes them."""
    real_savefig = Figure.savefig

    def savefig(self, path, *args, **kwargs):
        with open(path, 'wb') as f:
            f.write(b'\x89PNG half')
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), path)
    monkeypatch.setattr(Figure, 'savefig', savefig)
    code, out = run(tmp_path, *QUICK)
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1 and 'Traceback' not in err, err
    assert NO_SPACE in err and 'the checkpoints already saved are intact: free space, then run ' \
                               'the same command with --resume' in err
    assert '.png: %s' % NO_SPACE in err  # the image's name, not its temporary one
    assert not glob.glob(os.path.join(out, '*.png*'))
    monkeypatch.setattr(Figure, 'savefig', real_savefig)
    code, out = run(tmp_path, *(QUICK + ['--resume']))
    assert code == 0 and read(out, 'metrics.json')['resumed_from_step'] == 24
    assert os.path.getsize(os.path.join(out, 'reliability.png')) > 1000


@pytest.mark.parametrize('code_name', ['EIO', 'EPERM'])
def test_any_os_error_writing_a_run_file_is_one_line(tmp_path, capsys, monkeypatch, code_name):
    """Not only the storage faults `storage_remedy` knows: an I/O error, or a
    file made immutable (chattr +i gives EPERM), name the file, exit 2."""
    number = getattr(errno, code_name)

    def savefig(self, path, *args, **kwargs):
        raise OSError(number, os.strerror(number))  # a write's error names no file
    monkeypatch.setattr(Figure, 'savefig', savefig)
    code, out = run(tmp_path, *QUICK)
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1 and 'Traceback' not in err, err
    assert '.png: %s; the checkpoints already saved are intact: fix the cause' \
        % os.strerror(number) in err


def test_a_train_log_that_cannot_be_written_names_it(tmp_path, capsys, monkeypatch):
    from tfbnn.training import rundir

    class Failing(object):
        def __enter__(self):
            return self

        def __exit__(self, *args):
            return False

        def write(self, text):
            raise OSError(errno.EIO, os.strerror(errno.EIO))  # names no file

    def fake_open(path, mode='r', *args, **kwargs):
        if str(path).endswith(rundir.TRAIN_LOG):
            return Failing()
        return open(path, mode, *args, **kwargs)
    monkeypatch.setattr(rundir, 'open', fake_open, raising=False)
    code, out = run(tmp_path, *QUICK)
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1 and 'Traceback' not in err, err
    assert '%s: Input/output error' % os.path.join(out, rundir.TRAIN_LOG) in err


def test_an_os_error_that_is_no_storage_fault_keeps_its_traceback(tmp_path, monkeypatch):
    """A bug's traceback stays (a bad file descriptor): only storage faults are one line."""
    error = OSError(errno.EBADF, os.strerror(errno.EBADF), 'a.png')

    def savefig(self, path, *args, **kwargs):
        raise error
    monkeypatch.setattr(Figure, 'savefig', savefig)
    with pytest.raises(OSError, match=error.strerror):
        run(tmp_path, *QUICK)


def test_sigterm_outside_the_loop_interrupts_as_ctrl_c():
    """As PID 1 of a container a default SIGTERM is ignored: tfbnn-train handles it."""
    previous = train_cli.sigterm_interrupts()
    try:
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)
    finally:
        signal.signal(signal.SIGTERM, previous)


def test_events_that_cannot_be_written_are_one_line(tmp_path, capsys, monkeypatch):
    """TF 2.x raises a failed events write (here a file-size limit) when the
    writer closes, after training: one line, and --resume finishes the run."""
    real_close = tf.summary.FileWriter.close

    def close(self):
        real_close(self)
        raise IndexError('%s/events.out.tfevents.1; File too large' % self.get_logdir())
    monkeypatch.setattr(tf.summary.FileWriter, 'close', close)
    code, out = run(tmp_path, *QUICK)
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1 and 'Traceback' not in err
    assert 'the TensorBoard events were not all written' in err
    assert 'raise the file-size limit (ulimit -f), then run the same command with --resume' in err
    assert os.path.exists(os.path.join(out, 'metrics.json'))
    monkeypatch.setattr(tf.summary.FileWriter, 'close', real_close)
    code, out = run(tmp_path, *(QUICK + ['--resume']))
    assert code == 0 and read(out, 'metrics.json')['completed']


def test_a_truncated_events_file_is_one_line(tmp_path, capsys, monkeypatch):
    """TF 1.15 drops a failed events write's status: the file read back
    tells; one line, exit 2, and --resume finishes the run."""
    real_close = tf.summary.FileWriter.close

    def close(self):
        real_close(self)
        path = sorted(glob.glob(os.path.join(self.get_logdir(), 'events.out.tfevents.*')))[-1]
        with open(path, 'r+b') as f:  # the last record cut short, as a full disk leaves it
            f.truncate(os.path.getsize(path) - 3)
    monkeypatch.setattr(tf.summary.FileWriter, 'close', close)
    code, out = run(tmp_path, *QUICK)
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1 and 'Traceback' not in err, err
    assert 'the TensorBoard events were not all written (truncated record' in err
    assert 'metrics.json and the other records were written' in err
    assert read(out, 'metrics.json')['completed']  # the finished evaluation is kept
    monkeypatch.setattr(tf.summary.FileWriter, 'close', real_close)
    code, out = run(tmp_path, *(QUICK + ['--resume']))
    assert code == 0 and read(out, 'metrics.json')['completed']


def test_events_cut_by_a_file_size_limit_are_one_line(tmp_path):
    """`ulimit -f`: the events file stops at the limit (the checkpoints fit)."""
    import resource
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    limit = 700 * 1024

    def set_limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    proc = subprocess.run(
        [sys.executable, os.path.join(root, 'scripts', 'train.py'), '--epochs', '2',
         '--eval-samples', '4', '--progress', 'never', '--output-dir', str(tmp_path / 'run')],
        preexec_fn=set_limit, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        universal_newlines=True)
    errors = [line for line in proc.stderr.splitlines() if line.startswith('tfbnn-train')]
    # (TF 2.x's own writer thread prints its failed flush; the job itself has no traceback.)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.count('Traceback') == proc.stderr.count('Exception in thread'), proc.stderr
    assert proc.stderr.rstrip().splitlines()[-1] == errors[-1]
    assert len(errors) == 1 and 'the TensorBoard events were not all written' in errors[0]
    assert 'File too large' in errors[0] and 'raise the file-size limit (ulimit -f)' in errors[0]


def test_a_damaged_early_stopping_checkpoint_says_what_to_do(tmp_path, capsys):
    flags = QUICK + ['--validation-size', '0.2', '--validate-every', '1']
    code, out = run(tmp_path, *flags)
    assert code == 0
    for data in glob.glob(os.path.join(out, 'best', 'model.ckpt-*.data-*')):
        open(data, 'wb').close()
    os.remove(os.path.join(out, 'metrics.json'))  # so the resume evaluates again
    capsys.readouterr()
    code, _ = run(tmp_path, *(flags + ['--resume']))
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1
    assert ("the run's choice on validation is lost with it: move %s aside to evaluate the "
            'last weights instead, then --resume' % os.path.join(out, 'best')) in err
    os.rename(os.path.join(out, 'best'), str(tmp_path / 'aside'))
    code, _ = run(tmp_path, *(flags + ['--resume']))
    assert code == 0 and read(out, 'metrics.json')['completed']


def test_a_resume_removes_the_temporary_files_a_kill_left(tmp_path):
    code, out = run(tmp_path, *QUICK)
    assert code == 0
    left = [os.path.join(out, name) for name in (
        'checkpoint.tmp5f3a', 'model.ckpt-36.data-00000-of-00001.tempstate123',
        'model.ckpt-36.meta.tmp9c1d')]
    for path in left:
        open(path, 'w').close()
    code, out = run(tmp_path, *(QUICK + ['--epochs', '3', '--resume']))
    assert code == 0
    assert not any(os.path.exists(path) for path in left)
    assert read(out, 'metrics.json')['resumed_from_step'] == 24


def test_a_resume_without_its_history_says_the_earlier_epochs_are_lost(tmp_path, capsys):
    code, out = run(tmp_path, *QUICK)
    assert code == 0
    os.remove(os.path.join(out, 'history.json'))
    capsys.readouterr()
    code, out = run(tmp_path, *(QUICK + ['--epochs', '3', '--resume']))
    assert code == 0
    assert ('history.json is missing, so the epochs before this checkpoint are not in the new '
            'one') in capsys.readouterr().out
    assert read(out, 'history.json')['epoch'] == [3]


def test_resume_finishes_the_deletions_and_the_meta_graph_a_kill_cut_short(tmp_path, capsys):
    """tf.train.Saver.save lists the new weights, deletes the checkpoints
    beyond --keep-checkpoints (.meta, .index, then data) and writes the new
    .meta last; a kill in between left files no save ever deleted, and a
    listed checkpoint that import_meta_graph could not read."""
    code, out = run(tmp_path, *(QUICK + ['--epochs', '3', '--keep-checkpoints', '2']))
    assert code == 0
    files = {kind: glob.glob(os.path.join(out, 'model.ckpt-24.' + kind + '*'))[0]
             for kind in ('index', 'data', 'meta')}

    def copy(step, kinds):
        for kind in kinds:
            with open(files[kind], 'rb') as f, open(files[kind].replace(
                    'model.ckpt-24', 'model.ckpt-%d' % step), 'wb') as g:
                g.write(f.read())
    copy(6, ('index', 'data'))           # killed after its .meta went
    copy(7, ('data',))                   # ... after its .index went
    copy(8, ('index', 'data', 'meta'))   # whole and unlisted: perhaps kept on purpose
    copy(40, ('data',))                  # newer than the listed ones: not a deletion's
    os.remove(os.path.join(out, 'model.ckpt-36.meta'))  # killed before the .meta
    code, out = run(tmp_path, *(QUICK + ['--epochs', '4', '--keep-checkpoints', '2',
                                         '--resume']))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    left = sorted(os.path.basename(p).split('.')[1] for p in glob.glob(
        os.path.join(out, 'model.ckpt-*')))
    assert left == ['ckpt-36', 'ckpt-36', 'ckpt-36', 'ckpt-40', 'ckpt-48', 'ckpt-48', 'ckpt-48',
                    'ckpt-8', 'ckpt-8', 'ckpt-8'], left
    with tf.Graph().as_default(), tf.Session() as sess:
        tf.train.import_meta_graph(os.path.join(out, 'model.ckpt-36.meta')).restore(
            sess, os.path.join(out, 'model.ckpt-36'))
        assert sess.run(tf.train.get_global_step()) == 36


@pytest.mark.parametrize('name,remedy', [
    ('history.json', 'the earlier epochs are then not in the new one'),
    ('metrics.json', 'the epochs done are then counted from the checkpoint'),
    ('dataset.json', "the data is then not checked against the run's"),
    ('config.json', None)])
def test_a_damaged_run_record_on_resume_is_one_line_with_a_remedy(tmp_path, capsys, name,
                                                                  remedy):
    code, out = run(tmp_path, *QUICK)
    assert code == 0
    path = os.path.join(out, name)
    with open(path) as f:
        text = f.read()
    with open(path, 'w') as f:
        f.write(text[:len(text) // 2])  # a copy or an editor cut short
    capsys.readouterr()
    code, _ = run(tmp_path, *(QUICK + ['--epochs', '3', '--resume']))
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1 and 'Traceback' not in err, err
    assert err.startswith('tfbnn-train: error: cannot read %s: ' % path), err
    if remedy is None:
        assert err.rstrip().endswith('put back a copy of it, or start the run again in a new '
                                     'folder'), err
        return
    assert err.rstrip().endswith('move it aside to --resume without it: ' + remedy), err
    os.rename(path, path + '.damaged')
    code, _ = run(tmp_path, *(QUICK + ['--epochs', '3', '--resume']))
    assert code == 0, capsys.readouterr().err
    assert read(out, 'metrics.json')['resumed_from_step'] == 24


def test_resume_keeps_the_half_deleted_checkpoint_it_resumes_from(tmp_path, capsys):
    """Past damaged listed checkpoints, a resume may restore one a kill left
    half-deleted (its .meta gone): it is then the run's only intact one."""
    code, out = run(tmp_path, *(QUICK + ['--epochs', '1', '--keep-checkpoints', '2']))
    assert code == 0
    kept = {}
    for path in glob.glob(os.path.join(out, 'model.ckpt-12.*')):
        with open(path, 'rb') as f:
            kept[path] = f.read()
    code, out = run(tmp_path, *(QUICK + ['--epochs', '3', '--keep-checkpoints', '2',
                                         '--resume']))
    assert code == 0 and not glob.glob(os.path.join(out, 'model.ckpt-12.*'))
    for path, data in kept.items():
        if not path.endswith('.meta'):  # killed after TensorFlow deleted the .meta
            with open(path, 'wb') as f:
                f.write(data)
    for step in (24, 36):  # both listed ones cut short
        data = glob.glob(os.path.join(out, 'model.ckpt-%d.data-*' % step))[0]
        with open(data, 'r+b') as f:
            f.truncate(10)
    capsys.readouterr()
    code, out = run(tmp_path, *(QUICK + ['--epochs', '3', '--keep-checkpoints', '2',
                                         '--resume']))
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert 'resuming from %s' % os.path.join(out, 'model.ckpt-12') in captured.out
    assert read(out, 'metrics.json')['resumed_from_step'] == 12
    # (the state never listed it, so the saver leaves it too)
    assert sorted(os.path.basename(p).split('.', 2)[2][:4] for p in glob.glob(
        os.path.join(out, 'model.ckpt-12.*'))) == ['data', 'inde', 'meta']


def test_a_run_record_that_cannot_be_read_keeps_the_systems_reason_alone(tmp_path, capsys):
    """Moving aside is the remedy for a damaged record, not for a read fault."""
    code, out = run(tmp_path, *QUICK)
    assert code == 0
    path = os.path.join(out, 'history.json')
    os.remove(path)
    os.mkdir(path)  # open() fails: IsADirectoryError, as a permission or I/O fault would
    capsys.readouterr()
    code, _ = run(tmp_path, *(QUICK + ['--epochs', '3', '--resume']))
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1, err
    assert err.startswith('tfbnn-train: error: cannot read %s: [Errno 21] Is a directory' % path)
    assert 'move it aside' not in err
