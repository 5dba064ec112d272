"""tfbnn.run_config: RunConfig's checks and normal forms, config.json, resume compatibility."""
import dataclasses
import json
import math
import os
import pathlib
import re

import pytest

from tfbnn import run_config
from tfbnn.errors import CheckpointError, ConfigError
from tfbnn.run_config import RunConfig
from tfbnn.version import __version__

# A config.json as tfbnn wrote it before RunConfig (commit 73ae99b, scripts/train.py
# --hidden 8 --epochs 1 --eval-samples 2 --progress never --posterior-init-scale
# 0.01,0.02 --lr-schedule step --lr-decay-epochs 3), copied literally.
OLD_CONFIG_JSON = {
    "batch_size": 128, "checkpoint_every": 0, "config_format": 1, "data_dir": None,
    "dataset": "digits", "device": "auto", "diagnostics_every": 0, "epochs": 1,
    "estimator": "flipout", "eval_batch_size": 500, "eval_estimator": "auto", "eval_samples": 2,
    "evaluate_test": True, "hidden": [8], "init_from": None, "keep_checkpoints": 3,
    "kl_scheme": "per_example", "kl_weight": 1.0, "learning_rate": 0.003,
    "lr_decay_epochs": [3.0], "lr_decay_factor": 0.1, "lr_schedule": "step",
    "lr_warmup_epochs": 0.0, "max_seconds": 0.0, "model": "mlp", "momentum": 0.9,
    "moped_delta": 0.1, "noise_prior": "none", "noise_prior_rate": 6.0, "noise_prior_shape": 6.0,
    "norm": "none", "ood_data_dir": None, "ood_set": "auto", "optimizer": "adam",
    "output_dir": "/tmp/oldrun", "patience": 0, "pixel_scale": 255.0,
    "posterior_init_mean": "glorot_uniform", "posterior_init_scale": [0.01, 0.02],
    "prior": "normal", "prior_pi": 0.5, "prior_sigma": 1.0, "prior_sigma1": 1.0,
    "prior_sigma2": 0.0024787521766663585, "progress": "never", "resume": False, "seed": 0,
    "split": 0, "summary_every": 50, "sync_replicas": False, "tfbnn_version": "0.1.0",
    "threads": 0, "train_samples": 1, "validate_every": 0, "validation_size": 0.0,
    "warmup_steps": 0, "workers": 0,
}

# Options added after that config.json was written, with their defaults.
ADDED_SINCE = {'scale_lr_multiplier': 1.0, 'scale_optimizer': 'same',
               'scale_learning_rate': 1e-3, 'warm_start': None, 'prune_fraction': 0.0,
               'outlier_exposure': 'none', 'outlier_weight': 1.0, 'outlier_draws': 1,
               'outlier_disagreement': 0.0, 'group_values': 16}


def _write(path, record):
    with open(path, 'w') as f:
        json.dump(record, f)
    return path


def _read(path):
    with open(path) as f:
        return json.load(f)


def test_the_defaults_are_the_documented_values_and_read_only():
    config = RunConfig()
    assert config.hidden == (100, 100) and config.epochs == 60 and config.learning_rate == 3e-3
    assert config.prior_sigma2 == math.exp(-6.0) and config.lr_decay_epochs == ()
    assert dict(run_config.DEFAULTS) == config.to_dict()
    assert run_config.DEFAULTS['hidden'] == [100, 100]
    with pytest.raises(TypeError):
        run_config.DEFAULTS['epochs'] = 3


def test_every_field_has_help_a_group_and_its_rule():
    fields = dataclasses.fields(RunConfig)
    # The options of the old config.json and those added since, no more and no fewer.
    assert {f.name for f in fields} == (set(OLD_CONFIG_JSON) | set(ADDED_SINCE)) - {
        'config_format', 'tfbnn_version'}
    for f in fields:
        meta = f.metadata
        assert isinstance(meta['help'], str) and len(meta['help']) > 10, f.name
        assert meta['group'] in ('data', 'model', 'objective', 'training', 'evaluation',
                                 'output', 'distributed'), f.name
        assert meta['choices'] is None or f.default in meta['choices'], f.name
        assert meta['check'] in (None, 'positive_int', 'non_negative_int', 'positive_number',
                                 'non_negative_number', 'path')
        assert meta['text'] in (None, 'int_list', 'float_list', 'scale', 'switch'), f.name


