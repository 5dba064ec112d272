"""tfbnn/data/digits.py against scikit-learn's copy of the data."""
import numpy as np
import pytest
import sklearn.datasets

from tfbnn.data.digits import load_digits


@pytest.fixture(scope='module')
def digits():
    return load_digits()


@pytest.fixture(scope='module')
def sklearn_digits():
    return sklearn.datasets.load_digits()


def test_split_sizes_and_types(digits):
    d = digits
    assert d.name == 'digits' and d.task == 'classification' and d.num_classes == 10
    assert d.input_shape == (8, 8, 1)
    assert d.x_train.shape == (1437, 8, 8, 1) and d.x_test.shape == (360, 8, 8, 1)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    assert (d.target_mean, d.target_std) == (0.0, 1.0)
    assert d.description == ("UCI optical digits 8x8 (scikit-learn's bundled copy): "
                             "1437 train / 360 test, 10 classes")


def test_values_are_counts_over_16(digits):
    x = np.concatenate([digits.x_train, digits.x_test])
    assert x.min() == 0.0 and x.max() == 1.0
    # Every pixel is a count 0..16 divided by 16, hence exact in float32.
    np.testing.assert_array_equal(x * 16, np.round(x * 16))


def test_matches_sklearn_under_the_fixed_permutation(digits, sklearn_digits):
    order = np.random.RandomState(0).permutation(1797)
    np.testing.assert_array_equal(digits.y_train, sklearn_digits.target[order[:1437]])
    np.testing.assert_array_equal(digits.y_test, sklearn_digits.target[order[1437:]])
    np.testing.assert_array_equal(digits.x_train[..., 0],
                                  (sklearn_digits.images[order[:1437]] / 16).astype(np.float32))
    np.testing.assert_array_equal(digits.x_test[..., 0],
                                  (sklearn_digits.images[order[1437:]] / 16).astype(np.float32))


def test_every_class_is_in_both_splits(digits):
    assert np.bincount(digits.y_train).min() > 120
    assert np.bincount(digits.y_test).min() > 20


def test_split_does_not_depend_on_the_global_seed():
    np.random.seed(99)
    a = load_digits()
    np.random.seed(5)
    np.testing.assert_array_equal(load_digits().y_train, a.y_train)
