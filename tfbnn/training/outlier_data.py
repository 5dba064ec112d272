"""The training job's outliers (--outlier-exposure): a bank of images drawn once.

Drawing strokes takes about 1.5 ms an image, too slow for every step, so the
job draws a bank of min(N, `BANK_SIZE`) images (fewer for images so large that
they would pass `BANK_BYTES`) when it builds its graph, from
its seed alone (a resumed run draws the same bank), in the pixel range and
polarity of the training images. The outlier shown beside training example i
is bank[i mod size]: a function of the batch, so a resumed run sees the same
pairs as an uninterrupted one.

A graph built only to evaluate a checkpoint (the cluster chief's) needs the
bank's ops, so that its op-level seeds follow the training graph's, but not
its images: `draw=False` gives zeros of the bank's shape.
"""
import numpy as np

from tfbnn import data, run_config

__all__ = ['BANK_SIZE', 'BANK_BYTES', 'outlier_bank']

# At most this many images, and at most this many bytes of them (float32).
BANK_SIZE = 10000
BANK_BYTES = 2 ** 28
_SEED_OFFSET = 7919  # the bank's seed is the run's seed plus this


def outlier_bank(config, dataset, count=None, draw=True):
    """The outlier images of a run with `config.outlier_exposure` set.

    Args:
      config: `tfbnn.run_config.RunConfig`.
      dataset: the run's `tfbnn.data.Dataset`.
      count: None for the whole bank, or the first `count` images of it
        (for a figure: they are drawn in order, so they are the same).
      draw: False for zeros of the same shape, drawn in no time.

    Returns:
      float32 array [min(N, BANK_SIZE, BANK_BYTES / bytes per image) or
      count] + input_shape (images without a channel axis, [N, height,
      width], get outliers without one).

    Raises:
      ConfigError: data the strokes cannot be drawn for
        (`tfbnn.run_config.check_outlier_data`).
    """
    run_config.check_outlier_data(config, dataset)
    x = dataset.x_train
    if count is None:
        count = min(x.shape[0], BANK_SIZE, max(1, BANK_BYTES // (4 * x[0].size)))
    if not draw:
        return np.zeros((count,) + x.shape[1:], np.float32)
    bank = data.stroke_outliers(x if x.ndim == 4 else x[..., None], count, float(x.min()),
                                float(x.max()), (config.seed + _SEED_OFFSET) % 2 ** 32)
    return bank.reshape((count,) + x.shape[1:])
