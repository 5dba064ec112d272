"""What a run configuration builds: its data, model spec, learning rate and optimiser.

Every function takes a `tfbnn.run_config.RunConfig` (validated when it was
made) and reads it by attribute. `tfbnn.run_config` re-exports them, so
`run_config.model_spec(...)` and the rest keep working.
"""
import os

import tensorflow.compat.v1 as tf

from tfbnn import data, models, schedules
from tfbnn.errors import ConfigError, DataError

__all__ = ['OPTIMIZERS', 'SCALE_OPTIMIZERS', 'learning_rate', 'make_optimizer',
           'make_scale_optimizer', 'model_spec', 'load_data',
           'load_datasets', 'ood_kinds', 'check_outlier_data']

# adam: Adam (Kingma & Ba 2015) at --learning-rate; sgd: plain gradient
# descent, the optimiser of Blundell et al. 2015; momentum: heavy-ball
# momentum --momentum. Adam divides each step by the running RMS of its
# gradient, so a parameter moves at about --learning-rate per step whatever
# the scale of its gradient; under SGD the posterior scales, whose gradient is
# mostly the KL's 1/N share, move in proportion to it.
OPTIMIZERS = ('adam', 'sgd', 'momentum')

# same: the rho variables take the steps of --optimizer; adam: their own
# Adam (`tfbnn.rho_step`).
SCALE_OPTIMIZERS = ('same', 'adam')

TASKS = ('classification', 'regression')


def load_data(config, data_dir=None):
    """The dataset a config trains on, validation split included.

    Args:
      config: `RunConfig`.
      data_dir: read this folder or file instead of `config.data_dir`: the
        out-of-distribution set, without a validation split. For 'mnist' only
        its test images are read (`tfbnn.data.load_mnist_test_images`), for
        'npz' only its `x_test` (`tfbnn.data.npz.load_npz_test_inputs`).

    Raises:
      ConfigError, DataError: see `tfbnn.data.load_dataset`; a DataError
        names --ood-data-dir when `data_dir` is missing, or for 'mnist' is
        not a folder.
    """
    if data_dir is not None:
        return _load_ood(config, data_dir)
    kwargs = dict(pixel_scale=config.pixel_scale) if config.dataset == 'mnist' else {}
    dataset = data.load_dataset(config.dataset, config.data_dir, config.split,
                                seed=config.seed, **kwargs)
    if config.validation_size:
        dataset = data.hold_out_validation(dataset, config.validation_size)
    return dataset


def _load_ood(config, path):
    """The out-of-distribution set at `path` (--ood-data-dir) for `config.dataset`."""
    if config.dataset not in ('mnist', 'npz'):  # a built-in set would load itself
        raise ConfigError('--ood-data-dir reads data in the format of a dataset read from files '
                          '(mnist, npz); dataset %r is built in: use --ood-set for its '
                          'out-of-distribution images' % config.dataset)
    what = 'directory' if config.dataset == 'mnist' else 'file or directory'
    folder = path if config.dataset == 'npz' else data.set_in_folder(path)[0]
    if not os.path.exists(folder):
        raise DataError('%s: no such %s (--ood-data-dir, dataset %r)'
                        % (path, what, config.dataset))
    if config.dataset == 'npz':
        return data.load_npz_test_inputs(path)
    if not os.path.isdir(folder):
        raise DataError("%s: not a directory (--ood-data-dir with dataset 'mnist' needs a "
                        "folder of MNIST-format IDX files)" % path)
    return data.load_mnist_test_images(path, config.pixel_scale)


def ood_kinds(config, dataset):
    """The built-in OOD kinds a config scores on `dataset` (a tuple, empty
    for none). --ood-set auto: all of them for image classification sets when
    no --ood-data-dir is given, none otherwise."""
    choice = config.ood_set
    if choice == 'none' or (choice == 'auto' and config.ood_data_dir):
        return ()
    if choice == 'auto':
        images = dataset.task == 'classification' and len(dataset.input_shape) >= 2
        return data.OOD_KINDS if images else ()
    return data.check_ood_kinds(choice)


def load_datasets(config):
    """(training dataset, out-of-distribution dataset or None) of a config.

    The OOD set is the test inputs of --ood-data-dir (`load_data`), or the built-in
    images of `ood_kinds` (`tfbnn.data.builtin_ood`).

    Raises:
      ConfigError: --ood-data-dir or --ood-set for a regression set, OOD
        examples of another shape, or data --outlier-exposure cannot draw
        for (`check_outlier_data`); DataError: see `tfbnn.data.load_dataset`.
    """
    dataset = load_data(config)
    check_outlier_data(config, dataset)  # before the job writes anything
    ood = None
    kinds = ood_kinds(config, dataset)
    if kinds:
        ood = data.builtin_ood(dataset, kinds)
    elif config.ood_data_dir and config.ood_set != 'none':
        if dataset.task != 'classification':
            raise ConfigError('--ood-data-dir applies to classification datasets only')
        ood = load_data(config, config.ood_data_dir)
        if ood.input_shape != dataset.input_shape:
            if _one_channel(ood.input_shape) != _one_channel(dataset.input_shape):
                raise ConfigError('--ood-data-dir %s: examples of shape %s, the training data %s'
                                  % (config.ood_data_dir, ood.input_shape, dataset.input_shape))
            shape = (-1,) + tuple(dataset.input_shape)  # [H, W] and [H, W, 1]: one image
            ood = ood._replace(x_train=ood.x_train.reshape(shape),
                               x_test=ood.x_test.reshape(shape), input_shape=dataset.input_shape)
    return dataset, ood


