"""tfbnn/data/uci.py on a 12-row folder in Hernandez-Lobato & Adams' format."""
import os
import warnings

import numpy as np
import pytest

from tfbnn.data.load import load_dataset
from tfbnn.data.uci import load_uci
from tfbnn.errors import ConfigError, DataError

FEATURES = [0, 1, 2]
TARGET = 3  # column 4 is in the table but unused
TRAIN = [[8, 0, 11, 3, 6, 2, 9, 5], [10, 1, 5, 11, 4, 8, 2, 7]]  # in random order, as published
TEST = [[1, 4, 7, 10], [0, 3, 6, 9]]


def table():
    rng = np.random.RandomState(0)
    data = np.round(rng.normal(size=(12, 5)) * [1.0, 10.0, 0.0, 3.0, 1.0] + [0, 5, 2.5, 20, 0],
                    3)
    data[:, 2] = 2.5  # a constant feature: standardised with std 1, so all 0
    return data


def write_lines(path, values):
    with open(str(path), 'w') as f:
        f.write(''.join('%s\n' % v for v in values))


@pytest.fixture
def uci_dir(tmp_path):
    folder = tmp_path / 'yacht'
    folder.mkdir()
    with open(str(folder / 'data.txt'), 'w') as f:
        for row in table():
            f.write(' \t'.join('%.3f' % v for v in row) + ' \n')
        f.write('\n')  # trailing blank line, as in the published files
    write_lines(folder / 'index_features.txt', FEATURES)
    write_lines(folder / 'index_target.txt', [TARGET])
    for k in range(2):
        write_lines(folder / ('index_train_%d.txt' % k), TRAIN[k])
        write_lines(folder / ('index_test_%d.txt' % k), TEST[k])
    return str(folder)


@pytest.mark.parametrize('split', [0, 1])
def test_standardises_with_training_statistics(uci_dir, split):
    data = table()
    train, test = data[TRAIN[split]], data[TEST[split]]
    d = load_uci(uci_dir, split=split)
    assert d.name == 'uci' and d.task == 'regression' and d.num_classes is None
    assert d.input_shape == (3,)
    assert d.x_train.shape == (8, 3) and d.x_test.shape == (4, 3)
    assert d.x_train.dtype == d.y_train.dtype == np.float32

    # Training features: mean 0, std 1 (the constant column stays 0).
    np.testing.assert_allclose(d.x_train[:, :2].mean(0), 0.0, atol=1e-6)
    np.testing.assert_allclose(d.x_train[:, :2].std(0), 1.0, rtol=1e-6)
    np.testing.assert_array_equal(d.x_train[:, 2], 0.0)
    np.testing.assert_array_equal(d.x_test[:, 2], 0.0)
    # Test features by hand from the training rows' population statistics.
    mean = train[:, :2].sum(0) / 8
    std = np.sqrt(((train[:, :2] - mean) ** 2).sum(0) / 8)
    np.testing.assert_allclose(d.x_test[:, :2], (test[:, :2] - mean) / std, rtol=1e-5, atol=1e-6)

    y_mean = train[:, TARGET].sum() / 8
    y_std = np.sqrt(((train[:, TARGET] - y_mean) ** 2).sum() / 8)
    assert d.target_mean == pytest.approx(y_mean, rel=1e-12)
    assert d.target_std == pytest.approx(y_std, rel=1e-12)
    assert d.y_train.mean() == pytest.approx(0.0, abs=1e-6)
    assert d.y_train.std() == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(d.y_test, (test[:, TARGET] - y_mean) / y_std, rtol=1e-5)
    # Round trip back to the original units.
    np.testing.assert_allclose(d.y_test * d.target_std + d.target_mean, test[:, TARGET],
                               rtol=1e-6, atol=1e-5)
    assert d.description == ("UCI regression 'yacht' split %d (Hernandez-Lobato & Adams "
                             "format): 8 train / 4 test, 3 features" % split)


def test_original_layout_names_the_set(tmp_path, uci_dir):
    nested = tmp_path / 'energy'
    nested.mkdir()
    os.rename(uci_dir, str(nested / 'data'))
    assert "'energy' split 0" in load_uci(str(nested / 'data')).description


@pytest.mark.parametrize('split', [0, 1])
def test_the_folder_above_the_published_data_folder_is_accepted(tmp_path, uci_dir, split):
    """--dataset uci --data-dir energy, its files in energy/data (Gal's layout),
    as `reproduce uci` takes them; a folder of its own splits keeps them."""
    inner = load_uci(uci_dir, split)
    nested = tmp_path / 'energy'
    nested.mkdir()
    os.rename(uci_dir, str(nested / 'data'))
    d = load_dataset('uci', str(nested), split)
    assert d.description == inner.description.replace("'yacht'", "'energy'")
    for key in ('x_train', 'y_train', 'x_test', 'y_test', 'input_mean', 'input_std'):
        np.testing.assert_array_equal(getattr(d, key), getattr(inner, key))
    (nested / 'index_train_0.txt').write_text('0\n')  # the top folder's own split wins
    with pytest.raises(DataError, match='index_test_0.txt: no such file'):
        load_uci(str(nested))


