"""Datasets as numpy arrays, checked before a model sees them.

Every loader returns a `Dataset` namedtuple (float32 inputs of shape
`[N] + input_shape`; int64 labels, or float32 regression targets standardised
with the training statistics) and turns every problem with the user's files
into a one-line `tfbnn.errors.DataError` naming the file. No TensorFlow here.

The public API:
  Dataset, make_dataset, TASKS         the record and its validating constructor
  load_dataset, DATASETS               pick a loader by name
  FILE_DATASETS                        ... those read from --data-dir
  load_digits                          8x8 UCI digits (scikit-learn's copy)
  load_mnist, read_idx                 MNIST-format IDX files (MNIST, Fashion, EMNIST ...)
  load_mnist_test_images               their test images alone (an OOD set)
  set_in_folder                        FOLDER/emnist-SPLIT: one EMNIST split of a folder
  load_uci                             Hernandez-Lobato & Adams UCI splits
  load_toy_regression                  Blundell et al. (2015) 1-D curve
  load_volumes3d                       generated noisy 3-D shapes
  load_npz                             a user's .npz archive
  load_npz_test_inputs                 its x_test alone (an OOD set)
  hold_out_validation                  carve a validation split from training
  missing_classes_warning              ... and say when it lacks classes
  dataset_warnings                     the job's warnings about a legal but likely mistaken set:
  untrained_classes_warning            ... classes with no training example
  channels_first_warning               ... images that look channels first
  regression_targets_warning           ... regression targets all equal, or npz labels as floats
  ood_range_warning                    ... an OOD set far outside the training data's range
  builtin_ood, OOD_KINDS, kind_seed    out-of-distribution images made from a test set
  render_strokes, stroke_outliers      random pen strokes framed like digits (outliers)
"""
from tfbnn.data.dataset import TASKS, Dataset, make_dataset
from tfbnn.data.digits import load_digits
from tfbnn.data.idx_files import set_in_folder
from tfbnn.data.load import DATASETS, FILE_DATASETS, load_dataset
from tfbnn.data.mnist import load_mnist, load_mnist_test_images, read_idx
from tfbnn.data.npz import load_npz, load_npz_test_inputs
from tfbnn.data.ood import ALL_KINDS, OOD_KINDS, builtin_ood, check_ood_kinds, kind_seed
from tfbnn.data.sanity import (channels_first_warning, dataset_warnings, ood_range_warning,
                               regression_targets_warning, untrained_classes_warning)
from tfbnn.data.strokes import render_strokes, stroke_outliers
from tfbnn.data.toy_regression import load_toy_regression
from tfbnn.data.uci import load_uci
from tfbnn.data.validation import (hold_out_validation, missing_classes_warning,
                                   validation_count)
from tfbnn.data.volumes3d import load_volumes3d

__all__ = ['Dataset', 'make_dataset', 'TASKS', 'load_dataset', 'DATASETS', 'FILE_DATASETS',
           'load_digits', 'load_mnist', 'load_mnist_test_images', 'read_idx', 'set_in_folder',
           'load_uci',
           'load_toy_regression', 'load_volumes3d', 'load_npz', 'load_npz_test_inputs',
           'hold_out_validation', 'missing_classes_warning', 'untrained_classes_warning',
           'channels_first_warning', 'dataset_warnings', 'regression_targets_warning',
           'ood_range_warning',
           'validation_count', 'render_strokes', 'stroke_outliers', 'builtin_ood',
           'check_ood_kinds', 'kind_seed', 'OOD_KINDS', 'ALL_KINDS']
