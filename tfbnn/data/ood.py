"""Built-in out-of-distribution images: made from a dataset's own test images,
so they need no download and have exactly its shape and pixel range.

Three kinds (`OOD_KINDS`, the default set), each a transformation that keeps
what a careless detector would look at (the shape, the range, for `permuted`
even each image's histogram of pixel values) and destroys what makes the
image a member of its classes:

  inverted:  x' = hi + lo - x, hi and lo the training pixel range
             (a light digit on a dark ground becomes a dark one on light).
  permuted:  each image's pixels in a random order (the same values, no
             strokes left).
  noise:     uniform noise in [lo, hi] smoothed by a 3x3 box filter over the
             spatial axes and stretched back to [lo, hi] (blobs, not strokes).

And two kinds of new images, not transformations (asked for by name; for
2-D images only):

  photos:    random square crops of the two photographs scikit-learn ships
             (`sklearn.datasets.load_sample_images`: a temple and a flower),
             in grey, resized to the images' height and width and stretched
             to [lo, hi]. Natural-image patches: smooth regions, edges,
             textures.
  letters:   notMNIST's letters A-J drawn in the fonts matplotlib ships and
             framed like MNIST digits (`tfbnn.data.glyphs`): the ground at
             whichever end of [lo, hi] the test images' mean is nearer, the
             strokes at the other end. Strokes and framing of a digit with a
             foreign shape: the near out-of-distribution test, far harder
             than the others.

The set used by the training job is the union of the kinds asked for, one
image per test image and kind. Each kind has its own fixed seed
(`kind_seed`), so a kind is the same images whichever others it comes with.

None of these is a real out-of-distribution dataset (Fashion-MNIST, KMNIST,
notMNIST ...): the transformations test that the predictive's uncertainty
rises off the data at all, `letters` how it does near it. For a real set,
pass its folder to `--ood-data-dir`.
"""
import numpy as np

from tfbnn.data.dataset import make_dataset
from tfbnn.data.framing import ink_to_pixels
from tfbnn.data.glyphs import render_letters
from tfbnn.errors import ConfigError

__all__ = ['OOD_KINDS', 'ALL_KINDS', 'check_ood_kinds', 'kind_seed', 'make_ood_images',
           'labelled_ood_images', 'builtin_ood']

OOD_KINDS = ('inverted', 'permuted', 'noise')
ALL_KINDS = OOD_KINDS + ('photos', 'letters')
_DRAWN = ('photos', 'letters')
_SEED = 1234


def check_ood_kinds(kinds):
    """The kinds as a tuple; raises ConfigError for an unknown or repeated one."""
    if isinstance(kinds, str):
        kinds = [k for k in kinds.replace(',', ' ').split() if k]
    kinds = tuple(kinds)
    bad = [k for k in kinds if k not in ALL_KINDS]
    if bad or len(set(kinds)) != len(kinds):
        raise ConfigError('--ood-set must be none or a comma-separated list of %s without '
                          'repeats, got %r' % (', '.join(ALL_KINDS), ','.join(kinds)))
    return kinds


def kind_seed(kind, seed=_SEED):
    """The seed `builtin_ood` makes `kind` with: `seed` plus its place in `ALL_KINDS`."""
    return seed + ALL_KINDS.index(check_ood_kinds([kind])[0])


def _smooth(x, spatial_axes):
    """3x3(x3) box mean over the spatial axes, edges padded by reflection."""
    out = x
    for axis in spatial_axes:
        pad = [(0, 0)] * x.ndim
        pad[axis] = (1, 1)
        p = np.pad(out, pad, mode='reflect' if x.shape[axis] > 1 else 'edge')
        n = x.shape[axis]
        out = (np.take(p, range(0, n), axis) + np.take(p, range(1, n + 1), axis)
               + np.take(p, range(2, n + 2), axis)) / 3.0
    return out


def _stretch(images, low, high):
    """Each image linearly mapped onto [low, high] (its min to low, max to high)."""
    flat = images.reshape(images.shape[0], -1)
    lo, hi = flat.min(1, keepdims=True), flat.max(1, keepdims=True)
    return (low + (high - low) * (flat - lo) / np.maximum(hi - lo, 1e-12)).reshape(images.shape)


