"""The 8x8 UCI optical digits, a small image classification set needing no download.

Data: E. Alpaydin and C. Kaynak (1998), "Optical Recognition of Handwritten
Digits", UCI Machine Learning Repository, licensed CC BY 4.0. Read from the
copy bundled with scikit-learn (`sklearn.datasets.load_digits`, which holds
the 1797-image writer-independent test part of the UCI set):
32x32 bitmaps counted into 4x4 blocks, so each of the 8x8 pixels is 0..16.
"""
import warnings

import numpy as np

from tfbnn.data.dataset import make_dataset

__all__ = ['load_digits', 'DIGITS_NUM_TRAIN']

DIGITS_NUM_TRAIN = 1437  # of 1797; the remaining 360 are the test set
_SPLIT_SEED = 0  # fixed, so every run and every `seed` sees the same split


def load_digits():
    """Loads the 8x8 digits with a fixed 1437 / 360 train/test split.

    The 1797 images are shuffled with `np.random.RandomState(0)`, whatever
    seed the experiment uses, and the first 1437 become the training set.

    Returns:
      A classification `Dataset` named 'digits': `x` of shape `[N, 8, 8, 1]`
      with pixel counts divided by 16 (so in [0, 1]), `y` in 0..9.
    """
    # Imported here: scikit-learn is only needed for this one loader. Its
    # scipy wheels were built against a newer numpy ABI, which numpy reports
    # with a harmless RuntimeWarning at import; only that notice is hidden.
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='numpy.ufunc size changed',
                                category=RuntimeWarning)
        from sklearn.datasets import load_digits as sklearn_load_digits
    bunch = sklearn_load_digits()
    images = np.asarray(bunch.images, np.float64) / 16.0
    labels = np.asarray(bunch.target, np.int64)
    order = np.random.RandomState(_SPLIT_SEED).permutation(len(labels))
    train, test = order[:DIGITS_NUM_TRAIN], order[DIGITS_NUM_TRAIN:]
    description = ("UCI optical digits 8x8 (scikit-learn's bundled copy): "
                   "%d train / %d test, 10 classes" % (len(train), len(test)))
    return make_dataset('digits', 'classification', description,
                        images[train, :, :, None], labels[train],
                        images[test, :, :, None], labels[test],
                        num_classes=10, source='sklearn.datasets.load_digits')
