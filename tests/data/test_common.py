"""tfbnn/data/_common.py: argument checks, file reading, standardisation."""
import gzip
import os
import pathlib
import re

import numpy as np
import pytest

from tfbnn.data import _common
from tfbnn.errors import ConfigError, DataError


@pytest.mark.parametrize('value,match', [
    (1.5, 'n must be an integer, got 1.5'),
    (True, 'n must be an integer, got True'),
    ('3', "n must be an integer, got '3'"),
    (-1, 'n must be at least 0, got -1'),
    (11, 'n must be at most 10, got 11'),
])
def test_check_int_rejects(value, match):
    with pytest.raises(ConfigError, match='^owner: ' + match):
        _common.check_int('owner', 'n', value, 0, 10)


def test_check_int_accepts_numpy_integers():
    value = _common.check_int('owner', 'n', np.int64(7), 0, 10)
    assert value == 7 and type(value) is int


@pytest.mark.parametrize('value', [0.0, -1.0, float('nan'), float('inf'), True, '1'])
def test_check_positive_rejects(value):
    with pytest.raises(ConfigError, match='owner: scale must be a positive finite number'):
        _common.check_positive('owner', 'scale', value)


def test_check_positive_allow_zero():
    assert _common.check_positive('owner', 'std', 0, allow_zero=True) == 0.0
    with pytest.raises(ConfigError, match='std must be a non-negative finite number'):
        _common.check_positive('owner', 'std', -0.1, allow_zero=True)


def test_check_path():
    assert _common.check_path('o', 'p', pathlib.Path('/a/b')) == '/a/b'
    with pytest.raises(ConfigError, match="o: p must be a path .*got 3"):
        _common.check_path('o', 'p', 3)


def test_one_line_joins_lines_and_names_empty_errors():
    assert _common.one_line(ValueError('a\n  b\tc ')) == 'a b c'
    assert _common.one_line(EOFError()) == 'EOFError'


def test_require_dir(tmp_path):
    _common.require_dir(str(tmp_path), 'x')
    missing = str(tmp_path / 'nope')
    with pytest.raises(DataError, match="nope: no such directory \\(dataset 'x'\\)"):
        _common.require_dir(missing, 'x')
    (tmp_path / 'f').write_text('')
    with pytest.raises(DataError, match="f: not a directory"):
        _common.require_dir(str(tmp_path / 'f'), 'x')


def test_read_bytes_plain_and_gzip(tmp_path):
    payload = bytes(range(256)) * 3
    (tmp_path / 'a').write_bytes(payload)
    with gzip.open(str(tmp_path / 'a.gz'), 'wb') as f:
        f.write(payload)
    assert _common.read_bytes(str(tmp_path / 'a')) == payload
    assert _common.read_bytes(str(tmp_path / 'a.gz')) == payload


def write_gzip(path, payload):
    with gzip.open(str(path), 'wb') as f:
        f.write(payload)
    return path.read_bytes()


