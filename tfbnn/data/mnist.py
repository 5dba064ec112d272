"""MNIST-format image sets (MNIST, Fashion-MNIST, EMNIST ...) from IDX files, parsed with numpy.

The IDX format (LeCun et al., http://yann.lecun.com/exdb/mnist/): a
big-endian header of a 4-byte magic number -- two zero bytes, a type code
(0x08 for unsigned bytes) and the number of dimensions -- then one 4-byte
size per dimension, then the values in C order. MNIST images are
`0x00000803` (2051: bytes, 3 dims `[N, rows, cols]`), labels `0x00000801`
(2049: bytes, 1 dim `[N]`). Fashion-MNIST (Xiao et al., 2017) uses the same
file names and format, so `load_mnist` reads it too; EMNIST (Cohen et al.,
2017) names its files otherwise and stores its images transposed.
`tfbnn.data.idx_files` finds the files of a folder and says which set they are.
"""
import os

import numpy as np

from tfbnn.data._common import (check_path, check_positive, count_classes, read_bytes,
                                require_dir)
from tfbnn.data.dataset import make_dataset
from tfbnn.data.idx_files import MNIST_FILES, find_idx_set, idx_path, set_in_folder
from tfbnn.errors import DataError

__all__ = ['load_mnist', 'load_mnist_test_images', 'read_idx', 'MNIST_FILES', 'IDX_IMAGES_MAGIC',
           'IDX_LABELS_MAGIC']

IDX_IMAGES_MAGIC = 0x00000803
IDX_LABELS_MAGIC = 0x00000801
_MAGIC_MEANINGS = {IDX_IMAGES_MAGIC: 'images: unsigned bytes in 3 dimensions',
                   IDX_LABELS_MAGIC: 'labels: unsigned bytes in 1 dimension'}

# IDX type codes and the big-endian numpy dtypes they denote.
# The longest IDX header: the magic number and 255 sizes of 4 bytes.
_MOST_HEADER = 4 + 4 * 255
_IDX_DTYPES = {0x08: '>u1', 0x09: '>i1', 0x0B: '>i2', 0x0C: '>i4', 0x0D: '>f4', 0x0E: '>f8'}


def read_idx(path, magic=None):
    """Reads one IDX file, plain or gzipped (named `.gz`, or gzip data under a plain name).

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
        a corrupt gzip stream, truncated, has an unknown or unexpected magic
        number, or holds a number of values other than its header promises.
    """
    path = check_path('read_idx', 'path', path)
    data = read_bytes(path, _MOST_HEADER)
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
    expected = dtype.itemsize
    for size in shape:  # Python ints: a header of huge sizes must not wrap around int64
        expected *= size
    # At most one byte past the promised data: a header of small sizes on a
    # huge (or gzip-bombed) file is refused without reading the rest.
    data = read_bytes(path, header + expected + 1)
    payload = len(data) - header
    if payload < expected:
        raise DataError('%s: truncated: the header promises shape %s (%d bytes of data), '
                        'the file has %d' % (path, list(shape), expected, payload))
    if payload > expected:
        raise DataError('%s: trailing data: the header promises shape %s (%d bytes of data), '
                        'the file has more' % (path, list(shape), expected))
    array = np.frombuffer(data, dtype, offset=header).reshape(shape)
    return array.astype(dtype.newbyteorder('='))


def _pixels(images, pixel_scale):
    """`float32` `[N, rows, cols, 1]` pixels: the bytes of `images` / `pixel_scale`."""
    # One float32 per byte value: exact (x / pixel_scale rounded once to
    # float32) without a float64 copy of all 47 million pixels.
    table = (np.arange(256) / pixel_scale).astype(np.float32)
    return table[images][..., None]


def _read_images(path, transposed):
    """The non-empty `[N, rows, cols]` bytes of an image file, upright if stored `transposed`."""
    images = read_idx(path, IDX_IMAGES_MAGIC)
    if len(images) == 0:
        raise DataError('%s: no images (empty set)' % path)
    return images.transpose(0, 2, 1) if transposed else images


def _read_split(idx_set, split, num_classes, origin=''):
    """(upright image bytes, labels from 0 as int64, images' path, classes) of one split.

    `num_classes` None: the classes are counted from these labels
    (`count_classes`); else the labels must be below it (after the shift of
    EMNIST letters), or a DataError naming the labels' file says so, with
    `origin` (where the range came from).
    """
    images_path = idx_path(idx_set, split, 'images')
    labels_path = idx_path(idx_set, split, 'labels')
    images = _read_images(images_path, idx_set.transposed)
    labels = read_idx(labels_path, IDX_LABELS_MAGIC)
    if len(images) != len(labels):
        raise DataError('%s: %d labels but %s has %d images'
                        % (labels_path, len(labels), os.path.basename(images_path),
                           len(images)))
    if num_classes is None:
        num_classes = count_classes(labels_path, [('labels', labels)])
    low, high = idx_set.first_label, idx_set.first_label + num_classes - 1
    bad = np.flatnonzero((labels < low) | (labels > high))
    if bad.size:
        raise DataError('%s: label %d at index %d is out of range %d..%d%s'
                        % (labels_path, labels[bad[0]], bad[0], low, high, origin))
    return images, labels.astype(np.int64) - low, images_path, num_classes


