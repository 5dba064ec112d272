"""tfbnn/cli/reproduce.py: a storage fault is one line and exit status 2."""
import errno
import os

from tfbnn.cli import reproduce


def test_an_out_that_is_a_file_is_one_line(tmp_path, capsys):
    path = tmp_path / 'passwd'
    path.write_text('root:x:0:0\n')
    code = reproduce.main(['--out', str(path), 'report'])
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1 and 'Traceback' not in err, err
    assert err == ('tfbnn-reproduce: error: --out %s is a file: give a folder for the runs and '
                   'records\n' % path)
    assert path.read_text() == 'root:x:0:0\n'


def test_a_full_disk_in_an_experiment_is_one_line(tmp_path, capsys, monkeypatch):
    out = str(tmp_path / 'out')
    record = os.path.join(out, 'probes', 'pruning_good.json')

    def full(args, log):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), record + '.tmp')
    monkeypatch.setitem(reproduce._EXPERIMENTS, 'report', full)
    code = reproduce.main(['--out', out, 'report'])
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1 and 'Traceback' not in err, err
    assert ('%s: No space left on device; free space, then run the same command again to '
            'continue (the runs and records already finished in --out are kept)' % record) in err


def test_a_read_only_out_is_one_line(tmp_path, capsys, monkeypatch):
    out = str(tmp_path / 'ro' / 'out')

    def makedirs(path, *args, **kwargs):
        raise OSError(errno.EROFS, os.strerror(errno.EROFS), path)
    monkeypatch.setattr(reproduce.os, 'makedirs', makedirs)
    code = reproduce.main(['--out', out, 'report'])
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1, err
    assert '%s: Read-only file system' % out in err and 'make the folder writable' in err


def test_a_checkpoint_fault_advises_the_same_command_not_resume(tmp_path, capsys, monkeypatch):
    """The job's advice ('then --resume') is not this command's."""
    from tfbnn.training.checkpoints import write_error

    def full(args, log):
        raise write_error(str(tmp_path), OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)), None)
    monkeypatch.setitem(reproduce._EXPERIMENTS, 'report', full)
    assert reproduce.main(['--out', str(tmp_path / 'out'), 'report']) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and '--resume' not in err, err
    assert err.endswith('the last complete checkpoint (none yet) is intact: free space, then run '
                        'the same command again to continue\n'), err
