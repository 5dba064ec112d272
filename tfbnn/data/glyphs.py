"""Letters rendered from the fonts matplotlib ships: near out-of-distribution
images for digit classifiers, needing no download.

notMNIST (Bulatov 2011) is the usual near-OOD test of an MNIST network: the
letters A-J in many typefaces. This module draws the same ten letters in the
21 text faces bundled with every matplotlib since 2.0 (DejaVu Sans, Sans Mono
and Serif, STIX and Computer Modern, regular, bold and slanted cuts), and
frames each like an MNIST digit (LeCun et al. 1998):

  1. the glyph is drawn white on black at 120 px, sheared by s ~ U(-0.15,
     0.15) (x' = x + s y) and rotated by a ~ U(-10, 10) degrees;
  2. its bounding box is resized (anti-aliased, aspect kept) so that the
     longer side is round(20 / 28 * min(height, width)) pixels;
  3. it is placed so that its centre of mass sits at the image centre
     (moved inwards where it would cross the edge).

So strokes, framing and pixel statistics are those of handwritten digits;
only the shapes are foreign, which makes this a much harder set than the
transformations of `tfbnn.data.ood`. Pixel values depend on the installed
FreeType (through Pillow) only at the level of anti-aliasing.
"""
import os

import numpy as np

from tfbnn.data.framing import frame_like_mnist
from tfbnn.errors import ConfigError

__all__ = ['LETTERS', 'FONT_FILES', 'font_paths', 'render_letters']

LETTERS = 'ABCDEFGHIJ'
FONT_FILES = (
    'DejaVuSans', 'DejaVuSans-Bold', 'DejaVuSans-Oblique', 'DejaVuSans-BoldOblique',
    'DejaVuSansMono', 'DejaVuSansMono-Bold', 'DejaVuSansMono-Oblique',
    'DejaVuSansMono-BoldOblique', 'DejaVuSerif', 'DejaVuSerif-Bold', 'DejaVuSerif-Italic',
    'DejaVuSerif-BoldItalic', 'STIXGeneral', 'STIXGeneralBol', 'STIXGeneralItalic',
    'STIXGeneralBolIta', 'cmr10', 'cmb10', 'cmss10', 'cmtt10', 'cmmi10')
_DRAW_SIZE = 120
_CANVAS = 200
_MAX_SHEAR = 0.15
_MAX_ANGLE = 10.0


def font_paths():
    """The paths of `FONT_FILES` in matplotlib's data folder.

    Raises:
      ConfigError: matplotlib is missing or ships none of the faces.
    """
    try:
        import matplotlib
    except ImportError:
        raise ConfigError('the letters OOD set needs matplotlib (its bundled fonts): '
                          'pip install matplotlib')
    folder = os.path.join(matplotlib.get_data_path(), 'fonts', 'ttf')
    paths = [os.path.join(folder, name + '.ttf') for name in FONT_FILES]
    found = [p for p in paths if os.path.isfile(p)]
    if not found:
        raise ConfigError('the letters OOD set: none of the fonts %s found in %s'
                          % (', '.join(FONT_FILES[:3]) + ', ...', folder))
    return found


def _draw(font, letter, shear, angle):
    """The glyph as a cropped uint8 array, white on black."""
    from PIL import Image, ImageDraw
    canvas = Image.new('L', (_CANVAS, _CANVAS), 0)
    ImageDraw.Draw(canvas).text((_CANVAS // 5, _CANVAS // 10), letter, fill=255, font=font)
    half = _CANVAS / 2.0
    canvas = canvas.transform(canvas.size, Image.AFFINE, (1, shear, -shear * half, 0, 1, 0),
                              resample=Image.BILINEAR)
    pixels = np.asarray(canvas.rotate(angle, resample=Image.BILINEAR, center=(half, half)))
    rows, cols = np.nonzero(pixels)
    if rows.size == 0:
        raise ConfigError('render_letters: %r draws nothing in %s'
                          % (letter, os.path.basename(font.path)))
    return pixels[rows.min():rows.max() + 1, cols.min():cols.max() + 1]


def render_letters(count, height, width, rng, letters=LETTERS):
    """`count` letters framed like MNIST digits, bright on a dark ground.

    Each image draws its letter, face, shear and angle from `rng`, then the
    steps of the module docstring.

    Args:
      count: number of images, >= 1.
      height, width: the image size, each >= 4.
      rng: a numpy RandomState.
      letters: the characters to draw from.

    Returns:
      (images, labels): float64 array [count, height, width], values in
      [0, 1], the ground 0; int64 array [count], each image's index into
      `letters`.

    Raises:
      ConfigError: a bad size or count, or no fonts (see `font_paths`).
    """
    if int(count) != count or count < 1:
        raise ConfigError('render_letters: count must be a positive integer, got %r' % (count,))
    if min(height, width) < 4:
        raise ConfigError('the letters OOD set needs images of at least 4x4 pixels, got %dx%d'
                          % (height, width))
    if not letters:
        raise ConfigError('render_letters: no letters given')
    from PIL import ImageFont
    fonts = [ImageFont.truetype(path, _DRAW_SIZE) for path in font_paths()]
    out = np.empty([int(count), height, width])
    labels = np.empty([int(count)], np.int64)
    for i in range(int(count)):
        labels[i] = rng.randint(len(letters))
        font = fonts[rng.randint(len(fonts))]
        glyph = _draw(font, letters[labels[i]], rng.uniform(-_MAX_SHEAR, _MAX_SHEAR),
                      rng.uniform(-_MAX_ANGLE, _MAX_ANGLE))
        out[i] = frame_like_mnist(glyph, height, width)
    return out, labels