def test_a_utf8_byte_order_mark_is_skipped(uci_dir):
    before = load_uci(uci_dir, 1)
    for name in ('data.txt', 'index_features.txt', 'index_target.txt', 'index_train_1.txt',
                 'index_test_1.txt'):
        path = os.path.join(uci_dir, name)
        with open(path, 'rb') as f:
            text = f.read()
        with open(path, 'wb') as f:
            f.write(b'\xef\xbb\xbf' + text.replace(b'\n', b'\r\n'))
    after = load_uci(uci_dir, 1)
    for key in ('x_train', 'y_train', 'x_test', 'y_test', 'input_mean', 'input_std'):
        np.testing.assert_array_equal(getattr(after, key), getattr(before, key))


def test_nan_in_unused_column_is_fine(uci_dir):
    data = table()
    data[3, 4] = np.nan
    np.savetxt(os.path.join(uci_dir, 'data.txt'), data)
    assert np.all(np.isfinite(load_uci(uci_dir).x_train))


def test_bad_split_argument(uci_dir):
    with pytest.raises(ConfigError, match="uci: split must be an integer, got '0'"):
        load_uci(uci_dir, split='0')


def test_missing_directory(tmp_path):
    with pytest.raises(DataError, match="nope: no such directory \\(dataset 'uci'\\)"):
        load_uci(str(tmp_path / 'nope'))


@pytest.mark.parametrize('name', ['data.txt', 'index_features.txt', 'index_target.txt'])
def test_missing_file(uci_dir, name):
    os.remove(os.path.join(uci_dir, name))
    with pytest.raises(DataError, match='%s: no such file$' % name):
        load_uci(uci_dir)


def test_split_out_of_range(uci_dir):
    with pytest.raises(DataError, match=r'index_train_2.txt: no such file: split 2 is out of '
                                        r'range \(this folder has splits 0..1\)'):
        load_uci(uci_dir, split=2)
    with pytest.raises(DataError, match=r'yacht: split -1 is out of range \(split numbers '
                                        r'start at 0; this folder has splits 0..1\)'):
        load_uci(uci_dir, split=-1)
    for name in ('index_train_1.txt', 'index_test_1.txt'):
        os.remove(os.path.join(uci_dir, name))
    with pytest.raises(DataError, match=r'split 1 is out of range \(this folder has one split, '
                                        r'0\)'):
        load_uci(uci_dir, split=1)


def test_no_splits_at_all(uci_dir):
    for k in range(2):
        os.remove(os.path.join(uci_dir, 'index_train_%d.txt' % k))
    with pytest.raises(DataError, match='this folder has no index_train_K.txt files'):
        load_uci(uci_dir)


def test_missing_test_split_file(uci_dir):
    os.remove(os.path.join(uci_dir, 'index_test_1.txt'))
    with pytest.raises(DataError, match=r'index_test_1.txt: no such file \(the test rows of '
                                        r'split 1 are missing\)'):
        load_uci(uci_dir, split=1)


def rewrite(folder, name, text):
    with open(os.path.join(folder, name), 'w') as f:
        f.write(text)


@pytest.mark.parametrize('name,text,match', [
    ('data.txt', '', 'data.txt: the file is empty'),
    ('data.txt', '1 2 3 4 5\n1 2 3 4 5\n1 2 3 4\n', 'data.txt: line 3 has 4 values but line 1 '
                                                    'has 5'),
    ('data.txt', '1 2 3 4 5\n1 2 abc 4 5\n', "data.txt: line 2: cannot read 'abc' as a number"),
    ('index_features.txt', '0\n5\n', r'index_features.txt: column index 5 is out of range '
                                     r'\(the data has 5 columns'),
    ('index_features.txt', '0\n1\n1\n', 'index_features.txt: column index 1 is listed 2 times'),
    ('index_target.txt', '3\n4\n', 'index_target.txt: expected one target column, found 2'),
    ('index_target.txt', '2\n', 'index_target.txt: target column 2 is also listed in '
                                'index_features.txt'),
    ('index_train_0.txt', '', r'index_train_0.txt: the file is empty \(no row indices\)'),
    ('index_test_0.txt', '\n\n', r'index_test_0.txt: the file is empty \(no row indices\)'),
    ('index_train_0.txt', '0\n12\n', r'index_train_0.txt: row index 12 is out of range \(the '
                                     r'data has 12 rows, valid indices 0..11\)'),
    ('index_train_0.txt', '0\n-3\n', 'index_train_0.txt: row index -3 is out of range'),
    ('index_test_0.txt', '1\n4.5\n', 'index_test_0.txt: row index 4.5 is not a whole number'),
    ('index_train_0.txt', '0\n2\n2\n', 'index_train_0.txt: row index 2 is listed 2 times'),
    ('index_test_0.txt', '1\n4\n2\n', 'index_test_0.txt: 1 rows are also in index_train_0.txt, '
                                      'e.g. row 2'),
])
def test_bad_files(uci_dir, name, text, match):
    rewrite(uci_dir, name, text)
    with pytest.raises(DataError, match=match):
        load_uci(uci_dir)


