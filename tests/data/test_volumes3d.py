"""tfbnn/data/volumes3d.py: shapes, balance, noise and separability."""
import numpy as np
import pytest

from tfbnn.data.volumes3d import VOLUME_CLASSES, load_volumes3d
from tfbnn.errors import ConfigError


@pytest.fixture(scope='module')
def noisy():
    return load_volumes3d(seed=0)


@pytest.fixture(scope='module')
def clean():
    return load_volumes3d(seed=0, noise_std=0.0)


def test_shapes_and_balance(noisy):
    d = noisy
    assert d.name == 'volumes3d' and d.task == 'classification' and d.num_classes == 3
    assert d.input_shape == (16, 16, 16, 1)
    assert d.x_train.shape == (600, 16, 16, 16, 1) and d.x_test.shape == (200, 16, 16, 16, 1)
    assert d.x_train.dtype == np.float32 and d.y_train.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(d.y_train), [200, 200, 200])
    np.testing.assert_array_equal(np.bincount(d.y_test), [67, 67, 66])
    assert '600 train / 200 test, 3 classes' in d.description


def test_sizes_are_keywords():
    d = load_volumes3d(seed=1, num_train=9, num_test=4)
    assert d.x_train.shape[0] == 9 and d.x_test.shape[0] == 4
    np.testing.assert_array_equal(np.bincount(d.y_train), [3, 3, 3])


def classify_clean(volume):
    """The class of a noise-free 0/1 volume from its geometry alone."""
    occupied = volume > 0.5
    box = tuple(slice(np.flatnonzero(occupied.any(axis=other)).min(),
                      np.flatnonzero(occupied.any(axis=other)).max() + 1)
                for other in ((1, 2), (0, 2), (0, 1)))
    if occupied[box].all():
        return VOLUME_CLASSES.index('cube')      # fills its bounding box
    centre = tuple((s.start + s.stop - 1) // 2 for s in box)
    if not occupied[centre]:
        return VOLUME_CLASSES.index('shell')     # hollow in the middle
    return VOLUME_CLASSES.index('ball')          # solid, but not a box


def test_clean_shapes_match_their_labels(clean):
    for x, y in ((clean.x_train, clean.y_train), (clean.x_test, clean.y_test)):
        assert set(np.unique(x)) == {0.0, 1.0}
        for volume, label in zip(x[..., 0], y):
            # Nothing touches the grid's faces: each shape lies wholly inside.
            assert not (volume[[0, -1]].any() or volume[:, [0, -1]].any()
                        or volume[:, :, [0, -1]].any())
            assert classify_clean(volume) == label


def test_classes_have_similar_mass(clean):
    """Sizes overlap, so the voxel count alone cannot tell the classes apart."""
    mass = clean.x_train.reshape(600, -1).sum(axis=1)
    ranges = [(mass[clean.y_train == k].min(), mass[clean.y_train == k].max())
              for k in range(3)]
    assert max(low for low, _ in ranges) < min(high for _, high in ranges)


def test_noise_is_gaussian_with_the_given_std(noisy, clean):
    """The noise is drawn last, so the same seed gives the same shapes."""
    np.testing.assert_array_equal(noisy.y_train, clean.y_train)
    noise = (noisy.x_train - clean.x_train).ravel().astype(np.float64)
    # 2.4 million draws: standard errors about 2e-4 for the mean and 1.4e-4 for the std.
    assert abs(noise.mean()) < 1e-3
    assert noise.std() == pytest.approx(0.3, abs=1e-3)


def test_centre_voxels_tell_shells_from_solids(noisy):
    """A trivial feature beats chance: the mean of the 8 central voxels is
    high for a ball or cube and low for a hollow shell."""
    centre = noisy.x_test[:, 7:9, 7:9, 7:9, 0].mean(axis=(1, 2, 3))
    predicted_shell = centre < 0.5
    is_shell = noisy.y_test == VOLUME_CLASSES.index('shell')
    accuracy = np.mean(predicted_shell == is_shell)
    assert accuracy > 0.9  # always answering "solid" scores 134 / 200 = 0.67


def test_seeding(noisy):
    again = load_volumes3d(seed=0)
    np.testing.assert_array_equal(noisy.x_test, again.x_test)
    other = load_volumes3d(seed=1, num_train=3, num_test=3)
    assert not np.array_equal(other.x_test, noisy.x_test[:3])


@pytest.mark.parametrize('kwargs,match', [
    (dict(noise_std=-0.1), 'volumes3d: noise_std must be a non-negative finite number'),
    (dict(num_train=2), 'volumes3d: num_train must be at least 3, got 2'),
    (dict(num_test=2.0), 'volumes3d: num_test must be an integer'),
    (dict(seed=-5), 'volumes3d: seed must be at least 0'),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        load_volumes3d(**kwargs)
