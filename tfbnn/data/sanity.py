"""Warnings about a loaded data set: data a loader reads without error but
that trains a network other than the one meant.

The loaders refuse what cannot be right; these labels and shapes are legal
and usually a mistake, so the training job prints each as one line
(`dataset_warnings`) and trains as told.
"""
import numpy as np

from tfbnn.data._common import CONSTANT_RTOL, short_list
from tfbnn.data.validation import missing_classes_warning

__all__ = ['dataset_warnings', 'untrained_classes_warning', 'channels_first_warning',
           'regression_targets_warning', 'ood_range_warning']

# A first axis of this size, before two of more than `_MIN_SIDE`, is a channel axis.
_CHANNEL_COUNTS = (1, 3, 4)
_MIN_SIDE = 4


def dataset_warnings(dataset, flattens=False, volumes=False):
    """Every warning about `dataset`, in the order the job prints them.

    Args:
      dataset: a `tfbnn.data.Dataset`.
      flattens: True when the model flattens each example first (the job's
        `mlp`): the layout of an image does not change what it learns, so
        `channels_first_warning` is not said.
      volumes: True when the model reads volumes (`conv3d`), for
        `channels_first_warning`.

    Returns:
      list of str (`channels_first_warning`, `untrained_classes_warning`,
      `tfbnn.data.missing_classes_warning`, `regression_targets_warning`),
      empty for a set with nothing to say.
    """
    layout = None if flattens else channels_first_warning(dataset, volumes)
    return [w for w in (layout, untrained_classes_warning(dataset),
                        missing_classes_warning(dataset), regression_targets_warning(dataset))
            if w]


def _classes(labels):
    """'class 3' or 'classes 0, 4, 5' (the first ten, then '...')."""
    return ('class ' if len(labels) == 1 else 'classes ') + short_list(labels)


def _examples(count):
    return '%d example%s' % (count, '' if count == 1 else 's')


def untrained_classes_warning(dataset):
    """One line naming the classes the network has an output for but no
    example to train on, and why each lacks them.

    Loaders that count classes from the labels (npz, IDX files of MNIST's
    names) make C = the largest label + 1 outputs, so labels 1..10 make 11
    classes of which 0 is never seen, and an npz label found only in
    `y_test` makes a class of its own: a numbering problem. The validation
    split is the last training examples in file order, so from a file
    sorted by class it can take every example of the last classes: a
    shuffling problem. Either way the network never predicts the class, and
    every example of it counts as an error.

    Args:
      dataset: a `tfbnn.data.Dataset`.

    Returns:
      None for a regression set or one whose every class has a training
      example; else str.
    """
    if dataset.task != 'classification':
        return None
    untrained = np.setdiff1d(np.arange(dataset.num_classes), dataset.y_train)
    if not untrained.size:
        return None
    counts = [(name, np.isin(y, untrained).sum())
              for name, y in (('validation', dataset.y_val), ('test', dataset.y_test))
              if y is not None]
    where = ''.join('; %s in the %s split' % (_examples(count), name)
                    for name, count in counts if count)
    held = np.intersect1d(untrained, dataset.y_val) if dataset.y_val is not None else []
    unused = np.setdiff1d(untrained, held)
    advice = []
    if len(held):
        advice.append('%s only in the validation split (the last training examples, in file '
                      'order): shuffle the training file' % _classes(held))
    if unused.size:
        advice.append('%s in no training file: labels should run 0..C-1 (renumber, e.g. '
                      'with np.unique(y, return_inverse=True))' % _classes(unused))
    return ('no training example for %d of the %d classes (%s%s), so the network never learns '
            'them and counts each of their examples as an error: %s'
            % (untrained.size, dataset.num_classes, _classes(untrained), where,
               '; '.join(advice)))


def ood_range_warning(dataset, ood):
    """One line when the out-of-distribution inputs reach beyond the training
    data's range [lo, hi] by more than its width (or, for constant training
    data, by more than max(|value|, 1)) (0-255 images against
    training data in [0, 1], say): such a set is told apart, or not, by its
    scale, whatever the network learned, and far enough out its predictive
    overflows.

    Args:
      dataset, ood: `tfbnn.data.Dataset`s; `ood.x_test` is scored.

    Returns:
      None, or str.
    """
    lo, hi = float(np.min(dataset.x_train)), float(np.max(dataset.x_train))
    out_lo, out_hi = float(np.min(ood.x_test)), float(np.max(ood.x_test))
    width = hi - lo if hi > lo else max(abs(hi), 1.0)  # a constant set: its scale
    if lo - width <= out_lo and out_hi <= hi + width:
        return None
    return ('the out-of-distribution inputs span [%.4g, %.4g], the training data [%.4g, %.4g]: '
            'a set in another scale is told apart by its scale, not by what the network '
            'learned; scale it as the training data' % (out_lo, out_hi, lo, hi))


