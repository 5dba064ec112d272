"""`hold_out_validation`: carve a validation split from the training data.

Hyperparameters, and the epoch at which to stop, are chosen on data the model
was not trained on and that is not the test set: the last examples of the
training split. For MNIST, holding out 10000 gives Blundell et al.'s (2015)
50000 / 10000 / 10000 protocol; the published UCI index files are random
permutations, so their last rows are a random subset (and `load_uci`
shuffles a list in sorted order: `tfbnn.data.uci.in_sorted_order`).
"""
import numbers

import numpy as np

from tfbnn.data._common import short_list, standardize
from tfbnn.errors import ConfigError

__all__ = ['hold_out_validation', 'validation_count', 'missing_classes_warning']


def validation_count(size, num_train):
    """The number of examples `size` asks for out of `num_train`.

    Args:
      size: a fraction in (0, 1) of the training examples, or a whole number
        of them >= 1 (an integral float such as 10000.0 counts as one).
      num_train: int, the training examples available.

    Returns:
      int in [1, num_train - 1].

    Raises:
      ConfigError: `size` is not a number, not in range, or leaves fewer
        than one training example.
    """
    if isinstance(size, bool) or not isinstance(size, numbers.Real) or not np.isfinite(size):
        raise ConfigError('--validation-size must be a fraction in (0, 1) or a number of '
                          'examples, got %r' % (size,))
    if 0 < size < 1:
        count = int(round(size * num_train))
    elif size >= 1 and float(size).is_integer():
        count = int(size)
    else:
        raise ConfigError('--validation-size must be a fraction in (0, 1) or a whole number '
                          'of examples >= 1, got %r' % (size,))
    if not 1 <= count <= num_train - 1:
        raise ConfigError('--validation-size %r asks for %d of the %d training examples; '
                          'at least one must be left on each side' % (size, count, num_train))
    return count


def hold_out_validation(dataset, size):
    """Moves the last `size` training examples into a validation split.

    Regression sets are re-standardised on the examples that remain for
    training: targets, and inputs the loader standardised (`input_mean` set,
    as UCI's), were standardised with statistics of the whole training
    split, which would leak the validation rows into the model's inputs.
    Standardisation is affine, so re-standardising the standardised values
    with the remaining rows' mean and std gives exactly what standardising
    the raw values with them would; `target_mean`, `target_std`,
    `input_mean` and `input_std` are updated so original units stay
    `y * target_std + target_mean` and raw inputs
    `x * input_std + input_mean`. Inputs the loader left as they were (npz,
    the toy curve) stay so. The test split is transformed alike and
    otherwise untouched.

    Args:
      dataset: a `tfbnn.data.Dataset` without a validation split.
      size: see `validation_count`.

    Returns:
      A `Dataset` with `x_train`, `y_train` shortened and `x_val`, `y_val`
      set; its description says how it was split.

    Raises:
      ConfigError: `size` is invalid, or `dataset` already has a validation
        split.
    """
    if dataset.x_val is not None:
        raise ConfigError('dataset %r already has a validation split' % dataset.name)
    n = dataset.x_train.shape[0]
    count = validation_count(size, n)
    keep = n - count
    x_train, x_val = dataset.x_train[:keep], dataset.x_train[keep:]
    y_train, y_val = dataset.y_train[:keep], dataset.y_train[keep:]
    x_test, y_test = dataset.x_test, dataset.y_test
    target_mean, target_std = dataset.target_mean, dataset.target_std
    input_mean, input_std = dataset.input_mean, dataset.input_std
    if dataset.task == 'regression':
        if input_mean is not None:
            x_train, x_val, x_test, input_mean, input_std = _restandardize(
                x_train, x_val, x_test, input_mean, input_std)
        y_train, y_val, y_test, target_mean, target_std = _restandardize(
            y_train, y_val, y_test, target_mean, target_std)
        target_mean, target_std = float(target_mean), float(target_std)
    description = ('%s | validation: the last %d of the %d training examples, %d left to '
                   'train on' % (dataset.description, count, n, keep))
    return dataset._replace(description=description, x_train=x_train, y_train=y_train,
                            x_val=x_val, y_val=y_val, x_test=x_test, y_test=y_test,
                            target_mean=target_mean, target_std=target_std,
                            input_mean=input_mean, input_std=input_std)


def missing_classes_warning(dataset):
    """One line saying that the validation split lacks classes the training part has.

    The split is the last examples in file order (`hold_out_validation`):
    from a file sorted by class it holds the last classes only, and the
    epoch early stopping keeps, or a hyperparameter chosen on it, is chosen
    on them. The split is not changed (the shipped sets' splits are fixed);
    the job prints this line.

    A shuffled file leaves classes out of a small split too (62 classes, 50
    examples). So the line is said only when more classes are missing than
    a random split of that size would leave out: with f_c the share of class
    c among the examples left to train on and n the split's size, a random
    split misses E = sum_c (1 - f_c)^n classes on average, and the line needs
    more than E + 2 sqrt(E).

    Args:
      dataset: a `tfbnn.data.Dataset`.

    Returns:
      None for a regression set, a set without a validation split, or one
      whose validation split has every class of its training part; else str.
    """
    if dataset.task != 'classification' or dataset.y_val is None:
        return None
    trained = np.unique(dataset.y_train)
    missing = np.setdiff1d(trained, dataset.y_val)
    shares = np.unique(dataset.y_train, return_counts=True)[1] / float(len(dataset.y_train))
    expected = np.sum((1.0 - shares) ** len(dataset.y_val))
    if missing.size <= expected + 2.0 * np.sqrt(expected):
        return None
    return ('the validation split (the last %d training examples, in file order) has '
            'examples of %d of the %d classes of the %d examples left to train on (none of '
            'class %s): early stopping and model choice judge on a skewed set; shuffle the '
            'training file' % (len(dataset.y_val), trained.size - missing.size, trained.size,
                               len(dataset.y_train), short_list(missing)))


def _restandardize(train, val, test, mean0, std0):
    """`train`, `val`, `test` (standardised with `mean0`, `std0`) standardised
    again with the statistics of `train`, and the one affine map of both.

    raw -> (raw - m0) / s0 -> that minus m1, over s1: mean m0 + s0 m1, std
    s0 s1. Whether a column is constant is judged in the raw units
    (`standardize`'s `scale`): a constant raw column is rounding noise here,
    which must stay ~0, not be blown up to +-1.

    Returns:
      `(train, val, test, mean, std)`, the arrays `float32`.
    """
    raw = np.abs(np.asarray(train, np.float64) * std0 + mean0).max(axis=0)
    train, val, mean, std = standardize(train, val, scale=raw / std0)
    test = ((test - mean) / std).astype(np.float32)
    return train, val, test, mean0 + std0 * mean, std0 * std