@pytest.mark.parametrize('field', ['data_dir', 'ood_data_dir', 'output_dir'])
@pytest.mark.parametrize('value', ['', '  '])
def test_an_empty_path_is_refused_by_its_flag(field, value):
    with pytest.raises(ConfigError, match="^--%s must be a non-empty path, got '%s'$"
                                          % (field.replace('_', '-'), value)):
        RunConfig(**{field: value})
    # a path object is a path, kept as its str
    assert getattr(RunConfig(**{field: pathlib.Path('a', 'b')}), field) == os.path.join('a', 'b')


def test_values_are_normalised_once_when_made():
    config = RunConfig(hidden=[400, 400], posterior_init_scale=[0.01, 0.02],
                       ood_set='noise, inverted', lr_schedule='step', lr_decay_epochs=[300, 200])
    assert config.hidden == (400, 400) and config.posterior_init_scale == (0.01, 0.02)
    assert config.ood_set == 'noise,inverted' and config.lr_decay_epochs == (200.0, 300.0)
    assert RunConfig(posterior_init_scale=1).posterior_init_scale == 1.0
    # Equal options make equal (and equally hashed) configs, whatever sequence type came in.
    assert config == RunConfig(hidden=(400, 400), posterior_init_scale=(0.01, 0.02),
                               ood_set='noise,inverted', lr_schedule='step',
                               lr_decay_epochs=(200.0, 300.0))
    assert len({config, dataclasses.replace(config)}) == 1
    # Numbers keep their type: validation_size 200 is a count, 0.2 a fraction.
    assert RunConfig(validation_size=200).to_dict()['validation_size'] == 200


def test_it_is_immutable():
    config = RunConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 3
    with pytest.raises(AttributeError):
        config.hidden.append(3)  # a tuple


def test_replace_makes_a_checked_copy():
    config = RunConfig(epochs=3)
    other = dataclasses.replace(config, workers=2, sync_replicas=True)
    assert (other.workers, other.sync_replicas, other.epochs) == (2, True, 3)
    assert (config.workers, config.sync_replicas) == (0, False)
    with pytest.raises(ConfigError, match=r'^--epochs must be a positive integer, got 0$'):
        dataclasses.replace(config, epochs=0)
    with pytest.raises(TypeError):
        dataclasses.replace(config, epoch=3)


def test_validate_takes_a_config_or_a_mapping():
    config = RunConfig(epochs=3)
    assert run_config.validate(config) is config
    assert run_config.validate(dict(epochs=3)) == config
    with pytest.raises(TypeError, match='expected a mapping of options'):
        run_config.validate(['epochs'])


def test_unknown_options_are_named():
    with pytest.raises(ConfigError, match=r'^unknown option\(s\): hiden, lr$'):
        RunConfig.from_dict(dict(lr=0.1, hiden=[4], epochs=2))
    # What config.json holds besides the options is not an option, and not an error.
    assert RunConfig.from_dict(dict(config_format=1, tfbnn_version='x')) == RunConfig()


