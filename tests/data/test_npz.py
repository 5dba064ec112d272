"""tfbnn/data/npz.py on small archives written with np.savez."""
import os
import pathlib
import re
import subprocess
import sys
import threading
import zipfile

import numpy as np
import pytest

from tfbnn.data.npz import load_npz, load_npz_test_inputs
from tfbnn.errors import DataError


def arrays(**overrides):
    rng = np.random.RandomState(0)
    parts = dict(x_train=rng.randint(0, 9, (6, 2, 3)).astype(np.uint8),
                 y_train=np.array([0, 1, 2, 3, 1, 0]),
                 x_test=rng.rand(4, 2, 3),
                 y_test=np.array([4, 0, 1, 2], np.int32))
    parts.update(overrides)
    return parts


def save(path, **parts):
    np.savez(str(path), **parts)
    return str(path)


def test_classification(tmp_path):
    parts = arrays()
    d = load_npz(save(tmp_path / 'set.npz', **parts))
    assert d.name == 'npz' and d.task == 'classification'
    # The largest label over both splits (4, in the test set) plus one.
    assert d.num_classes == 5
    assert d.input_shape == (2, 3)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == d.y_test.dtype == np.int64
    np.testing.assert_array_equal(d.x_train, parts['x_train'])
    np.testing.assert_array_equal(d.x_test, parts['x_test'].astype(np.float32))
    np.testing.assert_array_equal(d.y_test, [4, 0, 1, 2])
    assert (d.target_mean, d.target_std) == (0.0, 1.0)
    assert d.description.endswith('set.npz: 6 train / 4 test, 5 classes')


def test_regression_targets_standardised(tmp_path):
    y_train = np.array([1.0, 2.0, 4.0, 9.0, -3.0, 5.0])
    y_test = np.array([0.5, 7.0, 2.0, 3.0], np.float32)
    d = load_npz(save(tmp_path / 'r.npz', **arrays(y_train=y_train, y_test=y_test)))
    assert d.task == 'regression' and d.num_classes is None
    mean, std = y_train.sum() / 6, np.sqrt(((y_train - y_train.sum() / 6) ** 2).sum() / 6)
    assert d.target_mean == pytest.approx(mean, rel=1e-12)
    assert d.target_std == pytest.approx(std, rel=1e-12)
    np.testing.assert_allclose(d.y_train, (y_train - mean) / std, rtol=1e-6)
    np.testing.assert_allclose(d.y_test * d.target_std + d.target_mean, y_test, rtol=1e-6)
    # Inputs are left as given.
    np.testing.assert_array_equal(d.x_train, arrays()['x_train'])


def test_folder_with_data_npz_and_path_objects(tmp_path):
    save(tmp_path / 'data.npz', **arrays())
    assert load_npz(str(tmp_path)).num_classes == 5
    assert load_npz(pathlib.Path(tmp_path)).num_classes == 5


def test_rank_one_x_and_column_y(tmp_path):
    d = load_npz(save(tmp_path / 'a.npz', **arrays(
        x_train=np.arange(6.0), x_test=np.arange(4.0),
        y_train=np.arange(6.0)[:, None], y_test=np.arange(4.0)[:, None])))
    assert d.input_shape == (1,)
    assert d.x_train.shape == (6, 1) and d.y_train.shape == (6,)
    np.testing.assert_array_equal(d.x_test[:, 0], [0, 1, 2, 3])


def test_extra_keys_are_ignored_and_named(tmp_path):
    ds = load_npz(save(tmp_path / 'a.npz', y_val=np.zeros(3), notes=np.zeros(3), **arrays()))
    assert ds.num_classes == 5
    assert '(ignored: notes, y_val)' in ds.description  # a user may expect x_val used
    assert '(ignored' not in load_npz(save(tmp_path / 'b.npz', **arrays())).description


def test_missing_path(tmp_path):
    with pytest.raises(DataError, match=r"nope.npz: no such file or directory \(dataset 'npz'\)"):
        load_npz(str(tmp_path / 'nope.npz'))


def test_folder_without_data_npz(tmp_path):
    with pytest.raises(DataError, match=r'data.npz: no such file \(dataset .npz. needs a .npz '
                                        r'file, or a folder holding data.npz\)'):
        load_npz(str(tmp_path))


