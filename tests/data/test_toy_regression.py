"""tfbnn/data/toy_regression.py against the formula of Blundell et al. (2015)."""
import numpy as np
import pytest

from tfbnn.data.toy_regression import load_toy_regression, toy_regression_curve
from tfbnn.errors import ConfigError


def original_units(d, y):
    return y.astype(np.float64) * d.target_std + d.target_mean


def test_shapes_and_ranges():
    d = load_toy_regression(seed=0)
    assert d.name == 'toy_regression' and d.task == 'regression' and d.num_classes is None
    assert d.input_shape == (1,)
    assert d.x_train.shape == (256, 1) and d.x_test.shape == (256, 1)
    assert d.y_train.shape == (256,) and d.y_train.dtype == np.float32
    assert d.x_train.min() >= 0.0 and d.x_train.max() < 0.5
    np.testing.assert_allclose(d.x_test[:, 0], np.linspace(-0.2, 1.2, 256), rtol=1e-6)


def test_sizes_are_keywords():
    d = load_toy_regression(seed=0, num_train=10, num_test=3)
    assert d.x_train.shape == (10, 1) and d.x_test.shape == (3, 1)
    assert '10 train' in d.description and '3 test' in d.description


def test_targets_standardised_with_training_statistics():
    d = load_toy_regression(seed=0)
    assert d.y_train.mean() == pytest.approx(0.0, abs=1e-6)
    assert d.y_train.std() == pytest.approx(1.0, rel=1e-5)
    raw = original_units(d, d.y_train)
    assert d.target_mean == pytest.approx(raw.mean(), rel=1e-6)
    assert d.target_std == pytest.approx(raw.std(), rel=1e-5)
    # x is left in the original units: U(0, 0.5) has mean about 0.25.
    assert d.x_train.mean() == pytest.approx(0.25, abs=0.03)


@pytest.mark.parametrize('seed', [0, 7])
def test_every_point_follows_the_curve(seed):
    """Each (x, y) solves y = curve(x, eps) for some |eps| <= 5 sigma, and the
    smallest such eps has a root mean square close to sigma = 0.02.

    eps is searched on a grid of step 1e-5; the curve's slope in eps is at
    most 1 + 0.6 pi + 1.2 pi < 7, so the best grid point is within 3.5e-5 of
    a root, well under the 1e-4 tolerance. The smallest root is never larger
    in magnitude than the true eps (and equals it for most points), so its
    RMS is at most about 0.02 and, with 256 points, not much below.
    """
    d = load_toy_regression(seed=seed)
    grid = np.linspace(-0.1, 0.1, 20001)
    for x, y in ((d.x_train, d.y_train), (d.x_test, d.y_test)):
        x = x[:, 0].astype(np.float64)
        gap = np.abs(toy_regression_curve(x[:, None], grid[None, :])
                     - original_units(d, y)[:, None])
        solves = gap < 1e-4
        assert solves.any(axis=1).all()
        smallest = grid[np.argmin(np.where(solves, np.abs(grid), np.inf), axis=1)]
        assert 0.016 < np.sqrt(np.mean(smallest ** 2)) < 0.023
        assert abs(smallest.mean()) < 0.005


def test_curve_formula():
    x, eps = np.array([0.1, 0.25, -0.2]), np.array([0.0, 0.01, -0.02])
    z = x + eps
    expected = x + 0.3 * np.sin(2 * np.pi * z) + 0.3 * np.sin(4 * np.pi * z) + eps
    np.testing.assert_allclose(toy_regression_curve(x, eps), expected, rtol=1e-14)
    assert toy_regression_curve(0.25, 0.0) == pytest.approx(0.25 + 0.3)


def test_seeding():
    a, b, c = load_toy_regression(3), load_toy_regression(3), load_toy_regression(4)
    for key in ('x_train', 'y_train', 'x_test', 'y_test'):
        np.testing.assert_array_equal(getattr(a, key), getattr(b, key))
    assert not np.array_equal(a.x_train, c.x_train)
    assert not np.array_equal(a.y_test, c.y_test)


@pytest.mark.parametrize('kwargs,match', [
    (dict(seed=-1), 'toy_regression: seed must be at least 0, got -1'),
    (dict(seed=2 ** 32), 'toy_regression: seed must be at most 4294967295'),
    (dict(seed=1.0), 'toy_regression: seed must be an integer, got 1.0'),
    (dict(num_train=0), 'toy_regression: num_train must be at least 1, got 0'),
    (dict(num_test=None), 'toy_regression: num_test must be an integer, got None'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        load_toy_regression(**kwargs)