@pytest.mark.parametrize('options,message', [
    (dict(dataset='cifar'), "--dataset must be one of digits, mnist, uci, toy_regression, "
                            "volumes3d, npz, got 'cifar'"),
    (dict(progress='sometimes'), "--progress must be one of auto, always, never, got 'sometimes'"),
    (dict(lr_schedule='exp'), "--lr-schedule must be one of constant, step, cosine, got 'exp'"),
    (dict(posterior_init_mean='uniform:0'), '--posterior-init-mean must be one of '
     "glorot_uniform, he_normal, lecun_normal, uniform:A (A a finite number > 0), got "
     "'uniform:0'"),
    (dict(posterior_init_mean='zeros'), "--posterior-init-mean must be one of glorot_uniform"),
    (dict(epochs=0), '--epochs must be a positive integer, got 0'),
    (dict(batch_size=1.5), '--batch-size must be a positive integer, got 1.5'),
    (dict(eval_samples=True), '--eval-samples must be a positive integer, got True'),
    (dict(seed=-1), '--seed must be an integer >= 0, got -1'),
    (dict(seed=2 ** 32), '--seed must be an integer in [0, 4294967295], got 4294967296'),
    (dict(seed=2 ** 63), '--seed must be an integer in [0, 4294967295], got 9223372036854775808'),
    (dict(workers='2'), "--workers must be an integer >= 0, got '2'"),
    (dict(prior_sigma=0.0), '--prior-sigma must be a positive number, got 0.0'),
    (dict(learning_rate=float('nan')), '--learning-rate must be a positive number, got nan'),
    (dict(kl_weight=-1.0), '--kl-weight must be a number >= 0, got -1.0'),
    (dict(max_seconds=-1), '--max-seconds must be a number >= 0, got -1'),
    (dict(momentum=1.0), '--momentum must be in [0, 1), got 1.0'),
    (dict(prior_pi=0), '--prior-pi must be in (0, 1), got 0'),
    (dict(hidden=[]), '--hidden must be one or more positive integers, got []'),
    (dict(hidden=[8, 0]), '--hidden must be one or more positive integers, got [8, 0]'),
    (dict(hidden='8'), "--hidden must be one or more positive integers, got '8'"),
    (dict(posterior_init_scale=[0.2, 0.1]), '--posterior-init-scale must be a number above '
                                            '1e-6, or two of them LOW,HIGH with LOW <= HIGH, '
                                            'got [0.2, 0.1]'),
    (dict(posterior_init_scale=0), '--posterior-init-scale must be a number above 1e-6'),
    (dict(pixel_scale=126.0), "--pixel-scale applies to --dataset mnist only, got dataset "
                              "'digits'"),
    (dict(validation_size=-1), '--validation-size must be 0 (none), a fraction in (0, 1) or a '
                               'number of examples, got -1'),
    (dict(validation_size=1.5), '--validation-size must be a fraction in (0, 1) or a whole '
                                'number of examples >= 1, got 1.5'),
    (dict(evaluate_test='no'), "evaluate_test must be true or false, got 'no'"),
    (dict(evaluate_test=False), '--no-test-eval needs a validation split (--validation-size) '
                                'to evaluate on'),
    (dict(patience=2), '--patience counts validations: it needs --validate-every'),
    (dict(validate_every=1), '--validate-every needs a validation split (--validation-size)'),
    (dict(lr_schedule='step'), '--lr-schedule step needs --lr-decay-epochs (e.g. 300 or 200,300)'),
    (dict(lr_decay_factor=2.0), '--lr-decay-factor must be in (0, 1], got 2.0'),
    (dict(init_from=''), "--init-from must be a checkpoint path, got ''"),
    (dict(moped_delta=0), '--moped-delta must be a positive number, got 0'),
    (dict(warm_start=''), "--warm-start must be a run directory or a checkpoint path, got ''"),
    (dict(warm_start='r', prune_fraction=-0.1),
     '--prune-fraction must be a number in [0, 1), got -0.1'),
    (dict(warm_start='r', prune_fraction=True),
     '--prune-fraction must be a number in [0, 1), got True'),
    (dict(ood_set='dark'), "--ood-set must be none or a comma-separated list of"),
    (dict(ood_set=''), "--ood-set must be auto, none (off) or a comma-separated list of "
                       "inverted, permuted, noise, photos, letters, got ''"),
    (dict(ood_set=' , '), "--ood-set must be auto, none (off) or a comma-separated list of "),
    (dict(ood_set='noise', ood_data_dir='x'), '--ood-set noise and --ood-data-dir: choose one '
                                              'out-of-distribution set'),
    (dict(ood_set='none', ood_data_dir='x'), '--ood-set none turns the out-of-distribution '
                                             'evaluation off: leave out --ood-data-dir x, or '
                                             '--ood-set none'),
    (dict(sync_replicas='yes'), "--sync-replicas must be true or false, got 'yes'"),
    (dict(output_dir=''), '--output-dir must be a non-empty path'),
])
def test_each_bad_value_is_one_line_naming_the_flag(options, message):
    for make in (RunConfig.from_dict, lambda o: RunConfig(**o),
                 lambda o: dataclasses.replace(RunConfig(), **o)):
        with pytest.raises(ConfigError, match='^' + re.escape(message)) as err:
            make(options)
        assert '\n' not in str(err.value)


def test_the_largest_seed_is_numpys():
    assert RunConfig(seed=run_config.MAX_SEED).seed == 2 ** 32 - 1


def test_an_empty_ood_set_of_an_earlier_config_json_loads_as_none(tmp_path):
    path = str(tmp_path / 'config.json')
    run_config.save(RunConfig(), path)
    with open(path) as f:
        record = json.load(f)
    with open(path, 'w') as f:  # as a run before '' was refused wrote it
        json.dump(dict(record, ood_set=''), f)
    assert run_config.load(path) == RunConfig(ood_set='none')


