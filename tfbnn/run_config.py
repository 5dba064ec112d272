"""A training run's configuration: defaults, validation, and config.json.

A run is described by one flat dict of JSON values (the command-line flags).
It is written to `<output_dir>/config.json`, which is what `--resume` and the
export tool read to rebuild the same graph.
"""
import math
import numbers

import tensorflow.compat.v1 as tf

from tfbnn import data, layers, losses, models, schedules
from tfbnn._jsonio import read_json, write_json
from tfbnn.layers._bayesian import check_init_scale
from tfbnn.data import DATASETS
from tfbnn.errors import CheckpointError, ConfigError
from tfbnn.version import __version__

__all__ = ['DEFAULTS', 'ARCHITECTURE_KEYS', 'RESUME_KEYS', 'CONFIG_FORMAT', 'OPTIMIZERS',
           'validate', 'learning_rate', 'make_optimizer',
           'model_spec', 'load_data', 'load_datasets', 'ood_kinds',
           'save', 'load', 'check_compatible']

# Bumped when a change makes old run directories unreadable.
CONFIG_FORMAT = 1

# adam: Adam (Kingma & Ba 2015) at --learning-rate; sgd: plain gradient
# descent, the optimiser of Blundell et al. 2015; momentum: heavy-ball
# momentum --momentum. Adam divides each step by the running RMS of its
# gradient, so a parameter moves at about --learning-rate per step whatever
# the scale of its gradient; under SGD the posterior scales, whose gradient is
# mostly the KL's 1/N share, move in proportion to it.
OPTIMIZERS = ('adam', 'sgd', 'momentum')

# posterior_init_scale, learning_rate and epochs were chosen on validation
# (tfbnn.reproduce.defaults; docs/results/defaults/defaults.json).
DEFAULTS = dict(
    dataset='digits', data_dir=None, split=0, ood_data_dir=None, ood_set='auto',
    pixel_scale=255.0,
    validation_size=0.0, validate_every=0, patience=0, evaluate_test=True,
    model='mlp', hidden=[100, 100], norm='none',
    estimator='flipout', prior='normal', prior_sigma=1.0, prior_pi=0.5,
    prior_sigma1=1.0, prior_sigma2=math.exp(-6.0), posterior_init_scale=0.01,
    posterior_init_mean='glorot_uniform',
    noise_prior='none', noise_prior_shape=6.0, noise_prior_rate=6.0,
    init_from=None, moped_delta=0.1,
    kl_scheme='per_example', kl_weight=1.0, warmup_steps=0,
    train_samples=1, eval_samples=50, eval_estimator='auto',
    epochs=60, batch_size=128, eval_batch_size=500, learning_rate=3e-3,
    optimizer='adam', momentum=0.9,
    lr_schedule='constant', lr_decay_epochs=[], lr_decay_factor=0.1, lr_warmup_epochs=0.0,
    seed=0, device='auto', threads=0,
    output_dir='runs/latest', checkpoint_every=0, keep_checkpoints=3, summary_every=50,
    diagnostics_every=0,
    resume=False, progress='auto', max_seconds=0.0,
    sync_replicas=False,  # on a cluster (tfbnn.training.distributed)
    workers=0,  # W of the cluster that wrote the run (set by the chief); 0: one process
)

# What fixes the variables and their shapes: a run can only resume (or be
# exported) with these unchanged.
ARCHITECTURE_KEYS = ('dataset', 'model', 'hidden', 'norm')
# ... and what fixes the data a step sees: the batch size sets steps per epoch
# (and so the epoch, batch offset and pi_i of a step), the seed the batch
# order, the split and validation size which examples are training data, the
# pixel scale their values.
RESUME_KEYS = ARCHITECTURE_KEYS + ('batch_size', 'seed', 'split', 'data_dir', 'pixel_scale',
                                   'validation_size')

_CHOICES = dict(dataset=DATASETS, model=models.MODELS, norm=models.NORMS,
                estimator=layers.ESTIMATORS, eval_estimator=('auto',) + layers.ESTIMATORS,
                prior=('normal', 'scale_mixture'),
                kl_scheme=losses.SCHEMES, device=('cpu', 'gpu', 'auto'),
                optimizer=OPTIMIZERS, posterior_init_mean=models.MEAN_INITIALIZERS,
                noise_prior=('none', 'gamma'),
                progress=('auto', 'always', 'never'))
