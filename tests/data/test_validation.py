"""tfbnn/data/validation.py: the held-out split and its re-standardisation."""
import numpy as np
import pytest

from tfbnn.data import (hold_out_validation, make_dataset, missing_classes_warning,
                        validation_count)
from tfbnn.data._common import standardize
from tfbnn.errors import ConfigError


def _classification(n=10):
    x = np.arange(n * 2, dtype=np.float32).reshape(n, 2)
    return make_dataset('toy', 'classification', 'toy', x, np.arange(n) % 3, x[:4],
                        np.arange(4) % 3, num_classes=3)


def _regression(n=50, seed=0):
    rng = np.random.RandomState(seed)
    raw_x = rng.randn(n, 3) * [1.0, 5.0, 0.1] + [3.0, -2.0, 7.0]
    raw_y = raw_x @ [1.0, 0.5, 2.0] + rng.randn(n)
    raw_xt, raw_yt = raw_x[:7] + 1.0, raw_y[:7] - 2.0
    mean_x, std_x = raw_x.mean(0), raw_x.std(0)
    mean_y, std_y = raw_y.mean(), raw_y.std()
    ds = make_dataset('reg', 'regression', 'reg', (raw_x - mean_x) / std_x,
                      (raw_y - mean_y) / std_y, (raw_xt - mean_x) / std_x,
                      (raw_yt - mean_y) / std_y, target_mean=mean_y, target_std=std_y,
                      input_mean=mean_x, input_std=std_x)
    return ds, raw_x, raw_y, raw_xt, raw_yt


@pytest.mark.parametrize('size,count', [(0.2, 2), (3, 3), (3.0, 3), (0.05, 0)])
def test_count_from_fraction_or_number(size, count):
    if count == 0:
        with pytest.raises(ConfigError, match='asks for 0 of the 10 training examples'):
            validation_count(size, 10)
    else:
        assert validation_count(size, 10) == count


@pytest.mark.parametrize('size,match', [
    (True, 'must be a fraction in \\(0, 1\\) or a number of examples, got True'),
    ('0.2', "got '0.2'"), (float('nan'), 'got nan'), (2.5, 'whole number'),
    (-1, 'whole number of examples >= 1, got -1'), (10, 'asks for 10 of the 10')])
def test_bad_sizes(size, match):
    with pytest.raises(ConfigError, match=match):
        validation_count(size, 10)


def test_classification_keeps_the_first_examples_for_training():
    ds = hold_out_validation(_classification(), 0.3)
    np.testing.assert_array_equal(ds.x_train, np.arange(14).reshape(7, 2))
    np.testing.assert_array_equal(ds.x_val, np.arange(14, 20).reshape(3, 2))
    np.testing.assert_array_equal(ds.y_val, [7 % 3, 8 % 3, 9 % 3])
    np.testing.assert_array_equal(ds.x_test, _classification().x_test)
    assert ds.description.endswith('validation: the last 3 of the 10 training examples, 7 '
                                   'left to train on')
    with pytest.raises(ConfigError, match="dataset 'toy' already has a validation split"):
        hold_out_validation(ds, 1)


def test_regression_is_restandardised_on_the_remaining_rows():
    ds, raw_x, raw_y, raw_xt, raw_yt = _regression()
    out = hold_out_validation(ds, 10)
    keep = 40
    mean_x, std_x = raw_x[:keep].mean(0), raw_x[:keep].std(0)
    mean_y, std_y = raw_y[:keep].mean(), raw_y[:keep].std()
    # Exactly what standardising the raw values with the kept rows gives.
    np.testing.assert_allclose(out.x_train, (raw_x[:keep] - mean_x) / std_x, atol=1e-5)
    np.testing.assert_allclose(out.x_val, (raw_x[keep:] - mean_x) / std_x, atol=1e-5)
    np.testing.assert_allclose(out.x_test, (raw_xt - mean_x) / std_x, atol=1e-5)
    np.testing.assert_allclose(out.y_test, (raw_yt - mean_y) / std_y, atol=1e-5)
    assert out.target_mean == pytest.approx(mean_y, rel=1e-6)
    assert out.target_std == pytest.approx(std_y, rel=1e-6)
    # Original units survive: y * target_std + target_mean, x * input_std + input_mean.
    np.testing.assert_allclose(out.y_val * out.target_std + out.target_mean, raw_y[keep:],
                               rtol=1e-5, atol=1e-4)
    np.testing.assert_allclose(out.input_mean, mean_x, rtol=1e-6)  # the kept rows'
    np.testing.assert_allclose(out.input_std, std_x, rtol=1e-6)