@pytest.mark.parametrize('row,column,value', [(5, 1, 'nan'), (4, 3, 'inf'), (10, 0, '-inf')])
def test_non_finite_values(uci_dir, row, column, value):
    lines = open(os.path.join(uci_dir, 'data.txt')).read().splitlines()
    fields = lines[row].split()
    fields[column] = value
    lines[row] = ' '.join(fields)
    rewrite(uci_dir, 'data.txt', '\n'.join(lines))
    with pytest.raises(DataError, match=r'data.txt: non-finite value %s in data row %d, '
                                        r'column %d \(0-based\)' % (value, row, column)):
        load_uci(uci_dir)


@pytest.mark.parametrize('column', ['feature', 'target'])
def test_values_whose_statistics_overflow_are_named_not_called_non_finite(uci_dir, column):
    """+-1e308 are finite, but their mean or std is not: one line naming the column."""
    index = FEATURES[1] if column == 'feature' else TARGET
    data = table()
    data[:, index] = 1.5e308 * np.where(np.arange(len(data)) % 2, 1.0, -1.0)
    with open(os.path.join(uci_dir, 'data.txt'), 'w') as f:
        f.write(''.join(' '.join('%.17g' % v for v in row) + '\n' for row in data))
    name = 'column %d \\(0-based\\)' % index if column == 'feature' else 'the target'
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # and no RuntimeWarning on the way
        with pytest.raises(DataError, match=r'data.txt: the mean or std of %s over the training '
                                            r'rows overflows float64 \(largest \|value\| '
                                            r'1.5e\+308\): rescale it$' % name):
            load_uci(uci_dir)


def test_the_table_is_read_once_while_the_file_is_unchanged(uci_dir, monkeypatch):
    from tfbnn.data import uci
    reads = []
    real = uci.read_table
    monkeypatch.setattr(uci, 'read_table', lambda path: reads.append(path) or real(path))
    first = load_uci(uci_dir, split=0)
    np.testing.assert_array_equal(load_uci(uci_dir, split=0).x_train, first.x_train)
    load_uci(uci_dir, split=1)
    assert len(reads) == 1
    data = table()
    data[:, TARGET] *= 2  # an edited file (new size or time) is read again
    path = os.path.join(uci_dir, 'data.txt')
    np.savetxt(path, data, fmt='%.4f')
    os.utime(path, ns=(0, os.stat(path).st_mtime_ns + 10 ** 9))
    again = load_uci(uci_dir, split=0)
    assert len(reads) == 2
    assert again.target_std == pytest.approx(2 * first.target_std, rel=1e-3)


def test_the_sorted_order_test_by_hand():
    from tfbnn.data.uci import in_sorted_order
    assert in_sorted_order(np.arange(100)) and in_sorted_order(np.arange(100)[::-1])
    nearly = np.arange(100)
    nearly[[10, 11, 50, 51]] = nearly[[11, 10, 51, 50]]  # 2 of 99 pairs fall: share 0.98
    assert in_sorted_order(nearly)
    # Two sorted halves one after the other: 98 of 99 pairs rise, sorted too.
    assert in_sorted_order(np.concatenate([np.arange(50, 100), np.arange(50)]))
    assert not in_sorted_order(np.arange(9))  # fewer than 10 rows say little
    assert not in_sorted_order(np.full(20, 5))  # ties neither rise nor fall
    # Unsigned indices do not wrap around in the comparison.
    rng = np.random.RandomState(0)
    assert not in_sorted_order(rng.permutation(100).astype(np.uint32))
    # A permutation's share of rising pairs is 1/2 +- 0.29 / sqrt(n): none of 2,000 of
    # 30 rows reaches 0.9 (that is 7 standard deviations).
    assert not any(in_sorted_order(rng.permutation(30)) for _ in range(2000))
    for bad in (0.5, -0.1):
        with pytest.raises(ValueError, match='tolerance'):
            in_sorted_order(np.arange(20), tolerance=bad)
    with pytest.raises(ValueError, match='1-D'):
        in_sorted_order(np.arange(20).reshape(4, 5))


