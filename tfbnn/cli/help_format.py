"""One --help style for every tfbnn command: a flag's default, where it says something."""
import argparse
import re

__all__ = ['DefaultsHelpFormatter']

# "(default e^-6)", "default: RUN_DIR/export"; not "... reproduce.py defaults".
_NAMES_DEFAULT = re.compile(r'\(default\b|\bdefault:')


class DefaultsHelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Appends "(default: X)" to a flag's help, except where it would mislead or repeat.

    Left out for a switch (`--no-test-eval`: the value behind it would read as
    the switch's state), a default of None (the help says what happens
    instead), and a help text that already names its default.
    """

    def _get_help_string(self, action):
        text = action.help or ''
        if action.nargs == 0 or action.default is None or _NAMES_DEFAULT.search(text):
            return text
        return super(DefaultsHelpFormatter, self)._get_help_string(action)
