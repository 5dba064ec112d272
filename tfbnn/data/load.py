"""`load_dataset`: one entry point that picks a loader by name.

Scripts call `load_dataset(flags.dataset, flags.data_dir, flags.split,
flags.seed)`; each loader takes only the arguments that mean something to it
(`seed` for the generated sets, `split` for 'uci', `data_dir` for the sets
read from files) and ignores the others.
"""
from tfbnn.data._common import check_int
from tfbnn.data.digits import load_digits
from tfbnn.data.mnist import load_mnist
from tfbnn.data.npz import load_npz
from tfbnn.data.toy_regression import load_toy_regression
from tfbnn.data.uci import load_uci
from tfbnn.data.volumes3d import load_volumes3d
from tfbnn.errors import ConfigError

__all__ = ['DATASETS', 'FILE_DATASETS', 'load_dataset']

DATASETS = ('digits', 'mnist', 'uci', 'toy_regression', 'volumes3d', 'npz')

# What --data-dir must point to, for the datasets read from files.
_DATA_DIR_HELP = {
    'mnist': 'the folder with the four IDX files (MNIST names, or with a dot before idx, or '
             "EMNIST's emnist-SPLIT-...)",
    'uci': 'a folder in the Hernandez-Lobato & Adams format: data.txt, '
           'index_features.txt, index_target.txt, index_train_K.txt, index_test_K.txt '
           '(or a folder whose data/ holds them)',
    'npz': 'a .npz file, or a folder with data.npz, holding x_train, y_train, '
           'x_test, y_test',
}
# The datasets read from --data-dir; the others are built in.
FILE_DATASETS = tuple(_DATA_DIR_HELP)


def load_dataset(name, data_dir=None, split=0, seed=0, pixel_scale=None):
    """Loads the dataset called `name`.

    Args:
      name: one of `DATASETS`.
      data_dir: str, path-like or None; the folder (or, for 'npz', the file)
        to read. Needed by 'mnist', 'uci' and 'npz'; ignored by the others.
      split: int, the split of a 'uci' set; ignored by the others.
      seed: int in [0, 2**32), seeds 'toy_regression' and 'volumes3d'; the
        others are fixed data ('digits' always uses the same split).
      pixel_scale: None or a positive float: 'mnist' divides the pixel bytes
        by it (default 255; Blundell et al. 2015 use 126). Only for 'mnist'.

    Returns:
      A `Dataset`.

    Raises:
      ConfigError: `name` is unknown, `data_dir` is missing for a dataset read
        from files, `split` is not an integer, `seed` is not one in range, or
        `pixel_scale` is given for a set other than 'mnist' or not positive.
      DataError: the data themselves are missing or invalid (see each loader).
    """
    if name not in DATASETS:
        raise ConfigError('unknown dataset %r: choose one of %s' % (name, ', '.join(DATASETS)))
    # A negative split is left to load_uci: which splits exist is a
    # property of the data folder, so it is a DataError there.
    split = check_int('load_dataset', 'split', split)
    seed = check_int('load_dataset', 'seed', seed, 0, 2 ** 32 - 1)
    if pixel_scale is not None and name != 'mnist':
        raise ConfigError('pixel_scale applies to dataset mnist only, not %r' % name)
    if name in _DATA_DIR_HELP and data_dir is None:
        raise ConfigError('dataset %r needs --data-dir (%s)' % (name, _DATA_DIR_HELP[name]))
    if name == 'digits':
        return load_digits()
    if name == 'mnist':
        return load_mnist(data_dir, 255.0 if pixel_scale is None else pixel_scale)
    if name == 'uci':
        return load_uci(data_dir, split)
    if name == 'toy_regression':
        return load_toy_regression(seed)
    if name == 'volumes3d':
        return load_volumes3d(seed)
    return load_npz(data_dir)
