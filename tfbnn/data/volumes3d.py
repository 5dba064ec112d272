"""A generated 3-D classification set: noisy shapes in a 16^3 voxel grid.

Each example is the 0/1 occupancy of one shape plus Gaussian noise:
  class 0, ball:   voxels within radius r of the centre, r ~ U(3, 5.5);
  class 1, cube:   an axis-aligned cube of half-side h ~ U(2.5, 4.5);
  class 2, shell:  a hollow sphere, outer radius R ~ U(4, 5.5), wall
                   thickness ~ U(1.2, 2), so the hole has radius >= 2.
Every centre is drawn uniformly within 2 voxels of the grid's centre along
each axis, so each shape lies wholly inside the grid. Sizes are chosen so
that the three classes fill similar numbers of voxels: telling them apart
takes their shape (a 3-D convolution), not their mass.

Drawn from `np.random.RandomState(seed)` in this order: training labels,
test labels, centres, sizes, wall thicknesses, and the noise last, so that
`noise_std=0` with the same seed gives exactly the clean shapes underneath.
"""
import numpy as np

from tfbnn.data._common import check_int, check_positive
from tfbnn.data.dataset import make_dataset

__all__ = ['load_volumes3d', 'VOLUME_SIZE', 'VOLUME_CLASSES']

VOLUME_SIZE = 16
VOLUME_CLASSES = ('ball', 'cube', 'shell')
_CENTRE_JITTER = 2.0
_BALL_RADIUS = (3.0, 5.5)
_CUBE_HALF_SIDE = (2.5, 4.5)
_SHELL_RADIUS = (4.0, 5.5)
_SHELL_THICKNESS = (1.2, 2.0)


def _balanced_labels(rng, count):
    """`count` labels, each class `count // 3` or one more times, shuffled."""
    return rng.permutation(np.arange(count) % len(VOLUME_CLASSES))


def _occupancy(labels, centres, sizes, thickness):
    """0/1 `float32` volumes `[N, S, S, S]` of the shapes; one broadcast pass."""
    grid = np.arange(VOLUME_SIZE, dtype=np.float32)
    # Offsets along each axis, shaped to broadcast to [N, S, S, S].
    dx = grid[None, :, None, None] - centres[:, 0, None, None, None]
    dy = grid[None, None, :, None] - centres[:, 1, None, None, None]
    dz = grid[None, None, None, :] - centres[:, 2, None, None, None]
    dist = np.sqrt(dx ** 2 + dy ** 2 + dz ** 2)
    linf = np.maximum(np.maximum(np.abs(dx), np.abs(dy)), np.abs(dz))
    size = sizes[:, None, None, None]
    label = labels[:, None, None, None]
    ball = dist <= size
    cube = linf <= size
    shell = ball & (dist >= size - thickness[:, None, None, None])
    return np.where(label == 0, ball, np.where(label == 1, cube, shell)).astype(np.float32)


def load_volumes3d(seed=0, num_train=600, num_test=200, noise_std=0.3):
    """Generates the noisy 3-D shapes set.

    Args:
      seed: int in [0, 2**32), the generator's seed.
      num_train: int >= 3, training volumes (classes balanced to within one).
      num_test: int >= 3, test volumes (likewise balanced).
      noise_std: float >= 0, std of the Gaussian noise added to every voxel.

    Returns:
      A classification `Dataset` named 'volumes3d': `x` of shape
      `[N, 16, 16, 16, 1]`, `y` in 0..2 (`VOLUME_CLASSES`).

    Raises:
      ConfigError: an argument is not a number in range.
    """
    owner = 'volumes3d'
    seed = check_int(owner, 'seed', seed, 0, 2 ** 32 - 1)
    num_train = check_int(owner, 'num_train', num_train, len(VOLUME_CLASSES))
    num_test = check_int(owner, 'num_test', num_test, len(VOLUME_CLASSES))
    noise_std = check_positive(owner, 'noise_std', noise_std, allow_zero=True)
    rng = np.random.RandomState(seed)
    labels = np.concatenate([_balanced_labels(rng, num_train),
                             _balanced_labels(rng, num_test)])
    total = len(labels)
    centres = (VOLUME_SIZE - 1) / 2.0 + rng.uniform(-_CENTRE_JITTER, _CENTRE_JITTER, (total, 3))
    low = np.choose(labels, [_BALL_RADIUS[0], _CUBE_HALF_SIDE[0], _SHELL_RADIUS[0]])
    high = np.choose(labels, [_BALL_RADIUS[1], _CUBE_HALF_SIDE[1], _SHELL_RADIUS[1]])
    sizes = rng.uniform(low, high)
    thickness = rng.uniform(_SHELL_THICKNESS[0], _SHELL_THICKNESS[1], total)
    volumes = _occupancy(labels, centres.astype(np.float32), sizes.astype(np.float32),
                         thickness.astype(np.float32))
    volumes += rng.normal(0.0, noise_std, volumes.shape).astype(np.float32)
    description = ('generated 3-D shapes (ball / cube / hollow shell) in a %d^3 grid with '
                   'noise std %g: %d train / %d test, 3 classes'
                   % (VOLUME_SIZE, noise_std, num_train, num_test))
    return make_dataset(owner, 'classification', description,
                        volumes[:num_train, ..., None], labels[:num_train],
                        volumes[num_train:, ..., None], labels[num_train:],
                        num_classes=len(VOLUME_CLASSES))
