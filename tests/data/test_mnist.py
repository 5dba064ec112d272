"""tfbnn/data/mnist.py on tiny IDX files written here with numpy and gzip."""
import gzip
import os

import numpy as np
import pytest

from tfbnn.data.mnist import (IDX_IMAGES_MAGIC, IDX_LABELS_MAGIC, load_mnist,
                              load_mnist_test_images, read_idx)
from tfbnn.errors import ConfigError, DataError

TRAIN_IMAGES, TRAIN_LABELS = 'train-images-idx3-ubyte', 'train-labels-idx1-ubyte'
TEST_IMAGES, TEST_LABELS = 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'


def idx_bytes(array, magic=None):
    """The IDX encoding of a uint8 array: magic, big-endian sizes, values."""
    array = np.asarray(array, np.uint8)
    magic = 0x0800 + array.ndim if magic is None else magic
    header = np.array([magic] + list(array.shape), '>u4').tobytes()
    return header + array.tobytes()


def write(path, payload):
    """Writes `payload`, gzipped when `path` ends in .gz; returns the path as str."""
    path = str(path)
    if path.endswith('.gz'):
        with gzip.open(path, 'wb') as f:
            f.write(payload)
    else:
        with open(path, 'wb') as f:
            f.write(payload)
    return path


def make_split(rng, count, size=(28, 28)):
    return (rng.randint(0, 256, (count,) + size).astype(np.uint8),
            rng.randint(0, 10, count).astype(np.uint8))


@pytest.fixture
def arrays():
    rng = np.random.RandomState(0)
    images, labels = make_split(rng, 5)
    images[0, 0, :2] = [0, 255]  # both ends of the range
    labels[:2] = [0, 9]
    test_images, test_labels = make_split(rng, 3)
    return images, labels, test_images, test_labels


def write_mnist(folder, arrays, suffix='.gz'):
    for stem, array in zip((TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS), arrays):
        write(os.path.join(str(folder), stem + suffix), idx_bytes(array))
    return str(folder)


@pytest.fixture
def mnist_dir(tmp_path, arrays):
    return write_mnist(tmp_path, arrays)


@pytest.mark.parametrize('suffix', ['', '.gz'])
def test_read_idx_returns_what_was_written(tmp_path, arrays, suffix):
    images, labels = arrays[:2]
    path = write(tmp_path / ('images' + suffix), idx_bytes(images))
    back = read_idx(path, IDX_IMAGES_MAGIC)
    assert back.dtype == np.uint8 and back.shape == (5, 28, 28)
    np.testing.assert_array_equal(back, images)
    np.testing.assert_array_equal(read_idx(write(tmp_path / 'l', idx_bytes(labels))), labels)


def test_read_idx_other_value_types(tmp_path):
    values = np.arange(-3, 3, dtype=np.int32).reshape(2, 3)
    header = np.array([0x0C02, 2, 3], '>u4').tobytes()
    path = write(tmp_path / 'ints', header + values.astype('>i4').tobytes())
    back = read_idx(path)
    assert back.dtype == np.int32 and back.dtype.isnative
    np.testing.assert_array_equal(back, values)


def test_load_mnist_divides_pixels_by_255(mnist_dir, arrays):
    images, labels, test_images, test_labels = arrays
    d = load_mnist(mnist_dir)
    assert d.name == 'mnist' and d.task == 'classification' and d.num_classes == 10
    assert d.input_shape == (28, 28, 1)
    assert d.x_train.shape == (5, 28, 28, 1) and d.x_test.shape == (3, 28, 28, 1)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    np.testing.assert_array_equal(d.x_train[..., 0], (images / 255.0).astype(np.float32))
    np.testing.assert_array_equal(d.x_test[..., 0], (test_images / 255.0).astype(np.float32))
    assert d.x_train[0, 0, 0, 0] == 0.0 and d.x_train[0, 0, 1, 0] == 1.0
    np.testing.assert_array_equal(d.y_train, labels)
    np.testing.assert_array_equal(d.y_test, test_labels)
    assert '5 train / 3 test, 10 classes' in d.description


def test_load_mnist_pixel_scale(mnist_dir, arrays):
    d = load_mnist(mnist_dir, pixel_scale=126)
    np.testing.assert_array_equal(d.x_train[..., 0], (arrays[0] / 126.0).astype(np.float32))
    assert d.x_train.max() == np.float32(255 / 126.0)