def channels_first_warning(dataset, volumes=False):
    """One line when images or volumes look channels first (PyTorch's
    `[N, C, H, W]`, `[N, C, D, H, W]`).

    Images are read channels last, `[N, height, width, channels]`, so a
    channels-first array of 1, 3 or 4 channels trains as images C pixels
    high and H wide, of W channels: a convolution's windows and the outlier
    strokes run over the wrong axes, without error (a model that flattens
    each example learns the same either way: see `dataset_warnings`).

    Legitimate channels-last data of this shape is said too: a signal kept
    as `[1, time, channels]` for `(1, k)` kernels, or images 3 or 4 pixels
    high with more than 4 channels.

    Volumes (`volumes`: a model that reads them, `conv3d`), `[depth,
    height, width, channels]` or `[depth, height, width]`, are said alike
    when they have a channel axis: a first axis of 1 to 4 (CT, MRI
    modalities) before three larger than 4. A 3-D example is then a volume
    of one channel, not an image.

    Args:
      dataset: a `tfbnn.data.Dataset`.
      volumes: whether the examples are read as volumes.

    Returns:
      None unless each example has shape `[c, h, w]` with c in (1, 3, 4) and
      h, w both larger than 4 (images), or `[c, d, h, w]` with c in 1..4 and
      d, h, w larger than 4 (volumes); else str.
    """
    shape = list(dataset.input_shape)
    if volumes:
        if len(shape) != 4 or shape[0] > max(_CHANNEL_COUNTS) or min(shape[1:]) <= _MIN_SIDE:
            return None
        return ('%r has examples of shape %s, read channels last: volumes %d deep, %d high and '
                '%d wide, with %d channels; if they are channels first (PyTorch\'s '
                '[N, C, D, H, W]), transpose the arrays to [N, D, H, W, C] first, e.g. '
                'x.transpose(0, 2, 3, 4, 1)' % (dataset.name, shape, shape[0], shape[1],
                                                  shape[2], shape[3]))
    if len(shape) != 3 or shape[0] not in _CHANNEL_COUNTS or min(shape[1:]) <= _MIN_SIDE:
        return None
    return ('%r has examples of shape %s, read channels last: %d pixel(s) high, %d wide, with '
            '%d channels; if they are channels first (PyTorch\'s [N, C, H, W]), transpose the '
            'arrays to [N, H, W, C] first, e.g. x.transpose(0, 2, 3, 1)'
            % (dataset.name, shape, shape[0], shape[1], shape[2]))


# An npz's float targets look like class labels when they are whole numbers
# below _LABEL_LIKE, 0 among them, with _PER_LABEL examples per value or more.
_LABEL_LIKE = 20
_PER_LABEL = 5


def regression_targets_warning(dataset):
    """One line when a regression set's training targets cannot mean what
    a regression needs: all equal (by the rule the loaders' standardising
    uses, `CONSTANT_RTOL`: RMSE and log-likelihood then measure nothing),
    or, in an npz archive, floats that look like class labels: two or more
    whole numbers in 0..19, 0 among them, each taken by 5 examples or more
    on average (npz
    reads floating-point `y` as regression targets).

    Args:
      dataset: a `tfbnn.data.Dataset`.

    Returns:
      None for a classification set or targets that vary and do not look
      like labels; else str.
    """
    if dataset.task != 'regression' or not len(dataset.y_train):
        return None
    y = np.asarray(dataset.y_train, np.float64) * dataset.target_std + dataset.target_mean
    if np.ptp(y) <= CONSTANT_RTOL * np.max(np.abs(y)):
        return ('%r: every training target is %.6g, so the network learns a constant and its '
                'RMSE and log-likelihood measure nothing' % (dataset.name, y[0]))
    values = np.unique(np.round(y))
    if (dataset.name == 'npz' and len(values) > 1 and values[0] == 0 and values[-1] < _LABEL_LIKE
            and len(y) >= _PER_LABEL * len(values)
            and np.allclose(y, np.round(y), rtol=0.0, atol=1e-4)):
        return ('%r: y_train is floating-point, so this trains a regression, but it holds only '
                'the whole numbers %s: if these are class labels, store them as integers '
                '(y.astype(np.int64)) for a classifier'
                % (dataset.name, short_list(values.astype(np.int64))))
    return None