def test_ood_set_none_with_a_folder_of_an_earlier_config_json_loads_as_the_folder(tmp_path):
    """Before none turned --ood-data-dir off, such a run scored the folder."""
    path = str(tmp_path / 'config.json')
    run_config.save(RunConfig(ood_data_dir='/ood'), path)
    with open(path) as f:
        record = json.load(f)
    with open(path, 'w') as f:
        json.dump(dict(record, ood_set='none'), f)
    assert run_config.load(path) == RunConfig(ood_data_dir='/ood', ood_set='auto')


@pytest.mark.parametrize('options, given, message', [
    (dict(model='lenet5', hidden=(7,)), {'model', 'hidden'},
     '--hidden sets the layers of --model mlp and lstm; the layers of --model lenet5 are fixed '
     '(two 5x5 conv2d blocks of 6 and 16 filters, then dense 120, 84): leave out --hidden 7'),
    (dict(model='conv3d'), {'model', 'hidden'},
     '--hidden sets the layers of --model mlp and lstm; the layers of --model conv3d are fixed '
     '(two 3x3x3 conv3d blocks of 8 and 16 filters, then dense 64): leave out --hidden 100,100'),
    (dict(data_dir='/data'), {'data_dir'},
     "--data-dir is read for --dataset mnist, uci, npz only; dataset 'digits' is built in and "
     "reads no files: leave out --data-dir /data"),
    (dict(dataset='toy_regression', data_dir='d'), {'dataset', 'data_dir'},
     "--data-dir is read for --dataset mnist, uci, npz only; dataset 'toy_regression' is "
     "built in"),
    (dict(model='lstm', hidden=(64, 32)), {'model', 'hidden'},
     '--model lstm has one LSTM layer: --hidden takes its number of units (e.g. --hidden 64), '
     'got 64,32'),
    (dict(norm='batch', group_values=4), {'norm', 'group_values'},
     '--group-values sets the groups of --norm group; this run has --norm batch: leave out '
     '--group-values 4'),
    (dict(group_values=16), {'group_values'}, '--group-values sets the groups of --norm group; '
     'this run has --norm none'),
    (dict(outlier_weight=1.0), {'outlier_weight'}, '--outlier-weight 1 needs --outlier-exposure'),
    (dict(optimizer='sgd', momentum=0.5), {'optimizer', 'momentum'},
     '--momentum is read with --optimizer momentum only; this run has none of it: leave out '
     '--momentum 0.5'),
    (dict(optimizer='sgd', scale_learning_rate=0.5), {'optimizer', 'scale_learning_rate'},
     '--scale-learning-rate is read with --scale-optimizer adam only'),
    (dict(lr_decay_factor=0.5), {'lr_decay_factor'},
     '--lr-decay-factor is read with --lr-schedule step or cosine only'),
    (dict(dataset='npz', data_dir='a.npz', split=3), {'dataset', 'data_dir', 'split'},
     '--split is read for --dataset uci (its K-th standard split) only; this run has none of '
     'it: leave out --split 3'),
])
def test_a_given_flag_the_run_would_ignore_is_refused(options, given, message):
    config = RunConfig(**options)
    with pytest.raises(ConfigError, match='^' + re.escape(message)):
        run_config.check_given(config, given)
    # the defaults: no choice
    run_config.check_given(config, set(given) - {'hidden', 'data_dir', 'group_values',
                                                 'outlier_weight', 'momentum',
                                                 'scale_learning_rate', 'lr_decay_factor',
                                                 'split'})


def test_group_values_with_norm_group_is_taken():
    run_config.check_given(RunConfig(norm='group', group_values=4), {'norm', 'group_values'})


def test_the_first_bad_option_is_the_one_named():
    with pytest.raises(ConfigError, match='^--dataset'):
        RunConfig.from_dict(dict(dataset='cifar', epochs=0))


def test_config_json_round_trip(tmp_path):
    config = RunConfig(hidden=(8, 4), posterior_init_scale=(0.01, 0.02), lr_schedule='step',
                       lr_decay_epochs=(3.0,), ood_set='noise', validation_size=0.2,
                       evaluate_test=False, workers=2, init_from='ckpt/model')
    path = str(tmp_path / 'config.json')
    run_config.save(config, path)
    record = _read(path)
    assert set(record) == set(run_config.DEFAULTS) | {'config_format', 'tfbnn_version'}
    assert record['config_format'] == run_config.CONFIG_FORMAT == 1
    assert record['tfbnn_version'] == __version__
    assert record['hidden'] == [8, 4] and record['posterior_init_scale'] == [0.01, 0.02]
    assert record['lr_decay_epochs'] == [3.0] and record['evaluate_test'] is False
    # Paths in full: a --resume from another folder reads the same files.
    assert record['init_from'] == os.path.abspath('ckpt/model') and record['data_dir'] is None
    assert run_config.load(path) == dataclasses.replace(
        config, init_from=os.path.abspath('ckpt/model'))


