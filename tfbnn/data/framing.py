"""Framing a drawn shape as MNIST frames a digit (LeCun et al. 1998).

MNIST's digits were size-normalised to fit a 20x20 box, aspect ratio kept,
then placed in the 28x28 image so that their centre of mass is at its
centre. `frame_like_mnist` does the same at any image size, so images drawn
by the package (letters, strokes) share the digits' framing and differ from
them in shape only; `ink_to_pixels` puts such ink in a dataset's pixel range.
"""
import numpy as np

__all__ = ['frame_like_mnist', 'ink_to_pixels']


def frame_like_mnist(glyph, height, width):
    """`glyph` scaled into the MNIST box and centred by mass.

    The longer side of `glyph` is resized (Lanczos, aspect kept) to
    b = round(20 / 28 * min(height, width)) pixels; the result is placed so
    that its centre of mass (sum_ij p_ij (i, j) / sum_ij p_ij) sits at
    (height / 2, width / 2), moved inwards where it would cross an edge.

    Args:
      glyph: uint8 array [rows, cols], white (255) on black (0), cropped to
        its ink.
      height, width: the image size.

    Returns:
      float64 array [height, width], values in [0, 1], the ground 0.
    """
    from PIL import Image
    box = max(1, int(round(20.0 / 28.0 * min(height, width))))
    scale = float(box) / max(glyph.shape)
    h = min(height, max(1, int(round(glyph.shape[0] * scale))))
    w = min(width, max(1, int(round(glyph.shape[1] * scale))))
    small = np.asarray(Image.fromarray(glyph).resize((w, h), Image.LANCZOS), np.float64)
    small = np.clip(small, 0.0, 255.0) / 255.0
    mass = max(small.sum(), 1e-12)
    rows, cols = np.mgrid[:h, :w]
    top = int(round(height / 2.0 - (rows * small).sum() / mass))
    left = int(round(width / 2.0 - (cols * small).sum() / mass))
    top, left = min(max(top, 0), height - h), min(max(left, 0), width - w)
    out = np.zeros([height, width])
    out[top:top + h, left:left + w] = small
    return out


def ink_to_pixels(ink, x, low, high):
    """Ink in [0, 1] drawn in the pixel range and polarity of images `x`.

    The ground is the end of [low, high] nearer the mean of `x` (dark for
    MNIST, light for a set of dark ink on white), the ink the other end, and
    the grey value is repeated over the channels of `x`.

    Args:
      ink: float array [count, height, width] in [0, 1].
      x: the data's images [N, height, width, channels].
      low, high: the data's pixel range.

    Returns:
      float64 array [count, height, width, channels] in [low, high].
    """
    dark_ground = np.mean(x) <= (low + high) / 2.0
    grey = low + (high - low) * (ink if dark_ground else 1.0 - ink)
    return np.repeat(grey[..., None], np.shape(x)[-1], axis=-1)
