"""MNIST (or Fashion-MNIST) from the four IDX files, parsed with numpy.

The IDX format (LeCun et al., http://yann.lecun.com/exdb/mnist/): a
big-endian header of a 4-byte magic number -- two zero bytes, a type code
(0x08 for unsigned bytes) and the number of dimensions -- then one 4-byte
size per dimension, then the values in C order. MNIST images are
`0x00000803` (2051: bytes, 3 dims `[N, rows, cols]`), labels `0x00000801`
(2049: bytes, 1 dim `[N]`). Fashion-MNIST (Xiao et al., 2017) uses the same
file names and format, so `load_mnist` reads it too.
"""
import os

import numpy as np

from tfbnn.data._common import check_path, check_positive, read_bytes, require_dir
from tfbnn.data.dataset import make_dataset
from tfbnn.errors import DataError

__all__ = ['load_mnist', 'load_mnist_test_images', 'read_idx', 'MNIST_FILES', 'IDX_IMAGES_MAGIC',
           'IDX_LABELS_MAGIC']

IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801
MNIST_FILES = ('train-images-idx3-ubyte', 'train-labels-idx1-ubyte',
               't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte')
_NUM_CLASSES = 10
_MAGIC_MEANINGS = {IDX_IMAGES_MAGIC: 'images: unsigned bytes in 3 dimensions',
                   IDX_LABELS_MAGIC: 'labels: unsigned bytes in 1 dimension'}

# IDX type codes and the big-endian numpy dtypes they denote.
_IDX_DTYPES = {0x08: '>u1', 0x09: '>i1', 0x0B: '>i2', 0x0C: '>i4', 0x0D: '>f4', 0x0E: '>f8'}