def test_a_config_json_written_before_run_config_loads_and_is_written_back_the_same(tmp_path):
    path = _write(str(tmp_path / 'config.json'), OLD_CONFIG_JSON)
    config = run_config.load(path)
    assert config.hidden == (8,) and config.posterior_init_scale == (0.01, 0.02)
    assert config.lr_schedule == 'step' and config.lr_decay_epochs == (3.0,)
    assert config.output_dir == '/tmp/oldrun' and config.progress == 'never'
    again = str(tmp_path / 'again.json')
    run_config.save(config, again)
    # Written back the same, with the options added since at their defaults.
    expected = dict(ADDED_SINCE, **dict(OLD_CONFIG_JSON, tfbnn_version=__version__))
    assert _read(again) == expected


def test_an_older_config_json_takes_the_defaults_of_later_options(tmp_path):
    old = {k: v for k, v in OLD_CONFIG_JSON.items()
           if not k.startswith('lr_') and k not in ('optimizer', 'momentum', 'ood_set')}
    config = run_config.load(_write(str(tmp_path / 'config.json'), old))
    assert (config.lr_schedule, config.optimizer, config.ood_set) == ('constant', 'adam', 'auto')
    assert run_config.learning_rate(config) == 0.003


def test_a_config_json_from_before_group_values_keeps_its_group_norm(tmp_path):
    """Its group norm took gcd(channels, 8) groups: a checkpoint of 8 groups
    of 8 units must not be resumed, evaluated or exported as one group."""
    old = {k: v for k, v in OLD_CONFIG_JSON.items() if k != 'group_values'}
    config = run_config.load(_write(str(tmp_path / 'config.json'), dict(old, norm='group')))
    assert config.group_values == 0
    assert run_config.model_spec(config, 'classification', 10).group_values == 0
    assert run_config.load(_write(str(tmp_path / 'none.json'), old)).group_values == 16
    assert RunConfig().group_values == 16
    new = str(tmp_path / 'new.json')
    run_config.save(RunConfig(norm='group'), new)
    assert run_config.load(new).group_values == 16
    with pytest.raises(CheckpointError, match=r'^cannot resume: --group-values was 0 in the saved '
                                              r'run, now 16$'):
        run_config.check_compatible(config, dataclasses.replace(config, group_values=16))


def test_unusable_config_json_is_a_checkpoint_error(tmp_path):
    missing = str(tmp_path / 'none.json')
    with pytest.raises(CheckpointError, match='none.json not found: not a tfbnn run directory'):
        run_config.load(missing)
    newer = _write(str(tmp_path / 'newer.json'), dict(OLD_CONFIG_JSON, config_format=2))
    with pytest.raises(CheckpointError, match=r'newer.json has config format 2; this tfbnn '
                                              r'\(.*\) reads format 1$'):
        run_config.load(newer)
    listed = _write(str(tmp_path / 'list.json'), [1, 2])
    with pytest.raises(CheckpointError, match='has config format None'):
        run_config.load(listed)
    bad = _write(str(tmp_path / 'bad.json'), dict(OLD_CONFIG_JSON, epochs=0, colour='red'))
    with pytest.raises(CheckpointError, match=r'bad.json: unknown option\(s\): colour$'):
        run_config.load(bad)


def test_resume_needs_the_same_architecture_and_data_in_the_words_of_the_flags():
    saved = RunConfig(hidden=[16])
    run_config.check_compatible(saved, dataclasses.replace(saved, epochs=3, resume=True))
    with pytest.raises(CheckpointError, match=re.escape(
            'cannot resume: --hidden was [16] in the saved run, now [32]')):
        run_config.check_compatible(saved, dataclasses.replace(saved, hidden=(32,)))
    with pytest.raises(CheckpointError, match="^cannot resume: --batch-size was 128 in the saved "
                                              "run, now 64$"):
        run_config.check_compatible(saved, dataclasses.replace(saved, batch_size=64))


