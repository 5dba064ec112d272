"""--resume refuses data that changed since the run started, even with the
same shapes and classes: dataset.json records a summary of the arrays.
A run written before the fingerprint existed still resumes."""
import json
import os

import numpy as np

from tests.training.test_train_job import QUICK, read, run


def _data(path, scale=1.0, order=None):
    x = np.random.RandomState(0).rand(40, 4).astype(np.float32) * scale
    y = np.arange(40) % 2
    if order is not None:
        x, y = x[order], y[order]
    np.savez(path, x_train=x, y_train=y, x_test=np.zeros((10, 4), np.float32),
             y_test=np.arange(10) % 2)


def _first_run(tmp_path):
    """(data path, the job's flags, run folder) of a finished run on fresh data."""
    path = str(tmp_path / 'data.npz')
    _data(path)
    flags = ['--dataset', 'npz', '--data-dir', path] + QUICK
    assert run(tmp_path, *flags)[0] == 0
    return path, flags, str(tmp_path / 'run')


def test_a_resume_on_other_data_of_the_same_shape_is_refused(tmp_path, capsys):
    path, flags, out = _first_run(tmp_path)
    summary = read(out, 'dataset.json')['summary']
    assert sorted(summary) == ['x_test', 'x_train', 'y_test', 'y_train']
    records = {name: open(os.path.join(out, name)).read()
               for name in ('config.json', 'dataset.json', 'metrics.json')}
    _data(path, scale=2.0)  # same shapes, classes and task; other values
    capsys.readouterr()
    code, _ = run(tmp_path, *(flags + ['--resume', '--epochs', '3']))
    err = capsys.readouterr().err
    assert code == 2 and err.count('\n') == 1, err
    assert ('cannot resume: the data (%s) are not those the saved run was trained on' % path
            in err)
    assert {name: open(os.path.join(out, name)).read() for name in records} == records


def test_the_same_data_and_a_run_without_a_fingerprint_resume(tmp_path, capsys):
    path, flags, out = _first_run(tmp_path)
    assert run(tmp_path, *(flags + ['--resume', '--epochs', '3']))[0] == 0
    meta = read(out, 'dataset.json')
    del meta['summary']  # as an earlier tfbnn wrote it
    with open(os.path.join(out, 'dataset.json'), 'w') as f:
        json.dump(meta, f)
    _data(path, scale=2.0)  # not detectable without the record: the resume goes on
    code, _ = run(tmp_path, *(flags + ['--resume', '--epochs', '4']))
    assert code == 0, capsys.readouterr().err
    assert read(out, 'metrics.json')['resumed_from_step'] > 0
    assert 'summary' in read(out, 'dataset.json')  # rewritten on the resume


def test_float_noise_resumes_and_the_same_rows_in_another_order_do_not(tmp_path, capsys):
    """The summary is compared with a tolerance: a last-bit change (another numpy's
    rounding) passes; a shuffle keeps the mean and std but moves the probed values."""
    path, flags, out = _first_run(tmp_path)
    _data(path, scale=1.0 + 1e-7)
    assert run(tmp_path, *(flags + ['--resume', '--epochs', '3']))[0] == 0
    _data(path, order=np.random.RandomState(3).permutation(40))
    capsys.readouterr()
    code, _ = run(tmp_path, *(flags + ['--resume', '--epochs', '4']))
    err = capsys.readouterr().err
    assert code == 2 and '(x_train, y_train differ from dataset.json' in err, err