def _error_of(load, path):
    """The DataError message of `load(path)`; fails the test if `load` blocks
    on a named pipe (after letting it go, so no thread waits for good)."""
    errors = []

    def target():
        try:
            load(path)
        except DataError as err:
            errors.append(str(err))
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(10)
    if thread.is_alive():  # opening the pipe waits for a writer: be one, then fail
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        thread.join(10)
        pytest.fail('%s(%s) read a named pipe, which waits for a writer' % (load.__name__, path))
    return errors[0] if errors else None


@pytest.mark.skipif(not hasattr(os, 'mkfifo'), reason='no named pipes here')
@pytest.mark.parametrize('load', [load_npz, load_npz_test_inputs])
def test_a_named_pipe_is_refused_not_read(tmp_path, load):
    os.mkfifo(str(tmp_path / 'pipe.npz'))
    (tmp_path / 'folder').mkdir()
    os.mkfifo(str(tmp_path / 'folder' / 'data.npz'))
    for given, path in (('pipe.npz', 'pipe.npz'), ('folder', 'folder/data.npz')):
        path = str(tmp_path / path)
        assert _error_of(load, str(tmp_path / given)) == (
            "%s: not a regular file but a named pipe (FIFO) (dataset 'npz' reads a .npz file, "
            "or a folder holding data.npz)" % path)


def test_not_an_archive(tmp_path):
    (tmp_path / 'a.npz').write_text('x_train,y_train\n1,2\n')
    with pytest.raises(DataError, match=r'a.npz: not an .npz archive \(not a zip file\)'):
        load_npz(str(tmp_path / 'a.npz'))
    np.save(str(tmp_path / 'b.npy'), np.zeros(3))
    with pytest.raises(DataError, match=r'b.npy: not an .npz archive \(a single .npy array\)'):
        load_npz(str(tmp_path / 'b.npy'))


