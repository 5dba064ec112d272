"""tfbnn/data/sanity.py: the job's lines about legal but likely mistaken sets."""
import numpy as np
import pytest

from tfbnn.data import (channels_first_warning, dataset_warnings, hold_out_validation,
                        make_dataset, regression_targets_warning, untrained_classes_warning)


def classification(n=10):
    x = np.arange(n, dtype=np.float32)[:, None]
    y = np.arange(n) % 3
    return make_dataset('toy', 'classification', 'toy', x, y, x[:3], y[:3], num_classes=3)


def sorted_by_class(n=12):
    y = np.repeat(np.arange(3), n // 3)  # 0 0 0 0 1 1 1 1 2 2 2 2
    x = np.arange(n, dtype=np.float32)[:, None]
    return make_dataset('toy', 'classification', 'toy', x, y, x[:3], y[:3], num_classes=3)


def regression(n=50):
    x = np.random.RandomState(0).randn(n, 2).astype(np.float32)
    return make_dataset('reg', 'regression', 'reg', x, x[:, 0], x[:5], x[:5, 0])


def test_classes_without_a_training_example_are_named_with_where_they_are():
    """Labels 1..3 make 4 classes (0 never seen); a label only in the test
    split, and one only in the validation split, are untrained too."""
    y = np.array([1, 2, 3, 1, 2, 3, 1, 2, 3, 5, 5, 5])
    x = np.zeros((len(y), 1), np.float32)
    ds = hold_out_validation(make_dataset('toy', 'classification', 'toy', x, y, x[:5],
                                          np.array([1, 4, 4, 5, 2]), num_classes=6), 3)
    np.testing.assert_array_equal(ds.y_val, [5, 5, 5])
    assert untrained_classes_warning(ds) == (
        'no training example for 3 of the 6 classes (classes 0, 4, 5; 3 examples in the '
        'validation split; 3 examples in the test split), so the network never learns them and '
        'counts each of their examples as an error: class 5 only in the validation split (the '
        'last training examples, in file order): shuffle the training file; classes 0, 4 in no '
        'training file: labels should run 0..C-1 (renumber, e.g. with np.unique(y, '
        'return_inverse=True))')


def test_one_untrained_class_is_said_in_the_singular():
    y = np.array([1, 2, 1, 2])
    x = np.zeros((4, 1), np.float32)
    ds = make_dataset('toy', 'classification', 'toy', x, y, x[:2], np.array([0, 1]),
                      num_classes=3)
    assert untrained_classes_warning(ds) == (
        'no training example for 1 of the 3 classes (class 0; 1 example in the test split), so '
        'the network never learns them and counts each of their examples as an error: class 0 '
        'in no training file: labels should run 0..C-1 (renumber, e.g. with np.unique(y, '
        'return_inverse=True))')


def test_untrained_classes_cut_short_and_absent_in_no_split():
    y = np.arange(14, 30)
    x = np.zeros((len(y), 1), np.float32)
    ds = make_dataset('toy', 'classification', 'toy', x, y, x[:1], y[:1], num_classes=30)
    assert untrained_classes_warning(ds).startswith(
        'no training example for 14 of the 30 classes (classes 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, '
        '...), so ')


@pytest.mark.parametrize('make', [
    lambda: hold_out_validation(sorted_by_class(300), 20),
    lambda: hold_out_validation(classification(), 0.3),
    lambda: sorted_by_class(),
    lambda: hold_out_validation(regression(), 10)])
def test_no_untrained_class_warning_when_every_class_trains(make):
    assert untrained_classes_warning(make()) is None


def _images(shape, n=6):
    x = np.zeros([n] + shape, np.float32)
    y = np.arange(n) % 2
    return make_dataset('npz', 'classification', 'npz', x, y, x[:2], y[:2], num_classes=2)


@pytest.mark.parametrize('shape', [[1, 28, 28], [3, 32, 32], [4, 8, 5]])
def test_images_that_look_channels_first_are_named(shape):
    assert channels_first_warning(_images(shape)) == (
        "'npz' has examples of shape %s, read channels last: %d pixel(s) high, %d wide, with "
        "%d channels; if they are channels first (PyTorch's [N, C, H, W]), transpose the arrays "
        "to [N, H, W, C] first, e.g. x.transpose(0, 2, 3, 1)" % ((shape,) + tuple(shape)))


@pytest.mark.parametrize('shape', [[1, 16, 16, 16], [2, 8, 6, 5], [4, 5, 5, 5]])
def test_volumes_that_look_channels_first_are_named(shape):
    assert channels_first_warning(_images(shape)) is None  # not read as volumes
    assert channels_first_warning(_images(shape), volumes=True) == (
        "'npz' has examples of shape %s, read channels last: volumes %d deep, %d high and %d "
        "wide, with %d channels; if they are channels first (PyTorch's [N, C, D, H, W]), "
        "transpose the arrays to [N, D, H, W, C] first, e.g. x.transpose(0, 2, 3, 4, 1)"
        % ((shape,) + tuple(shape)))


@pytest.mark.parametrize('shape', [[28, 28, 1], [32, 32, 3], [28, 28], [1, 4, 28], [3, 28, 4],
                                   [2, 28, 28], [8, 8, 8, 1], [784], [5, 16, 16, 16],
                                   [2, 4, 16, 16], [16, 16, 16, 2]])
def test_channels_last_images_and_other_shapes_get_no_layout_warning(shape):
    assert channels_first_warning(_images(shape)) is None
    # read as volumes, a 3-D example is a volume of one channel
    assert channels_first_warning(_images(shape), volumes=True) is None


def test_the_job_says_every_warning_in_order():
    y = np.repeat([1, 2], 30)  # class 0 untrained; sorted: the split holds class 2 only
    x = np.zeros([60, 1, 8, 8], np.float32)
    ds = hold_out_validation(make_dataset('npz', 'classification', 'npz', x, y, x[:2], y[:2],
                                          num_classes=3), 20)
    said = dataset_warnings(ds)
    assert [w.split(' ')[:3] for w in said] == [["'npz'", 'has', 'examples'],
                                                ['no', 'training', 'example'],
                                                ['the', 'validation', 'split']]
    assert dataset_warnings(classification()) == []
    assert [w.split(' ')[0] for w in dataset_warnings(ds, flattens=True)] == ['no', 'the']


def _regression(y, name='npz'):
    """A regression set of raw targets `y`, standardised as the loaders do."""
    y = np.asarray(y, np.float64)
    mean, std = y.mean(), (y.std() if np.ptp(y) > 1e-10 * np.abs(y).max() else 1.0)
    x = np.zeros([len(y), 2], np.float32)
    return make_dataset(name, 'regression', name, x, (y - mean) / std, x[:2], np.zeros(2),
                        target_mean=float(mean), target_std=float(std))


def test_regression_targets_that_measure_nothing_or_look_like_labels_are_named():
    assert regression_targets_warning(_regression(np.full(12, 7.0), 'uci')) == (
        "'uci': every training target is 7, so the network learns a constant and its RMSE and "
        "log-likelihood measure nothing")
    assert regression_targets_warning(_regression(np.zeros(5))).startswith(
        "'npz': every training target is 0,")
    labels = _regression(np.arange(30) % 3)
    assert regression_targets_warning(labels) == (
        "'npz': y_train is floating-point, so this trains a regression, but it holds only the "
        "whole numbers 0, 1, 2: if these are class labels, store them as integers "
        "(y.astype(np.int64)) for a classifier")
    assert dataset_warnings(labels) == [regression_targets_warning(labels)]
    assert regression_targets_warning(regression()) is None
    assert regression_targets_warning(classification()) is None


@pytest.mark.parametrize('y', [
    1e-8 * np.random.RandomState(0).randn(50),  # small units: they vary
    1.7e9 + 10 * np.arange(100),  # timestamps: they vary
    3 + np.arange(60) % 6,  # wine quality 3..8: no 0, a regression's scale
    np.arange(12) % 3,  # 0, 1, 2 but four examples each: too few to call labels
    np.arange(100) % 30,  # 0..29: counts, not 20 classes or fewer
    np.arange(30) % 3 + 0.5,  # not whole
])
def test_targets_that_vary_and_do_not_look_like_labels_are_not_named(y):
    assert regression_targets_warning(_regression(y)) is None


def test_whole_numbers_of_a_uci_set_are_a_regression_s():
    assert regression_targets_warning(_regression(np.arange(30) % 3, 'uci')) is None