@pytest.mark.parametrize('scale', [0, -1.0, float('nan'), '255'])
def test_load_mnist_rejects_bad_pixel_scale(mnist_dir, scale):
    with pytest.raises(ConfigError, match='mnist: pixel_scale must be a positive finite'):
        load_mnist(mnist_dir, pixel_scale=scale)


def test_load_mnist_reads_plain_files(tmp_path, arrays):
    d = load_mnist(write_mnist(tmp_path, arrays, suffix=''))
    np.testing.assert_array_equal(d.y_train, arrays[1])


def test_load_mnist_prefers_gz(mnist_dir, arrays):
    # A plain copy with other labels next to the .gz one must be ignored.
    write(os.path.join(mnist_dir, TRAIN_LABELS), idx_bytes((arrays[1] + 1) % 10))
    np.testing.assert_array_equal(load_mnist(mnist_dir).y_train, arrays[1])


def test_load_mnist_other_image_sizes(tmp_path):
    # The same reader serves any IDX image set, e.g. other 2-D sizes.
    rng = np.random.RandomState(1)
    d = load_mnist(write_mnist(tmp_path, make_split(rng, 4, (3, 5)) + make_split(rng, 2, (3, 5))))
    assert d.input_shape == (3, 5, 1)


def test_load_mnist_missing_directory(tmp_path):
    with pytest.raises(DataError, match="nope: no such directory \\(dataset 'mnist'\\)"):
        load_mnist(str(tmp_path / 'nope'))


def test_load_mnist_missing_file(mnist_dir):
    os.remove(os.path.join(mnist_dir, TEST_LABELS + '.gz'))
    with pytest.raises(DataError, match=r'no file t10k-labels-idx1-ubyte\[.gz\] or '
                                        r't10k-labels.idx1-ubyte\[.gz\] \(expected the four'):
        load_mnist(mnist_dir)


DOT_NAMES = ('train-images.idx3-ubyte', 'train-labels.idx1-ubyte',
             't10k-images.idx3-ubyte', 't10k-labels.idx1-ubyte')


@pytest.mark.parametrize('suffix', ['', '.gz'])
def test_load_mnist_reads_the_dotted_names_of_mirrors(tmp_path, arrays, suffix):
    for name, array in zip(DOT_NAMES, arrays):
        write(tmp_path / (name + suffix), idx_bytes(array))
    d = load_mnist(str(tmp_path))
    np.testing.assert_array_equal(d.x_train[..., 0], (arrays[0] / 255.0).astype(np.float32))
    np.testing.assert_array_equal(d.y_test, arrays[3])
    ood = load_mnist_test_images(str(tmp_path))
    np.testing.assert_array_equal(ood.x_test, d.x_test)


def corrupt_payload(mnist_dir, stem, payload, raw=False):
    """Overwrites `stem`.gz with `payload` (gzipped unless `raw`)."""
    path = os.path.join(mnist_dir, stem + '.gz')
    if raw:
        with open(path, 'wb') as f:
            f.write(payload)
    else:
        write(path, payload)


def gz_bytes(payload):
    return gzip.compress(payload)


