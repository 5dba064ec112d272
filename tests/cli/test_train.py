"""tfbnn.cli.train: the parser generated from RunConfig's fields."""
import dataclasses

import pytest

from tfbnn import run_config
from tfbnn.cli.train import _as_flag, build_parser, given_flags
from tfbnn.run_config import RunConfig

CLUSTER_FLAGS = ('cluster', 'job_name', 'task_index')


def _options(argv):
    options = vars(build_parser().parse_args(argv))
    assert all(options.pop(k) is None for k in CLUSTER_FLAGS)
    return options


def test_the_parser_defaults_are_the_dataclass_defaults():
    options = _options([])
    flags = [f for f in dataclasses.fields(RunConfig) if f.metadata['flag'] is not False]
    assert set(options) == {f.name for f in flags}
    for f in flags:
        assert options[f.name] == run_config.DEFAULTS[f.name], f.name
        assert type(options[f.name]) is type(run_config.DEFAULTS[f.name]), f.name
    assert RunConfig.from_dict(options) == RunConfig()


def test_help_documents_every_flag_with_its_default_and_choices(capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(['--help'])
    assert exit_.value.code == 0
    text = ' '.join(capsys.readouterr().out.split())  # undo the line wrapping
    for f in dataclasses.fields(RunConfig):
        flag = f.metadata['flag'] if isinstance(f.metadata['flag'], str) else \
            run_config.flag(f.name)
        if f.metadata['flag'] is False:
            assert flag not in text  # workers: set by the chief, not a flag
            continue
        words = ' '.join(f.metadata['help'].split())
        assert flag in text and words in text, f.name
        default = run_config.DEFAULTS[f.name]
        if f.metadata['text'] != 'switch' and default is not None and '(default' not in words:
            assert '%s (default: %s)' % (words, default) in text, f.name
        else:  # --no-test-eval's value behind it is True: it would read as "on by default";
            # None says nothing, and a help text may name its default in its own words
            assert '%s (default:' % words not in text, f.name
        if f.metadata['choices']:
            assert '%s {%s}' % (flag, ','.join(f.metadata['choices'])) in text, f.name
    assert 'train on a TensorFlow cluster' in text and '--task-index' in text


def test_flags_read_lists_scales_and_switches():
    options = _options(['--hidden', '400,400', '--lr-decay-epochs', '200 300',
                        '--posterior-init-scale', '0.01,0.02', '--no-test-eval', '--resume',
                        '--sync-replicas', '--validation-size', '0.2', '--epochs', '3',
                        '--dataset', 'uci'])
    assert options['hidden'] == [400, 400] and options['lr_decay_epochs'] == [200.0, 300.0]
    assert options['posterior_init_scale'] == [0.01, 0.02]
    assert options['evaluate_test'] is False and options['resume'] is True
    assert options['sync_replicas'] is True and options['epochs'] == 3
    assert _options(['--posterior-init-scale', '0.05'])['posterior_init_scale'] == 0.05
    assert _options(['--hidden', '400, 300'])['hidden'] == [400, 300]
    assert _options(['--lr-decay-epochs', ''])['lr_decay_epochs'] == []  # none, as _as_flag says
    # A choice is checked by RunConfig (one line naming what is allowed), not by argparse.
    assert _options(['--dataset', 'cifar'])['dataset'] == 'cifar'


@pytest.mark.parametrize('argv,message', [
    (['--hidden', '4,x'], "expected integers like 400,400, got '4,x'"),
    (['--hidden', '100,,100'], "argument --hidden: empty entry in '100,,100': expected a list "
                               "like 400,400"),
    (['--hidden', '100,'], "argument --hidden: empty entry in '100,'"),
    (['--lr-decay-epochs', ',200'], "argument --lr-decay-epochs: empty entry in ',200'"),
    (['--lr-decay-epochs', 'soon'], "expected numbers like 200,300, got 'soon'"),
    (['--posterior-init-scale', '1,2,3'], "expected a number or LOW,HIGH, got '1,2,3'"),
    (['--epochs', 'ten'], "argument --epochs: invalid int value: 'ten'"),
    (['--workers', '2'], 'unrecognized arguments: --workers 2'),
])
def test_malformed_flags_exit_2(capsys, argv, message):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_a_switch_has_its_opposite_and_a_resume_names_each_value_as_a_flag():
    parser = build_parser()
    assert _options(['--no-test-eval', '--test-eval'])['evaluate_test'] is True
    assert _options(['--sync-replicas', '--no-sync-replicas'])['sync_replicas'] is False
    assert given_flags(parser, ['--test-eval', '--epochs', '3']) == {'evaluate_test', 'epochs'}
    assert _as_flag(parser, 'evaluate_test', False) == '--no-test-eval'
    assert _as_flag(parser, 'evaluate_test', True) == '--test-eval'
    assert _as_flag(parser, 'sync_replicas', True) == '--sync-replicas'
    assert _as_flag(parser, 'hidden', [400, 400]) == '--hidden 400,400'
    assert _as_flag(parser, 'lr_decay_epochs', []) == "--lr-decay-epochs ''"
    assert _as_flag(parser, 'learning_rate', 0.05) == '--learning-rate 0.05'