def test_truncated_archive(tmp_path):
    path = save(tmp_path / 'a.npz', **arrays())
    data = open(path, 'rb').read()
    with open(path, 'wb') as f:
        f.write(data[:len(data) // 2])
    with pytest.raises(DataError, match=r'a.npz: corrupt .npz archive \(File is not a zip file'):
        load_npz(path)


def test_corrupt_member(tmp_path):
    path = save(tmp_path / 'a.npz', **arrays())
    data = bytearray(open(path, 'rb').read())
    start = data.index(b'x_train.npy') + len('x_train.npy') + 80  # inside its values
    data[start:start + 8] = b'\xff' * 8
    with open(path, 'wb') as f:
        f.write(bytes(data))
    with pytest.raises(DataError, match=r'a.npz: cannot read x_train \(Bad CRC-32'):
        load_npz(path)


def test_a_member_that_is_not_a_npy_array(tmp_path):
    path = str(tmp_path / 'a.npz')
    with zipfile.ZipFile(path, 'w') as archive:
        for key in ('x_train', 'y_train', 'x_test', 'y_test'):
            archive.writestr(key + '.npy', b'not npy')
    with pytest.raises(DataError, match=r'a.npz: x_train is not a .npy array inside the archive'):
        load_npz(path)


def test_a_truncated_archive_says_one_line_and_nothing_else(tmp_path):
    """numpy 1.18's NpzFile, given a file that is no zip, printed a traceback
    when collected: the file is opened as a zip first."""
    path = save(tmp_path / 'a.npz', **arrays())
    with open(path, 'r+b') as f:
        f.truncate(os.path.getsize(path) - 10)
    proc = subprocess.run([sys.executable, '-c', 'import sys\nfrom tfbnn.data.npz import '
                           'load_npz\ntry:\n    load_npz(sys.argv[1])\nexcept Exception as '
                           'err:\n    print(err)', path], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)
    assert 'a.npz: corrupt .npz archive' in proc.stdout
    assert 'Traceback' not in proc.stderr and 'Exception ignored' not in proc.stderr, proc.stderr


class Explodes(object):
    """Unpickling this would run code; allow_pickle=False must refuse first."""

    def __reduce__(self):
        return (os.remove, ('/nonexistent/should-never-run',))


def test_object_arrays_are_refused_not_unpickled(tmp_path):
    labels = np.empty(6, object)
    labels[:] = [Explodes()] * 6
    path = save(tmp_path / 'a.npz', **arrays(y_train=labels))
    with pytest.raises(DataError, match='a.npz: y_train is an object array; it would need '
                                        'unpickling, which is refused'):
        load_npz(path)


@pytest.mark.parametrize('overrides,match', [
    (dict(y_train=np.array(list('abcdef'))), r'y_train has dtype <U1; expected integer class '
                                             r'labels or floating-point regression targets'),
    (dict(y_test=np.array([True, False, True, True])), 'y_test has dtype bool'),
    (dict(y_test=np.arange(4.0)), 'y_train has dtype int64 but y_test float64; both must be '
                                  'integer'),
    (dict(x_test=np.zeros(4, complex)), 'x_test has dtype complex128; expected numbers'),
    (dict(x_train=np.float32(3)), r'x_train is a scalar; expected shape \[N, ...\]'),
    (dict(y_train=np.zeros((6, 2), int)), r'y_train has shape \[6, 2\]; expected \[N\] '
                                          r'\(or \[N, 1\]\)'),
    (dict(x_test=np.zeros((4, 3, 2))),
     r'examples of x_train have shape \[2, 3\] but those of x_test \[3, 2\]'),
    (dict(y_train=np.array([0, 1, 2, 3, 1])), 'x_train has 6 examples but y_train has 5'),
    (dict(x_test=np.zeros((0, 2, 3)), y_test=np.zeros(0, int)),
     r'x_test is empty \(test set with no examples\)'),
    (dict(y_train=np.zeros(0, int)), r'y_train is empty \(training set with no examples\)'),
    (dict(y_test=np.array([1, -1, 0, 0])), r'y_test\[1\] = -1 is a negative class label'),
    (dict(y_train=np.zeros(6, int), y_test=np.zeros(4, int)),
     'every label is 0; classification needs at least two classes'),
    (dict(y_train=np.array([0, 1, 2, 3, 1, 2 ** 40])),
     r'the largest label is 1099511627776, which would make 1099511627777 classes \(at most '
     r'100000\): labels are 0..C-1; renumber them'),
    (dict(x_train=np.zeros((6, 0)), x_test=np.zeros((4, 0))),
     r'examples of x_train have shape \[0\]: no input values'),
    (dict(x_train=np.full((6, 2, 3), 1e300)),
     r'x_train holds values up to 1e\+300, beyond float32'),
    (dict(x_test=np.full((4, 2, 3), np.nan)),
     r'x_test has 24 non-finite values \(NaN or inf\), the first in example 0'),
    (dict(y_train=np.array([0, 1, 2, 3, np.inf, 0]), y_test=np.arange(4.0)),
     r'y_train has 1 non-finite values \(NaN or inf\), the first in example 4'),
])
def test_bad_contents(tmp_path, overrides, match):
    path = save(tmp_path / 'bad.npz', **arrays(**overrides))
    with pytest.raises(DataError, match='bad.npz: ' + match):
        load_npz(path)


def test_missing_keys(tmp_path):
    parts = arrays()
    del parts['y_test'], parts['x_test']
    with pytest.raises(DataError, match=r'a.npz: missing array\(s\) x_test, y_test '
                                        r'\(the archive has: x_train, y_train\)'):
        load_npz(save(tmp_path / 'a.npz', **parts))


def test_x_test_alone_makes_an_ood_set(tmp_path):
    x_test = np.arange(12, dtype=np.uint8).reshape(3, 2, 2)
    ood = load_npz_test_inputs(save(tmp_path / 'ood.npz', x_test=x_test))
    assert ood.name == 'npz_ood' and ood.input_shape == (2, 2) and ood.num_classes == 2
    assert ood.x_test.dtype == np.float32
    np.testing.assert_array_equal(ood.x_test, x_test)
    np.testing.assert_array_equal(ood.x_train, np.zeros((1, 2, 2)))
    assert ood.y_test.tolist() == [0, 0, 0] and ood.y_train.tolist() == [0]
    assert ood.description == 'out-of-distribution inputs x_test of %s: 3' % (tmp_path / 'ood.npz')
    # The other arrays, when there, are never read, so labels of any dtype do.
    save(tmp_path / 'data.npz', **arrays(y_test=np.array(['a', 'b', 'c', 'd'])))
    np.testing.assert_array_equal(load_npz_test_inputs(str(tmp_path)).x_test,
                                  arrays()['x_test'].astype(np.float32))
    rank_one = load_npz_test_inputs(save(tmp_path / 'r.npz', x_test=np.array([0.5, 2.0])))
    assert rank_one.x_test.tolist() == [[0.5], [2.0]]


def test_x_test_alone_errors(tmp_path):
    labels = np.empty(3, object)
    for parts, message in [
            (dict(x_train=np.zeros((2, 3))),
             r'missing array\(s\) x_test \(the archive has: x_train\)'),
            (dict(x_test=np.zeros((0, 3))), r'x_test is empty \(test set with no examples\)'),
            (dict(x_test=np.array([[0.0, np.inf]])),
             r'x_test has 1 non-finite values \(NaN or inf\), the first in example 0'),
            (dict(x_test=np.float32(3)), r'x_test is a scalar; expected shape \[N, ...\]'),
            (dict(x_test=labels), 'x_test is an object array; it would need unpickling, which '
                                  'is refused'),
            (dict(x_test=np.array(['a'])), 'x_test has dtype <U1; expected numbers')]:
        path = save(tmp_path / 'bad.npz', **parts)
        with pytest.raises(DataError, match='^%s: %s' % (re.escape(path), message)):
            load_npz_test_inputs(path)
    with pytest.raises(DataError, match=r"nope.npz: no such file or directory \(dataset 'npz'\)"):
        load_npz_test_inputs(str(tmp_path / 'nope.npz'))


def test_an_array_header_declaring_more_than_memory_is_one_line(tmp_path):
    """numpy allocates the shape a .npy header declares before reading it."""
    import zipfile
    path = save(tmp_path / 'a.npz', **arrays())
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    header = members['x_train.npy']
    start = header.index(b"'shape': (") + len(b"'shape': (")
    end = header.index(b')', start)
    members['x_train.npy'] = header[:start] + b'1000000000000, 4' + header[end:]
    with zipfile.ZipFile(path, 'w') as z:
        for name, data in members.items():
            z.writestr(name, data)
    with pytest.raises(DataError, match=r'a.npz: cannot read x_train: its header declares more '
                                        r'data than memory holds \(.*\); a damaged file\?$'):
        load_npz(path)


def _set_in_headers(path, offsets_and_value):
    """Writes a 2-byte little-endian field into every local (PK\\3\\4) and
    central (PK\\1\\2) zip header: (offset in the local, in the central, value)."""
    data = bytearray(open(path, 'rb').read())
    local, central, value = offsets_and_value
    for signature, offset in ((b'PK\x03\x04', local), (b'PK\x01\x02', central)):
        at = data.find(signature)
        while at >= 0:
            data[at + offset:at + offset + 2] = value.to_bytes(2, 'little')
            at = data.find(signature, at + 4)
    with open(path, 'wb') as f:
        f.write(bytes(data))


@pytest.mark.parametrize('field,reason', [
    # Deflate64, which Python's zipfile lacks (3.13 words it otherwise)
    ((8, 10, 9), '(compression type 9|compression method is not supported)'),
    ((6, 8, 1), 'is encrypted, password required')])  # the encryption flag
@pytest.mark.parametrize('load', [load_npz, load_npz_test_inputs])
def test_an_archive_python_cannot_unpack_is_one_line(tmp_path, field, reason, load):
    path = save(tmp_path / 'odd.npz', **arrays())
    _set_in_headers(path, field)
    with pytest.raises(DataError, match=r'odd.npz: cannot read x_\w+ \(.*%s.*; save the archive '
                                        r'with np.savez or np.savez_compressed\)$' % reason):
        load(path)


def test_a_test_target_beyond_float32_after_standardising_is_named(tmp_path):
    rng = np.random.RandomState(0)
    path = save(tmp_path / 'big.npz', x_train=rng.rand(30, 2), y_train=rng.randn(30),
                x_test=rng.rand(9, 2), y_test=np.r_[0.5, 1e45, np.zeros(7)])
    with pytest.raises(DataError, match=r"big.npz: a test value of the target \(example 1\) is "
                                        r"1.\d+e\+45 training standard deviations from the "
                                        r"training mean, beyond float32's range: rescale it$"):
        load_npz(path)
    path = save(tmp_path / 'huge.npz', x_train=rng.rand(30, 2), y_train=1e300 * rng.randn(30),
                x_test=rng.rand(9, 2), y_test=rng.randn(9))
    with pytest.raises(DataError, match='^%s: the mean or std of the target over the training '
                                        'rows overflows float64' % re.escape(path)):
        load_npz(path)