def test_resume_takes_one_data_folder_named_two_ways(tmp_path, monkeypatch):
    (tmp_path / 'digits').mkdir()
    (tmp_path / 'other').mkdir()
    monkeypatch.chdir(str(tmp_path))
    saved = RunConfig(data_dir='digits')
    for same in (str(tmp_path / 'digits'), './digits/', 'other/../digits'):
        run_config.check_compatible(saved, dataclasses.replace(saved, data_dir=same))
    for other in ('other', None):
        with pytest.raises(CheckpointError, match="^cannot resume: --data-dir was 'digits' in "
                                                  "the saved run, now %r$" % other):
            run_config.check_compatible(saved, dataclasses.replace(saved, data_dir=other))


def test_resume_keeps_the_objective_and_says_how():
    saved = RunConfig(kl_weight=1.0)  # as a run from before the job's default of 0.1
    with pytest.raises(CheckpointError, match=re.escape(
            'cannot resume: --kl-weight was 1.0 in the saved run, now 0.1; a resumed run keeps '
            'its objective: give --kl-weight 1.0, or start a new run')):
        run_config.check_compatible(saved, RunConfig(resume=True))
    for key, value in [('kl_scheme', 'blundell'), ('warmup_steps', 5), ('train_samples', 2),
                       ('prior', 'scale_mixture'), ('prior_sigma', 0.5)]:
        with pytest.raises(CheckpointError, match='^cannot resume: %s was ' % run_config.flag(key)):
            run_config.check_compatible(saved, dataclasses.replace(saved, **{key: value}))
    # What may change: the length of the run, the step size, the evaluation.
    run_config.check_compatible(saved, dataclasses.replace(
        saved, epochs=9, learning_rate=0.01, eval_samples=7, resume=True))


def test_resume_keeps_the_optimizer_and_a_cosine_curve():
    saved = RunConfig(optimizer='sgd', learning_rate=0.1, epochs=3)
    with pytest.raises(CheckpointError, match=re.escape(
            'cannot resume: --optimizer was sgd in the saved run, now adam (the checkpoint holds '
            'its state); give --optimizer sgd, or start a new run')):
        run_config.check_compatible(saved, dataclasses.replace(saved, optimizer='adam'))
    with pytest.raises(CheckpointError, match='^cannot resume: --scale-optimizer was same '):
        run_config.check_compatible(saved, dataclasses.replace(saved, scale_optimizer='adam'))
    cosine = dataclasses.replace(saved, lr_schedule='cosine')
    with pytest.raises(CheckpointError, match=re.escape(
            'cannot resume: the cosine schedule decays over --epochs (cosine over 3 in the saved '
            'run, now cosine over 6), so the rate would jump; give --lr-schedule cosine '
            '--epochs 3, or start a new run')):
        run_config.check_compatible(cosine, dataclasses.replace(cosine, epochs=6))
    with pytest.raises(CheckpointError, match=r'\(constant over 3 in the saved run, now cosine '):
        run_config.check_compatible(saved, cosine)
    with pytest.raises(CheckpointError, match=re.escape(
            'cannot resume: the cosine schedule decays to --lr-decay-factor times the rate (0.1 '
            'in the saved run, now 0.5), so the rate would jump; give --lr-decay-factor 0.1, or '
            'start a new run')):
        run_config.check_compatible(cosine, dataclasses.replace(cosine, lr_decay_factor=0.5))
    # A step or constant schedule has no horizon: a longer run and another rate go on.
    run_config.check_compatible(cosine, dataclasses.replace(cosine, learning_rate=0.05))
    stepped = dataclasses.replace(saved, lr_schedule='step', lr_decay_epochs=(2.0,))
    run_config.check_compatible(stepped, dataclasses.replace(stepped, epochs=9))
    run_config.check_compatible(stepped, dataclasses.replace(stepped, lr_decay_factor=0.5))
    run_config.check_compatible(saved, dataclasses.replace(stepped, epochs=9))


def test_flag_names():
    assert run_config.flag('batch_size') == '--batch-size'
    assert run_config.flag('prior_sigma1') == '--prior-sigma1'


def test_saving_checks_a_mapping_first(tmp_path):
    path = str(tmp_path / 'config.json')
    run_config.save(dict(epochs=2), path)
    assert run_config.load(path) == RunConfig(epochs=2)
    with pytest.raises(ConfigError, match='unknown option'):
        run_config.save(dict(epoch=2), str(tmp_path / 'bad.json'))
    assert not os.path.exists(str(tmp_path / 'bad.json'))
