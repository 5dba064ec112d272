"""Internal: the checks of a `tfbnn.run_config.RunConfig`'s values.

Each field names its simple rule in its metadata (`SIMPLE_RULES`: a positive
integer, ...) and its allowed choices; `check` tests those, then the rules
that involve more than one field or a value's form (--hidden, the schedule,
--ood-set, ...). Every message is one line naming the flag, what it was, and
what is allowed. `option` declares a field with that metadata.
"""
import collections
import dataclasses
import math
import numbers
import os

from tfbnn import data, models, schedules
from tfbnn.errors import ConfigError
from tfbnn.internal.posterior_scale import check_init_scale

__all__ = ['check', 'check_given', 'flag', 'json_value', 'option', 'SIMPLE_RULES', 'MAX_SEED']

# numpy's seed range (np.random.seed, the generated datasets); TensorFlow
# takes any int64 (its op seeds wrap at 2^31 - 1, numpy's do not).
MAX_SEED = 2 ** 32 - 1

# The models whose layers are fixed (`tfbnn.models`): --hidden shapes mlp and lstm only.
_FIXED_MODELS = {'lenet5': 'two 5x5 conv2d blocks of 6 and 16 filters, then dense 120, 84',
                 'conv3d': 'two 3x3x3 conv3d blocks of 8 and 16 filters, then dense 64'}


def option(default, group, help, choices=None, check=None, text=None, flag=True):
    """A `RunConfig` field: its default and everything the command line says of it.

    Args:
      default: the value when the option is not given (immutable: a tuple
        for a sequence).
      group: the --help section it is listed in.
      help: one-line help text (the parser adds the default).
      choices: tuple of the allowed values, or None.
      check: a key of `tfbnn._run_checks.SIMPLE_RULES` ('positive_int',
        'non_negative_int', 'positive_number', 'non_negative_number'): the
        value's simple rule (the others are written out in
        `tfbnn._run_checks.check`).
      text: how the command line writes it: 'int_list' (400,400),
        'float_list' (200,300), 'scale' (a number or LOW,HIGH) or 'switch'
        (a flag without a value that flips the default); None: a value of
        the default's type (a string for None).
      flag: True: the flag is --name-with-dashes; a string: this flag
        instead (--no-test-eval); False: not a flag, the job sets it itself.
    """
    return dataclasses.field(default=default, metadata=dict(
        group=group, help=help, choices=choices, check=check, text=text, flag=flag))


def flag(name):
    """The command-line flag of a field: 'batch_size' -> '--batch-size'."""
    return '--' + name.replace('_', '-')


def json_value(value):
    """A field's value as JSON holds it: a tuple as a list."""
    return list(value) if isinstance(value, tuple) else value


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def _is_real(v):
    return isinstance(v, numbers.Real) and not isinstance(v, bool) and math.isfinite(v)


def _positive_int(v):
    return _is_int(v) and v >= 1


def _non_negative_int(v):
    return _is_int(v) and v >= 0


def _positive_number(v):
    return _is_real(v) and v > 0


def _non_negative_number(v):
    return _is_real(v) and v >= 0


def _path(v):
    return v is None or (isinstance(v, (str, os.PathLike)) and os.fspath(v).strip() != '')


# The simple rules a field names in its metadata ('check'), checked in this
# order: (test, what the message says is allowed).
SIMPLE_RULES = collections.OrderedDict([
    ('positive_int', (_positive_int, 'a positive integer')),
    ('non_negative_int', (_non_negative_int, 'an integer >= 0')),
    ('positive_number', (_positive_number, 'a positive number')),
    ('non_negative_number', (_non_negative_number, 'a number >= 0')),
    ('path', (_path, 'a non-empty path')),
])


