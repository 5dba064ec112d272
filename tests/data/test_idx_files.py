"""tfbnn/data/idx_files.py: which IDX files a folder holds, on tiny files written here."""
import os

import numpy as np
import pytest

from tfbnn.data.idx_files import (EMNIST_SPLITS, MNIST_FILES, PARTS, find_idx_set, idx_path,
                                  set_in_folder)
from tfbnn.errors import DataError
from tests.data.test_mnist import idx_bytes, write

DOT_FILES = ('train-images.idx3-ubyte', 'train-labels.idx1-ubyte',
             't10k-images.idx3-ubyte', 't10k-labels.idx1-ubyte')


def emnist_files(split):
    return tuple('emnist-%s-%s-%s-ubyte' % (split, part, kind) for part in ('train', 'test')
                 for kind in ('images-idx3', 'labels-idx1'))


def write_files(folder, names, suffix=''):
    """Real IDX files (2 images of 2x3, 2 labels) under `names` + `suffix`; returns the folder."""
    for name in names:
        images = 'images' in name
        payload = idx_bytes(np.arange(12).reshape(2, 2, 3) if images else [1, 2])
        write(os.path.join(str(folder), name + suffix), payload)
    return str(folder)


@pytest.mark.parametrize('names,suffix', [(MNIST_FILES, ''), (MNIST_FILES, '.gz'),
                                          (DOT_FILES, ''), (DOT_FILES, '.gz')])
def test_mnist_names_with_or_without_a_dot(tmp_path, names, suffix):
    found = find_idx_set(write_files(tmp_path, names, suffix))
    assert (found.title, found.emnist_split, found.num_classes) == ('MNIST-format', None, None)
    assert (found.first_label, found.transposed) == (0, False)
    assert found.paths == {part: os.path.join(str(tmp_path), name + suffix)
                           for part, name in zip(PARTS, names)}


@pytest.mark.parametrize('split', list(EMNIST_SPLITS))
def test_emnist_names_give_the_split_its_classes_and_the_transposition(tmp_path, split):
    folder = write_files(tmp_path, emnist_files(split), '.gz')
    found = find_idx_set(folder)
    expected = dict(byclass=62, bymerge=47, balanced=47, letters=26, digits=10, mnist=10)
    assert (found.title, found.emnist_split) == ('EMNIST ' + split, split)
    assert found.num_classes == expected[split]
    assert found.first_label == (1 if split == 'letters' else 0) and found.transposed
    assert idx_path(found, 'test', 'labels') == os.path.join(
        folder, 'emnist-%s-test-labels-idx1-ubyte.gz' % split)


def test_preference_gz_then_plain_then_the_dotted_names(tmp_path):
    folder = write_files(tmp_path, DOT_FILES, '.gz')
    write_files(tmp_path, DOT_FILES)
    assert idx_path(find_idx_set(folder), 'train', 'images').endswith('train-images.idx3-ubyte.gz')
    write_files(tmp_path, MNIST_FILES)
    assert idx_path(find_idx_set(folder), 'train', 'images').endswith('train-images-idx3-ubyte')
    write_files(tmp_path, MNIST_FILES, '.gz')
    assert idx_path(find_idx_set(folder), 'train', 'images').endswith(
        'train-images-idx3-ubyte.gz')


def test_other_files_and_folders_are_ignored(tmp_path):
    write_files(tmp_path, emnist_files('letters'))
    (tmp_path / 'emnist-letters-mapping.txt').write_text('1 65 97\n')
    (tmp_path / 'README').write_text('EMNIST\n')
    os.mkdir(str(tmp_path / 'train-images-idx3-ubyte.gz'))  # a folder, not an MNIST file
    assert find_idx_set(str(tmp_path)).emnist_split == 'letters'


@pytest.mark.parametrize('names,found,hint', [
    (emnist_files('letters')[:1] + MNIST_FILES[2:3], 'EMNIST letters, MNIST names', 'letters'),
    (emnist_files('letters')[2:3] + emnist_files('digits')[:2], 'EMNIST digits, EMNIST letters',
     'digits'),
    (MNIST_FILES[:1] + DOT_FILES[1:2], None, None),
], ids=['emnist-and-mnist', 'two-emnist-splits', 'mnist-names-only'])
def test_files_of_several_sets_are_refused(tmp_path, names, found, hint):
    folder = write_files(tmp_path, names)
    if found is None:  # both namings of MNIST's files are one set
        assert find_idx_set(folder).emnist_split is None
        return
    with pytest.raises(DataError) as caught:
        find_idx_set(folder)
    assert str(caught.value) == (
        '%s: IDX files of 2 sets (%s); use one folder per set, or name one split as %s'
        % (folder, found, os.path.join(folder, 'emnist-' + hint)))


