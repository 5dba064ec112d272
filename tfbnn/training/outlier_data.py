"""The training job's outliers (--outlier-exposure): a bank of images drawn once.

Drawing strokes takes about 1.5 ms an image, too slow for every step, so the
job draws a bank of min(N, `BANK_SIZE`) images when it builds its graph, from
its seed alone (a resumed run draws the same bank), in the pixel range and
polarity of the training images. The outlier shown beside training example i
is bank[i mod size]: a function of the batch, so a resumed run sees the same
pairs as an uninterrupted one.
"""
from tfbnn import data
from tfbnn.errors import ConfigError

__all__ = ['BANK_SIZE', 'outlier_bank']

BANK_SIZE = 10000
_SEED_OFFSET = 7919  # the bank's seed is the run's seed plus this


def outlier_bank(config, dataset, count=None):
    """The outlier images of a run with `config.outlier_exposure` set.

    Args:
      config: `tfbnn.run_config.RunConfig`.
      dataset: the run's `tfbnn.data.Dataset`.
      count: None for the whole bank, or the first `count` images of it
        (for a figure: they are drawn in order, so they are the same).

    Returns:
      float32 array [min(N, BANK_SIZE) or count] + input_shape.

    Raises:
      ConfigError: a regression dataset, or examples that are not 2-D
        images [height, width, channels].
    """
    kind = config.outlier_exposure
    if dataset.task != 'classification':
        raise ConfigError('--outlier-exposure %s needs a classification dataset; %r is a %s '
                          'task' % (kind, dataset.name, dataset.task))
    if len(dataset.input_shape) != 3:
        raise ConfigError('--outlier-exposure %s draws 2-D images [height, width, channels]; '
                          '%r has examples of shape %s'
                          % (kind, dataset.name, list(dataset.input_shape)))
    x = dataset.x_train
    count = min(x.shape[0], BANK_SIZE) if count is None else count
    return data.stroke_outliers(x, count, float(x.min()), float(x.max()),
                                config.seed + _SEED_OFFSET)