def _photo_crops(count, height, width, rng):
    """`count` grey crops of scikit-learn's sample photographs in [0, 1], [count, h, w]."""
    import warnings
    with warnings.catch_warnings():
        warnings.filterwarnings('ignore', message='numpy.ufunc size changed',
                                category=RuntimeWarning)
        from sklearn.datasets import load_sample_images
    from PIL import Image
    photos = [Image.fromarray(image).convert('L') for image in load_sample_images().images]
    out = np.empty([count, height, width])
    for i in range(count):
        photo = photos[rng.randint(len(photos))]
        # a square of a random side up to half the photo's shorter one, at
        # least the image's (images larger than that are crops upsampled)
        most = min(photo.size) // 2
        side = rng.randint(min(max(height, width), most), most + 1)
        left = rng.randint(photo.size[0] - side + 1)
        top = rng.randint(photo.size[1] - side + 1)
        crop = photo.crop((left, top, left + side, top + side)).resize((width, height),
                                                                      Image.BILINEAR)
        out[i] = np.asarray(crop, np.float64) / 255.0
    return out


def make_ood_images(x, kind, low, high, seed=_SEED):
    """One transformed copy of images `x` (`[N] + input_shape`).

    Args:
      x: float array of images, channels last, at least one spatial axis
        (`[N, H, W]` is one-channel images).
      kind: one of `ALL_KINDS`.
      low, high: the pixel range of the training data.
      seed: the random state of every kind but `inverted`.

    Returns:
      float32 array of the same shape, values in [low, high].
    """
    return labelled_ood_images(x, kind, low, high, seed)[0]


def labelled_ood_images(x, kind, low, high, seed=_SEED):
    """`make_ood_images` and a label per image: for `letters` the letter's
    index into `tfbnn.data.glyphs.LETTERS` (A = 0), for the other kinds 0."""
    check_ood_kinds([kind])
    x = np.asarray(x, np.float64)
    if x.ndim == 3:  # [N, H, W]: one-channel images, made as [N, H, W, 1]
        out, labels = labelled_ood_images(x[..., None], kind, low, high, seed)
        return out[..., 0], labels
    rng = np.random.RandomState(seed)
    labels = np.zeros([x.shape[0]], np.int64)
    if kind == 'inverted':
        out = high + low - x
    elif kind in _DRAWN:
        if x.ndim != 4:
            raise ConfigError("--ood-set %s needs 2-D images, [height, width] or [height, width, "
                              "channels], got examples of shape %s" % (kind, x.shape[1:]))
        if kind == 'photos':
            grey = _stretch(_photo_crops(x.shape[0], x.shape[1], x.shape[2], rng), low, high)
            out = np.repeat(grey[..., None], x.shape[-1], axis=-1)
        else:
            ink, labels = render_letters(x.shape[0], x.shape[1], x.shape[2], rng)
            out = ink_to_pixels(ink, x, low, high)
    elif kind == 'permuted':
        flat = x.reshape(x.shape[0], -1)
        order = np.argsort(rng.rand(*flat.shape), axis=1)
        out = np.take_along_axis(flat, order, axis=1).reshape(x.shape)
    else:
        u = rng.uniform(low, high, size=x.shape)
        out = _stretch(_smooth(u, tuple(range(1, x.ndim - 1)) or (1,)), low, high)
    return np.clip(out, low, high).astype(np.float32), labels


def builtin_ood(dataset, kinds=OOD_KINDS, seed=_SEED):
    """A `Dataset` whose test split is the union of the kinds made from
    `dataset`'s test images, in the order of `kinds`, M images each (M the
    test set's size); labels are placeholders (0).

    Raises:
      ConfigError: a regression dataset, images without a spatial axis, or
        an unknown kind.
    """
    kinds = check_ood_kinds(kinds)
    if dataset.task != 'classification':
        raise ConfigError('--ood-set applies to classification datasets only, got %r (a %s '
                          'task)' % (dataset.name, dataset.task))
    if len(dataset.input_shape) < 2:
        raise ConfigError('--ood-set needs images (a spatial axis and channels), dataset %r '
                          'has examples of shape %s' % (dataset.name, dataset.input_shape))
    if not kinds:
        raise ConfigError('--ood-set: no kinds given')
    low, high = float(dataset.x_train.min()), float(dataset.x_train.max())
    parts = [make_ood_images(dataset.x_test, kind, low, high, kind_seed(kind, seed))
             for kind in kinds]
    x = np.concatenate(parts)
    labels = np.zeros([x.shape[0]], np.int64)
    description = ('built-in OOD images from the %s test set: %s (%d each)'
                   % (dataset.name, ', '.join(kinds), dataset.x_test.shape[0]))
    # The train split is a stand-in (the record needs one); only x_test is used.
    return make_dataset(dataset.name + '_ood', 'classification', description, x[:1], labels[:1],
                        x, labels, num_classes=dataset.num_classes, source='tfbnn.data.ood')
