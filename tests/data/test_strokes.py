"""tfbnn.data.strokes: random pen strokes framed like MNIST digits, and their
placement in a dataset's pixel range (tfbnn.data.framing.ink_to_pixels)."""
import numpy as np
import pytest

from tfbnn import data
from tfbnn.data import strokes
from tfbnn.errors import ConfigError

from tests.data.framing_checks import check_framed_like_mnist


def _strokes(count=40, height=28, width=28, seed=0, **kw):
    return strokes.render_strokes(count, height, width, np.random.RandomState(seed), **kw)


def test_strokes_are_bright_ink_on_a_zero_ground_in_the_unit_range():
    x = _strokes()
    assert x.shape == (40, 28, 28) and x.dtype == np.float64
    assert x.min() == 0.0 and x.max() <= 1.0
    np.testing.assert_array_less(0.9, x.max(axis=(1, 2)))  # every image has full ink
    ink = (x > 0.1).mean()
    assert 0.08 < ink < 0.35, ink  # mostly ground, as MNIST (19% ink)


def test_each_image_fills_the_mnist_box_and_is_centred_by_mass():
    check_framed_like_mnist(_strokes(count=60, seed=1), 18, 21)  # the 20-pixel box


def test_the_box_scales_with_the_image_size():
    x = _strokes(count=10, height=56, width=40)
    assert x.shape == (10, 56, 40)
    check_framed_like_mnist(x, 27, 30)  # 20/28 * 40


def test_the_images_are_a_function_of_the_random_state():
    np.testing.assert_array_equal(_strokes(count=5, seed=3), _strokes(count=5, seed=3))
    assert np.abs(_strokes(count=5, seed=3) - _strokes(count=5, seed=4)).max() > 0.5


def test_each_stroke_adds_ink_before_framing():
    # On the canvas (before framing rescales it), S strokes of one pen draw
    # about S times the ink of one, less their crossings.
    def ink(count):
        rng = np.random.RandomState(5)
        return np.mean([(strokes._draw(rng, count) > 127).sum() for _ in range(60)])
    assert 2.2 < ink(3) / ink(1) < 3.05, (ink(1), ink(3))


@pytest.mark.parametrize('kw, match', [
    (dict(count=0), 'count must be a positive integer'),
    (dict(count=2.5), 'count must be a positive integer'),
    (dict(height=3), 'at least 4x4'),
    (dict(min_strokes=0), '1 <= min_strokes <= max_strokes'),
    (dict(min_strokes=3, max_strokes=2), '1 <= min_strokes <= max_strokes'),
    (dict(max_strokes=2.5), '1 <= min_strokes <= max_strokes'),
])
def test_bad_arguments_are_one_line_errors(kw, match):
    args = dict(count=2, height=28, width=28, rng=np.random.RandomState(0))
    args.update(kw)
    with pytest.raises(ConfigError, match=match) as info:
        strokes.render_strokes(**args)
    assert '\n' not in str(info.value)


def test_outliers_take_the_data_range_polarity_and_channels():
    dark = np.zeros([6, 12, 10, 3], np.float32)
    dark[:, 4:8] = 2.0  # a dark ground, range [0, 2] as with --pixel-scale 126
    out = data.stroke_outliers(dark, 7, 0.0, 2.0, seed=1)
    assert out.shape == (7, 12, 10, 3) and out.dtype == np.float32
    assert out.min() == 0.0 and out.max() <= 2.0
    np.testing.assert_array_equal(out[..., 0], out[..., 2])  # grey over the channels
    ground = np.median(out)
    assert ground == 0.0  # the ground is the dark end, as in the data
    light = data.stroke_outliers(2.0 - dark + 0.5 * (dark == 2.0), 7, 0.0, 2.0, seed=1)
    assert np.median(light) == 2.0  # mostly-light data: light ground, dark ink
    # The same ink in both: light = low + high - dark.
    np.testing.assert_allclose(light, 2.0 - out, atol=1e-6)


def test_outliers_are_a_function_of_the_seed():
    x = np.zeros([3, 8, 8, 1], np.float32)
    np.testing.assert_array_equal(data.stroke_outliers(x, 4, 0.0, 1.0, seed=9),
                                  data.stroke_outliers(x, 4, 0.0, 1.0, seed=9))
    assert not np.array_equal(data.stroke_outliers(x, 4, 0.0, 1.0, seed=9),
                              data.stroke_outliers(x, 4, 0.0, 1.0, seed=10))


def test_outliers_need_2d_images():
    with pytest.raises(ConfigError, match=r'2-D images \[height, width, channels\], got '
                                          r'examples of shape \[8, 8, 8, 1\]'):
        data.stroke_outliers(np.zeros([2, 8, 8, 8, 1]), 2, 0.0, 1.0, seed=0)
