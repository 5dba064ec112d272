"""A training run's configuration: `RunConfig`, its checks, and config.json.

A run is described by one frozen `RunConfig`: one field per option of
tfbnn-train, each carrying its default, its allowed choices and its help text
(the command line of `tfbnn.cli.train` is generated from them). It is checked
and normalised when it is made, so every `RunConfig` in the program is a
valid one; `dataclasses.replace` makes a changed copy, checked again.

The run directory keeps it as `<output_dir>/config.json`: a flat JSON object
of every field (lists for the sequences) plus `config_format` and
`tfbnn_version`, which is what `--resume` and the export tool read to rebuild
the same graph. A config.json written before `RunConfig` existed has exactly
this form and loads unchanged.

What a config builds (data, model spec, learning rate, optimiser) lives in
`tfbnn.run_setup` and is re-exported here.
"""
import collections.abc
import dataclasses
import math
import os
import types
from typing import Optional, Tuple, Union

from tfbnn import layers, losses, models, outliers, schedules
from tfbnn._resume_checks import (ARCHITECTURE_KEYS, OBJECTIVE_KEYS, OUTLIER_KEYS, PATH_KEYS,
                                   RESUME_KEYS, check_compatible)
from tfbnn._run_checks import MAX_SEED, check, check_given, flag, json_value, option
from tfbnn.data import DATASETS
from tfbnn.errors import CheckpointError, ConfigError
from tfbnn.internal.jsonio import read_json, write_json
from tfbnn.run_setup import (OPTIMIZERS, SCALE_OPTIMIZERS, check_outlier_data, learning_rate,
                             load_data, load_datasets, make_optimizer, make_scale_optimizer,
                             model_spec, ood_kinds)
from tfbnn.version import __version__

__all__ = ['RunConfig', 'DEFAULTS', 'ARCHITECTURE_KEYS', 'RESUME_KEYS', 'OBJECTIVE_KEYS',
           'OUTLIER_KEYS', 'CONFIG_FORMAT', 'OPTIMIZERS', 'SCALE_OPTIMIZERS', 'validate', 'flag',
           'save', 'load', 'MAX_SEED',
           'check_compatible', 'check_given',  # and tfbnn.run_setup's:
           'learning_rate', 'make_optimizer', 'make_scale_optimizer', 'model_spec', 'load_data',
           'load_datasets', 'ood_kinds', 'check_outlier_data']

# Bumped when a change makes old run directories unreadable.
CONFIG_FORMAT = 1

# The keys config.json holds besides the fields.
_RECORD_KEYS = ('config_format', 'tfbnn_version')


