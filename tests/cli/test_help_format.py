"""Every command's --help: a default shown once, where it says something."""
import argparse
import importlib
import re

import pytest

from tfbnn.cli.help_format import DefaultsHelpFormatter


def _help(parser):
    # Subcommands (reproduce mnist, ...) have their own --help.
    texts = [parser.format_help()]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            texts += [sub.format_help() for sub in action.choices.values()]
    return ' '.join(' '.join(texts).split())  # argparse wraps at the terminal's width


@pytest.mark.parametrize('module', ['train', 'export', 'reproduce', 'kl_study', 'local_cluster'])
def test_no_empty_or_repeated_defaults(module):
    text = _help(importlib.import_module('tfbnn.cli.' + module).build_parser())
    assert '(default: None)' not in text and '(default: False)' not in text
    assert not re.search(r'\(default[^)]*\) \(default', text), text


def test_formatter_cases():
    p = argparse.ArgumentParser(formatter_class=DefaultsHelpFormatter)
    p.add_argument('--rate', type=float, default=0.01, help='the step (see reproduce.py defaults)')
    p.add_argument('--sigma', type=float, default=0.0025, help='the scale (default e^-6)')
    p.add_argument('--out', default=None, help='a folder')
    p.add_argument('--quiet', action='store_true', help='print less')
    text = ' '.join(p.format_help().split())
    assert 'the step (see reproduce.py defaults) (default: 0.01)' in text
    assert 'the scale (default e^-6) --out' in text
    assert 'a folder --quiet' in text and 'print less' in text
    assert text.count('(default') == 2


@pytest.mark.parametrize('module,argv,line', [
    ('train', ['--split', '1.5'], "tfbnn-train: error: argument --split: invalid int value: "
                                  "'1.5' (see tfbnn-train --help)"),
    ('train', ['--bogus'], 'tfbnn-train: error: unrecognized arguments: --bogus (see tfbnn-train '
                           '--help)'),
    ('export', [], 'tfbnn-export: error: the following arguments are required: run_dir (see '
                   'tfbnn-export --help)'),
    ('reproduce', ['uci', '--splits', 'x'], "tfbnn-reproduce uci: error: argument --splits: "
                                            "invalid int value: 'x' (see tfbnn-reproduce uci "
                                            "--help)"),
    ('kl_study', ['--bogus'], 'tfbnn-kl-study: error: unrecognized arguments: --bogus (see '
                              'tfbnn-kl-study --help)'),
])
def test_a_usage_error_is_one_line(capsys, module, argv, line):
    """Not the usage block first (tfbnn-train's is 50 lines)."""
    parser = importlib.import_module('tfbnn.cli.' + module).build_parser()
    with pytest.raises(SystemExit) as exit_info:
        parser.parse_args(argv)
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [line]