def _check_optimizer(config):
    """The optimizer options that depend on each other."""
    if not _is_real(config.momentum) or not 0 <= config.momentum < 1:
        raise ConfigError('--momentum must be in [0, 1), got %r' % (config.momentum,))
    if config.scale_lr_multiplier != 1 and config.optimizer == 'adam':
        raise ConfigError('--scale-lr-multiplier changes nothing under Adam (its steps do not '
                          'depend on the gradient\'s scale); use it with --optimizer sgd or '
                          'momentum')
    if config.scale_optimizer == 'adam' and config.optimizer == 'adam':
        raise ConfigError('--scale-optimizer adam needs --optimizer sgd or momentum for the '
                          'means; under --optimizer adam the scales already take Adam steps')
    if config.scale_optimizer == 'adam' and config.scale_lr_multiplier != 1:
        raise ConfigError('--scale-lr-multiplier and --scale-optimizer adam both set the step of '
                          'the scales; choose one')


def check(config):
    """Checks every field of a `RunConfig`; returns the normalised values
    that differ in form from what was given (sequences as tuples, the
    --ood-set list as its canonical string).

    Args:
      config: `tfbnn.run_config.RunConfig` (called as it is made).

    Returns:
      dict of field name -> normalised value.

    Raises:
      ConfigError: naming the first invalid option and what is allowed.
    """
    fields = dataclasses.fields(config)
    default_pixel_scale = next(f.default for f in fields if f.name == 'pixel_scale')
    for f in fields:
        allowed, given = f.metadata['choices'], getattr(config, f.name)
        if allowed is not None and given not in allowed:
            raise ConfigError('%s must be one of %s, got %r'
                              % (flag(f.name), ', '.join(allowed), given))
    for rule, (test, allowed) in SIMPLE_RULES.items():
        for f in fields:
            given = getattr(config, f.name)
            if f.metadata['check'] == rule and not test(given):
                raise ConfigError('%s must be %s, got %r' % (flag(f.name), allowed, given))
    if config.seed > MAX_SEED:
        raise ConfigError('--seed must be an integer in [0, %d], got %r' % (MAX_SEED, config.seed))
    if not _is_real(config.kl_weight) or config.kl_weight < 0:
        raise ConfigError('--kl-weight must be a number >= 0, got %r' % (config.kl_weight,))
    if not _is_real(config.max_seconds) or config.max_seconds < 0:
        raise ConfigError('--max-seconds must be a number >= 0, got %r' % (config.max_seconds,))
    _check_optimizer(config)
    if not _is_real(config.prior_pi) or not 0 < config.prior_pi < 1:
        raise ConfigError('--prior-pi must be in (0, 1), got %r' % (config.prior_pi,))
    hidden = _check_model(config)
    try:
        models.uniform_mean_limit(config.posterior_init_mean)
    except ConfigError:
        raise ConfigError('--posterior-init-mean must be one of %s (A a finite number > 0), '
                          'got %r'
                          % (', '.join(models.MEAN_INITIALIZERS), config.posterior_init_mean))
    scale = config.posterior_init_scale
    try:
        scale = check_init_scale('--posterior-init-scale', scale)
    except ConfigError:
        raise ConfigError('--posterior-init-scale must be a number above 1e-6, or two of them '
                          'LOW,HIGH with LOW <= HIGH, got %r' % (json_value(scale),))
    if config.pixel_scale != default_pixel_scale and config.dataset != 'mnist':
        raise ConfigError('--pixel-scale applies to --dataset mnist only, got dataset %r'
                          % config.dataset)
    size = config.validation_size
    if not _is_real(size) or size < 0:
        raise ConfigError('--validation-size must be 0 (none), a fraction in (0, 1) or a '
                          'number of examples, got %r' % (size,))
    if size:
        data.validation_count(size, 10 ** 12)  # its form; the count when the data is loaded
    if not isinstance(config.evaluate_test, bool):
        raise ConfigError('evaluate_test must be true or false, got %r'
                          % (config.evaluate_test,))
    if not config.evaluate_test and not size:
        raise ConfigError('--no-test-eval needs a validation split (--validation-size) to '
                          'evaluate on')
    if config.patience and not config.validate_every:
        raise ConfigError('--patience counts validations: it needs --validate-every')
    if config.validate_every and not size:
        raise ConfigError('--validate-every needs a validation split (--validation-size)')
    decay_epochs = schedules.check_schedule(
        config.lr_schedule, config.lr_decay_epochs, config.lr_decay_factor,
        config.lr_warmup_epochs)
    init_from = config.init_from
    if init_from is not None and (not isinstance(init_from, str) or not init_from):
        raise ConfigError('--init-from must be a checkpoint path, got %r' % (init_from,))
    if not _is_real(config.moped_delta) or config.moped_delta <= 0:
        raise ConfigError('--moped-delta must be a positive number, got %r'
                          % (config.moped_delta,))
    _check_warm_start(config)
    ood_set = _ood_set(config)
    _check_outliers(config)
    if not isinstance(config.sync_replicas, bool):
        raise ConfigError('--sync-replicas must be true or false, got %r'
                          % (config.sync_replicas,))
    if config.output_dir is None:
        raise ConfigError('--output-dir must be a non-empty path')
    paths = {f.name: os.fspath(getattr(config, f.name)) for f in fields
             if f.metadata['check'] == 'path' and isinstance(getattr(config, f.name), os.PathLike)}
    return dict(paths, hidden=tuple(int(h) for h in hidden), posterior_init_scale=scale,
                lr_decay_epochs=decay_epochs, ood_set=ood_set)


