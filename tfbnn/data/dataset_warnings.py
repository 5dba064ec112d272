"""Warnings about a loaded data set: inputs a loader reads without error
but that train a network other than the one meant.

The loaders refuse what cannot be right; these shapes and labels are legal
and usually a mistake, so the training job prints each as one line
(`dataset_warnings`) and trains as told.
"""
import numpy as np

from tfbnn.data.validation import missing_classes_warning

__all__ = ['dataset_warnings', 'untrained_classes_warning', 'channels_first_warning']

# A leading axis of this size, before a longer last one, is a channel axis.
_CHANNEL_COUNTS = (1, 3, 4)


def dataset_warnings(dataset):
    """Every warning about `dataset`, in the order the job prints them.

    Args:
      dataset: a `tfbnn.data.Dataset`.

    Returns:
      list of str (`channels_first_warning`, `untrained_classes_warning`,
      `tfbnn.data.missing_classes_warning`), empty for a set with nothing
      to say.
    """
    return [w for w in (channels_first_warning(dataset), untrained_classes_warning(dataset),
                        missing_classes_warning(dataset)) if w]


def untrained_classes_warning(dataset):
    """One line naming the classes the network has an output for but no
    example to train on.

    Loaders that count classes from the labels (npz, IDX files of MNIST's
    names) make C = the largest label + 1 outputs, so labels 1..10 make 11
    classes of which 0 is never seen, and an npz label found only in
    `y_test` makes a class of its own. The validation split is carved from
    the training examples, so a class it alone holds is untrained too. The
    network can never predict such a class: its test examples all count as
    errors.

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
    held = [(name, np.isin(y, untrained).sum())
            for name, y in (('validation', dataset.y_val), ('test', dataset.y_test))
            if y is not None]
    where = ''.join('; %d examples in the %s split' % (count, name)
                    for name, count in held if count)
    named = ', '.join(str(c) for c in untrained[:10]) + (', ...' if untrained.size > 10 else '')
    return ('no training example for %d of the %d classes (class %s%s): the network never '
            'learns them and counts each of their examples as an error; labels should run '
            '0..C-1 (renumber, e.g. with np.unique(y, return_inverse=True)) and every class '
            'needs training examples' % (untrained.size, dataset.num_classes, named, where))


def channels_first_warning(dataset):
    """One line when images look channels first (PyTorch's `[N, C, H, W]`).

    Images are read channels last, `[N, height, width, channels]`, so a
    channels-first array of 1, 3 or 4 channels trains as images C pixels
    high and H wide, of W channels: convolutions, pooling and outlier
    strokes then run over the wrong axes, without error.

    Args:
      dataset: a `tfbnn.data.Dataset`.

    Returns:
      None unless each example has shape `[c, h, w]` with c in (1, 3, 4) and
      h, w both larger than 4; else str.
    """
    shape = list(dataset.input_shape)
    if len(shape) != 3 or shape[0] not in _CHANNEL_COUNTS or min(shape[1:]) <= 4:
        return None
    return ('%r has examples of shape %s, read channels last: %d pixel(s) high, %d wide, with '
            '%d channels; if they are channels first (PyTorch\'s [N, C, H, W]), transpose the '
            'arrays to [N, H, W, C] first, e.g. x.transpose(0, 2, 3, 1)'
            % (dataset.name, shape, shape[0], shape[1], shape[2]))
