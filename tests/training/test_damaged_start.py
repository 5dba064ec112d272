"""--warm-start and --init-from a checkpoint whose .data file is cut short:
one line and exit status 2 (as --resume says it), not TensorFlow's error
from the session's initialiser."""
import glob
import os

import numpy as np
import pytest
import tensorflow.compat.v1 as tf

from tests.training.test_train_job import QUICK, run


def _damaged_checkpoint(folder):
    """A checkpoint whose .data file holds its first 100 bytes only."""
    graph = tf.Graph()
    with graph.as_default():
        tf.get_variable('model/fc1/kernel_loc', initializer=np.ones((64, 16), np.float32))
        tf.get_variable('model/fc1/bias', initializer=np.ones((16,), np.float32))
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            prefix = saver.save(sess, os.path.join(str(folder), 'model.ckpt'), global_step=7)
    data = glob.glob(prefix + '.data-*')[0]
    with open(data, 'rb') as f:
        head = f.read(100)
    with open(data, 'wb') as f:
        f.write(head)
    return prefix


@pytest.mark.parametrize('flag', ['--warm-start', '--init-from'])
def test_a_truncated_checkpoint_to_start_from_is_one_line(tmp_path, capsys, flag):
    prefix = _damaged_checkpoint(tmp_path)
    code, out = run(tmp_path, *(QUICK + [flag, prefix]))
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1 and 'Traceback' not in err, err
    assert err.startswith('tfbnn-train: error: %s: cannot restore %s: ' % (flag, prefix)), err
    assert not glob.glob(os.path.join(out, 'model.ckpt-*'))


def test_a_truncated_warm_start_run_dir_is_one_line(tmp_path, capsys):
    code, source = run(tmp_path, *QUICK, name='source')
    assert code == 0
    for data in glob.glob(os.path.join(source, 'model.ckpt-*.data-*')):
        with open(data, 'r+b') as f:
            f.truncate(100)
    capsys.readouterr()
    code, _ = run(tmp_path, *(QUICK + ['--warm-start', source]))
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1 and 'Traceback' not in err, err
    assert '--warm-start: cannot restore %s' % os.path.join(source, 'model.ckpt-24') in err
