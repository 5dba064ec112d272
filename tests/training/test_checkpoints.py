"""tfbnn/training/checkpoints.py: a failed checkpoint write is one line, leaves
no temporary files, and never touches the checkpoints written before it."""
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tfbnn.errors import CheckpointError
from tfbnn.training import checkpoints, leftovers

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
NO_SPACE = 'No space left on device'


def _saver_module():
    return sys.modules[tf.train.Saver.__module__]


@pytest.fixture
def saved(sess, tmp_path):
    """A variable, its saver, and a complete checkpoint of step 1 holding [1, 2, 3]."""
    var = tf.get_variable('w', initializer=np.array([1.0, 2.0, 3.0], np.float32))
    saver = tf.train.Saver()
    sess.run(var.initializer)
    prefix = os.path.join(str(tmp_path), 'model.ckpt')
    first = checkpoints.save_checkpoint(sess, saver, prefix, 1, None)
    sess.run(var.assign([7.0, 8.0, 9.0]))
    return var, saver, prefix, first


def _files(folder):
    return sorted(os.listdir(folder))


def _assert_intact(sess, var, saver, first):
    """The step-1 checkpoint is listed as it was and restores its values."""
    assert os.path.basename(first) in [
        os.path.basename(p) for p in tf.train.get_checkpoint_state(
            os.path.dirname(first)).all_model_checkpoint_paths]
    saver.restore(sess, first)
    np.testing.assert_array_equal(sess.run(var), [1.0, 2.0, 3.0])


def test_a_full_disk_writing_the_state_leaves_nothing_of_the_new_checkpoint(
        sess, saved, monkeypatch):
    var, saver, prefix, first = saved
    folder = os.path.dirname(prefix)
    management = _saver_module().checkpoint_management

    def full(save_dir, *args, **kwargs):  # the data and index are written; then the disk fills
        with open(os.path.join(save_dir, 'checkpoint.tmp5e1f'), 'w') as f:
            f.write('model_checkpoint_path: "mod')
        raise tf.errors.ResourceExhaustedError(None, None, 'checkpoint.tmp5e1f; ' + NO_SPACE)
    monkeypatch.setattr(management, 'update_checkpoint_state_internal', full)
    with pytest.raises(CheckpointError) as err:
        checkpoints.save_checkpoint(sess, saver, prefix, 2, first)
    assert str(err.value) == (
        'cannot write the checkpoint of step 2 in %s: checkpoint.tmp5e1f; %s; the last complete '
        'checkpoint (%s) is intact: free space, then --resume' % (folder, NO_SPACE, first))
    assert _files(folder) == ['checkpoint', 'model.ckpt-1.data-00000-of-00001',
                              'model.ckpt-1.index', 'model.ckpt-1.meta']
    monkeypatch.undo()
    _assert_intact(sess, var, saver, first)


def test_a_full_disk_writing_the_meta_graph_keeps_the_listed_checkpoint(
        sess, saved, monkeypatch):
    var, saver, prefix, first = saved

    def full(self, filename, *args, **kwargs):
        with open(filename + '.tmp0a9b', 'w') as f:  # TensorFlow's atomic write, cut short
            f.write('partial')
        raise tf.errors.ResourceExhaustedError(None, None, NO_SPACE)
    monkeypatch.setattr(tf.train.Saver, 'export_meta_graph', full)
    with pytest.raises(CheckpointError, match=r"cannot finish the checkpoint of step 2 in .* "
                                              r"\(its .meta graph, or the removal of older "
                                              r"checkpoints\): .*; the step's weights "
                                              r"\(.*model.ckpt-2\) are saved and intact: free "
                                              r"space, then --resume$"):
        checkpoints.save_checkpoint(sess, saver, prefix, 2, first)
    # The state already lists step 2 (TensorFlow updates it before the graph):
    # its data and index restore, so they stay; only the temporary file goes.
    folder = os.path.dirname(prefix)
    assert not [f for f in _files(folder) if '.tmp' in f or 'tempstate' in f]
    assert 'model.ckpt-2.index' in _files(folder)
    monkeypatch.undo()
    _assert_intact(sess, var, saver, first)
    saver.restore(sess, prefix + '-2')
    np.testing.assert_array_equal(sess.run(var), [7.0, 8.0, 9.0])