def test_regression_inputs_the_loader_left_as_they_were_stay_so():
    """npz and the toy curve: the run's graph, exported, takes the stored inputs."""
    _, raw_x, raw_y, raw_xt, raw_yt = _regression()
    ds = make_dataset('reg', 'regression', 'reg', raw_x, raw_y - raw_y.mean(), raw_xt,
                      raw_yt - raw_y.mean(), target_mean=raw_y.mean())
    out = hold_out_validation(ds, 10)
    np.testing.assert_array_equal(out.x_train, raw_x[:40].astype(np.float32))
    np.testing.assert_array_equal(out.x_val, raw_x[40:].astype(np.float32))
    np.testing.assert_array_equal(out.x_test, raw_xt.astype(np.float32))
    assert out.input_mean is None and out.input_std is None


def test_a_constant_input_column_stays_constant_after_the_hold_out():
    """A raw column constant at 0.998 (one rounding step of noise) is ~0 after
    the loader and stays ~0, std 1, when re-standardised on the kept rows."""
    rng = np.random.RandomState(0)
    raw = np.stack([0.998 * (1 + rng.randint(-1, 2, 50) * np.finfo(np.float64).eps),
                    rng.randn(50)], axis=1)
    x, xt, mean, std = standardize(raw, raw[:5])
    y = rng.randn(50).astype(np.float32)
    ds = make_dataset('reg', 'regression', 'reg', x, y, xt, y[:5], input_mean=mean,
                      input_std=std)
    out = hold_out_validation(ds, 10)
    assert out.input_std[0] == 1.0 and out.input_mean[0] == pytest.approx(0.998, rel=1e-15)
    for split in (out.x_train, out.x_val, out.x_test):
        np.testing.assert_allclose(split[:, 0], 0.0, atol=1e-12)


def _sorted_by_class(n=12):
    y = np.repeat(np.arange(3), n // 3)  # 0 0 0 0 1 1 1 1 2 2 2 2
    x = np.arange(n, dtype=np.float32)[:, None]
    return make_dataset('toy', 'classification', 'toy', x, y, x[:3], y[:3], num_classes=3)


def test_a_validation_split_without_some_training_classes_is_named():
    ds = hold_out_validation(_sorted_by_class(300), 20)  # class 2 only
    assert missing_classes_warning(ds) == (
        'the validation split (the last 20 training examples, in file order) has examples of 1 '
        'of the 3 classes of the 280 examples left to train on (none of class 0, 1): early '
        'stopping and model choice judge on a skewed set; shuffle the training file')
    np.testing.assert_array_equal(ds.y_val, [2] * 20)  # the split itself is unchanged


def test_classes_a_random_split_would_miss_too_are_no_warning():
    """A shuffled set of 62 classes with a split of 50 misses about 28
    classes by chance (sum of (1 - 1/62)^50): no line. Sorted by class, the
    split holds the last 2.5 classes, and of the 60 left to train on it has
    one."""
    y = np.random.RandomState(0).permutation(np.repeat(np.arange(62), 20))
    x = np.zeros((len(y), 1), np.float32)
    shuffled = hold_out_validation(make_dataset('toy', 'classification', 'toy', x, y, x[:2],
                                                y[:2], num_classes=62), 50)
    assert 20 < 62 - np.unique(shuffled.y_val).size < 40
    assert missing_classes_warning(shuffled) is None
    ordered = hold_out_validation(make_dataset('toy', 'classification', 'toy', x, np.sort(y),
                                               x[:2], y[:2], num_classes=62), 50)
    assert 'has examples of 1 of the 60 classes' in missing_classes_warning(ordered)


@pytest.mark.parametrize('make', [
    lambda: hold_out_validation(_sorted_by_class(), 9),  # 0 1 1 1 1 2 2 2 2: class 0 too
    lambda: hold_out_validation(_sorted_by_class(), 2),  # 2 2: a random 2 of 10 could be
    lambda: hold_out_validation(_classification(), 0.3),
    lambda: _sorted_by_class(),  # no validation split
    lambda: hold_out_validation(_regression()[0], 10)])
def test_no_warning_when_every_class_is_there_or_none_apply(make):
    assert missing_classes_warning(make()) is None


def test_many_missing_classes_are_cut_short():
    y = np.repeat(np.arange(13), 40)
    x = np.zeros((len(y), 1), np.float32)
    ds = hold_out_validation(make_dataset('toy', 'classification', 'toy', x, y, x[:2], y[:2],
                                          num_classes=13), 20)
    assert '1 of the 13 classes' in missing_classes_warning(ds)
    assert '(none of class 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, ...)' in missing_classes_warning(ds)