_POSITIVE_INTS = ('train_samples', 'eval_samples', 'epochs', 'batch_size', 'eval_batch_size',
                  'keep_checkpoints', 'summary_every')
_NON_NEGATIVE_INTS = ('split', 'warmup_steps', 'seed', 'threads', 'checkpoint_every',
                      'diagnostics_every', 'validate_every', 'patience', 'workers')
_POSITIVE_FLOATS = ('prior_sigma', 'prior_sigma1', 'prior_sigma2', 'learning_rate',
                    'pixel_scale', 'noise_prior_shape', 'noise_prior_rate')


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def validate(config):
    """Checks every value of a run configuration; returns a completed copy.

    Args:
      config: dict; missing keys take `DEFAULTS`.

    Returns:
      A new dict with every key of DEFAULTS.

    Raises:
      ConfigError: naming the first invalid option and what is allowed.
    """
    unknown = sorted(set(config) - set(DEFAULTS) - {'config_format', 'tfbnn_version'})
    if unknown:
        raise ConfigError('unknown option(s): %s' % ', '.join(unknown))
    out = dict(DEFAULTS)
    out.update({k: v for k, v in config.items() if k in DEFAULTS})
    for key, allowed in _CHOICES.items():
        if out[key] not in allowed:
            raise ConfigError('--%s must be one of %s, got %r'
                              % (key.replace('_', '-'), ', '.join(allowed), out[key]))
    for key in _POSITIVE_INTS:
        if not _is_int(out[key]) or out[key] < 1:
            raise ConfigError('--%s must be a positive integer, got %r'
                              % (key.replace('_', '-'), out[key]))
    for key in _NON_NEGATIVE_INTS:
        if not _is_int(out[key]) or out[key] < 0:
            raise ConfigError('--%s must be an integer >= 0, got %r'
                              % (key.replace('_', '-'), out[key]))
    for key in _POSITIVE_FLOATS:
        if not _is_real(out[key]) or out[key] <= 0:
            raise ConfigError('--%s must be a positive number, got %r'
                              % (key.replace('_', '-'), out[key]))
    if not _is_real(out['kl_weight']) or out['kl_weight'] < 0:
        raise ConfigError('--kl-weight must be a number >= 0, got %r' % (out['kl_weight'],))
    if not _is_real(out['max_seconds']) or out['max_seconds'] < 0:
        raise ConfigError('--max-seconds must be a number >= 0, got %r' % (out['max_seconds'],))
    if not _is_real(out['momentum']) or not 0 <= out['momentum'] < 1:
        raise ConfigError('--momentum must be in [0, 1), got %r' % (out['momentum'],))
    if not _is_real(out['prior_pi']) or not 0 < out['prior_pi'] < 1:
        raise ConfigError('--prior-pi must be in (0, 1), got %r' % (out['prior_pi'],))
    hidden = out['hidden']
    if (not isinstance(hidden, (list, tuple)) or not hidden
            or not all(_is_int(h) and h > 0 for h in hidden)):
        raise ConfigError('--hidden must be one or more positive integers, got %r' % (hidden,))
    out['hidden'] = [int(h) for h in hidden]
    scale = out['posterior_init_scale']
    try:
        scale = check_init_scale('--posterior-init-scale', scale)
    except ConfigError:
        raise ConfigError('--posterior-init-scale must be a number above 1e-6, or two of them '
                          'LOW,HIGH with LOW <= HIGH, got %r' % (scale,))
    out['posterior_init_scale'] = list(scale) if isinstance(scale, tuple) else scale
    if out['pixel_scale'] != DEFAULTS['pixel_scale'] and out['dataset'] != 'mnist':
        raise ConfigError('--pixel-scale applies to --dataset mnist only, got dataset %r'
                          % out['dataset'])
    if not _is_real(out['validation_size']) or out['validation_size'] < 0:
        raise ConfigError('--validation-size must be 0 (none), a fraction in (0, 1) or a '
                          'number of examples, got %r' % (out['validation_size'],))
    if out['validation_size']:
        data.validation_count(out['validation_size'], 10 ** 12)  # its form; the count later
    if not isinstance(out['evaluate_test'], bool):
        raise ConfigError('evaluate_test must be true or false, got %r' % (out['evaluate_test'],))
    if not out['evaluate_test'] and not out['validation_size']:
        raise ConfigError('--no-test-eval needs a validation split (--validation-size) to '
                          'evaluate on')
    if out['patience'] and not out['validate_every']:
        raise ConfigError('--patience counts validations: it needs --validate-every')
    if out['validate_every'] and not out['validation_size']:
        raise ConfigError('--validate-every needs a validation split (--validation-size)')
    out['lr_decay_epochs'] = list(schedules.check_schedule(
        out['lr_schedule'], out['lr_decay_epochs'], out['lr_decay_factor'],
        out['lr_warmup_epochs']))
    if out['init_from'] is not None and (not isinstance(out['init_from'], str)
                                         or not out['init_from']):
        raise ConfigError('--init-from must be a checkpoint path, got %r' % (out['init_from'],))
    if not _is_real(out['moped_delta']) or out['moped_delta'] <= 0:
        raise ConfigError('--moped-delta must be a positive number, got %r'
                          % (out['moped_delta'],))
    if out['ood_set'] not in ('auto', 'none'):
        out['ood_set'] = ','.join(data.check_ood_kinds(out['ood_set']))
        if out['ood_data_dir']:
            raise ConfigError('--ood-set %s and --ood-data-dir: choose one out-of-distribution '
                              'set' % out['ood_set'])
    if not isinstance(out['sync_replicas'], bool):
        raise ConfigError('--sync-replicas must be true or false, got %r' % (out['sync_replicas'],))
    if not isinstance(out['output_dir'], str) or not out['output_dir']:
        raise ConfigError('--output-dir must be a non-empty path')
    return out