def read_idx(path, magic=None):
    """Reads one IDX file (plain, or gzipped when the name ends in `.gz`).

    Args:
      path: str or path-like, the file.
      magic: int or None; when given, the magic number the file must have
        (`IDX_IMAGES_MAGIC`, `IDX_LABELS_MAGIC`), which fixes its value type
        and number of dimensions.

    Returns:
      numpy array with the file's shape and (native-endian) value type,
      e.g. `uint8` of shape `[N, 28, 28]` for an MNIST image file.

    Raises:
      DataError: the file is missing, unreadable, not gzip when named `.gz`,
        truncated, has an unknown or unexpected magic number, or holds a
        number of values other than its header promises.
    """
    path = check_path('read_idx', 'path', path)
    data = read_bytes(path)
    if len(data) < 4:
        raise DataError('%s: truncated: %d bytes, too short for an IDX header'
                        % (path, len(data)))
    found = int.from_bytes(data[:4], 'big')
    if magic is not None and found != magic:
        meaning = _MAGIC_MEANINGS.get(magic)
        raise DataError('%s: wrong magic number 0x%08X (%d), expected 0x%08X (%d%s)'
                        % (path, found, found, magic, magic,
                           ', IDX ' + meaning if meaning else ''))
    code, ndim = data[2], data[3]
    if data[:2] != b'\0\0' or code not in _IDX_DTYPES or ndim == 0:
        raise DataError('%s: not an IDX file (magic number 0x%08X)' % (path, found))
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError('%s: truncated: the header needs %d bytes for %d dimensions, '
                        'the file has %d' % (path, header, ndim, len(data)))
    shape = tuple(int(d) for d in np.frombuffer(data, '>u4', ndim, 4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    payload = len(data) - header
    if payload != expected:
        problem = 'truncated' if payload < expected else 'trailing data'
        raise DataError('%s: %s: the header promises shape %s (%d bytes of data), '
                        'the file has %d' % (path, problem, list(shape), expected, payload))
    array = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder('='))


def _find(data_dir, stem):
    """The path of `stem`.gz, else of `stem`, in `data_dir`."""
    for name in (stem + '.gz', stem):
        path = os.path.join(data_dir, name)
        if os.path.isfile(path):
            return path
    raise DataError('%s: no file %s.gz or %s (expected the four MNIST IDX files %s, '
                    'gzipped or not)' % (data_dir, stem, stem, ', '.join(MNIST_FILES)))


def _read_split(data_dir, images_stem, labels_stem):
    images_path = _find(data_dir, images_stem)
    labels_path = _find(data_dir, labels_stem)
    images = read_idx(images_path, IDX_IMAGES_MAGIC)
    labels = read_idx(labels_path, IDX_LABELS_MAGIC)
    if len(images) != len(labels):
        raise DataError('%s: %d labels but %s has %d images'
                        % (labels_path, len(labels), os.path.basename(images_path),
                           len(images)))
    if len(images) == 0:
        raise DataError('%s: no images (empty set)' % images_path)
    bad = np.flatnonzero(labels >= _NUM_CLASSES)
    if bad.size:
        raise DataError('%s: label %d at index %d is out of range 0..%d'
                        % (labels_path, labels[bad[0]], bad[0], _NUM_CLASSES - 1))
    return images, labels.astype(np.int64), images_path


def load_mnist(data_dir, pixel_scale=255.0):
    """Loads MNIST or Fashion-MNIST from the four IDX files in `data_dir`.

    Each of `MNIST_FILES` may be plain or gzipped (`NAME.gz`, preferred when
    both exist). The 60000 training and 10000 test images are used as given.

    Args:
      data_dir: str or path-like, the folder holding the files.
      pixel_scale: positive float; pixel bytes 0..255 are divided by it.
        255 maps them to [0, 1]; Blundell et al. (2015) divide by 126.

    Returns:
      A classification `Dataset` named 'mnist': `x` of shape
      `[N, rows, cols, 1]` (rows = cols = 28 for (Fashion-)MNIST), `y` in 0..9.

    Raises:
      ConfigError: `data_dir` is not a path or `pixel_scale` is not positive.
      DataError: the folder or a file is missing or corrupt (see `read_idx`),
        image and label counts differ, a label is above 9, or the training and
        test images differ in size.
    """
    data_dir = check_path('mnist', 'data_dir', data_dir)
    pixel_scale = check_positive('mnist', 'pixel_scale', pixel_scale)
    require_dir(data_dir, 'mnist')
    x_train, y_train, train_path = _read_split(data_dir, MNIST_FILES[0], MNIST_FILES[1])
    x_test, y_test, test_path = _read_split(data_dir, MNIST_FILES[2], MNIST_FILES[3])
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError('%s: images are %dx%d but those in %s are %dx%d'
                        % ((test_path,) + x_test.shape[1:]
                           + (os.path.basename(train_path),) + x_train.shape[1:]))
    # One float32 per byte value: exact (x / pixel_scale rounded once to
    # float32) without a float64 copy of all 47 million pixels.
    table = (np.arange(256) / pixel_scale).astype(np.float32)
    rows, cols = x_train.shape[1:]
    description = ('MNIST-format IDX files in %s: %d train / %d test, %d classes, '
                   '%dx%d pixels / %g' % (data_dir, len(x_train), len(x_test),
                                          _NUM_CLASSES, rows, cols, pixel_scale))
    return make_dataset('mnist', 'classification', description,
                        table[x_train][..., None], y_train,
                        table[x_test][..., None], y_test,
                        num_classes=_NUM_CLASSES, source=data_dir)


def load_mnist_test_images(data_dir, pixel_scale=255.0):
    """The test images alone of an MNIST-format folder: an out-of-distribution set.

    Only `t10k-images-idx3-ubyte` (plain or gzipped) is read. The labels and
    the training files may be missing, and labels of any range (letters,
    26 classes) do not matter: an OOD set is scored by the network's
    uncertainty, never against its own labels.

    Args:
      data_dir: str or path-like, the folder.
      pixel_scale: positive float, as in `load_mnist`.

    Returns:
      A classification `Dataset` named 'mnist_ood' whose test split holds the
      images ([M, rows, cols, 1]); its labels are placeholders (0), and its
      training split is a one-image stand-in.

    Raises:
      ConfigError, DataError: as `load_mnist`, for the one file read.
    """
    data_dir = check_path('mnist', 'data_dir', data_dir)
    pixel_scale = check_positive('mnist', 'pixel_scale', pixel_scale)
    require_dir(data_dir, 'mnist')
    stem = MNIST_FILES[2]
    try:
        path = _find(data_dir, stem)
    except DataError:
        raise DataError('%s: no file %s.gz or %s (an out-of-distribution folder needs the '
                        'MNIST-format test images)' % (data_dir, stem, stem))
    images = read_idx(path, IDX_IMAGES_MAGIC)
    if len(images) == 0:
        raise DataError('%s: no images (empty set)' % path)
    x = (np.arange(256) / pixel_scale).astype(np.float32)[images][..., None]
    labels = np.zeros([len(x)], np.int64)
    rows, cols = images.shape[1:]
    return make_dataset('mnist_ood', 'classification',
                        'out-of-distribution test images in %s: %d, %dx%d pixels / %g'
                        % (path, len(x), rows, cols, pixel_scale),
                        x[:1], labels[:1], x, labels, num_classes=_NUM_CLASSES, source=path)