@dataclasses.dataclass(frozen=True)
class RunConfig(object):
    """The options of one training run, checked and normalised when made.

    Each field is an option of tfbnn-train (`--name-with-dashes`), listed
    with its help by `python scripts/train.py --help`; its metadata holds
    that help, the --help group, the allowed choices and its rule.
    Sequences are tuples (the object is immutable and hashable), lists in
    `to_dict` and config.json.

    Build one with keywords (`RunConfig(hidden=(400, 400))`), from a mapping
    of options or a config.json record (`from_dict`, unknown keys are an
    error), or from another (`dataclasses.replace(config, epochs=3)`).

    Raises (on construction):
      ConfigError: naming the first invalid option and what is allowed.
    """

    # data
    dataset: str = option(
        'digits', 'data', 'digits (built in), mnist, uci, toy_regression, volumes3d, npz',
        choices=DATASETS)
    data_dir: Optional[str] = option(
        None, 'data', 'mnist: folder of the 4 IDX files; uci: a dataset folder with data.txt '
        'and index_*.txt; npz: a .npz file or a folder with data.npz', check='path')
    split: int = option(0, 'data', 'uci split index K', check='non_negative_int')
    pixel_scale: float = option(
        255.0, 'data', 'mnist: pixel bytes are divided by this (Blundell et al. 2015: 126)',
        check='positive_number')
    validation_size: Union[float, int] = option(
        0.0, 'data', 'hold out the last examples of the training split for validation: '
        'a fraction in (0, 1) or a number of examples (0: none). '
        'metrics.json then also has val_* scores')
    validate_every: int = option(
        0, 'data', 'early stopping: every N epochs score the predictive on the validation '
        'split, keep the best weights in best/ and evaluate those (0: off; needs '
        '--validation-size)', check='non_negative_int')
    patience: int = option(
        0, 'data', 'stop training after this many validations in a row without improvement '
        '(0: train all --epochs; needs --validate-every)', check='non_negative_int')
    ood_data_dir: Optional[str] = option(
        None, 'data', 'out-of-distribution data in the same format (e.g. Fashion-MNIST for '
        'mnist: its test images file alone is enough): AUROC of entropy and mutual information',
        check='path')
    ood_set: str = option(
        'auto', 'data', 'built-in out-of-distribution images: a comma-separated list of '
        'inverted, permuted, noise (made from the test set), photos and letters (A-J in fonts, '
        'a near set); auto: the first three on images (none with an OOD folder); none: off')
    # model
    model: str = option(
        'mlp', 'model', 'mlp, lenet5, conv3d or lstm (images read row by row by a Bayesian '
        'LSTM of --hidden units, built with tfbnn.custom_getter)', choices=models.MODELS)
    hidden: Tuple[int, ...] = option(
        (100, 100), 'model', 'mlp hidden widths, e.g. 400,400 (lstm: its one number of units, '
        '100 by default, the first of the default; the layers of lenet5 and conv3d are '
        'fixed)', text='int_list')
    norm: str = option(
        'none', 'model', 'none, batch or group: after each hidden layer of mlp and each '
        'convolution of lenet5 and conv3d', choices=models.NORMS)
    group_values: int = option(
        models.MIN_GROUP_VALUES, 'model', 'with --norm group: it takes the most groups (at most '
        '8, dividing the channels) that leave each at least this many values per example, else '
        'one group; 0: gcd(channels, 8) groups, the rule of runs made before this option (their '
        'config.json, without it, keeps it)', check='non_negative_int')
    estimator: str = option(
        'flipout', 'model', 'reparameterization, flipout or local_reparameterization',
        choices=layers.ESTIMATORS)
    prior: str = option('normal', 'model', 'normal (N(0, --prior-sigma^2)), scale_mixture or '
                         'empirical_bayes (N(0, s^2), s fitted to each weight tensor)',
                         choices=models.PRIORS)
    prior_sigma: float = option(1.0, 'model', 'stddev of the normal prior',
                                 check='positive_number')
    prior_pi: float = option(0.5, 'model', 'scale mixture pi')
    prior_sigma1: float = option(1.0, 'model', 'scale mixture sigma1', check='positive_number')
    prior_sigma2: float = option(math.exp(-6.0), 'model', 'scale mixture sigma2 (default e^-6)',
                                  check='positive_number')
    # posterior_init_scale, learning_rate and epochs were chosen on validation
    # (tfbnn.reproduce.defaults; docs/results/defaults/defaults.json).
    posterior_init_scale: Union[float, Tuple[float, float]] = option(
        0.01, 'model', "initial posterior stddev sigma_0 of every weight, or LOW,HIGH: each "
        "weight's rho uniform between softplus^-1 of the two (chosen on validation: python "
        "scripts/reproduce.py defaults)", text='scale')
    posterior_init_mean: str = option(
        'glorot_uniform', 'model', 'initial kernel means: glorot_uniform (as tf.layers), '
        'he_normal, lecun_normal, or uniform:A for U(-A, A)')
    noise_prior: str = option(
        'none', 'model', 'regression: none (maximum-likelihood noise scale) or gamma (a '
        'Gamma(shape, rate) prior on the noise precision, as PBP)', choices=('none', 'gamma'))
    noise_prior_shape: float = option(
        6.0, 'model', 'shape of the Gamma prior on the noise precision (--noise-prior gamma)',
        check='positive_number')
    noise_prior_rate: float = option(
        6.0, 'model', 'rate of the Gamma prior on the noise precision (--noise-prior gamma)',
        check='positive_number')
    init_from: Optional[str] = option(
        None, 'model', "MOPED: start the posterior means at this deterministic checkpoint's "
        "weights (model/fc1/kernel for model/fc1/kernel_loc; the getter-built lstm by its own "
        "names) and sigma at --moped-delta |w|")
    moped_delta: float = option(0.1, 'model', 'MOPED: initial sigma relative to |w|')
    warm_start: Optional[str] = option(None, 'model', "start the model at another tfbnn run's "
                                        "weights (its run directory: best/ if any, else the "
                                        "latest; or a checkpoint); step 0, a fresh optimizer")
    prune_fraction: float = option(
        0.0, 'model', 'with --warm-start: first remove this fraction of kernel weights, the '
        'lowest |mu|/sigma (tfbnn.pruning); the rest trains on, the removed stay removed')
    # objective
    kl_scheme: str = option(
        'per_example', 'objective', 'per_example (mean NLL + KL/N), per_batch (sum NLL + KL/M) '
        'or blundell (sum NLL + pi_i KL)', choices=losses.SCHEMES)
    # 0.1 was chosen on validation for the main job (`tfbnn-reproduce defaults`); the
    # reproductions of Blundell et al. set 1, the full KL.
    kl_weight: float = option(
        0.1, 'objective', 'beta multiplying the KL: 1 targets the posterior, below 1 a tempered '
        'posterior (the main job chose 0.1 on validation)')
    warmup_steps: int = option(0, 'objective', 'ramp beta linearly from 0 over this many steps',
                                check='non_negative_int')
    train_samples: int = option(1, 'objective', 'weight samples averaged per training step',
                                 check='positive_int')
    outlier_exposure: str = option(
        'none', 'objective', 'none, or strokes: every step also shows the network one image of '
        'random pen strokes per example (tfbnn.data.render_strokes) and adds --outlier-weight '
        'times the cross-entropy from uniform to its prediction there (tfbnn.outliers); '
        'classification of 2-D images', choices=outliers.KINDS)
    outlier_weight: float = option(1.0, 'objective', 'lambda of --outlier-exposure',
                                   check='positive_number')
    outlier_draws: int = option(
        1, 'objective', 'weight draws per outlier of --outlier-exposure: at R > 1 each outlier '
        'is shown R times and only the mixture of the R predictions is pulled to uniform, so the '
        'draws may disagree instead (tfbnn.outliers.mixture_uniform_cross_entropy)',
        check='positive_int')
    outlier_disagreement: float = option(
        0.0, 'objective', 'gamma: subtract gamma times the mutual information between label and '
        'weights on each outlier, measured between its --outlier-draws draws, so the draws are '
        'asked to disagree there (tfbnn.outliers.draws_mutual_information)',
        check='non_negative_number')
    # training
    epochs: int = option(60, 'training', 'passes over the training examples',
                          check='positive_int')
    batch_size: int = option(
        128, 'training', 'training examples per step (B; on a cluster, per worker)',
        check='positive_int')
    learning_rate: float = option(3e-3, 'training', 'step size of the optimizer',
                                   check='positive_number')
    optimizer: str = option(
        'adam', 'training', 'adam, sgd (plain gradient descent, as in Blundell et al. 2015) or '
        'momentum', choices=OPTIMIZERS)
    scale_lr_multiplier: float = option(
        1.0, 'training', 'multiplies the step of the posterior scales (the rho variables) under '
        'sgd or momentum: there d/drho carries a factor of about sigma, so at sigma_0 = 0.02 the '
        'scales barely move without it (tfbnn.rho_step); Adam needs none',
        check='positive_number')
    scale_optimizer: str = option(
        'same', 'training', 'same (the rho variables take --optimizer steps) or adam: the '
        'posterior scales get their own Adam at --scale-learning-rate, the means keep '
        '--optimizer sgd or momentum (tfbnn.rho_step)', choices=SCALE_OPTIMIZERS)
    scale_learning_rate: float = option(
        1e-3, 'training', 'the rate of --scale-optimizer adam; --lr-schedule scales it as it '
        'scales --learning-rate', check='positive_number')
    lr_schedule: str = option(
        'constant', 'training', 'constant; step (times --lr-decay-factor at each of '
        '--lr-decay-epochs); cosine (from the rate down to --lr-decay-factor times it over '
        '--epochs). A function of the global step, so --resume continues it exactly',
        choices=schedules.SCHEDULES)
    lr_decay_epochs: Tuple[float, ...] = option(
        (), 'training', 'epochs at which --lr-schedule step decays, e.g. 300 or 200,300',
        text='float_list')
    lr_decay_factor: float = option(
        0.1, 'training', 'step: factor at each decay; cosine: the final fraction of the rate')
    lr_warmup_epochs: float = option(
        0.0, 'training', 'linear warm-up of the rate from 0 over this many epochs (0: none)')
    momentum: float = option(0.9, 'training',
                              'momentum coefficient of --optimizer momentum, in [0, 1)')
    seed: int = option(0, 'training', 'makes CPU runs repeatable; 0 to 4294967295',
                       check='non_negative_int')
    device: str = option('auto', 'training', 'cpu, gpu or auto', choices=('cpu', 'gpu', 'auto'))
    threads: int = option(0, 'training',
                           'TensorFlow intra/inter-op threads (0: TensorFlow decides)',
                           check='non_negative_int')
    max_seconds: float = option(
        0.0, 'training', 'stop training after this wall time, checkpoint and evaluate '
        '(0: no limit)')
    # evaluation
    eval_samples: int = option(
        50, 'evaluation', 'K weight samples of the predictive (one sess.run per test batch)',
        check='positive_int')
    eval_estimator: str = option(
        'auto', 'evaluation', 'estimator of the predictive: auto (local_reparameterization for '
        'mlp, exact per example and cheapest; the training estimator otherwise) or one of the '
        'estimators', choices=('auto',) + layers.ESTIMATORS)
    evaluate_test: bool = option(
        True, 'evaluation', 'score only the validation split at the end and leave the test '
        'split unseen (for choosing hyperparameters)', text='switch', flag='--no-test-eval')
    eval_batch_size: int = option(
        500, 'evaluation', 'examples per sess.run of the predictive at evaluation',
        check='positive_int')
    # output
    output_dir: str = option(
        'runs/latest', 'output', 'the run directory: config.json, checkpoints, TensorBoard '
        'events, history, metrics and plots', check='path')
    checkpoint_every: int = option(
        0, 'output', 'steps between checkpoints (0: once per epoch); always at the end; '
        'history.json is written with each',
        check='non_negative_int')
    keep_checkpoints: int = option(3, 'output', 'how many of the latest checkpoints to keep',
                                    check='positive_int')
    summary_every: int = option(50, 'output', 'steps between TensorBoard summaries',
                                 check='positive_int')
    diagnostics_every: int = option(
        0, 'output', 'every N steps (and at the last), log and summarise per-layer KL '
        'diagnostics: parameters, KL, KL/param, mean sigma, |mu|/sigma, and the gradient norms '
        'of the scaled KL and of the NLL (0: off)', check='non_negative_int')
    resume: bool = option(
        False, 'output', 'continue the run in --output-dir from its latest checkpoint',
        text='switch')
    progress: str = option('auto', 'output', 'progress bar: auto (on a terminal), always or never',
                            choices=('auto', 'always', 'never'))
    # distributed (tfbnn.training.distributed)
    sync_replicas: bool = option(
        False, 'distributed', 'synchronous training: each update applies the mean gradient of '
        'all workers (SyncReplicasOptimizer); default asynchronous', text='switch')
    workers: int = option(
        0, 'distributed', 'W of the cluster that wrote the run (set by the chief); 0: one '
        'process', check='non_negative_int', flag=False)

    def __post_init__(self):
        for name, value in check(self).items():  # the normalised values
            object.__setattr__(self, name, value)

    @classmethod
    def from_dict(cls, options):
        """A checked `RunConfig` from a mapping of options (missing ones take
        their defaults) or a config.json record.

        Raises:
          ConfigError: an unknown option or an invalid value.
          TypeError: `options` is not a mapping.
        """
        if not isinstance(options, collections.abc.Mapping):
            raise TypeError('RunConfig.from_dict: expected a mapping of options, got %r'
                            % (options,))
        unknown = sorted(str(k) for k in options if k not in _NAMES and k not in _RECORD_KEYS)
        if unknown:
            raise ConfigError('unknown option(s): %s' % ', '.join(unknown))
        return cls(**{k: v for k, v in options.items() if k in _NAMES})

    def to_dict(self):
        """Every option as JSON values (sequences as lists), as config.json holds them."""
        return {f.name: json_value(getattr(self, f.name)) for f in dataclasses.fields(self)}