def load_data(config, data_dir=None):
    """The dataset a validated config trains on, validation split included.

    Args:
      config: validated run config.
      data_dir: read this folder instead of config['data_dir'] (the
        out-of-distribution set), without a validation split.

    Raises:
      ConfigError, DataError: see `tfbnn.data.load_dataset`.
    """
    ood = data_dir is not None
    kwargs = dict(pixel_scale=config['pixel_scale']) if config['dataset'] == 'mnist' else {}
    dataset = data.load_dataset(config['dataset'], data_dir if ood else config['data_dir'],
                                config['split'], seed=config['seed'], **kwargs)
    if config['validation_size'] and not ood:
        dataset = data.hold_out_validation(dataset, config['validation_size'])
    return dataset


def ood_kinds(config, dataset):
    """The built-in OOD kinds a validated config scores on `dataset` (a tuple,
    empty for none). --ood-set auto: all of them for image classification
    sets when no --ood-data-dir is given, none otherwise."""
    choice = config['ood_set']
    if choice == 'none' or (choice == 'auto' and config['ood_data_dir']):
        return ()
    if choice == 'auto':
        images = dataset.task == 'classification' and len(dataset.input_shape) >= 2
        return data.OOD_KINDS if images else ()
    return data.check_ood_kinds(choice)


def load_datasets(config):
    """(training dataset, out-of-distribution dataset or None) of a validated config.

    The OOD set is the --ood-data-dir folder's test split, or the built-in
    images of `ood_kinds` (`tfbnn.data.builtin_ood`).

    Raises:
      ConfigError: --ood-data-dir or --ood-set for a regression set, or OOD
        examples of another shape; DataError: see `tfbnn.data.load_dataset`.
    """
    dataset = load_data(config)
    ood = None
    kinds = ood_kinds(config, dataset)
    if kinds:
        ood = data.builtin_ood(dataset, kinds)
    elif config['ood_data_dir']:
        if dataset.task != 'classification':
            raise ConfigError('--ood-data-dir applies to classification datasets only')
        ood = load_data(config, config['ood_data_dir'])
        if ood.input_shape != dataset.input_shape:
            raise ConfigError('--ood-data-dir examples have shape %s, the training data %s'
                              % (ood.input_shape, dataset.input_shape))
    return dataset, ood


