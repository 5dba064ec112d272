"""tfbnn/training/rundir.py: the one logger (RunLog) of the jobs."""
import errno
import io
import os
import re

import pytest

from tfbnn.errors import CheckpointError
from tfbnn.training import rundir


def test_log_prints_and_appends_to_train_log(tmp_path):
    stream = io.StringIO()
    log = rundir.RunLog(str(tmp_path), stream)
    log('one')
    log('two')
    assert stream.getvalue() == 'one\ntwo\n'
    assert (tmp_path / rundir.TRAIN_LOG).read_text() == 'one\ntwo\n'


def test_log_without_a_folder_only_prints(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    stream = io.StringIO()
    log = rundir.RunLog(None, stream)
    log('worker1 done')
    assert stream.getvalue() == 'worker1 done\n'
    assert log.path is None and list(tmp_path.iterdir()) == []


def test_log_prefixes_elapsed_time_and_appends_to_file(tmp_path):
    stream = io.StringIO()
    log = rundir.RunLog(str(tmp_path), stream, name='log.txt', timestamps=True)
    log('hello')
    assert stream.getvalue() == '[0:00:00] hello\n'
    assert (tmp_path / 'log.txt').read_text() == '[0:00:00] hello\n'


def test_log_timestamps_count_hours_minutes_and_seconds(tmp_path, monkeypatch):
    stream = io.StringIO()
    log = rundir.RunLog(None, stream, timestamps=True)
    monkeypatch.setattr(rundir.time, 'time', lambda: log.start + 3723.9)  # 1 h 2 min 3.9 s
    log('later')
    assert stream.getvalue() == '[1:02:03] later\n'


def test_checkpoint_step_reads_the_step_from_the_path():
    assert rundir.checkpoint_step('/runs/a-b/model.ckpt-552') == 552
    assert rundir.checkpoint_step(None) is None


def test_a_run_folder_that_cannot_be_made_or_written_is_named_in_one_line(tmp_path, monkeypatch):
    with pytest.raises(CheckpointError, match='^cannot create --output-dir /dev/null/run: '):
        with rundir.claim('/dev/null/run'):
            pass
    (tmp_path / 'afile').write_text('')
    with pytest.raises(CheckpointError, match='^--output-dir %s is not a directory \\(a file '
                                              'of that name is there\\)$'
                                              % re.escape(str(tmp_path / 'afile'))):
        with rundir.claim(str(tmp_path / 'afile')):
            pass

    def read_only(path, *args, **kwargs):  # as a read-only mount, even for root
        raise PermissionError(errno.EROFS, os.strerror(errno.EROFS), path)
    monkeypatch.setattr(rundir, 'open', read_only, raising=False)
    out = str(tmp_path / 'output')
    with pytest.raises(CheckpointError, match='^cannot write in --output-dir %s: Read-only file '
                                              'system$' % re.escape(out)):
        with rundir.claim(out):
            pass