def test_read_bytes_errors(tmp_path):
    with pytest.raises(DataError, match='missing.gz: no such file$'):
        _common.read_bytes(str(tmp_path / 'missing.gz'))
    (tmp_path / 'sub').mkdir()
    with pytest.raises(DataError, match='sub: is a directory, not a file'):
        _common.read_bytes(str(tmp_path / 'sub'))

    (tmp_path / 'plain.gz').write_bytes(b'hello, not gzip')
    with pytest.raises(DataError, match='plain.gz: cannot read the file .*Not a gzipped file'):
        _common.read_bytes(str(tmp_path / 'plain.gz'))

    whole = write_gzip(tmp_path / 'full.gz', np.random.RandomState(0).bytes(5000))
    (tmp_path / 'cut.gz').write_bytes(whole[:len(whole) // 2])
    with pytest.raises(DataError, match='cut.gz: truncated gzip file'):
        _common.read_bytes(str(tmp_path / 'cut.gz'))

    corrupt = bytearray(whole)
    corrupt[-8:-4] = bytes(4)  # the CRC-32 of the trailer
    (tmp_path / 'crc.gz').write_bytes(bytes(corrupt))
    with pytest.raises(DataError, match='crc.gz: cannot read the file .*CRC check failed'):
        _common.read_bytes(str(tmp_path / 'crc.gz'))


def test_read_table_skips_blank_lines_and_mixed_whitespace(tmp_path):
    path = tmp_path / 't.txt'
    path.write_text('\n1 2.5\t-3e2 \n\n4\t 5 6\n\n\n')
    table = _common.read_table(str(path))
    np.testing.assert_array_equal(table, [[1, 2.5, -300], [4, 5, 6]])
    assert table.dtype == np.float64


def test_read_table_takes_commas_crlf_and_special_values(tmp_path):
    path = tmp_path / 't.txt'
    path.write_bytes(b'1,2.5,-3e2\r\n4, 5 ,6\r\nnan,inf,-7.25E-1')  # no newline at the end
    table = _common.read_table(str(path))
    np.testing.assert_array_equal(table, [[1, 2.5, -300], [4, 5, 6], [np.nan, np.inf, -0.725]])


@pytest.mark.parametrize('content,table', [
    (b'\xef\xbb\xbf1 2\n3 4\n', [[1, 2], [3, 4]]),
    (b'\xef\xbb\xbf7\r\n', [[7]]),  # an index file saved by a Windows editor
    (b'\xef\xbb\xbf1,2\r\n3,4\r\n', [[1, 2], [3, 4]])])
def test_read_table_skips_a_utf8_byte_order_mark(tmp_path, content, table):
    path = tmp_path / 't.txt'
    path.write_bytes(content)
    np.testing.assert_array_equal(_common.read_table(str(path)), table)
    np.testing.assert_array_equal(_common.read_indices(str(path), 10, 'row'),
                                  np.ravel(table))


@pytest.mark.parametrize('content,match', [
    (b'', 't.txt: the file is empty'),
    (b'\xef\xbb\xbf\n', 't.txt: the file is empty'),
    (b'1 2\n\xef\xbb\xbf3 4\n', 't.txt: not a plain-text table of numbers'),  # only at the start
    (b'\n  \n', 't.txt: the file is empty'),
    (b'1 2\n3 4\n5\n', 't.txt: line 3 has 1 values but line 1 has 2'),
    (b'1 2\n3 x4\n', "t.txt: line 2: cannot read 'x4' as a number"),
    (b'1 2\n3 4\n5 6..1\n', "t.txt: line 3: cannot read '6..1' as a number"),
    (b'1,2,3\n4,,6\n', 't.txt: line 2: an empty field'),  # a missing value
    (b'1,2\n3,4,\n', 't.txt: line 2: an empty field'),
    (b'1 2\n1_000 3\n', "t.txt: line 2: cannot read '1_000' as a number"),
    (b'1 2\n\xff\xfe 4\n', 't.txt: not a plain-text table of numbers'),
])
def test_read_table_errors(tmp_path, content, match):
    path = tmp_path / 't.txt'
    path.write_bytes(content)
    with pytest.raises(DataError, match=match):
        _common.read_table(str(path))


def test_read_indices(tmp_path):
    path = tmp_path / 'i.txt'
    path.write_text('3\n0\n7\n\n')
    indices = _common.read_indices(str(path), 8, 'row')
    np.testing.assert_array_equal(indices, [3, 0, 7])
    assert indices.dtype == np.int64


@pytest.mark.parametrize('content,match', [
    ('', r'i.txt: the file is empty \(no row indices\)'),
    ('1\n2.5\n', 'i.txt: row index 2.5 is not a whole number'),
    ('1\nnan\n', 'i.txt: row index nan is not a whole number'),
    ('1\n8\n', r'i.txt: row index 8 is out of range \(the data has 8 rows, valid indices 0..7\)'),
    ('1\n-1\n', 'i.txt: row index -1 is out of range'),
    ('1\n4\n1\n1\n', 'i.txt: row index 1 is listed 3 times'),
])
def test_read_indices_errors(tmp_path, content, match):
    path = tmp_path / 'i.txt'
    path.write_text(content)
    with pytest.raises(DataError, match=match):
        _common.read_indices(str(path), 8, 'row')


def test_standardize_uses_training_statistics():
    rng = np.random.RandomState(0)
    train = rng.normal(3.0, 2.0, (50, 3))
    train[:, 2] = 4.0  # constant column: divided by 1, not 0
    test = rng.normal(size=(7, 3))
    train_z, test_z, mean, std = _common.standardize(train, test)
    assert train_z.dtype == test_z.dtype == np.float32
    np.testing.assert_allclose(train_z[:, :2].mean(0), 0.0, atol=1e-6)
    np.testing.assert_allclose(train_z[:, :2].std(0), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(train_z[:, 2], 0.0)
    hand_mean = train.sum(0) / 50
    hand_std = np.sqrt(((train - hand_mean) ** 2).sum(0) / 50)  # population std
    hand_std[2] = 1.0
    np.testing.assert_allclose(mean, hand_mean, rtol=1e-12)
    np.testing.assert_allclose(std, hand_std, rtol=1e-12)
    np.testing.assert_allclose(test_z, (test - hand_mean) / hand_std, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize('noise', [False, True])
def test_standardize_a_column_constant_up_to_rounding_is_constant(noise):
    """UCI naval: columns constant at 0.998 get a std of ~2e-14 from the mean's
    rounding; divided by it they would be -1 in training but 0 in a float32 export."""
    rng = np.random.RandomState(0)
    train = np.stack([np.full(1000, 0.998), rng.normal(5.0, 1e-3, 1000)], axis=1)
    if noise:  # values one rounding step apart, as a text file may hold them
        train[:, 0] *= 1 + rng.randint(-1, 2, 1000) * np.finfo(np.float64).eps
    assert 0 < train[:, 0].std() < 1e-10 * 0.998  # the case: not exactly 0
    test = train[:5] + [0.0, 1e-3]
    train_z, test_z, mean, std = _common.standardize(train, test)
    assert std[0] == 1.0 and mean[0] == pytest.approx(0.998, rel=1e-15)
    np.testing.assert_allclose(train_z[:, 0], 0.0, atol=1e-12)
    np.testing.assert_allclose(test_z[:, 0], 0.0, atol=1e-12)
    # A small but real spread (1e-3 around 5, 2e-4 of the values) is standardised.
    assert std[1] == pytest.approx(train[:, 1].std(), rel=1e-12)
    np.testing.assert_allclose(train_z[:, 1].std(), 1.0, rtol=1e-5)


def test_standardize_judges_constancy_against_the_given_scale():
    """Values standardised before (rounding noise around 0) are judged in their
    original units: `scale` is their magnitude there."""
    train = np.array([[1e-16], [-1e-16], [2e-16], [0.0]])
    assert _common.standardize(train, train)[3][0] == pytest.approx(train.std())
    train_z, _, _, std = _common.standardize(train, train, scale=[0.998])
    assert std[0] == 1.0
    np.testing.assert_allclose(train_z, train - train.mean(), atol=0)


def test_not_a_file_says_what_the_path_is(tmp_path):
    os.mkfifo(str(tmp_path / 'pipe'))
    os.symlink(str(tmp_path / 'gone'), str(tmp_path / 'link'))
    (tmp_path / 'file').write_bytes(b'x')
    for name, reason in (('none', 'no such file'), ('.', 'is a directory, not a file'),
                         ('pipe', 'is a named pipe (FIFO), not a regular file'),
                         ('link', 'is a broken symbolic link'), ('file', 'is a file'),
                         ('file/inside', 'cannot be reached (Not a directory)')):
        assert _common.not_a_file(str(tmp_path / name)) == reason
        if reason != 'is a file':
            with pytest.raises(DataError, match='^%s: %s$' % (
                    str(tmp_path / name).replace('.', r'\.'), re.escape(reason))):
                _common.read_bytes(str(tmp_path / name))


@pytest.mark.skipif(os.geteuid() == 0, reason='root enters a folder of mode 0 all the same')
def test_a_folder_that_cannot_be_entered_is_named_so(tmp_path):
    locked = tmp_path / 'locked'
    locked.mkdir()
    locked.chmod(0)
    try:
        assert _common.not_a_file(str(locked / 'data.txt')) == \
            'cannot be reached (Permission denied)'
    finally:
        locked.chmod(0o755)


def test_standardize_names_the_column_whose_test_value_float32_cannot_hold():
    train = np.array([[0., 1.], [1., 3.], [2., 5.]])
    test = np.array([[1., 3.], [1., 2e39]])  # 2e39 / std 1.63 -> 1.2e39 > 3.4e38
    with pytest.raises(DataError, match=r"^t.txt: a test value of column 4 \(0-based\) "
                                        r"\(example 1\) is 1.22e\+39 training standard "
                                        r"deviations .*beyond float32's range: rescale it$"):
        _common.standardize(train, test, source='t.txt', columns=[3, 4])
    z_train, z_test, mean, std = _common.standardize(train, test[:1])
    np.testing.assert_allclose(z_test, [[0., 0.]], atol=1e-7)
