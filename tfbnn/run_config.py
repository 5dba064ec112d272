"""A training run's configuration: defaults, validation, and config.json.

A run is described by one flat dict of JSON values (the command-line flags).
It is written to `<output_dir>/config.json`, which is what `--resume` and the
export tool read to rebuild the same graph.
"""
import math
import numbers

import tensorflow.compat.v1 as tf

from tfbnn import data, layers, losses, models
from tfbnn._jsonio import read_json, write_json
from tfbnn.data import DATASETS
from tfbnn.errors import CheckpointError, ConfigError
from tfbnn.version import __version__

__all__ = ['DEFAULTS', 'ARCHITECTURE_KEYS', 'RESUME_KEYS', 'CONFIG_FORMAT', 'OPTIMIZERS',
           'validate', 'make_optimizer',
           'model_spec', 'load_data', 'load_datasets',
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

DEFAULTS = dict(
    dataset='digits', data_dir=None, split=0, ood_data_dir=None, pixel_scale=255.0,
    validation_size=0.0, validate_every=0, patience=0, evaluate_test=True,
    model='mlp', hidden=[100, 100], norm='none',
    estimator='flipout', prior='normal', prior_sigma=1.0, prior_pi=0.5,
    prior_sigma1=1.0, prior_sigma2=math.exp(-6.0), posterior_init_scale=1e-3,
    kl_scheme='per_example', kl_weight=1.0, warmup_steps=0,
    train_samples=1, eval_samples=50, eval_estimator='auto',
    epochs=30, batch_size=128, eval_batch_size=500, learning_rate=1e-3,
    optimizer='adam', momentum=0.9,
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
                optimizer=OPTIMIZERS,
                progress=('auto', 'always', 'never'))
_POSITIVE_INTS = ('train_samples', 'eval_samples', 'epochs', 'batch_size', 'eval_batch_size',
                  'keep_checkpoints', 'summary_every')
_NON_NEGATIVE_INTS = ('split', 'warmup_steps', 'seed', 'threads', 'checkpoint_every',
                      'diagnostics_every', 'validate_every', 'patience', 'workers')
_POSITIVE_FLOATS = ('prior_sigma', 'prior_sigma1', 'prior_sigma2', 'posterior_init_scale',
                    'learning_rate', 'pixel_scale')


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
    if out['posterior_init_scale'] <= 1e-6:
        raise ConfigError('--posterior-init-scale must be above 1e-6, got %r'
                          % out['posterior_init_scale'])
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


def load_datasets(config):
    """(training dataset, out-of-distribution dataset or None) of a validated config.

    Raises:
      ConfigError: --ood-data-dir for a regression set, or OOD examples of
        another shape; DataError: see `tfbnn.data.load_dataset`.
    """
    dataset = load_data(config)
    ood = None
    if config['ood_data_dir']:
        if dataset.task != 'classification':
            raise ConfigError('--ood-data-dir applies to classification datasets only')
        ood = load_data(config, config['ood_data_dir'])
        if ood.input_shape != dataset.input_shape:
            raise ConfigError('--ood-data-dir examples have shape %s, the training data %s'
                              % (ood.input_shape, dataset.input_shape))
    return dataset, ood


def make_optimizer(config):
    """The `tf.train.Optimizer` of a validated config (see `OPTIMIZERS`)."""
    if config['optimizer'] == 'sgd':
        return tf.train.GradientDescentOptimizer(config['learning_rate'])
    if config['optimizer'] == 'momentum':
        return tf.train.MomentumOptimizer(config['learning_rate'], config['momentum'])
    return tf.train.AdamOptimizer(config['learning_rate'])


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
        task=dataset.task, output_units=1 if regression else dataset.num_classes)


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
