"""Random pen strokes framed like MNIST digits: synthetic near outliers.

A digit classifier sees only digits; nothing in its training tells it what a
pen stroke that is not a digit should do to its output. These images are such
strokes, for outlier exposure (`tfbnn.outliers.uniform_cross_entropy`): ink
with the digits' thickness, extent and framing, in shapes that are none of
the ten classes. They need no download. Each image:

  1. draws S ~ U{min_strokes, ..., max_strokes} quadratic Bezier curves
     B(t) = (1 - t)^2 P0 + 2 (1 - t) t P1 + t^2 P2, t in [0, 1], their
     control points uniform in the central 60% of a square canvas, with one
     round pen of width w ~ U(0.10, 0.16) x 60% of the canvas;
  2. frames the ink like an MNIST digit (`tfbnn.data.framing`): the longer
     side of its bounding box 20/28 of the image, centred by mass.

Two or more strokes make crossings and corners that no digit has; one stroke
alone is often a 1 or a 7, which is why the default starts at two.
"""
import numpy as np

from tfbnn.data.framing import frame_like_mnist, ink_to_pixels
from tfbnn.errors import ConfigError

__all__ = ['render_strokes', 'stroke_outliers']

_CANVAS = 100
_LOW, _HIGH = 0.2, 0.8  # the control points' range, in canvas widths
_PEN = (0.10, 0.16)  # the pen's width, in units of (_HIGH - _LOW) canvas widths
_POINTS = 40  # points per curve


def _curve(control):
    """The polyline of the quadratic Bezier curve with `control` [3, 2]."""
    t = np.linspace(0.0, 1.0, _POINTS)[:, None]
    return (1 - t) ** 2 * control[0] + 2 * (1 - t) * t * control[1] + t ** 2 * control[2]


def _draw(rng, strokes):
    """One image's ink on the canvas, cropped to it: uint8, white on black."""
    from PIL import Image, ImageDraw
    canvas = Image.new('L', (_CANVAS, _CANVAS), 0)
    pen = rng.uniform(*_PEN) * (_HIGH - _LOW) * _CANVAS
    draw = ImageDraw.Draw(canvas)
    for _ in range(strokes):
        points = _curve(rng.uniform(_LOW * _CANVAS, _HIGH * _CANVAS, size=(3, 2)))
        draw.line([tuple(p) for p in points], fill=255, width=int(round(pen)), joint='curve')
        for x, y in (points[0], points[-1]):  # round caps
            draw.ellipse([x - pen / 2, y - pen / 2, x + pen / 2, y + pen / 2], fill=255)
    pixels = np.asarray(canvas)
    rows, cols = np.nonzero(pixels)
    return pixels[rows.min():rows.max() + 1, cols.min():cols.max() + 1]


def render_strokes(count, height, width, rng, min_strokes=2, max_strokes=3):
    """`count` images of random pen strokes framed like MNIST digits.

    Args:
      count: number of images, >= 1.
      height, width: the image size, each >= 4.
      rng: a numpy RandomState (the images are a function of its state).
      min_strokes, max_strokes: the range of strokes per image,
        1 <= min_strokes <= max_strokes.

    Returns:
      float64 array [count, height, width], values in [0, 1], the ground 0
      and the ink 1.

    Raises:
      ConfigError: a bad count, size or stroke range.
    """
    if int(count) != count or count < 1:
        raise ConfigError('render_strokes: count must be a positive integer, got %r' % (count,))
    if min(height, width) < 4:
        raise ConfigError('strokes need images of at least 4x4 pixels, got %dx%d'
                          % (height, width))
    if not 1 <= min_strokes <= max_strokes or int(min_strokes) != min_strokes \
            or int(max_strokes) != max_strokes:
        raise ConfigError('render_strokes: need integers 1 <= min_strokes <= max_strokes, '
                          'got %r and %r' % (min_strokes, max_strokes))
    out = np.empty([int(count), height, width])
    for i in range(int(count)):
        out[i] = frame_like_mnist(_draw(rng, rng.randint(min_strokes, max_strokes + 1)),
                                  height, width)
    return out


def stroke_outliers(x, count, low, high, seed):
    """`count` stroke images in the pixel range and polarity of images `x`.

    Args:
      x: the data's images [N, height, width, channels].
      count: number of images.
      low, high: the data's pixel range.
      seed: int, the images are a function of it (and of the sizes).

    Returns:
      float32 array [count, height, width, channels] in [low, high]
      (`tfbnn.data.framing.ink_to_pixels`).

    Raises:
      ConfigError: `x` is not a batch of 2-D images with channels, or a bad
        count or size (see `render_strokes`).
    """
    if np.ndim(x) != 4:
        raise ConfigError('strokes need 2-D images [height, width, channels], got examples '
                          'of shape %s' % (list(np.shape(x)[1:]),))
    ink = render_strokes(count, x.shape[1], x.shape[2], np.random.RandomState(seed))
    return np.clip(ink_to_pixels(ink, x, low, high), low, high).astype(np.float32)