@pytest.mark.parametrize('stem,payload,raw,match', [
    (TRAIN_IMAGES, b'not gzip at all', True,
     r'train-images-idx3-ubyte.gz: cannot read the file \(Not a gzipped file'),
    (TRAIN_IMAGES, gz_bytes(np.random.RandomState(0).bytes(4000))[:100], True,
     r'train-images-idx3-ubyte.gz: truncated gzip file'),
    (TRAIN_IMAGES, b'\0\0\x08', False,
     'train-images-idx3-ubyte.gz: truncated: 3 bytes, too short for an IDX header'),
    (TRAIN_IMAGES, idx_bytes(np.zeros(5), IDX_LABELS_MAGIC), False,
     r'train-images-idx3-ubyte.gz: wrong magic number 0x00000801 \(2049\), expected '
     r'0x00000803 \(2051, IDX images: unsigned bytes in 3 dimensions\)'),
    (TEST_LABELS, idx_bytes(np.zeros((3, 1))), False,
     r't10k-labels-idx1-ubyte.gz: wrong magic number 0x00000802 .* expected 0x00000801'),
    (TRAIN_IMAGES, np.array([IDX_IMAGES_MAGIC, 5], '>u4').tobytes(), False,
     'train-images-idx3-ubyte.gz: truncated: the header needs 16 bytes for 3 dimensions, '
     'the file has 8'),
    (TRAIN_IMAGES, idx_bytes(np.zeros((5, 28, 28)))[:-1], False,
     r'train-images-idx3-ubyte.gz: truncated: the header promises shape \[5, 28, 28\] '
     r'\(3920 bytes of data\), the file has 3919'),
    (TRAIN_LABELS, idx_bytes(np.zeros(5)) + b'\0', False,
     r'train-labels-idx1-ubyte.gz: trailing data: the header promises shape \[5\] '
     r'\(5 bytes of data\), the file has more$'),
    # A header of sizes whose product wraps around int64 (2^93 bytes, then 0):
    (TRAIN_IMAGES, np.array([IDX_IMAGES_MAGIC] + [2 ** 31] * 3, '>u4').tobytes(), False,
     r'train-images-idx3-ubyte.gz: truncated: the header promises shape '
     r'\[2147483648, 2147483648, 2147483648\] \(%d bytes of data\), the file has 0$'
     % 2 ** 93),
    (TRAIN_LABELS, idx_bytes(np.zeros(4)), False,
     'train-labels-idx1-ubyte.gz: 4 labels but train-images-idx3-ubyte.gz has 5 images'),
    (TEST_LABELS, idx_bytes([1, 2, 10]), False,
     r't10k-labels-idx1-ubyte.gz: label 10 at index 2 is out of range 0..9 \(the classes of '
     r'train-labels-idx1-ubyte.gz: its largest label \+ 1\)$'),
    (TRAIN_LABELS, idx_bytes(np.zeros(5)), False,
     r'train-labels-idx1-ubyte.gz: every label is 0; classification needs at least two '
     r'classes$'),
    (TEST_IMAGES, idx_bytes(np.zeros((3, 27, 28))), False,
     't10k-images-idx3-ubyte.gz: images are 27x28 but those in '
     'train-images-idx3-ubyte.gz are 28x28'),
], ids=['not-gzip', 'truncated-gzip', 'short-header', 'labels-as-images', 'wrong-label-dims',
        'truncated-dims', 'truncated-payload', 'trailing-data', 'huge-header', 'count-mismatch',
        'label-out-of-range', 'one-class', 'image-size-mismatch'])
def test_load_mnist_bad_files(mnist_dir, stem, payload, raw, match):
    corrupt_payload(mnist_dir, stem, payload, raw)
    with pytest.raises(DataError, match=match):
        load_mnist(mnist_dir)


@pytest.mark.parametrize('train_labels,test_labels,classes', [
    ([1, 10, 2, 3, 4], [10, 1, 5], 11),  # labels 1..10: class 0 has no examples
    ([0, 11, 2, 3, 4], [11, 0, 5], 12),  # more than MNIST's 10
    ([0, 3, 1, 1, 2], [0, 1, 2], 4)])    # fewer
def test_mnist_names_take_their_classes_from_the_training_labels(
        tmp_path, arrays, train_labels, test_labels, classes):
    images, _, test_images, _ = arrays
    d = load_mnist(write_mnist(tmp_path, (images, train_labels, test_images, test_labels)))
    assert d.num_classes == classes and '5 train / 3 test, %d classes' % classes in d.description
    np.testing.assert_array_equal(d.y_train, train_labels)
    np.testing.assert_array_equal(d.y_test, test_labels)


def test_gzip_data_under_plain_names_is_read_as_gzip(tmp_path, arrays):
    """A download saved compressed without its .gz (first bytes 1f 8b)."""
    for stem, array in zip((TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS), arrays):
        write(tmp_path / stem, gz_bytes(idx_bytes(array)))
    d = load_mnist(str(tmp_path))
    np.testing.assert_array_equal(d.x_train[..., 0], arrays[0] / np.float32(255))
    np.testing.assert_array_equal(d.y_test, arrays[3])
    write(tmp_path / TEST_LABELS, gz_bytes(idx_bytes(arrays[3]))[:12])
    with pytest.raises(DataError, match='^%s: truncated gzip file'
                       % os.path.join(str(tmp_path), TEST_LABELS)):
        load_mnist(str(tmp_path))


def test_load_mnist_empty_set(mnist_dir):
    corrupt_payload(mnist_dir, TEST_IMAGES, idx_bytes(np.zeros((0, 28, 28))))
    corrupt_payload(mnist_dir, TEST_LABELS, idx_bytes(np.zeros(0)))
    with pytest.raises(DataError, match=r't10k-images-idx3-ubyte.gz: no images \(empty set\)'):
        load_mnist(mnist_dir)