# A flag -> (what reads it, whether this config has that): given without it,
# the flag would change nothing.
_GIVEN_NEEDS = (
    ('momentum', 'with --optimizer momentum', lambda c: c.optimizer == 'momentum'),
    ('scale-learning-rate', 'with --scale-optimizer adam', lambda c: c.scale_optimizer == 'adam'),
    ('lr-decay-factor', 'with --lr-schedule step or cosine', lambda c: c.lr_schedule != 'constant'),
    ('split', 'for --dataset uci (its K-th standard split)', lambda c: c.dataset == 'uci'),
)


def check_given(config, given):
    """Refuses a flag given on the command line that the run would ignore:
    --hidden for a model of fixed layers (or more than one width for the
    LSTM), --group-values without --norm group, --data-dir for a built-in
    dataset, and the flags of `_GIVEN_NEEDS` without what reads them. Only flags given count (a
    default --hidden is no choice).

    Args:
      config: the run's `RunConfig`.
      given: set of the field names the command line gave.

    Raises:
      ConfigError: naming the flag and why it has no effect.
    """
    if 'hidden' in given and config.model in _FIXED_MODELS:
        raise ConfigError('--hidden sets the layers of --model mlp and lstm; the layers of '
                          '--model %s are fixed (%s): leave out --hidden %s'
                          % (config.model, _FIXED_MODELS[config.model],
                             ','.join(map(str, config.hidden))))
    if 'hidden' in given and config.model == 'lstm' and len(config.hidden) > 1:
        raise ConfigError('--model lstm has one LSTM layer: --hidden takes its number of units '
                          '(e.g. --hidden %d), got %s'
                          % (config.hidden[0], ','.join(map(str, config.hidden))))
    for flag, needs, holds in _GIVEN_NEEDS:
        dest = flag.replace('-', '_')
        if dest in given and not holds(config):
            raise ConfigError('--%s is read %s only; this run has none of it: leave out --%s %s'
                              % (flag, needs, flag, getattr(config, dest)))
    if 'outlier_weight' in given and config.outlier_exposure == 'none':
        raise ConfigError('--outlier-weight %g needs --outlier-exposure (it weighs the term of '
                          'the outliers)' % config.outlier_weight)
    if 'group_values' in given and config.norm != 'group':
        raise ConfigError('--group-values sets the groups of --norm group; this run has --norm '
                          '%s: leave out --group-values %d' % (config.norm, config.group_values))
    if 'data_dir' in given and config.dataset not in data.FILE_DATASETS:
        raise ConfigError('--data-dir is read for --dataset %s only; dataset %r is built in '
                          'and reads no files: leave out --data-dir %s'
                          % (', '.join(data.FILE_DATASETS), config.dataset, config.data_dir))