def test_a_failed_rewrite_of_a_listed_step_keeps_it(sess, saved, monkeypatch):
    var, saver, prefix, first = saved

    def fail(*args, **kwargs):
        raise OSError(28, NO_SPACE)
    monkeypatch.setattr(tf.train.Saver, 'export_meta_graph', fail)
    # (listed before this save: nothing says how far the save got, so the general line)
    with pytest.raises(CheckpointError, match=r'cannot write the checkpoint of step 1 .*the last '
                                              r'complete checkpoint \(.*model.ckpt-1\) is intact'):
        checkpoints.save_checkpoint(sess, saver, prefix, 1, first)  # step 1 again (a signal)
    monkeypatch.undo()
    assert os.path.exists(first + '.index') and os.path.exists(first + '.meta')


def test_the_chiefs_full_disk_is_one_line_and_other_errors_keep_their_type(sess, saved):
    _, _, prefix, first = saved
    folder = os.path.dirname(prefix)
    open(os.path.join(folder, 'model.ckpt-9.data-00000-of-00001.tempstate123'), 'w').close()
    open(os.path.join(folder, 'graph.pbtxt.tmp4f2a'), 'w').close()  # the session's first write
    with pytest.raises(CheckpointError) as err:
        with checkpoints.storage_faults_as_error(folder):
            raise tf.errors.UnknownError(None, None, '%s/model.ckpt-9; %s' % (folder, NO_SPACE))
    assert str(err.value).startswith('cannot write a checkpoint in %s: ' % folder)
    assert str(err.value).endswith('the last complete checkpoint (%s) is intact: free space, '
                                   'then --resume' % first)
    assert not [f for f in _files(folder) if 'tempstate' in f or f.startswith('graph.pbtxt')]
    with pytest.raises(tf.errors.UnknownError):
        with checkpoints.storage_faults_as_error(folder):
            raise tf.errors.UnknownError(None, None, 'something else')


@pytest.mark.parametrize('error,remedy', [
    (tf.errors.PermissionDeniedError(None, None, 'model.ckpt-9.index; Permission denied'),
     'make the folder writable'),
    (tf.errors.FailedPreconditionError(None, None, 'model.ckpt-9; Read-only file system'),
     'make the folder writable'),
    (OSError(122, 'Disk quota exceeded'), 'free space'),
])
def test_the_chiefs_other_storage_faults_are_one_line_with_their_remedy(saved, error, remedy):
    _, _, prefix, first = saved
    folder = os.path.dirname(prefix)
    with pytest.raises(CheckpointError) as err:
        with checkpoints.storage_faults_as_error(folder):
            raise error
    assert str(err.value).endswith('(%s) is intact: %s, then --resume' % (first, remedy))
    assert '\n' not in str(err.value)


def test_a_garbled_state_file_keeps_every_checkpoint_file(tmp_path):
    # Nothing then says which checkpoints are listed: a failed re-save of a
    # listed step must not take its complete files with it.
    folder = str(tmp_path)
    names = ['model.ckpt-5.index', 'model.ckpt-5.data-00000-of-00001', 'model.ckpt-5.meta']
    for name in names + ['checkpoint']:
        with open(os.path.join(folder, name), 'w') as f:
            f.write('model_checkpoint_path: "model.ckpt-5\n{{{' if name == 'checkpoint' else 'x')
    leftovers.remove_leftovers(folder, 'model.ckpt-5')
    assert _files(folder) == sorted(names + ['checkpoint'])


def test_a_fault_the_system_does_not_name_says_to_fix_the_cause():
    err = checkpoints.write_error('/runs/a', OSError(5, 'Input/output error'), None, step=3)
    assert str(err) == ('cannot write the checkpoint of step 3 in /runs/a: [Errno 5] Input/output '
                        'error; the last complete checkpoint (none yet) is intact: fix the '
                        'cause, then --resume')
    err = checkpoints.write_error('/runs/a', OSError(27, 'File too large'), None, step=3)
    assert str(err).endswith('intact: raise the file-size limit (ulimit -f), then --resume')