def _open_folder(data_dir, pixel_scale):
    """(`IdxSet` of `data_dir`, `pixel_scale` as float), after checking both."""
    data_dir = check_path('mnist', 'data_dir', data_dir)
    pixel_scale = check_positive('mnist', 'pixel_scale', pixel_scale)
    require_dir(set_in_folder(data_dir)[0], 'mnist')
    return find_idx_set(data_dir), pixel_scale


def load_mnist(data_dir, pixel_scale=255.0):
    """Loads an MNIST-format set (MNIST, Fashion-MNIST, EMNIST ...) from its four IDX files.

    The files may have MNIST's names, those with a dot (`train-images.idx3-ubyte`)
    or EMNIST's (`emnist-letters-train-images-idx3-ubyte`), each plain or
    gzipped (`NAME.gz`, preferred when both exist); see
    `tfbnn.data.idx_files`. The training and test images are used as given,
    EMNIST's turned upright (they are stored transposed).

    Args:
      data_dir: str or path-like, the folder holding the files.
      pixel_scale: positive float; pixel bytes 0..255 are divided by it.
        255 maps them to [0, 1]; Blundell et al. (2015) divide by 126.

    Returns:
      A classification `Dataset` named 'mnist': `x` of shape
      `[N, rows, cols, 1]` (rows = cols = 28 for (E)MNIST), `y` in
      0..num_classes-1. `num_classes` is, for MNIST's names, the largest
      training label + 1 (10 for MNIST and Fashion-MNIST; labels 1..10 make
      11 classes, 0 without examples), as for an npz archive; for EMNIST the
      split's (letters: 26, its labels 1..26 shifted to 0..25).

    Raises:
      ConfigError: `data_dir` is not a path or `pixel_scale` is not positive.
      DataError: the folder or a file is missing or corrupt (see `read_idx`),
        the folder holds files of several sets, image and label counts
        differ, every training label is 0, a label is outside the set's range
        (MNIST's names: a test label above the largest training label), or
        the training and test images differ in size.
    """
    idx_set, pixel_scale = _open_folder(data_dir, pixel_scale)
    x_train, y_train, train_path, num_classes = _read_split(idx_set, 'train',
                                                            idx_set.num_classes)
    origin = ('' if idx_set.num_classes else " (the classes of %s: its largest label + 1)"
              % os.path.basename(idx_path(idx_set, 'train', 'labels')))
    x_test, y_test, test_path, _ = _read_split(idx_set, 'test', num_classes, origin)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError('%s: images are %dx%d but those in %s are %dx%d'
                        % ((test_path,) + x_test.shape[1:]
                           + (os.path.basename(train_path),) + x_train.shape[1:]))
    x_train, x_test = _pixels(x_train, pixel_scale), _pixels(x_test, pixel_scale)
    rows, cols = x_train.shape[1:3]
    description = ('%s IDX files in %s: %d train / %d test, %d classes, %dx%d pixels / %g'
                   % (idx_set.title, idx_set.folder, len(x_train), len(x_test),
                      num_classes, rows, cols, pixel_scale))
    if idx_set.transposed:  # what a consumer of the run's exported graph must do too
        description += ', turned upright from the files\' transposed images'
    if idx_set.first_label:
        description += ', class k = file label k + %d' % idx_set.first_label
    return make_dataset('mnist', 'classification', description, x_train, y_train,
                        x_test, y_test, num_classes=num_classes, source=idx_set.folder)


def load_mnist_test_images(data_dir, pixel_scale=255.0):
    """The test images alone of an MNIST-format folder: an out-of-distribution set.

    Only the test images are read (`t10k-images-idx3-ubyte`, or its dotted
    or EMNIST name, plain or gzipped). The labels and the training files may
    be missing, and labels of any range do not matter: an OOD set is scored
    by the network's uncertainty, never against its own labels.

    Args:
      data_dir: str or path-like, the folder.
      pixel_scale: positive float, as in `load_mnist`.

    Returns:
      A classification `Dataset` named 'mnist_ood' whose test split holds the
      images ([M, rows, cols, 1], EMNIST's upright); its labels are
      placeholders (0), its training split is a one-image stand-in, and its
      `num_classes` a placeholder too (the EMNIST split's; 10 for MNIST's
      names, whose classes only their training labels tell).

    Raises:
      ConfigError, DataError: as `load_mnist`, for the one file read.
    """
    idx_set, pixel_scale = _open_folder(data_dir, pixel_scale)
    path = idx_path(idx_set, 'test', 'images',
                    need='an out-of-distribution folder needs the MNIST-format test images')
    x = _pixels(_read_images(path, idx_set.transposed), pixel_scale)
    labels = np.zeros([len(x)], np.int64)
    rows, cols = x.shape[1:3]
    return make_dataset('mnist_ood', 'classification',
                        'out-of-distribution test images (%s) in %s: %d, %dx%d pixels / %g'
                        % (idx_set.title, path, len(x), rows, cols, pixel_scale),
                        x[:1], labels[:1], x, labels, num_classes=idx_set.num_classes or 10,
                        source=path)