@pytest.fixture
def table40(tmp_path):
    """A 40-row set with a 30 / 10 split listed in sorted order: rows 0-29 train,
    every fourth row tests, so the test rows are scattered through the table."""
    folder = tmp_path / 'cars'
    folder.mkdir()
    data = np.arange(40, dtype=np.float64)[:, None] * [1.0, 2.0]  # input, target = 2 x row
    np.savetxt(str(folder / 'data.txt'), data)
    write_lines(folder / 'index_features.txt', [0])
    write_lines(folder / 'index_target.txt', [1])
    test = list(range(3, 40, 4))
    train = [r for r in range(40) if r not in test]
    for k in range(2):
        write_lines(folder / ('index_train_%d.txt' % k), train)
        write_lines(folder / ('index_test_%d.txt' % k), test)
    return str(folder), np.array(train), data


def _rows(d):
    """The table rows of the training examples (the target is 2 x the row)."""
    return np.round((d.y_train * d.target_std + d.target_mean) / 2).astype(int)


@pytest.mark.parametrize('split', [0, 1])
def test_training_rows_listed_in_sorted_order_are_shuffled_by_the_split_seed(table40, split):
    """A validation split holds out the last training rows: from a sorted list they
    would be the table's last rows. Shuffled with the split's number as the seed,
    they are a random subset, the same in every run of the split."""
    from tfbnn.data.validation import hold_out_validation
    folder, train, _ = table40
    d = load_uci(folder, split)
    expected = train[np.random.RandomState(split).permutation(train.size)]
    np.testing.assert_array_equal(_rows(d), expected)
    np.testing.assert_array_equal(_rows(load_uci(folder, split)), expected)  # repeatable
    assert d.description.endswith('1 features; training rows shuffled (seed %d), '
                                  'index_train_%d.txt lists them in sorted order'
                                  % (split, split))
    held = hold_out_validation(d, 6)
    held_rows = np.round((held.y_val * held.target_std + held.target_mean) / 2).astype(int)
    np.testing.assert_array_equal(held_rows, expected[-6:])
    assert held_rows.max() - held_rows.min() > 20  # not the table's last rows (33..39)
    if split == 1:
        assert not np.array_equal(expected, train[np.random.RandomState(0).permutation(30)])


def test_training_rows_sorted_backwards_are_shuffled_too(table40):
    folder, train, _ = table40
    write_lines(os.path.join(folder, 'index_train_0.txt'), train[::-1])
    expected = train[::-1][np.random.RandomState(0).permutation(train.size)]
    np.testing.assert_array_equal(_rows(load_uci(folder, 0)), expected)


def test_training_rows_in_random_order_load_in_file_order(table40):
    folder, train, _ = table40
    listed = train[np.random.RandomState(7).permutation(train.size)]
    write_lines(os.path.join(folder, 'index_train_0.txt'), listed)
    d = load_uci(folder, 0)
    np.testing.assert_array_equal(_rows(d), listed)
    assert d.description.endswith('1 features')


def test_shuffles_training_rows_says_what_load_uci_does(table40):
    from tfbnn.data.uci import shuffles_training_rows
    folder, train, _ = table40
    assert shuffles_training_rows(folder, 0) and shuffles_training_rows(folder, 1)
    write_lines(os.path.join(folder, 'index_train_1.txt'),
                train[np.random.RandomState(7).permutation(train.size)])
    assert not shuffles_training_rows(folder, 1)
    assert 'shuffled' not in load_uci(folder, 1).description
    # year's shape: the test rows are the block after every training row.
    write_lines(os.path.join(folder, 'index_train_0.txt'), range(30))
    write_lines(os.path.join(folder, 'index_test_0.txt'), range(30, 40))
    assert not shuffles_training_rows(folder, 0)
    with pytest.raises(DataError, match='split 2 is out of range'):
        shuffles_training_rows(folder, 2)
    with pytest.raises(DataError, match='split -1 is out of range'):
        shuffles_training_rows(folder, -1)


def test_a_test_split_after_every_training_row_keeps_the_training_order(table40):
    """year's split: its test rows are the table's last ones, so the held-out rows
    stay the last training rows, the block before them."""
    folder, _, _ = table40
    write_lines(os.path.join(folder, 'index_train_0.txt'), range(30))
    write_lines(os.path.join(folder, 'index_test_0.txt'), [39, 31, 30, 35, 32, 33, 34, 36, 37, 38])
    d = load_uci(folder, 0)
    np.testing.assert_array_equal(_rows(d), np.arange(30))
    assert d.description.endswith('1 features')
    # One test row, or a block at the start, is no such split: the order is shuffled.
    for test in ([12], range(10)):
        write_lines(os.path.join(folder, 'index_test_0.txt'), test)
        write_lines(os.path.join(folder, 'index_train_0.txt'),
                    [r for r in range(40) if r not in test])
        assert 'shuffled' in load_uci(folder, 0).description