@pytest.mark.slow
def test_a_real_write_failure_leaves_no_temporary_file(tmp_path):
    """A file-size limit makes the writes fail for real (EFBIG), in a process of its own:
    the variables fit, the meta graph does not."""
    script = textwrap.dedent('''
        import os, resource, signal, sys
        import numpy as np
        import tensorflow.compat.v1 as tf
        from tfbnn.internal.compat import script_setup
        from tfbnn.errors import CheckpointError
        from tfbnn.training import checkpoints
        script_setup()
        folder = sys.argv[1]
        var = tf.get_variable('w', initializer=np.zeros([2], np.float32))
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(var.initializer)
            first = checkpoints.save_checkpoint(sess, saver, folder + '/model.ckpt', 1, None)
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (1000, resource.RLIM_INFINITY))
            try:
                checkpoints.save_checkpoint(sess, saver, folder + '/model.ckpt', 2, first)
            except CheckpointError as err:
                print(err)
    ''')
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL='2',
               PYTHONPATH=os.pathsep.join([REPO, os.environ.get('PYTHONPATH', '')]))
    folder = str(tmp_path)
    done = subprocess.run([sys.executable, '-c', script, folder], env=env, timeout=300,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith('cannot finish the checkpoint of step 2 in %s (its .meta '
                                  'graph, or the removal of older checkpoints): ' % folder)
    assert "the step's weights (%s/model.ckpt-2) are saved and intact" % folder in done.stdout
    assert 'File too large' in done.stdout, done.stdout
    names = _files(folder)
    assert not [f for f in names if '.tmp' in f or 'tempstate' in f], names
    assert {'model.ckpt-1.index', 'model.ckpt-1.meta'} <= set(names)


def test_a_state_rewritten_in_a_folder_named_relative_lists_its_own_files(sess, saved,
                                                                          monkeypatch):
    """TensorFlow stores names relative to the working directory's view of a
    relative folder ('../model.ckpt-1'): `write_state` gives it in full."""
    var, saver, prefix, first = saved
    folder = os.path.dirname(prefix)
    os.remove(os.path.join(folder, 'checkpoint'))  # lost: the checkpoints on disk stand in
    monkeypatch.chdir(os.path.dirname(folder))
    relative = os.path.basename(folder)
    latest = os.path.join(relative, 'model.ckpt-1')
    assert checkpoints.make_latest_intact(latest, relative, print) == latest
    assert tf.train.latest_checkpoint(relative) == latest
    checkpoints.write_state(relative, [latest, latest], 'other')
    with open(os.path.join(relative, 'other')) as f:
        assert f.read().count('"model.ckpt-1"') == 3


def test_the_chief_falls_back_only_for_damage_and_lists_relative_paths(sess, saved, monkeypatch):
    """make_latest_intact: a truncated newest checkpoint gives way to the one
    before, in a state of relative paths (the folder may move); an error that
    is no damage (an I/O fault of the moment) propagates and changes nothing."""
    var, saver, prefix, first = saved
    second = saver.save(sess, prefix, global_step=2)
    folder = os.path.dirname(prefix)
    real_reader = tf.train.NewCheckpointReader

    def unavailable(path):
        if path == second:
            raise tf.errors.UnavailableError(None, None, 'the file server is away')
        return real_reader(path)
    monkeypatch.setattr(tf.train, 'NewCheckpointReader', unavailable)
    with pytest.raises(tf.errors.UnavailableError):
        checkpoints.make_latest_intact(second, folder, print)
    assert tf.train.latest_checkpoint(folder) == second
    monkeypatch.undo()
    data = [f for f in _files(folder) if f.startswith('model.ckpt-2.data')][0]
    with open(os.path.join(folder, data), 'wb') as f:
        f.write(b'cut')
    lines = []
    assert checkpoints.make_latest_intact(second, folder, lines.append) == first
    assert 'skipped damaged checkpoint(s) model.ckpt-2' in lines[0]
    with open(os.path.join(folder, 'checkpoint')) as f:
        text = f.read()
    assert 'model_checkpoint_path: "model.ckpt-1"' in text and folder not in text
    assert tf.train.latest_checkpoint(folder) == first