@pytest.mark.parametrize('payload', [b'\x01\x02\x03\x04rest', b'\0\0\x07\x01abcd',
                                     b'\0\0\x08\x00'])
def test_read_idx_rejects_non_idx_files(tmp_path, payload):
    path = write(tmp_path / 'blob', payload)
    with pytest.raises(DataError, match=r'blob: not an IDX file \(magic number 0x'):
        read_idx(path)


def test_test_images_alone_make_an_ood_set(tmp_path, arrays):
    images = arrays[2]
    write(tmp_path / (TEST_IMAGES + '.gz'), idx_bytes(images))  # no labels, no training files
    ood = load_mnist_test_images(str(tmp_path), pixel_scale=126.0)
    np.testing.assert_allclose(ood.x_test[..., 0], images / 126.0, rtol=1e-6)
    assert ood.x_test.shape == (3, 28, 28, 1) and ood.y_test.tolist() == [0, 0, 0]
    # Labels of another range (EMNIST letters: 1..26) are never read.
    write(tmp_path / (TEST_LABELS + '.gz'), idx_bytes(np.array([26, 1, 14])))
    assert load_mnist_test_images(str(tmp_path)).x_test.shape == (3, 28, 28, 1)


def test_test_images_alone_errors_name_the_folder_or_file(tmp_path):
    with pytest.raises(DataError, match='an out-of-distribution folder needs the MNIST-format '
                                        'test images'):
        load_mnist_test_images(str(tmp_path))
    write(tmp_path / TEST_IMAGES, idx_bytes(np.zeros((0, 28, 28))))
    with pytest.raises(DataError, match=r't10k-images-idx3-ubyte: no images \(empty set\)'):
        load_mnist_test_images(str(tmp_path))
    write(tmp_path / TEST_IMAGES, idx_bytes(np.zeros(4)))
    with pytest.raises(DataError, match='t10k-images-idx3-ubyte'):
        load_mnist_test_images(str(tmp_path))
    with pytest.raises(DataError, match='no such directory'):
        load_mnist_test_images(str(tmp_path / 'nope'))


def write_emnist(folder, split, train, test, skip=()):
    """EMNIST's four files of `split` (images stored as given: already transposed)."""
    arrays = train + test
    names = ['emnist-%s-%s-%s-ubyte' % (split, part, kind) for part in ('train', 'test')
             for kind in ('images-idx3', 'labels-idx1')]
    for index, (name, array) in enumerate(zip(names, arrays)):
        if index not in skip:
            write(os.path.join(str(folder), name + ('.gz' if index % 2 else '')),
                  idx_bytes(array))
    return str(folder)


@pytest.fixture
def letters():
    """EMNIST letters of 3x5 as stored (5x3 upright), labels 1..26 with both ends."""
    rng = np.random.RandomState(2)
    images, test_images = (rng.randint(0, 256, (n, 3, 5)).astype(np.uint8) for n in (4, 2))
    return (images, np.array([1, 26, 7, 1], np.uint8)), (test_images, np.array([26, 2], np.uint8))


def test_emnist_letters_are_turned_upright_and_labelled_from_0(tmp_path, letters):
    (images, labels), (test_images, test_labels) = letters
    d = load_mnist(write_emnist(tmp_path, 'letters', *letters))
    assert d.num_classes == 26 and d.input_shape == (5, 3, 1)
    assert d.x_train.shape == (4, 5, 3, 1) and d.x_test.shape == (2, 5, 3, 1)
    for r in range(5):
        for c in range(3):  # pixel [r, c] of an image is [c, r] of the file
            assert d.x_train[1, r, c, 0] == np.float32(images[1, c, r] / 255.0)
    np.testing.assert_array_equal(d.x_test[..., 0],
                                  (test_images.transpose(0, 2, 1) / 255.0).astype(np.float32))
    assert d.y_train.tolist() == [0, 25, 6, 0] and d.y_test.tolist() == [25, 1]
    assert d.description == ('EMNIST letters IDX files in %s: 4 train / 2 test, 26 classes, '
                             "5x3 pixels / 255, turned upright from the files' transposed "
                             'images, class k = file label k + 1' % tmp_path)