def test_a_split_of_emnists_own_folder_is_named_by_its_prefix(tmp_path):
    """EMNIST's download keeps every split in one folder: FOLDER/emnist-SPLIT
    takes that split's files; a folder of that name would be a folder."""
    folder = write_files(tmp_path, emnist_files('letters') + emnist_files('digits') +
                         MNIST_FILES)
    chosen = find_idx_set(os.path.join(folder, 'emnist-digits'))
    assert (chosen.folder, chosen.emnist_split, chosen.num_classes) == (folder, 'digits', 10)
    assert sorted(chosen.paths.values()) == sorted(os.path.join(folder, name)
                                                   for name in emnist_files('digits'))
    assert set_in_folder(folder) == (folder, None)
    with pytest.raises(DataError) as caught:
        find_idx_set(os.path.join(folder, 'emnist-balanced'))
    assert str(caught.value) == '%s: no emnist-balanced-* IDX files here' % folder
    with pytest.raises(DataError) as caught:
        find_idx_set(os.path.join(folder, 'emnist-words'))
    assert str(caught.value) == (
        "%s: unknown EMNIST split 'words' (known: byclass, bymerge, balanced, letters, digits, "
        "mnist)" % os.path.join(folder, 'emnist-words'))
    os.makedirs(os.path.join(folder, 'emnist-mnist'))
    assert set_in_folder(os.path.join(folder, 'emnist-mnist')) == (
        os.path.join(folder, 'emnist-mnist'), None)


def test_an_unknown_emnist_split_is_named(tmp_path):
    folder = write_files(tmp_path, ['emnist-words-train-images-idx3-ubyte'])
    with pytest.raises(DataError) as caught:
        find_idx_set(folder)
    assert str(caught.value) == (
        "%s: unknown EMNIST split 'words' (known: byclass, bymerge, balanced, letters, digits, "
        "mnist)" % os.path.join(folder, 'emnist-words-train-images-idx3-ubyte'))


def test_missing_files_name_what_was_looked_for(tmp_path):
    found = find_idx_set(str(tmp_path))  # no IDX file: MNIST's names are expected
    assert found.paths == {} and found.emnist_split is None
    with pytest.raises(DataError) as caught:
        idx_path(found, 'test', 'labels')
    assert str(caught.value) == (
        "%s: no file t10k-labels-idx1-ubyte[.gz] or t10k-labels.idx1-ubyte[.gz] (expected the "
        "four MNIST IDX files train-images-idx3-ubyte, train-labels-idx1-ubyte, "
        "t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte, plain or .gz, or named with a dot as "
        "train-images.idx3-ubyte; or EMNIST's emnist-SPLIT-train-images-idx3-ubyte and the "
        "like)" % tmp_path)
    with pytest.raises(DataError) as caught:
        idx_path(found, 'train', 'images', need='wanted for a test')
    assert str(caught.value) == ('%s: no file train-images-idx3-ubyte[.gz] or '
                                 'train-images.idx3-ubyte[.gz] (wanted for a test)' % tmp_path)
    emnist = find_idx_set(write_files(tmp_path, emnist_files('balanced')[2:3]))
    with pytest.raises(DataError) as caught:
        idx_path(emnist, 'test', 'labels')
    assert str(caught.value) == (
        '%s: no file emnist-balanced-test-labels-idx1-ubyte[.gz] (expected the four files of '
        'EMNIST balanced: emnist-balanced-{train,test}-{images-idx3,labels-idx1}-ubyte, plain '
        'or .gz)' % tmp_path)


def test_a_folder_under_a_files_name_is_named(tmp_path):
    write_files(tmp_path, MNIST_FILES[:3])
    os.mkdir(str(tmp_path / 't10k-labels-idx1-ubyte'))  # unpacked by hand into a folder
    with pytest.raises(DataError) as caught:
        idx_path(find_idx_set(str(tmp_path)), 'test', 'labels')
    assert str(caught.value) == '%s: is a directory, not a file' % (
        tmp_path / 't10k-labels-idx1-ubyte')


def test_idx_path_checks_its_part(tmp_path):
    with pytest.raises(ValueError, match=r"idx_path: \(split, kind\) must be one of .*, got "
                                         r"\('t10k', 'images'\)"):
        idx_path(find_idx_set(str(tmp_path)), 't10k', 'images')