def learning_rate(config, step=None, steps_per_epoch=None):
    """The learning rate of a validated config: a float, or a scalar `Tensor`
    of `step` when --lr-schedule is not constant or there is a warm-up.

    Args:
      config: validated run config.
      step: integer scalar `Tensor` the schedule reads (the global step, or on
        a cluster the single-process step it stands for).
      steps_per_epoch: M of that step.
    """
    if config['lr_schedule'] == 'constant' and not config['lr_warmup_epochs']:
        return config['learning_rate']
    if step is None or not steps_per_epoch:
        raise ValueError('learning_rate: --lr-schedule %s needs the step and the steps per epoch'
                         % config['lr_schedule'])
    return schedules.learning_rate(
        step, config['learning_rate'], steps_per_epoch, config['epochs'], config['lr_schedule'],
        config['lr_decay_epochs'], config['lr_decay_factor'], config['lr_warmup_epochs'])


def make_optimizer(config, rate=None):
    """The `tf.train.Optimizer` of a validated config (see `OPTIMIZERS`).

    Args:
      config: validated run config.
      rate: the learning rate (float or scalar `Tensor`, see `learning_rate`);
        None: config['learning_rate'].
    """
    rate = config['learning_rate'] if rate is None else rate
    if config['optimizer'] == 'sgd':
        return tf.train.GradientDescentOptimizer(rate)
    if config['optimizer'] == 'momentum':
        return tf.train.MomentumOptimizer(rate, config['momentum'])
    return tf.train.AdamOptimizer(rate)


def model_spec(config, dataset):
    """The `tfbnn.models.ModelSpec` of a validated config on a loaded dataset."""
    regression = dataset.task == 'regression'
    if regression and config['model'] != 'mlp':
        raise ConfigError("dataset %r is a regression task: only --model mlp applies, got %r"
                          % (config['dataset'], config['model']))
    prior = models.make_prior(config['prior'], config['prior_sigma'], config['prior_pi'],
                              config['prior_sigma1'], config['prior_sigma2'])
    return models.ModelSpec(
        model=config['model'], hidden=tuple(config['hidden']), estimator=config['estimator'],
        prior=prior, norm=config['norm'], posterior_init_scale=config['posterior_init_scale'],
        task=dataset.task, output_units=1 if regression else dataset.num_classes,
        posterior_init_mean=config['posterior_init_mean'])


def save(config, path):
    """Writes config.json atomically (a killed job never leaves half a file)."""
    write_json(path, dict(config, config_format=CONFIG_FORMAT, tfbnn_version=__version__))


def load(path):
    """Reads a run's config.json.

    Raises:
      CheckpointError: when the file is missing, unreadable, or from an
        incompatible version of tfbnn.
    """
    record = read_json(path)
    if record is None:
        raise CheckpointError('%s not found: not a tfbnn run directory' % path)
    if not isinstance(record, dict) or record.get('config_format') != CONFIG_FORMAT:
        raise CheckpointError('%s has config format %r; this tfbnn (%s) reads format %d'
                              % (path, record.get('config_format') if isinstance(record, dict)
                                 else None, __version__, CONFIG_FORMAT))
    try:
        return validate(record)
    except ConfigError as err:
        raise CheckpointError('%s: %s' % (path, err))


def _schedule(config):
    if not config['workers']:
        return 'a single process'
    return '%d %s workers' % (config['workers'],
                              'synchronous' if config['sync_replicas'] else 'asynchronous')


def check_compatible(saved, requested):
    """Raises CheckpointError if `requested` would build different variables, or,
    on a cluster, read the global step differently.

    A cluster's global step counts global batches of W B examples
    (synchronous) or single-worker updates (asynchronous, W per global batch),
    so a cluster run resumes only with the same W and the same --sync-replicas.
    (A single-process resume of a cluster run is allowed: it restores, and
    counts batches of B from the saved step on.)
    """
    for key in RESUME_KEYS:
        if saved[key] != requested[key]:
            raise CheckpointError('cannot resume: --%s was %r in the saved run, now %r'
                                  % (key.replace('_', '-'), saved[key], requested[key]))
    if requested['workers'] and _schedule(saved) != _schedule(requested):
        raise CheckpointError('cannot resume: the saved run was trained by %s, now %s (the '
                              'global step would mean another batch); resume it with the same '
                              'workers and --sync-replicas' % (_schedule(saved),
                                                               _schedule(requested)))
