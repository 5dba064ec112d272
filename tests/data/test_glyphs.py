"""tfbnn.data.glyphs: letters drawn in matplotlib's fonts, framed like MNIST digits;
and the `letters` kind of tfbnn.data.ood built on them."""
import os

import numpy as np
import pytest

from tfbnn import data
from tfbnn.data import glyphs
from tfbnn.data.ood import labelled_ood_images, make_ood_images
from tfbnn.errors import ConfigError

from tests.data.framing_checks import check_framed_like_mnist


def _letters(count=40, height=28, width=28, seed=0):
    return glyphs.render_letters(count, height, width, np.random.RandomState(seed))[0]


def test_every_font_is_shipped_by_matplotlib():
    assert len(glyphs.font_paths()) == len(glyphs.FONT_FILES) == 21


def test_letters_are_bright_strokes_on_a_zero_ground_in_the_unit_range():
    x = _letters()
    assert x.shape == (40, 28, 28)
    assert x.min() == 0.0 and x.max() <= 1.0
    np.testing.assert_array_less(0.9, x.max(axis=(1, 2)))  # every glyph reaches near-white
    # Mostly ground, as in MNIST (19% of its pixels are ink); letters are bolder.
    ink = (x > 0.1).mean()
    assert 0.1 < ink < 0.45, ink


def test_each_letter_fills_the_mnist_box_and_is_centred_by_mass():
    check_framed_like_mnist(_letters(count=60), 18, 21)  # the 20-pixel box


def test_the_box_scales_with_the_image_size():
    x = _letters(count=10, height=56, width=40)
    assert x.shape == (10, 56, 40)
    check_framed_like_mnist(x, 27, 30)  # 20/28 * 40


def test_the_labels_are_the_letters_drawn():
    x, labels = glyphs.render_letters(200, 28, 28, np.random.RandomState(2), 'IO')
    assert labels.dtype == np.int64 and set(labels.tolist()) == {0, 1}
    # An I is a bar, an O a ring: the O's have ink off the middle column, far more of it.
    ink_off_middle = (x[:, :, :11] + x[:, :, 17:]).sum(axis=(1, 2))
    assert ink_off_middle[labels == 1].min() > ink_off_middle[labels == 0].mean()
    assert 60 < (labels == 0).sum() < 140


def test_letters_are_seeded_and_varied():
    np.testing.assert_array_equal(_letters(count=5, seed=3), _letters(count=5, seed=3))
    assert np.abs(_letters(count=5, seed=3) - _letters(count=5, seed=4)).mean() > 0.05
    x = _letters(count=30)
    flat = x.reshape(30, -1)
    # No two of thirty images alike (ten letters, 21 faces, random shear and angle).
    distances = np.abs(flat[:, None] - flat[None]).mean(-1)
    assert distances[np.triu_indices(30, 1)].min() > 0.01


@pytest.mark.parametrize('count, height, width, letters, match', [
    (0, 28, 28, 'AB', 'count must be a positive integer'),
    (2.5, 28, 28, 'AB', 'count must be a positive integer'),
    (2, 3, 28, 'AB', 'at least 4x4 pixels, got 3x28'),
    (2, 28, 28, '', 'no letters given'),
    (2, 28, 28, ' ', "' ' draws nothing in [A-Za-z]"),
])
def test_bad_arguments_are_refused(count, height, width, letters, match):
    with pytest.raises(ConfigError, match=match):
        glyphs.render_letters(count, height, width, np.random.RandomState(0), letters)


def test_missing_fonts_name_the_folder(monkeypatch, tmp_path):
    import matplotlib
    monkeypatch.setattr(matplotlib, 'get_data_path', lambda: str(tmp_path))
    with pytest.raises(ConfigError, match='none of the fonts .* found in %s'
                       % os.path.join(str(tmp_path), 'fonts', 'ttf')):
        glyphs.font_paths()


def test_the_letters_kind_uses_the_datas_range_and_its_ground():
    dark = np.zeros([6, 28, 28, 2], np.float32)
    dark[:, 10:14, 10:14] = 2.0
    out = make_ood_images(dark, 'letters', -1.0, 2.0, seed=1)
    assert out.shape == dark.shape and out.dtype == np.float32
    np.testing.assert_array_equal(out[..., 0], out[..., 1])
    assert out.min() == -1.0 and out[:, 0, 0, 0].tolist() == [-1.0] * 6  # the dark ground
    ink, letters = glyphs.render_letters(6, 28, 28, np.random.RandomState(1))
    expected = -1.0 + 3.0 * ink
    np.testing.assert_allclose(out[..., 0], expected, atol=1e-6)
    same, labels = labelled_ood_images(dark, 'letters', -1.0, 2.0, seed=1)
    np.testing.assert_array_equal(same, out)
    np.testing.assert_array_equal(labels, letters)
    assert labelled_ood_images(dark, 'noise', -1.0, 2.0)[1].tolist() == [0] * 6
    # Dark strokes on a light ground (a mean above the range's middle): the ground is high.
    light = make_ood_images(2.0 - dark - 1.0, 'letters', -1.0, 2.0, seed=1)
    np.testing.assert_allclose(light[..., 0], 1.0 - expected, atol=1e-6)


def test_the_letters_kind_is_for_2d_images_and_a_named_kind():
    assert 'letters' in data.ALL_KINDS and 'letters' not in data.OOD_KINDS
    assert data.check_ood_kinds('noise,letters') == ('noise', 'letters')
    with pytest.raises(ConfigError, match='letters needs 2-D images'):
        make_ood_images(np.zeros([2, 8, 8, 8, 1]), 'letters', 0.0, 1.0)


def test_a_kind_is_the_same_images_whichever_kinds_come_with_it():
    digits = data.load_digits()
    alone = data.builtin_ood(digits, ('letters',)).x_test
    n = digits.x_test.shape[0]
    np.testing.assert_array_equal(data.builtin_ood(digits, ('noise', 'letters')).x_test[n:], alone)
    low, high = float(digits.x_train.min()), float(digits.x_train.max())
    np.testing.assert_array_equal(
        labelled_ood_images(digits.x_test, 'letters', low, high, data.kind_seed('letters'))[0],
        alone)
    # The default kinds keep the seeds they always had: their place in the list.
    assert [data.kind_seed(k) for k in data.OOD_KINDS] == [1234, 1235, 1236]