_NAMES = frozenset(f.name for f in dataclasses.fields(RunConfig))

# The defaults, read-only, as JSON values (lists for sequences).
DEFAULTS = types.MappingProxyType(RunConfig().to_dict())

def validate(config):
    """The `RunConfig` of `config`: itself if it is one (it was checked when
    made), else a mapping of options checked and converted once.

    Args:
      config: `RunConfig`, or a mapping of options (missing ones take their
        defaults; `config_format` and `tfbnn_version` of a config.json
        record are ignored).

    Returns:
      `RunConfig`.

    Raises:
      ConfigError: naming the first invalid option and what is allowed.
    """
    if isinstance(config, RunConfig):
        return config
    return RunConfig.from_dict(config)


def save(config, path):
    """Writes config.json atomically (a killed job never leaves half a file).

    Args:
      config: `RunConfig` (or a mapping, checked first).
      path: the file to write.
    """
    record = validate(config).to_dict()
    for key in PATH_KEYS:  # in full: a --resume from elsewhere reads the same files
        if record[key]:
            record[key] = os.path.abspath(record[key])
    write_json(path, dict(record, config_format=CONFIG_FORMAT, tfbnn_version=__version__))


def load(path):
    """Reads a run's config.json.

    Returns:
      `RunConfig`.

    Raises:
      CheckpointError: when the file is missing, unreadable, or from an
        incompatible version of tfbnn.
    """
    try:
        record = read_json(path)
    except CheckpointError as err:  # the run's options are nowhere else
        if not isinstance(err.__cause__, ValueError):  # a read fault: the system's reason
            raise
        raise CheckpointError('%s; put back a copy of it, or start the run again in a new '
                              'folder' % err)
    if record is None:
        raise CheckpointError('%s not found: not a tfbnn run directory' % path)
    if not isinstance(record, dict) or record.get('config_format') != CONFIG_FORMAT:
        raise CheckpointError('%s has config format %r; this tfbnn (%s) reads format %d'
                              % (path, record.get('config_format') if isinstance(record, dict)
                                 else None, __version__, CONFIG_FORMAT))
    if record.get('ood_set') == '':  # written before '' was refused; it turned the sets off
        record = dict(record, ood_set='none')
    if record.get('ood_set') == 'none' and record.get('ood_data_dir'):
        record = dict(record, ood_set='auto')  # written before none turned the folder off too
    if 'group_values' not in record and record.get('norm') == 'group':
        record = dict(record, group_values=0)  # written before it: gcd(channels, 8) groups
    try:
        return RunConfig.from_dict(record)
    except ConfigError as err:
        raise CheckpointError('%s: %s' % (path, err))