@pytest.mark.parametrize('split,classes,first', [
    ('byclass', 62, 0), ('bymerge', 47, 0), ('balanced', 47, 0), ('letters', 26, 1),
    ('digits', 10, 0), ('mnist', 10, 0)])
def test_each_emnist_split_has_its_class_count_and_range(tmp_path, split, classes, first):
    images = np.arange(2 * 28 * 28).reshape(2, 28, 28).astype(np.uint8)
    top = first + classes - 1
    d = load_mnist(write_emnist(tmp_path, split, (images, [first, top]), (images, [top, first])))
    assert d.num_classes == classes and d.y_train.tolist() == [0, classes - 1]
    assert 'EMNIST %s IDX files' % split in d.description
    assert '2 train / 2 test, %d classes' % classes in d.description
    for label in (top + 1, first - 1) if first else (top + 1,):
        write_emnist(tmp_path, split, (images, [first, label]), (images, [top, first]))
        path = os.path.join(str(tmp_path), 'emnist-%s-train-labels-idx1-ubyte.gz' % split)
        with pytest.raises(DataError) as caught:
            load_mnist(str(tmp_path))
        assert str(caught.value) == ('%s: label %d at index 1 is out of range %d..%d'
                                     % (path, label, first, top))


def test_emnist_test_images_alone_make_an_ood_set(tmp_path, letters):
    test_images = letters[1][0]
    ood = load_mnist_test_images(write_emnist(tmp_path, 'letters', *letters, skip=(0, 1, 3)))
    np.testing.assert_array_equal(ood.x_test[..., 0],
                                  (test_images.transpose(0, 2, 1) / 255.0).astype(np.float32))
    assert ood.num_classes == 26 and ood.input_shape == (5, 3, 1)
    assert ood.description.startswith('out-of-distribution test images (EMNIST letters) in ')


def test_emnist_missing_file(tmp_path, letters):
    folder = write_emnist(tmp_path, 'letters', *letters, skip=(3,))
    with pytest.raises(DataError) as caught:
        load_mnist(folder)
    assert str(caught.value) == (
        '%s: no file emnist-letters-test-labels-idx1-ubyte[.gz] (expected the four files of '
        'EMNIST letters: emnist-letters-{train,test}-{images-idx3,labels-idx1}-ubyte, plain or '
        '.gz)' % folder)
    os.mkdir(str(tmp_path / 'train_only'))
    folder = write_emnist(tmp_path / 'train_only', 'letters', *letters, skip=(2, 3))
    with pytest.raises(DataError) as caught:
        load_mnist_test_images(folder)
    assert str(caught.value) == (
        '%s: no file emnist-letters-test-images-idx3-ubyte[.gz] (an out-of-distribution folder '
        'needs the MNIST-format test images)' % folder)


@pytest.mark.parametrize('loader', [load_mnist, load_mnist_test_images])
def test_a_folder_of_emnist_and_mnist_files_is_refused(mnist_dir, letters, loader):
    write_emnist(mnist_dir, 'digits', *letters, skip=(0, 1, 3))
    with pytest.raises(DataError) as caught:
        loader(mnist_dir)
    assert str(caught.value) == (
        '%s: IDX files of 2 sets (EMNIST digits, MNIST names); use one folder per set, or name '
        'one split as %s' % (mnist_dir, os.path.join(mnist_dir, 'emnist-digits')))
    # The EMNIST split named as FOLDER/emnist-digits loads (its test images).
    if loader is load_mnist_test_images:
        assert len(loader(os.path.join(mnist_dir, 'emnist-digits')).x_test) > 0


@pytest.mark.parametrize('name', ['labels.gz', 'labels'])  # gzip under either name
def test_a_small_gzip_that_unpacks_to_much_more_is_refused_after_its_header(tmp_path, name):
    """Five labels promised, 200 MB of zeros behind them in 200 KB of gzip: the
    file is read up to one byte past the promised data, not unpacked whole."""
    import tracemalloc
    path = str(tmp_path / name)
    with gzip.open(path, 'wb') as f:
        f.write(idx_bytes(np.zeros(5)))
        for _ in range(200):
            f.write(bytes(1 << 20))
    assert os.path.getsize(path) < 1 << 20
    tracemalloc.start()
    try:
        with pytest.raises(DataError, match=r'trailing data: the header promises shape \[5\] '
                                            r'\(5 bytes of data\), the file has more$'):
            read_idx(path, IDX_LABELS_MAGIC)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 20 << 20, peak