def _one_channel(shape):
    """An image's (or a volume's) shape with a last axis of one channel dropped."""
    shape = tuple(shape)
    return shape[:-1] if len(shape) >= 3 and shape[-1] == 1 else shape


def learning_rate(config, step=None, steps_per_epoch=None):
    """The learning rate of a config: a float, or a scalar `Tensor` of `step`
    when --lr-schedule is not constant or there is a warm-up.

    Args:
      config: `RunConfig`.
      step: integer scalar `Tensor` the schedule reads (the global step, or on
        a cluster the single-process step it stands for).
      steps_per_epoch: M of that step.

    Raises:
      ValueError: a schedule without `step` or `steps_per_epoch`.
    """
    if config.lr_schedule == 'constant' and not config.lr_warmup_epochs:
        return config.learning_rate
    if step is None or not steps_per_epoch:
        raise ValueError('learning_rate: --lr-schedule %s needs the step and the steps per epoch'
                         % config.lr_schedule)
    return schedules.learning_rate(
        step, config.learning_rate, steps_per_epoch, config.epochs, config.lr_schedule,
        list(config.lr_decay_epochs), config.lr_decay_factor, config.lr_warmup_epochs)


def make_optimizer(config, rate=None):
    """The `tf.train.Optimizer` of a config (see `OPTIMIZERS`).

    Args:
      config: `RunConfig`.
      rate: the learning rate (float or scalar `Tensor`, see `learning_rate`);
        None: `config.learning_rate`.
    """
    rate = config.learning_rate if rate is None else rate
    if config.optimizer == 'sgd':
        return tf.train.GradientDescentOptimizer(rate)
    if config.optimizer == 'momentum':
        return tf.train.MomentumOptimizer(rate, config.momentum)
    return tf.train.AdamOptimizer(rate)


def make_scale_optimizer(config, rate=None):
    """The posterior scales' own optimizer under --scale-optimizer adam, else None.

    Its rate is --scale-learning-rate times the schedule's factor at the
    step: rate / --learning-rate, so a step decay or a warm-up of the means'
    rate applies to the scales' rate alike.

    Args:
      config: `RunConfig`.
      rate: the means' learning rate (float or scalar `Tensor`, see
        `learning_rate`); None: `config.learning_rate`.
    """
    if config.scale_optimizer == 'same':
        return None
    rate = config.learning_rate if rate is None else rate
    return tf.train.AdamOptimizer(config.scale_learning_rate * (rate / config.learning_rate),
                                  name='ScaleAdam')


def model_spec(config, task, num_classes=None):
    """The `tfbnn.models.ModelSpec` of a config for a task.

    What the network needs of the data is its task and, to classify, the
    number of classes: a loaded `Dataset` gives `dataset.task,
    dataset.num_classes`, a run directory's dataset.json the same two keys.

    Args:
      config: `RunConfig`.
      task: 'classification' or 'regression'.
      num_classes: int, the output units of a classifier (unused for
        regression, whose one output is the mean).

    Raises:
      ConfigError: a model other than mlp for a regression task.
      ValueError: an unknown task, or classification without `num_classes`.
    """
    if task not in TASKS:
        raise ValueError('model_spec: task must be one of %s, got %r' % (', '.join(TASKS), task))
    regression = task == 'regression'
    if regression and config.model != 'mlp':
        raise ConfigError("dataset %r is a regression task: only --model mlp applies, got %r"
                          % (config.dataset, config.model))
    if not regression and num_classes is None:
        raise ValueError('model_spec: a classification task needs num_classes')
    prior = models.make_prior(config.prior, config.prior_sigma, config.prior_pi,
                              config.prior_sigma1, config.prior_sigma2)
    return models.ModelSpec(
        model=config.model, hidden=tuple(config.hidden), estimator=config.estimator,
        prior=prior, norm=config.norm, posterior_init_scale=config.posterior_init_scale,
        task=task, output_units=1 if regression else num_classes,
        posterior_init_mean=config.posterior_init_mean, group_values=config.group_values)


def check_outlier_data(config, dataset):
    """Raises ConfigError unless --outlier-exposure (if on) can draw its
    outliers for `dataset`: a classification set of 2-D images
    [height, width, channels] or [height, width], each side at least 4
    pixels."""
    kind = config.outlier_exposure
    if kind == 'none':
        return
    if dataset.task != 'classification':
        raise ConfigError('--outlier-exposure %s needs a classification dataset; %r is a %s task'
                          % (kind, dataset.name, dataset.task))
    shape = list(dataset.input_shape)
    if len(shape) not in (2, 3):
        raise ConfigError('--outlier-exposure %s draws 2-D images [height, width, channels] or '
                          '[height, width]; %r has examples of shape %s'
                          % (kind, dataset.name, shape))
    if min(shape[:2]) < 4:
        hint = ('; if its examples are channels first (PyTorch\'s [N, C, H, W]), transpose '
                'them to [N, H, W, C]' if data.channels_first_warning(dataset) else '')
        raise ConfigError('--outlier-exposure %s draws images of at least 4x4 pixels; %r has '
                          '%dx%d%s' % (kind, dataset.name, shape[0], shape[1], hint))