def _ood_set(config):
    """--ood-set in its canonical form ('noise,inverted'): auto, none, or a
    list of kinds, never empty ('' or ',' would turn it off unannounced)
    and not with --ood-data-dir."""
    ood_set = config.ood_set
    if ood_set == 'none' and config.ood_data_dir:
        raise ConfigError('--ood-set none turns the out-of-distribution evaluation off: leave out '
                          '--ood-data-dir %s, or --ood-set none' % config.ood_data_dir)
    if ood_set in ('auto', 'none'):
        return ood_set
    ood_set = ','.join(data.check_ood_kinds(ood_set))
    if not ood_set:
        raise ConfigError('--ood-set must be auto, none (off) or a comma-separated list of %s, '
                          'got %r' % (', '.join(data.ALL_KINDS), config.ood_set))
    if config.ood_data_dir:
        raise ConfigError('--ood-set %s and --ood-data-dir: choose one out-of-distribution set'
                          % ood_set)
    return ood_set


def _check_model(config):
    """--hidden's sizes (returned), and no --norm for the LSTM, whose cell
    the getter builds."""
    hidden = config.hidden
    if (not isinstance(hidden, (list, tuple)) or not hidden
            or not all(_is_int(h) and h > 0 for h in hidden)):
        raise ConfigError('--hidden must be one or more positive integers, got %r' % (hidden,))
    if config.model == 'lstm' and config.norm != 'none':
        raise ConfigError('--model lstm takes no --norm, got %r' % (config.norm,))
    return hidden


def _check_warm_start(config):
    """--warm-start is a path and excludes --init-from; --prune-fraction is in
    [0, 1) and needs --warm-start (a random start has nothing to rank)."""
    start = config.warm_start
    if start is not None and (not isinstance(start, str) or not start):
        raise ConfigError('--warm-start must be a run directory or a checkpoint path, got %r'
                          % (start,))
    if start and config.init_from:
        raise ConfigError('--warm-start and --init-from: choose one start (--init-from starts a '
                          'Bayesian model at a deterministic checkpoint, --warm-start at a '
                          'Bayesian run)')
    fraction = config.prune_fraction
    if not _is_real(fraction) or not 0 <= fraction < 1:
        raise ConfigError('--prune-fraction must be a number in [0, 1), got %r' % (fraction,))
    if fraction and not start:
        raise ConfigError('--prune-fraction %g needs --warm-start: pruning ranks a trained '
                          "posterior's weights by |mu|/sigma" % fraction)


# Datasets whose examples are never 2-D images of a classification task.
_NOT_IMAGE_CLASSES = {'uci': 'a regression task', 'toy_regression': 'a regression task',
                      'volumes3d': '3-D volumes'}


def _check_outliers(config):
    """--outlier-exposure draws 2-D images for a classifier: the datasets
    that never are such are refused before loading (the loaded data is
    checked by `tfbnn.run_setup.check_outlier_data`: npz may hold anything);
    --outlier-weight and --outlier-draws need the option, the draws an
    estimator that perturbs every row apart, --outlier-disagreement two
    draws; batch norm would mix the outliers in."""
    kind = config.outlier_exposure
    if kind != 'none' and config.dataset in _NOT_IMAGE_CLASSES:
        raise ConfigError('--outlier-exposure %s needs classification of 2-D images; --dataset '
                          '%s is %s' % (kind, config.dataset, _NOT_IMAGE_CLASSES[config.dataset]))
    if kind == 'none' and config.outlier_weight != 1.0:
        raise ConfigError('--outlier-weight %g needs --outlier-exposure (it weighs the term of '
                          'the outliers)' % config.outlier_weight)
    if config.outlier_disagreement > 0 and config.outlier_draws < 2:
        raise ConfigError('--outlier-disagreement %g needs --outlier-draws 2 or more (the mutual '
                          'information is measured between the draws)'
                          % config.outlier_disagreement)
    if config.outlier_draws > 1:
        if kind == 'none':
            raise ConfigError('--outlier-draws %d needs --outlier-exposure (it draws the weights '
                              'for the outliers)' % config.outlier_draws)
        if config.estimator == 'reparameterization':
            raise ConfigError('--outlier-draws %d with --estimator reparameterization: one weight '
                              'sample serves the whole batch, so the draws would be the same; use '
                              'flipout or local_reparameterization' % config.outlier_draws)
    if kind != 'none' and config.norm == 'batch':
        raise ConfigError('--outlier-exposure %s with --norm batch: the outliers would enter '
                          'the batch statistics; use --norm group or none' % kind)
