"""tfbnn.data.ood: the built-in out-of-distribution images, and their metrics in the job."""
import dataclasses
import json
import os

import numpy as np
import pytest

from tfbnn import data, run_config
from tfbnn.cli.train import main
from tfbnn.data.ood import make_ood_images
from tfbnn.errors import ConfigError


def _images(n=6, h=5, w=4, c=1, seed=0):
    return np.random.RandomState(seed).uniform(0.0, 2.0, size=(n, h, w, c)).astype(np.float32)


def test_inverted_reflects_each_pixel_in_the_training_range():
    x = _images()
    np.testing.assert_allclose(make_ood_images(x, 'inverted', 0.0, 2.0), 2.0 - x, rtol=1e-6)
    np.testing.assert_allclose(make_ood_images(x, 'inverted', -1.0, 3.0), 2.0 - x, rtol=1e-6)


def test_permuted_keeps_each_images_values_and_moves_them():
    x = _images()
    out = make_ood_images(x, 'permuted', 0.0, 2.0, seed=3)
    for a, b in zip(x, out):
        np.testing.assert_array_equal(np.sort(a.ravel()), np.sort(b.ravel()))
    assert np.mean(out != x) > 0.8
    np.testing.assert_array_equal(out, make_ood_images(x, 'permuted', 0.0, 2.0, seed=3))


def test_noise_is_smooth_spans_the_range_and_is_seeded():
    x = _images(n=50, h=12, w=12)
    out = make_ood_images(x, 'noise', 0.0, 2.0, seed=1)
    assert out.shape == x.shape and out.dtype == np.float32
    np.testing.assert_allclose(out.min(axis=(1, 2, 3)), 0.0, atol=1e-6)
    np.testing.assert_allclose(out.max(axis=(1, 2, 3)), 2.0, atol=1e-6)
    # A 3x3 box mean correlates neighbours: white noise would give ~0.
    right = np.corrcoef(out[:, :, :-1].ravel(), out[:, :, 1:].ravel())[0, 1]
    assert right > 0.5
    assert not np.array_equal(out, make_ood_images(x, 'noise', 0.0, 2.0, seed=2))


def test_builtin_ood_is_the_union_in_order_with_the_test_sets_shape():
    digits = data.load_digits()
    ood = data.builtin_ood(digits, ('inverted', 'noise'))
    m = digits.x_test.shape[0]
    assert ood.x_test.shape == (2 * m,) + digits.x_test.shape[1:]
    np.testing.assert_allclose(ood.x_test[:m], 1.0 - digits.x_test, atol=1e-6)
    assert 'inverted, noise' in ood.description


@pytest.mark.parametrize('kinds,match', [
    ('rotated', 'must be none or a comma-separated list of inverted, permuted, noise'),
    ('noise,noise', 'without repeats'),
])
def test_bad_kinds_are_refused(kinds, match):
    with pytest.raises(ConfigError, match=match):
        data.check_ood_kinds(kinds)


def test_regression_and_flat_inputs_are_refused():
    with pytest.raises(ConfigError, match='classification datasets only'):
        data.builtin_ood(data.load_toy_regression(), ('noise',))


def test_auto_picks_the_builtin_set_for_images_only():
    digits = data.load_digits()
    config = run_config.validate({})
    assert run_config.ood_kinds(config, digits) == data.OOD_KINDS
    assert run_config.ood_kinds(dataclasses.replace(config, ood_data_dir='x'), digits) == ()
    assert run_config.ood_kinds(dataclasses.replace(config, ood_set='none'), digits) == ()
    assert run_config.ood_kinds(run_config.validate(dict(ood_set='noise')), digits) == ('noise',)
    with pytest.raises(ConfigError, match='choose one out-of-distribution set'):
        run_config.validate(dict(ood_set='noise', ood_data_dir='x'))


def test_the_job_reports_the_auroc_of_each_kind_and_of_the_union(tmp_path, capsys):
    out = str(tmp_path / 'run')
    assert main(['--output-dir', out, '--epochs', '3', '--hidden', '16', '--eval-samples', '8',
                 '--progress', 'never']) == 0
    with open(os.path.join(out, 'metrics.json')) as f:
        metrics = json.load(f)
    for score in ('mi', 'entropy'):
        assert 0.0 <= metrics['ood_auroc_%s' % score] <= 1.0
        parts = [metrics['ood_auroc_%s_%s' % (score, k)] for k in data.OOD_KINDS]
        # The union's AUROC is the mean of the parts' (equal sizes, same negatives).
        assert metrics['ood_auroc_%s' % score] == pytest.approx(np.mean(parts), abs=1e-9)
    assert 'ood_auroc_mi ' in capsys.readouterr().out


def test_photos_are_grey_crops_in_the_range_that_differ_from_each_other():
    x = _images(n=8, h=28, w=28, c=2)
    out = make_ood_images(x, 'photos', 0.0, 2.0, seed=5)
    assert out.shape == x.shape
    np.testing.assert_array_equal(out[..., 0], out[..., 1])  # grey in every channel
    np.testing.assert_allclose(out.min(axis=(1, 2, 3)), 0.0, atol=1e-6)
    np.testing.assert_allclose(out.max(axis=(1, 2, 3)), 2.0, atol=1e-6)
    assert np.std(out.reshape(8, -1).mean(1)) > 0.01  # eight different crops
    # Photographs are smooth: neighbours correlate strongly.
    assert np.corrcoef(out[:, :, :-1].ravel(), out[:, :, 1:].ravel())[0, 1] > 0.7
    with pytest.raises(ConfigError, match='photos needs 2-D images'):
        make_ood_images(np.zeros([2, 4, 4, 4, 1]), 'photos', 0.0, 1.0)


@pytest.mark.parametrize('shape', [(2, 224, 224), (2, 8, 300), (2, 500, 260, 3)])
def test_photos_of_images_larger_than_half_a_photo(shape):
    """Crops of half the photos' shorter side (213), upsampled to the image."""
    out = make_ood_images(np.random.RandomState(0).rand(*shape), 'photos', 0.0, 1.0)
    assert out.shape == shape and out.min() == 0.0 and out.max() == 1.0


@pytest.mark.parametrize('kind', data.ALL_KINDS)
def test_images_without_a_channel_axis_get_the_one_channel_images(kind):
    x = np.random.RandomState(0).rand(6, 12, 10)  # npz images may be [N, height, width]
    flat = make_ood_images(x, kind, 0.0, 1.0, seed=3)
    assert flat.shape == x.shape
    np.testing.assert_array_equal(flat, make_ood_images(x[..., None], kind, 0.0, 1.0,
                                                        seed=3)[..., 0])
